package sim

import (
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// Op is a kind of device operation, for fault injection.
type Op int

// Operation kinds.
const (
	OpAlloc Op = iota
	OpFree
	OpAllocHost
	OpFreeHost
	OpNewStream
	OpNewEvent
	OpCopyHtoD
	OpCopyDtoH
	OpCopyDtoD
	OpMemset
	OpLaunch
	OpRecordEvent
	OpWaitEvent
	OpHostFunc
	numOps
)

var opNames = [...]string{
	"Alloc", "Free", "AllocHost", "FreeHost", "NewStream", "NewEvent",
	"CopyHtoD", "CopyDtoH", "CopyDtoD", "Memset", "Launch", "RecordEvent",
	"WaitEvent", "LaunchHostFunc",
}

// String is the operation's name as it appears in errors.
func (o Op) String() string {
	if o >= 0 && o < numOps {
		return opNames[o]
	}
	if o == opSync {
		return "Synchronize"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Fault is an injected failure.
type Fault struct {
	// Op is the kind of operation to fail.
	Op Op
	// N picks the operation: the Nth operation of kind Op that passes
	// validation after InjectFault (1 is the next one).
	N int
	// Err is the error to fail with; it is wrapped in a *cuda.Error that
	// names the operation, so errors.Is(err, Err) holds.
	Err error
	// Sticky makes the fault a device failure instead of a refused call:
	// a stream operation is queued and, when its stream reaches it, makes
	// the device lost with Err as the cause; any other operation makes the
	// device lost at once. Without Sticky the call returns the error and
	// nothing is queued.
	Sticky bool
}

type faultState struct {
	Fault
	left int
}

// InjectFault arms f. Several faults may be armed at once, also for the same
// kind; each fires once.
func (d *Device) InjectFault(f Fault) error {
	if f.Op < 0 || f.Op >= numOps {
		return kit.Errorf("InjectFault", cuda.ErrInvalidValue, "unknown operation %v", f.Op)
	}
	if f.N < 1 {
		return kit.Errorf("InjectFault", cuda.ErrInvalidValue, "N = %d, want at least 1", f.N)
	}
	if f.Err == nil {
		return kit.Errorf("InjectFault", cuda.ErrInvalidValue, "nil Err")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = append(d.faults, &faultState{Fault: f, left: f.N})
	return nil
}

// faultLocked counts an operation of kind k and fires a due fault: it
// returns the error for a refused call, or, for a sticky fault on a stream
// task t, marks t to fail when run and returns nil. d.mu must be held.
func (d *Device) faultLocked(k Op, t *task) error {
	var fired *faultState
	for i := 0; i < len(d.faults); i++ {
		f := d.faults[i]
		if f.Op != k {
			continue
		}
		f.left--
		if f.left == 0 {
			d.faults = append(d.faults[:i], d.faults[i+1:]...)
			i--
			if fired == nil {
				fired = f
			}
		}
	}
	if fired == nil {
		return nil
	}
	if !fired.Sticky {
		return &cuda.Error{Op: k.String(), Detail: "injected fault", Err: fired.Err}
	}
	if t != nil {
		t.fault = fired.Err
		return nil
	}
	d.lose(k.String(), "injected fault", fired.Err)
	return d.lostErr()
}

// SlowStream makes every operation submitted to s from now on take factor
// times its modeled duration (factor > 0; 1 restores normal speed).
func (d *Device) SlowStream(s cuda.Stream, factor float64) error {
	ss, ok := s.(*Stream)
	if !ok || ss == nil || ss.d != d {
		return kit.Errorf("SlowStream", cuda.ErrForeign, "stream is not from this device")
	}
	if !(factor > 0) || factor > 1e9 {
		return kit.Errorf("SlowStream", cuda.ErrInvalidValue, "factor %v is not in (0, 1e9]", factor)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ss.slow = factor
	return nil
}
