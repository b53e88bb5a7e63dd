package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
	"hearth/internal/room"
)

// The fan-out benchmarks run one node (in-memory broker, embedded store)
// with one room in an open session and conns WebSocket clients joined to
// it over loopback, as a real deployment's clients are. A room seats at
// most room.MaxCapacity (50) members at once, so conns=100 is 50 members
// with two connections (tabs) each — the hub fans out per connection.
//
// The clients are deliberately lean (each frame read into a reused buffer
// and only scanned for message events), but they run in the benchmark's
// process: ns/op and allocs/op are the whole loop — server and clients —
// not the server alone.

const (
	benchRoom = "bench"
	// benchText is an everyday chat message of about 150 bytes.
	benchText = "Thanks for listening tonight. The breathing exercise helped a bit, and I went for a walk " +
		"with my sister on Sunday. I'll try the sleep routine again."
	benchTimeout = 10 * time.Second
)

// benchSizes are the sub-benchmarks: connections in the room, and how
// many members they belong to.
var benchSizes = []struct{ conns, members int }{{10, 10}, {50, 50}, {100, 50}}

// benchMessageMarker is how a client spots a chat message event in a frame
// (a frame may batch several events, one per line). message_deleted does
// not match: the closing quote follows "message".
var benchMessageMarker = []byte(`"type":"message"`)

// BenchmarkSendToRoom measures the whole path of one chat message: a member
// writes a send frame on its socket, the hub decodes and checks it (crisis
// detection included), publishes it through the broker and queues it to
// every connection in the room, whose writers write it to their sockets;
// an op ends when every client — the sender included, as the hub sends a
// message to everyone in the room — has read it. One message is in flight
// at a time: this is latency of a fan-out, not throughput.
func BenchmarkSendToRoom(b *testing.B) {
	send := []byte(`{"type":"send","room":"` + benchRoom + `","text":"` + benchText + `"}`)
	for _, size := range benchSizes {
		b.Run("conns="+strconv.Itoa(size.conns), func(b *testing.B) {
			_, r := startBenchRoom(b, size.members, size.conns)
			sender := r.peers[0]
			b.ReportAllocs()
			r.run(b, func() error {
				ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
				defer cancel()
				return sender.ws.Write(ctx, websocket.MessageText, send)
			})
		})
	}
}

// BenchmarkDeliver measures the hub's side of fan-out alone: Hub.Deliver
// (the broker's DeliverFunc, called as the broker calls it, with a message
// event already carrying its seq) queues the event to every connection in
// the room, and their writers write it to their sockets; an op ends when
// every client has read it. Compared with BenchmarkSendToRoom it leaves
// out reading and checking the send frame, crisis detection, building the
// event and the broker's publish.
func BenchmarkDeliver(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("conns="+strconv.Itoa(size.conns), func(b *testing.B) {
			n, r := startBenchRoom(b, size.members, size.conns)
			// Distinct message ids, cycling through more than the hub's
			// recent-messages ring holds, as live traffic would.
			frames := make([][]byte, 1024)
			ts := protocol.FormatTime(time.Now())
			for i := range frames {
				ev := protocol.Marshal(protocol.MessageEvent{Type: protocol.TypeMessage, Room: benchRoom,
					MessageID: fmt.Sprintf("bench%011d", i), From: r.from, Text: benchText, TS: ts})
				frames[i] = protocol.WithSeq(ev, uint64(1_000_000+i))
			}
			i := 0
			b.ReportAllocs()
			r.run(b, func() error {
				n.Hub.Deliver(benchRoom, frames[i%len(frames)])
				i++
				return nil
			})
		})
	}
}

// benchRoomConns is a room full of benchmark clients and what counts the
// messages they read.
type benchRoomConns struct {
	peers []*benchPeer
	from  protocol.Member // the first member as the room sees them

	remaining atomic.Int64  // clients yet to read the message in flight
	all       chan struct{} // signalled by the client that brings remaining to zero
	failOnce  sync.Once
	failed    chan struct{} // closed when a client's connection fails
}

// received is one client having read one message.
func (r *benchRoomConns) received() {
	if r.remaining.Add(-1) == 0 {
		r.all <- struct{}{}
	}
}

// run is the benchmark loop: each op calls publish, which must get one
// chat message to every client in the room, and waits until every client
// has read it. Afterwards it checks that each client read exactly one
// message per op.
func (r *benchRoomConns) run(b *testing.B, publish func() error) {
	b.Helper()
	timer := time.NewTimer(benchTimeout)
	timer.Stop()
	ops := int64(0)
	for b.Loop() {
		r.remaining.Store(int64(len(r.peers)))
		if err := publish(); err != nil {
			b.Fatalf("publish: %v", err)
		}
		timer.Reset(benchTimeout)
		select {
		case <-r.all:
		case <-r.failed:
			b.Fatal("a client's connection failed during the benchmark")
		case <-timer.C:
			b.Fatalf("after %v, %d of %d clients still had not read message %d", benchTimeout, r.remaining.Load(), len(r.peers), ops+1)
		}
		timer.Stop()
		ops++
	}
	for i, p := range r.peers {
		if got := p.messages.Load(); got != ops {
			b.Errorf("client %d read %d messages in %d ops, want one each", i, got, ops)
		}
	}
}

