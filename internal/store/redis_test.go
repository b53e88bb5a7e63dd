package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hearth/internal/redistest"
	"hearth/internal/room"
)

func newRedisT(t *testing.T, url string) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := NewRedis(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The key layout is part of the deployment contract (operators inspect and
// back it up): check each key's name and type, and the invite's expiry.
func TestRedisKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	s := newRedisT(t, srv.URL())
	ctx := ctxT(t)
	mustCreate(t, s, sampleRoom("r1"))
	appendN(t, s, "r1", 2)
	exp := time.Now().Add(time.Hour)
	if err := s.PutInvite(ctx, room.Invite{Code: "abc", RoomID: "r1", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	for key, typ := range map[string]string{
		"hearth:{r1}:doc":         "string",
		"hearth:{r1}:audit":       "zset",
		"hearth:{r1}:audit_seq":   "string",
		"hearth:invite:abc":       "string",
		"hearth:user:fac-1:rooms": "set",
		"hearth:user:mem-1:rooms": "set",
	} {
		if got := s.rdb.Type(ctx, key).Val(); got != typ {
			t.Errorf("TYPE %s = %q, want %q", key, got, typ)
		}
	}
	if got := s.rdb.Get(ctx, "hearth:{r1}:audit_seq").Val(); got != "2" {
		t.Errorf("audit_seq = %q, want 2", got)
	}
	if at := s.rdb.PExpireTime(ctx, "hearth:invite:abc").Val(); at != time.Duration(exp.UnixMilli())*time.Millisecond {
		t.Errorf("invite expires at %v ms, want %d", at.Milliseconds(), exp.UnixMilli())
	}
	if n := s.rdb.ZCard(ctx, "hearth:{r1}:audit").Val(); n != 2 {
		t.Errorf("audit has %d members, want 2", n)
	}
}

// Bad URLs fail without echoing a password; an unreachable server fails the
// ping; an outage is an error, not ErrNotFound.
func TestRedisErrors(t *testing.T) {
	ctx := ctxT(t)
	if _, err := NewRedis(ctx, "redis://hearth:s3cret@127.0.0.1:notaport/0"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("NewRedis with a bad port: err = %v, want an error without the password", err)
	}
	if _, err := NewRedis(ctx, "http://127.0.0.1/0"); err == nil {
		t.Error("NewRedis with an http URL succeeded")
	}

	srv := redistest.Start(t)
	s := newRedisT(t, srv.URL())
	mustCreate(t, s, sampleRoom("r1"))
	srv.Stop()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.Room(short, "r1"); err == nil || errors.Is(err, room.ErrNotFound) {
		t.Errorf("Room during an outage: err = %v, want a network error", err)
	}
	if _, err := s.UpdateRoom(short, "r1", func(*room.Room) error { return nil }); err == nil || errors.Is(err, room.ErrNotFound) {
		t.Errorf("UpdateRoom during an outage: err = %v, want a network error", err)
	}
	unreachable, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	if _, err := NewRedis(unreachable, srv.URL()); err == nil {
		t.Error("NewRedis to a stopped server succeeded")
	}
}
