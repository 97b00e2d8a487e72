package scheduler

import (
	"sync"
	"time"
)

// A Span is one operation's life: when the host submitted it, when the
// device ran it (from timing events, relative to the scheduler's start on
// the device's clock) and when its future settled.
type Span struct {
	Name string
	// Stream is the index of the operation's stream: 0 copy-in, 1 compute,
	// 2 copy-out, higher for streams given with OnStream, in order of
	// first use.
	Stream int
	// Submitted and Settled are host wall-clock times.
	Submitted, Settled time.Time
	// DeviceStart and DeviceEnd are device times since the scheduler's
	// reference event; Timed is false if the device could not time the
	// operation (for example because it failed).
	DeviceStart, DeviceEnd time.Duration
	Timed                  bool
	Err                    error
}

// spanRing keeps the last n spans.
type spanRing struct {
	mu    sync.Mutex
	spans []Span
	next  int
	full  bool
}

func (r *spanRing) init(n int) {
	if n > 0 {
		r.spans = make([]Span, n)
	}
}

// record adds c's span, if spans are on.
func (r *spanRing) record(s *Scheduler, c *opCore, err error) {
	if len(r.spans) == 0 || c.x == nil || c.x.startEv == nil {
		return
	}
	sp := Span{Name: c.opName(), Stream: s.laneIndex(c.lane), Submitted: c.x.submitted, Settled: time.Now(), Err: err}
	if err == nil && s.ref != nil {
		start, err1 := s.dev.ElapsedTime(s.ref, c.x.startEv)
		end, err2 := s.dev.ElapsedTime(s.ref, c.ev)
		if err1 == nil && err2 == nil {
			sp.DeviceStart, sp.DeviceEnd, sp.Timed = start, end, true
		}
	}
	r.mu.Lock()
	r.spans[r.next] = sp
	r.next++
	if r.next == len(r.spans) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// Spans returns the recorded spans, oldest first (at most the n of
// WithSpans; nil without it).
func (s *Scheduler) Spans() []Span {
	r := &s.tr
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) == 0 {
		return nil
	}
	if !r.full {
		return append([]Span(nil), r.spans[:r.next]...)
	}
	return append(append([]Span(nil), r.spans[r.next:]...), r.spans[:r.next]...)
}

func (s *Scheduler) laneIndex(l *lane) int {
	for i, x := range *s.lanes.Load() {
		if x == l {
			return i
		}
	}
	return -1
}
