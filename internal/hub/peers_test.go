package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/redistest"
)

// A member whose client stops reading, on two nodes over Redis: once their
// queue overflows the node closes them with 1013, and everyone else — on
// both nodes — still gets every message, in order.
func TestSlowReaderIsClosedAndTheRoomGoesOn(t *testing.T) {
	rds := redistest.Start(t)
	o := hubtest.Options{RedisURL: rds.URL(), Unlimited: true, SendQueue: 32}
	n1, n2 := hubtest.StartNode(t, o), hubtest.StartNode(t, o)
	const id = "r"
	r := n1.OpenRoom(t, id, "fac", "slow", "sender", "near", "far")
	_, agreement := r.CurrentGuidelines()
	slow, resume := hubtest.DialPaused(t, n2.URL, hubtest.Token(t, "slow", protocol.RoleMember))
	slow.Send(hubtest.Event{"type": "join", "room": id, "display_name": "Slow", "id": "j", "agree": agreement})
	sender := hubtest.Dial(t, n1.URL, hubtest.Token(t, "sender", protocol.RoleMember))
	sender.Join(id, "Sender")
	near := hubtest.Dial(t, n2.URL, hubtest.Token(t, "near", protocol.RoleMember)) // on the slow reader's node
	near.Join(id, "Near")
	far := hubtest.Dial(t, n1.URL, hubtest.Token(t, "far", protocol.RoleMember))
	far.Join(id, "Far")
	readers := map[string]*hubtest.Peer{"sender": sender, "near": near, "far": far}

	text := strings.Repeat("y", 3900)
	sent := 0
	for ; n2.Hub.Stats().SlowConsumers == 0; sent++ {
		if sent == 6000 {
			t.Fatalf("after %d messages the reader that never reads was not cut off", sent)
		}
		if r := sender.Request(hubtest.Event{"type": "send", "room": id, "text": fmt.Sprint(sent, " ", text)}); r.Str("type") != "ok" {
			t.Fatalf("send %d: %v", sent, r)
		}
	}
	for range 20 { // after the cut, the room goes on
		req(t, sender, hubtest.Event{"type": "send", "room": id, "text": fmt.Sprint(sent, " ", text)})
		sent++
	}
	for name, p := range readers {
		for k := range sent {
			e := p.UntilType(protocol.TypeMessage)
			if want := fmt.Sprint(k, " ", text); e.Str("text") != want {
				t.Fatalf("%s: message %d is %.20q…, want %.20q…", name, k, e.Str("text"), want)
			}
		}
	}
	resume()
	if code := slow.Closed(); int(code) != int(protocol.CloseTryAgainLater) {
		t.Fatalf("slow reader closed with %d, want 1013", code)
	}
	if got := n1.Hub.Stats().SlowConsumers; got != 0 {
		t.Fatalf("node 1 cut off %d readers; only the slow one on node 2 should be", got)
	}
}

// blackhole is a TCP proxy in front of a node that can stop forwarding, in
// both directions, without closing anything: to the node, its peer then
// looks like a machine that vanished (unplugged, out of coverage) — no
// FIN, no RST, no bytes read. Its goroutines end when the test ends.
type blackhole struct {
	ln      net.Listener
	target  string
	stopped chan struct{} // closed by stop: forwarding ends
	done    chan struct{} // closed at cleanup: parked pumps return
	once    sync.Once
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func startBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, stopped: make(chan struct{}), done: make(chan struct{})}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(func() {
		close(b.done)
		_ = ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			_ = c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// URL is the node's WebSocket URL through the proxy.
func (b *blackhole) URL() string { return "ws://" + b.ln.Addr().String() + "/ws" }

// stop ends forwarding: from now on nothing passes, and nothing is closed.
func (b *blackhole) stop() { b.once.Do(func() { close(b.stopped) }) }

func (b *blackhole) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", b.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, c, up)
		b.mu.Unlock()
		b.wg.Add(2)
		go b.pump(c, up)
		go b.pump(up, c)
	}
}

