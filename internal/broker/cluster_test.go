package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// clusterSeqKey is room's seq key on a cluster, in the slot of its
// bucket, like all its keys and its channel.
func clusterSeqKey(room string) string { return "hearth:" + roomTag(room, true) + ":seq" }

// roomsOnEachMaster returns three room ids, the i-th served by master i
// (its bucket's hash slot — its keys' and its sharded channel's — is on
// master i).
func roomsOnEachMaster(t *testing.T, c *redistest.Cluster) [3]string {
	t.Helper()
	var out [3]string
	for i, found := 0, 0; found < 3; i++ {
		if i > 1000 {
			t.Fatal("no room id found for every master")
		}
		id := fmt.Sprint("room-", i)
		if m := c.MasterOf(t, clusterSeqKey(id)); out[m] == "" {
			out[m] = id
			found++
		}
	}
	return out
}

// resyncs counts the calls of a broker's resubscribe handler per room.
type resyncs struct {
	mu sync.Mutex
	n  map[string]int
}

func watchResyncs(b *Redis) *resyncs {
	rs := &resyncs{n: map[string]int{}}
	b.SetResubscribeHandler(func(room string) { rs.mu.Lock(); rs.n[room]++; rs.mu.Unlock() })
	b.SetTimerHandler(func([]byte) {}) // the timer loop claims (and watches the timers' epoch) only with a handler
	return rs
}

func (rs *resyncs) get(room string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.n[room]
}

// publishUntil publishes to room from a (errors ignored: a master may be
// coming back) until cond holds, for up to 30 s.
func publishUntil(t *testing.T, a *Redis, room string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("room %s: delivery did not resume within 30 s", room)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = a.Publish(ctx, room, ev("after"))
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
}

// checkFrames checks a room's deliveries: interrupted says whether the
// interruption (nil) must come — once, and before any event after it —
// or must never come; within each run of events their seqs follow each
// other. It returns the seqs delivered after the interruption.
func checkFrames(t *testing.T, room string, frames [][]byte, interrupted bool) []uint64 {
	t.Helper()
	var prev uint64
	var after []uint64
	nils := 0
	for i, f := range frames {
		if f == nil {
			nils++
			prev = 0
			continue
		}
		seq, ok := protocol.SeqOf(f)
		if !ok {
			t.Fatalf("room %s: frame %d has no seq: %s", room, i, f)
		}
		if prev != 0 && seq != prev+1 {
			t.Fatalf("room %s: seq %d after %d without an interruption between", room, seq, prev)
		}
		prev = seq
		if nils > 0 {
			after = append(after, seq)
		}
	}
	if interrupted && nils == 0 {
		t.Fatalf("room %s: delivery went on without telling of the interruption", room)
	}
	if !interrupted && nils > 0 {
		t.Fatalf("room %s: interrupted %d times, though its master stayed up", room, nils)
	}
	return after
}

// One master of three restarts empty under rooms spread over all three:
// only the rooms it serves are interrupted (a nil before any later event,
// the resubscribe handler called) and start a new epoch; the rooms of the
// other masters go on with every seq, uninterrupted. Delivery resumes in
// all of them.
func TestClusterMasterRestartInterruptsOnlyItsRooms(t *testing.T) {
	c := redistest.StartCluster(t)
	rooms := roomsOnEachMaster(t, c)
	// Restart a master that does not hold the timers, whose loss would
	// resync every room (TestClusterLostTimersAreRebuilt).
	down := (c.MasterOf(t, clusterTimers.set) + 1) % 3
	cfg := RedisConfig{URL: c.URL(), Cluster: true}
	a, _ := redisNodeCfg(t, cfg)
	b, sb := redisNodeCfg(t, cfg)
	rs := watchResyncs(b)
	ctx := ctxT(t)
	epochs := map[string]string{}
	for _, room := range rooms {
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatal(err)
		}
		publishN(t, room, 2, a)
		sb.waitFor(t, room, 2)
		epochs[room], _ = epochOf(t, a, room)
	}

	c.Master(down).Restart()
	c.WaitOK(t)
	for i, room := range rooms {
		n := len(sb.get(room))
		publishUntil(t, a, room, func() bool { return len(sb.get(room)) >= n+2 })
		after := checkFrames(t, room, sb.get(room), i == down)
		ep, _ := epochOf(t, a, room)
		if i == down {
			if ep == epochs[room] || len(after) == 0 {
				t.Errorf("room %s of the restarted master: epoch %s (was %s), seqs after the interruption %v; want a new epoch and delivery again",
					room, ep, epochs[room], after)
			}
			if rs.get(room) == 0 {
				t.Errorf("room %s of the restarted master: the resubscribe handler was not called", room)
			}
		} else if ep != epochs[room] || rs.get(room) != 0 {
			t.Errorf("room %s of master %d (up all along): epoch %s (was %s), %d resyncs; want the same epoch, none", room, i, ep, epochs[room], rs.get(room))
		}
	}
}

