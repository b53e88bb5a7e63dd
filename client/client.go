package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket subprotocol Dial offers and requires the
// server to select.
const Subprotocol = "hearth.v1"

// ReadLimit is the largest server frame the client accepts, in bytes
// (1 MiB). Server frames batch several events, so this is well above the
// 64 KiB limit on client frames; a larger frame ends the connection with
// close code 1009.
const ReadLimit = 1 << 20

// EventBuffer is how many events Events holds, by default, before the
// reader goroutine waits for the consumer (see the package documentation on
// back-pressure). Options.EventBuffer changes it per client.
const EventBuffer = 1024

// closeWait bounds how long Dial waits for the server's close frame after an
// error reply to auth, to report its close code.
const closeWait = 2 * time.Second

// Options are Dial's optional settings. A nil *Options is the same as the
// zero value.
type Options struct {
	// Header holds extra HTTP headers for the upgrade request, for example
	// Origin. It is not modified.
	Header http.Header
	// BearerHeader sends the token as "Authorization: Bearer <token>" on the
	// upgrade request instead of in an auth frame. A refused token then fails
	// the upgrade with HTTP 401 (see DialError.HTTPStatus).
	BearerHeader bool
	// HTTPClient is used for the upgrade request; nil means
	// http.DefaultClient. Set it for custom TLS settings or proxies.
	HTTPClient *http.Client
	// EventBuffer is how many events Events holds before the reader waits
	// for the consumer; 0 means the package's EventBuffer (1,024). The
	// channel is allocated at Dial, about 450 B per slot, so a program
	// holding thousands of connections that it drains promptly (a load
	// generator) saves memory with a smaller one; nothing is ever dropped
	// whatever its size.
	EventBuffer int
}

// Client is one authenticated protocol v1 connection. Its methods are safe
// for concurrent use. A Client owns one reader goroutine, which stops when
// Close is called or the connection ends; either way Done is closed, and
// Close returns only once the goroutine has stopped.
type Client struct {
	conn    *websocket.Conn
	welcome Welcome
	events  chan Event
	done    chan struct{} // closed by the reader goroutine when the connection has ended
	stopped chan struct{} // closed as the reader goroutine's last act
	closing chan struct{} // closed by Close before it closes the connection

	resources []Resource // the crisis resources the welcome carried

	closeOnce sync.Once
	closeErr  error

	nextID atomic.Uint64

	mu        sync.Mutex
	pending   map[string]chan Event // request id -> waiting request (buffered 1)
	abandoned map[string]struct{}   // ids whose request gave up; their late reply is dropped
	ended     bool                  // the reader goroutine has stopped

	// Written by the reader goroutine before it closes done.
	err    error
	status int

	wdMu          sync.Mutex
	watchdog      *time.Timer // ends the connection when heartbeats stop; nil when off
	wdTimeout     time.Duration
	heartbeatLost atomic.Bool
	stalled       atomic.Bool // the reader is waiting for room on events
}

// Dial connects to the Hearth WebSocket endpoint at url (ws:// or wss://,
// e.g. "ws://localhost:8080/ws"), offering the subprotocol "hearth.v1", and
// authenticates with token: by sending an auth frame and waiting for its
// welcome reply, or, with Options.BearerHeader, by sending the token on the
// upgrade request and waiting for the id-less welcome event.
//
// ctx bounds the dial and the authentication only; once Dial returns, the
// connection lives until Close or until the server or network ends it.
//
// When the server refuses, the error is a *DialError carrying the HTTP status
// of a refused upgrade, the server's error code and message (also reachable
// with errors.As as a *ServerError), and the close code the server closed
// with (4401 for a refused token). The token never appears in errors.
func Dial(ctx context.Context, url, token string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	header := o.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if o.BearerHeader {
		header.Set("Authorization", "Bearer "+token)
	}
	c := &Client{
		events:    make(chan Event, cmp.Or(max(o.EventBuffer, 0), EventBuffer)),
		done:      make(chan struct{}),
		stopped:   make(chan struct{}),
		closing:   make(chan struct{}),
		pending:   make(map[string]chan Event),
		abandoned: make(map[string]struct{}),
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   o.HTTPClient,
		HTTPHeader:   header,
		Subprotocols: []string{Subprotocol},
		OnPingReceived: func(context.Context, []byte) bool {
			c.heartbeat()
			return true
		},
	})
	if err != nil {
		de := &DialError{Err: err}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			de.HTTPStatus = resp.StatusCode
			if resp.Body != nil {
				de.Server = parseRESTError(resp.Body)
			}
		}
		return nil, de
	}
	if got := conn.Subprotocol(); got != Subprotocol {
		_ = conn.CloseNow()
		return nil, &DialError{Err: fmt.Errorf("server selected subprotocol %q, want %q", got, Subprotocol)}
	}
	conn.SetReadLimit(ReadLimit)
	c.conn = conn

	authID := ""
	if !o.BearerHeader {
		authID = c.newID()
		data, err := json.Marshal(authFrame{Type: "auth", ID: authID, Token: token})
		if err != nil {
			_ = conn.CloseNow()
			return nil, &DialError{Err: fmt.Errorf("encode auth: %w", err)}
		}
		if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
			_ = conn.CloseNow()
			return nil, &DialError{CloseStatus: dialCloseStatus(ctx, err), Err: fmt.Errorf("send auth: %w", err)}
		}
	}
	rest, err := c.awaitWelcome(ctx, authID)
	if err != nil {
		return nil, err
	}
	if hb := c.welcome.Heartbeat(); hb > 0 {
		c.startWatchdog(2 * hb)
	}
	go c.readLoop(rest)
	return c, nil
}

