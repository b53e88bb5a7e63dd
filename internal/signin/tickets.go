package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/auth"
	"hearth/internal/protocol"
)

// TicketPrefix starts every sign-in ticket, so that what an auth or refresh
// frame carries is told apart from a JWT (which starts with "eyJ") without
// looking anything up.
const TicketPrefix = "hst_"

// TicketTTL is how long a ticket can be redeemed: long enough for the page
// to open a WebSocket and send it (a slow phone included), short enough
// that one read from a log or a screen is useless by the time it is read.
const TicketTTL = 60 * time.Second

// TicketStore keeps tickets until they are redeemed or expire. Tickets are
// one-time across every node: Take removes what it returns, atomically.
// Implementations never keep the ticket itself, only a hash of it.
type TicketStore interface {
	// Put keeps id under ticket for ttl.
	Put(ctx context.Context, ticket string, id auth.Identity, ttl time.Duration) error
	// Take returns the identity kept under ticket and removes it. ok is
	// false when there is none: never issued, already taken, or expired.
	Take(ctx context.Context, ticket string) (id auth.Identity, ok bool, err error)
}

// newTicket returns a fresh ticket: TicketPrefix and 130 random bits
// (crypto/rand.Text, base32).
func newTicket() string { return TicketPrefix + rand.Text() }

// ticketKey is the hash a store keeps a ticket under, so that a dump or a
// MONITOR of the store shows no ticket that could still be redeemed.
func ticketKey(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(sum[:])
}

// maxMemoryTickets bounds the tickets MemoryTickets keeps at once: a
// minute's worth for far more people than one node serves. Beyond it Put
// fails (the page retries), so a flood of requests cannot grow the map
// without bound.
const maxMemoryTickets = 1 << 16

// MemoryTickets is the TicketStore of embedded mode (one node): a map in
// memory, swept of expired tickets whenever it has doubled since the last
// sweep (so a Put costs O(1) on average). Safe for concurrent use; the zero
// value is ready.
type MemoryTickets struct {
	mu        sync.Mutex
	tickets   map[string]memoryTicket
	nextSweep int // sweep when len(tickets) reaches this
}

type memoryTicket struct {
	id       auth.Identity
	deadline time.Time
}

// Put implements TicketStore. It fails only when maxMemoryTickets are
// outstanding.
func (m *MemoryTickets) Put(_ context.Context, ticket string, id auth.Identity, ttl time.Duration) error {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tickets == nil {
		m.tickets = map[string]memoryTicket{}
	}
	if len(m.tickets) >= max(m.nextSweep, 64) {
		for k, t := range m.tickets {
			if !now.Before(t.deadline) {
				delete(m.tickets, k)
			}
		}
		m.nextSweep = 2 * len(m.tickets)
	}
	if len(m.tickets) >= maxMemoryTickets {
		return errors.New("signin: too many tickets outstanding")
	}
	m.tickets[ticketKey(ticket)] = memoryTicket{id: id, deadline: now.Add(ttl)}
	return nil
}

// Take implements TicketStore.
func (m *MemoryTickets) Take(_ context.Context, ticket string) (auth.Identity, bool, error) {
	k := ticketKey(ticket)
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tickets[k]
	delete(m.tickets, k)
	if !ok || !time.Now().Before(t.deadline) {
		return auth.Identity{}, false, nil
	}
	return t.id, true, nil
}

// RedisCmds is what RedisTickets needs of a go-redis client: a
// *redis.Client, a *redis.ClusterClient and a redis.UniversalClient all
// have it.
type RedisCmds interface {
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	GetDel(ctx context.Context, key string) *redis.StringCmd
}

// RedisTickets is the TicketStore of distributed mode: each ticket is one
// key, hearth:ticket:<sha-256 of the ticket, hex>, set with PX and redeemed
// with GETDEL (Redis >= 6.2), so a ticket is taken once whichever node
// redeems it. One key per ticket also suits a Redis Cluster.
type RedisTickets struct{ rdb RedisCmds }

