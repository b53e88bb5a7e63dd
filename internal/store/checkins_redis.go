package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/checkin"
)

// Redis keys of check-ins. The indexes are sorted sets whose members all
// have score 0 and are sort keys (checkin.Cursor.Key: 16 zero-padded
// digits of CreatedAt in Unix milliseconds, ":", the id), so ZREVRANGEBYLEX
// pages them newest first and ZREMRANGEBYLEX drops the expired ones from
// the start. A room's index carries the room id in a hash tag, like the
// room's other keys.
//
//	hearth:checkin:<id>           string: check-in JSON; PEXPIREAT CreatedAt+retention
//	hearth:user:<user>:checkins   zset: the user's sort keys; expires with its newest entry
//	hearth:{<room>}:checkins      zset: the room's sort keys; expires with its newest entry
func checkInKey(id string) string        { return "hearth:checkin:" + id }
func userCheckInsKey(user string) string { return "hearth:user:" + user + ":checkins" }
func roomCheckInsKey(room string) string { return "hearth:{" + room + "}:checkins" }

// KEYS: doc, then each index. ARGV: doc JSON, sort key, expiry (Unix ms),
// cutoff prefix. Stores the doc (expiring at ARGV[3]) unless it exists,
// adds the sort key to every index, drops the index entries below the
// cutoff, and moves each index's expiry to ARGV[3] if that is later.
// Returns 1, or 0 if the doc exists.
var putCheckInScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
local at = tonumber(ARGV[3])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], 0, ARGV[2])
  redis.call('ZREMRANGEBYLEX', KEYS[i], '-', '(' .. ARGV[4])
  if redis.call('PEXPIRETIME', KEYS[i]) < at then redis.call('PEXPIREAT', KEYS[i], at) end
end
return 1`)

// KEYS: index. ARGV: cutoff prefix, max (a ZREVRANGEBYLEX bound), count.
// Drops the expired entries, then returns them and up to count entries
// below max, newest first: {expired, page}.
var listCheckInsScript = redis.NewScript(`
local gone = redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[1])
if #gone > 0 then redis.call('ZREMRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[1]) end
return {gone, redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], '-', 'LIMIT', 0, tonumber(ARGV[3]))}`)

// KEYS: doc, then each index. ARGV: the doc JSON as read, sort key.
// Deletes the doc and its index entries if the doc is still what was read.
// Returns 1, or 0 if it is gone.
var deleteCheckInScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return 1`)

// RedisCheckIns is a checkin.Store in the Redis store's database
// (distributed mode), shared by every node. Each write is one Lua script;
// the database must persist (appendonly, as for the rest of the store) for
// check-ins to survive a Redis restart. Retention is Redis key expiry: each
// check-in's key expires at CreatedAt + retention, each index key with its
// newest entry, and the expired entries of an index are dropped whenever
// it is written or read. Like Redis, it needs a standalone or
// Sentinel-managed Redis, not Redis Cluster (a check-in's keys span
// slots). It starts no goroutine. It is safe for concurrent use.
type RedisCheckIns struct {
	rdb       *redis.Client
	retention time.Duration
}

var _ checkin.Store = (*RedisCheckIns)(nil)

// NewRedisCheckIns returns the check-in store on r's connection. It owns
// nothing: Close does nothing, and r must stay open while it is used.
func NewRedisCheckIns(r *Redis, opts CheckInOptions) *RedisCheckIns {
	return &RedisCheckIns{rdb: r.rdb, retention: opts.withDefaults().Retention}
}

// Close does nothing (the connection is r's); it is there so both
// check-in stores close alike.
func (s *RedisCheckIns) Close() error { return nil }

func checkInKeys(c checkin.CheckIn) []string {
	keys := []string{checkInKey(c.ID), userCheckInsKey(c.UserID)}
	for _, r := range c.Rooms {
		keys = append(keys, roomCheckInsKey(r))
	}
	return keys
}

