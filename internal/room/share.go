package room

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"hearth/internal/protocol"
)

// Share timer limits: a turn's soft time box is off (0) or 30 s to 30 min.
const (
	MinShareTimerSeconds = 30
	MaxShareTimerSeconds = 30 * 60
)

// Share is a room's sharing state in a session: the share queue (raised
// hands, first raised first), the floor, and who is present as an observer.
// It is live state, not durable: the broker keeps it (shared by every node
// and changed atomically, see hub), and it holds member ids only.
//
// The methods are the only ways to change it, and they encode the rule that
// nobody is made to share: only a member's own Raise puts them in the queue;
// GiveFloor and Next take the floor only to a raised hand; only the member
// switches their own presence (SetObserver is called for the caller alone).
type Share struct {
	V         uint64   `json:"v"` // bumped by every change
	Queue     []Hand   `json:"queue,omitempty"`
	Floor     *Turn    `json:"floor,omitempty"`
	Observers []string `json:"observers,omitempty"` // sorted member ids
}

// Hand is one raised hand.
type Hand struct {
	MemberID string `json:"m"`
	RaisedAt int64  `json:"at"` // Unix milliseconds
}

// Turn is who holds the floor, since when, and the soft time box that
// applied when the turn started (seconds; 0: none). Member and start
// together name the turn (a timer checks it is still the same turn).
type Turn struct {
	MemberID  string `json:"m"`
	StartedAt int64  `json:"at"` // Unix milliseconds
	TimerSec  int    `json:"timer,omitempty"`
}

// DecodeShare reads a Share as the broker stores it; nil or empty is the
// empty state. Errors: malformed JSON.
func DecodeShare(b []byte) (Share, error) {
	var s Share
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Share{}, fmt.Errorf("room: malformed share state: %w", err)
	}
	return s, nil
}

// Encode is the stored form (JSON). The empty state is stored too, so that
// V keeps increasing across a queue that empties and fills again.
func (s Share) Encode() []byte {
	b, _ := json.Marshal(s) // plain strings and numbers: cannot fail
	return b
}

func (s *Share) empty() bool { return len(s.Queue) == 0 && s.Floor == nil && len(s.Observers) == 0 }

// Holds reports whether memberID holds the floor.
func (s *Share) Holds(memberID string) bool { return s.Floor != nil && s.Floor.MemberID == memberID }

// Observing reports whether memberID is present as an observer.
func (s *Share) Observing(memberID string) bool {
	_, ok := slices.BinarySearch(s.Observers, memberID)
	return ok
}

// Raised reports whether memberID's hand is raised.
func (s *Share) Raised(memberID string) bool {
	return slices.ContainsFunc(s.Queue, func(h Hand) bool { return h.MemberID == memberID })
}

// Raise puts memberID's hand up at the end of the queue; nothing changes
// if it is up already or they hold the floor. Errors: observer.
func (s *Share) Raise(memberID string, now time.Time) error {
	if s.Observing(memberID) {
		return protocol.Err(protocol.CodeObserver)
	}
	if s.Raised(memberID) || s.Holds(memberID) {
		return nil
	}
	s.Queue = append(s.Queue, Hand{MemberID: memberID, RaisedAt: now.UnixMilli()})
	s.V++
	return nil
}

// Lower takes memberID's hand down; nothing changes if it is not up.
func (s *Share) Lower(memberID string) {
	i := slices.IndexFunc(s.Queue, func(h Hand) bool { return h.MemberID == memberID })
	if i < 0 {
		return
	}
	s.Queue = slices.Delete(s.Queue, i, i+1)
	s.V++
}

// Pass lowers memberID's hand and ends their turn if they hold the floor.
// It never fails, and it leaves nothing that tells a pass apart from a
// lowered hand or an ended turn.
func (s *Share) Pass(memberID string) {
	s.Lower(memberID)
	if s.Holds(memberID) {
		s.Floor = nil
		s.V++
	}
}

// GiveFloor gives memberID the floor, taking their hand out of the queue;
// whoever held it before no longer does. timerSec is the turn's soft time
// box (0: none). Errors: not_volunteered when
// memberID's hand is not raised (nothing changes).
func (s *Share) GiveFloor(memberID string, timerSec int, now time.Time) error {
	if !s.Raised(memberID) {
		return protocol.Err(protocol.CodeNotVolunteered)
	}
	s.Lower(memberID)
	s.Floor = &Turn{MemberID: memberID, StartedAt: now.UnixMilli(), TimerSec: timerSec}
	return nil
}

