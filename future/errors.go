package future

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrGoexit is the error of a future whose producer called runtime.Goexit
// (for example through t.FailNow) instead of returning.
var ErrGoexit = errors.New("future: producer called runtime.Goexit")

// ErrEmpty is the error of [Any] and [Race] called with no futures: there is
// nothing that could ever settle them.
var ErrEmpty = errors.New("future: no futures to wait for")

// A PanicError is the error of a future whose producer or continuation
// panicked. See the package doc for the panic policy.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the panicking goroutine, as printed by
	// runtime/debug.Stack, taken where the panic was recovered.
	Stack []byte
}

// NewPanicError returns a *PanicError for v, a value returned by recover,
// with the stack of the calling goroutine. Call it in the deferred function
// that recovered, so that the stack still shows where the panic happened.
func NewPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Error returns "panic: " followed by the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through the panic (for example to a runtime.Error), and nil
// otherwise.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
