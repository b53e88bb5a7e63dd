package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// postCheckin posts a check-in as user over the real REST API and returns
// the status and decoded body.
func postCheckin(t *testing.T, n *hubtest.Node, user string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, n.HTTP+"/api/checkins", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+hubtest.Token(t, user, protocol.RoleMember))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// Check-ins reach, live, the facilitators of the chosen rooms wherever they
// are connected; group-visible ones also reach the members connected to
// that room, and nobody in another room.
func TestCheckinsLive(t *testing.T) {
	n1, n2 := twoNodes(t)
	a := newRoom(t, n1, room.CreateParams{}, "ana", "ben")
	b := newRoom(t, n1, room.CreateParams{}, "ana", "cal")
	ctx := context.Background()
	for _, id := range []string{a, b} {
		if _, err := n1.Rooms.StartSession(ctx, room.Actor{UserID: "fac"}, id, 60); err != nil {
			t.Fatal(err)
		}
	}
	fac := hubtest.Dial(t, n2.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator)) // connected, in no room
	ben := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	ben.Join(a, "Ben")
	cal := hubtest.Dial(t, n2.URL, hubtest.Token(t, "cal", protocol.RoleMember))
	cal.Join(b, "Cal")
	ana := hubtest.Dial(t, n1.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(a, "Ana") // her name in room a

	if st, body := postCheckin(t, n1, "ana", map[string]any{"mood": 2, "note": "rough week", "rooms": []string{a}}); st != http.StatusCreated || body["resources"] != nil {
		t.Fatalf("POST = %d %v", st, body)
	}
	e := fac.UntilType("checkin")
	if e.Str("room") != a || e.Str("display_name") != "Ana" || e.Num("mood") != 2 || e.Str("note") != "rough week" || e.Str("visibility") != "facilitators" {
		t.Fatalf("facilitator's checkin = %v", e)
	}
	if st, _ := postCheckin(t, n1, "ana", map[string]any{"mood": 4, "note": "better today", "visibility": "group", "rooms": []string{a}}); st != http.StatusCreated {
		t.Fatal(st)
	}
	if e := ben.UntilType("checkin"); e.Str("note") != "better today" || e.Str("display_name") != "Ana" {
		t.Fatalf("group member's checkin = %v", e) // and not the facilitators-only one before it
	}
	fac.UntilType("checkin")
	// Cal is in room b only: nothing of room a's check-ins reaches him. A
	// group-visible check-in for room b, posted afterwards, does.
	if st, _ := postCheckin(t, n1, "ana", map[string]any{"mood": 3, "note": "for b", "visibility": "group", "rooms": []string{b}}); st != http.StatusCreated {
		t.Fatal(st)
	}
	if e := cal.UntilType("checkin"); e.Str("note") != "for b" || e.Str("room") != b {
		t.Fatalf("cal's first check-in = %v, want only room b's", e)
	}
}

// A note that trips the crisis detector: the member gets the resources in
// the response and on their connections; the facilitators of the chosen
// room get a stored crisis_alert — also a facilitator who connects later —
// and the group is never told, even for a group-visible check-in.
func TestCheckinCrisisPath(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{})
	id := newRoom(t, n, room.CreateParams{}, "ana", "ben")
	if _, err := n.Rooms.StartSession(context.Background(), room.Actor{UserID: "fac"}, id, 60); err != nil {
		t.Fatal(err)
	}
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember)) // connected, not in the room
	ben := hubtest.Dial(t, n.URL, hubtest.Token(t, "ben", protocol.RoleMember))
	ben.Join(id, "Ben")
	st, body := postCheckin(t, n, "ana", map[string]any{"mood": 1, "note": "I want to end my life", "visibility": "group"})
	res, _ := body["resources"].([]any)
	if st != http.StatusCreated || len(res) == 0 || !strings.Contains(mustJSON(res), "988") {
		t.Fatalf("POST = %d %v", st, body)
	}
	if e := ana.UntilType("crisis_resources"); !strings.Contains(mustJSON(e["resources"]), "988") {
		t.Fatalf("crisis_resources = %v", e)
	}
	fac := hubtest.Dial(t, n.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator)) // connects afterwards
	if e := fac.UntilType("crisis_alert"); e.Str("room") != id || e.Str("severity") == "" {
		t.Fatalf("crisis_alert = %v", e)
	}
	// Ben gets the group-visible check-in, but nothing about a crisis.
	ben.Until(func(e hubtest.Event) bool {
		if typ := e.Str("type"); typ == "crisis_alert" || typ == "crisis_resources" {
			t.Fatalf("a group member was told of a crisis: %v", e)
		}
		return e.Str("type") == "checkin"
	})
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
