package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/client"
)

// The server's default crisis resources, as welcome and crisis_resources
// carry them (internal/crisis.DefaultResources).
const (
	res911    = `{"id":"911","name":"911","summary":"If you are in immediate danger, or have already hurt yourself, call 911 now.","actions":[{"label":"Call 911","href":"tel:911"}],"source":"U.S. emergency number (911.gov)"}`
	res988    = `{"id":"988","name":"988 Suicide & Crisis Lifeline","summary":"Call or text 988, or chat at 988lifeline.org. Free, confidential, 24/7.","actions":[{"label":"Call 988","href":"tel:988"},{"label":"Text 988","href":"sms:988"},{"label":"Chat at 988lifeline.org","href":"https://988lifeline.org/chat/"}],"source":"988lifeline.org"}`
	resSAMHSA = `{"id":"samhsa","name":"SAMHSA National Helpline","summary":"1-800-662-HELP (4357), TTY 1-800-487-4889. It is not a crisis counselling line — in a crisis, call or text 988.","actions":[{"label":"Call 1-800-662-4357","href":"tel:18006624357"},{"label":"TTY 1-800-487-4889","href":"tel:18004874889"}],"source":"samhsa.gov"}`
	resText   = `{"id":"crisis_text_line","name":"Crisis Text Line","summary":"Text HOME to 741741 to reach a trained crisis counselor, 24/7.","actions":[{"label":"Text HOME to 741741","href":"sms:741741?&body=HOME"}],"source":"crisistextline.org"}`
	resources = `[` + res988 + `,` + resText + `,` + resSAMHSA + `,` + res911 + `]`
)

// decodeLine decodes one server event as package client does (room_state
// and queue keep their state at the top level).
func decodeLine(t *testing.T, line string) client.Event {
	t.Helper()
	var ev client.Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("bad test event %s: %v", line, err)
	}
	switch ev.Type {
	case client.TypeRoomState:
		ev.State = new(client.RoomState)
		_ = json.Unmarshal([]byte(line), ev.State)
	case client.TypeQueue:
		ev.Share = new(client.Share)
		_ = json.Unmarshal([]byte(line), ev.Share)
	}
	ev.Raw = []byte(line)
	return ev
}

// noControls fails if any line holds a terminal control character.
func noControls(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		for _, r := range l {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x202e {
				t.Errorf("unsanitized %U in %q", r, l)
			}
		}
	}
}

