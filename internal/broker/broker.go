// Package broker carries room events between Hearth nodes and keeps the
// room-wide facts that must be shared: the per-room seq counter and who is
// present. Two implementations share one contract (contract_test.go runs the
// same suite against both):
//
//   - Memory: one process, no Redis. The default ("embedded mode").
//   - Redis: any number of nodes over one Redis, with Redis pub/sub (one
//     channel per room, "hearth:room:<id>") and Lua scripts that assign the
//     seq and publish in one atomic step.
//
// Delivery guarantee, for both: once Subscribe(room) has returned nil, every
// event published to room by any node afterwards is passed to this node's
// DeliverFunc exactly once and in seq order, until Unsubscribe(room). Events
// published while a node is cut off from Redis are not replayed by the
// broker; the jump in seq shows the gap.
package broker

import (
	"fmt"

	"hearth/internal/protocol"
)

// DeliverFunc receives one room event, already carrying its seq (see
// protocol.WithSeq), for a room this node subscribed to. It is called from a
// single goroutine per broker, in seq order per room; it must not block and
// must not call back into the broker. frame must not be modified: the same
// bytes go to every local recipient.
type DeliverFunc func(room string, frame []byte)

// ErrUnavailable wraps every failure to reach the shared backend (Redis). It
// is the protocol error "unavailable": nothing was published or changed, and
// the caller may retry.
var ErrUnavailable = protocol.Err(protocol.CodeUnavailable)

func unavailable(op string, err error) error {
	return fmt.Errorf("%w (%s: %v)", ErrUnavailable, op, err)
}

// ChannelPrefix is the Redis pub/sub channel prefix: room <id> publishes on
// "hearth:room:<id>".
const ChannelPrefix = "hearth:room:"

// presenceEntry names one connection of one member in a room's presence set.
// Member ids and connection ids never contain '|'.
func presenceEntry(memberID, connID string) string { return memberID + "|" + connID }