// NewRedisTickets returns a RedisTickets on rdb, the live Redis (tickets
// need no persistence).
func NewRedisTickets(rdb RedisCmds) *RedisTickets { return &RedisTickets{rdb: rdb} }

// redisTicket is a ticket's value in Redis: ids, the role and a time, no
// token.
type redisTicket struct {
	UserID  string `json:"u"`
	Role    string `json:"r"`
	Expires int64  `json:"e"` // the session's end, Unix milliseconds
}

func redisTicketKey(ticket string) string { return "hearth:ticket:" + ticketKey(ticket) }

// Put implements TicketStore. Errors wrap the Redis error.
func (s *RedisTickets) Put(ctx context.Context, ticket string, id auth.Identity, ttl time.Duration) error {
	b, err := json.Marshal(redisTicket{UserID: id.UserID, Role: id.Role, Expires: id.Expires.UnixMilli()})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, redisTicketKey(ticket), b, ttl).Err(); err != nil {
		return fmt.Errorf("signin: keeping a ticket: %w", err)
	}
	return nil
}

// Take implements TicketStore. Errors wrap the Redis error.
func (s *RedisTickets) Take(ctx context.Context, ticket string) (auth.Identity, bool, error) {
	b, err := s.rdb.GetDel(ctx, redisTicketKey(ticket)).Bytes()
	if errors.Is(err, redis.Nil) {
		return auth.Identity{}, false, nil
	}
	if err != nil {
		return auth.Identity{}, false, fmt.Errorf("signin: redeeming a ticket: %w", err)
	}
	var t redisTicket
	if err := json.Unmarshal(b, &t); err != nil || t.UserID == "" {
		return auth.Identity{}, false, nil // not one of ours: as good as none
	}
	return auth.Identity{UserID: t.UserID, Role: t.Role, Expires: time.UnixMilli(t.Expires)}, true, nil
}

// TokenVerifier checks Hearth's bearer tokens (internal/auth's Verifier);
// ctx bounds fetching a key it does not have yet.
type TokenVerifier interface {
	VerifyContext(ctx context.Context, token string) (auth.Identity, error)
}

// Tokens verifies what a WebSocket's auth and refresh frames carry (it is
// the hub's Authenticator): a sign-in ticket (TicketPrefix) is redeemed
// from Tickets, once; anything else is a bearer token for Verifier.
type Tokens struct {
	Verifier TokenVerifier
	// Tickets redeems tickets; nil refuses every ticket (sign-in is off).
	Tickets TicketStore
}

// Verify returns the identity token stands for. A ticket stands for the
// session it was issued for: its user, role and expiry (the session
// cookie's, not the ticket's). Errors wrap a *protocol.Error:
// invalid_token for an unknown, used or expired ticket (and for bad
// tokens), token_expired for a ticket whose session has ended meanwhile (or
// an expired token), unavailable when the ticket store cannot be reached.
func (t Tokens) Verify(ctx context.Context, token string) (auth.Identity, error) {
	if !strings.HasPrefix(token, TicketPrefix) {
		return t.Verifier.VerifyContext(ctx, token)
	}
	if t.Tickets == nil || len(token) > protocol.MaxTokenBytes {
		return auth.Identity{}, auth.ErrInvalidToken
	}
	id, ok, err := t.Tickets.Take(ctx, token)
	switch {
	case err != nil:
		return auth.Identity{}, fmt.Errorf("%w (%v)", protocol.Err(protocol.CodeUnavailable), err)
	case !ok:
		return auth.Identity{}, fmt.Errorf("%w (unknown, used or expired ticket)", auth.ErrInvalidToken)
	case !id.Expires.IsZero() && time.Now().After(id.Expires.Add(auth.Leeway)):
		return auth.Identity{}, fmt.Errorf("%w (the ticket's session has ended)", auth.ErrExpired)
	}
	return id, nil
}