// awaitWelcome reads until the welcome for authID (or, with authID empty, the
// id-less welcome of a bearer-header connection). It returns the events that
// followed the welcome in its frame, for the reader goroutine to deliver.
// On failure it closes the connection and returns a *DialError.
func (c *Client) awaitWelcome(ctx context.Context, authID string) ([]Event, error) {
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			_ = c.conn.CloseNow()
			return nil, &DialError{CloseStatus: dialCloseStatus(ctx, err), Err: fmt.Errorf("waiting for welcome: %w", err)}
		}
		if typ != websocket.MessageText {
			_ = c.conn.CloseNow()
			return nil, &DialError{Err: fmt.Errorf("%w: binary frame before welcome", ErrUnexpectedReply)}
		}
		events := decodeFrame(data)
		for i, ev := range events {
			switch {
			case ev.Type == TypeWelcome && ev.ID == authID:
				c.welcome = Welcome{Role: ev.Role, HeartbeatMS: ev.HeartbeatMS}
				c.resources = ev.Resources
				return events[i+1:], nil
			case ev.Type == TypeError && (ev.ID == authID || ev.ID == ""):
				return nil, &DialError{Server: serverError(ev), CloseStatus: c.awaitClose(ctx)}
			default:
				_ = c.conn.CloseNow()
				return nil, &DialError{Err: fmt.Errorf("%w: %q before welcome", ErrUnexpectedReply, ev.Type)}
			}
		}
	}
}

// awaitClose waits briefly for the server to close the connection after it
// refused authentication, and returns the close code (0 if none came).
func (c *Client) awaitClose(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	for {
		_, _, err := c.conn.Read(ctx)
		if err != nil {
			_ = c.conn.CloseNow()
			return dialCloseStatus(ctx, err)
		}
	}
}

// dialCloseStatus is the close status to report for err during Dial: the
// server's code, 1006 for a connection that dropped, and 0 when ctx ended.
func dialCloseStatus(ctx context.Context, err error) int {
	if s := websocket.CloseStatus(err); s != -1 {
		return int(s)
	}
	if ctx.Err() != nil {
		return 0
	}
	return int(websocket.StatusAbnormalClosure)
}

// parseRESTError reads {"error":{"code":…,"message":…}} from the body of a
// refused upgrade; nil if the body is not of that form.
func parseRESTError(body io.Reader) *ServerError {
	var v struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 4096)).Decode(&v); err != nil || v.Error == nil || v.Error.Code == "" {
		return nil
	}
	return &ServerError{Code: v.Error.Code, Message: v.Error.Message}
}

// Welcome returns the server's welcome: the user's role and the heartbeat
// interval.
func (c *Client) Welcome() Welcome { return c.welcome }

// Resources returns the deployment's crisis resources, in their usual
// order, as the welcome carried them (nil if it carried none), so that a
// client can show them — "Get help now" — at any time, before any crisis.
// The slice is shared: do not modify it.
func (c *Client) Resources() []Resource { return c.resources }

// Events returns the channel on which every server event that is not the
// reply to a request of this Client is delivered, in the order received:
// room events (message, member_joined, member_left, room_state, queue, and
// others this package does not decode, whose Raw still holds them), private
// notices such as timer_elapsed, error frames without an id, and replies to
// frames sent with SendRaw or SendBinary. The channel is closed after the
// last event once the connection has ended, after Done, so Err and
// CloseStatus are already set when a receive reports it closed (events
// still buffered when Done closes can be drained). See the package
// documentation on back-pressure: drain it promptly.
func (c *Client) Events() <-chan Event { return c.events }

// Done returns a channel that is closed when the connection has ended; Err
// and CloseStatus then say why, and Events is closed right after.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open. Once Done is closed it says
// why the connection ended: ErrClosed after Close, ErrHeartbeatTimeout when
// the server's heartbeat stopped, or an error wrapping the read error
// (a websocket.CloseError when the server closed the connection).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// CloseStatus returns 0 while the connection is open. Once Done is closed it
// returns the WebSocket close code the connection ended with: the server's
// code (e.g. 1012 on a server restart, 4401 for a refused token), 1000 after
// Close, and 1006 when the connection ended without a close frame (a
// dropped network connection, or ErrHeartbeatTimeout). Pass it to Reconnect.
func (c *Client) CloseStatus() int {
	select {
	case <-c.done:
		return c.status
	default:
		return 0
	}
}

