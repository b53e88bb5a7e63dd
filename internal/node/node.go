// Package node assembles one Hearth node from its parts — broker, store,
// room service, hub and HTTP handler — in embedded mode (in-memory broker,
// bbolt store) or distributed mode (Redis for both). The server's main
// package and the tests build nodes the same way through it.
package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"hearth/internal/auth"
	"hearth/internal/broker"
	"hearth/internal/checkin"
	"hearth/internal/crisis"
	"hearth/internal/httpapi"
	"hearth/internal/hub"
	"hearth/internal/limit"
	"hearth/internal/metrics"
	"hearth/internal/room"
	"hearth/internal/signin"
	"hearth/internal/store"
	"hearth/internal/webhook"
)

// DataFile is the embedded store's file inside Config.DataDir (bbolt).
const DataFile = "hearth.db"

// Config configures a node.
type Config struct {
	// RedisURL selects distributed mode (the broker in Redis: pub/sub,
	// presence, the session buffer); empty selects embedded mode with the
	// store in DataDir/hearth.db. StoreURL is distributed mode's durable
	// store (RedisURL when empty).
	RedisURL string
	StoreURL string
	DataDir  string
	// RedisCluster says RedisURL names a Redis Cluster (Redis 7 or later)
	// by its seed nodes, redis://host1:port,host2:port (config.Config's
	// RedisCluster): the broker uses sharded pub/sub and the limits a
	// cluster client. StoreURL must then name a single Redis, with
	// append-only persistence: the durable store does not run on the
	// cluster.
	RedisCluster bool
	// Auth is the token configuration; its Secret also keys member ids.
	Auth           auth.Config
	AllowedOrigins []string
	Static         fs.FS
	Logger         *slog.Logger
	// Hub tunes the hub (queues, heartbeat, rate limits, connections per
	// user); Broker, Auth, MemberIDs, Rooms and Logger are filled in by
	// New, and so is Limiter when nil: per-user limits in memory in
	// embedded mode, in the broker's Redis in distributed mode (so they
	// hold across nodes).
	Hub hub.Config
	// PresenceRefresh overrides the Redis broker's presence refresh period.
	PresenceRefresh time.Duration

	// CrisisResources are shown to a member whose words match (the U.S.
	// defaults when nil). Crisis replaces the detector (tests inject
	// failures); nil uses internal/crisis.
	CrisisResources []crisis.Resource
	Crisis          hub.Crisis
	// EscalateAfter, WebhookURL and WebhookSecret configure alert
	// escalation (see config).
	EscalateAfter time.Duration
	WebhookURL    string
	WebhookSecret []byte
	// SessionMax is the longest a session may run (hub.DefaultSessionMax
	// when 0).
	SessionMax time.Duration
	// CheckInRetention is how long check-ins are kept before the store
	// deletes them (checkin.DefaultRetention when 0).
	CheckInRetention time.Duration

	// OIDCIssuer, OIDCClientID and OIDCClientSecret make the node an
	// OpenID Connect relying party for the web client's sign-in
	// (internal/signin, routes under /auth/) when OIDCIssuer is set; empty
	// leaves sign-in off. The secret is empty for a public client.
	// PublicURL is the address people open, without a path: the callback
	// is PublicURL + "/auth/callback". The role claim is Auth.RoleClaim.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	PublicURL        string
	// SignInTicketTTL is how long a sign-in ticket may be redeemed
	// (signin.TicketTTL when 0; tests shorten it).
	SignInTicketTTL time.Duration
}

// broker is what a node needs of either broker.
type nodeBroker interface {
	hub.Broker
	SetTimerHandler(func([]byte))
	Close() error
}

// nodeStore is what a node needs of either store.
type nodeStore interface {
	room.Store
	Close() error
}

