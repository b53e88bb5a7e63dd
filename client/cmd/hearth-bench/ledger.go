package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Each message's text carries, in ASCII, everything a receiver needs to
// account for it, then padding up to -size bytes:
//
//	hb1 <phase> <room> <sender> <seq> <sent unix ns> xxxx…
//
// phase is "w" during warmup and "m" while measuring; room the room's index
// in this run; sender the sender's slot in the room (0 … -members−1); seq
// the sender's own sequence, from 1, one per send attempt; sent the wall
// clock just before the send, in Unix nanoseconds (receivers are on the
// same machine, so latency compares two readings of one clock).
const msgMagic = "hb1"

// Phases of traffic, as carried in each message.
const (
	phaseWarmup  = 'w'
	phaseMeasure = 'm'
)

// header is what a message's text says about it.
type header struct {
	phase  byte
	room   int
	sender int
	seq    uint64
	sent   time.Time
}

// formatText returns the text of message h, padded with 'x' to size bytes.
func formatText(h header, size int) string {
	s := fmt.Sprintf("%s %c %d %d %d %d ", msgMagic, h.phase, h.room, h.sender, h.seq, h.sent.UnixNano())
	if len(s) >= size {
		return s
	}
	return s + strings.Repeat("x", size-len(s))
}

// parseText reads the header of a message's text; ok is false for a text
// that is not one of ours.
func parseText(text string) (h header, ok bool) {
	f := strings.SplitN(text, " ", 7)
	if len(f) < 6 || f[0] != msgMagic || len(f[1]) != 1 || (f[1][0] != phaseWarmup && f[1][0] != phaseMeasure) {
		return header{}, false
	}
	room, err1 := strconv.Atoi(f[2])
	sender, err2 := strconv.Atoi(f[3])
	seq, err3 := strconv.ParseUint(f[4], 10, 64)
	ns, err4 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || room < 0 || sender < 0 || seq == 0 {
		return header{}, false
	}
	return header{phase: f[1][0], room: room, sender: sender, seq: seq, sent: time.Unix(0, ns)}, true
}

// sendOutcome is what became of one send attempt.
type sendOutcome uint8

const (
	// sendConfirmed: the server answered ok; the message went out.
	sendConfirmed sendOutcome = iota + 1
	// sendRefused: the server answered error; nothing went out.
	sendRefused
	// sendUnknown: no answer (the connection dropped, or the wait timed
	// out); it may or may not have gone out.
	sendUnknown
)

// sendRecord is one send attempt, at index seq−1 of its sender's records.
type sendRecord struct {
	start    time.Time // just before the send (monotonic)
	outcome  sendOutcome
	measured bool
	step     int    // the traffic step it was sent in (0 without -find-max)
	code     string // the server's error code, when refused
}

// msgRef names one message: its sender slot and the sender's seq.
type msgRef struct {
	sender int
	seq    uint64
}

// bitset is a growable set of small numbers.
type bitset []uint64

