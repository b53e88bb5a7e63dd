package redisconn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/redisconn"
	"hearth/internal/redistest"
)

// The configuration's cluster URL (seed nodes separated by commas) becomes
// go-redis's form, credentials and options kept; anything that cannot
// name a cluster is refused with a reason.
func TestClusterURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://h1:7000,h2:7001,h3:7002", "redis://h1:7000?addr=h2%3A7001&addr=h3%3A7002"},
		{"redis://h1:7000", "redis://h1:7000"},
		{"rediss://user:p%40ss@h1:7000,h2:7001/0?dial_timeout=3s", "rediss://user:p%40ss@h1:7000?addr=h2%3A7001&dial_timeout=3s"},
		{"redis://:secret@[::1]:7000,[::1]:7001/", "redis://:secret@[::1]:7000?addr=%5B%3A%3A1%5D%3A7001"},
	} {
		got, err := redisconn.ClusterURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ClusterURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if _, err := redis.ParseClusterURL(got); err != nil {
			t.Errorf("go-redis refuses %q: %v", got, err)
		}
	}
	for _, in := range []string{
		"http://h1:7000", "h1:7000,h2:7001", "redis://", "redis://h1,h2:7001", "redis://h1:7000,", "redis://h1:7000/3",
		"redis://h1:7000#frag", "redis://h1:7000?a=%zz",
	} {
		if got, err := redisconn.ClusterURL(in); !errors.Is(err, redisconn.ErrBadClusterURL) {
			t.Errorf("ClusterURL(%q) = %q, %v; want ErrBadClusterURL", in, got, err)
		}
	}
}

// Open gives a plain client for one server and a cluster client for a
// cluster's seeds (all, or one), each answering; an unknown option is an
// error.
func TestOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	single := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	for _, tc := range []struct {
		url     string
		cluster bool
	}{{single.URL(), false}, {cluster.URL(), true}, {"redis://" + cluster.Addrs()[0], true}} {
		c, err := redisconn.Open(tc.url, tc.cluster, redisconn.Options{FailFast: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, isCluster := c.(*redis.ClusterClient); isCluster != tc.cluster {
			t.Errorf("Open(%q, %v) made a %T", tc.url, tc.cluster, c)
		}
		// Keys of slots on every master are served (from one seed too: the
		// cluster client finds the others).
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			if err := c.Set(ctx, k, "1", time.Minute).Err(); err != nil {
				t.Errorf("SET %s through %q: %v", k, tc.url, err)
			}
		}
		_ = c.Close()
	}
	if _, err := redisconn.Open(cluster.URL()+"?no_such_option=1", true, redisconn.Options{}); err == nil {
		t.Error("Open accepted an unknown option")
	}
	if _, err := redisconn.Open("http://x", false, redisconn.Options{}); err == nil {
		t.Error("Open accepted a URL that is not redis://")
	}
}
