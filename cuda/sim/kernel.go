package sim

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
	"github.com/coawait/coawait/cuda/kernels"
)

// KernelDef defines a simulated kernel: a Go function standing in for the
// device code, with the parameter list real launches are checked against
// and a cost function for the timing model.
type KernelDef struct {
	// Spec names the kernel and declares its parameters.
	Spec cuda.KernelSpec
	// Cost returns the modeled duration of a launch; nil means zero.
	// It runs at launch time on the caller's goroutine and must be pure.
	Cost func(cfg cuda.LaunchConfig, args []cuda.Arg) time.Duration
	// Check, if not nil, validates a launch before it is queued (typically
	// that the pointer arguments hold enough elements); an error is
	// returned by Launch, matching cuda.ErrInvalidValue.
	Check func(c *Call) error
	// Run executes the kernel on the stream's goroutine. An error or a
	// panic is a fault on a real GPU: the device becomes lost, with the
	// error as cause. Run must only touch memory through c.
	Run func(c *Call) error
}

// Kernel is a registered simulated kernel; see Device.Kernel.
type Kernel struct {
	d   *Device   // written once
	def KernelDef // written once
	op  string    // "Launch <name>", written once
}

// Spec returns the kernel's module, name and parameters.
func (k *Kernel) Spec() cuda.KernelSpec { return k.def.Spec }

// String formats the kernel's signature.
func (k *Kernel) String() string { return k.def.Spec.Module + "." + k.def.Spec.String() }

// run calls the kernel's Run, turning a panic into an error.
func (k *Kernel) run(c *Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sim: kernel %s panicked: %v\n%s", k.def.Spec.Name, r, debug.Stack())
		}
	}()
	return k.def.Run(c)
}

// Call is one launch as a kernel function sees it: the configuration, the
// arguments, and the device memory behind the pointer arguments. It is
// [kernels.Call], where the built-in kernels' Go bodies live.
type Call = kernels.Call

// View returns n elements of type T at pointer argument i of c, bounds- and
// alignment-checked: an error matching cuda.ErrInvalidValue names the
// launch and the argument if the allocation holds fewer than n elements
// there, or if n is negative. It is [kernels.View].
func View[T cuda.Scalar](c *Call, i, n int) ([]T, error) { return kernels.View[T](c, i, n) }

func paramName(spec cuda.KernelSpec, i int) string {
	if i < len(spec.Params) && spec.Params[i].Name != "" {
		return " (" + spec.Params[i].Name + ")"
	}
	return ""
}

// asInvalid returns err as a *cuda.Error for op matching ErrInvalidValue.
func asInvalid(op string, err error) error {
	var ce *cuda.Error
	if errors.As(err, &ce) {
		if errors.Is(err, cuda.ErrInvalidValue) {
			return kit.WithOp(ce, op)
		}
	}
	return &cuda.Error{Op: op, Detail: err.Error(), Err: cuda.ErrInvalidValue}
}
