package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hearth/internal/hub"
	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

const trigger = "i want to kill myself"

// crisisRoom is chatRoomWith without ben's member id.
func crisisRoom(t *testing.T, o hubtest.Options) (n1, n2 *hubtest.Node, id string, fac, ana, ben *hubtest.Peer, anaID string) {
	t.Helper()
	n1, n2, id, fac, ana, ben, anaID, _ = chatRoomWith(t, o)
	return
}

// noCrisisUntil reads p's events up to the message with marker text and
// fails if any of them is about a crisis.
func noCrisisUntil(t *testing.T, p *hubtest.Peer, marker string) {
	t.Helper()
	p.Until(func(e hubtest.Event) bool {
		raw, _ := json.Marshal(e)
		typ := e.Str("type")
		if strings.Contains(typ, "crisis") || strings.Contains(typ, "alert") || (typ != "message" && strings.Contains(string(raw), "988")) {
			t.Fatalf("got something about a crisis: %s", raw)
		}
		return e.Str("text") == marker
	})
}

// The whole path: member on node 2 writes words of crisis; the message is
// delivered as normal; they alone get the resources, 988 first with links
// that work on a phone; the facilitator on node 1 gets a private alert;
// another member gets the message and nothing else; acknowledgement reaches
// the facilitators; a facilitator connecting later gets open alerts.
func TestCrisisPathAcrossNodes(t *testing.T) {
	n1, _, id, fac, ana, ben, anaID := crisisRoom(t, hubtest.Options{})
	ok := ana.Request(hubtest.Event{"type": "send", "room": id, "text": trigger})
	if ok.Str("type") != "ok" {
		t.Fatalf("send = %v: reaching out must never be refused", ok)
	}
	msg := ana.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" || e.Str("type") == "crisis_resources" })
	if msg.Str("type") != "message" {
		t.Fatalf("first event after sending = %v, want the message itself first", msg)
	}
	card := ana.UntilType("crisis_resources")
	res, _ := card["resources"].([]any)
	if len(res) < 3 || card.Str("room") != id || card.Str("severity") == "" {
		t.Fatalf("card = %v", card)
	}
	first := res[0].(map[string]any)
	if first["id"] != "988" {
		t.Fatalf("first resource = %v, want 988 (911 leads only at imminent severity)", first)
	}
	raw, _ := json.Marshal(card)
	for _, href := range []string{"tel:988", "sms:988", "tel:18006624357"} {
		if !strings.Contains(string(raw), href) {
			t.Fatalf("card lacks %s: %s", href, raw)
		}
	}

	alert := fac.UntilType("crisis_alert")
	if alert.Str("member_id") != anaID || alert.Str("display_name") != "Ana" || alert.Str("room") != id ||
		alert.Str("message_id") != ok.Str("message_id") || alert.Str("priority") != "alert" || alert["escalated"] != false {
		t.Fatalf("alert = %v", alert)
	}
	if m := ben.Until(ofType("message")); m.Str("text") != trigger {
		t.Fatalf("ben got %v", m)
	}
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker-1"})
	noCrisisUntil(t, ben, "marker-1")

	// Nothing of the text or the name is stored with the alert.
	r, _ := n1.Rooms.Load(context.Background(), id)
	stored, _ := json.Marshal(r.Alerts)
	if len(r.Alerts) != 1 || strings.Contains(string(stored), "kill") || strings.Contains(string(stored), "Ana") {
		t.Fatalf("stored alerts = %s", stored)
	}

	// A co-facilitator who connects later, into no room, gets the open alert.
	if _, err := n1.Rooms.AddFacilitator(context.Background(), room.Actor{UserID: "fac"}, id, "co"); err != nil {
		t.Fatal(err)
	}
	co := hubtest.Dial(t, n1.URL, hubtest.Token(t, "co", protocol.RoleMember))
	if e := co.UntilType("crisis_alert"); e.Str("alert_id") != alert.Str("alert_id") {
		t.Fatalf("late facilitator got %v", e)
	}

	req(t, fac, hubtest.Event{"type": "ack_alert", "room": id, "alert_id": alert.Str("alert_id")})
	for _, p := range []*hubtest.Peer{fac, co} {
		if e := p.UntilType("alert_acked"); e.Str("alert_id") != alert.Str("alert_id") {
			t.Fatalf("alert_acked = %v", e)
		}
	}
	if r := ben.Request(hubtest.Event{"type": "ack_alert", "room": id, "alert_id": "x"}); r.Str("code") != "forbidden" {
		t.Fatalf("member ack = %v", r)
	}
}

