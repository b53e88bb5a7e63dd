// Package httpapi is Hearth's HTTP surface: the WebSocket upgrade at /ws
// (subprotocol, origin and bearer-header checks before the upgrade), the
// embedded web client, health endpoints, the Prometheus metrics, the
// sign-in routes under /auth/ (mounted from SignIn, which also
// authenticates REST by its session cookie), and the security headers and
// JSON error shape shared by every route.
package httpapi

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"hearth/internal/auth"
	"hearth/internal/checkin"
	"hearth/internal/config"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// Hub serves upgraded WebSockets and hears of new check-ins
// (internal/hub implements it).
type Hub interface {
	// Serve runs ws until it ends; ident is set when the upgrade carried a
	// valid Authorization header.
	Serve(ctx context.Context, ws *websocket.Conn, ident *auth.Identity)
	// CheckinPosted is called by POST /api/checkins once c is stored (so
	// it is durable before anyone hears of it): the hub runs the crisis
	// detector on c.Note, stores crisis alerts for the facilitators of
	// c.Rooms (facilitators only, whatever c.Visibility), and sends the
	// live checkin events. It returns the crisis resources (a JSON array,
	// as in the crisis_resources event) when the note tripped the
	// detector, which the response then carries as "resources", or nil.
	// ctx is not cancelled when the client goes away, and ends after
	// checkinPostedTimeout (10 s). It must never log c.Note.
	CheckinPosted(ctx context.Context, c checkin.CheckIn) (resources json.RawMessage)
	// RosterChanged is called after a REST request changed room roomID's
	// people: the hub announces the room's record to every node and takes
	// every connection of the users in removed (user ids no longer in the
	// room) out of it, on every node, before it returns. ctx is not
	// cancelled when the client goes away, and ends after
	// rosterChangedTimeout (10 s).
	RosterChanged(ctx context.Context, roomID string, removed ...string)
}

// Verifier checks bearer tokens (internal/auth implements it).
type Verifier interface {
	Verify(token string) (auth.Identity, error)
}

// SignIn is the web client's sign-in through an identity provider
// (internal/signin implements it).
type SignIn interface {
	// Routes registers the /auth/ routes on mux, GET /auth/session among
	// them.
	Routes(mux *http.ServeMux)
	// Session returns the identity of r's session cookie; ok is false when
	// r carries none. err (a *protocol.Error) refuses the cookie: expired
	// or invalid (not_signed_in), or an unsafe request not from the site's
	// own pages (cross_origin).
	Session(r *http.Request) (id auth.Identity, ok bool, err error)
}

// maxLoggedOrigin bounds, in bytes, the refused Origin header a log line
// repeats: an origin is short, and a client must not fill the log.
const maxLoggedOrigin = 256

// Config configures the handler. Hub, Verifier and Static are required.
type Config struct {
	Hub      Hub
	Verifier Verifier
	// AllowedOrigins are normalized origins (config.NormalizeOrigin) allowed
	// to open WebSockets; when empty, only the request's own host is.
	AllowedOrigins []string
	// Rooms serves the REST API for rooms under /api/; nil leaves it out.
	Rooms *room.Service
	// CheckIns serves the check-in REST API (/api/checkins and
	// /api/rooms/{id}/checkins…, see checkins.go) with Rooms deciding who
	// belongs where; nil, or a nil Rooms, leaves it out.
	CheckIns checkin.Store
	// CheckInRetention is how long CheckIns keeps a check-in; responses
	// show each check-in's author when it will be deleted (expires_at).
	// 0 leaves expires_at out.
	CheckInRetention time.Duration
	// Static is the web client, served at /.
	Static fs.FS
	// Ready reports whether the node can serve (broker reachable, not
	// shutting down); /readyz answers 503 with its error.
	Ready func(ctx context.Context) error
	// Draining reports whether the node is shutting down; from then on
	// WebSocket upgrades are refused with 503 shutting_down. Nil: never.
	Draining func() bool
	// Metrics serves GET /metrics (the Prometheus exposition, see
	// internal/metrics); nil leaves the route out (404).
	Metrics http.Handler
	// SignIn, when set, serves the sign-in routes under /auth/, and REST
	// requests without an Authorization header are authenticated by its
	// session cookie; nil leaves them out, and GET /auth/session answers
	// {"sign_in":false,"signed_in":false}.
	SignIn SignIn
	// BaseContext is the lifetime of served WebSockets (the request context
	// must not be used after a hijack).
	BaseContext context.Context
	Logger      *slog.Logger
}