// Regression (cluster): the timers live in one slot ({timers}); when its
// master restarted empty, the rooms of the other masters kept their
// subscriptions — no resubscription, so no resync — and their timers
// (session end, crisis escalations) were lost for good. Now every node
// sees the timers' epoch change and resyncs each of its rooms (the hub
// schedules their timers again), without interrupting their delivery.
func TestClusterLostTimersAreRebuilt(t *testing.T) {
	c := redistest.StartCluster(t)
	rooms := roomsOnEachMaster(t, c)
	down := c.MasterOf(t, clusterTimers.set)
	cfg := RedisConfig{URL: c.URL(), Cluster: true}
	a, _ := redisNodeCfg(t, cfg)
	b, sb := redisNodeCfg(t, cfg)
	rs := watchResyncs(b)
	ctx := ctxT(t)
	for _, room := range rooms {
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatal(err)
		}
		publishN(t, room, 1, a)
		sb.waitFor(t, room, 1)
	}
	if err := a.Schedule(ctx, time.Now().Add(time.Hour), "t1", []byte("p")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * timerPoll) // b's timer loop has seen the timers' epoch

	c.Master(down).Restart()
	c.WaitOK(t)
	deadline := time.Now().Add(30 * time.Second)
	for i, room := range rooms {
		for rs.get(room) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("room %s (master %d) was not resynced within 30 s of the timers' master restarting", room, i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, room := range rooms {
		n := len(sb.get(room))
		publishUntil(t, a, room, func() bool { return len(sb.get(room)) > n })
		checkFrames(t, room, sb.get(room), i == down)
	}
}

// sameBucket returns a room id other than room in room's bucket.
func sameBucket(t *testing.T, room string) string {
	t.Helper()
	for i := range 100 * shardBuckets {
		if id := fmt.Sprint("other-", i); bucketOf(id) == bucketOf(room) {
			return id
		}
	}
	t.Fatalf("no other room id in the bucket of %s", room)
	return ""
}

// A bucket's slot moves to another master (resharding): the old master
// ends the node's subscriptions of the bucket's channels
// ("sunsubscribe"); the broker tells each of the bucket's rooms of the
// interruption, subscribes the bucket again on the new master, and
// delivery resumes there in every room of it, with the counters that
// moved with the slot.
func TestClusterSlotMoveResubscribes(t *testing.T) {
	c := redistest.StartCluster(t)
	first := roomsOnEachMaster(t, c)[0]
	rooms := []string{first, sameBucket(t, first)}
	cfg := RedisConfig{URL: c.URL(), Cluster: true}
	a, _ := redisNodeCfg(t, cfg)
	b, sb := redisNodeCfg(t, cfg)
	rs := watchResyncs(b)
	ctx := ctxT(t)
	epochs := map[string]string{}
	for _, room := range rooms {
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatal(err)
		}
		publishN(t, room, 3, a)
		sb.waitFor(t, room, 3)
		epochs[room], _ = epochOf(t, a, room)
	}

	c.MoveSlotOf(t, clusterSeqKey(first), 2)
	rdb := redis.NewClient(&redis.Options{Addr: c.Master(2).Addr()})
	defer rdb.Close()
	for _, room := range rooms {
		publishUntil(t, a, room, func() bool {
			got := sb.get(room)
			return len(got) > 4 && got[len(got)-1] != nil
		})
		after := checkFrames(t, room, sb.get(room), true)
		if e, _ := epochOf(t, a, room); e != epochs[room] || after[0] <= 3 {
			t.Errorf("room %s after the move: epoch %s (was %s), first seq %d; want the same counter going on", room, e, epochs[room], after[0])
		}
		if rs.get(room) == 0 {
			t.Errorf("room %s: the resubscribe handler was not called", room)
		}
		ch := b.channel(room)
		if n, err := rdb.PubSubShardNumSub(ctx, ch).Result(); err != nil || n[ch] != 1 {
			t.Errorf("PUBSUB SHARDNUMSUB %s on the new master = %v, %v; want 1", ch, n, err)
		}
	}
}

// pubsubConns counts the pub/sub connections (CLIENT LIST TYPE pubsub) on
// every master of c.
func pubsubConns(t *testing.T, c *redistest.Cluster) int {
	t.Helper()
	ctx := ctxT(t)
	n := 0
	for _, addr := range c.Addrs() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
		_ = rdb.Close()
		if err != nil {
			t.Fatalf("CLIENT LIST on %s: %v", addr, err)
		}
		n += strings.Count(list, "\n")
	}
	return n
}

// Regression (cluster): each subscribed room and personal channel had a
// Redis connection of its own, so a node with 10,000 people connected
// held about 11,000 connections against the masters' maxclients. Now the
// channels of a bucket share one connection: 300 personal channels and
// 50 rooms subscribed on one node take one connection per bucket they
// fall into (at most shardBuckets), every one of them still gets its
// events, and the connections go when the channels do.
func TestClusterSubscriptionConnectionsAreBounded(t *testing.T) {
	c := redistest.StartCluster(t)
	cfg := RedisConfig{URL: c.URL(), Cluster: true}
	a, _ := redisNodeCfg(t, cfg)
	b, sb := redisNodeCfg(t, cfg)
	ctx := ctxT(t)
	var rooms []string
	for i := range 300 {
		rooms = append(rooms, fmt.Sprint("_u", i))
	}
	for i := range 50 {
		rooms = append(rooms, fmt.Sprint("room-", i))
	}
	buckets := map[int]bool{}
	for _, room := range rooms {
		if err := b.Subscribe(ctx, room); err != nil {
			t.Fatalf("Subscribe %s: %v", room, err)
		}
		buckets[bucketOf(room)] = true
	}
	if n := pubsubConns(t, c); n != len(buckets) || n > shardBuckets {
		t.Fatalf("%d channels subscribed on one node hold %d pub/sub connections; want one per bucket used (%d, of %d)",
			len(rooms), n, len(buckets), shardBuckets)
	}
	for _, room := range rooms {
		publishN(t, room, 1, a)
	}
	for _, room := range rooms {
		checkFrames(t, room, sb.waitFor(t, room, 1), false)
	}
	for _, room := range rooms {
		if err := b.Unsubscribe(ctx, room); err != nil {
			t.Fatalf("Unsubscribe %s: %v", room, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for n := pubsubConns(t, c); n != 0; n = pubsubConns(t, c) {
		if time.Now().After(deadline) {
			t.Fatalf("%d pub/sub connections left 30 s after every channel was unsubscribed; want none", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