// benchPeer is a lean WebSocket client: after joining, its reader counts
// the chat message events it reads and discards everything else.
type benchPeer struct {
	ws       *websocket.Conn
	buf      []byte // the reader's frame buffer, reused
	messages atomic.Int64
	done     chan struct{}
}

// startBenchRoom starts a node with room benchRoom in an open session, its
// roster members users, and joins conns connections to it (spread evenly
// over the members), each with its reader running. Everything is closed
// when the benchmark ends.
func startBenchRoom(b *testing.B, members, conns int) (*hubtest.Node, *benchRoomConns) {
	b.Helper()
	n := hubtest.StartNode(b, hubtest.Options{Unlimited: true}) // one sender sends as fast as the loop goes
	users := make([]string, members)
	for i := range users {
		users[i] = fmt.Sprintf("bench-user-%03d", i)
	}
	ctx := context.Background()
	rm, err := n.Rooms.Ensure(ctx, benchRoom, "bench-facilitator", users,
		room.CreateParams{Name: "Bench group", Kind: room.KindSupport, Capacity: members})
	if err != nil {
		b.Fatalf("open room: %v", err)
	}
	n.Hub.SessionStarted(ctx, rm)

	r := &benchRoomConns{all: make(chan struct{}, 1), failed: make(chan struct{})}
	for i := range conns {
		p, you, err := dialBenchPeer(n.URL, hubtest.Token(b, users[i%members], protocol.RoleMember), fmt.Sprintf("Member %d", i%members))
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		b.Cleanup(func() {
			_ = p.ws.CloseNow()
			<-p.done
		})
		if i == 0 {
			r.from = you
		}
		r.peers = append(r.peers, p)
		go p.read(r)
	}
	return n, r
}

// dialBenchPeer connects, authenticates and joins benchRoom as name,
// accepting the group agreement when asked. It returns the member as the
// room sees them.
func dialBenchPeer(url, token, name string) (*benchPeer, protocol.Member, error) {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		return nil, protocol.Member{}, fmt.Errorf("dial: %w", err)
	}
	ws.SetReadLimit(1 << 24)
	p := &benchPeer{ws: ws, done: make(chan struct{})}
	fail := func(err error) (*benchPeer, protocol.Member, error) {
		_ = ws.CloseNow()
		close(p.done)
		return nil, protocol.Member{}, err
	}
	if r, err := p.request(ctx, map[string]any{"type": protocol.TypeAuth, "id": "auth", "token": token}); err != nil {
		return fail(fmt.Errorf("auth: %w", err))
	} else if r.Type != protocol.TypeWelcome {
		return fail(fmt.Errorf("auth: got %s, want welcome", r.raw))
	}
	join := map[string]any{"type": protocol.TypeJoin, "id": "join", "room": benchRoom, "display_name": name}
	r, err := p.request(ctx, join)
	if err == nil && r.Code == string(protocol.CodeAgreementRequired) && r.Guidelines != nil {
		join["agree"] = r.Guidelines.Version
		r, err = p.request(ctx, join)
	}
	if err != nil {
		return fail(fmt.Errorf("join: %w", err))
	}
	if r.Type != protocol.TypeJoined {
		return fail(fmt.Errorf("join: got %s, want joined", r.raw))
	}
	return p, r.You, nil
}

// benchReply is what setup reads of a server event.
type benchReply struct {
	Type       string               `json:"type"`
	ID         string               `json:"id"`
	Code       string               `json:"code"`
	Guidelines *protocol.Guidelines `json:"guidelines"`
	You        protocol.Member      `json:"you"`
	raw        []byte
}

// request sends frame and returns the reply carrying its id, skipping
// other events. Setup only: the reader is not running yet.
func (p *benchPeer) request(ctx context.Context, frame map[string]any) (benchReply, error) {
	data, err := json.Marshal(frame)
	if err != nil {
		return benchReply{}, fmt.Errorf("encode: %w", err)
	}
	if err := p.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return benchReply{}, fmt.Errorf("write: %w", err)
	}
	for {
		data, err := p.readFrame(ctx)
		if err != nil {
			return benchReply{}, err
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var r benchReply
			if err := json.Unmarshal(line, &r); err != nil {
				return benchReply{}, fmt.Errorf("server sent a line that is not JSON: %q: %w", line, err)
			}
			if r.ID == frame["id"] {
				r.raw = bytes.Clone(line)
				return r, nil
			}
		}
	}
}

// readFrame reads one WebSocket message into p.buf, which it returns (valid
// until the next read).
func (p *benchPeer) readFrame(ctx context.Context) ([]byte, error) {
	_, rd, err := p.ws.Reader(ctx)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	buf := p.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			p.buf = buf
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
	}
}

// read counts the chat messages the client reads until its connection
// ends; an end before the benchmark closes it counts as a failure.
func (p *benchPeer) read(r *benchRoomConns) {
	defer close(p.done)
	ctx := context.Background()
	for {
		data, err := p.readFrame(ctx)
		if err != nil {
			r.failOnce.Do(func() { close(r.failed) })
			return
		}
		for range bytes.Count(data, benchMessageMarker) {
			p.messages.Add(1)
			r.received()
		}
	}
}
