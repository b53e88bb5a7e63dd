package signin_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/auth"
	"hearth/internal/redistest"
	"hearth/internal/signin"
)

// Both ticket stores: a ticket is taken once, an expired one is gone, and
// sweeping expired tickets keeps the live ones.
func TestTicketStores(t *testing.T) {
	stores := map[string]func(t *testing.T) signin.TicketStore{
		"memory": func(*testing.T) signin.TicketStore { return &signin.MemoryTickets{} },
		"redis": func(t *testing.T) signin.TicketStore {
			rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			return signin.NewRedisTickets(rdb)
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			id := auth.Identity{UserID: "u-1", Role: "facilitator", Expires: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
			if err := s.Put(ctx, "hst_one", id, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Take(ctx, "hst_one")
			if err != nil || !ok || got.UserID != id.UserID || got.Role != id.Role || !got.Expires.Equal(id.Expires) {
				t.Fatalf("first take: %+v %v %v, want %+v", got, ok, err, id)
			}
			if _, ok, err := s.Take(ctx, "hst_one"); ok || err != nil {
				t.Fatalf("second take: %v %v, want none", ok, err)
			}
			if _, ok, _ := s.Take(ctx, "hst_never"); ok {
				t.Fatal("a ticket never put was taken")
			}
			if err := s.Put(ctx, "hst_short", id, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			for i := range 200 { // enough to make the memory store sweep
				if err := s.Put(ctx, fmt.Sprintf("hst_live_%d", i), id, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(300 * time.Millisecond)
			for i := range 200 {
				if err := s.Put(ctx, fmt.Sprintf("hst_more_%d", i), id, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok, _ := s.Take(ctx, "hst_short"); ok {
				t.Error("an expired ticket was taken")
			}
			if _, ok, _ := s.Take(ctx, "hst_live_7"); !ok {
				t.Error("a live ticket was lost")
			}
		})
	}
}

type stubVerifier struct{}

func (stubVerifier) VerifyContext(context.Context, string) (auth.Identity, error) {
	return auth.Identity{UserID: "bearer"}, nil
}

// Tokens tells tickets from tokens by the prefix, and a ticket whose
// session has ended meanwhile is token_expired.
func TestTokensTicketOrToken(t *testing.T) {
	ctx := context.Background()
	store := &signin.MemoryTickets{}
	tok := signin.Tokens{Verifier: stubVerifier{}, Tickets: store}
	if id, err := tok.Verify(ctx, "eyJhbGciOi.x.y"); err != nil || id.UserID != "bearer" {
		t.Fatalf("a token: %+v %v", id, err)
	}
	_ = store.Put(ctx, "hst_ended", auth.Identity{UserID: "u", Role: "member", Expires: time.Now().Add(-time.Minute)}, time.Minute)
	if _, err := tok.Verify(ctx, "hst_ended"); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("a ticket of an ended session: %v, want token_expired", err)
	}
	if _, err := tok.Verify(ctx, "hst_unknown"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("an unknown ticket: %v, want invalid_token", err)
	}
	if _, err := (signin.Tokens{Verifier: stubVerifier{}}).Verify(ctx, "hst_x"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a ticket with sign-in off: %v, want invalid_token", err)
	}
}
