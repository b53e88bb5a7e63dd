package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"
)

// RequestIDHeader carries a request's id. An incoming one is kept when it
// looks like an id (see requestID) — a load balancer or ingress that sets
// it (nginx's $request_id, Envoy) lets operators follow one request
// through both logs — and one is made otherwise; either way the response
// carries it back.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDBytes bounds an incoming request id.
const maxRequestIDBytes = 64

// requestID returns in when it is 1 to maxRequestIDBytes letters, digits,
// '.', '_' or '-' (a UUID, a hex or base32 id), else a new random id: a
// client cannot put anything else — words, spaces, quotes, a token longer
// than that — into the log.
func requestID(in string) string {
	if in != "" && len(in) <= maxRequestIDBytes {
		ok := true
		for i := 0; i < len(in) && ok; i++ {
			c := in[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		}
		if ok {
			return in
		}
	}
	return rand.Text()[:16]
}

// logKey is the context key of a request's logger.
type logKey struct{}

// logFor returns r's logger, which carries its request id; every log line
// of a handler goes through it (or through logCtx).
func (cfg Config) logFor(r *http.Request) *slog.Logger { return cfg.logCtx(r.Context()) }

// logCtx returns the logger of the request whose context (or one derived
// from it) ctx is.
func (cfg Config) logCtx(ctx context.Context) *slog.Logger { return RequestLogger(ctx, cfg.Logger) }

// RequestLogger returns the logger of the request whose context (or one
// derived from it) ctx is — it carries the request id — or fallback when
// ctx belongs to no request served by this package's handler. Routes
// mounted from other packages (sign-in) log through it.
func RequestLogger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// quietRoutes are logged at debug level: probes, scrapes and the page's
// static files, which would drown the rest.
var quietRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /": true}

// requestLog gives every request an id (RequestIDHeader, echoed on the
// response) and a logger carrying it, and logs one line when the request
// ends: method, route pattern (never the path, which may hold an invite
// code, nor the query), status and duration. A WebSocket's line comes
// when the connection ends, status 101.
func (cfg Config) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		log := cfg.Logger.With("request_id", id)
		r = r.WithContext(context.WithValue(r.Context(), logKey{}, log))
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(rec, r) // the mux sets r.Pattern
		level := slog.LevelInfo
		switch {
		case rec.code >= 500:
			level = slog.LevelWarn
		case quietRoutes[r.Pattern]:
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "route", r.Pattern, "status", rec.status(),
			"duration_ms", time.Since(start).Milliseconds())
	})
}

// statusRecorder remembers the status a handler wrote. Unwrap lets
// http.ResponseController and the WebSocket upgrade reach the underlying
// writer (to flush, to hijack).
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) { // not 1xx hints
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap returns the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// status is the status written, 200 when the handler wrote nothing.
func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
