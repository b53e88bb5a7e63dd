// Package redisconn opens the client of the live Redis — the one that
// carries pub/sub, presence, seqs, session buffers and per-user limits —
// from the configuration's URL and cluster flag: one Redis server, or a
// Redis Cluster given by its seed nodes. The broker and the limits both
// open theirs through it, so the two read a cluster's URL the same way.
// Both also run their hot Lua scripts through a Batcher, which sends the
// calls made at the same moment as one pipeline.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options tune the client Open makes. The zero value keeps go-redis's
// defaults.
type Options struct {
	// FailFast, when positive, makes the client give up soon rather than
	// wait out go-redis's defaults: dial, read, write and pool timeouts of
	// FailFast, no retry of a failed command, and the deadline of each
	// call's context honoured. For callers that have a fallback (the
	// limits). A cluster client still follows MOVED/ASK redirects.
	FailFast time.Duration
	// NoRetry, when set, makes the client never send a command (or a
	// pipeline) again after a network error or a timeout (MaxRetries -1).
	// For clients that run scripts which must not run twice: go-redis
	// re-sends a whole pipeline whose reply timed out, and a publish
	// script that had already run would then publish its event a second
	// time. On a cluster client this holds only in part: go-redis v9
	// still re-sends a pipeline to a node up to MaxRedirects times after
	// some failures there (not only MOVED/ASK).
	NoRetry bool
}

// Open returns a client of the live Redis at rawURL, without contacting
// it (go-redis dials on first use):
//
//   - cluster false: a *redis.Client; rawURL is read by redis.ParseURL
//     (redis://[user:password@]host:port[/db][?options], or rediss://).
//   - cluster true: a *redis.ClusterClient; rawURL names the seed nodes,
//     comma-separated, as the configuration gives them
//     (redis://[user:password@]host1:port,host2:port[/0][?options], or
//     rediss://), and is read by redis.ParseClusterURL once rewritten to
//     its form (host1:port?addr=host2:port). The client finds the other
//     masters and the slot map from any seed that answers.
//
// Errors: a malformed URL, an unknown option, or, for a cluster, a
// database other than 0 (a Redis Cluster has only database 0).
func Open(rawURL string, cluster bool, o Options) (redis.UniversalClient, error) {
	if !cluster {
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisconn: bad Redis URL: %w", err)
		}
		o.apply(&opts.ContextTimeoutEnabled, &opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout, &opts.MaxRetries)
		return redis.NewClient(opts), nil
	}
	u, err := ClusterURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts, err := redis.ParseClusterURL(u)
	if err != nil {
		return nil, fmt.Errorf("redisconn: bad Redis Cluster URL: %w", err)
	}
	o.apply(&opts.ContextTimeoutEnabled, &opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout, &opts.MaxRetries)
	return redis.NewClusterClient(opts), nil
}

// apply sets o on a client's options, given as pointers to the fields
// redis.Options and redis.ClusterOptions share.
func (o Options) apply(ctxTimeout *bool, dial, read, write, pool *time.Duration, retries *int) {
	if d := o.FailFast; d > 0 {
		*ctxTimeout = true
		*dial, *read, *write, *pool = d, d, d, d
		*retries = -1
	}
	if o.NoRetry {
		*retries = -1
	}
}

// ErrBadClusterURL is wrapped by every error ClusterURL returns.
var ErrBadClusterURL = errors.New("redisconn: bad Redis Cluster URL")

// ClusterURL rewrites a cluster's URL from the configuration's form,
// redis://[userinfo@]host1:port,host2:port,…[/0][?options] (or
// rediss://), to redis.ParseClusterURL's:
// redis://[userinfo@]host1:port?[options&]addr=host2:port&addr=…. Each
// host must have a port. Errors wrap ErrBadClusterURL: another scheme, no
// host, a host without a port, a database other than 0, a fragment.
func ClusterURL(rawURL string) (string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return "", fmt.Errorf("%w: want redis://host1:port,host2:port or rediss://…", ErrBadClusterURL)
	}
	if strings.Contains(rest, "#") {
		return "", fmt.Errorf("%w: a fragment (#…) means nothing here", ErrBadClusterURL)
	}
	rest, query, _ := strings.Cut(rest, "?")
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if path != "" && path != "/" && path != "/0" {
		return "", fmt.Errorf("%w: database %s: a Redis Cluster has only database 0", ErrBadClusterURL, strings.TrimPrefix(path, "/"))
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	var addrs []string
	for h := range strings.SplitSeq(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return "", fmt.Errorf("%w: seed node %q is not host:port", ErrBadClusterURL, h)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("%w: options: %w", ErrBadClusterURL, err)
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	out := scheme + "://" + userinfo + addrs[0]
	if enc := q.Encode(); enc != "" {
		out += "?" + enc
	}
	return out, nil
}

// SetLogger sends go-redis's own messages (a pool failing to dial, a
// connection lost) to log at warn level, as structured lines with the
// message under "redis" — instead of go-redis's default plain-text lines
// on standard error, which ignore -log-format. go-redis's logger is
// process-wide, so the server's wiring calls this once. The messages name
// addresses and errors, never keys' contents or commands' arguments.
func SetLogger(log *slog.Logger) {
	redis.SetLogger(slogLogger{log})
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "redis", fmt.Sprintf(format, v...))
}
