package node_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
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

// value returns the value of the sample line starting with series (name and
// labels exactly as exposed), or -1 when there is none.
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
	n := hubtest.StartNode(t, hubtest.Options{})
	const roomID, name, text = "room-metrics-7f3a", "Ana Quokka", "hello from the metrics test"
	n.OpenRoom(t, roomID, "fac", "ana")

	before := scrape(t, n)
	for _, s := range []string{
		"hearth_connections_open", "hearth_rooms_live", `hearth_frames_in_total{type="send"}`,
		`hearth_frames_in_total{type="other"}`, "hearth_frames_out_total", "hearth_slow_consumer_disconnects_total",
		"hearth_crisis_triggers_total", "hearth_broker_publish_errors_total", "hearth_fanout_latency_seconds_count",
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
	for _, secret := range []string{roomID, "metrics-7f3a", name, "Quokka", text, "kill myself", "no-such-frame"} {
		if strings.Contains(after, secret) {
			t.Errorf("scrape carries %q", secret)
		}
	}
	if strings.Contains(after, `type="no-such`) {
		t.Error("an unknown frame type became a label value")
	}
}
