package browsertest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hearth/internal/auth"
	"hearth/internal/node"
	"hearth/internal/oidctest"
	"hearth/internal/room"
	"hearth/static"
)

// startSignInNode starts one node (embedded mode) serving the web client,
// with sign-in through idp, and returns its address.
func startSignInNode(t *testing.T, idp *oidctest.Provider) (string, *node.Node) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	nd, err := node.New(ctx, node.Config{
		DataDir: t.TempDir(), Auth: auth.Config{Secret: secret}, Static: static.FS, Logger: slog.New(slog.DiscardHandler),
		OIDCIssuer: idp.URL, OIDCClientID: idp.ClientID, OIDCClientSecret: idp.ClientSecret, PublicURL: base,
	})
	cancel()
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = nd.Hub.Run(runCtx); close(done) }()
	srv.Config.Handler = nd.Handler
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = nd.Hub.Shutdown(ctx)
		srv.Close()
		stopRun()
		<-done
		_ = nd.Close()
	})
	idp.AllowRedirect(base + "/auth/callback")
	return base, nd
}

// Someone who has never held a token opens an invite link, signs in through
// the organisation's identity provider (another site), and is back in the
// group: the invite redeemed with the session cookie, the WebSocket opened
// with a one-time ticket. "Leave quickly" then signs the browser out.
func TestSignInWithInvite(t *testing.T) {
	b := Start(t)
	idp := oidctest.Start(t, oidctest.Options{Host: "localhost", ClientSecret: "browser-test-client-secret"})
	idp.SetUser("idp|newcomer-42", map[string]any{"role": "member"})
	base, nd := startSignInNode(t, idp)

	r, err := nd.Rooms.Ensure(context.Background(), "evening", "fac-evening", nil, room.CreateParams{Name: "Evening group", Kind: room.KindSupport})
	if err != nil {
		t.Fatal(err)
	}
	nd.Hub.SessionStarted(context.Background(), r)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/rooms/evening/invites", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+Token(t, "fac-evening", "facilitator"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var inv struct{ Code string }
	_ = json.NewDecoder(res.Body).Decode(&inv)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || inv.Code == "" {
		t.Fatalf("create invite: %d", res.StatusCode)
	}

	p := b.NewPage("newcomer")
	p.Open(base + "/#invite=" + inv.Code)
	// Not "this link no longer works": a way to sign in.
	p.Find("heading", "Welcome to Hearth")
	if text := p.Text("#notice-text"); !strings.Contains(text, "accept your invite") {
		t.Errorf("the sign-in notice says %q", text)
	}
	p.Screenshot("signin-invite")
	p.CheckAxe("the sign-in notice")
	p.Click("link", "Sign in")

	// Through the provider and back: the invite is redeemed, the name screen.
	p.Find("heading", "Choose your name for this group")
	if idp.Exchanges() != 1 {
		t.Errorf("the provider exchanged %d codes, want 1", idp.Exchanges())
	}
	var addr string
	p.Eval(`location.pathname + location.search + location.hash`, &addr)
	if addr != "/" {
		t.Errorf("after signing in the address is %q: the invite and nothing else should be gone from it", addr)
	}
	joinAsMember(p, "Newcomer")
	p.Screenshot("signin-in-room")
	if _, role, err := nd.Rooms.Get(context.Background(), room.Actor{UserID: "idp|newcomer-42", TokenRole: "member"}, "evening"); err != nil || role != room.RoleMember {
		t.Errorf("the newcomer is not on the roster after redeeming the invite: %v, %v", role, err)
	}

	// Leave quickly: the page goes, and so does the sign-in.
	p.Click("button", "Leave quickly: hides this page at once")
	waitNeutral(p)
	var signedIn bool
	deadline := time.Now().Add(Wait)
	for {
		p.Eval(`fetch('/auth/session', {credentials: 'same-origin'}).then((r) => r.json()).then((s) => s.signed_in)`, &signedIn)
		if !signedIn || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if signedIn {
		t.Error(`still signed in after "Leave quickly"`)
	}
}