// Close ends the connection with close code 1000 (normal closure), waits for
// the close handshake (at most about 10 s) and for the reader goroutine to
// stop. Requests still waiting fail; later ones return ErrClosed. Close is
// idempotent; it returns nil if the connection had already ended.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		select {
		case <-c.done:
			<-c.stopped
			return
		default:
		}
		close(c.closing)
		err := c.conn.Close(websocket.StatusNormalClosure, "bye")
		<-c.stopped
		if err != nil && !errors.Is(err, net.ErrClosed) {
			c.closeErr = fmt.Errorf("client: close: %w", err)
		}
	})
	return c.closeErr
}

// readLoop is the reader goroutine: it delivers initial (events that came in
// the welcome's frame), then reads frames until the connection ends.
func (c *Client) readLoop(initial []Event) {
	defer close(c.stopped)
	c.finish(c.read(initial))
}

func (c *Client) read(initial []Event) error {
	for _, ev := range initial {
		if err := c.dispatch(ev); err != nil {
			return err
		}
	}
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			return err
		}
		c.heartbeat()
		if typ != websocket.MessageText {
			_ = c.conn.Close(websocket.StatusUnsupportedData, "binary frame")
			return fmt.Errorf("%w: binary frame", ErrUnexpectedReply)
		}
		for _, ev := range decodeFrame(data) {
			if err := c.dispatch(ev); err != nil {
				return err
			}
		}
	}
}

// dispatch hands a reply to the request waiting for it, drops a late reply
// to an abandoned request, and delivers everything else on events, waiting
// for room in the buffer unless Close is called.
func (c *Client) dispatch(ev Event) error {
	if ev.ID != "" {
		c.mu.Lock()
		if ch, ok := c.pending[ev.ID]; ok {
			delete(c.pending, ev.ID)
			ch <- ev // buffered 1, and each id is answered once: never blocks
			c.mu.Unlock()
			return nil
		}
		if _, ok := c.abandoned[ev.ID]; ok {
			delete(c.abandoned, ev.ID)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
	}
	select {
	case c.events <- ev:
		return nil
	default:
	}
	// The consumer is behind. While waiting, the connection is not read, so
	// heartbeats go unseen: keep the watchdog from blaming the server (which
	// will itself close a connection that does not answer its pings).
	c.stalled.Store(true)
	defer func() {
		c.stalled.Store(false)
		c.heartbeat()
	}()
	select {
	case c.events <- ev:
		return nil
	case <-c.closing:
		return ErrClosed
	}
}

// finish records why the connection ended and releases everyone waiting.
func (c *Client) finish(err error) {
	c.stopWatchdog()
	closing := false
	select {
	case <-c.closing:
		closing = true
	default:
	}
	switch {
	case closing:
		c.err, c.status = ErrClosed, int(websocket.StatusNormalClosure)
	case c.heartbeatLost.Load():
		c.err, c.status = ErrHeartbeatTimeout, int(websocket.StatusAbnormalClosure)
	default:
		c.status = int(websocket.StatusAbnormalClosure)
		if s := websocket.CloseStatus(err); s != -1 {
			c.status = int(s)
		}
		c.err = fmt.Errorf("client: connection ended: %w", err)
	}
	if !closing {
		_ = c.conn.CloseNow() // already closed in most cases; frees resources otherwise
	}
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	// done first: a consumer that sees Events closed can rely on Err and
	// CloseStatus; one that sees Done can still drain what Events holds.
	close(c.done)
	close(c.events)
}

// startWatchdog ends the connection if no heartbeat arrives within timeout.
func (c *Client) startWatchdog(timeout time.Duration) {
	c.wdMu.Lock()
	defer c.wdMu.Unlock()
	c.wdTimeout = timeout
	c.watchdog = time.AfterFunc(timeout, func() {
		if c.stalled.Load() {
			c.heartbeat() // not the server's fault; look again later
			return
		}
		c.heartbeatLost.Store(true)
		_ = c.conn.CloseNow()
	})
}

// heartbeat postpones the watchdog; called on every ping and data frame.
func (c *Client) heartbeat() {
	c.wdMu.Lock()
	defer c.wdMu.Unlock()
	if c.watchdog != nil {
		c.watchdog.Reset(c.wdTimeout)
	}
}

func (c *Client) stopWatchdog() {
	c.wdMu.Lock()
	defer c.wdMu.Unlock()
	if c.watchdog != nil {
		c.watchdog.Stop()
		c.watchdog = nil
	}
}

// decodeFrame splits a server frame on '\n' and decodes each non-blank line.
func decodeFrame(data []byte) []Event {
	var events []Event
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			ev = Event{}
		}
		// room_state and queue carry their state at the top level; give it
		// the same shape as in joined.
		switch ev.Type {
		case TypeRoomState:
			ev.State = new(RoomState)
			if json.Unmarshal(line, ev.State) != nil {
				ev.State = nil
			}
		case TypeQueue:
			ev.Share = new(Share)
			if json.Unmarshal(line, ev.Share) != nil {
				ev.Share = nil
			}
		}
		ev.Raw = line[:len(line):len(line)]
		events = append(events, ev)
	}
	return events
}

// newID returns a fresh request id ("c1", "c2", …).
func (c *Client) newID() string {
	return "c" + strconv.FormatUint(c.nextID.Add(1), 10)
}
