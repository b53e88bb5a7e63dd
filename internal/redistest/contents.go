package redistest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Contents reads every key of the server (SCAN) and its value, decoded by
// type (string, list, hash, set, zset — not a DUMP, whose encoding may
// compress or hide text), into one text of "key\ttype\tvalue…" lines, for
// tests that check what Redis still holds (a canary string, a user id). A
// key of another type fails the test: teach it the type.
func (s *Server) Contents(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer rdb.Close()
	var out strings.Builder
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		switch typ {
		case "string":
			var v string
			if v, err = rdb.Get(ctx, k).Result(); errors.Is(err, redis.Nil) {
				err = nil // expired between SCAN and GET
			}
			vals = []string{v}
		case "list":
			vals, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "hash":
			var m map[string]string
			m, err = rdb.HGetAll(ctx, k).Result()
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "set":
			vals, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			vals, err = rdb.ZRange(ctx, k, 0, -1).Result()
		case "none": // expired between SCAN and TYPE
		default:
			t.Fatalf("key %s has type %s, which Contents cannot read: teach it", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s\t%s\t%s\n", k, typ, strings.Join(vals, "\t"))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