// One card per member per 30 minutes unless the severity rises; facilitators'
// messages are never scanned; "I need support" works without words; a DM
// to a facilitator counts too.
func TestCrisisCardsAndRequests(t *testing.T) {
	_, _, id, fac, ana, ben, _ := crisisRoom(t, hubtest.Options{})
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": trigger})
	ana.UntilType("crisis_resources")
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": trigger})
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "marker-2"})
	ana.Until(func(e hubtest.Event) bool {
		if e.Str("type") == "crisis_resources" {
			t.Fatal("a second card within 30 minutes at the same severity")
		}
		return e.Str("text") == "marker-2"
	})
	alerts := 0
	fac.Until(func(e hubtest.Event) bool {
		if e.Str("type") == "crisis_alert" {
			alerts++
			if alerts == 2 && e.Num("count") != 2 {
				t.Fatalf("repeated match = %v, want the open alert with count 2", e)
			}
		}
		return alerts == 2
	})

	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "If you ever want to kill yourself, call 988."})
	req(t, fac, hubtest.Event{"type": "send", "room": id, "text": "marker-3"})
	fac.Until(func(e hubtest.Event) bool {
		if e.Str("type") == "crisis_alert" || e.Str("type") == "crisis_resources" {
			t.Fatalf("a facilitator's message was scanned: %v", e)
		}
		return e.Str("text") == "marker-3"
	})

	req(t, ben, hubtest.Event{"type": "request_support", "room": id})
	ben.UntilType("crisis_resources")
	if e := fac.UntilType("crisis_alert"); e.Str("category") != "member_request" {
		t.Fatalf("request_support alert = %v", e)
	}
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "marker-4"})
	noCrisisUntil(t, ana, "marker-4")

	if r := fac.Request(hubtest.Event{"type": "end_session", "room": id}); r.Str("code") != "open_alerts" {
		t.Fatalf("end_session with open alerts = %v", r)
	}
	req(t, fac, hubtest.Event{"type": "end_session", "room": id, "force": true})
}

// An alert nobody acknowledges is escalated once, to every facilitator, and
// posted to the webhook (ids only).
func TestCrisisEscalation(t *testing.T) {
	posted := make(chan []byte, 4)
	wh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- b
	}))
	defer wh.Close()
	_, _, id, fac, ana, _, _ := crisisRoom(t, hubtest.Options{EscalateAfter: 300 * time.Millisecond,
		WebhookURL: wh.URL, WebhookSecret: []byte("webhook-secret-123")})
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": trigger})
	first := fac.UntilType("crisis_alert")
	esc := fac.UntilType("crisis_alert")
	if esc["escalated"] != true || esc.Str("alert_id") != first.Str("alert_id") {
		t.Fatalf("escalation = %v", esc)
	}
	select {
	case b := <-posted:
		if !strings.Contains(string(b), first.Str("alert_id")) || strings.Contains(string(b), "kill") || strings.Contains(string(b), "Ana") {
			t.Fatalf("webhook body = %s", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook post")
	}
}

type failingCrisis struct{}

func (failingCrisis) Check(string, string, time.Time) (hub.CrisisMatch, error) {
	return hub.CrisisMatch{}, errors.New("detector broke")
}
func (failingCrisis) Resources(hub.CrisisMatch) json.RawMessage { return nil }

// Fail open: when detection fails, the message is still delivered.
func TestCrisisFailsOpen(t *testing.T) {
	_, _, id, _, ana, ben, _ := crisisRoom(t, hubtest.Options{Crisis: failingCrisis{}})
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": trigger})
	if m := ben.Until(ofType("message")); m.Str("text") != trigger {
		t.Fatalf("ben got %v", m)
	}
}

// Regression: a member who pressed "I need support" and then wrote words
// of crisis got no card for them — the request had counted as the card
// shown, at the same severity. Asking always shows the card and never
// silences the one their words call for.
func TestCardAfterSupportRequest(t *testing.T) {
	_, _, id, _, ana, _, _ := crisisRoom(t, hubtest.Options{})
	req(t, ana, hubtest.Event{"type": "request_support", "room": id})
	ana.UntilType("crisis_resources")
	req(t, ana, hubtest.Event{"type": "send", "room": id, "text": "I want to end my life"})
	if card := ana.UntilType("crisis_resources"); card.Str("room") != id {
		t.Fatalf("card after the words = %v", card)
	}
	// Asking again still shows it, however recent the last one.
	req(t, ana, hubtest.Event{"type": "request_support", "room": id})
	ana.UntilType("crisis_resources")
}
