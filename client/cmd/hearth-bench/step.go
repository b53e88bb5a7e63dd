package main

import (
	"context"
	"os"
	"sync"
	"time"
)

// Why -find-max stopped stepping (report.FindMax.Stopped), besides a
// step's own reason for not holding (notHeld…).
const (
	stopRateCap     = "rate_cap"    // the last step held at the highest rate -rate allows for -members
	stopMaxSteps    = "max_steps"   // maxFindMaxSteps steps held
	stopInterrupted = "interrupted" // Ctrl-C
)

// Why a step did not hold.
const (
	notHeldNothing    = "no_deliveries"  // nothing measured (no live delivery)
	notHeldP99        = "p99_over_bound" // p99 latency above -find-max
	notHeldLoss       = "loss"           // an expected delivery did not arrive
	notHeldDuplicates = "duplicates"     // a delivery arrived twice
	notHeldReconnects = "reconnects"     // a connection dropped (a slow reader cut off, say)
	notHeldGaveUp     = "gave_up"        // a member stopped on a final error
	notHeldSkipped    = "skipped_ticks"  // more than findMaxSkipShare of the ticks found every sender still waiting
)

// step is one traffic phase at one rate: a warmup, a measurement and a
// drain. The counts are what changed from the start of its measurement to
// the end of its drain (approximate while the run goes on; fill replaces
// them with the exact accounting of the step's messages).
type step struct {
	index int
	rate  float64 // messages per second per room

	latency   *histogram // live deliveries during this step
	measured  time.Duration
	serverCPU time.Duration // the servers' CPU during the measurement; 0 when not read
	benchCPU  time.Duration // hearth-bench's own CPU during the measurement; 0 when not read

	sent, skipped, reconnects, gaveUp uint64
	expected, received                uint64

	p99 time.Duration
	why string // why it did not hold; "" when it held
}

// judgeStep says why a step did not hold, or "" when it held: a live
// delivery measured, p99 within bound, every expected delivery received
// (missing counts those lost, reported as a gap, or to members who gave
// up), none twice, no reconnect, nobody gave up, and at most
// findMaxSkipShare of the ticks skipped.
func judgeStep(bound, p99 time.Duration, samples, missing, duplicated, reconnects, gaveUp, sent, skipped uint64) string {
	switch {
	case samples == 0:
		return notHeldNothing
	case missing > 0:
		return notHeldLoss
	case duplicated > 0:
		return notHeldDuplicates
	case gaveUp > 0:
		return notHeldGaveUp
	case reconnects > 0:
		return notHeldReconnects
	case float64(skipped) > findMaxSkipShare*float64(sent+skipped):
		return notHeldSkipped
	case p99 > bound:
		return notHeldP99
	}
	return ""
}

// counters is a reading of the run's counters, to take differences.
type counters struct {
	sent, skipped, reconnects, gaveUp, expected, received uint64
}

func (b *bench) counters() counters {
	s := &b.stats
	return counters{sent: s.sent.Load(), skipped: s.skipped.Load(), reconnects: s.reconnects.Load(),
		gaveUp: sum(b.gaveUp.snapshot()), expected: s.expected.Load(), received: s.received.Load()}
}

// runStep runs traffic step st: -warmup, then -duration measured at
// st.rate, then a wait for every send to be answered and (at most -drain)
// for deliveries in flight. ctx ending (Ctrl-C) cuts it short. It fills
// st's measurement and counts and, with -find-max, judges it (st.why).
func (b *bench) runStep(ctx context.Context, rooms []*benchRoom, st *step, rep *report, procs *procWatch) {
	cfg := b.cfg
	st.latency = new(histogram)
	b.stepLatency.Store(st.latency)
	b.stepIndex.Store(int64(st.index))
	warmupEnd := time.Now().Add(cfg.Warmup)
	end := warmupEnd.Add(cfg.Duration)
	if st.index == 0 {
		b.progressf("warming up for %s", cfg.Warmup)
	} else {
		b.progressf("step %d: %g messages per second per room; warming up for %s", st.index+1, st.rate, cfg.Warmup)
	}
	trafficCtx, stopTraffic := context.WithDeadline(ctx, end)
	defer stopTraffic()
	var drivers, progress sync.WaitGroup
	for _, rm := range rooms {
		drivers.Go(func() { b.drive(trafficCtx, rm, st.rate, st.index, warmupEnd) })
	}
	progress.Go(func() { b.progress(trafficCtx, warmupEnd, end) })
	if sleepUntil(trafficCtx, warmupEnd) { // else interrupted during the warmup: nothing is measured
		b.progressf("measuring for %s", cfg.Duration)
	}
	measureStart := time.Now()
	start := b.counters()
	cpuStart, cpuRead := procs.cpu()
	selfStart, selfErr := readProc("/proc", os.Getpid())
	if st.index == 0 {
		rep.snapshot("measure_start", procs)
	}
	<-trafficCtx.Done()
	drivers.Wait()
	progress.Wait()
	if time.Now().After(warmupEnd) {
		st.measured = time.Since(measureStart)
	}
	if cpuEnd, ok := procs.cpu(); ok && cpuRead {
		st.serverCPU = cpuEnd - cpuStart
	}
	if selfEnd, err := readProc("/proc", os.Getpid()); err == nil && selfErr == nil {
		st.benchCPU = selfEnd.CPU - selfStart.CPU
	}
	b.inflight.Wait() // every send answered (or timed out): expected is final

	drain := cfg.Drain
	if ctx.Err() != nil {
		drain = min(drain, interruptDrain)
	}
	b.progressf("traffic stopped; waiting up to %s for deliveries in flight", drain)
	drainStart := time.Now()
	b.waitDrained(drain)
	rep.DrainSeconds += time.Since(drainStart).Seconds()

	now := b.counters()
	st.sent, st.skipped = now.sent-start.sent, now.skipped-start.skipped
	st.reconnects, st.gaveUp = now.reconnects-start.reconnects, now.gaveUp-start.gaveUp
	st.expected, st.received = now.expected-start.expected, now.received-start.received
	st.p99 = st.latency.quantile(0.99)
	if cfg.FindMax > 0 {
		missing := uint64(0)
		if st.expected > st.received {
			missing = st.expected - st.received
		}
		st.why = judgeStep(cfg.FindMax, st.p99, st.latency.count(), missing, 0, st.reconnects, st.gaveUp, st.sent, st.skipped)
	}
}