// Node is one assembled node. Serve Handler over HTTP, run Hub.Run, and on
// the way out call Hub.Shutdown, then Close.
type Node struct {
	Hub   *hub.Hub
	Rooms *room.Service
	// CheckIns is the check-in store, in the same bbolt file or Redis
	// database as the rooms.
	CheckIns checkin.Store
	Handler  http.Handler
	// Mode is "embedded" or "distributed".
	Mode string
	// Metrics are the node's Prometheus series (a registry of the node's
	// own), served at /metrics.
	Metrics *metrics.Metrics

	base     context.Context
	cancel   context.CancelFunc
	stopping atomic.Bool
	ping     func(context.Context) error
	broker   nodeBroker
	store    nodeStore
	checkIns interface{ Close() error } // closed before store
	limits   interface{ Close() error } // distributed mode's limits client; nil in embedded mode
	signIn   *signin.Service            // nil when sign-in is off
	verifier *auth.Verifier             // closed last: stops its JWKS refresh
}

// New builds a node. Errors: an invalid secret, an unreadable or locked
// data file, or Redis not answering within ctx.
func New(ctx context.Context, cfg Config) (*Node, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ac := cfg.Auth
	ac.Logger = cmp.Or(ac.Logger, log)
	verifier, err := auth.NewVerifier(ac)
	if err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			_ = verifier.Close() // stops its JWKS refresh when New fails
		}
	}()
	n := &Node{}
	var limiter hub.Limiter
	// The broker hands events to the hub, and the hub publishes through the
	// broker: the hub is set before any event can arrive.
	deliver := func(room string, frame []byte) { n.Hub.Deliver(room, frame) }
	if cfg.RedisURL == "" {
		n.Mode = "embedded"
		bs, err := store.OpenBolt(filepath.Join(cfg.DataDir, DataFile))
		if err != nil {
			return nil, err
		}
		ci, err := store.OpenBoltCheckIns(bs, store.CheckInOptions{Retention: cfg.CheckInRetention, Logger: log})
		if err != nil {
			_ = bs.Close()
			return nil, err
		}
		n.broker, n.store, n.CheckIns, n.checkIns = broker.NewMemory(deliver), bs, ci, ci
		limiter = hubLimits{limit.NewMemory()}
	} else {
		n.Mode = "distributed"
		if cfg.RedisCluster && cfg.StoreURL == "" {
			return nil, errors.New("node: with a Redis Cluster, StoreURL must name the single Redis that keeps the durable store")
		}
		rb, err := broker.NewRedis(ctx, broker.RedisConfig{URL: cfg.RedisURL, Cluster: cfg.RedisCluster, Logger: log, PresenceRefresh: cfg.PresenceRefresh}, deliver)
		if err != nil {
			return nil, fmt.Errorf("live Redis (HEARTH_REDIS_URL): %w", err)
		}
		rs, err := store.NewRedis(ctx, cmp.Or(cfg.StoreURL, cfg.RedisURL))
		if err != nil {
			_ = rb.Close()
			return nil, fmt.Errorf("store Redis (HEARTH_STORE_URL, or HEARTH_REDIS_URL when unset): %w", err)
		}
		ci := store.NewRedisCheckIns(rs, store.CheckInOptions{Retention: cfg.CheckInRetention})
		n.broker, n.store, n.CheckIns, n.checkIns = rb, rs, ci, ci
		lr, err := limit.DialRedis(cfg.RedisURL, cfg.RedisCluster)
		if err != nil {
			_ = errors.Join(rb.Close(), rs.Close())
			return nil, err
		}
		limiter, n.limits = hubLimits{lr}, lr
		// Ready when both Redis roles answer: the live one (one node of a
		// cluster) and the store.
		n.ping = func(ctx context.Context) error {
			if err := rb.Client().Ping(ctx).Err(); err != nil {
				return fmt.Errorf("live Redis: %w", err)
			}
			if err := rs.Ping(ctx); err != nil {
				return fmt.Errorf("store Redis: %w", err)
			}
			return nil
		}
	}
	n.Metrics = metrics.New(metrics.Config{Stats: n.stats, DropReasons: hub.DropReasons, PublishKinds: publishKinds, StoreOps: storeOps})
	n.CheckIns = timedCheckIns{Store: n.CheckIns, m: n.Metrics}
	memberIDs := auth.NewMemberIDs(auth.DeriveMemberKey(cfg.Auth.Secret))
	n.Rooms = room.NewService(timedStore{Store: n.store, m: n.Metrics}, memberIDs.For)
	hc := cfg.Hub
	// Sign-in tickets live where every node redeems them: the live Redis
	// in distributed mode, memory on one node. Without sign-in, every
	// ticket is refused.
	var tickets signin.TicketStore
	if cfg.OIDCIssuer != "" {
		tickets = &signin.MemoryTickets{}
		if rb, ok := n.broker.(*broker.Redis); ok {
			tickets = signin.NewRedisTickets(rb.Client())
		}
	}
	hc.Auth, hc.MemberIDs, hc.Rooms, hc.Logger = signin.Tokens{Verifier: verifier, Tickets: tickets}, memberIDs, n.Rooms, log
	hc.Crisis, hc.EscalateAfter, hc.SessionMax = cfg.Crisis, cfg.EscalateAfter, cfg.SessionMax
	if hc.Limiter == nil {
		hc.Limiter = limiter
	}
	if hc.Crisis == nil {
		hc.Crisis = newCrisisChecker(cfg.CrisisResources)
	}
	if cfg.WebhookURL != "" {
		hc.AlertSink = &webhook.Webhook{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret}
	}
	hc.Broker = countingBroker{Broker: n.broker, m: n.Metrics}
	if hc.Observer == nil {
		hc.Observer = n.Metrics
	}
	n.Hub = hub.New(hc)
	n.broker.SetTimerHandler(n.Hub.OnTimer)
	if rb, ok := n.broker.(*broker.Redis); ok {
		rb.SetResubscribeHandler(func(room string) {
			n.Metrics.Resubscribed()
			n.Hub.Resync(room)
		})
	}

	n.base, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var signIn httpapi.SignIn // a nil *signin.Service must stay a nil interface
	if cfg.OIDCIssuer != "" {
		n.signIn, err = signin.New(signin.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret, PublicURL: cfg.PublicURL,
			Token: cfg.Auth, Verifier: verifier, Tickets: tickets, TicketTTL: cfg.SignInTicketTTL, Logger: log,
		})
		if err != nil {
			n.cancel()
			cerr := errors.Join(n.broker.Close(), n.checkIns.Close(), n.store.Close())
			if n.limits != nil {
				cerr = errors.Join(cerr, n.limits.Close())
			}
			return nil, errors.Join(err, cerr)
		}
		signIn = n.signIn
	}
	n.Handler = httpapi.New(httpapi.Config{
		Hub: n.Hub, Verifier: verifier, Rooms: n.Rooms, AllowedOrigins: cfg.AllowedOrigins, Static: cfg.Static,
		CheckIns: n.CheckIns, CheckInRetention: cmp.Or(cfg.CheckInRetention, checkin.DefaultRetention),
		BaseContext: n.base, Logger: log, Ready: n.ready, Draining: n.stopping.Load, Metrics: n.Metrics.Handler(), SignIn: signIn,
	})
	n.verifier, built = verifier, true
	return n, nil
}