// TestViewMemberEvents checks the line(s) each event a member can get
// prints, in order, and that each is sanitized.
func TestViewMemberEvents(t *testing.T) {
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	sam := client.Member{MemberID: "s4m0", DisplayName: "Sam", Role: client.RoleMember}
	kai := client.Member{MemberID: "k4i0", DisplayName: "Kai", Role: "co_facilitator"}
	v := newView("demo", time.UTC)
	got := v.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin, lee, sam, kai},
		State: &client.RoomState{Phase: "open", Mode: client.ModeOpen, Pin: "Tonight: sleep"}}, false)
	want := []string{
		"* You joined demo as Robin. Here now: Dr. Lee (facilitator), Sam, Kai (co-facilitator).",
		"* Type /help for the commands.",
		"* The group is in open sharing.",
		"* Pinned by the facilitators: Tonight: sleep",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("joined:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// state is a room_state event; extra sets the fields that differ.
	state := func(seq int, extra string) string {
		return `{"seq":` + strconv.Itoa(seq) + `,"type":"room_state","room":"demo","phase":"open","waiting_room":true,"mode":"open"` + extra + `}`
	}
	steps := []struct {
		name, line string
		want       []string
	}{
		{"a new pin", state(1, `,"pin":"Be gentle\n\u001b[2Jwith yourself"`),
			[]string{"* Pinned by the facilitators: Be gentle", `           \x1b[2Jwith yourself`}},
		{"slow mode", state(2, `,"pin":"Be gentle\n\u001b[2Jwith yourself","slow_mode_sec":30`),
			[]string{"* Slow mode: each person can send one message every 30 seconds."}},
		{"pin taken down", state(3, `,"slow_mode_sec":30`), []string{"* The pinned note was taken down."}},
		{"locked", state(4, `,"locked":true`), []string{"* Slow mode is off.", "* The room is now locked: newcomers wait for a facilitator to let them in."}},
		{"closing", `{"seq":5,"type":"room_state","room":"demo","phase":"closing","locked":true,"slow_mode_sec":0,"waiting_room":true,"mode":"open"}`,
			[]string{"* The session is coming to a close: a time for reflections."}},
		{"a private message", `{"type":"dm","room":"demo","message_id":"d1","from":` + mustJSON(lee) + `,"to":"k3v9","text":"How are you doing?\nNo rush.","ts":"2026-11-29T17:42:19.123Z"}`,
			[]string{"[17:42:19] [private] Dr. Lee (facilitator): How are you doing?", "           No rush.", "* (Only you can see this. To answer privately: /reply <message>)"}},
		{"the same one again", `{"type":"dm","room":"demo","message_id":"d1","from":` + mustJSON(lee) + `,"to":"k3v9","text":"How are you doing?","ts":"2026-11-29T17:42:19.123Z"}`, nil},
		{"my answer", `{"type":"dm","room":"demo","message_id":"d2","from":` + mustJSON(robin) + `,"to":"p0a8","text":"Okay, thanks \u001b]0;x\u0007","ts":"2026-11-29T17:43:00.000Z"}`,
			[]string{`[17:43:00] [private] you → Dr. Lee (facilitator): Okay, thanks \x1b]0;x\x07`}},
		{"warned", `{"type":"warned","room":"demo","reason":"Please keep names out of it"}`,
			[]string{"* A private note from a facilitator (only you see this): Please keep names out of it."}},
		{"warned without a reason", `{"type":"warned","room":"demo"}`,
			[]string{"* A private note from a facilitator (only you see this): Please keep the group's agreements in mind."}},
		{"muted", `{"type":"muted","room":"demo","reason":"Let's take a breath\u001b[5m","until":"2031-03-02T18:30:00.000Z"}`,
			[]string{"* A facilitator has paused your messages to the group until Sun 2 Mar 18:30 (only you see this).",
				`*   Reason: Let's take a breath\x1b[5m.`,
				"*   You can still read the conversation, and write privately to a facilitator: /dm <name> <message>"}},
		{"muted until unmuted", `{"type":"muted","room":"demo"}`,
			[]string{"* A facilitator has paused your messages to the group for now (only you see this).",
				"*   You can still read the conversation, and write privately to a facilitator: /dm <name> <message>"}},
		{"unmuted", `{"type":"unmuted","room":"demo"}`, []string{"* You can send messages to the group again."}},
		{"my message", `{"seq":6,"type":"message","room":"demo","message_id":"m1","from":` + mustJSON(robin) + `,"text":"Thank you all","ts":"2026-11-29T17:44:00.000Z"}`,
			[]string{"[17:44:00] Robin: Thank you all"}},
		{"reactions to it", `{"seq":7,"type":"reactions","room":"demo","message_id":"m1","counts":{"me_too":1,"heart":2}}`,
			[]string{"* Reactions to your message “Thank you all”: heart 2, me too 1"}},
		{"reactions to someone else's", `{"seq":8,"type":"reactions","room":"demo","message_id":"zz","counts":{"heart":1}}`, nil},
		{"someone else's message deleted", `{"seq":9,"type":"message_deleted","room":"demo","message_id":"zz"}`, []string{"* A message was deleted."}},
		{"mine deleted", `{"seq":10,"type":"message_deleted","room":"demo","message_id":"m1"}`, []string{"* Your message “Thank you all” was deleted."}},
		{"hidden, without hiding anyone", `{"seq":11,"type":"hidden","room":"demo"}`, nil},
		{"a check-in shared with the group", `{"type":"checkin","room":"demo","checkin_id":"c1","member_id":"s4m0","display_name":"Sam","mood":2,"mood_label":"Low","note":"rough week","visibility":"group","ts":"2026-11-29T17:45:00.000Z"}`,
			[]string{"* Check-in from Sam: Low (2), shared with the group.", "*   Note: rough week"}},
		{"another room's event", `{"type":"warned","room":"other","reason":"x"}`, nil},
	}
	for _, s := range steps {
		got := v.event(decodeLine(t, s.line))
		if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", s.name, got, s.want)
		}
		noControls(t, got)
	}
	if v.over {
		t.Fatal("over after events that do not end the chat")
	}

	// Hiding someone: their messages become a quiet stand-in.
	in, why := v.prepare(parseInput("/hide sam"))
	if in.frame == nil || in.frame["member_id"] != "s4m0" || in.frame["type"] != "hide" {
		t.Fatalf("/hide sam: frame %v, lines %q", in.frame, why)
	}
	if got := v.event(decodeLine(t, `{"seq":12,"type":"hidden","room":"demo"}`)); !slices.Equal(got, []string{"* (a message from someone you hid)"}) {
		t.Errorf("hidden: %q", got)
	}

	for _, tt := range []struct {
		name, line string
		want       []string
	}{
		{"removed", `{"type":"removed","room":"demo"}`, []string{"* A facilitator has removed you from demo for now.", "* You may join again later if you wish."}},
		{"banned", `{"type":"removed","room":"demo","banned":true}`, []string{"* A facilitator has removed you from demo, and you cannot rejoin it.", "* If you have questions, please contact your facilitator."}},
		{"denied", `{"type":"denied","room":"demo"}`, []string{"* A facilitator was not able to let you into demo just now. Thank you for your patience.", "* If you think this is a mistake, please contact your facilitator."}},
		{"session ended", `{"seq":13,"type":"session_ended","room":"demo"}`, []string{"* This session has ended. Thank you for being here today."}},
	} {
		w := newView("demo", time.UTC)
		w.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin, lee}}, false)
		if got := w.event(decodeLine(t, tt.line)); !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		if !w.over {
			t.Errorf("%s: the chat does not end", tt.name)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestCrisisResourcesLines checks the crisis card: clearly marked, every
// number written out (a terminal cannot follow tel: or sms: links), the
// sentence for each kind of card, and nothing unsafe printed.
func TestCrisisResourcesLines(t *testing.T) {
	v := newView("demo", time.UTC)
	v.joined(client.Joined{Room: "demo", You: client.Member{MemberID: "k3v9", DisplayName: "Robin"}}, false)
	card := v.event(decodeLine(t, `{"type":"crisis_resources","room":"demo","severity":"high","gentle":false,"resources":`+resources+`}`))
	text := strings.Join(card, "\n")
	for _, want := range []string{
		cardRule + "\n* It sounds like things are really hard right now. You don't have to go\n* through this alone",
		"*   988 Suicide & Crisis Lifeline\n*     call 988 · text 988 · https://988lifeline.org/chat/\n*     Call or text 988",
		"*   Crisis Text Line\n*     text HOME to 741741\n",
		"*   SAMHSA National Helpline\n*     call 1-800-662-4357 · TTY 1-800-487-4889\n",
		"*   911\n*     call 911\n",
		"* Your facilitators have been told privately, so they can check in with you.\n* (/help-now shows these again, any time.)\n" + cardRule,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q:\n%s", want, text)
		}
	}
	if i988, iSAMHSA := strings.Index(text, "988 Suicide"), strings.Index(text, "SAMHSA"); i988 < 0 || iSAMHSA < i988 {
		t.Errorf("resources out of the server's order:\n%s", text)
	}
	for _, l := range card {
		if n := len([]rune(l)); n > 90 {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}

	gentle := strings.Join(v.event(decodeLine(t, `{"type":"crisis_resources","room":"demo","severity":"gentle","gentle":true,"resources":[`+res988+`]}`)), "\n")
	if !strings.Contains(gentle, "* If this ever changes, or things feel heavy, these are always there:") || strings.Contains(gentle, "told privately") {
		t.Errorf("gentle card:\n%s", gentle)
	}
	// A check-in's note: no room, still shown.
	if got := v.event(decodeLine(t, `{"type":"crisis_resources","severity":"high","gentle":false,"resources":[`+res988+`]}`)); !slices.Contains(got, "*     call 988 · text 988 · https://988lifeline.org/chat/") {
		t.Errorf("card without a room: %q", got)
	}
	v.asked = true // /support was sent
	if got := strings.Join(v.event(decodeLine(t, `{"type":"crisis_resources","room":"demo","severity":"elevated","gentle":false,"resources":[`+res988+`]}`)), "\n"); !strings.Contains(got, "* Your facilitators have been told privately. Here is support you can reach\n* right now:") {
		t.Errorf("card after /support:\n%s", got)
	}

	// Hostile resources (from a deployment's file, or a rogue server).
	hostile := resourceLines([]client.Resource{{Name: "Help\x1b[2J", Summary: "line\nbreak\u202e",
		Actions: []client.ResourceAction{{Label: "Call", Href: "tel:1\x1b[31m2"}, {Label: "x", Href: "javascript:alert(1)"}, {Label: "Web", Href: "https://example.org/\x07"}}}}, cardCrisis)
	noControls(t, hostile)
	if h := strings.Join(hostile, "\n"); strings.Contains(h, "javascript") || !strings.Contains(h, `call 1\x1b[31m2 · https://example.org/\x07`) {
		t.Errorf("hostile resources:\n%s", h)
	}
	// /help-now before the server sent any: the U.S. lines.
	if h := strings.Join(newView("demo", time.UTC).helpNowLines(), "\n"); !strings.Contains(h, "call 988 · text 988") || !strings.Contains(h, "call 911") {
		t.Errorf("/help-now without resources:\n%s", h)
	}
}

// TestViewFacilitatorEvents checks what facilitators alone are told:
// crisis alerts (clearly, privately, numbered for /ack), their
// acknowledgement, reports, the waiting room, check-ins, the planned end.
func TestViewFacilitatorEvents(t *testing.T) {
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	sam := client.Member{MemberID: "s4m0", DisplayName: "Sam\x1b[2J", Role: client.RoleMember}
	v := newView("demo", time.UTC)
	v.joined(client.Joined{Room: "demo", You: lee, Members: []client.Member{lee, robin, sam}}, false)
	steps := []struct {
		name, line string
		want       []string
	}{
		{"crisis alert", `{"type":"crisis_alert","alert_id":"x7","room":"demo","member_id":"k3v9","display_name":"Robin","category":"ideation","severity":"high","priority":"alert","message_id":"m1","count":1,"escalated":false,"ts":"2026-11-29T17:42:19.123Z"}`,
			[]string{"!! Crisis alert 1 — private: only facilitators see this — in demo",
				"!!   Robin: thoughts of suicide, severity high at 17:42.",
				"!!   Reach out privately: /dm Robin <message>. Once someone is with them: /ack 1"}},
		{"escalated", `{"type":"crisis_alert","alert_id":"x7","room":"demo","member_id":"k3v9","display_name":"Robin","category":"ideation","severity":"imminent","priority":"alert","count":3,"escalated":true,"ts":"2026-11-29T17:45:19.123Z"}`,
			[]string{"!! Crisis alert 1, NOT YET ACKNOWLEDGED — private: only facilitators see this — in demo",
				"!!   Robin: thoughts of suicide, severity imminent (3 times) at 17:45.",
				"!!   Reach out privately: /dm Robin <message>. Once someone is with them: /ack 1"}},
		{"a request, from another room", `{"type":"crisis_alert","alert_id":"y8","room":"other","member_id":"q1","display_name":"Ana\u202e","category":"member_request","severity":"elevated","priority":"alert","count":1,"escalated":false,"member_request":true,"ts":"2026-11-29T17:46:00.000Z"}`,
			[]string{"!! Crisis alert 2 — private: only facilitators see this — in other",
				`!!   Ana\u202e asked for support, severity raised at 17:46.`,
				"!!   Once someone is with them: /ack 2"}},
		{"a gentle note", `{"type":"crisis_alert","alert_id":"z9","room":"demo","member_id":"s4m0","display_name":"Sam","category":"ideation","severity":"gentle","priority":"note","count":1,"escalated":false,"ts":"2026-11-29T17:47:00.000Z"}`,
			[]string{"* Gentle note 3, private (only facilitators see this), in demo: Sam's words touched on thoughts of suicide (low; no escalation) at 17:47. /ack 3 to clear it."}},
		{"acknowledged", `{"type":"alert_acked","room":"demo","alert_id":"x7"}`, []string{"* Crisis alert 1 (about Robin) was acknowledged."}},
		{"acknowledged elsewhere", `{"type":"alert_acked","room":"demo","alert_id":"unknown"}`, []string{"* A crisis alert was acknowledged."}},
		{"report", `{"type":"report","report_id":"r1","room":"demo","message_id":"m2","about_member_id":"s4m0","reporter_member_id":"k3v9","reason":"unkind","text":"you're \u001b[31mweird","ts":"2026-11-29T17:48:00.000Z"}`,
			[]string{`* Report (only facilitators see this): Robin reported a message from Sam\x1b[2J.`, `*   The message: you're \x1b[31mweird`, "*   Their reason: unkind."}},
		{"waiting", `{"type":"facilitator_state","room":"demo","muted":[],"waiting":[{"member_id":"w1","display_name":"Jo","since":"2026-11-29T17:49:00.000Z"}],"banned":[]}`,
			[]string{"* Waiting to be let in: Jo."}},
		{"same waiting", `{"type":"facilitator_state","room":"demo","muted":[{"member_id":"s4m0"}],"waiting":[{"member_id":"w1","display_name":"Jo","since":"2026-11-29T17:49:00.000Z"}],"banned":[]}`, nil},
		{"no one waiting", `{"type":"facilitator_state","room":"demo","muted":[],"waiting":[],"banned":[]}`, []string{"* No one is waiting to be let in now."}},
		{"check-in", `{"type":"checkin","room":"demo","checkin_id":"c1","member_id":"k3v9","display_name":"Robin","mood":1,"mood_label":"Very low","note":"hard\nweek","visibility":"facilitators","ts":"2026-11-29T17:50:00.000Z"}`,
			[]string{"* Check-in from Robin: Very low (1), for the facilitators.", "*   Note: hard", "           week"}},
		{"ending soon", `{"type":"session_ending_soon","room":"demo","planned_end":"2031-03-02T19:30:00.000Z"}`,
			[]string{"* The session is planned to end at Sun 2 Mar 19:30 (only facilitators see this). Nothing ends by itself."}},
		{"session ended: facilitators stay", `{"seq":1,"type":"session_ended","room":"demo"}`,
			[]string{"* The session has ended. The members have left the room; you are still in it."}},
	}
	for _, s := range steps {
		got := v.event(decodeLine(t, s.line))
		if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", s.name, got, s.want)
		}
		noControls(t, got)
	}
	if v.over {
		t.Error("a facilitator's chat ends with the session")
	}
	// /ack picks the latest open alert, or the one numbered.
	for _, tt := range []struct{ typed, room, id string }{{"/ack", "demo", "z9"}, {"/ack 2", "other", "y8"}, {"/ACK #1", "demo", "x7"}} {
		in, why := v.prepare(parseInput(tt.typed))
		if in.frame == nil || in.frame["type"] != "ack_alert" || in.frame["room"] != tt.room || in.frame["alert_id"] != tt.id {
			t.Errorf("%s: frame %v, lines %q", tt.typed, in.frame, why)
		}
	}
	if in, why := v.prepare(parseInput("/ack 9")); in.frame != nil || !slices.Equal(why, []string{"! There is no crisis alert “9”."}) {
		t.Errorf("/ack 9: frame %v, lines %q", in.frame, why)
	}
}

