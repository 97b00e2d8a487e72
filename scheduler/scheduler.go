package scheduler

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/coawait/coawait/cuda"
)

// ErrClosed is the error of an operation submitted to a closed scheduler.
// It matches [cuda.ErrClosed] too, so one errors.Is check finds a closed
// scheduler and a closed device; an error of a closed device does not
// match ErrClosed.
var ErrClosed error = closedError{}

// closedError is ErrClosed's type: a scheduler's own message that unwraps
// to cuda.ErrClosed.
type closedError struct{}

func (closedError) Error() string { return "scheduler: closed" }

func (closedError) Unwrap() error { return cuda.ErrClosed }

// ErrForeign is matched by the error of an operation that names a stream,
// device pointer, host buffer or kernel of another device, or depends on
// an operation of another scheduler; such an operation is refused before
// anything is enqueued. It matches [cuda.ErrForeign] too, which devices
// return for handles of another device, and the error of an operation
// that a device refused with cuda.ErrForeign matches ErrForeign.
var ErrForeign error = foreignError{}

// foreignError is ErrForeign's type: a scheduler's own message that
// unwraps to cuda.ErrForeign.
type foreignError struct{}

func (foreignError) Error() string { return "scheduler: foreign handle" }

func (foreignError) Unwrap() error { return cuda.ErrForeign }

// ErrUnsupported is returned by New for a policy the device cannot serve.
var ErrUnsupported = errors.New("scheduler: not supported by this device")

// Scheduler turns device work into futures; see the package doc. Make one
// with New. All methods are safe for concurrent use.
type Scheduler struct {
	dev  cuda.Device
	opts options
	pol  completer // the completion policy; written once by New

	in, compute, out *lane // the default streams, owned by the scheduler

	lanesMu sync.Mutex
	lanes   atomic.Pointer[[]*lane] // copy-on-write list of every lane
	last    atomic.Pointer[lane]    // the lane laneFor found last

	wake   chan struct{} // capacity 1: nudges a parked loop
	parked atomic.Bool
	closed atomic.Bool
	done   chan struct{} // closed when the loop has ended

	ref cuda.Event // with spans: the device time origin, recorded by New

	poolOnce sync.Once
	mem      *cuda.MemPool // stream-ordered device memory for Alloc and Free

	disp dispatcher
	prog progressState
	m    metrics
	tr   spanRing

	batch []*opCore    // the loop's scratch buffer for pollLane
	evBuf []cuda.Event // the loop's scratch buffer for pollLane

	// Every submission writes pending; it has a cache line of its own, so
	// that a spinning loop, which reads the fields above on every poll,
	// does not pull the line away from submitters on the other core (false
	// sharing here cost about 100 ns a submission).
	_ [64]byte
	// pending counts operations submitted and not yet settled.
	pending atomic.Int64
	_       [56]byte
}

// New returns a scheduler for dev with its own copy-in, compute and
// copy-out streams, and starts its loop. The scheduler does not own dev:
// close the scheduler before the device.
func New(dev cuda.Device, opts ...Option) (*Scheduler, error) {
	if dev == nil {
		return nil, errors.New("scheduler: New called with a nil device")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.spans > 0 && !dev.Properties().TimingEvents {
		return nil, fmt.Errorf("scheduler: spans need timing events: %w", ErrUnsupported)
	}
	s := &Scheduler{
		dev:  dev,
		opts: o,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	s.tr.init(o.spans)
	lanes := make([]*lane, 0, 3)
	closeLanes := func() {
		for _, l := range lanes {
			l.st.Close()
		}
	}
	for _, dst := range []**lane{&s.in, &s.compute, &s.out} {
		st, err := dev.NewStream(0)
		if err != nil {
			closeLanes()
			return nil, fmt.Errorf("scheduler: New: %w", err)
		}
		*dst = &lane{s: s, st: st, owned: true}
		lanes = append(lanes, *dst)
	}
	pol, err := policies[o.policy].new(s)
	if err != nil {
		closeLanes()
		return nil, err
	}
	s.pol = pol
	s.initProgress(lanes)
	s.lanes.Store(&lanes)
	if o.spans > 0 {
		ev, err := dev.NewEvent(0)
		if err == nil {
			err = s.compute.st.RecordEvent(ev)
		}
		if err != nil {
			closeLanes()
			return nil, fmt.Errorf("scheduler: New: reference event: %w", err)
		}
		s.ref = ev
	}
	s.disp.start()
	go s.loop()
	return s, nil
}

// Device returns the device the scheduler drives.
func (s *Scheduler) Device() cuda.Device { return s.dev }

// nudge wakes the loop if it is parked.
func (s *Scheduler) nudge() {
	if s.parked.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops the scheduler: operations submitted afterwards fail with
// ErrClosed; operations already submitted run to completion (or fail, if
// the device fails) and settle; then the loop ends, the scheduler's own
// streams and events are released, and so is the device memory that
// [Scheduler.Alloc] allocated, freed or not (pointers from Alloc are
// invalid afterwards); then the continuations still queued run and the
// dispatcher ends. Close returns once all of that is done. An operation
// still waiting for a host dependency when Close is called fails with
// ErrClosed once that dependency settles, and Close does not wait for it.
// Closing twice returns ErrClosed.
//
// Close may be called from a continuation (OnDone, Then, ...) of one of
// the scheduler's operations, which runs on the dispatcher: it then
// returns once every operation has settled and the resources are
// released, without waiting for the continuation that called it; the
// continuations queued after that one run once it returns, and then the
// dispatcher ends.
func (s *Scheduler) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
	if !s.disp.isCaller() {
		<-s.disp.stopped
	}
	return nil
}

// pool returns the scheduler's device memory pool, made on first use.
func (s *Scheduler) pool() *cuda.MemPool {
	s.poolOnce.Do(func() { s.mem = cuda.NewMemPool(s.dev) })
	return s.mem
}
