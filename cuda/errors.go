package cuda

import (
	"errors"
	"fmt"
	"strings"
)

// sentinel is the type of the package's sentinel errors. Its values are
// comparable, so errors.Is matches them by identity of text and type; the
// type is unexported, so no other package can forge one.
type sentinel string

// Error returns the text with the "cuda: " prefix.
func (s sentinel) Error() string { return "cuda: " + string(s) }

// Sentinel errors. Match them with errors.Is; the errors returned by devices
// are [*Error] values that wrap exactly one of these.
var (
	// ErrNoDevice reports that no GPU with the requested ordinal exists.
	ErrNoDevice error = sentinel("no device")
	// ErrNotBuilt reports that this binary was built without the CUDA
	// backend (the default build). Rebuild with -tags cuda on a host with
	// the NVIDIA driver, or use the simulated device in package cuda/sim.
	ErrNotBuilt error = sentinel("not built for CUDA")
	// ErrInvalidValue reports a bad argument: a negative or oversized size,
	// an offset out of range, a freed or null pointer, a misaligned typed
	// view, a wrong kernel argument or launch configuration.
	ErrInvalidValue error = sentinel("invalid value")
	// ErrOutOfMemory reports that an allocation does not fit.
	ErrOutOfMemory error = sentinel("out of memory")
	// ErrDeviceLost reports a sticky device failure: a kernel faulted or the
	// device was lost. Every pending and later operation on the device
	// fails with the same error, which also wraps the cause.
	ErrDeviceLost error = sentinel("device lost")
	// ErrClosed reports use of a closed device, stream or event, or work
	// that was abandoned because its device was closed.
	ErrClosed error = sentinel("closed")
	// ErrBufferBusy reports an attempt to reuse, view or free a host buffer
	// while an asynchronous copy still uses it.
	ErrBufferBusy error = sentinel("buffer busy")
	// ErrNotFound reports an unknown kernel or module.
	ErrNotFound error = sentinel("not found")
	// ErrForeign reports a handle of another device: a device pointer,
	// host buffer, stream, event or kernel that the device (or pool) it
	// was handed to did not make. Nothing is enqueued.
	ErrForeign error = sentinel("foreign handle")
	// ErrNotReady reports that an event has not completed yet, from calls
	// that need a completed event, such as [Device.ElapsedTime].
	ErrNotReady error = sentinel("not ready")
)

// Error is the error type returned by devices. It names the operation, says
// what was wrong, and wraps a sentinel error (or, for injected faults, the
// chosen error) and optionally a cause.
//
// Error values are immutable once returned.
type Error struct {
	// Op is the operation that failed, such as "CopyHtoD" or "Launch saxpy_f32".
	Op string
	// Detail says what was wrong; it may be empty.
	Detail string
	// Err is the sentinel error (ErrInvalidValue, ErrDeviceLost, ...), or
	// another error chosen by a backend.
	Err error
	// Cause is what made the operation fail beyond Err: for sticky errors
	// what made the device fail, and for the CUDA backend the driver's
	// [*DriverError]; nil otherwise.
	Cause error
}

// Error formats the error as "cuda: Op: Detail: cause: sentinel".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cuda: ")
	b.WriteString(e.Op)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Cause.Error(), "cuda: "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		if s, ok := e.Err.(sentinel); ok {
			b.WriteString(string(s))
		} else {
			b.WriteString(strings.TrimPrefix(e.Err.Error(), "cuda: "))
		}
	}
	return b.String()
}

// Unwrap returns Err and Cause, so that errors.Is matches either.
func (e *Error) Unwrap() []error {
	switch {
	case e.Err != nil && e.Cause != nil:
		return []error{e.Err, e.Cause}
	case e.Err != nil:
		return []error{e.Err}
	case e.Cause != nil:
		return []error{e.Cause}
	}
	return nil
}

// errorf returns an [*Error] for op wrapping err, with a formatted detail.
func errorf(op string, err error, format string, args ...any) error {
	return &Error{Op: op, Detail: fmt.Sprintf(format, args...), Err: err}
}

// withOp returns err as an error of op: a copy of an [*Error] with Op
// replaced, or any other error wrapped in a new *Error for op. err must not
// be nil.
func withOp(err error, op string) *Error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Op = op
		return &c
	}
	return &Error{Op: op, Err: err}
}

// checkRange checks that the byte range [off, off+n) lies within a region of
// size bytes called what (such as "device allocation"), and returns an
// [ErrInvalidValue] error naming op otherwise. It never overflows.
func checkRange(op, what string, off, n, size int) error {
	switch {
	case n < 0:
		return errorf(op, ErrInvalidValue, "negative size %d", n)
	case off < 0:
		return errorf(op, ErrInvalidValue, "negative offset %d", off)
	case off > size || n > size-off:
		return errorf(op, ErrInvalidValue, "offset %d + size %d exceeds %s of %d bytes", off, n, what, size)
	}
	return nil
}

// IsSticky reports whether err is a sticky device failure ([ErrDeviceLost]).
func IsSticky(err error) bool { return errors.Is(err, ErrDeviceLost) }
