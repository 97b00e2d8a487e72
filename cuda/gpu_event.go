//go:build cuda

package cuda

import (
	"math"
	"sync"
	"time"

	"github.com/coawait/coawait/cuda/internal/order"
	"gorgonia.org/cu"
)

// gpuEvent is a CUDA event created with CU_EVENT_BLOCKING_SYNC.
type gpuEvent struct {
	d      *gpuDevice
	ev     cu.Event // written once by NewEvent
	timing bool     // written once by NewEvent
	g      guard    // calls in progress; closed by Close

	mu   sync.Mutex // held across the driver's record and query of ev
	rec  *gpuStream // guarded by mu: the stream of the last record; nil if never recorded
	seq  uint64     // guarded by mu: rec's ordered operations at that record
	mark order.Mark // guarded by mu: rec's place in the device's order at that record
}

// event checks that e is a live event of d.
func (d *gpuDevice) event(op string, e Event) (*gpuEvent, error) {
	ev, ok := e.(*gpuEvent)
	if e == nil || ok && ev == nil {
		return nil, errorf(op, ErrInvalidValue, "nil event")
	}
	if !ok || ev.d != d {
		return nil, errorf(op, ErrForeign, "event is not from this device")
	}
	return ev, nil
}

func (e *gpuEvent) enter(op string) error {
	if !e.g.enter() {
		return &Error{Op: op, Detail: "event is closed", Err: ErrClosed}
	}
	if err := e.d.enter(op); err != nil {
		e.g.exit()
		return err
	}
	return nil
}

func (e *gpuEvent) exit() {
	e.d.g.exit()
	e.g.exit()
}

// Query polls the event with cuEventQuery. When it is done, the host
// buffers of copies before it on its stream are released.
func (e *gpuEvent) Query() (bool, error) {
	const op = "Event.Query"
	if err := e.enter(op); err != nil {
		return false, err
	}
	defer e.exit()
	e.mu.Lock()
	rec, seq := e.rec, e.seq
	err := e.d.call(e.ev.Query)
	e.mu.Unlock()
	switch code := resultCode(err); code {
	case cuSuccess:
		if rec != nil {
			rec.retire(seq)
		}
		return true, nil
	case cuNotReady:
		return false, nil
	default:
		return false, e.d.failCode(op, code)
	}
}

// Synchronize waits with cuEventSynchronize, which sleeps in the driver
// (the event has blocking synchronization).
func (e *gpuEvent) Synchronize() error {
	const op = "Event.Synchronize"
	if err := e.enter(op); err != nil {
		return err
	}
	defer e.exit()
	e.mu.Lock()
	rec, seq := e.rec, e.seq
	e.mu.Unlock()
	if err := e.d.call(e.ev.Synchronize); err != nil {
		return e.d.fail(op, err)
	}
	e.mu.Lock()
	same := e.rec == rec && e.seq == seq // not re-recorded meanwhile
	e.mu.Unlock()
	if same && rec != nil {
		rec.retire(seq)
	}
	return nil
}

// Close destroys the event with cuEventDestroy.
func (e *gpuEvent) Close() error {
	return e.d.closeHandle("Event.Close", "event", &e.g, func() error {
		e.d.mu.Lock()
		delete(e.d.events, e)
		e.d.mu.Unlock()
		return cu.DestroyEvent(&e.ev)
	})
}

// closeHandle closes the guard g of a stream or event (what), waits for the
// calls in progress on it, and then runs destroy, one driver call, with the
// context current.
func (d *gpuDevice) closeHandle(op, what string, g *guard, destroy func() error) error {
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.g.exit()
	if !g.close() {
		return &Error{Op: op, Detail: what + " is closed", Err: ErrClosed}
	}
	g.wait()
	if err := d.call(destroy); err != nil {
		return d.fail(op, err)
	}
	return nil
}

// ElapsedTime returns the time between two completed timing events with
// cuEventElapsedTime (resolution about 0.5µs), after checking what the
// driver would refuse: an event without timing or never recorded.
func (d *gpuDevice) ElapsedTime(start, end Event) (time.Duration, error) {
	const op = "ElapsedTime"
	if err := d.enter(op); err != nil {
		return 0, err
	}
	defer d.g.exit()
	var evs [2]*gpuEvent
	for i, e := range [2]Event{start, end} {
		what := [2]string{"start", "end"}[i]
		ev, err := d.event(op, e)
		if err != nil {
			return 0, err
		}
		if !ev.g.enter() {
			return 0, errorf(op, ErrClosed, "%s event is closed", what)
		}
		defer ev.g.exit()
		if !ev.timing {
			return 0, errorf(op, ErrInvalidValue, "%s event was created with EventDisableTiming", what)
		}
		ev.mu.Lock()
		recorded := ev.rec != nil
		err = d.call(ev.ev.Query)
		ev.mu.Unlock()
		if !recorded {
			return 0, errorf(op, ErrInvalidValue, "%s event was never recorded", what)
		}
		if code := resultCode(err); code == cuNotReady {
			return 0, errorf(op, ErrNotReady, "%s event is not done", what)
		} else if code != cuSuccess {
			return 0, d.failCode(op, code)
		}
		evs[i] = ev
	}
	var ms float64
	err := d.call(func() error {
		var e error
		ms, e = evs[0].ev.Elapsed(evs[1].ev)
		return e
	})
	if err != nil {
		return 0, d.fail(op, err)
	}
	return time.Duration(math.Round(ms * 1e6)), nil
}
