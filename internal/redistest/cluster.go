package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a private Redis Cluster of three masters without replicas
// (cluster_state:ok, every slot covered), each a Server on loopback in its
// own temp dir, without persistence. Masters are stopped and restarted one
// at a time through Master(i).Stop and Master(i).Restart: a master
// restarted keeps its node id and its slots (nodes.conf, in its dir) but
// comes back empty, as a master of a cluster run without persistence
// would.
type Cluster struct {
	t       testing.TB
	masters []*Server
}

// clusterSize is how many masters StartCluster starts: the fewest that
// redis-cli --cluster create accepts.
const clusterSize = 3

// minShardedVersion is the first Redis with sharded pub/sub
// (SSUBSCRIBE/SPUBLISH).
const minShardedVersion = 7

// StartCluster starts three cluster-enabled redis-servers on free loopback
// ports (each with a cluster bus port of its own, also free), joins them
// with redis-cli --cluster create (no replicas), waits until every node
// says cluster_state:ok, and stops them when the test ends. Like Start, it
// skips the test when redis-server or redis-cli is missing, or is older
// than Redis 7 (no sharded pub/sub), unless HEARTH_REQUIRE_REDIS=1.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := lookRedis(t, "redis-server")
	cli := lookRedis(t, "redis-cli")
	if v := serverMajor(bin); v < minShardedVersion {
		unavailable(t, fmt.Sprintf("redis-server is version %d; a Redis Cluster test needs %d or later (sharded pub/sub)", v, minShardedVersion))
	}
	c := &Cluster{t: t}
	for range clusterSize {
		c.masters = append(c.masters, startClusterNode(t, bin))
	}
	args := []string{"--cluster", "create"}
	for _, m := range c.masters {
		args = append(args, m.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, lastLines(string(out), 5))
	}
	c.WaitOK(t)
	return c
}

// lookRedis returns the path of the Redis program name, or skips (fails
// with HEARTH_REQUIRE_REDIS=1) the test when it is not installed.
func lookRedis(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name+" is not installed: run ./scripts/test.sh (it installs Redis on Debian as root) or install Redis")
	}
	return bin
}

// unavailable skips the test with msg, or fails it when
// HEARTH_REQUIRE_REDIS=1.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("HEARTH_REQUIRE_REDIS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var versionRE = regexp.MustCompile(`v=(\d+)\.`)

// serverMajor is the major version redis-server --version reports (0 when
// it cannot be read).
func serverMajor(bin string) int {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 0
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// startClusterNode starts one cluster-enabled redis-server without
// persistence: its port and its cluster bus port (explicit, as port+10000
// may be out of range) are free loopback ports, kept across Restart.
func startClusterNode(t testing.TB, bin string) *Server {
	t.Helper()
	var lastErr error
	for range 5 {
		s := &Server{t: t, dir: t.TempDir(), port: freePort(t)}
		s.args = []string{"--bind", "127.0.0.1", "--dir", s.dir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(s.dir, "redis.log"),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(freePort(t))}
		if lastErr = s.start(bin); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: could not start a cluster node: %v", lastErr)
	return nil
}

// Master returns master i (0, 1 or 2), to stop or restart it.
func (c *Cluster) Master(i int) *Server { return c.masters[i] }

// Addrs returns the masters' "127.0.0.1:<port>" addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.masters))
	for i, m := range c.masters {
		out[i] = m.Addr()
	}
	return out
}

// URL returns the cluster's seed nodes in the form the configuration
// gives a cluster's URL after reading redis+cluster://:
// "redis://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>".
func (c *Cluster) URL() string { return "redis://" + strings.Join(c.Addrs(), ",") }

// WaitOK waits (generously: 60 s) until every master answers and reports
// cluster_state:ok — after StartCluster, and after a master's Restart.
func (c *Cluster) WaitOK(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		bad := ""
		for _, m := range c.masters {
			if info := clusterInfo(m.Addr()); !strings.Contains(info, "cluster_state:ok") {
				bad = m.Addr()
				break
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: cluster node %s not in cluster_state:ok within 60 s", bad)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clusterInfo is CLUSTER INFO of the node at addr ("" when it does not
// answer).
func clusterInfo(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("CLUSTER INFO\r\n")); err != nil {
		return ""
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return ""
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return ""
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return ""
	}
	return string(buf)
}

// MasterOf returns the index of the master that serves key's hash slot
// (hash tags honoured), asking the cluster itself (CLUSTER KEYSLOT,
// CLUSTER SLOTS), so a test can place rooms on chosen masters.
func (c *Cluster) MasterOf(t testing.TB, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: c.masters[0].Addr()})
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER KEYSLOT %s: %v", key, err)
	}
	ranges, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER SLOTS: %v", err)
	}
	for _, r := range ranges {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			for i, m := range c.masters {
				if r.Nodes[0].Addr == m.Addr() {
					return i
				}
			}
		}
	}
	t.Fatalf("redistest: no master serves slot %d of %s", slot, key)
	return -1
}

// Contents is Server.Contents of every master, concatenated.
func (c *Cluster) Contents(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, m := range c.masters {
		b.WriteString(m.Contents(t))
	}
	return b.String()
}

// MoveSlotOf moves the hash slot of key, with its keys, to master to, as
// a resharding does (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, then
// CLUSTER SETSLOT NODE on every master), and waits until every master
// says the slot is served by to. The old master then ends its clients'
// sharded subscriptions of channels in that slot (Redis sends them
// "sunsubscribe").
func (c *Cluster) MoveSlotOf(t testing.TB, key string, to int) {
	t.Helper()
	from := c.MasterOf(t, key)
	if from == to {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*redis.Client, len(c.masters))
	ids := make([]string, len(c.masters))
	for i, m := range c.masters {
		clients[i] = redis.NewClient(&redis.Options{Addr: m.Addr()})
		defer clients[i].Close()
		id, err := clients[i].ClusterMyID(ctx).Result()
		if err != nil {
			t.Fatalf("redistest: CLUSTER MYID of %s: %v", m.Addr(), err)
		}
		ids[i] = id
	}
	src, dst := clients[from], clients[to]
	slot, err := src.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("redistest: moving slot %d: %s: %v", slot, what, err)
		}
	}
	must("importing", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[from]).Err())
	must("migrating", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[to]).Err())
	host, port, _ := net.SplitHostPort(c.masters[to].Addr())
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		must("keys", err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must("migrate", src.Do(ctx, args...).Err())
	}
	order := []int{to, from} // the new owner first, as the cluster specification advises
	for i := range c.masters {
		if i != to && i != from {
			order = append(order, i)
		}
	}
	for _, i := range order {
		must("node", clients[i].Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[to]).Err())
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range c.masters {
		for slotOwner(m.Addr(), slot) != c.masters[to].Addr() {
			if time.Now().After(deadline) {
				t.Fatalf("redistest: %s does not see slot %d on %s within 30 s", m.Addr(), slot, c.masters[to].Addr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// slotOwner is the address of the master that the node at addr says
// serves slot ("" when it does not know or answer).
func slotOwner(addr string, slot int64) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ranges, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return ""
	}
	for _, r := range ranges {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			return r.Nodes[0].Addr
		}
	}
	return ""
}