// Put stores c, expiring at CreatedAt + retention, and indexes it under
// its author and each of its rooms, in one script. A check-in already past
// its retention is not stored. Errors: checkin.ErrExists, and an error for
// a check-in without id, user, room or time.
func (s *RedisCheckIns) Put(ctx context.Context, c checkin.CheckIn) error {
	if err := checkPut(c); err != nil {
		return err
	}
	doc, err := encodeCheckIn(c)
	if err != nil {
		return err
	}
	now := time.Now()
	if c.Expired(s.retention, now) {
		if n, err := s.rdb.Exists(ctx, checkInKey(c.ID)).Result(); err != nil {
			return fmt.Errorf("store: put check-in %s: %w", c.ID, err)
		} else if n > 0 {
			return checkin.ErrExists
		}
		return nil
	}
	at := c.ExpiresAt(s.retention).UnixMilli()
	ok, err := putCheckInScript.Run(ctx, s.rdb, checkInKeys(c), doc, c.Cursor().Key(), at, cutoffKey(now, s.retention)).Int()
	if err != nil {
		return fmt.Errorf("store: put check-in %s: %w", c.ID, err)
	}
	if ok == 0 {
		return checkin.ErrExists
	}
	return nil
}

// Get returns the check-in with id. Errors: checkin.ErrNotFound, also when
// its retention has ended.
func (s *RedisCheckIns) Get(ctx context.Context, id string) (checkin.CheckIn, error) {
	c, _, err := s.get(ctx, id)
	if err != nil {
		return checkin.CheckIn{}, err
	}
	if c.Expired(s.retention, time.Now()) {
		return checkin.CheckIn{}, checkin.ErrNotFound
	}
	return c, nil
}

// get returns the check-in with id and its stored JSON, expired or not.
func (s *RedisCheckIns) get(ctx context.Context, id string) (checkin.CheckIn, string, error) {
	if id == "" {
		return checkin.CheckIn{}, "", checkin.ErrNotFound
	}
	doc, err := s.rdb.Get(ctx, checkInKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return checkin.CheckIn{}, "", checkin.ErrNotFound
	}
	if err != nil {
		return checkin.CheckIn{}, "", fmt.Errorf("store: get check-in %s: %w", id, err)
	}
	c, err := decodeCheckIn(id, []byte(doc))
	return c, doc, err
}

// ListByUser returns up to limit of userID's check-ins, newest first,
// older than before (see checkin.Store). Never nil.
func (s *RedisCheckIns) ListByUser(ctx context.Context, userID string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	if userID == "" {
		return []checkin.CheckIn{}, nil
	}
	return s.list(ctx, userCheckInsKey(userID), before, limit)
}

// ListByRoom returns up to limit of the check-ins for roomID, newest
// first, older than before (see checkin.Store). Never nil.
func (s *RedisCheckIns) ListByRoom(ctx context.Context, roomID string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	if roomID == "" {
		return []checkin.CheckIn{}, nil
	}
	return s.list(ctx, roomCheckInsKey(roomID), before, limit)
}

// list pages the index at key: entries whose check-in is gone (expired by
// the Redis clock a moment before ours, or deleted between the two reads)
// are skipped and the next entries read in their place.
func (s *RedisCheckIns) list(ctx context.Context, key string, before checkin.Cursor, limit int) ([]checkin.CheckIn, error) {
	limit = checkInPage(limit)
	out := []checkin.CheckIn{}
	bound := "+"
	if !before.IsZero() {
		bound = "(" + before.Key()
	}
	for len(out) < limit {
		now := time.Now()
		want := limit - len(out)
		gone, entries, err := s.listScript(ctx, key, cutoffKey(now, s.retention), bound, want)
		if err != nil {
			return nil, fmt.Errorf("store: list check-ins: %w", err)
		}
		if err := s.forget(ctx, gone); err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		docKeys := make([]string, len(entries))
		for i, e := range entries {
			_, id, _ := strings.Cut(e, ":")
			docKeys[i] = checkInKey(id)
		}
		docs, err := s.rdb.MGet(ctx, docKeys...).Result()
		if err != nil {
			return nil, fmt.Errorf("store: list check-ins: %w", err)
		}
		for i, d := range docs {
			doc, ok := d.(string)
			if !ok {
				continue // gone
			}
			c, err := decodeCheckIn(strings.TrimPrefix(docKeys[i], "hearth:checkin:"), []byte(doc))
			if err != nil {
				return nil, err
			}
			if !c.Expired(s.retention, now) {
				out = append(out, c)
			}
		}
		if len(entries) < want {
			break
		}
		bound = "(" + entries[len(entries)-1]
	}
	return out, nil
}