// Next gives the floor to the first raised hand and returns who that is.
// Errors: queue_empty.
func (s *Share) Next(timerSec int, now time.Time) (string, error) {
	if len(s.Queue) == 0 {
		return "", protocol.Err(protocol.CodeQueueEmpty)
	}
	m := s.Queue[0].MemberID
	return m, s.GiveFloor(m, timerSec, now)
}

// EndTurn frees the floor, for its holder or a facilitator; nothing changes
// when it is free. Errors: not_your_turn for anyone else.
func (s *Share) EndTurn(memberID string, facilitates bool) error {
	if s.Floor == nil {
		return nil
	}
	if !facilitates && !s.Holds(memberID) {
		return protocol.Errf(protocol.CodeNotYourTurn, "Only the person sharing, or a facilitator, can end the turn.")
	}
	s.Floor = nil
	s.V++
	return nil
}

// SetObserver makes memberID an observer (which lowers their hand and ends
// their turn) or a participant again.
func (s *Share) SetObserver(memberID string, on bool) {
	i, found := slices.BinarySearch(s.Observers, memberID)
	switch {
	case on && !found:
		s.Pass(memberID)
		s.Observers = slices.Insert(s.Observers, i, memberID)
		s.V++
	case !on && found:
		s.Observers = slices.Delete(s.Observers, i, i+1)
		s.V++
	}
}

// Mentions reports whether memberID appears anywhere in the state.
func (s *Share) Mentions(memberID string) bool {
	return s.Raised(memberID) || s.Holds(memberID) || s.Observing(memberID)
}

// Forget takes memberID out of the queue, the floor and the observers (they
// left the room).
func (s *Share) Forget(memberID string) {
	s.Pass(memberID)
	s.SetObserver(memberID, false)
}

// ForgetAbsent forgets every member the state mentions for whom present
// is false.
func (s *Share) ForgetAbsent(present func(memberID string) bool) {
	var gone []string
	for _, h := range s.Queue {
		gone = append(gone, h.MemberID)
	}
	if s.Floor != nil {
		gone = append(gone, s.Floor.MemberID)
	}
	gone = append(gone, s.Observers...)
	for _, m := range gone {
		if !present(m) {
			s.Forget(m)
		}
	}
}

// Reset empties the state (the session ended), keeping the version
// increasing.
func (s *Share) Reset() {
	if !s.empty() {
		*s = Share{V: s.V + 1}
	}
}

// Reactions are one message's supportive reactions: for each reaction, the
// member ids who gave it (sorted). Only counts ever leave the server.
type Reactions map[string][]string

// DecodeReactions reads Reactions as the broker stores them; nil or empty
// is none. Errors: malformed JSON.
func DecodeReactions(b []byte) (Reactions, error) {
	r := Reactions{}
	if len(b) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("room: malformed reactions: %w", err)
	}
	return r, nil
}

// Encode is the stored form: nil when there are none, JSON otherwise (map
// keys sorted by encoding/json, so equal sets encode equally).
func (r Reactions) Encode() []byte {
	if len(r) == 0 {
		return nil
	}
	b, _ := json.Marshal(r)
	return b
}

// Toggle adds memberID's reaction, or removes it if they had given it.
func (r Reactions) Toggle(memberID, reaction string) {
	ids := r[reaction]
	if i, found := slices.BinarySearch(ids, memberID); found {
		ids = slices.Delete(ids, i, i+1)
	} else {
		ids = slices.Insert(ids, i, memberID)
	}
	if len(ids) == 0 {
		delete(r, reaction)
		return
	}
	r[reaction] = ids
}

// Counts returns how many members gave each reaction (only those above 0).
func (r Reactions) Counts() map[string]int {
	out := make(map[string]int, len(r))
	for k, ids := range r {
		out[k] = len(ids)
	}
	return out
}

// Of returns the reactions memberID gave, in protocol.Reactions order.
func (r Reactions) Of(memberID string) []string {
	var out []string
	for _, k := range protocol.Reactions {
		if _, found := slices.BinarySearch(r[k], memberID); found {
			out = append(out, k)
		}
	}
	return out
}
