package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A started cluster serves every key, spreads keys over its three masters,
// and a master restarted comes back empty, serving its slots again.
func TestClusterStartsAndRestartsAMaster(t *testing.T) {
	c := StartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	seen := map[int]string{}
	for i := 0; len(seen) < 3 && i < 1000; i++ {
		k := fmt.Sprint("k", i)
		seen[c.MasterOf(t, k)] = k
	}
	if len(seen) != 3 {
		t.Fatalf("keys landed on %d masters, want 3", len(seen))
	}
	for _, k := range seen {
		if err := rdb.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c.Master(1).Restart()
	c.WaitOK(t)
	for i, k := range seen {
		err := rdb.Get(ctx, k).Err()
		for err != nil && err != redis.Nil && ctx.Err() == nil { // the client reconnects on its own schedule
			time.Sleep(100 * time.Millisecond)
			err = rdb.Get(ctx, k).Err()
		}
		if want := i == 1; (err == redis.Nil) != want {
			t.Errorf("key %s on master %d after master 1 restarted: err %v; want lost = %v", k, i, err, want)
		}
	}
}
