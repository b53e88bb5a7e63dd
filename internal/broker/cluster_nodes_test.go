package broker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hearth/internal/broker"
	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// person is one person in a room, connected the way a careful client is:
// it reads every event, and when the server closes the connection with a
// reconnect code it connects again and joins with resume_from (the epoch
// of its joined reply and the highest seq it saw). It checks what a person
// would notice: within one epoch every seq comes once and in order; it
// counts the messages it got, the resumes, and those answered gap.
type person struct {
	t                     *testing.T
	name, user, role, url string
	room                  string
	p                     *hubtest.Peer

	epoch   string
	point   uint64          // resume point: the highest seq seen (joined.seq counted once its replay is in)
	lastSeq uint64          // the highest seq received in epoch
	joinSeq uint64          // joined.seq, counted into point once the replayed events have come
	replay  int             // replayed events still to come
	seen    map[string]bool // "epoch/seq" received
	texts   map[string]int  // message text -> times received
	gaps    int             // resumes answered gap
	resumes int             // resuming joins answered joined
	closes  int             // connections the server closed
}

func join(t *testing.T, url, user, role, room, name string) *person {
	t.Helper()
	m := &person{t: t, name: name, user: user, role: role, url: url, room: room, seen: map[string]bool{}, texts: map[string]int{}}
	m.connect(false)
	return m
}

func sub(e hubtest.Event, k string) map[string]any { m, _ := e[k].(map[string]any); return m }

// connect dials and joins (resuming when resume), retrying while the
// broker is unavailable, for up to 30 s.
func (m *person) connect(resume bool) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m.p = hubtest.Dial(m.t, m.url, hubtest.Token(m.t, m.user, m.role))
		j := hubtest.Event{"type": "join", "room": m.room, "display_name": m.name}
		if resume {
			j["resume_from"] = map[string]any{"epoch": m.epoch, "seq": m.point}
		}
		r, ok := m.p.TryRequest(j, 15*time.Second)
		if ok && r.Str("code") == "agreement_required" {
			j["agree"] = sub(r, "guidelines")["version"]
			r, ok = m.p.TryRequest(j, 15*time.Second)
		}
		if ok && r.Str("type") == "joined" {
			m.joined(r, resume)
			return
		}
		if ok && r.Str("code") != string(protocol.CodeUnavailable) {
			m.t.Fatalf("%s: join = %v", m.name, r)
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: could not join within 30 s (last answer %v)", m.name, r)
		}
		_ = m.p.WS.CloseNow()
		time.Sleep(200 * time.Millisecond)
	}
}

func (m *person) joined(r hubtest.Event, resume bool) {
	m.t.Helper()
	epoch := r.Str("epoch")
	if epoch == "" {
		m.t.Fatalf("%s: joined without epoch: %v", m.name, r)
	}
	m.replay = 0
	if resume {
		res := sub(r, "resume")
		if res == nil {
			m.t.Fatalf("%s: resuming join answered without resume: %v", m.name, r)
		}
		m.resumes++
		gap, _ := res["gap"].(bool)
		if epoch != m.epoch && !gap {
			m.t.Fatalf("%s: resumed from epoch %s into epoch %s without gap: an empty \"all recovered\"", m.name, m.epoch, epoch)
		}
		if gap {
			m.gaps++
		}
		n, _ := res["replayed"].(float64)
		m.replay = int(n)
	}
	if epoch != m.epoch {
		m.epoch, m.point, m.lastSeq = epoch, 0, 0
	}
	m.joinSeq = uint64(r.Num("seq"))
	if m.replay == 0 {
		m.point = max(m.point, m.joinSeq)
	}
}

// take checks and counts one event.
func (m *person) take(e hubtest.Event) {
	m.t.Helper()
	if seq := uint64(e.Num("seq")); seq > 0 && e.Str("id") == "" {
		key := fmt.Sprintf("%s/%d", m.epoch, seq)
		if m.seen[key] {
			m.t.Fatalf("%s: seq %s given twice", m.name, key)
		}
		if seq <= m.lastSeq {
			m.t.Fatalf("%s: seq %d after %d in epoch %s", m.name, seq, m.lastSeq, m.epoch)
		}
		m.seen[key], m.lastSeq, m.point = true, seq, max(m.point, seq)
		if m.replay > 0 {
			if m.replay--; m.replay == 0 {
				m.point = max(m.point, m.joinSeq)
			}
		}
	}
	if e.Str("type") == protocol.TypeMessage {
		m.texts[e.Str("text")]++
	}
}

