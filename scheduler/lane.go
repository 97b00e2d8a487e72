package scheduler

import (
	"sync"
	"sync/atomic"

	"github.com/coawait/coawait/cuda"
)

// lane is one stream and the FIFO of its pending operations. Submitters
// hold mu across enqueueing on the stream, recording the event and
// appending to q, so the queue's order is the stream's order.
type lane struct {
	s     *Scheduler
	st    cuda.Stream
	owned bool
	mu    sync.Mutex
	// submitted counts the operations enqueued on the stream, for
	// Metrics: a plain count under mu, which submitters hold anyway, costs
	// less than a shared atomic counter.
	submitted int64
	q         []*opCore
	head      int
	idle      []cuda.Event // events of settled operations, for reuse
	// first is q[head], or nil when q is empty: written under mu, read
	// without it by the loop. It has a cache line of its own, so that the
	// loop's polling does not pull in the line submitters write.
	_     [64]byte
	first atomic.Pointer[opCore]
	_     [56]byte
}

// peek returns the oldest pending operation of the lane, or nil. It takes
// no lock, so that the polling loop does not contend with submitters.
func (l *lane) peek() *opCore { return l.first.Load() }

// push appends c; the caller holds l.mu.
func (l *lane) push(c *opCore) {
	l.q = append(l.q, c)
	if len(l.q)-l.head == 1 {
		l.first.Store(c)
	}
}

// event returns an idle event of lane l, creating one if none is idle.
// The caller holds l.mu.
func (s *Scheduler) event(l *lane) (cuda.Event, error) {
	if n := len(l.idle); n > 0 {
		ev := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return ev, nil
	}
	var flags cuda.EventFlags
	if s.opts.spans == 0 {
		flags = cuda.EventDisableTiming
	}
	return s.dev.NewEvent(flags)
}

// putEvents returns idle events to lane l for reuse.
func (l *lane) putEvents(evs ...cuda.Event) {
	l.mu.Lock()
	for _, ev := range evs {
		if ev != nil {
			l.idle = append(l.idle, ev)
		}
	}
	l.mu.Unlock()
}

// laneFor returns the lane of stream st, adding it on first use, or nil
// if st belongs to another device.
func (s *Scheduler) laneFor(st cuda.Stream) *lane {
	// A program that picks a stream usually picks the same one many times
	// in a row: one comparison instead of a search.
	if l := s.last.Load(); l != nil && l.st == st {
		return l
	}
	for _, l := range *s.lanes.Load() {
		if l.st == st {
			if s.last.Load() != l {
				s.last.Store(l)
			}
			return l
		}
	}
	if st.Device() != s.dev {
		return nil // keep no lane for it: the loop would poll it for ever
	}
	s.lanesMu.Lock()
	defer s.lanesMu.Unlock()
	old := *s.lanes.Load()
	for _, l := range old {
		if l.st == st {
			return l
		}
	}
	l := &lane{s: s, st: st}
	s.watch(l)
	lanes := append(old[:len(old):len(old)], l)
	s.lanes.Store(&lanes)
	return l
}

// lanesEmpty reports whether no lane has a pending operation.
func (s *Scheduler) lanesEmpty() bool {
	for _, l := range *s.lanes.Load() {
		if l.first.Load() != nil {
			return false
		}
	}
	return true
}

// publishHeadLocked stores the lane's new oldest pending operation for the
// loop's lock-free look, after operations were taken off the head of l.q;
// an emptied queue is reset to reuse its array. The caller holds l.mu.
func (l *lane) publishHeadLocked() {
	if l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
		l.first.Store(nil)
	} else {
		l.first.Store(l.q[l.head])
	}
}