// TestPrepareCommands checks how the commands with arguments find the
// person they name.
func TestPrepareCommands(t *testing.T) {
	robin := client.Member{MemberID: "k3v9", DisplayName: "Robin", Role: client.RoleMember}
	lee := client.Member{MemberID: "p0a8", DisplayName: "Dr. Lee", Role: client.RoleFacilitator}
	sam := client.Member{MemberID: "s4m0", DisplayName: "Sam", Role: client.RoleMember}
	v := newView("demo", time.UTC)
	v.joined(client.Joined{Room: "demo", You: robin, Members: []client.Member{robin, lee, sam}}, false)
	tests := []struct {
		typed string
		frame map[string]any
		lines []string
	}{
		{"/dm Dr. Lee I am   not okay", map[string]any{"type": "dm", "room": "demo", "member_id": "p0a8", "text": "I am   not okay"}, nil},
		{"/dm dr lee hi", map[string]any{"type": "dm", "room": "demo", "member_id": "p0a8", "text": "hi"}, nil},
		{"/DM @Dr.Lee hi", map[string]any{"type": "dm", "room": "demo", "member_id": "p0a8", "text": "hi"}, nil},
		{"/dm Sam hi", map[string]any{"type": "dm", "room": "demo", "member_id": "s4m0", "text": "hi"}, nil}, // the server says no
		{"/dm", nil, []string{"! To write privately: /dm <name> <message> Facilitators here: Dr. Lee."}},
		{"/dm Dr. Lee", nil, []string{"! What would you like to say to Dr. Lee (facilitator)? /dm Dr. Lee <message>"}},
		{"/dm Nobody\x1b hi", nil, []string{`! No one called “Nobody\x1b” is here now. Facilitators here: Dr. Lee.`}},
		{"/dm Robin hi", nil, []string{"! No one called “Robin” is here now. Facilitators here: Dr. Lee."}},
		{"/reply thanks", nil, []string{"! No one has written to you privately yet. To write to a facilitator: /dm <name> <message>"}},
		{"/hide", nil, []string{"! Whose messages? /hide <name>"}},
		{"/unhide Sam", nil, []string{"! You are not hiding anyone called “Sam”."}},
		{"/hide Sam", map[string]any{"type": "hide", "room": "demo", "member_id": "s4m0"}, nil},
		{"/unhide sam", map[string]any{"type": "unhide", "room": "demo", "member_id": "s4m0"}, nil},
		{"/ack", nil, []string{"! There is no open crisis alert to acknowledge."}},
	}
	for _, tt := range tests {
		in := parseInput(tt.typed)
		if in.kind != inputCommand {
			t.Fatalf("%q: kind %d", tt.typed, in.kind)
		}
		in, lines := v.prepare(in)
		if !mapsEqual(in.frame, tt.frame) || !slices.Equal(lines, tt.lines) {
			t.Errorf("%q: frame %v, lines %q; want %v, %q", tt.typed, in.frame, lines, tt.frame, tt.lines)
		}
	}
	v.event(decodeLine(t, `{"type":"dm","room":"demo","message_id":"d1","from":`+mustJSON(lee)+`,"to":"k3v9","text":"Here if you need me","ts":"2026-11-29T17:42:19.123Z"}`))
	if in, _ := v.prepare(parseInput("/reply thank you")); !mapsEqual(in.frame, map[string]any{"type": "dm", "room": "demo", "member_id": "p0a8", "text": "thank you"}) {
		t.Errorf("/reply: frame %v", in.frame)
	}
	for _, typed := range []string{"/support", "/help-now", "/helpnow"} {
		if in := parseInput(typed); in.kind == inputUnknown {
			t.Errorf("%s is not a command", typed)
		}
	}
	if in := parseInput("/support now"); in.kind != inputUnknown {
		t.Errorf("/support now: kind %d, want unknown", in.kind)
	}
}

