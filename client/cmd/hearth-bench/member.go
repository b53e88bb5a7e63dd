package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"hearth/client"
)

// Timing of one member's connection.
const (
	// connectTimeout bounds one dial with its joins.
	connectTimeout = 30 * time.Second
	// sendTimeout bounds the wait for the answer to one send.
	sendTimeout = 10 * time.Second
	// minBackoff and maxBackoff bound the wait before a reconnect attempt:
	// minBackoff doubling up to maxBackoff, less up to half of it at
	// random so that a restarted node's members do not come back at once
	// (docs/protocol.md suggests 0.5 s doubling to 30 s; a bench caps it
	// lower to keep the run short).
	minBackoff = 500 * time.Millisecond
	maxBackoff = 10 * time.Second
	// endSessionTimeout bounds a facilitator's end_session at the end.
	endSessionTimeout = 10 * time.Second
)

// Close codes the server sends when it goes away: the member reconnects to
// the next node first.
const (
	closeGoingAway      = 1001
	closeServiceRestart = 1012
)

// member is one person in a room, on one connection at a time: a member
// who sends in turn (slot ≥ 0), or the room's facilitator (slot −1), who
// opens the session and only listens. Its goroutine (run) dials, joins,
// reads events and reconnects with resume until its context ends; a
// sender's second goroutine (sendLoop) sends when the room's driver asks.
type member struct {
	b     *bench
	room  *benchRoom
	slot  int    // sender slot in the room; -1 for the facilitator
	token string // signed for the member's own user id (sub)
	name  string // display name in the room
	home  int    // index of the first node URL to use

	recv    *receiver
	records *[]sendRecord  // the sender's send attempts; nil for the facilitator
	sendq   chan sendOrder // what to send next (capacity 1); nil for the facilitator

	conn  atomic.Pointer[client.Client] // the joined connection, nil between connections
	ready chan struct{}                 // closed once the first join succeeded or the member gave up
	err   error                         // why the member gave up; written before ready closes

	// Resume state, written only by run.
	epoch   string
	lastSeq uint64
}

// facilitator reports whether m is its room's facilitator.
func (m *member) facilitator() bool { return m.slot < 0 }

