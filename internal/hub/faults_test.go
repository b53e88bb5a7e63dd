package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// tracked is one person in a room, connected the way a careful client is:
// it reads every event, and when the server closes the connection with a
// reconnect code it connects again to its node and joins with resume_from
// (the epoch of its joined reply and the highest seq it saw). Along the way
// it checks what a person would notice: within one epoch every seq comes
// once and in order (a seq reused for a different event, or repeated, fails
// the test), and it counts the messages it got and the resumes answered
// gap.
type tracked struct {
	t               *testing.T
	name, user, url string
	role            string
	room            string
	p               *hubtest.Peer

	epoch   string            // of the latest joined reply
	point   uint64            // resume point: the highest seq seen (joined.seq counted once its replay is in)
	lastSeq uint64            // the highest seq of an event received in epoch
	joinSeq uint64            // joined.seq, counted into point once replay events have come
	replay  int               // replayed events still to come
	seen    map[string]string // "epoch/seq" -> the event's type and id, to catch a seq given twice
	texts   map[string]int    // message text -> times received
	gaps    int               // resumes answered gap
	resumes int               // resuming joins answered joined
	closes  []websocket.StatusCode

	memberID string // from joined
}

// track connects user to node url and joins room as name.
func track(t *testing.T, url, user, role, room, name string) *tracked {
	t.Helper()
	m := &tracked{t: t, name: name, user: user, url: url, role: role, room: room,
		seen: map[string]string{}, texts: map[string]int{}}
	m.connect(false)
	return m
}

// connect dials and joins (resuming when resume), retrying while the
// broker is unavailable, for up to 30 s.
func (m *tracked) connect(resume bool) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m.p = hubtest.Dial(m.t, m.url, hubtest.Token(m.t, m.user, m.role))
		join := hubtest.Event{"type": "join", "room": m.room, "display_name": m.name}
		if resume {
			join["resume_from"] = map[string]any{"epoch": m.epoch, "seq": m.point}
		}
		r, ok := m.p.TryRequest(join, 15*time.Second)
		if ok && r.Str("code") == "agreement_required" {
			join["agree"] = member(r, "guidelines")["version"]
			r, ok = m.p.TryRequest(join, 15*time.Second)
		}
		if ok && r.Str("type") == "joined" {
			m.joined(r, resume)
			return
		}
		if ok && r.Str("code") != string(protocol.CodeUnavailable) {
			m.t.Fatalf("%s: join = %v", m.name, r)
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: could not join again within 30 s (last answer %v)", m.name, r)
		}
		_ = m.p.WS.CloseNow()
		time.Sleep(200 * time.Millisecond)
	}
}

// joined takes a joined reply.
func (m *tracked) joined(r hubtest.Event, resume bool) {
	m.t.Helper()
	epoch := r.Str("epoch")
	if epoch == "" {
		m.t.Fatalf("%s: joined without epoch: %v", m.name, r)
	}
	if resume {
		res := member(r, "resume")
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
	} else {
		m.replay = 0
	}
	if epoch != m.epoch {
		m.epoch, m.point, m.lastSeq = epoch, 0, 0
	}
	m.memberID, _ = member(r, "you")["member_id"].(string)
	m.joinSeq = uint64(r.Num("seq"))
	if m.replay == 0 {
		m.point = max(m.point, m.joinSeq)
	}
}

