package node_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// scrape fetches /metrics from n and returns the exposition text.
func scrape(t *testing.T, n *hubtest.Node) string {
	t.Helper()
	resp, err := http.Get(n.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type = %q", ct)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("security headers missing: %v", resp.Header)
	}
	return string(body)
}

// num is value as a number, failing the test when the series is missing.
func num(t *testing.T, text, series string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(value(text, series), 64)
	if err != nil {
		t.Fatalf("series %s: %v\n%s", series, err, text)
	}
	return v
}

// value returns the value of the sample line starting with series (name and
// labels exactly as exposed), or "" when there is none.
func value(text, series string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// The series exist from the start, move as a member connects, sends and
// trips the crisis detector, and never carry a room id, a name or text.
func TestMetricsScrape(t *testing.T) {
	noLeaks(t)
	n := hubtest.StartNode(t, hubtest.Options{})
	const roomID, name, text = "room-metrics-7f3a", "Ana Quokka", "hello from the metrics test"
	n.OpenRoom(t, roomID, "fac", "ana")

	before := scrape(t, n)
	for _, s := range []string{
		"hearth_connections_open", "hearth_rooms_live", `hearth_frames_in_total{type="send"}`,
		`hearth_frames_in_total{type="other"}`, "hearth_frames_out_total", "hearth_slow_consumer_disconnects_total",
		"hearth_crisis_triggers_total", `hearth_broker_publish_errors_total{kind="event"}`, "hearth_fanout_latency_seconds_count",
		"hearth_sessions_open", "hearth_deliveries_total", `hearth_send_queue_drops_total{reason="queue_full"}`,
		`hearth_send_queue_drops_total{reason="closing"}`, `hearth_send_queue_drops_total{reason="unsent"}`,
		`hearth_broker_publish_errors_total{kind="update"}`, "hearth_broker_resubscribes_total",
		`hearth_store_errors_total{op="update_room"}`, `hearth_store_operation_seconds_count{op="room"}`,
		`hearth_store_operation_seconds_count{op="checkin_put"}`,
	} {
		if value(before, s) == "" {
			t.Errorf("series %s missing from the scrape", s)
		}
	}
	if t.Failed() {
		t.Fatalf("scrape:\n%s", before)
	}
	if v := value(before, "hearth_connections_open"); v != "0" {
		t.Fatalf("connections before = %s", v)
	}

	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(roomID, name)
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": text}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	const trigger = "i want to kill myself"
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": trigger}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	ana.UntilType("crisis_resources")
	ana.WriteRaw([]byte(`{"type":"no-such-frame-` + roomID + `"}`))
	ana.UntilType("error")

	want := map[string]string{
		"hearth_connections_open":              "1",
		"hearth_rooms_live":                    "2", // the room and ana's personal channel
		`hearth_frames_in_total{type="send"}`:  "2",
		`hearth_frames_in_total{type="other"}`: "1",
		"hearth_crisis_triggers_total":         "1",
		"hearth_fanout_latency_seconds_count":  "2",
		"hearth_sessions_open":                 "1",
	}
	var after string
	for deadline := time.Now().Add(5 * time.Second); ; {
		after = scrape(t, n)
		ok := true
		for s, v := range want {
			ok = ok && value(after, s) == v
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			for s, v := range want {
				if got := value(after, s); got != v {
					t.Errorf("%s = %q, want %q", s, got, v)
				}
			}
			t.Fatalf("scrape:\n%s", after)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if value(after, "hearth_frames_out_total") == "0" {
		t.Error("no frames out counted")
	}
	// Each frame carries one event or more: welcome, joined, the replies,
	// the messages, the crisis card, the error.
	if out, deliveries := num(t, after, "hearth_frames_out_total"), num(t, after, "hearth_deliveries_total"); deliveries < 7 || deliveries < out {
		t.Errorf("deliveries = %v with %v frames out", deliveries, out)
	}
	if num(t, after, `hearth_store_operation_seconds_count{op="room"}`) == 0 {
		t.Error("the join read the room from the store, and no store operation was timed")
	}
	for _, secret := range []string{roomID, "metrics-7f3a", name, "Quokka", text, "kill myself", "no-such-frame"} {
		if strings.Contains(after, secret) {
			t.Errorf("scrape carries %q", secret)
		}
	}
	if strings.Contains(after, `type="no-such`) {
		t.Error("an unknown frame type became a label value")
	}
}

// until scrapes n until ok is true of the exposition, failing after a
// generous deadline with the last scrape.
func until(t *testing.T, n *hubtest.Node, what string, ok func(text string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := scrape(t, n)
		if ok(text) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen in the metrics within 30s:\n%s", what, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A reader that stops reading is cut off as a slow consumer, and the
// metrics say so: the disconnect, the event that did not fit in its queue,
// and the events left unwritten in it. A message counts one fan-out
// however many local sockets it is written to.
func TestMetricsSlowConsumerDrops(t *testing.T) {
	noLeaks(t)
	n := hubtest.StartNode(t, hubtest.Options{SendQueue: 32, WriteTimeout: time.Second, Unlimited: true}) // 32: the readers that read keep up even on a loaded machine
	const roomID = "room-drops"
	r := n.OpenRoom(t, roomID, "fac", "slow", "sender", "near")
	_, agreement := r.CurrentGuidelines()
	slow, resume := hubtest.DialPaused(t, n.URL, hubtest.Token(t, "slow", protocol.RoleMember))
	defer resume()
	slow.Send(hubtest.Event{"type": "join", "room": roomID, "display_name": "Slow", "id": "j", "agree": agreement})
	sender := hubtest.Dial(t, n.URL, hubtest.Token(t, "sender", protocol.RoleMember))
	sender.Join(roomID, "Sender")
	near := hubtest.Dial(t, n.URL, hubtest.Token(t, "near", protocol.RoleMember))
	near.Join(roomID, "Near")

	before := scrape(t, n)
	if e := sender.Request(hubtest.Event{"type": "send", "room": roomID, "text": "one message, three sockets"}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	near.UntilType(protocol.TypeMessage)
	until(t, n, "one fan-out for one message", func(text string) bool {
		return num(t, text, "hearth_fanout_latency_seconds_count") == num(t, before, "hearth_fanout_latency_seconds_count")+1
	})

	text := strings.Repeat("é", protocol.MaxTextRunes)
	for sent := 0; n.Hub.Stats().SlowConsumers == 0; sent++ {
		if sent == 6000 {
			t.Fatalf("after %d messages the reader that never reads was not cut off", sent)
		}
		if e := sender.Request(hubtest.Event{"type": "send", "room": roomID, "text": text}); e.Str("type") != "ok" {
			t.Fatalf("send %d: %v", sent, e)
		}
	}
	after := until(t, n, "the slow consumer's drops", func(text string) bool {
		return num(t, text, `hearth_send_queue_drops_total{reason="unsent"}`) > 0 && num(t, text, "hearth_connections_open") == 2
	})
	if v := num(t, after, "hearth_slow_consumer_disconnects_total"); v != 1 {
		t.Errorf("slow consumer disconnects = %v, want 1", v)
	}
	if v := num(t, after, `hearth_send_queue_drops_total{reason="queue_full"}`); v < 1 {
		t.Errorf("queue_full drops = %v, want at least 1", v)
	}
	if strings.Contains(after, roomID) {
		t.Error("the scrape carries the room id")
	}
}

// Faults of the broker's Redis and of the store move their series: a send
// while the broker's Redis is down is a failed publish, its coming back
// resubscribes the node's rooms, and a join while the store's Redis is
// down is a failed store operation.
func TestMetricsBrokerAndStoreFaults(t *testing.T) {
	noLeaks(t)
	live, durable := redistest.Start(t), redistest.Start(t)
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: live.URL(), StoreURL: durable.URL()})
	const roomID = "room-faults"
	n.OpenRoom(t, roomID, "fac", "ana", "bob")
	ana := hubtest.Dial(t, n.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(roomID, "Ana")
	before := scrape(t, n)
	if v := num(t, before, "hearth_broker_resubscribes_total"); v != 0 {
		t.Fatalf("resubscribes before any fault = %v", v)
	}

	live.Stop()
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": "while the broker is away"}); e.Str("code") != string(protocol.CodeUnavailable) {
		t.Fatalf("send with the broker's Redis down: %v, want unavailable", e)
	}
	until(t, n, "a failed publish", func(text string) bool {
		return num(t, text, `hearth_broker_publish_errors_total{kind="event"}`) > num(t, before, `hearth_broker_publish_errors_total{kind="event"}`)
	})

	live.Restart()
	// The room and ana's own channel are resubscribed; ana is asked to
	// resume (1012).
	until(t, n, "resubscriptions after the reconnect", func(text string) bool {
		return num(t, text, "hearth_broker_resubscribes_total") >= 2
	})
	if code := ana.Closed(); code != websocket.StatusCode(protocol.CloseServiceRestart) {
		t.Fatalf("ana closed with %d after the broker's Redis came back, want 1012", code)
	}

	before = scrape(t, n)
	durable.Stop()
	bob := hubtest.Dial(t, n.URL, hubtest.Token(t, "bob", protocol.RoleMember))
	if e := bob.Request(hubtest.Event{"type": "join", "room": roomID, "display_name": "Bob"}); e.Str("code") != string(protocol.CodeUnavailable) {
		t.Fatalf("join with the store's Redis down: %v, want unavailable", e)
	}
	after := until(t, n, "a failed store operation", func(text string) bool {
		return num(t, text, `hearth_store_errors_total{op="room"}`) > num(t, before, `hearth_store_errors_total{op="room"}`)
	})
	if strings.Contains(after, roomID) {
		t.Error("the scrape carries the room id")
	}
}
