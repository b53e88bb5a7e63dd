package client

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestHTTPBase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ws://localhost:8080/ws", "http://localhost:8080"},
		{"wss://chat.example.org/ws", "https://chat.example.org"},
		{"http://127.0.0.1:9/", "http://127.0.0.1:9"},
		{"https://chat.example.org", "https://chat.example.org"},
	} {
		if got, err := HTTPBase(c.in); err != nil || got != c.want {
			t.Errorf("HTTPBase(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "localhost:8080", "ftp://x/ws", "ws:///ws", "::"} {
		if got, err := HTTPBase(bad); err == nil {
			t.Errorf("HTTPBase(%q) = %q, want an error", bad, got)
		}
	}
}

// checkinServer answers POST /api/checkins and GET /api/checkins/moods like
// the real server, for the token "good"; the note "crisis" brings
// resources and a mood of 9 is refused.
func checkinServer(t *testing.T, bodies chan<- map[string]any) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":"invalid_token","message":"Your sign-in token is not valid. Please get a new link."}}`)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/checkins/moods", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			_, _ = io.WriteString(w, `{"moods":[{"value":1,"label":"Very low"},{"value":2,"label":"Low"},{"value":3,"label":"Okay"},{"value":4,"label":"Good"},{"value":5,"label":"Very good"}]}`)
		}
	})
	mux.HandleFunc("POST /api/checkins", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		}
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Errorf("body: %v", err)
		}
		if bodies != nil {
			bodies <- b
		}
		if b["mood"] == 9.0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"error":{"code":"invalid_mood","message":"Please choose a mood from 1 (very low) to 5 (very good)."}}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		resources := ""
		if b["note"] == "crisis" {
			resources = `,"resources":[{"id":"988","name":"988 Suicide & Crisis Lifeline","summary":"Call or text 988.","actions":[{"label":"Call 988","href":"tel:988"}],"source":"x"}]`
		}
		_, _ = io.WriteString(w, `{"id":"c1","mood":3,"mood_label":"Okay","note":"`+b["note"].(string)+`","visibility":"facilitators","rooms":[{"room":"demo","member_id":"k3v9"}],"created_at":"2026-11-29T17:42:19.123Z","expires_at":"2026-12-29T17:42:19.123Z"`+resources+`}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPostCheckin(t *testing.T) {
	bodies := make(chan map[string]any, 8)
	srv := checkinServer(t, bodies)
	ctx := t.Context()

	c, err := PostCheckin(ctx, srv.URL, "good", CheckinParams{Mood: 3, Note: "a walk helped", Visibility: VisibilityGroup, Rooms: []string{"demo"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Checkin{ID: "c1", Mood: 3, MoodLabel: "Okay", Note: "a walk helped", Visibility: "facilitators",
		Rooms: []CheckinRoom{{Room: "demo", MemberID: "k3v9"}}, CreatedAt: "2026-11-29T17:42:19.123Z", ExpiresAt: "2026-12-29T17:42:19.123Z"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("PostCheckin = %+v, want %+v", c, want)
	}
	if b := <-bodies; !reflect.DeepEqual(b, map[string]any{"mood": 3.0, "note": "a walk helped", "visibility": "group", "rooms": []any{"demo"}}) {
		t.Errorf("body = %v", b)
	}

	// Defaults are left to the server: no visibility, no rooms.
	if _, err := PostCheckin(ctx, srv.URL+"/", "good", CheckinParams{Mood: 4, Note: "x"}); err != nil {
		t.Fatal(err)
	}
	if b := <-bodies; !reflect.DeepEqual(b, map[string]any{"mood": 4.0, "note": "x"}) {
		t.Errorf("body with defaults = %v", b)
	}

	c, err = PostCheckin(ctx, srv.URL, "good", CheckinParams{Mood: 1, Note: "crisis"})
	if err != nil {
		t.Fatal(err)
	}
	<-bodies
	if len(c.Resources) != 1 || c.Resources[0].Name != "988 Suicide & Crisis Lifeline" || c.Resources[0].Actions[0] != (ResourceAction{Label: "Call 988", Href: "tel:988"}) {
		t.Errorf("resources = %+v", c.Resources)
	}

	var se *ServerError
	_, err = PostCheckin(ctx, srv.URL, "good", CheckinParams{Mood: 9, Note: "private words"})
	<-bodies
	if !errors.As(err, &se) || se.Code != "invalid_mood" || se.Message != "Please choose a mood from 1 (very low) to 5 (very good)." {
		t.Errorf("mood 9: err = %v", err)
	}
	if strings.Contains(err.Error(), "private words") {
		t.Errorf("the error carries the note: %v", err)
	}
	_, err = PostCheckin(ctx, srv.URL, "secret-token", CheckinParams{Mood: 3})
	if !errors.As(err, &se) || se.Code != "invalid_token" || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("bad token: err = %v", err)
	}
	if _, err := PostCheckin(ctx, srv.URL, "good", CheckinParams{Mood: 3, Rooms: []string{}}); err == nil {
		t.Error("an empty Rooms was sent")
	}

	// Not the API: an HTTP status, not a ServerError.
	_, err = PostCheckin(ctx, srv.URL+"/nowhere", "good", CheckinParams{Mood: 3})
	if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "HTTP 502") {
		t.Errorf("a proxy's error page: err = %v", err)
	}
	// Nobody there.
	srv2 := httptest.NewServer(http.NotFoundHandler())
	srv2.Close()
	if _, err := PostCheckin(ctx, srv2.URL, "good", CheckinParams{Mood: 3}); err == nil {
		t.Error("no server: no error")
	}
}

func TestMoods(t *testing.T) {
	srv := checkinServer(t, nil)
	moods, err := Moods(t.Context(), srv.URL, "good")
	if err != nil {
		t.Fatal(err)
	}
	if len(moods) != 5 || moods[0] != (Mood{1, "Very low"}) || moods[4] != (Mood{5, "Very good"}) {
		t.Errorf("Moods = %v", moods)
	}
	var se *ServerError
	if _, err := Moods(t.Context(), srv.URL, "bad"); !errors.As(err, &se) || se.Code != "invalid_token" {
		t.Errorf("bad token: err = %v", err)
	}
}
