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
	// LoopBusy is the time the loop was neither parked, sleeping nor
	// blocked in the device (so polling, spinning or settling): an upper
	// bound of the CPU time it used.
	LoopBusy time.Duration
	// WakeLatency is the distribution of the time from the device
	// completing an operation to the loop settling its future (and so
	// waking its waiters), for devices that report completion times.
	WakeLatency Histogram
}

// metrics are the live counters behind Metrics.
type metrics struct {
	completed, failed, rejected atomic.Int64
	polls, parks, sleeps, syncs atomic.Int64
	busy                        atomic.Int64 // nanoseconds
	latency                     histogram
}

// Metrics returns a snapshot of the scheduler's counters.
func (s *Scheduler) Metrics() Metrics {
	var submitted int64
	for _, l := range *s.lanes.Load() {
		l.mu.Lock()
		submitted += l.submitted
		l.mu.Unlock()
	}
	return Metrics{
		Submitted:   submitted,
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

// A histogram has log-linear buckets: subBuckets per power of two, so a
// bucket's upper edge is at most 25% above any value in it. Bucket 0 holds
// durations under subBuckets ns (exactly, one ns per bucket below that).
const (
	subBits    = 2
	subBuckets = 1 << subBits
	numBuckets = 64 * subBuckets
)

// bucketOf returns the bucket of d.
func bucketOf(d time.Duration) int {
	if d < subBuckets {
		return int(max(d, 0))
	}
	v := uint64(d)
	exp := bits.Len64(v) - 1 // v is in [2^exp, 2^(exp+1))
	sub := int(v>>(exp-subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + sub
}

// upperEdge returns the smallest duration above every value of bucket i.
func upperEdge(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i + 1)
	}
	exp := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	return time.Duration((subBuckets + sub + 1) << (exp - subBits))
}

// histogram is a lock-free log-linear histogram of durations.
type histogram struct {
	counts [numBuckets]atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	h.counts[min(bucketOf(d), numBuckets-1)].Add(1)
}

func (h *histogram) snapshot() Histogram {
	var out Histogram
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	return out
}

// Histogram is a distribution of durations in log-linear buckets: four per
// power of two, so each bucket's upper edge is within 25% of its values.
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
// upper edge of the bucket that holds it, at most 25% above the true
// value. It returns 0 for an empty histogram.
func (h Histogram) Quantile(q float64) time.Duration {
	total := h.Total()
	if total == 0 || q <= 0 {
		return 0
	}
	rank := int64(math.Ceil(min(q, 1) * float64(total)))
	var seen int64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return upperEdge(i)
		}
	}
	return upperEdge(numBuckets - 1)
}
