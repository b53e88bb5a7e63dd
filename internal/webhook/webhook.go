// Package webhook tells someone outside the app that a crisis alert was
// escalated: it POSTs ids, room, category, severity and times — never text
// or names — to a configured URL, signed with HMAC-SHA256, retrying with
// backoff, so an on-call person hears of an alert nobody in the app
// acknowledged.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"hearth/internal/room"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of timestamp + "." +
// body>" keyed by the shared secret; TimestampHeader carries the Unix
// seconds used, so a receiver can refuse replays.
const (
	SignatureHeader = "X-Hearth-Signature"
	TimestampHeader = "X-Hearth-Timestamp"
)

// Defaults of a Webhook.
const (
	DefaultAttempts = 6
	DefaultBackoff  = time.Second // doubled after each failed attempt: 1, 2, 4, 8, 16 s
)

// Webhook posts escalated alerts. The zero value is not usable; set URL
// and Secret.
type Webhook struct {
	URL      string
	Secret   []byte
	Client   *http.Client  // http.DefaultClient with a 10 s timeout when nil
	Attempts int           // DefaultAttempts when 0
	Backoff  time.Duration // DefaultBackoff when 0
}

// Payload is the JSON body.
type Payload struct {
	Event       string `json:"event"` // "crisis_alert_escalated"
	AlertID     string `json:"alert_id"`
	Room        string `json:"room"`
	MemberID    string `json:"member_id"`
	Category    string `json:"category"`
	Severity    string `json:"severity"`
	OpenedAt    string `json:"opened_at"`
	EscalatedAt string `json:"escalated_at"`
}

// Sign returns the signature header value for body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Escalated posts the alert, retrying on network errors and non-2xx
// answers with doubling backoff until it succeeds, the attempts run out or
// ctx ends. Errors: the last failure.
func (w *Webhook) Escalated(ctx context.Context, roomID string, a room.Alert) error {
	body, err := json.Marshal(Payload{Event: "crisis_alert_escalated", AlertID: a.ID, Room: roomID, MemberID: a.MemberID,
		Category: a.Category, Severity: a.Severity, OpenedAt: a.OpenedAt.UTC().Format(time.RFC3339Nano),
		EscalatedAt: a.EscalatedAt.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, backoff := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("webhook: gave up after %d attempts: %w (last: %v)", i, ctx.Err(), last)
			case <-time.After(backoff << (i - 1)):
			}
		}
		if last = w.post(ctx, client, body); last == nil {
			return nil
		}
	}
	return fmt.Errorf("webhook: %d attempts failed, last: %w", attempts, last)
}

func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(w.Secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
