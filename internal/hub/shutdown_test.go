package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hearth/internal/hubtest"
	"hearth/internal/protocol"
)

// Regression (a review of the write watchdog): the server stops Run before
// it shuts the hub down, so with the watchdog in Run alone a writer stuck
// on a peer that stopped reading (its socket's buffers full) held Shutdown
// until its deadline. Shutdown now runs the watchdog itself.
func TestShutdownCutsAStuckWriterWithoutRun(t *testing.T) {
	n := hubtest.StartNode(t, hubtest.Options{NoRun: true, WriteTimeout: 300 * time.Millisecond, Unlimited: true})
	const id = "r"
	n.OpenRoom(t, id, "fac", "gone", "stay")
	proxy := startBlackhole(t, strings.TrimPrefix(n.HTTP, "http://"))
	gone := hubtest.Dial(t, proxy.URL(), hubtest.Token(t, "gone", protocol.RoleMember))
	gone.Join(id, "Gone")
	stay := hubtest.Dial(t, n.URL, hubtest.Token(t, "stay", protocol.RoleMember))
	stay.Join(id, "Stay")
	proxy.stop()

	// The vanished peer's queue overflows only once its writer is stuck in
	// a write that cannot finish.
	text := strings.Repeat("z", 3900)
	for sent := 0; n.Hub.Stats().SlowConsumers == 0; sent++ {
		if sent == 20000 {
			t.Fatalf("after %d messages the peer behind the black hole was not a slow consumer", sent)
		}
		req(t, stay, hubtest.Event{"type": "send", "room": id, "text": fmt.Sprint(sent, " ", text)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Hub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a writer stuck on a peer that stopped reading: %v (it waited out its whole deadline)", err)
	}
}
