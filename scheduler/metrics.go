package scheduler

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Metrics is a snapshot of a scheduler's counters.
type Metrics struct {
	// Submitted counts operations enqueued on the device.
	Submitted int64
	// Completed and Failed count submitted operations that settled with a
	// value or with a device error.
	Completed, Failed int64
	// Rejected counts operations that failed without being submitted (bad
	// input, a failed dependency, a closed scheduler).
	Rejected int64
	// Pending is the number of submitted operations not yet settled.
	Pending int64
	// Polls counts event queries made by the loop.
	Polls int64
	// Parks counts the times the loop parked because nothing was pending;
	// Sleeps the back-off sleeps of the Adaptive policy; Syncs the
	// device synchronize calls of the Blocking policy.
	Parks, Sleeps, Syncs int64
	// LoopBusy is the time the loop spent polling and settling, outside
	// parks and sleeps: an upper bound of the CPU time it used.
	LoopBusy time.Duration
	// WakeLatency is the distribution of the time from the device
	// completing an operation to the loop settling its future (and so
	// waking its waiters), for devices that report completion times.
	WakeLatency Histogram
}

// metrics are the live counters behind Metrics.
type metrics struct {
	submitted, completed, failed, rejected atomic.Int64
	polls, parks, sleeps, syncs            atomic.Int64
	busy                                   atomic.Int64 // nanoseconds
	latency                                histogram
}

// Metrics returns a snapshot of the scheduler's counters.
func (s *Scheduler) Metrics() Metrics {
	return Metrics{
		Submitted:   s.m.submitted.Load(),
		Completed:   s.m.completed.Load(),
		Failed:      s.m.failed.Load(),
		Rejected:    s.m.rejected.Load(),
		Pending:     s.pending.Load(),
		Polls:       s.m.polls.Load(),
		Parks:       s.m.parks.Load(),
		Sleeps:      s.m.sleeps.Load(),
		Syncs:       s.m.syncs.Load(),
		LoopBusy:    time.Duration(s.m.busy.Load()),
		WakeLatency: s.m.latency.snapshot(),
	}
}

// numBuckets covers 1ns to about 1000s in powers of two.
const numBuckets = 40

// histogram is a lock-free histogram with power-of-two buckets: bucket i
// counts durations d with 2^(i-1) <= d < 2^i nanoseconds (bucket 0: d < 1).
type histogram struct {
	counts [numBuckets]atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	if d > 0 {
		i = min(bits.Len64(uint64(d)), numBuckets-1)
	}
	h.counts[i].Add(1)
}

func (h *histogram) snapshot() Histogram {
	var out Histogram
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	return out
}

// Histogram is a distribution of durations in power-of-two buckets:
// Counts[i] counts durations of at least 2^(i-1) and less than 2^i
// nanoseconds (Counts[0]: under 1ns).
type Histogram struct {
	Counts [numBuckets]int64
}

// Total is the number of observations.
func (h Histogram) Total() int64 {
	var n int64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile returns an upper bound of the q-th quantile (0 < q <= 1): the
// upper edge of the bucket that holds it, so the true value is at most
// this and more than half of it. It returns 0 for an empty histogram.
func (h Histogram) Quantile(q float64) time.Duration {
	total := h.Total()
	if total == 0 || q <= 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			if i == 0 {
				return 1
			}
			return time.Duration(uint64(1) << i)
		}
	}
	return time.Duration(uint64(1) << (numBuckets - 1))
}
