// Package order is the device order of streams that the busy rule of host
// buffers follows: a vector clock per stream, advanced by event records and
// joined by waits. Package cuda/internal/kit uses it for the simulator and
// package cuda for the CUDA backend (which cannot import kit); it imports
// nothing of cuda's.
package order

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// Queue is a stream's place in its device's order of work, kept by a
// backend so that the busy rule of host buffers follows that order (see
// cuda.HostBuffer): a copy may use a buffer that earlier copies hold if it is
// ordered after each of them on the device, that is, if it is on the same
// stream, or its stream waited (cuda.Stream.WaitEvent), directly or through
// other streams, for an event recorded after them.
//
// It is a vector clock: each queue counts the events recorded on it, and
// remembers, for every other queue it waited for, the last recording it
// is ordered after. The methods are not safe for concurrent use: the
// backend calls them under the lock that orders its submissions to the
// stream. The zero Queue is unordered with everything; make queues with
// [NewQueue].
type Queue struct {
	id    uint64 // written once by NewQueue; 0 for the zero Queue
	epoch uint64 // recordings so far + 1: uses at epoch are covered by the next mark
	// after is what the queue waited for, nil for nothing; the clock it
	// points to is immutable once stored, so a Mark shares it by pointer
	// (keeping a Mark, which every recorded event holds, small).
	after *clock
}

// clock maps queue ids to epochs, sorted by id; a clock is never changed
// once a Queue or a Mark holds it, so marks share it without copying.
type clock []tick

type tick struct{ id, epoch uint64 }

// ticks returns the clock c points to, or nil for a nil c.
func (c *clock) ticks() clock {
	if c == nil {
		return nil
	}
	return *c
}

// get returns the epoch of queue id in c, or 0.
func (c clock) get(id uint64) uint64 {
	i, found := slices.BinarySearchFunc(c, id, func(t tick, id uint64) int { return cmp.Compare(t.id, id) })
	if !found {
		return 0
	}
	return c[i].epoch
}

var queueIDs atomic.Uint64

// NewQueue returns the order of a new stream, ordered after nothing.
func NewQueue() *Queue { return &Queue{id: queueIDs.Add(1), epoch: 1} }

// A Mark is a point of a queue, taken when an event is recorded: work
// that waits for the event is ordered after everything submitted to the
// queue before the mark and after everything the queue was ordered after.
// The zero Mark orders nothing.
type Mark struct {
	id, epoch uint64
	after     *clock // shared with the queue; immutable
}

// Mark returns the queue's current point, for an event recorded now, and
// starts a new epoch: uses after the call are not covered by the mark.
func (q *Queue) Mark() Mark {
	if q == nil || q.id == 0 {
		return Mark{}
	}
	m := Mark{id: q.id, epoch: q.epoch, after: q.after}
	q.epoch++
	return m
}

// Wait orders the queue's later work after m, as WaitEvent does.
func (q *Queue) Wait(m Mark) {
	if q == nil || q.id == 0 || m.id == 0 {
		return
	}
	if q.covers(m.id, m.epoch) && q.coversAll(m.after.ticks()) {
		return // nothing new: no allocation
	}
	mine, theirs := q.after.ticks(), m.after.ticks()
	next := make(clock, 0, len(mine)+len(theirs)+1)
	add := func(t tick) {
		if t.id == q.id {
			return // a queue is always ordered after itself
		}
		if i, found := slices.BinarySearchFunc(next, t.id, func(x tick, id uint64) int { return cmp.Compare(x.id, id) }); found {
			next[i].epoch = max(next[i].epoch, t.epoch)
		} else {
			next = slices.Insert(next, i, t)
		}
	}
	for _, t := range mine {
		add(t)
	}
	for _, t := range theirs {
		add(t)
	}
	add(tick{m.id, m.epoch})
	q.after = &next
}

// covers reports whether work submitted to q now is ordered after the use
// of queue id at epoch.
func (q *Queue) covers(id, epoch uint64) bool {
	if q == nil || q.id == 0 || id == 0 {
		return false
	}
	return id == q.id || q.after.ticks().get(id) >= epoch
}

func (q *Queue) coversAll(c clock) bool {
	for _, t := range c {
		if !q.covers(t.id, t.epoch) {
			return false
		}
	}
	return true
}

// Point is where a copy was submitted: its queue and that queue's epoch.
// The zero Point is ordered before nothing.
type Point struct{ id, epoch uint64 }

// Point returns where a copy submitted to q now is.
func (q *Queue) Point() Point {
	if q == nil {
		return Point{}
	}
	return Point{q.id, q.epoch}
}

// Covers reports whether work submitted to q now is ordered after a copy
// submitted at p.
func (q *Queue) Covers(p Point) bool { return q.covers(p.id, p.epoch) }
