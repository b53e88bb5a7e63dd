package main

import (
	"errors"
	"flag"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		removeServerBuild()
		os.Exit(code)
	}))
}

// testSecret is an HS256 key long enough for the server.
const testSecret = "bench-test-secret-0123456789-0123456789-abcdef"

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	withSecret := envOf(map[string]string{"HEARTH_JWT_SECRET": testSecret})
	tests := []struct {
		name    string
		args    []string
		env     func(string) string
		wantErr string // a part of the error; "" for none
	}{
		{"defaults", nil, withSecret, ""},
		{"two loopback nodes", []string{"-url", "ws://127.0.0.1:8081/ws, ws://[::1]:8082/ws,ws://localhost:8083/ws"}, withSecret, ""},
		{"remote refused", []string{"-url", "ws://10.0.0.5:8080/ws"}, withSecret, "not on this machine"},
		{"remote name refused", []string{"-url", "wss://chat.example.org/ws"}, withSecret, "-allow-remote"},
		{"remote allowed on purpose", []string{"-url", "wss://chat.example.org/ws", "-allow-remote"}, withSecret, ""},
		{"http URL", []string{"-url", "http://127.0.0.1:8080/ws"}, withSecret, "not a ws:// or wss:// URL"},
		{"no URL", []string{"-url", " , "}, withSecret, "names no node"},
		{"no secret", nil, envOf(nil), "HEARTH_JWT_SECRET is not set"},
		{"short secret", nil, envOf(map[string]string{"HEARTH_JWT_SECRET": "short"}), "at least 32 bytes"},
		{"zero rooms", []string{"-rooms", "0"}, withSecret, "-rooms must be"},
		{"one member", []string{"-members", "1"}, withSecret, "-members must be"},
		{"over capacity", []string{"-members", "51"}, withSecret, "-members must be"},
		{"too many connections", []string{"-rooms", "1000", "-members", "20"}, withSecret, "connections; at most"},
		{"rate over the server's limit", []string{"-members", "5", "-rate", "22.6"}, withSecret, "too fast"},
		{"rate at the headroom", []string{"-members", "5", "-rate", "22.5"}, withSecret, ""},
		{"no traffic", []string{"-rate", "0"}, withSecret, ""},
		{"tiny size", []string{"-size", "10"}, withSecret, "-size must be"},
		{"huge size", []string{"-size", "4001"}, withSecret, "-size must be"},
		{"endless", []string{"-duration", "3h"}, withSecret, "-duration must be"},
		{"no ramp", []string{"-ramp", "0"}, withSecret, "-ramp must be"},
		{"regression: a ramp so slow the minted tokens expired", []string{"-ramp", "1e-300"}, withSecret, "-ramp must be"},
		{"regression: a NaN ramp", []string{"-ramp", "NaN"}, withSecret, "-ramp must be"},
		{"regression: a NaN rate panicked in the sender", []string{"-rate", "NaN"}, withSecret, "-rate must not be negative"},
		{"bad pid", []string{"-pid", "12,abc"}, withSecret, "not a process id"},
		{"stray argument", []string{"extra"}, withSecret, "unexpected argument"},
		{"largest workload", []string{"-rooms", "1000", "-members", "10"}, withSecret, ""},
		{"idle", []string{"-idle", "-rooms", "1000", "-members", "9"}, withSecret, ""},
		{"idle with a rate", []string{"-idle", "-rate", "2"}, withSecret, "-idle sends nothing"},
		{"idle with a warmup", []string{"-idle", "-warmup", "1s"}, withSecret, "-idle sends nothing"},
		{"idle and find-max", []string{"-idle", "-find-max", "50ms"}, withSecret, "exclude each other"},
		{"find-max", []string{"-find-max", "50ms", "-rate", "2"}, withSecret, ""},
		{"find-max bound too small", []string{"-find-max", "100us"}, withSecret, "-find-max must be"},
		{"find-max bound too large", []string{"-find-max", "1m"}, withSecret, "-find-max must be"},
		{"find-max from no traffic", []string{"-find-max", "50ms", "-rate", "0"}, withSecret, "must be above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, tt.env, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseConfig(%q) = %v, want no error", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			case tt.wantErr != "" && !errors.Is(err, errUsage):
				t.Fatalf("parseConfig(%q) = %v, want it to wrap errUsage (exit status 2)", tt.args, err)
			}
		})
	}
	if _, err := parseConfig([]string{"-h"}, withSecret, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestMessageText(t *testing.T) {
	sent := time.Unix(1796000000, 123456789)
	tests := []struct {
		name string
		h    header
		size int
	}{
		{"measured", header{phase: phaseMeasure, room: 149, sender: 12, seq: 4711, sent: sent}, 200},
		{"warmup", header{phase: phaseWarmup, room: 0, sender: 0, seq: 1, sent: sent}, minSize},
		{"largest", header{phase: phaseMeasure, room: maxRooms - 1, sender: maxMembers - 1, seq: math.MaxUint32, sent: sent}, maxSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := formatText(tt.h, tt.size)
			if len(text) != tt.size {
				t.Errorf("len(text) = %d, want %d", len(text), tt.size)
			}
			got, ok := parseText(text)
			if !ok || got.phase != tt.h.phase || got.room != tt.h.room || got.sender != tt.h.sender || got.seq != tt.h.seq || !got.sent.Equal(tt.h.sent) {
				t.Errorf("parseText(formatText(%+v)) = %+v, %v", tt.h, got, ok)
			}
		})
	}
	for _, text := range []string{"", "hello everyone", "hb1 m 1 2", "hb1 q 1 2 3 4 x", "hb1 m 1 2 0 4 x", "hb2 m 1 2 3 4 x", "hb1 m -1 2 3 4 x"} {
		if h, ok := parseText(text); ok {
			t.Errorf("parseText(%q) = %+v, want not ours", text, h)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		samples func(i int) time.Duration
		n       int
	}{
		{"sub-millisecond", func(i int) time.Duration { return time.Duration(i%100) * time.Microsecond }, 10000},
		{"milliseconds", func(i int) time.Duration { return time.Duration(i) * 37 * time.Microsecond }, 20000},
		{"long tail", func(i int) time.Duration {
			return time.Duration(rand.ExpFloat64() * float64(5*time.Millisecond))
		}, 50000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			all := make([]time.Duration, tt.n)
			for i := range all {
				all[i] = tt.samples(i)
				h.add(all[i])
			}
			slices.Sort(all)
			if h.count() != uint64(tt.n) || h.maxValue() != all[len(all)-1] {
				t.Fatalf("count %d, max %s; want %d, %s", h.count(), h.maxValue(), tt.n, all[len(all)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := all[int(math.Ceil(q*float64(tt.n)))-1]
				got := h.quantile(q)
				// Within one bucket: 1/64 of the value, or a microsecond.
				if got < exact || float64(got-exact) > float64(exact)/64+float64(time.Microsecond) {
					t.Errorf("quantile(%g) = %s, exact %s", q, got, exact)
				}
			}
		})
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("an empty histogram's quantile is not 0")
	}
}

// TestAccount pins how a run's deliveries are judged, on hand-made
// ledgers: received, lost (never reported), reported as a gap by a resume,
// duplicated, missed after the member gave up (told by a final close),
// sent before a member joined, refused, and unanswered sends
// that some member got (they went out) or that nobody got.
func TestAccount(t *testing.T) {
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	measured := func(s int, o sendOutcome) sendRecord { return sendRecord{start: at(s), outcome: o, measured: true} }
	got := func(r *receiver, sender int, seqs ...uint64) {
		for _, s := range seqs {
			r.receive(header{phase: phaseMeasure, sender: sender, seq: s}, false)
		}
	}
	tests := []struct {
		name  string
		build func() *roomLedger
		want  tally
	}{
		{"all received", func() *roomLedger {
			a, b := newReceiver(1), newReceiver(1)
			a.joined, b.joined = true, true
			got(a, 0, 1, 2)
			got(b, 0, 1, 2)
			return &roomLedger{senders: [][]sendRecord{{measured(1, sendConfirmed), measured(2, sendConfirmed)}}, receivers: []*receiver{a, b}}
		}, tally{Sent: 2, Confirmed: 2, Expected: 4, Received: 4}},
		{"one lost, one duplicated", func() *roomLedger {
			a, b := newReceiver(1), newReceiver(1)
			a.joined, b.joined = true, true
			got(a, 0, 1, 2, 2)
			got(b, 0, 2)
			return &roomLedger{senders: [][]sendRecord{{measured(1, sendConfirmed), measured(2, sendConfirmed)}}, receivers: []*receiver{a, b}}
		}, tally{Sent: 2, Confirmed: 2, Expected: 4, Received: 3, Lost: 1, Duplicated: 1}},
		{"missed after a drop that the resume reported", func() *roomLedger {
			a := newReceiver(1)
			a.joined = true
			got(a, 0, 1)
			a.gaps = []gapWindow{{after: []uint64{1}, until: at(4)}}
			got(a, 0, 4)
			recs := []sendRecord{measured(1, sendConfirmed), measured(2, sendConfirmed), measured(3, sendConfirmed), measured(4, sendConfirmed)}
			return &roomLedger{senders: [][]sendRecord{recs}, receivers: []*receiver{a}}
		}, tally{Sent: 4, Confirmed: 4, Expected: 4, Received: 2, Gap: 2}},
		{"missed before the drop is lost, not a gap", func() *roomLedger {
			a := newReceiver(1)
			a.joined = true
			got(a, 0, 2) // 1 never came, while connected
			a.gaps = []gapWindow{{after: []uint64{2}, until: at(4)}}
			recs := []sendRecord{measured(1, sendConfirmed), measured(2, sendConfirmed), measured(3, sendConfirmed)}
			return &roomLedger{senders: [][]sendRecord{recs}, receivers: []*receiver{a}}
		}, tally{Sent: 3, Confirmed: 3, Expected: 3, Received: 1, Lost: 1, Gap: 1}},
		{"sent after a member gave up", func() *roomLedger {
			a := newReceiver(1)
			a.joined = true
			got(a, 0, 1)
			a.gone = []uint64{1}
			return &roomLedger{senders: [][]sendRecord{{measured(1, sendConfirmed), measured(2, sendConfirmed)}}, receivers: []*receiver{a}}
		}, tally{Sent: 2, Confirmed: 2, Expected: 2, Received: 1, GaveUp: 1}},
		{"sent before the member joined", func() *roomLedger {
			a, late := newReceiver(1), newReceiver(1)
			a.joined, late.joined, late.firstJoin = true, true, at(2)
			got(a, 0, 1, 2)
			got(late, 0, 2)
			return &roomLedger{senders: [][]sendRecord{{measured(1, sendConfirmed), measured(3, sendConfirmed)}}, receivers: []*receiver{a, late}}
		}, tally{Sent: 2, Confirmed: 2, Expected: 3, Received: 3}},
		{"refused and unanswered", func() *roomLedger {
			a := newReceiver(1)
			a.joined = true
			got(a, 0, 2)
			refused := measured(3, sendRefused)
			refused.code = "unavailable"
			recs := []sendRecord{measured(1, sendUnknown), measured(2, sendUnknown), refused, {start: at(4), outcome: sendConfirmed}}
			return &roomLedger{senders: [][]sendRecord{recs}, receivers: []*receiver{a}}
		}, tally{Sent: 3, Refused: map[string]uint64{"unavailable": 1}, Unconfirmed: 2, UnconfirmedSeen: 1, Expected: 1, Received: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := account([]*roomLedger{tt.build()}, -1)
			if tt.want.Refused == nil {
				tt.want.Refused = map[string]uint64{}
			}
			if !equalTally(got, tt.want) {
				t.Errorf("account = %+v\nwant      %+v", got, tt.want)
			}
		})
	}
}

func equalTally(a, b tally) bool {
	counts := func(t tally) [11]uint64 {
		return [11]uint64{t.Sent, t.Confirmed, t.Unconfirmed, t.UnconfirmedSeen, t.Expected, t.Received, t.Lost, t.Gap, t.GaveUp, t.Duplicated, t.Recovered}
	}
	return maps.Equal(a.Refused, b.Refused) && counts(a) == counts(b)
}

func TestReadProc(t *testing.T) {
	root := t.TempDir()
	write := func(pid, stat, status string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string]string{"stat": stat, "status": status} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	status := "Name:\tserver\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n"
	// A command name with spaces and a ')' in it; utime 250, stime 50 ticks.
	write("41", "41 (my server) x) S 1 41 41 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 256\n", status)
	write("42", "42 (server) Z 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n", "Name:\tserver\nThreads:\t1\n")
	s, err := readProc(root, 41)
	if err != nil {
		t.Fatal(err)
	}
	want := procSample{CPU: 3 * time.Second, RSS: 100 << 20, PeakRSS: 200 << 20, Threads: 9}
	if s != want {
		t.Errorf("readProc = %+v, want %+v", s, want)
	}
	if _, err := readProc(root, 42); !errors.Is(err, errNoProc) {
		t.Errorf("a zombie: %v, want errNoProc", err)
	}
	if _, err := readProc(root, 43); !errors.Is(err, errNoProc) {
		t.Errorf("no such process: %v, want errNoProc", err)
	}
}

// TestJudgeStep pins when a -find-max step holds: measured, within the
// p99 bound, nothing missing or twice, no reconnect, nobody gave up, and
// few ticks skipped.
func TestJudgeStep(t *testing.T) {
	const bound = 50 * time.Millisecond
	tests := []struct {
		name                                                    string
		p99                                                     time.Duration
		samples, missing, dups, reconnects, gaveUp, sent, skips uint64
		want                                                    string
	}{
		{"held", 40 * time.Millisecond, 1000, 0, 0, 0, 0, 100, 1, ""},
		{"held at the bound", bound, 1000, 0, 0, 0, 0, 100, 0, ""},
		{"p99 over", bound + time.Millisecond, 1000, 0, 0, 0, 0, 100, 0, notHeldP99},
		{"nothing measured", 0, 0, 0, 0, 0, 0, 0, 0, notHeldNothing},
		{"one missing", time.Millisecond, 999, 1, 0, 0, 0, 100, 0, notHeldLoss},
		{"one twice", time.Millisecond, 1000, 0, 1, 0, 0, 100, 0, notHeldDuplicates},
		{"a reconnect", time.Millisecond, 1000, 0, 0, 1, 0, 100, 0, notHeldReconnects},
		{"gave up", time.Millisecond, 1000, 0, 0, 0, 1, 100, 0, notHeldGaveUp},
		{"too many skipped", time.Millisecond, 1000, 0, 0, 0, 0, 100, 2, notHeldSkipped},
	}
	for _, tt := range tests {
		if got := judgeStep(bound, tt.p99, tt.samples, tt.missing, tt.dups, tt.reconnects, tt.gaveUp, tt.sent, tt.skips); got != tt.want {
			t.Errorf("%s: judgeStep = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestAccountBySteps: with -find-max each step is accounted on its own
// messages, a duplicate counted in the step its message was sent in.
func TestAccountBySteps(t *testing.T) {
	t0 := time.Now()
	rec := func(s, step int) sendRecord {
		return sendRecord{start: t0.Add(time.Duration(s) * time.Second), outcome: sendConfirmed, measured: true, step: step}
	}
	a := newReceiver(1)
	a.joined = true
	for _, seq := range []uint64{1, 2, 3, 3} { // 4 never came; 3 came twice
		a.receive(header{phase: phaseMeasure, sender: 0, seq: seq}, false)
	}
	rl := &roomLedger{senders: [][]sendRecord{{rec(1, 0), rec(2, 0), rec(3, 1), rec(4, 1)}}, receivers: []*receiver{a}}
	for step, want := range map[int]tally{
		0:  {Sent: 2, Confirmed: 2, Expected: 2, Received: 2},
		1:  {Sent: 2, Confirmed: 2, Expected: 2, Received: 1, Lost: 1, Duplicated: 1},
		-1: {Sent: 4, Confirmed: 4, Expected: 4, Received: 3, Lost: 1, Duplicated: 1},
	} {
		want.Refused = map[string]uint64{}
		if got := account([]*roomLedger{rl}, step); !equalTally(got, want) {
			t.Errorf("step %d: account = %+v, want %+v", step, got, want)
		}
	}
}