// take checks and counts one event.
func (m *tracked) take(e hubtest.Event) {
	m.t.Helper()
	if seq := uint64(e.Num("seq")); seq > 0 && e.Str("id") == "" {
		key := fmt.Sprintf("%s/%d", m.epoch, seq)
		what := e.Str("type") + " " + e.Str("message_id")
		if prev, ok := m.seen[key]; ok {
			m.t.Fatalf("%s: seq %s given twice: first %q, now %q", m.name, key, prev, what)
		}
		if seq <= m.lastSeq {
			m.t.Fatalf("%s: seq %d after %d in epoch %s", m.name, seq, m.lastSeq, m.epoch)
		}
		m.seen[key], m.lastSeq, m.point = what, seq, max(m.point, seq)
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

// ended handles the end of the connection: a reconnect code (the node asks
// its clients to resume) is followed at once, anything else fails the test.
func (m *tracked) ended() {
	m.t.Helper()
	code := m.p.CloseStatus()
	m.closes = append(m.closes, code)
	if !protocol.CloseCode(code).Reconnect() {
		m.t.Fatalf("%s: connection closed with %d, which is not a reconnect code", m.name, code)
	}
	m.connect(true)
}

// drain takes every event that arrives within quiet of the previous one,
// following closes, and returns.
func (m *tracked) drain(quiet time.Duration) {
	m.t.Helper()
	for {
		e, ok := m.p.Poll(quiet)
		if ok {
			m.take(e)
			continue
		}
		select {
		case <-m.p.Done():
			m.ended()
		default:
			return
		}
	}
}

// send sends a message and returns the reply: ok, an error, or nil when the
// connection ended first (it is then resumed).
func (m *tracked) send(text string) hubtest.Event {
	m.t.Helper()
	r, ok := m.p.TryRequest(hubtest.Event{"type": "send", "room": m.room, "text": text}, 15*time.Second)
	m.drain(0) // what arrived while waiting, and a close
	if !ok {
		return nil
	}
	return r
}

// sendUntilOK sends text until it is accepted (the broker may be away for a
// moment, the connection closed under it), for up to 30 s.
func (m *tracked) sendUntilOK(text string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := m.send(text)
		if r.Str("type") == "ok" {
			return
		}
		if r != nil && r.Str("code") != string(protocol.CodeUnavailable) {
			m.t.Fatalf("%s: send = %v", m.name, r)
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: no send accepted within 30 s (last answer %v)", m.name, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// await drains until the message with text has arrived, for up to 30 s.
func (m *tracked) await(text string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for m.texts[text] == 0 {
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: %q did not arrive within 30 s", m.name, text)
		}
		m.drain(50 * time.Millisecond)
	}
}

// until drains until an event matching match arrives (taking the others),
// for up to 30 s, and returns it.
func (m *tracked) until(match func(hubtest.Event) bool) hubtest.Event {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, ok := m.p.Poll(50 * time.Millisecond)
		if ok {
			m.take(e)
			if match(e) {
				return e
			}
			continue
		}
		select {
		case <-m.p.Done():
			m.ended()
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: the event awaited did not arrive within 30 s", m.name)
		}
	}
}

// Redis, stopped for five seconds and started again empty (no persistence,
// as the broker's Redis is run), under a live session with people on both
// nodes. Nothing crashes or hangs; a send during the outage is refused with
// unavailable (never a false ok); the nodes resubscribe and ask their
// clients to resume (close 1012), and every resume is answered gap — the
// room's counter is gone, so its new epoch is said, never an empty "all
// recovered" — while no seq of an epoch is ever given to two events; every
// message accepted is received by everyone exactly once or falls in a gap
// they were told of, and messages cross the nodes again. Canaries in a
// message (also one refused during the outage), a DM and a display name
// reach no log, and no message or DM text is left in either Redis — keys
// or files — after the session.
func TestRedisRestartLeavesNoSilentHole(t *testing.T) {
	c := newCanaries()
	log, logs := captureLogs()
	rds := redistest.Start(t)                          // the broker's: restarted below, empty
	store := redistest.Start(t, "--appendonly", "yes") // the rooms': durable, stays up
	o := hubtest.Options{RedisURL: rds.URL(), StoreURL: store.URL(), Unlimited: true}
	o.Logger = log.With("node", 1)
	n1 := hubtest.StartNode(t, o)
	o.Logger = log.With("node", 2)
	n2 := hubtest.StartNode(t, o)
	const id = "r"
	n1.OpenRoom(t, id, "fac", "ana", "ben")
	fac := track(t, n1.URL, "fac", protocol.RoleFacilitator, id, "Dr. Lee")
	ana := track(t, n2.URL, "ana", protocol.RoleMember, id, "Ana")
	ben := track(t, n2.URL, "ben", protocol.RoleMember, id, c.name)
	all := []*tracked{fac, ana, ben}
	senders := []*tracked{fac, ana} // one on each node
	var accepted []string           // texts answered ok
	sendOK := func(m *tracked, text string) {
		m.sendUntilOK(text)
		accepted = append(accepted, text)
	}

	for i := range 3 {
		for _, s := range senders {
			sendOK(s, fmt.Sprintf("before %d from %s", i, s.name))
		}
	}
	sendOK(ana, "I want to say "+c.msg)
	for _, m := range all {
		m.await("I want to say " + c.msg)
	}
	req(t, fac.p, hubtest.Event{"type": "dm", "room": id, "member_id": ana.memberID, "text": "Just for you: " + c.dm})
	if dm := ana.until(ofType("dm")); !strings.Contains(dm.Str("text"), c.dm) {
		t.Fatalf("dm = %v", dm)
	}

	rds.Stop()
	down := time.Now()
	for _, s := range senders {
		// While Redis is away: refused, never a false ok; the node keeps
		// answering.
		r := s.send("during the outage from " + s.name + " " + c.msg)
		if r == nil || r.Str("type") != "error" || r.Str("code") != string(protocol.CodeUnavailable) {
			t.Fatalf("%s: send during the outage = %v, want error unavailable", s.name, r)
		}
		if r := s.p.Request(hubtest.Event{"type": "ping"}); r.Str("type") != "pong" {
			t.Fatalf("%s: ping during the outage = %v", s.name, r)
		}
	}
	time.Sleep(time.Until(down.Add(5 * time.Second)))
	rds.Restart()

	// Both nodes send five messages each, following the closes. Those
	// accepted after Redis came back but before a node resubscribed reach
	// nobody live there (and nothing buffers them until the node resyncs
	// the room and turns its buffer back on) — allowed only because every
	// member of that node is told gap when it resumes.
	for i := range 5 {
		for _, s := range senders {
			text := fmt.Sprintf("after %d from %s", i, s.name)
			if i == 2 {
				text += " " + c.msg
			}
			sendOK(s, text)
		}
		for _, m := range all {
			m.drain(0)
		}
	}
	// Every node resubscribes and asks its clients to resume; once all have,
	// a last message from each node reaches everyone.
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range all {
		for m.resumes == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not asked to resume within 30 s of Redis coming back", m.name)
			}
			m.drain(50 * time.Millisecond)
		}
	}
	for _, s := range senders {
		sendOK(s, "last from "+s.name)
	}
	for _, m := range all {
		for _, s := range senders {
			m.await("last from " + s.name)
		}
	}

	for _, m := range all {
		t.Logf("%s: closes %v, %d resumes, %d answered gap, epoch now %s", m.name, m.closes, m.resumes, m.gaps, m.epoch)
		if m.resumes == 0 || m.gaps == 0 {
			t.Errorf("%s: %d resumes, %d answered gap (closes %v); want the node to ask for a resume and the resume to say gap (Redis lost the room's counter)",
				m.name, m.resumes, m.gaps, m.closes)
		}
		for _, text := range accepted {
			before := !strings.HasPrefix(text, "after") && !strings.HasPrefix(text, "last")
			switch n := m.texts[text]; {
			case n > 1:
				t.Errorf("%s received %q %d times", m.name, text, n)
			case n == 0 && (before || m.gaps == 0):
				t.Errorf("%s never received %q (told of %d gaps)", m.name, text, m.gaps)
			}
		}
		for text := range m.texts {
			if strings.HasPrefix(text, "during the outage") {
				t.Errorf("%s received %q, which was refused", m.name, text)
			}
		}
	}
	// Subscriptions are back on both nodes: the room's channel has two
	// subscribers on the restarted server, and so do the personal channels
	// (one per connected user).
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	if n, err := rdb.PubSubNumSub(ctx, "hearth:room:"+id).Result(); err != nil || n["hearth:room:"+id] != 2 {
		t.Errorf("PUBSUB NUMSUB of the room = %v, %v; want 2 (both nodes)", n, err)
	}
	chans, err := rdb.PubSubChannels(ctx, "hearth:room:*").Result()
	if err != nil || !slices.Contains(chans, "hearth:room:"+id) || len(chans) < 1+len(all) {
		t.Errorf("PUBSUB CHANNELS = %v, %v; want the room and a personal channel per person", chans, err)
	}

	req(t, fac.p, hubtest.Event{"type": "end_session", "room": id, "force": true})
	for _, m := range all {
		m.until(ofType("session_ended"))
	}
	n1.Stop()
	n2.Stop()
	assertLogsClean(t, logs(), c)
	for name, s := range map[string]*redistest.Server{"the broker's Redis": rds, "the store's Redis": store} {
		assertNoCanary(t, name, s.Contents(t), c.msg, c.dm)
		assertNoCanary(t, "the files of "+name, filesUnder(t, s.Dir()), c.msg, c.dm)
	}
	if !strings.Contains(filesUnder(t, store.Dir()), "Test group "+id) {
		t.Fatal("the store's append-only file does not hold the room: the file check reads the wrong place")
	}
}

