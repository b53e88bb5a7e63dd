package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/room"
)

// maxUpdateTries bounds UpdateRoom's optimistic-concurrency retries.
const maxUpdateTries = 100

// Redis keys. A room's own keys carry its id in a hash tag, so they share a
// Redis Cluster slot; invites and the user index are keyed by code and user.
func docKey(id string) string      { return "hearth:{" + id + "}:doc" }        // room JSON (string)
func auditKey(id string) string    { return "hearth:{" + id + "}:audit" }      // sorted set: score seq, member entry JSON
func auditSeqKey(id string) string { return "hearth:{" + id + "}:audit_seq" }  // last assigned seq (integer)
func inviteKey(code string) string { return "hearth:invite:" + code }          // invite JSON, expiring at ExpiresAt
func userKey(user string) string   { return "hearth:user:" + user + ":rooms" } // set of room ids

// KEYS: doc, then the index key of each member. ARGV: doc JSON, room id.
// Returns 1, or 0 if the room exists.
var createRoomScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
for i = 2, #KEYS do redis.call('SADD', KEYS[i], ARGV[2]) end
return 1`)

// auditSeqPrefix is how an AuditEntry with Seq 0 encodes: Seq is its first
// field. The append script replaces the 0 with the assigned seq.
const auditSeqPrefix = `{"seq":0,`

// KEYS: doc, audit, audit_seq. ARGV: entry JSON with seq 0. Returns the
// assigned seq, or 0 if the room does not exist.
var appendAuditScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], seq, '{"seq":' .. string.format('%d', seq) .. string.sub(ARGV[1], 9))
return seq`)

// Redis is a room.Store in Redis, shared by every node in distributed mode.
// Each method is atomic on the Redis server: a script, a MULTI/EXEC
// transaction or a single command. The keys of one operation are not all in
// one Redis Cluster slot (the user index), so it needs a standalone or
// Sentinel-managed Redis, not Redis Cluster. It is safe for concurrent use.
type Redis struct {
	rdb *redis.Client
}

var _ room.Store = (*Redis)(nil)

// NewRedis connects to the Redis at rawURL (redis:// or rediss://, as
// redis.ParseURL reads it) and checks it answers a PING within ctx. The
// error never repeats the URL, which may hold a password. Close the Redis
// when done.
func NewRedis(ctx context.Context, rawURL string) (*Redis, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text is the whole URL
			err = ue.Err
		}
		return nil, fmt.Errorf("store: invalid Redis URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("store: connect to Redis at %s: %w", opts.Addr, err)
	}
	return &Redis{rdb: rdb}, nil
}

// Ping checks that the store's Redis answers within ctx (for /readyz).
func (s *Redis) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// Close closes the connections to Redis.
func (s *Redis) Close() error {
	return s.rdb.Close()
}

// CreateRoom stores r with Version 1 (r.Version is ignored) and indexes it
// under its facilitators and roster, in one script. Errors: room.ErrExists.
func (s *Redis) CreateRoom(ctx context.Context, r room.Room) error {
	if r.ID == "" {
		return errNoRoomID
	}
	r.Version = 1
	doc, err := encodeRoom(&r)
	if err != nil {
		return err
	}
	added, _ := indexDiff(nil, &r)
	keys := []string{docKey(r.ID)}
	for _, u := range added {
		keys = append(keys, userKey(u))
	}
	created, err := createRoomScript.Run(ctx, s.rdb, keys, doc, r.ID).Int()
	if err != nil {
		return fmt.Errorf("store: create room %s: %w", r.ID, err)
	}
	if created == 0 {
		return room.ErrExists
	}
	return nil
}

// Room returns the room with id. Errors: room.ErrNotFound.
func (s *Redis) Room(ctx context.Context, id string) (room.Room, error) {
	doc, err := s.rdb.Get(ctx, docKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return room.Room{}, room.ErrNotFound
	}
	if err != nil {
		return room.Room{}, fmt.Errorf("store: get room %s: %w", id, err)
	}
	return decodeRoom(id, doc)
}

// UpdateRoom runs fn on a deep copy of the room with id and stores the
// result with Version+1, with optimistic concurrency: WATCH the document,
// read it, run fn, then MULTI/EXEC the new document and the index changes.
// If another update won the race, fn runs again on a fresh copy, up to 100
// times with a short random pause in between; then UpdateRoom gives up with
// an error. If fn returns an error, nothing is stored and that error is
// returned as is; if it changes the room's ID, ErrIDChanged. Returns the
// stored room. Errors: room.ErrNotFound.
func (s *Redis) UpdateRoom(ctx context.Context, id string, fn func(*room.Room) error) (room.Room, error) {
	key := docKey(id)
	for try := range maxUpdateTries {
		var (
			stored room.Room
			fnErr  error
		)
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			doc, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return room.ErrNotFound
			}
			if err != nil {
				return err
			}
			newDoc, added, removed, err := applyUpdate(id, doc, fn)
			if err != nil {
				fnErr = err
				return err
			}
			if stored, err = decodeRoom(id, newDoc); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, newDoc, 0)
				for _, u := range added {
					p.SAdd(ctx, userKey(u), id)
				}
				for _, u := range removed {
					p.SRem(ctx, userKey(u), id)
				}
				return nil
			})
			return err
		}, key)
		switch {
		case err == nil:
			return stored, nil
		case fnErr != nil:
			return room.Room{}, fnErr
		case errors.Is(err, room.ErrNotFound):
			return room.Room{}, room.ErrNotFound
		case !errors.Is(err, redis.TxFailedErr):
			return room.Room{}, fmt.Errorf("store: update room %s: %w", id, err)
		}
		// Another update changed the room between our WATCH and EXEC.
		pause := time.Duration(rand.Int64N(int64(min(try+1, 10)) * int64(time.Millisecond)))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return room.Room{}, fmt.Errorf("store: update room %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
	return room.Room{}, fmt.Errorf("store: update room %s: still conflicting after %d tries", id, maxUpdateTries)
}

