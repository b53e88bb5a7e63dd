package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go supports (getconf
// CLK_TCK says so; reading it needs cgo).
const clockTicks = 100

// sampleEvery is how often the server processes are read from /proc.
const sampleEvery = time.Second

// procSample is one reading of a process from /proc.
type procSample struct {
	CPU     time.Duration // user + system time since the process started
	RSS     uint64        // resident set size now, bytes (VmRSS)
	PeakRSS uint64        // peak resident set size, bytes (VmHWM)
	Threads int           // OS threads (a Go server's goroutines are not visible from outside)
}

// errNoProc says /proc holds no such process (it exited, or this is not
// Linux).
var errNoProc = errors.New("no such process in /proc")

// readProc reads process pid from root (normally "/proc").
func readProc(root string, pid int) (procSample, error) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procSample{}, fmt.Errorf("pid %d: %w (%v)", pid, errNoProc, err)
	}
	var s procSample
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return procSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return procSample{}, fmt.Errorf("pid %d: %w (%v)", pid, errNoProc, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSS = n << 10 // kB
		case "VmHWM":
			s.PeakRSS = n << 10
		case "Threads":
			s.Threads = int(n)
		}
	}
	return s, nil
}

// parseStatCPU returns utime + stime from the contents of /proc/<pid>/stat.
// The command name (field 2) is in parentheses and may hold spaces, so the
// fields are counted after its last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("/proc stat: too few fields")
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errNoProc // exited, not yet reaped: its memory is gone
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("/proc stat: utime or stime is not a number")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procStats is what the run learnt of one server process.
type procStats struct {
	PID     int    `json:"pid"`
	Source  string `json:"source"` // "-pid" or the PID file it was read from
	Running bool   `json:"running_at_end"`
	// CPUSeconds is the CPU time (user + system) the process used during
	// the run: since the first reading, or since it started if it started
	// during the run. A process that exited counts up to its last reading
	// (at most a second before it exited).
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSSBytes is the process's peak resident set size (VmHWM), as
	// last read while it ran.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`

	first, last procSample
	seenAtStart bool
}

// procWatch reads the server processes every sampleEvery: the PIDs given,
// and those in PID files (read again each time, so a restarted node's new
// process is followed). Its methods are safe for concurrent use.
type procWatch struct {
	root     string
	pids     []int
	pidFiles []string

	mu      sync.Mutex
	procs   map[int]*procStats
	order   []int // PIDs in the order first seen
	started bool
}

func newProcWatch(pids []int, pidFiles []string) *procWatch {
	return &procWatch{root: "/proc", pids: pids, pidFiles: pidFiles, procs: map[int]*procStats{}}
}

// enabled reports whether there is anything to watch.
func (w *procWatch) enabled() bool { return len(w.pids)+len(w.pidFiles) > 0 }

// targets returns the PIDs to read now, each with where it came from.
func (w *procWatch) targets() map[int]string {
	t := map[int]string{}
	for _, p := range w.pids {
		t[p] = "-pid"
	}
	for _, f := range w.pidFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // not written yet, or being rewritten
		}
		if p, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && p > 0 {
			t[p] = f
		}
	}
	return t
}

// sample reads every target once and returns the current readings.
func (w *procWatch) sample() map[int]procSample {
	now := map[int]procSample{}
	for pid, src := range w.targets() {
		s, err := readProc(w.root, pid)
		if err != nil {
			continue
		}
		now[pid] = s
		w.mu.Lock()
		ps := w.procs[pid]
		if ps == nil {
			ps = &procStats{PID: pid, Source: src, first: s, last: s, seenAtStart: !w.started}
			w.procs[pid] = ps
			w.order = append(w.order, pid)
		}
		ps.last.CPU = max(ps.last.CPU, s.CPU)
		ps.last.PeakRSS = max(ps.last.PeakRSS, s.PeakRSS)
		ps.last.RSS, ps.last.Threads = s.RSS, s.Threads
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.started = true
	for pid, ps := range w.procs {
		_, ps.Running = now[pid]
	}
	w.mu.Unlock()
	return now
}

// run samples until ctx ends.
func (w *procWatch) run(ctx context.Context) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sample()
		}
	}
}

// snapshot reads every target now and sums them: RSS, threads and CPU
// time (since each started) of the server processes at this moment, and
// how many were read.
func (w *procWatch) snapshot() (rss uint64, threads int, n int, cpu time.Duration) {
	for _, s := range w.sample() {
		rss += s.RSS
		threads += s.Threads
		cpu += s.CPU
		n++
	}
	return rss, threads, n, cpu
}

// cpu reads every target now and returns their CPU time (user + system
// since each started), summed; ok is false when none could be read.
func (w *procWatch) cpu() (total time.Duration, ok bool) {
	if !w.enabled() {
		return 0, false
	}
	for _, s := range w.sample() {
		total += s.CPU
		ok = true
	}
	return total, ok
}

// stats returns what was learnt of each process, in the order first seen.
func (w *procWatch) stats() []procStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]procStats, 0, len(w.order))
	for _, pid := range w.order {
		ps := *w.procs[pid]
		cpu := ps.last.CPU
		if ps.seenAtStart {
			cpu -= ps.first.CPU
		}
		ps.CPUSeconds = cpu.Seconds()
		ps.PeakRSSBytes = ps.last.PeakRSS
		out = append(out, ps)
	}
	return out
}