func mapsEqual(a, b map[string]any) bool {
	return mustJSON(a) == mustJSON(b)
}

// safetyServer plays a room with Dr. Lee (facilitator) and Sam in it, with
// the crisis resources in welcome, answering like the real server: a
// message with crisis words gets the card after it; dm to Dr. Lee is
// delivered to both sides, to Sam refused; request_support gets the card;
// hide stands in for Sam's next message; removed and session_ended come
// when the member types "remove me" or "end it". Every frame is recorded.
func safetyServer(t *testing.T, frames *[]map[string]any, mu *sync.Mutex) *chatServer {
	const (
		lee = `{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}`
		sam = `{"member_id":"s4m0","display_name":"Sam","role":"member"}`
		me  = `{"member_id":"k3v9","display_name":"Robin","role":"member"}`
	)
	return newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000,"resources":` + resources + `}`)
		seq := 0
		next := func() string { seq++; return strconv.Itoa(seq) }
		for {
			f := recv()
			if f == nil {
				return
			}
			mu.Lock()
			*frames = append(*frames, f)
			mu.Unlock()
			id := strconv.Quote(str(f["id"]))
			ok := `{"type":"ok","id":` + id + `,"room":"demo"}`
			card := `{"type":"crisis_resources","room":"demo","severity":"high","gentle":false,"resources":[` + res988 + `,` + resSAMHSA + `,` + res911 + `]}`
			switch f["type"] {
			case "join":
				send(`{"type":"joined","id":`+id+`,"room":"demo","you":`+me+`,"members":[`+me+`,`+lee+`,`+sam+`],"epoch":"e1","seq":0,`+
					`"state":{"type":"room_state","room":"demo","phase":"open","locked":false,"slow_mode_sec":0,"pin":"Tonight: rest","waiting_room":false,"mode":"open"}}`,
					`{"type":"muted","room":"demo","reason":"a short pause","until":"2031-03-02T18:30:00.000Z"}`,
					`{"type":"unmuted","room":"demo"}`,
					`{"type":"dm","room":"demo","message_id":"d1","from":`+lee+`,"to":"k3v9","text":"How are you doing tonight?","ts":"2026-11-29T17:40:00.000Z"}`)
			case "send":
				text := str(f["text"])
				s := next()
				send(`{"type":"ok","id":`+id+`,"room":"demo","message_id":"m`+s+`","seq":`+s+`}`,
					`{"seq":`+s+`,"type":"message","room":"demo","message_id":"m`+s+`","from":`+me+`,"text":`+strconv.Quote(text)+`,"ts":"2026-11-29T17:42:19.000Z"}`)
				switch {
				case strings.Contains(text, "end my life"):
					send(card)
				case text == "remove me":
					send(`{"type":"removed","room":"demo"}`)
				case text == "end it":
					send(`{"seq":`+next()+`,"type":"session_ended","room":"demo"}`, `{"type":"ok","id":"late","room":"demo"}`)
				}
			case "dm":
				if f["member_id"] != "p0a8" {
					send(`{"type":"error","id":` + id + `,"room":"demo","code":"forbidden","message":"In this group you can write privately to the facilitators only."}`)
					continue
				}
				send(ok, `{"type":"dm","room":"demo","message_id":"d2","from":`+me+`,"to":"p0a8","text":`+strconv.Quote(str(f["text"]))+`,"ts":"2026-11-29T17:43:00.000Z"}`)
			case "request_support":
				send(card, ok) // the card may come before the ok
			case "hide":
				send(ok, `{"seq":`+next()+`,"type":"hidden","room":"demo"}`)
			case "leave":
				send(ok)
			default:
				send(`{"type":"error","id":` + id + `,"code":"unknown_type","message":"That frame type is not part of protocol hearth.v1."}`)
			}
		}
	})
}

// TestRunSafety runs a member's terminal through the safety features: the
// mute notice, a private message and the answer to it, crisis words
// answered by the crisis card (988 and SAMHSA's number written out),
// /help-now, /support, a refused private message, /hide; then being
// removed ends the chat calmly, without reconnecting.
func TestRunSafety(t *testing.T) {
	var (
		mu     sync.Mutex
		frames []map[string]any
	)
	cs := safetyServer(t, &frames, &mu)
	typing, out, errc := startTerminal(t, cs.wsURL(), "-name", "Robin")
	steps := []struct {
		typed string
		want  []string
	}{
		{"", []string{`\* You joined demo as Robin\. Here now: Dr\. Lee \(facilitator\), Sam\.\n\* Type /help for the commands\.\n\* The group is in open sharing\.\n\* Pinned by the facilitators: Tonight: rest\n`,
			`\* A facilitator has paused your messages to the group until Sun 2 Mar 18:30 \(only you see this\)\.\n\*   Reason: a short pause\.\n`,
			`\* You can send messages to the group again\.\n`,
			`\[\d\d:\d\d:\d\d\] \[private\] Dr\. Lee \(facilitator\): How are you doing tonight\?\n\* \(Only you can see this\. To answer privately: /reply <message>\)\n`}},
		{"/reply Not great, honestly.\n", []string{`\] \[private\] you → Dr\. Lee \(facilitator\): Not great, honestly\.\n`}},
		{"I want to end my life\n", []string{`\] Robin: I want to end my life\n` + regexp.QuoteMeta(cardRule) + `\n\* It sounds like things are really hard right now\.`,
			`\*   988 Suicide & Crisis Lifeline\n\*     call 988 · text 988 · https://988lifeline\.org/chat/\n`,
			`\*   SAMHSA National Helpline\n\*     call 1-800-662-4357 · TTY 1-800-487-4889\n`,
			`\* Your facilitators have been told privately, so they can check in with you\.\n\* \(/help-now shows these again, any time\.\)\n`}},
		{"/help-now\n", []string{`\* These services are free and confidential, and there for you any time, day\n\* or night:\n\*\n\*   988 Suicide & Crisis Lifeline\n(.*\n)+\*   Crisis Text Line\n\*     text HOME to 741741\n`}},
		{"/support\n", []string{`\* Your facilitators have been told privately\. Here is support you can reach\n\* right now:\n`}},
		{"/dm Sam are you ok?\n", []string{`! error forbidden: In this group you can write privately to the facilitators only\.\n`}},
		{"/dm Nobody hello\n", []string{`! No one called “Nobody” is here now\. Facilitators here: Dr\. Lee\.\n`}},
		{"/hide Sam\n", []string{`\* You will not see messages from Sam\. Nobody is told\. \(/unhide Sam to see them again\)\n`, `\* \(a message from someone you hid\)\n`}},
		{"/help\n", []string{`\*   /help-now +show crisis lines`, `\*   /dm <name> <message> +write privately`, `\*   /support +tell your facilitators`}},
		{"remove me\n", []string{`\* A facilitator has removed you from demo for now\.\n\* You may join again later if you wish\.\n$`}},
	}
	for _, s := range steps {
		if s.typed != "" {
			if _, err := io.WriteString(typing, s.typed); err != nil {
				t.Fatalf("typing %q: %v", s.typed, err)
			}
		}
		for _, w := range s.want {
			waitFor(t, out, w)
		}
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v, want nil (a calm end)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not end after the member was removed")
	}
	_ = typing.Close()
	text := out.String()
	t.Logf("the member's terminal:\n%s", text)
	if n := cs.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 (no reconnecting after removed)", n)
	}
	if strings.Contains(text, "reconnecting") || strings.Contains(text, "not_joined") {
		t.Errorf("the chat went on after removed:\n%s", text)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, f := range frames {
		g := str(f["type"])
		if m := str(f["member_id"]); m != "" {
			g += " " + m
		}
		if text := str(f["text"]); text != "" {
			g += ": " + text
		}
		got = append(got, g)
	}
	want := []string{"join", "dm p0a8: Not great, honestly.", "send: I want to end my life", "request_support", "dm s4m0: are you ok?", "hide s4m0", "send: remove me"}
	if !slices.Equal(got, want) {
		t.Errorf("server received %q,\nwant %q", got, want)
	}
}