// filesUnder returns the contents of every regular file under dir, each
// after its path, for a canary check of what reached the disk.
func filesUnder(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "== %s\n%s\n", path, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// Regression (issue 9, subscribe race): a member joining on a node where
// nobody else is in the room — so the node must subscribe — gets a message
// published on the other node right after their joined reply, every time:
// joined is sent only once Redis has confirmed the node's subscription.
// Each round also races a message from the other node against the join
// itself: after joined, the room's seqs reach the joiner without a hole.
func TestJoinOnAFreshNodeGetsTheNextMessage(t *testing.T) {
	rds := redistest.Start(t)
	o := hubtest.Options{RedisURL: rds.URL(), Unlimited: true}
	n1, n2 := hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	const id = "r"
	n1.OpenRoom(t, id, "fac", "ana")
	fac := hubtest.Dial(t, n1.URL, hubtest.Token(t, "fac", protocol.RoleFacilitator))
	fac.Join(id, "Dr. Lee")
	ana := hubtest.Dial(t, n2.URL, hubtest.Token(t, "ana", protocol.RoleMember))
	ana.Join(id, "Ana") // accepts the group agreement once
	req(t, ana, hubtest.Event{"type": "leave", "room": id})
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	for i := range 200 {
		// The premise: only node 1 is subscribed before the join.
		if n, err := rdb.PubSubNumSub(ctx, "hearth:room:"+id).Result(); err != nil || n["hearth:room:"+id] != 1 {
			t.Fatalf("round %d: PUBSUB NUMSUB = %v, %v; want 1 (node 2 left the room)", i, n, err)
		}
		jid := fmt.Sprint("j", i)
		ana.Send(hubtest.Event{"type": "join", "id": jid, "room": id, "display_name": "Ana"})
		fac.Send(hubtest.Event{"type": "send", "room": id, "text": fmt.Sprint("during the join ", i)})
		j := ana.Until(func(e hubtest.Event) bool { return e.Str("id") == jid })
		if j.Str("type") != "joined" {
			t.Fatalf("round %d: join = %v", i, j)
		}
		text := fmt.Sprint("right after joined ", i)
		fac.Send(hubtest.Event{"type": "send", "room": id, "text": text})
		next := uint64(j.Num("seq")) + 1
		for {
			e := ana.Next()
			seq := uint64(e.Num("seq"))
			if seq > uint64(j.Num("seq")) {
				if seq != next {
					t.Fatalf("round %d: after joined (seq %v) got seq %d, want %d: a hole", i, j.Num("seq"), seq, next)
				}
				next++
			}
			if e.Str("type") == protocol.TypeMessage && e.Str("text") == text {
				break
			}
		}
		req(t, ana, hubtest.Event{"type": "leave", "room": id})
	}
}

// Regression (issue 9, confidentiality under faults): a connection that
// signed in while Redis was away lived on without its personal channel, so
// a facilitator on it never heard of a crisis alert, with nothing to show
// it. Now it is closed with 1012 right after welcome, and the client
// retries until the channel can be had.
func TestSignInWithoutPersonalChannelIsClosed(t *testing.T) {
	rds := redistest.Start(t)
	n := hubtest.StartNode(t, hubtest.Options{RedisURL: rds.URL()})
	rds.Stop()
	p := hubtest.DialRaw(t, n.URL, nil)
	if e := p.Request(hubtest.Event{"type": "auth", "token": hubtest.Token(t, "fac", protocol.RoleFacilitator)}); e.Str("type") != "welcome" {
		t.Fatalf("auth = %v, want welcome", e)
	}
	if code := p.Closed(); int(code) != int(protocol.CloseServiceRestart) {
		t.Fatalf("closed with %d, want 1012 (reconnect)", code)
	}
	rds.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for { // once Redis is back, a sign-in stays
		q := hubtest.DialRaw(t, n.URL, nil)
		if e, ok := q.TryRequest(hubtest.Event{"type": "auth", "token": hubtest.Token(t, "fac", protocol.RoleFacilitator)}, 10*time.Second); ok && e.Str("type") == "welcome" {
			if r, ok := q.TryRequest(hubtest.Event{"type": "ping"}, 10*time.Second); ok && r.Str("type") == "pong" {
				select {
				case <-q.Done(): // closed after all: try again
				case <-time.After(500 * time.Millisecond):
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("sign-ins are still closed 30 s after Redis came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