// ready is /readyz: not while stopping, and only while Redis answers.
func (n *Node) ready(ctx context.Context) error {
	if n.stopping.Load() {
		return errors.New("shutting down")
	}
	if n.ping != nil {
		return n.ping(ctx)
	}
	return nil
}

// Stopping turns /readyz not-ready, so a load balancer drains the node
// before its connections are closed, and refuses new WebSocket upgrades
// (503 shutting_down) from then on.
func (n *Node) Stopping() { n.stopping.Store(true) }

// Close ends the served WebSockets' context and closes the broker, the
// check-in store (stopping its sweep), the store and, in distributed mode,
// the limits' Redis client. Call it after Hub.Shutdown.
func (n *Node) Close() error {
	n.cancel()
	if n.signIn != nil {
		n.signIn.Close()
	}
	if n.verifier != nil {
		defer n.verifier.Close()
	}
	err := errors.Join(n.broker.Close(), n.checkIns.Close(), n.store.Close())
	if n.limits != nil {
		err = errors.Join(err, n.limits.Close())
	}
	return err
}

// stats are the hub's counters for the metrics, read at every scrape.
func (n *Node) stats() metrics.Stats {
	s := n.Hub.Stats()
	return metrics.Stats{Connections: s.Connections, Rooms: s.Rooms, SessionsOpen: s.SessionsOpen,
		SlowConsumers: s.SlowConsumers, CrisisMatches: s.CrisisMatches}
}