// ContentSecurityPolicy is sent with every response: the page may load
// nothing from any other host, and needs no inline script or style.
const ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// New returns the HTTP handler for every route.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", cfg.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.Ready != nil {
			if err := cfg.Ready(r.Context()); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("not ready\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.SignIn != nil {
		cfg.SignIn.Routes(mux)
	} else {
		mux.HandleFunc("GET /auth/session", func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusOK, map[string]bool{"sign_in": false, "signed_in": false})
		})
	}
	// Anything else under /auth/ (another method, sign-in off) answers in
	// the API's error shape, not the mux's plain text.
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		mux.HandleFunc(m+" /auth/", func(w http.ResponseWriter, r *http.Request) {
			WriteError(w, http.StatusNotFound, protocol.Err(protocol.CodeNotFound))
		})
	}
	if cfg.Rooms != nil {
		cfg.roomRoutes(mux)
	}
	if cfg.Rooms != nil && cfg.CheckIns != nil {
		cfg.checkInRoutes(mux)
	}
	mux.Handle("GET /", http.FileServerFS(cfg.Static))
	return cfg.requestLog(securityHeaders(mux))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// WriteError writes the JSON error shape used by every HTTP route:
// {"error":{"code":…,"message":…}} with status.
func WriteError(w http.ResponseWriter, status int, e *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(e.Code), "message": e.Message}})
}

func (cfg Config) serveWS(w http.ResponseWriter, r *http.Request) {
	if cfg.Draining != nil && cfg.Draining() {
		// Closing the TCP connection sends the client's next attempt
		// through the load balancer again, to another node.
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusServiceUnavailable, protocol.Err(protocol.CodeShuttingDown))
		return
	}
	if !offersSubprotocol(r) {
		WriteError(w, http.StatusBadRequest, protocol.Err(protocol.CodeSubprotocol))
		return
	}
	if !cfg.originAllowed(r) {
		origin := r.Header.Get("Origin")
		if len(origin) > maxLoggedOrigin {
			origin = origin[:maxLoggedOrigin] + "…"
		}
		cfg.logFor(r).Info("websocket origin refused", "origin", origin)
		WriteError(w, http.StatusForbidden, protocol.Err(protocol.CodeOriginRefused))
		return
	}
	var ident *auth.Identity
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := bearerToken(h)
		if !ok {
			WriteError(w, http.StatusUnauthorized, protocol.Err(protocol.CodeUnauthorized))
			return
		}
		id, err := cfg.Verifier.Verify(token)
		if err != nil {
			WriteError(w, http.StatusUnauthorized, protocol.AsError(err))
			return
		}
		ident = &id
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{protocol.Subprotocol},
		InsecureSkipVerify: true, // the origin was checked above, on scheme, host and port
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	cfg.Hub.Serve(cfg.BaseContext, ws, ident)
}

// bearerToken reads "Bearer <token>" (the scheme is case-insensitive, RFC
// 7235 section 2.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == protocol.Subprotocol {
				return true
			}
		}
	}
	return false
}

// originAllowed accepts a request without Origin (a non-browser client,
// which must still authenticate), an Origin in AllowedOrigins (compared on
// scheme, host and port, after config.NormalizeOrigin), or, when that list
// is empty, an Origin whose host and port are the request's own. "null",
// anything unparsable (user info, a path, a list) and a request with more
// than one Origin header are refused. See docs/security.md.
func (cfg Config) originAllowed(r *http.Request) bool {
	origins := r.Header.Values("Origin")
	switch len(origins) {
	case 0:
		return true
	case 1:
	default:
		return false
	}
	o, ok := config.NormalizeOrigin(origins[0])
	if !ok {
		return false
	}
	if len(cfg.AllowedOrigins) > 0 {
		return slices.Contains(cfg.AllowedOrigins, o)
	}
	// Same host: compare host and port (the scheme is unknown behind a TLS
	// terminating proxy).
	_, hostPort, _ := strings.Cut(o, "://")
	reqHost, reqPort, err := net.SplitHostPort(r.Host)
	if err != nil {
		reqHost = r.Host
		reqPort = map[bool]string{true: "443", false: "80"}[strings.HasPrefix(o, "https://")]
	}
	return strings.EqualFold(hostPort, net.JoinHostPort(strings.ToLower(reqHost), reqPort))
}
