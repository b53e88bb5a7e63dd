package node_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"hearth/internal/auth"
	"hearth/internal/hubtest"
	"hearth/internal/node"
	"hearth/internal/room"
)

// TestIdPTokenOverWebSocket: with an identity provider's JWKS configured,
// a member and a facilitator sign in over a real WebSocket with RS256
// tokens (Keycloak-style roles in realm_access.roles), are welcomed with
// the role their token carries, join and talk; a token signed by another
// key under the same kid is refused; and closing the node stops the JWKS
// refresh.
func TestIdPTokenOverWebSocket(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "kc-1", USE: jwkset.UseSig, ALG: jwkset.AlgRS256}})
	if err != nil {
		t.Fatal(err)
	}
	jwksBody, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwksBody)
	}))
	defer idp.Close()

	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	nd, err := node.New(ctx, node.Config{
		DataDir: t.TempDir(),
		Auth: auth.Config{Secret: hubtest.Secret, JWKSURL: idp.URL + "/certs", RoleClaim: "realm_access.roles",
			Issuer: "https://idp.example.org/realms/clinic"},
		Static: fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>Hearth</title>")}},
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { _ = nd.Hub.Run(runCtx); close(hubDone) }()
	srv := httptest.NewServer(nd.Handler)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	const roomID = "room-idp"
	r, err := nd.Rooms.Ensure(context.Background(), roomID, "fac-1", []string{"ana-1"}, room.CreateParams{Name: "IdP group", Kind: room.KindSupport})
	if err != nil {
		t.Fatal(err)
	}
	nd.Hub.SessionStarted(context.Background(), r)

	token := func(k *rsa.PrivateKey, sub string, roles ...string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iss": "https://idp.example.org/realms/clinic",
			"realm_access": map[string]any{"roles": roles},
		})
		tok.Header["kid"] = "kc-1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	fac := hubtest.DialRaw(t, wsURL, nil)
	if e := fac.Request(hubtest.Event{"type": "auth", "token": token(key, "fac-1", "offline_access", "facilitator")}); e.Str("type") != "welcome" || e.Str("role") != "facilitator" {
		t.Fatalf("facilitator's auth: got %v, want welcome as facilitator", e)
	}
	fac.Join(roomID, "Robin")
	ana := hubtest.DialRaw(t, wsURL, nil)
	if e := ana.Request(hubtest.Event{"type": "auth", "token": token(key, "ana-1", "offline_access", "uma_authorization")}); e.Str("type") != "welcome" || e.Str("role") != "member" {
		t.Fatalf("member's auth: got %v, want welcome as member", e)
	}
	ana.Join(roomID, "Ana")
	if e := ana.Request(hubtest.Event{"type": "send", "room": roomID, "text": "hello from an IdP token"}); e.Str("type") != "ok" {
		t.Fatalf("send: %v", e)
	}
	if e := fac.Until(func(e hubtest.Event) bool { return e.Str("type") == "message" }); e.Str("text") != "hello from an IdP token" {
		t.Fatalf("facilitator got %v", e)
	}

	forger := hubtest.DialRaw(t, wsURL, nil)
	if e := forger.Request(hubtest.Event{"type": "auth", "token": token(other, "fac-1", "facilitator")}); e.Str("type") == "welcome" || e.Str("code") != "invalid_token" {
		t.Fatalf("forged token: got %v, want invalid_token", e)
	}

	for _, p := range []*hubtest.Peer{fac, ana, forger} {
		_ = p.WS.CloseNow()
		<-p.Done()
	}
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	_ = nd.Hub.Shutdown(shutCtx)
	srv.Close()
	stopHub()
	<-hubDone
	if err := nd.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
}
