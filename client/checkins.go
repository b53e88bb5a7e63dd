package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Between-session check-ins are REST calls, not WebSocket frames: a member
// says how they are doing (a mood and, if they like, a short note) without
// any session being open. See "Check-ins between sessions" in the Hearth
// README and docs/protocol.md.

// Visibilities of a check-in (CheckinParams.Visibility).
const (
	// VisibilityFacilitators (the default): only the facilitators of the
	// check-in's groups read it.
	VisibilityFacilitators = "facilitators"
	// VisibilityGroup: the other members of those groups read it too.
	VisibilityGroup = "group"
)

// maxResponseBytes bounds a REST answer read by this package.
const maxResponseBytes = 1 << 20

// CheckinParams is a check-in to post.
type CheckinParams struct {
	// Mood is how the member is doing, from 1 (very low) to 5 (very good);
	// the words for each value come from the server (Moods).
	Mood int
	// Note is optional: at most 500 characters of plain text.
	Note string
	// Visibility is VisibilityFacilitators, VisibilityGroup, or "" for the
	// server's default (facilitators).
	Visibility string
	// Rooms names the groups the check-in is for; nil means every group
	// whose roster the member is on.
	Rooms []string
}

// Checkin is a stored check-in, as its author sees it.
type Checkin struct {
	ID        string `json:"id"`
	Mood      int    `json:"mood"`
	MoodLabel string `json:"mood_label"` // the server's words for Mood, e.g. "Okay"
	// Note is the note as stored (trimmed, NFC). It is text a person
	// wrote: sanitize it before printing it on a terminal.
	Note       string        `json:"note,omitempty"`
	Visibility string        `json:"visibility"`
	Rooms      []CheckinRoom `json:"rooms"`
	CreatedAt  string        `json:"created_at"`           // RFC 3339 UTC
	ExpiresAt  string        `json:"expires_at,omitempty"` // when the server deletes it by itself
	// Resources are the crisis resources, present only when the note
	// tripped the server's crisis detector: show them to the person,
	// clearly. The facilitators of the check-in's groups are told
	// privately, but check-ins are not watched around the clock.
	Resources []Resource `json:"resources,omitempty"`
}

// CheckinRoom is one group of a check-in, with the author's member id
// there.
type CheckinRoom struct {
	Room     string `json:"room"`
	MemberID string `json:"member_id"`
}

// Resource is a crisis or support service (crisis_resources, and the
// resources of a check-in whose note tripped the crisis detector).
type Resource struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Summary string           `json:"summary"`
	Actions []ResourceAction `json:"actions"`
}

// ResourceAction is one way to reach a Resource: a tel:, sms: or https:
// link and its label ("Call 988").
type ResourceAction struct {
	Label string `json:"label"`
	Href  string `json:"href"`
}

// Mood is one point of the server's mood scale.
type Mood struct {
	Value int    `json:"value"`
	Label string `json:"label"`
}

// HTTPBase returns the base URL of the REST API for a server URL: a
// WebSocket URL such as "ws://localhost:8080/ws" becomes
// "http://localhost:8080" (wss becomes https); an http(s) URL keeps its
// scheme. The path is dropped.
func HTTPBase(serverURL string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("client: %q is not a server URL such as ws://localhost:8080/ws", serverURL)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("client: %q is not a ws://, wss://, http:// or https:// URL", serverURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// PostCheckin posts a check-in (POST /api/checkins) to the server at
// httpBase (e.g. "http://localhost:8080"; see HTTPBase), signed in with
// token, and returns it as stored. A refusal — a mood outside the scale, a
// note too long, a group the member is not in, a refused token — is
// returned as a *ServerError whose Message is the server's sentence for
// people; nothing was stored then. Errors never carry the token or the
// note.
func PostCheckin(ctx context.Context, httpBase, token string, p CheckinParams) (Checkin, error) {
	body := struct {
		Mood       int      `json:"mood"`
		Note       string   `json:"note,omitempty"`
		Visibility string   `json:"visibility,omitempty"`
		Rooms      []string `json:"rooms,omitempty"`
	}{p.Mood, p.Note, p.Visibility, p.Rooms}
	if p.Rooms != nil && len(p.Rooms) == 0 {
		return Checkin{}, errors.New("client: CheckinParams.Rooms is empty; leave it nil for every group")
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Checkin{}, fmt.Errorf("client: encode check-in: %w", err)
	}
	var c Checkin
	if err := restCall(ctx, http.MethodPost, httpBase, "/api/checkins", token, data, &c); err != nil {
		return Checkin{}, err
	}
	return c, nil
}

// Moods returns the server's mood scale with its words (GET
// /api/checkins/moods), from the lowest to the highest.
func Moods(ctx context.Context, httpBase, token string) ([]Mood, error) {
	var b struct {
		Moods []Mood `json:"moods"`
	}
	if err := restCall(ctx, http.MethodGet, httpBase, "/api/checkins/moods", token, nil, &b); err != nil {
		return nil, err
	}
	return b.Moods, nil
}

// restCall makes one REST call with the bearer token and decodes a
// successful JSON answer into out. An error answer in the API's shape
// ({"error":{"code","message"}}) is returned as a *ServerError.
func restCall(ctx context.Context, method, httpBase, path, token string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(httpBase, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	req.Close = true // a call now and then: leave no idle connection behind
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return &ServerError{Code: e.Error.Code, Message: e.Error.Message}
		}
		return fmt.Errorf("client: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}
