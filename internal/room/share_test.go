package room_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"hearth/internal/protocol"
	"hearth/internal/room"
)

func code(err error) protocol.Code {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func queueOf(s room.Share) []string {
	var out []string
	for _, h := range s.Queue {
		out = append(out, h.MemberID)
	}
	return out
}

// Each step of the share queue, from an empty state: what it refuses, and
// what the queue, the floor and the observers are afterwards.
func TestShareSteps(t *testing.T) {
	now := time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC)
	type step struct {
		do      func(s *room.Share) error
		err     protocol.Code
		queue   []string
		floor   string
		observe []string
	}
	raise := func(m string) func(*room.Share) error { return func(s *room.Share) error { return s.Raise(m, now) } }
	give := func(m string) func(*room.Share) error {
		return func(s *room.Share) error { return s.GiveFloor(m, 0, now) }
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the floor goes only to a raised hand", []step{
			{do: give("ana"), err: protocol.CodeNotVolunteered},
			{do: raise("ana"), queue: []string{"ana"}},
			{do: give("ana"), floor: "ana"},
			{do: give("ben"), err: protocol.CodeNotVolunteered, floor: "ana"},
		}},
		{"queue order is the order raised; raising twice keeps the place", []step{
			{do: raise("ana"), queue: []string{"ana"}},
			{do: raise("ben"), queue: []string{"ana", "ben"}},
			{do: raise("ana"), queue: []string{"ana", "ben"}},
			{do: func(s *room.Share) error { s.Lower("ana"); return nil }, queue: []string{"ben"}},
			{do: raise("ana"), queue: []string{"ben", "ana"}},
			{do: func(s *room.Share) error { _, err := s.Next(0, now); return err }, queue: []string{"ana"}, floor: "ben"},
		}},
		{"pass lowers the hand and ends the turn, and never fails", []step{
			{do: func(s *room.Share) error { s.Pass("nobody"); return nil }},
			{do: raise("ana"), queue: []string{"ana"}},
			{do: raise("ben"), queue: []string{"ana", "ben"}},
			{do: give("ana"), queue: []string{"ben"}, floor: "ana"},
			{do: func(s *room.Share) error { s.Pass("ana"); return nil }, queue: []string{"ben"}},
			{do: func(s *room.Share) error { s.Pass("ben"); return nil }},
		}},
		{"end_turn: the holder or a facilitator", []step{
			{do: raise("ana"), queue: []string{"ana"}},
			{do: give("ana"), floor: "ana"},
			{do: func(s *room.Share) error { return s.EndTurn("ben", false) }, err: protocol.CodeNotYourTurn, floor: "ana"},
			{do: func(s *room.Share) error { return s.EndTurn("fac", true) }},
			{do: func(s *room.Share) error { return s.EndTurn("ben", false) }}, // floor already free
		}},
		{"observers cannot raise a hand; observing ends a turn", []step{
			{do: func(s *room.Share) error { s.SetObserver("cleo", true); return nil }, observe: []string{"cleo"}},
			{do: raise("cleo"), err: protocol.CodeObserver, observe: []string{"cleo"}},
			{do: func(s *room.Share) error { s.SetObserver("cleo", false); return nil }},
			{do: raise("cleo"), queue: []string{"cleo"}},
			{do: give("cleo"), floor: "cleo"},
			{do: func(s *room.Share) error { s.SetObserver("cleo", true); return nil }, observe: []string{"cleo"}},
		}},
		{"next_speaker with nobody waiting", []step{
			{do: func(s *room.Share) error { _, err := s.Next(0, now); return err }, err: protocol.CodeQueueEmpty},
		}},
		{"a member who leaves is forgotten everywhere", []step{
			{do: raise("ana"), queue: []string{"ana"}},
			{do: give("ana"), floor: "ana"},
			{do: raise("ben"), queue: []string{"ben"}, floor: "ana"},
			{do: func(s *room.Share) error { s.SetObserver("cleo", true); return nil }, queue: []string{"ben"}, floor: "ana", observe: []string{"cleo"}},
			{do: func(s *room.Share) error { s.Forget("ana"); s.Forget("cleo"); return nil }, queue: []string{"ben"}},
			{do: raise("dan"), queue: []string{"ben", "dan"}},
			{do: give("dan"), queue: []string{"ben"}, floor: "dan"},
			{do: func(s *room.Share) error { s.SetObserver("eve", true); return nil }, queue: []string{"ben"}, floor: "dan", observe: []string{"eve"}},
			{do: func(s *room.Share) error { // a node died: only ben and eve are still present
				s.ForgetAbsent(func(m string) bool { return m == "ben" || m == "eve" })
				return nil
			}, queue: []string{"ben"}, observe: []string{"eve"}},
			{do: func(s *room.Share) error { s.Reset(); return nil }},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s room.Share
			for i, st := range tt.steps {
				before := s.V
				enc := string(s.Encode())
				err := st.do(&s)
				if code(err) != st.err {
					t.Fatalf("step %d: error %v, want %q", i, err, st.err)
				}
				if err != nil && string(s.Encode()) != enc {
					t.Fatalf("step %d: a refused step changed the state", i)
				}
				floor := ""
				if s.Floor != nil {
					floor = s.Floor.MemberID
				}
				if !slices.Equal(queueOf(s), st.queue) || floor != st.floor || !slices.Equal(s.Observers, st.observe) {
					t.Fatalf("step %d: queue %v floor %q observers %v; want %v %q %v", i, queueOf(s), floor, s.Observers, st.queue, st.floor, st.observe)
				}
				if changed := string(s.Encode()) != enc; changed != (s.V != before) {
					t.Fatalf("step %d: changed=%v but version %d → %d", i, changed, before, s.V)
				}
				back, err := room.DecodeShare(s.Encode())
				if err != nil || string(back.Encode()) != string(s.Encode()) {
					t.Fatalf("step %d: round trip: %v", i, err)
				}
			}
		})
	}
}

func TestReactionsToggleAndCount(t *testing.T) {
	r := room.Reactions{}
	r.Toggle("ana", "heart")
	r.Toggle("ben", "heart")
	r.Toggle("ana", "me_too")
	r.Toggle("ana", "me_too") // again: removed
	if c := r.Counts(); c["heart"] != 2 || len(c) != 1 {
		t.Fatalf("counts = %v", c)
	}
	if got := r.Of("ana"); !slices.Equal(got, []string{"heart"}) {
		t.Fatalf("ana's = %v", got)
	}
	back, err := room.DecodeReactions(r.Encode())
	if err != nil || string(back.Encode()) != string(r.Encode()) {
		t.Fatalf("round trip: %v", err)
	}
	r.Toggle("ana", "heart")
	r.Toggle("ben", "heart")
	if r.Encode() != nil {
		t.Fatalf("no reactions left should encode as nothing (deleted), got %s", r.Encode())
	}
	if _, err := room.DecodeReactions([]byte("{")); err == nil {
		t.Fatal("malformed reactions decoded")
	}
}