// finalError is an error after which reconnecting cannot help (a refused
// token, not on the roster, a refused name).
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// run connects and reconnects until ctx ends or a final error. It closes
// m.ready after the first join (or on giving up) and leaves m.conn nil when
// it returns. ramp paces the first dial.
func (m *member) run(ctx context.Context, ramp func(context.Context) error) {
	readyDone := false
	markReady := func(err error) {
		if !readyDone {
			m.err = err
			readyDone = true
			close(m.ready)
		}
	}
	defer func() { markReady(ctx.Err()) }()
	if err := ramp(ctx); err != nil {
		return
	}
	var (
		start   = time.Now() // of the first attempt
		resume  *client.ResumePoint
		dropped []uint64  // what the receiver had when the last connection dropped
		downAt  time.Time // when it dropped
		url     = m.home
		attempt = 0
	)
	for {
		c, j, err := m.connect(ctx, m.b.cfg.URLs[url], resume)
		if ctx.Err() != nil {
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil {
			var fe *finalError
			if errors.As(err, &fe) {
				if resume != nil {
					m.b.stats.down.Add(-1)
				}
				m.giveUp(reasonOf(err), dropped)
				m.b.warnf("a member gave up: %v", err)
				markReady(err)
				return
			}
			m.b.stats.connectFailures.Add(1)
			url = (url + 1) % len(m.b.cfg.URLs)
			if !sleep(ctx, backoff(attempt)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		now := time.Now()
		if !m.recv.joined {
			m.recv.joined, m.recv.firstJoin = true, now
			m.b.connectTime.add(now.Sub(start))
		}
		if resume != nil {
			m.b.stats.down.Add(-1)
			m.b.reconnectTime.add(now.Sub(downAt))
			m.b.stats.resumes.Add(1)
			gap := j.Resume == nil || j.Resume.Gap || j.Epoch != resume.Epoch
			if j.Resume != nil {
				m.b.stats.replayedEvents.Add(uint64(j.Resume.Replayed))
			}
			if gap {
				m.b.stats.gapResumes.Add(1)
				m.recv.gaps = append(m.recv.gaps, gapWindow{after: dropped, until: now})
			}
		}
		m.b.stats.connected.Add(1)
		m.conn.Store(c)
		markReady(nil)
		code := m.consume(ctx, c, j, resume)
		m.conn.Store(nil)
		m.b.stats.connected.Add(-1)
		if ctx.Err() != nil {
			m.leave(c)
			return
		}
		downAt = time.Now()
		m.b.closeCodes.add(strconv.Itoa(code))
		dropped = m.recv.dropped()
		if !client.Reconnect(code) {
			m.giveUp(fmt.Sprintf("close %d", code), dropped)
			m.b.warnf("a member gave up: the server closed its connection with the final code %d", code)
			return
		}
		m.b.stats.reconnects.Add(1)
		m.b.stats.down.Add(1)
		resume = &client.ResumePoint{Epoch: m.epoch, Seq: m.lastSeq}
		if code == closeServiceRestart || code == closeGoingAway {
			url = (url + 1) % len(m.b.cfg.URLs) // that node is going away: try another first
		}
		if !sleep(ctx, backoff(0)) {
			return
		}
	}
}

// giveUp records that the member stops for good, for reason: the messages
// sent after what it had (dropped, or nil if it never dropped) did not
// reach it, and the member was told why (a final close code or refusal),
// which the report shows apart from silent loss.
func (m *member) giveUp(reason string, dropped []uint64) {
	m.b.gaveUp.add(reason)
	if !m.recv.joined {
		return
	}
	if dropped == nil {
		dropped = m.recv.dropped()
	}
	m.recv.gone = dropped
}

// reasonOf names why a connection attempt failed for good: the server's
// error code, else the close code, else "error".
func reasonOf(err error) string {
	var se *client.ServerError
	if errors.As(err, &se) {
		return se.Code
	}
	var de *client.DialError
	switch {
	case errors.As(err, &de) && de.CloseStatus != 0:
		return fmt.Sprintf("close %d", de.CloseStatus)
	case errors.As(err, &de) && de.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", de.HTTPStatus)
	}
	return "error"
}

// leave ends the run for a live connection: a facilitator first ends the
// session it opened (forcing it, should a crisis alert be open), so that
// the server drops the session buffer; then the connection is closed.
func (m *member) leave(c *client.Client) {
	if m.facilitator() {
		ctx, cancel := context.WithTimeout(context.Background(), endSessionTimeout)
		if _, err := c.Request(ctx, map[string]any{"type": "end_session", "room": m.room.id, "force": true}); err != nil {
			m.b.warnf("room %d: end_session: %v", m.room.idx, err)
		}
		cancel()
	}
	_ = c.Close()
}

// backoff returns the wait before reconnect attempt n (from 0).
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 30 && minBackoff<<n < maxBackoff {
		d = minBackoff << n
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connect dials url, joins the room (resuming from resume when not nil,
// and accepting the group agreement when asked, as a person who agrees
// would), and, for a facilitator, opens the session if it is not open. On
// error the connection is closed; a *finalError says retrying cannot help.
func (m *member) connect(ctx context.Context, url string, resume *client.ResumePoint) (*client.Client, client.Joined, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, m.token, &client.Options{HTTPClient: m.b.http, EventBuffer: benchEventBuffer})
	if err != nil {
		// A final close code (4401 a refused token, 4409 too many
		// connections of one user, …) or a refused upgrade will not get
		// better by retrying.
		var de *client.DialError
		if errors.As(err, &de) && ((de.CloseStatus != 0 && !client.Reconnect(de.CloseStatus)) ||
			de.HTTPStatus == http.StatusUnauthorized || de.HTTPStatus == http.StatusForbidden || de.HTTPStatus == http.StatusBadRequest) {
			return nil, client.Joined{}, &finalError{err}
		}
		return nil, client.Joined{}, err
	}
	opts := &client.JoinOptions{ResumeFrom: resume}
	j, err := c.Join(ctx, m.room.id, m.name, opts)
	var se *client.ServerError
	if errors.As(err, &se) && se.Code == "agreement_required" && se.Guidelines != nil {
		opts.Agree = se.Guidelines.Version
		j, err = c.Join(ctx, m.room.id, m.name, opts)
	}
	if err == nil && m.facilitator() && (j.State == nil || j.State.Phase != "open") {
		_, err = c.Request(ctx, map[string]any{"type": "start_session", "room": m.room.id, "minutes": sessionMinutes})
		if errors.As(err, &se) && se.Code == "session_open" {
			err = nil
		}
	}
	if err != nil {
		_ = c.Close()
		if errors.As(err, &se) {
			switch se.Code {
			case "unavailable", "internal", "rate_limited":
			default:
				return nil, client.Joined{}, &finalError{fmt.Errorf("room %d: %w", m.room.idx, err)}
			}
		}
		return nil, client.Joined{}, err
	}
	return c, j, nil
}

// consume reads c's events until the connection ends (it returns the
// close code) or ctx ends (it returns 0). It keeps the resume point and
// hands messages to the receiver.
func (m *member) consume(ctx context.Context, c *client.Client, j client.Joined, resume *client.ResumePoint) int {
	if resume != nil && j.Epoch != resume.Epoch {
		m.lastSeq = 0 // the old seqs belong to another counter
	}
	m.epoch = j.Epoch
	replaying := 0
	if j.Resume != nil {
		replaying = j.Resume.Replayed
	}
	if replaying == 0 {
		m.lastSeq = max(m.lastSeq, j.Seq)
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case ev, ok := <-c.Events():
			if !ok {
				return c.CloseStatus()
			}
			now := time.Now()
			if ev.Room != m.room.id || ev.Seq == 0 {
				continue // replies to nothing we sent, private notices
			}
			replayed := replaying > 0
			m.lastSeq = max(m.lastSeq, ev.Seq)
			if replayed {
				if replaying--; replaying == 0 {
					m.lastSeq = max(m.lastSeq, j.Seq)
				}
			}
			switch ev.Type {
			case client.TypeMessage:
				m.message(ev, replayed, now)
			case "session_ended":
				m.b.stats.sessionsEnded.Add(1)
			}
		}
	}
}

// message accounts for one message event received at now.
func (m *member) message(ev client.Event, replayed bool, now time.Time) {
	h, ok := parseText(ev.Text)
	if !ok || h.room != m.room.idx {
		m.recv.foreign++
		return
	}
	if !m.recv.receive(h, replayed) || h.phase != phaseMeasure {
		return
	}
	m.b.stats.received.Add(1)
	if !replayed {
		d := now.Sub(h.sent) // wall clock: h.sent carries no monotonic reading
		m.b.latency.add(d)
		if st := m.b.stepLatency.Load(); st != nil {
			st.add(d)
		}
	}
}

// sendOrder is the room driver's request to one sender: one message, in
// phase (phaseWarmup or phaseMeasure) of traffic step step.
type sendOrder struct {
	phase byte
	step  int
}

// sendLoop sends one message for each order the room's driver puts on
// m.sendq, until the channel is closed. Each send waits for its answer (at
// most sendTimeout, even after ctx ends, so that an answer already on its
// way is not lost to the accounting). Each order done is marked done on
// b.inflight.
func (m *member) sendLoop(size int) {
	for o := range m.sendq {
		m.send(o, size)
		m.b.inflight.Done()
	}
}

// send sends the message of order o, and records it.
func (m *member) send(o sendOrder, size int) {
	c := m.conn.Load()
	if c == nil {
		if o.phase == phaseMeasure {
			m.b.stats.skipped.Add(1)
		}
		return
	}
	if o.phase == phaseMeasure {
		m.b.stats.sent.Add(1)
	}
	rec := sendRecord{start: time.Now(), measured: o.phase == phaseMeasure, step: o.step}
	seq := uint64(len(*m.records) + 1)
	text := formatText(header{phase: o.phase, room: m.room.idx, sender: m.slot, seq: seq, sent: rec.start}, size)
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	_, err := c.Send(ctx, m.room.id, text)
	cancel()
	var se *client.ServerError
	switch {
	case err == nil:
		rec.outcome = sendConfirmed
		if rec.measured {
			m.b.stats.expected.Add(uint64(len(m.room.ledger.receivers)))
		}
	case errors.As(err, &se):
		rec.outcome, rec.code = sendRefused, se.Code
	default:
		rec.outcome = sendUnknown
	}
	*m.records = append(*m.records, rec)
}