// TestRunSessionEnded checks that a member's chat ends calmly when the
// session ends (the server has taken them out of the room).
func TestRunSessionEnded(t *testing.T) {
	var (
		mu     sync.Mutex
		frames []map[string]any
	)
	cs := safetyServer(t, &frames, &mu)
	typing, out, errc := startTerminal(t, cs.wsURL(), "-name", "Robin")
	waitFor(t, out, `\* You joined demo`)
	if _, err := io.WriteString(typing, "end it\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v, want nil (a calm end)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not end with the session")
	}
	_ = typing.Close()
	if !strings.HasSuffix(out.String(), "] Robin: end it\n* This session has ended. Thank you for being here today.\n") {
		t.Errorf("output:\n%s", out.String())
	}
	if n := cs.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// lobbyServer answers join with waiting (the room's waiting room); after
// a moment it lets them in (admit: joined without id), or, with deny,
// sends denied. Every join is counted.
func lobbyServer(t *testing.T, deny bool, joins *atomic32) *chatServer {
	return newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		auth := recv()
		send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000}`)
		me := `{"member_id":"k3v9","display_name":"Robin","role":"member"}`
		lee := `{"member_id":"p0a8","display_name":"Dr. Lee","role":"facilitator"}`
		for f := recv(); f != nil; f = recv() {
			id := strconv.Quote(str(f["id"]))
			switch f["type"] {
			case "join":
				joins.add()
				send(`{"type":"waiting","id":` + id + `,"room":"demo","you":` + me + `}`)
				// Nothing comes from the room until a facilitator acts:
				// here, a moment later.
				time.Sleep(50 * time.Millisecond)
				if deny {
					send(`{"type":"denied","room":"demo"}`)
					continue
				}
				send(`{"type":"joined","room":"demo","you":`+me+`,"members":[`+me+`,`+lee+`],"epoch":"e1","seq":3}`,
					`{"seq":4,"type":"message","room":"demo","message_id":"m4","from":`+lee+`,"text":"Welcome, Robin.","ts":"2026-11-29T17:42:19.000Z"}`)
			case "leave":
				send(`{"type":"ok","id":` + id + `,"room":"demo"}`)
			default:
				t.Errorf("unexpected frame: %v", f)
			}
		}
	})
}

type atomic32 struct {
	mu sync.Mutex
	n  int
}

func (a *atomic32) add() { a.mu.Lock(); a.n++; a.mu.Unlock() }
func (a *atomic32) get() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// TestRunWaitingRoom checks the lobby: waiting is told once and is not
// taken for "no answer" (no reconnecting); a later joined carries on into
// the room, and denied ends the chat calmly.
func TestRunWaitingRoom(t *testing.T) {
	env := func(k string) string { return map[string]string{"HEARTH_TOKEN": "tok"}[k] }
	t.Run("admitted", func(t *testing.T) {
		var joins atomic32
		cs := lobbyServer(t, false, &joins)
		stdin, typing := io.Pipe()
		defer stdin.Close()
		var out syncBuffer
		errc := make(chan error, 1)
		go func() {
			errc <- run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo", "-name", "Robin"}, env, stdin, &out)
		}()
		waitFor(t, &out, `^\* You are waiting for a facilitator to let you in to demo\. Please stay; you will be let in here\. \(/quit to leave\)\n`)
		waitFor(t, &out, `\n\* A facilitator has let you in\.\n\* You joined demo as Robin\. Here now: Dr\. Lee \(facilitator\)\.\n\* Type /help for the commands\.\n\[17:42:19\] Dr\. Lee \(facilitator\): Welcome, Robin\.\n$`)
		if _, err := io.WriteString(typing, "/quit\n"); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("run: %v", err)
		}
		_ = typing.Close()
		if text := out.String(); strings.Contains(text, "reconnecting") || strings.Contains(text, "no answer") {
			t.Errorf("waiting was taken for a failure:\n%s", text)
		}
		if joins.get() != 1 || cs.conns.Load() != 1 {
			t.Errorf("%d joins on %d connections, want 1 and 1", joins.get(), cs.conns.Load())
		}
	})
	t.Run("typing while waiting", func(t *testing.T) {
		var joins atomic32
		cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
			auth := recv()
			send(`{"type":"welcome","id":` + strconv.Quote(str(auth["id"])) + `,"role":"member","heartbeat_ms":25000,"resources":[` + res988 + `]}`)
			for f := recv(); f != nil; f = recv() {
				switch f["type"] {
				case "join":
					joins.add()
					send(`{"type":"waiting","id":` + strconv.Quote(str(f["id"])) + `,"room":"demo","you":{"member_id":"k3v9","display_name":"Robin","role":"member"}}`)
				case "leave":
					send(`{"type":"ok","id":` + strconv.Quote(str(f["id"])) + `,"room":"demo"}`)
				default:
					t.Errorf("sent while waiting: %v", f)
				}
			}
		})
		var out syncBuffer
		err := run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo", "-name", "Robin"}, env,
			strings.NewReader("hello?\n/hand\n/help-now\n/quit\n"), &out)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		text := out.String()
		for _, want := range []string{
			"! You are still waiting to be let in, so that was not sent. (/help-now shows crisis lines you can reach any time)\n! You are still waiting",
			"*   988 Suicide & Crisis Lifeline\n*     call 988 · text 988",
			"* You have left the waiting room. You are welcome to come back whenever you are ready.\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q:\n%s", want, text)
			}
		}
		if joins.get() != 1 {
			t.Errorf("%d joins, want 1", joins.get())
		}
	})
	t.Run("denied", func(t *testing.T) {
		var joins atomic32
		cs := lobbyServer(t, true, &joins)
		stdin, typing := io.Pipe()
		defer stdin.Close()
		defer typing.Close()
		var out syncBuffer
		errc := make(chan error, 1)
		go func() {
			errc <- run(t.Context(), []string{"-url", cs.wsURL(), "-room", "demo", "-name", "Robin"}, env, stdin, &out)
		}()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("run: %v, want nil (a calm end)", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run did not end when denied:\n%s", out.String())
		}
		want := waitingLine("demo") + "\n" + strings.Join(deniedLines("demo"), "\n") + "\n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
		if joins.get() != 1 || cs.conns.Load() != 1 {
			t.Errorf("%d joins on %d connections, want 1 and 1", joins.get(), cs.conns.Load())
		}
	})
}

// TestRunHidesSurviveReconnect checks that hides are sent again with the
// join after a reconnect (the server forgets them with the connection).
func TestRunHidesSurviveReconnect(t *testing.T) {
	var (
		mu     sync.Mutex
		hidden []string
	)
	sam := `{"member_id":"s4m0","display_name":"Sam","role":"member"}`
	cs := newChatServer(t, func(ctx context.Context, n int, conn *websocket.Conn, recv func() map[string]any, send func(...string)) {
		join := welcomeAndJoin(recv, send, sam)
		mu.Lock()
		hidden = append(hidden, mustJSON(join["hidden"]))
		mu.Unlock()
		for f := recv(); f != nil; f = recv() {
			send(`{"type":"ok","id":` + strconv.Quote(str(f["id"])) + `,"room":"demo"}`)
			if f["type"] == "hide" {
				_ = conn.Close(websocket.StatusServiceRestart, "service restart")
				return
			}
		}
	})
	stdin, typing := io.Pipe()
	defer stdin.Close()
	var out syncBuffer
	c := &chat{url: cs.wsURL(), token: "tok", room: "demo", name: "Robin", in: bufio.NewReader(stdin), out: &printer{w: &out},
		view: newView("demo", time.UTC), minDelay: 10 * time.Millisecond, maxDelay: 40 * time.Millisecond}
	errc := make(chan error, 1)
	go func() { errc <- c.run(t.Context()) }()
	waitFor(t, &out, `\* You joined demo as Robin\.`)
	if _, err := io.WriteString(typing, "/hide sam\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, `\* Reconnected to demo\.`)
	_ = typing.Close()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(hidden, " "); got != `null ["s4m0"]` {
		t.Errorf("joins had hidden = %s, want none, then Sam's id", got)
	}
}

// TestRealServerSafety runs the terminal client against the real server in
// -dev mode: /help-now shows the resources the welcome carried; a member
// who types a crisis phrase sees the crisis card with 988 after their
// message, and the facilitator is alerted; the facilitator's private
// message reaches the member, who answers with /reply. Then, with the room
// locked, a second member waits in the lobby (without reconnecting) until
// the facilitator lets them in; removing the first member and ending the
// session end both terminals calmly.
func TestRealServerSafety(t *testing.T) {
	wsURL, tokens := startDevServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	fac := dialFacilitator(t, ctx, wsURL, tokens, "demo")
	request := func(frame map[string]any) {
		t.Helper()
		if _, err := fac.Request(ctx, frame); err != nil {
			t.Fatalf("facilitator %v: %v", frame["type"], err)
		}
	}
	// await returns the facilitator's next event of type typ for which ok
	// holds.
	await := func(typ string, ok func(client.Event) bool) client.Event {
		t.Helper()
		for {
			select {
			case ev, open := <-fac.Events():
				if !open {
					t.Fatalf("the facilitator's connection ended waiting for %s", typ)
				}
				if ev.Type == typ && ok(ev) {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("the facilitator never got %s", typ)
			}
		}
	}
	type terminal struct {
		out    syncBuffer
		typing *io.PipeWriter
		errc   chan error
	}
	start := func(token, name string) *terminal {
		stdin, typing := io.Pipe()
		t.Cleanup(func() { _ = stdin.Close() })
		term := &terminal{typing: typing, errc: make(chan error, 1)}
		env := func(k string) string { return map[string]string{"HEARTH_TOKEN": token}[k] }
		go func() {
			term.errc <- run(ctx, []string{"-url", wsURL, "-room", "demo", "-name", name}, env, stdin, &term.out)
		}()
		return term
	}
	typeLine := func(term *terminal, line string) {
		t.Helper()
		if _, err := io.WriteString(term.typing, line+"\n"); err != nil {
			t.Fatalf("typing %q: %v", line, err)
		}
	}
	ends := func(term *terminal, why string) {
		t.Helper()
		select {
		case err := <-term.errc:
			if err != nil {
				t.Fatalf("%s: run: %v, want nil (a calm end)", why, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s: the terminal did not end:\n%s", why, term.out.String())
		}
		_ = term.typing.Close()
	}

	robin := start(tokens["member 1"], "Robin")
	waitFor(t, &robin.out, `Type yes to agree and join, or anything else to leave: $`)
	typeLine(robin, "yes")
	waitFor(t, &robin.out, `\* You joined demo as Robin\. Here now: Dr\. Lee \(facilitator\)\.`)
	robinID := await(client.TypeMemberJoined, func(ev client.Event) bool { return ev.Member.DisplayName == "Robin" }).Member.MemberID

	typeLine(robin, "/help-now")
	waitFor(t, &robin.out, `\* These services are free and confidential(.*\n)+\*   988 Suicide & Crisis Lifeline\n\*     call 988 · text 988 · https://988lifeline\.org/chat/\n(.*\n)+\*   SAMHSA National Helpline\n\*     call 1-800-662-4357`)

	typeLine(robin, "I want to end my life")
	waitFor(t, &robin.out, `\] Robin: I want to end my life\n`+regexp.QuoteMeta(cardRule)+`\n\* It sounds like things are really hard right now\.(.*\n)+\*     call 988 · text 988(.*\n)+\* Your facilitators have been told privately`)
	alert := await("crisis_alert", func(ev client.Event) bool { return ev.MemberID == robinID })

	request(map[string]any{"type": "dm", "room": "demo", "member_id": robinID, "text": "I'm here. Are you safe right now?"})
	waitFor(t, &robin.out, `\] \[private\] Dr\. Lee \(facilitator\): I'm here\. Are you safe right now\?\n`)
	typeLine(robin, "/reply I am safe, thank you.")
	await("dm", func(ev client.Event) bool { return ev.From.MemberID == robinID && ev.Text == "I am safe, thank you." })
	waitFor(t, &robin.out, `\] \[private\] you → Dr\. Lee \(facilitator\): I am safe, thank you\.\n`)
	request(map[string]any{"type": "ack_alert", "room": "demo", "alert_id": extras(alert).AlertID})

	// The lobby.
	request(map[string]any{"type": "lock", "room": "demo"})
	waitFor(t, &robin.out, `\* The room is now locked`)
	sam := start(tokens["member 2"], "Sam")
	waitFor(t, &sam.out, `Type yes to agree and join, or anything else to leave: $`)
	typeLine(sam, "yes")
	waitFor(t, &sam.out, regexp.QuoteMeta(waitingLine("demo"))+`\n$`)
	typeLine(sam, "hello?")
	waitFor(t, &sam.out, `! You are still waiting to be let in, so that was not sent\.`)
	var samID string
	await("facilitator_state", func(ev client.Event) bool {
		for _, m := range extras(ev).Waiting {
			if m.DisplayName == "Sam" {
				samID = m.MemberID
			}
		}
		return samID != ""
	})
	request(map[string]any{"type": "admit", "room": "demo", "member_id": samID})
	waitFor(t, &sam.out, `\* A facilitator has let you in\.\n\* You joined demo as Sam\. Here now: `)

	request(map[string]any{"type": "remove", "room": "demo", "member_id": robinID})
	ends(robin, "removed")
	if !strings.HasSuffix(robin.out.String(), "* A facilitator has removed you from demo for now.\n* You may join again later if you wish.\n") {
		t.Errorf("removed:\n%s", robin.out.String())
	}
	request(map[string]any{"type": "end_session", "room": "demo", "force": true})
	ends(sam, "session ended")
	if !strings.HasSuffix(sam.out.String(), "* This session has ended. Thank you for being here today.\n") {
		t.Errorf("session ended:\n%s", sam.out.String())
	}
	for _, term := range []*terminal{robin, sam} {
		if text := term.out.String(); strings.Contains(text, "reconnecting") || strings.Contains(text, robinID) || strings.Contains(text, samID) {
			t.Errorf("a reconnect or a member id:\n%s", text)
		}
	}
	t.Logf("Robin's terminal:\n%s\nSam's terminal:\n%s", robin.out.String(), sam.out.String())
}