// listScript runs listCheckInsScript: the index entries it dropped as
// expired, and the page.
func (s *RedisCheckIns) listScript(ctx context.Context, key, cutoff, bound string, count int) (gone, page []string, err error) {
	res, err := listCheckInsScript.Run(ctx, s.rdb, []string{key}, cutoff, bound, count).Slice()
	if err != nil {
		return nil, nil, err
	}
	if len(res) != 2 {
		return nil, nil, fmt.Errorf("list script returned %d values", len(res))
	}
	strs := func(v any) []string {
		items, _ := v.([]any)
		out := make([]string, 0, len(items))
		for _, it := range items {
			if str, ok := it.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return strs(res[0]), strs(res[1]), nil
}

// forget deletes the check-in keys of index entries dropped as expired.
// Their keys expire by themselves at CreatedAt + the retention they were
// stored with; this deletes them at once when the retention has been
// shortened since.
func (s *RedisCheckIns) forget(ctx context.Context, entries []string) error {
	if len(entries) == 0 {
		return nil
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		_, id, _ := strings.Cut(e, ":")
		keys[i] = checkInKey(id)
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("store: delete expired check-ins: %w", err)
	}
	return nil
}

// Delete deletes userID's check-in id and its index entries. Errors:
// checkin.ErrNotFound, also for someone else's check-in (left as it is)
// and for one whose retention has ended (deleted all the same).
func (s *RedisCheckIns) Delete(ctx context.Context, userID, id string) error {
	c, doc, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if c.UserID != userID {
		return checkin.ErrNotFound
	}
	ok, err := deleteCheckInScript.Run(ctx, s.rdb, checkInKeys(c), doc, c.Cursor().Key()).Int()
	if err != nil {
		return fmt.Errorf("store: delete check-in %s: %w", id, err)
	}
	if ok == 0 || c.Expired(s.retention, time.Now()) {
		return checkin.ErrNotFound
	}
	return nil
}

// DeleteUser deletes every check-in of userID, with its index entries, and
// the user's index, and returns how many check-ins there were. A check-in
// the user posts meanwhile is deleted too (it reads the index again until
// it is empty, at most 10 times).
func (s *RedisCheckIns) DeleteUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	key := userCheckInsKey(userID)
	n := 0
	for range 10 {
		entries, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			return n, fmt.Errorf("store: delete a user's check-ins: %w", err)
		}
		if len(entries) == 0 {
			return n, nil
		}
		for _, e := range entries {
			_, id, _ := strings.Cut(e, ":")
			c, doc, err := s.get(ctx, id)
			if err != nil && !errors.Is(err, checkin.ErrNotFound) {
				return n, err
			}
			if err != nil || c.UserID != userID { // expired (only the entry is left), or not theirs (ids are random: cannot happen)
				if err := s.rdb.ZRem(ctx, key, e).Err(); err != nil {
					return n, fmt.Errorf("store: delete a user's check-ins: %w", err)
				}
				continue
			}
			ok, err := deleteCheckInScript.Run(ctx, s.rdb, checkInKeys(c), doc, c.Cursor().Key()).Int()
			if err != nil {
				return n, fmt.Errorf("store: delete a user's check-ins: %w", err)
			}
			n += ok
		}
	}
	return n, errors.New("store: delete a user's check-ins: they kept posting meanwhile")
}
