package sim

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
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
// arguments, and the device memory behind the pointer arguments.
type Call struct {
	// Config is the launch configuration.
	Config cuda.LaunchConfig
	// Args are the launch's arguments, already checked against the
	// kernel's parameter list.
	Args []cuda.Arg

	op   string
	spec *cuda.KernelSpec
	mem  [][]byte // per argument: from the pointer to the end of its allocation
}

// Bytes returns the device memory of pointer argument i, from the pointer to
// the end of its allocation; it is nil for a null pointer. Accesses beyond
// it are out of the allocation.
func (c *Call) Bytes(i int) ([]byte, error) {
	if i < 0 || i >= len(c.Args) || c.Args[i].Kind() != cuda.ParamPtr {
		return nil, kit.Errorf(c.op, cuda.ErrInvalidValue, "argument %d is not a pointer", i)
	}
	if c.mem == nil {
		return nil, nil
	}
	return c.mem[i], nil
}

// View returns n elements of type T at pointer argument i of c, bounds- and
// alignment-checked: an error matching cuda.ErrInvalidValue names the
// launch and the argument if the allocation holds fewer than n elements
// there, or if n is negative.
func View[T cuda.Scalar](c *Call, i, n int) ([]T, error) {
	b, err := c.Bytes(i)
	if err != nil {
		return nil, err
	}
	var zero T
	size := int(sizeOf(zero))
	if n < 0 {
		return nil, kit.Errorf(c.op, cuda.ErrInvalidValue, "negative element count %d for argument %d%s", n, i, paramName(*c.spec, i))
	}
	if b == nil && n > 0 {
		return nil, kit.Errorf(c.op, cuda.ErrInvalidValue, "argument %d%s is the null pointer", i, paramName(*c.spec, i))
	}
	if n > len(b)/size {
		return nil, kit.Errorf(c.op, cuda.ErrInvalidValue, "argument %d%s holds %d bytes, the kernel needs %d elements of %T (%d bytes)",
			i, paramName(*c.spec, i), len(b), n, zero, n*size)
	}
	v, err := cuda.SliceOf[T](b[:n*size])
	if err != nil {
		return nil, asInvalid(c.op, err)
	}
	return v, nil
}

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
