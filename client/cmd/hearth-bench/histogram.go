package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets of microseconds: exact
// below 128 µs, then 64 buckets per power of two, so a quantile read from
// it is within 1/64 (1.6 %) of the true value. Its memory is fixed (about
// 30 KiB) however many samples it takes. It is safe for concurrent use:
// every field is atomic.
//
// (No histogram library is in go.mod; an HDR histogram would do the same.)
type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64 // nanoseconds
}

const (
	histSubBits = 6                            // 64 buckets per power of two
	histLinear  = 2 << histSubBits             // values below this (128 µs) have a bucket each
	histBuckets = histLinear + 57<<histSubBits // up to 2^63 µs
)

// bucketOf returns the bucket of v microseconds.
func bucketOf(v uint64) int {
	if v < histLinear {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // v>>e is in [64, 128)
	return histLinear + (e-1)<<histSubBits + int(v>>e) - 1<<histSubBits
}

// bucketHigh returns the largest value, in microseconds, of bucket i.
func bucketHigh(i int) uint64 {
	if i < histLinear {
		return uint64(i)
	}
	i -= histLinear
	e := i>>histSubBits + 1
	m := uint64(i&(1<<histSubBits-1)) + 1<<histSubBits
	return (m+1)<<e - 1
}

// add records one sample; a negative one (clocks disagreeing) counts as 0.
func (h *histogram) add(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d/time.Microsecond))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// count returns how many samples were recorded.
func (h *histogram) count() uint64 { return h.n.Load() }

// quantile returns the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket that holds it, but never more than the largest sample; 0 without
// samples. Call it once recording has stopped.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if float64(rank) < q*float64(n) {
		rank++ // the smallest rank whose share reaches q
	}
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketHigh(i))*time.Microsecond+time.Microsecond-1, h.maxValue())
		}
	}
	return h.maxValue()
}

// maxValue returns the largest sample.
func (h *histogram) maxValue() time.Duration { return time.Duration(h.max.Load()) }