// drain takes every event that arrives within quiet of the previous one,
// following the server's closes (a reconnect code, or the test fails).
func (m *person) drain(quiet time.Duration) {
	m.t.Helper()
	for {
		if e, ok := m.p.Poll(quiet); ok {
			m.take(e)
			continue
		}
		select {
		case <-m.p.Done():
			if code := m.p.CloseStatus(); !protocol.CloseCode(code).Reconnect() {
				m.t.Fatalf("%s: connection closed with %d, not a reconnect code", m.name, code)
			}
			m.closes++
			m.connect(true)
		default:
			return
		}
	}
}

// sendUntilOK sends text until it is accepted (a master may be away for a
// moment, the connection closed under it), for up to 30 s.
func (m *person) sendUntilOK(text string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, ok := m.p.TryRequest(hubtest.Event{"type": "send", "room": m.room, "text": text}, 15*time.Second)
		m.drain(0)
		if ok && r.Str("type") == "ok" {
			return
		}
		if ok && r.Str("code") != string(protocol.CodeUnavailable) {
			m.t.Fatalf("%s: send = %v", m.name, r)
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: no send accepted within 30 s (last answer %v)", m.name, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// await drains until text has arrived, for up to 30 s.
func (m *person) await(text string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for m.texts[text] == 0 {
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: %q did not arrive within 30 s", m.name, text)
		}
		m.drain(50 * time.Millisecond)
	}
}

// Two Hearth nodes on a three-master Redis Cluster, with a room served by
// each master (asserted: each room's sharded channel has both nodes'
// subscriptions on its own master), a facilitator on one node and a member
// on the other in each. Messages cross the nodes in every room; a member
// who drops and comes back on the other node gets what they missed from
// the session buffer, in order, without a gap. Then one master restarts
// empty: its room's people are asked to resume, told gap (the room's
// counter is gone), and never get a seq twice; the rooms of the two other
// masters carry on — every message once, no gap (someone whose personal
// channel was on that master resumes without one) — and messages cross
// the nodes again everywhere. When the sessions end, no message text is
// left on any master.
func TestClusterTwoNodes(t *testing.T) {
	c := redistest.StartCluster(t)
	store := redistest.Start(t, "--appendonly", "yes")
	o := hubtest.Options{RedisURL: c.URL(), RedisCluster: true, StoreURL: store.URL(), Unlimited: true}
	n1 := hubtest.StartNode(t, o)
	n2 := hubtest.StartNode(t, o)

	// A room on each master.
	var rooms [3]string
	for i, found := 0, 0; found < 3; i++ {
		if i > 1000 {
			t.Fatal("no room id found for every master")
		}
		id := fmt.Sprint("group-", i)
		if m := c.MasterOf(t, "hearth:"+broker.ClusterTag(id)+":seq"); rooms[m] == "" {
			rooms[m] = id
			found++
		}
	}
	type pair struct{ fac, mem *person }
	var people [3]pair
	for i, id := range rooms {
		fac, mem := fmt.Sprint("fac", i), fmt.Sprint("ana", i)
		n1.OpenRoom(t, id, fac, mem)
		people[i] = pair{
			join(t, n1.URL, fac, protocol.RoleFacilitator, id, fmt.Sprint("Dr. Lee ", i)),
			join(t, n2.URL, mem, protocol.RoleMember, id, fmt.Sprint("Ana ", i)),
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, id := range rooms {
		ch := broker.ChannelPrefix + broker.ClusterTag(id)
		for j := range 3 {
			rdb := redis.NewClient(&redis.Options{Addr: c.Master(j).Addr()})
			n, err := rdb.PubSubShardNumSub(ctx, ch).Result()
			_ = rdb.Close()
			want := int64(0)
			if j == i {
				want = 2 // one subscription per node, on the room's own master
			}
			if err != nil || n[ch] != want {
				t.Fatalf("PUBSUB SHARDNUMSUB %s on master %d = %v, %v; want %d", ch, j, n, err, want)
			}
		}
	}

	var accepted [3][]string
	send := func(i int, m *person, text string) {
		m.sendUntilOK(text)
		accepted[i] = append(accepted[i], text)
	}
	for i, pr := range people {
		for k := range 2 {
			send(i, pr.fac, fmt.Sprintf("before %d from node 1 in %s", k, rooms[i]))
			send(i, pr.mem, fmt.Sprintf("before %d from node 2 in %s", k, rooms[i]))
		}
		for _, text := range accepted[i] {
			pr.fac.await(text)
			pr.mem.await(text)
		}
	}

	// A member drops and comes back on the other node: the session buffer
	// (in the room's slot) gives back what they missed, without a gap.
	{
		pr := people[0]
		_ = pr.mem.p.WS.Close(4000, "")
		<-pr.mem.p.Done()
		for k := range 3 {
			send(0, pr.fac, fmt.Sprintf("while away %d in %s", k, rooms[0]))
		}
		pr.mem.url = n1.URL
		pr.mem.connect(true)
		for k := range 3 {
			pr.mem.await(fmt.Sprintf("while away %d in %s", k, rooms[0]))
		}
		if pr.mem.gaps != 0 {
			t.Fatalf("a resume on the other node, with the buffer intact, was answered gap")
		}
	}

	// The master of the second room restarts empty.
	down := 1
	c.Master(down).Restart()
	c.WaitOK(t)
	for k := range 3 {
		for i, pr := range people {
			send(i, pr.fac, fmt.Sprintf("after %d from node 1 in %s", k, rooms[i]))
			send(i, pr.mem, fmt.Sprintf("after %d from the member in %s", k, rooms[i]))
		}
	}
	// Everyone of the restarted room is asked to resume (the nodes
	// resubscribe on their own schedule); then a last message from each
	// node reaches everyone in every room.
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range []*person{people[down].fac, people[down].mem} {
		for m.resumes == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not asked to resume within 30 s of the master coming back", m.name)
			}
			m.drain(50 * time.Millisecond)
		}
	}
	for i, pr := range people {
		send(i, pr.fac, "last from node 1 in "+rooms[i])
		send(i, pr.mem, "last from the other node in "+rooms[i])
		for _, m := range []*person{pr.fac, pr.mem} {
			m.await("last from node 1 in " + rooms[i])
			m.await("last from the other node in " + rooms[i])
		}
	}

	// The sessions end: no message text is left on any master.
	if !strings.Contains(c.Contents(t), accepted[0][0]) {
		t.Fatal("the session buffer does not hold the first message before the end: the reading misses it")
	}
	for i, pr := range people {
		if r := pr.fac.p.Request(hubtest.Event{"type": "end_session", "room": rooms[i], "force": true}); r.Str("type") != "ok" {
			t.Fatalf("end_session in %s = %v", rooms[i], r)
		}
	}
	dump := c.Contents(t)
	for i := range people {
		for _, text := range accepted[i] {
			if strings.Contains(dump, text) {
				t.Errorf("the cluster still holds %q after the session ended", text)
			}
		}
	}

	for i, pr := range people {
		for _, m := range []*person{pr.fac, pr.mem} {
			t.Logf("%s (room %s, master %d): %d closes, %d resumes, %d answered gap", m.name, rooms[i], i, m.closes, m.resumes, m.gaps)
			if i == down && m.gaps == 0 {
				t.Errorf("%s: no resume answered gap, though the room's master restarted empty", m.name)
			}
			// A person whose personal channel (hearth:room:{b<k>}{_u<hash>})
			// is on the restarted master is asked to resume too, wherever
			// their rooms are; their rooms' counters survived, so no gap.
			if i != down && m.gaps != 0 {
				t.Errorf("%s: %d resumes answered gap in a room whose master stayed up; want none", m.name, m.gaps)
			}
			for _, text := range accepted[i] {
				switch n := m.texts[text]; {
				case n > 1:
					t.Errorf("%s received %q %d times", m.name, text, n)
				case n == 0 && (i != down || m.gaps == 0):
					t.Errorf("%s never received %q (told of %d gaps)", m.name, text, m.gaps)
				}
			}
		}
	}
}