// pump copies src to dst until stop, then parks without reading until the
// test ends.
func (b *blackhole) pump(src, dst net.Conn) {
	defer b.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-b.stopped:
			<-b.done
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A peer that vanishes without a word (its packets stop; nothing is
// closed) is closed by the node and leaves the room: when idle, by the
// heartbeat (no pong within the ping timeout); in a busy room, by the
// deadline on every write once its socket's buffers are full. Either way
// the others see member_left and get every message.
func TestVanishedPeerIsClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    hubtest.Options
		busy bool // the room keeps talking after the peer vanished
	}{
		{"idle, heartbeat", hubtest.Options{Heartbeat: 100 * time.Millisecond, PingTimeout: 300 * time.Millisecond}, false},
		{"busy, write deadline", hubtest.Options{Heartbeat: time.Hour, WriteTimeout: 300 * time.Millisecond, SendQueue: 4096}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Unlimited = true
			n := hubtest.StartNode(t, o)
			const id = "r"
			n.OpenRoom(t, id, "fac", "gone", "stay")
			proxy := startBlackhole(t, strings.TrimPrefix(n.HTTP, "http://"))
			gone := hubtest.Dial(t, proxy.URL(), hubtest.Token(t, "gone", protocol.RoleMember))
			goneID := member(gone.Join(id, "Gone"), "you")["member_id"].(string)
			stay := hubtest.Dial(t, n.URL, hubtest.Token(t, "stay", protocol.RoleMember))
			stay.Join(id, "Stay")
			proxy.stop()

			text := strings.Repeat("z", 3900)
			sent, got := 0, 0
			take := func(e hubtest.Event) (left bool) {
				switch e.Str("type") {
				case protocol.TypeMemberLeft:
					return e.Str("member_id") == goneID
				case protocol.TypeMessage:
					if want := fmt.Sprint(got, " ", text); e.Str("text") != want {
						t.Fatalf("message %d is %.20q…, want %.20q…", got, e.Str("text"), want)
					}
					got++
				}
				return false
			}
			deadline := time.Now().Add(40 * time.Second)
			for left := false; !left; {
				if time.Now().After(deadline) {
					t.Fatalf("the vanished peer is still in the room after 40 s (%d messages sent)", sent)
				}
				if tc.busy {
					req(t, stay, hubtest.Event{"type": "send", "room": id, "text": fmt.Sprint(sent, " ", text)})
					sent++
				}
				for wait := 20 * time.Millisecond; !left; wait = time.Millisecond {
					e, ok := stay.Poll(wait)
					if !ok {
						break
					}
					left = take(e)
				}
			}
			for got < sent { // everything sent reached the one who stayed
				take(stay.Next())
			}
			for n.Hub.Stats().Connections != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections on the node, want 1 (the one that stayed)", n.Hub.Stats().Connections)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// Connecting, joining a room, sending, leaving and disconnecting 1,000
// times leaves nothing behind: no goroutine (goleak, and the count) and no
// heap beyond a generous tolerance — in one node with the in-memory broker,
// and over Redis, where every cycle also subscribes and unsubscribes the
// node to the room and the person's own channel.
func TestConnectCyclesLeaveNothingBehind(t *testing.T) {
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"embedded", false}, {"distributed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := hubtest.Options{Unlimited: true}
			if tc.redis {
				o.RedisURL = redistest.Start(t).URL()
			}
			n := hubtest.StartNode(t, o)
			const id = "r"
			users := []string{"u0", "u1", "u2", "u3", "u4"}
			r := n.OpenRoom(t, id, "fac", users...)
			_, agreement := r.CurrentGuidelines()
			tokens := map[string]string{}
			for _, u := range users {
				tokens[u] = hubtest.Token(t, u, protocol.RoleMember)
			}
			cycle := func(i int) {
				u := users[i%len(users)]
				if err := connectCycle(n.URL, tokens[u], id, "Person "+u, agreement, i); err != nil {
					t.Fatalf("cycle %d: %v", i, err)
				}
			}
			for i := range 50 { // warm up: pools, buffers, the room's first events
				cycle(i)
			}
			settle(t, n)
			ignore := goleak.IgnoreCurrent()
			goroutines, heap := usage()

			const cycles = 1000
			for i := range cycles {
				cycle(i)
			}
			settle(t, n)
			goleak.VerifyNone(t, ignore)
			deadline := time.Now().Add(20 * time.Second)
			for {
				g, h := usage()
				if g <= goroutines+2 && h <= heap+16<<20 {
					t.Logf("after %d cycles: %d goroutines (baseline %d), heap %d KiB (baseline %d KiB)", cycles, g, goroutines, h>>10, heap>>10)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after %d cycles: %d goroutines (baseline %d), heap %d KiB (baseline %d KiB)", cycles, g, goroutines, h>>10, heap>>10)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// settle waits until the node has no connection left.
func settle(t *testing.T, n *hubtest.Node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.Hub.Stats().Connections != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", n.Hub.Stats().Connections)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// usage returns the goroutine count and the live heap, after a collection.
func usage() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// connectCycle is one short visit, with a bare WebSocket (nothing kept for
// the test's cleanup, so the test itself holds no memory per cycle): auth,
// join, send, leave (on even visits; on odd ones the close alone leaves the
// room, as when a person just closes the page), close with 1000.
func connectCycle(url, token, room, name, agreement string, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	steps := []map[string]any{
		{"type": "auth", "id": "a", "token": token},
		{"type": "join", "id": "j", "room": room, "display_name": name, "agree": agreement},
		{"type": "send", "id": "s", "room": room, "text": fmt.Sprint("visit ", i)},
		{"type": "leave", "id": "l", "room": room},
	}
	if i%2 == 1 {
		steps = steps[:3]
	}
	want := map[string]string{"a": "welcome", "j": "joined", "s": "ok", "l": "ok"}
	for _, step := range steps {
		b, _ := json.Marshal(step)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			return err
		}
		if err := awaitReply(ctx, ws, step["id"].(string), want[step["id"].(string)]); err != nil {
			return err
		}
	}
	return ws.Close(websocket.StatusNormalClosure, "")
}

// awaitReply reads until the reply with id, which must be of type typ.
func awaitReply(ctx context.Context, ws *websocket.Conn, id, typ string) error {
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var e struct{ Type, ID, Code string }
			if err := json.Unmarshal(line, &e); err != nil {
				return err
			}
			if e.ID != id {
				continue
			}
			if e.Type != typ {
				return fmt.Errorf("reply to %s: %s %s, want %s", id, e.Type, e.Code, typ)
			}
			return nil
		}
	}
}
