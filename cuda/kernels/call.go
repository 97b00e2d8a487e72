package kernels

import (
	"errors"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// Call is one launch as a kernel's Go body sees it: the configuration, the
// arguments, and the device memory behind the pointer arguments. Backends
// make it with [NewCall] (memory visible to the host, as in the simulator)
// or [NewCheckCall] (sizes only, for checking a launch on a real GPU). The
// zero Call has no arguments.
type Call struct {
	// Config is the launch configuration.
	Config cuda.LaunchConfig
	// Args are the launch's arguments, already checked against the
	// kernel's parameter list.
	Args []cuda.Arg

	op   string
	spec *cuda.KernelSpec
	// per is, per argument, what NewCall's mem or NewCheckCall's sizes
	// holds: the first element of that slice (nil for none), n its length
	// and check whether it is sizes. One field for either keeps a Call,
	// which a simulated launch allocates, in the 128-byte size class
	// rather than the 160-byte one that two slices took.
	per   unsafe.Pointer
	n     int
	check bool
}

// mem returns NewCall's mem, or nil for a check call.
func (c *Call) mem() [][]byte {
	if c.check || c.per == nil {
		return nil
	}
	return unsafe.Slice((*[]byte)(c.per), c.n)
}

// sizes returns NewCheckCall's sizes, or nil for a call with memory.
func (c *Call) sizes() []int {
	if !c.check || c.per == nil {
		return nil
	}
	return unsafe.Slice((*int)(c.per), c.n)
}

// NewCall returns the call a backend hands to a kernel's Check and Run. op
// names the launch in errors (such as "Launch saxpy_f32"); spec is the
// kernel's; mem holds, per argument, the device memory from the pointer to
// the end of its allocation (nil for null pointers and non-pointers; mem
// itself may be nil when no argument points anywhere). The Call keeps args
// and mem; the caller must not change them afterwards.
func NewCall(op string, spec *cuda.KernelSpec, cfg cuda.LaunchConfig, args []cuda.Arg, mem [][]byte) *Call {
	return &Call{Config: cfg, Args: args, op: op, spec: spec, per: unsafe.Pointer(unsafe.SliceData(mem)), n: len(mem)}
}

// NewCheckCall is [NewCall] for a backend whose device memory the host
// cannot read, such as a real GPU: sizes holds, per argument, the bytes
// from the pointer to the end of its allocation (0 for null pointers and
// non-pointers). A Check can run on it ([Need] works); [View] and
// [Call.Bytes] return errors.
func NewCheckCall(op string, spec *cuda.KernelSpec, cfg cuda.LaunchConfig, args []cuda.Arg, sizes []int) *Call {
	return &Call{Config: cfg, Args: args, op: op, spec: spec, per: unsafe.Pointer(unsafe.SliceData(sizes)), n: len(sizes), check: true}
}

// Op names the launch in error messages, such as "Launch saxpy_f32".
func (c *Call) Op() string { return c.op }

// Errorf returns an error for the launch matching [cuda.ErrInvalidValue],
// for Check functions to report a bad argument.
func (c *Call) Errorf(format string, args ...any) error {
	return kit.Errorf(c.op, cuda.ErrInvalidValue, format, args...)
}

// Bytes returns the device memory of pointer argument i, from the pointer to
// the end of its allocation; it is nil for a null pointer. Accesses beyond
// it are out of the allocation.
func (c *Call) Bytes(i int) ([]byte, error) {
	if err := c.isPtr(i); err != nil {
		return nil, err
	}
	if c.check {
		return nil, c.Errorf("the device memory of argument %d%s is not visible to the host", i, c.param(i))
	}
	if mem := c.mem(); i < len(mem) {
		return mem[i], nil
	}
	return nil, nil
}

// size returns the bytes available at pointer argument i.
func (c *Call) size(i int) (int, error) {
	if err := c.isPtr(i); err != nil {
		return 0, err
	}
	if c.check {
		if sizes := c.sizes(); i < len(sizes) {
			return sizes[i], nil
		}
		return 0, nil
	}
	if mem := c.mem(); i < len(mem) {
		return len(mem[i]), nil
	}
	return 0, nil
}

func (c *Call) isPtr(i int) error {
	if i < 0 || i >= len(c.Args) || c.Args[i].Kind() != cuda.ParamPtr {
		return c.Errorf("argument %d is not a pointer", i)
	}
	return nil
}

func (c *Call) param(i int) string {
	if c.spec != nil && i < len(c.spec.Params) && c.spec.Params[i].Name != "" {
		return " (" + c.spec.Params[i].Name + ")"
	}
	return ""
}

// Need checks that pointer argument i of c points at n or more elements of
// type T: an error matching [cuda.ErrInvalidValue] names the launch and the
// argument if the allocation holds fewer there, if n is negative, or if the
// pointer is null and n > 0. It only needs sizes, so it works on calls made
// by [NewCheckCall].
func Need[T cuda.Scalar](c *Call, i, n int) error {
	have, err := c.size(i)
	if err != nil {
		return err
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n < 0 {
		return c.Errorf("negative element count %d for argument %d%s", n, i, c.param(i))
	}
	if c.Args[i].Ptr() == 0 && n > 0 {
		return c.Errorf("argument %d%s is the null pointer", i, c.param(i))
	}
	if n > have/size {
		return c.Errorf("argument %d%s holds %d bytes, the kernel needs %d elements of %T (%d bytes)",
			i, c.param(i), have, n, zero, n*size)
	}
	return nil
}

// View returns n elements of type T at pointer argument i of c, bounds- and
// alignment-checked as by [Need].
func View[T cuda.Scalar](c *Call, i, n int) ([]T, error) {
	if err := Need[T](c, i, n); err != nil {
		return nil, err
	}
	b, err := c.Bytes(i)
	if err != nil {
		return nil, err
	}
	var zero T
	v, err := cuda.SliceOf[T](b[:n*int(unsafe.Sizeof(zero))])
	if err != nil {
		return nil, asInvalid(c.op, err)
	}
	return v, nil
}

// asInvalid returns err as a *cuda.Error for op matching ErrInvalidValue.
func asInvalid(op string, err error) error {
	var ce *cuda.Error
	if errors.As(err, &ce) && errors.Is(err, cuda.ErrInvalidValue) {
		e := *ce
		e.Op = op
		return &e
	}
	return &cuda.Error{Op: op, Detail: err.Error(), Err: cuda.ErrInvalidValue}
}
