package sim

import (
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// mark is one recording of an event (or a Synchronize marker): the point in
// a stream it stands for.
type mark struct {
	t    time.Duration // modeled timestamp; written before the mark is published
	done chan struct{} // closed when the stream reaches the mark
	err  error         // written before done is closed, read only after
	// at is when the stream reached the mark, as time since the device's
	// epoch (a Duration, not a Time, keeps a mark in a 64-byte size
	// class); written as err.
	at time.Duration
	// order is the stream's point in the device's order at the mark, for
	// the busy rule of host buffers; written before the mark is published.
	order kit.Mark
}

// Event is a simulated event. Create it with Device.NewEvent.
type Event struct {
	d          *Device // written once
	timing     bool    // written once
	m          atomic.Pointer[mark]
	closedFlag atomic.Bool
}

// Query reports whether the event is done, without blocking.
func (e *Event) Query() (bool, error) {
	const op = "Event.Query"
	d := e.d
	if d.closed.Load() {
		return false, d.closedError(op)
	}
	if err := d.lostErr(); err != nil {
		return false, err
	}
	if e.closedFlag.Load() {
		return false, kit.Errorf(op, cuda.ErrClosed, "event is closed")
	}
	m := e.m.Load()
	if m == nil {
		return true, nil
	}
	select {
	case <-m.done:
		if m.err != nil {
			return false, m.err
		}
		return true, nil
	default:
		return false, nil
	}
}

// Synchronize blocks until the event is done.
func (e *Event) Synchronize() error {
	const op = "Event.Synchronize"
	d := e.d
	if d.closed.Load() {
		return d.closedError(op)
	}
	if e.closedFlag.Load() {
		return kit.Errorf(op, cuda.ErrClosed, "event is closed")
	}
	m := e.m.Load()
	if m == nil {
		return d.lostErr()
	}
	return d.waitMark(op, m)
}

// Timestamp returns the modeled time, since the device was created, at which the event's
// marked work completes, whether or not it is done yet, and whether the
// event was recorded. It is a simulator extension for tests and traces.
func (e *Event) Timestamp() (time.Duration, bool) {
	m := e.m.Load()
	if m == nil {
		return 0, false
	}
	return m.t, true
}

// CompletedAt returns the wall-clock time at which the stream reached the
// event's mark, and true, once the event is done; false before that, for
// an event that was never recorded, or for one whose work failed. It is a
// simulator extension that lets a scheduler measure how long it took to
// notice a completion: Event implements [cuda.CompletionTimer].
func (e *Event) CompletedAt() (time.Time, bool) {
	m := e.m.Load()
	if m == nil {
		return time.Time{}, false
	}
	select {
	case <-m.done:
		return e.d.epoch.Add(m.at), m.err == nil
	default:
		return time.Time{}, false
	}
}

// Close destroys the event.
func (e *Event) Close() error {
	const op = "Event.Close"
	if e.d.closed.Load() {
		return e.d.closedError(op)
	}
	if e.closedFlag.Swap(true) {
		return kit.Errorf(op, cuda.ErrClosed, "event is already closed")
	}
	return nil
}