func (b *bitset) add(i uint64) (added bool) {
	w := int(i / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	bit := uint64(1) << (i % 64)
	if (*b)[w]&bit != 0 {
		return false
	}
	(*b)[w] |= bit
	return true
}

func (b bitset) has(i uint64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// gapWindow is what a resume reported as unrecoverable: every message a
// sender sent after the last one this receiver had from it when the
// connection dropped (after[sender]), and before the resuming join was
// answered (until).
type gapWindow struct {
	after []uint64
	until time.Time
}

// receiver is what one member (or facilitator) got, across all its
// connections. It is written only by that member's goroutine and read once
// the run has stopped.
type receiver struct {
	joined    bool      // a join has succeeded
	firstJoin time.Time // when the first join was answered (monotonic)
	got       []bitset  // per sender slot: the seqs received
	last      []uint64  // per sender slot: the highest seq received
	gaps      []gapWindow
	// gone, when not nil, is what the member had (per sender slot, the
	// highest seq) when it stopped for good on a final error: it was told,
	// but got nothing after.
	gone      []uint64
	dups      []msgRef // each extra copy of a measured message (rare: a list)
	recovered uint64   // measured messages received from a resume's replay
	foreign   uint64   // messages in this room not from this run's senders
}

func newReceiver(senders int) *receiver {
	return &receiver{got: make([]bitset, senders), last: make([]uint64, senders)}
}

// receive records message h; replayed says it came from a resume's replay.
// It reports whether it was new (not a duplicate).
func (r *receiver) receive(h header, replayed bool) bool {
	if h.sender >= len(r.got) {
		r.foreign++
		return false
	}
	if !r.got[h.sender].add(h.seq) {
		if h.phase == phaseMeasure {
			r.dups = append(r.dups, msgRef{h.sender, h.seq})
		}
		return false
	}
	r.last[h.sender] = max(r.last[h.sender], h.seq)
	if replayed && h.phase == phaseMeasure {
		r.recovered++
	}
	return true
}

// dropped returns what this receiver had when its connection dropped, to
// become a gapWindow if the resume says so.
func (r *receiver) dropped() []uint64 {
	return append([]uint64(nil), r.last...)
}

// inGap reports whether message seq of sender, sent at start, falls in a
// window a resume reported as unrecoverable.
func (r *receiver) inGap(sender int, seq uint64, start time.Time) bool {
	for _, g := range r.gaps {
		if seq > g.after[sender] && start.Before(g.until) {
			return true
		}
	}
	return false
}

// tally is the accounting of a whole run's measured messages.
type tally struct {
	Sent        uint64            // send attempts while measuring
	Confirmed   uint64            // answered ok
	Refused     map[string]uint64 // answered error, by code
	Unconfirmed uint64            // no answer
	// UnconfirmedSeen are unconfirmed sends that some receiver got: they
	// went out, and count as sent messages.
	UnconfirmedSeen uint64
	Expected        uint64 // deliveries that should have happened
	Received        uint64 // of those, received (live or replayed)
	Lost            uint64 // not received, and not in a window a resume reported as a gap
	Gap             uint64 // not received, in a window a resume reported as a gap
	GaveUp          uint64 // not received by a member that had stopped on a final error
	Duplicated      uint64 // received more than once
	Recovered       uint64 // received from a resume's replay
}

// room is one room of the run, with its members' records.
type roomLedger struct {
	senders   [][]sendRecord // per sender slot; written by that sender's goroutine
	receivers []*receiver    // every connection of the room: the members, then the facilitator
}

// account counts the measured messages of rooms sent in traffic step
// step, or in every step when step < 0 (Recovered is counted only then).
// Call it once every goroutine has stopped.
func account(rooms []*roomLedger, step int) tally {
	t := tally{Refused: map[string]uint64{}}
	inStep := func(rec sendRecord) bool { return rec.measured && (step < 0 || rec.step == step) }
	for _, rm := range rooms {
		for s, recs := range rm.senders {
			for i, rec := range recs {
				if !inStep(rec) {
					continue
				}
				seq := uint64(i + 1)
				t.Sent++
				switch rec.outcome {
				case sendConfirmed:
					t.Confirmed++
				case sendUnknown:
					t.Unconfirmed++
					seen := false
					for _, r := range rm.receivers {
						seen = seen || r.got[s].has(seq)
					}
					if !seen {
						continue // most likely never went out
					}
					t.UnconfirmedSeen++
				default:
					t.Refused[rec.code]++
					continue // nothing went out
				}
				for _, r := range rm.receivers {
					if !r.joined || !rec.start.After(r.firstJoin) {
						continue // sent before this receiver was in the room
					}
					t.Expected++
					switch {
					case r.got[s].has(seq):
						t.Received++
					case r.inGap(s, seq, rec.start):
						t.Gap++
					case r.gone != nil && seq > r.gone[s]:
						t.GaveUp++
					default:
						t.Lost++
					}
				}
			}
		}
		for _, r := range rm.receivers {
			for _, d := range r.dups {
				if recs := rm.senders[d.sender]; step < 0 || d.seq <= uint64(len(recs)) && inStep(recs[d.seq-1]) {
					t.Duplicated++
				}
			}
			if step < 0 {
				t.Recovered += r.recovered
			}
		}
	}
	return t
}
