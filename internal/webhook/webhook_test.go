package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hearth/internal/room"
)

// The receiver gets a signed body of ids, category, severity and times; a
// failing receiver is retried until it answers 2xx.
func TestEscalatedIsSignedAndRetried(t *testing.T) {
	secret := []byte("webhook-secret")
	var calls atomic.Int32
	var got Payload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(TimestampHeader), 10, 64)
		if r.Header.Get(SignatureHeader) != Sign(secret, ts, body) {
			t.Errorf("bad signature")
		}
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_ = json.Unmarshal(body, &got)
		if strings.Contains(string(body), "text") || strings.Contains(string(body), "display") {
			t.Errorf("body carries more than ids: %s", body)
		}
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Secret: secret, Backoff: time.Millisecond}
	a := room.Alert{ID: "a1", MemberID: "m1", Category: "ideation", Severity: "high", OpenedAt: time.Now(), EscalatedAt: time.Now()}
	if err := w.Escalated(context.Background(), "r1", a); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || got.AlertID != "a1" || got.Room != "r1" || got.Severity != "high" || got.Event != "crisis_alert_escalated" {
		t.Fatalf("calls %d, payload %+v", calls.Load(), got)
	}
}

func TestEscalatedGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Secret: []byte("s"), Attempts: 3, Backoff: time.Millisecond}
	if err := w.Escalated(context.Background(), "r1", room.Alert{ID: "a1"}); err == nil || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err = %v", err)
	}
}