// RoomsOf returns the ids of the rooms where userID is a facilitator or on
// the roster, sorted (never nil).
func (s *Redis) RoomsOf(ctx context.Context, userID string) ([]string, error) {
	if userID == "" {
		return []string{}, nil
	}
	ids, err := s.rdb.SMembers(ctx, userKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: rooms of a user: %w", err)
	}
	if ids == nil {
		ids = []string{}
	}
	slices.Sort(ids)
	return ids, nil
}

// PutInvite stores inv under its code with SET NX, expiring at
// inv.ExpiresAt by the Redis server's clock (an invite already expired is
// accepted and vanishes at once). inv.ExpiresAt must be set. It does not
// check that inv.RoomID exists. Errors: room.ErrExists.
func (s *Redis) PutInvite(ctx context.Context, inv room.Invite) error {
	doc, err := encodeInvite(inv)
	if err != nil {
		return err
	}
	at := max(inv.ExpiresAt.UnixMilli(), 1) // PXAT wants a positive time
	err = s.rdb.Do(ctx, "SET", inviteKey(inv.Code), doc, "NX", "PXAT", at).Err()
	if errors.Is(err, redis.Nil) {
		return room.ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: put invite for room %s: %w", inv.RoomID, err)
	}
	return nil
}

// TakeInvite removes the invite with code (GETDEL) and returns it if it has
// not expired at now (an expired one is removed too). Errors:
// room.ErrNotFound, also for an expired invite.
func (s *Redis) TakeInvite(ctx context.Context, code string, now time.Time) (room.Invite, error) {
	if code == "" {
		return room.Invite{}, room.ErrNotFound
	}
	doc, err := s.rdb.GetDel(ctx, inviteKey(code)).Bytes()
	if errors.Is(err, redis.Nil) {
		return room.Invite{}, room.ErrNotFound
	}
	if err != nil {
		return room.Invite{}, fmt.Errorf("store: take invite: %w", err)
	}
	inv, err := decodeInvite(doc)
	if err != nil {
		return room.Invite{}, err
	}
	if !now.Before(inv.ExpiresAt) {
		return room.Invite{}, room.ErrNotFound
	}
	return inv, nil
}

// inviteScan is the COUNT hint of DeleteInvites' SCAN.
const inviteScan = 200

// KEYS: invite. ARGV: the invite JSON as read. Deletes the invite only if it
// is still that document (not taken and issued again meanwhile); returns 1
// if it deleted it.
var deleteInviteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// DeleteInvites deletes every stored invite for which match returns true
// and returns how many it deleted. It SCANs the invite keys, reads each
// (GET) and deletes a matching one with a script that first checks it is
// still the document match saw, so an invite taken meanwhile is not counted
// and a code issued again meanwhile is not deleted. Expired invites are
// gone already (Redis expires them). Not atomic as a whole: an invite
// stored while it runs may be missed.
func (s *Redis) DeleteInvites(ctx context.Context, match func(room.Invite) bool) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, inviteKey("*"), inviteScan).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		doc, err := s.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // taken or expired since the SCAN
		}
		if err != nil {
			return n, fmt.Errorf("store: read invite: %w", err)
		}
		inv, err := decodeInvite(doc)
		if err != nil {
			return n, err
		}
		if !match(inv) {
			continue
		}
		deleted, err := deleteInviteScript.Run(ctx, s.rdb, []string{key}, doc).Int()
		if err != nil {
			return n, fmt.Errorf("store: delete invite of room %s: %w", inv.RoomID, err)
		}
		n += deleted
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("store: list invites: %w", err)
	}
	return n, nil
}

// AppendAudit appends e to the audit log of the room with roomID, assigning
// e.Seq (1, 2, 3, … per room; the caller's Seq is ignored) with INCR and
// ZADD in one script. Errors: room.ErrNotFound if the room does not exist.
func (s *Redis) AppendAudit(ctx context.Context, roomID string, e room.AuditEntry) error {
	e.Seq = 0
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: encode audit entry of room %s: %w", roomID, err)
	}
	if !bytes.HasPrefix(doc, []byte(auditSeqPrefix)) {
		return fmt.Errorf("store: audit entry of room %s does not encode with seq first", roomID)
	}
	keys := []string{docKey(roomID), auditKey(roomID), auditSeqKey(roomID)}
	seq, err := appendAuditScript.Run(ctx, s.rdb, keys, doc).Int64()
	if err != nil {
		return fmt.Errorf("store: append audit entry to room %s: %w", roomID, err)
	}
	if seq == 0 {
		return room.ErrNotFound
	}
	return nil
}

// Audit returns up to limit entries (capped at MaxAuditPage) of the room's
// audit log, newest first, with Seq below before (0: from the newest). A
// room without entries, or an unknown room, gives an empty slice (never
// nil).
func (s *Redis) Audit(ctx context.Context, roomID string, before uint64, limit int) ([]room.AuditEntry, error) {
	limit = auditPage(limit)
	out := []room.AuditEntry{}
	if limit == 0 {
		return out, nil
	}
	maxScore := "+inf"
	if before != 0 {
		maxScore = "(" + strconv.FormatUint(before, 10)
	}
	raw, err := s.rdb.ZRevRangeByScore(ctx, auditKey(roomID), &redis.ZRangeBy{
		Max: maxScore, Min: "-inf", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: audit log of room %s: %w", roomID, err)
	}
	for _, m := range raw {
		e, err := decodeAudit(roomID, []byte(m))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
