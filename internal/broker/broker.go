// Package broker carries room events between Hearth nodes and keeps the
// room-wide facts that must be shared: the per-room seq counter and who is
// present. Two implementations share one contract (contract_test.go runs the
// same suite against Memory, one Redis and a three-master Redis Cluster):
//
//   - Memory: one process, no Redis. The default ("embedded mode").
//   - Redis: any number of nodes over one Redis, with Redis pub/sub (one
//     channel per room, "hearth:room:<id>") and Lua scripts that assign the
//     seq and publish in one atomic step; or over a Redis Cluster
//     (RedisConfig.Cluster), where each room's keys and channel
//     ("hearth:room:{b<k>}{<id>}") share the hash slot of the room's
//     bucket and rooms use sharded pub/sub (SPUBLISH/SSUBSCRIBE, one
//     connection per bucket; see sharded.go).
//
// Delivery guarantee, for both: once Subscribe(room) has returned nil, every
// event published to room by any node afterwards is passed to this node's
// DeliverFunc exactly once and in seq order, until Unsubscribe(room) — or,
// when that cannot hold, the DeliverFunc is told so before the next event:
// it is called with a nil frame (see DeliverFunc). Redis does this when the
// node's subscription was lost and re-established (a Redis restart or a
// dropped connection: events published meanwhile were not delivered, and
// the counter may have started again under a new epoch), and when an event's
// seq does not follow the last one delivered for the room (the counter was
// lost while the subscription stayed, or go-redis dropped a message) — on a
// cluster also when the room's slot moved to another master. Events
// published while a node is cut off are never redelivered to it; the
// session buffer (below) is how a member gets them back. Memory never
// interrupts delivery.
//
// Session buffer and epoch, for both: each room's seq counter has an epoch,
// an id made when the counter is created, so a seq is only meaningful with
// its epoch (a Redis that restarted without persistence starts the counter
// again under a new epoch). While a room's buffer is open (OpenBuffer, until
// CloseBuffer or its maximum age), every event that takes a seq is also
// appended, exactly as delivered, to a bounded buffer (the last BufferSize
// events; DefaultBufferSize) in the same atomic step that assigns the seq,
// so the buffer is in seq order. Replay(epoch, after) answers a member who
// reconnects with the events after their last seq, and says (gap) when it
// cannot give all of them. EnsureBuffer turns buffering on only if it is
// off, keeping whatever is buffered: how a node rebuilds the flag a Redis
// restart without persistence lost. Control messages are never buffered. Forget
// replaces a deleted message in the buffer by a stand-in without its text.
package broker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"hearth/internal/protocol"
)

// DefaultBufferSize is how many of a room's most recent events its session
// buffer keeps (RedisConfig.BufferSize, WithBufferSize). A member whose
// connection drops usually comes back within seconds to a couple of
// minutes; in a peer-support group of up to a few dozen people, 500 events
// (messages plus joins, leaves, queue and reaction updates) cover several
// minutes of a busy room. Memory per room with an open buffer is bounded
// by 500 events: about 150 KB for typical messages, about 12 MB if every
// one were a maximal 4,000-character message (up to ~24 KB encoded).
const DefaultBufferSize = 500

// bufferSize is n, or DefaultBufferSize when n <= 0.
func bufferSize(n int) int {
	if n <= 0 {
		return DefaultBufferSize
	}
	return n
}

// checkMaxAge is the argument check of OpenBuffer and EnsureBuffer.
func checkMaxAge(maxAge time.Duration) error {
	if maxAge <= 0 {
		return fmt.Errorf("broker: session buffer maxAge must be positive, got %v", maxAge)
	}
	return nil
}

// replayFrom decides a Replay, the same way for both brokers, from a
// consistent snapshot: the room's current epoch and last seq, and buffered
// frames in seq order (each starting with its seq, as protocol.WithSeq
// makes it; the snapshot may leave out frames with seq <= after). It
// returns the frames with seq > after and whether any event after `after`
// is missing from them (see Memory.Replay). Frames are returned as given.
func replayFrom(epoch string, after uint64, curEpoch string, cur uint64, buf [][]byte) ([][]byte, bool) {
	if epoch == "" || epoch != curEpoch || after > cur {
		return nil, true // another counter's seqs (Epoch never gives ""), or not a seq of this one
	}
	if after == cur {
		return nil, false
	}
	var out [][]byte
	next, gap := after+1, false
	for _, f := range buf {
		seq, ok := protocol.SeqOf(f)
		if !ok || seq <= after {
			continue
		}
		if seq != next {
			gap = true // the buffer does not reach back to after+1, or has a hole
		}
		out = append(out, f)
		next = seq + 1
	}
	if next != cur+1 {
		gap = true // the buffer does not reach the current seq (off, expired, empty)
	}
	return out, gap
}

// standIn is what Forget leaves in a buffer in place of a deleted message:
// message_deleted for it, carrying the message's seq.
func standIn(room, messageID string) []byte {
	return protocol.Marshal(protocol.MessageDeletedEvent{Type: protocol.TypeMessageDeleted, Room: room, MessageID: messageID})
}

// isMessage reports whether frame is the `message` event with messageID.
func isMessage(frame []byte, messageID string) bool {
	if !bytes.Contains(frame, []byte(`"type":"message"`)) {
		return false
	}
	var e struct {
		Type      string `json:"type"`
		MessageID string `json:"message_id"`
	}
	return json.Unmarshal(frame, &e) == nil && e.Type == protocol.TypeMessage && e.MessageID == messageID
}

// DeliverFunc receives one room event, already carrying its seq (see
// protocol.WithSeq), or one control message (no seq), for a room this node
// subscribed to. It is called from a single goroutine per broker, in seq
// order per room; it must not block and must not call back into the broker.
// frame must not be modified: the same bytes go to every local recipient.
//
// A nil frame is not an event: it says that delivery of room to this node
// was interrupted — events published since the last one delivered may never
// arrive, and those that follow may belong to a new epoch of the room's
// counter (Redis lost it). It comes before any event published after the
// interruption, so the receiver can act first (the hub asks every local
// connection in the room to resume; see docs/architecture.md, "Delivery
// under faults").
type DeliverFunc func(room string, frame []byte)

// ErrUnavailable wraps every failure to reach the shared backend (Redis). It
// is the protocol error "unavailable": nothing was published or changed, and
// the caller may retry.
var ErrUnavailable = protocol.Err(protocol.CodeUnavailable)

func unavailable(op string, err error) error {
	return fmt.Errorf("%w (%s: %v)", ErrUnavailable, op, err)
}

// ChannelPrefix is the Redis pub/sub channel prefix: room <id> publishes on
// "hearth:room:<id>" on one server, and on "hearth:room:{b<k>}{<id>}"
// (sharded, in the slot of the room's bucket k and keys) on a Redis
// Cluster.
const ChannelPrefix = "hearth:room:"

// presenceEntry names one connection of one member in a room's presence set.
// Member ids and connection ids never contain '|'.
func presenceEntry(memberID, connID string) string { return memberID + "|" + connID }
