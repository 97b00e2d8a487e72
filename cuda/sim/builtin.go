package sim

import (
	"errors"
	"time"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// BuiltinModule is the module of the kernels every simulated device has.
// They are the Go twins of CUDA C kernels written as grid-stride loops, so
// they handle any element count with any grid:
//
//	fill_f32(pointer y, float32 value, int32 n)   y[i] = value
//	scale_f32(pointer y, float32 a, int32 n)      y[i] *= a
//	saxpy_f32(pointer y, float32 a, pointer x, int32 n)  y[i] += a*x[i]
//	spin(int64 ns)                                busy-waits ns nanoseconds (costs ns)
//	trap()                                        faults, like __trap(): the device is lost
//
// The memory-bound kernels cost the bytes they read and write divided by
// Timing.Memory.
const BuiltinModule = "coawait"

func sizeOf[T cuda.Scalar](v T) uintptr { return unsafe.Sizeof(v) }

var errTrap = errors.New("kernel executed trap (unspecified launch failure)")

func (d *Device) builtins() []KernelDef {
	mem := d.cfg.Timing.Memory
	n := func(args []cuda.Arg, i int) int64 { return max(args[i].Int(), 0) }
	p := func(name string, k cuda.ParamKind) cuda.Param { return cuda.Param{Name: name, Kind: k} }
	spec := func(name string, params ...cuda.Param) cuda.KernelSpec {
		return cuda.KernelSpec{Module: BuiltinModule, Name: name, Params: params}
	}
	checkN := func(c *Call, ni int, ptrs ...int) error {
		cnt := c.Args[ni].Int()
		if cnt < 0 {
			return kit.Errorf(c.op, cuda.ErrInvalidValue, "negative element count %d", cnt)
		}
		for _, i := range ptrs {
			if _, err := View[float32](c, i, int(cnt)); err != nil {
				return err
			}
		}
		return nil
	}
	return []KernelDef{
		{
			Spec:  spec("fill_f32", p("y", cuda.ParamPtr), p("value", cuda.ParamFloat32), p("n", cuda.ParamInt32)),
			Cost:  func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return Transfer(4*n(a, 2), mem) },
			Check: func(c *Call) error { return checkN(c, 2, 0) },
			Run: func(c *Call) error {
				y, err := View[float32](c, 0, int(c.Args[2].Int()))
				if err != nil {
					return err
				}
				v := float32(c.Args[1].Float())
				for i := range y {
					y[i] = v
				}
				return nil
			},
		},
		{
			Spec:  spec("scale_f32", p("y", cuda.ParamPtr), p("a", cuda.ParamFloat32), p("n", cuda.ParamInt32)),
			Cost:  func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return Transfer(8*n(a, 2), mem) },
			Check: func(c *Call) error { return checkN(c, 2, 0) },
			Run: func(c *Call) error {
				y, err := View[float32](c, 0, int(c.Args[2].Int()))
				if err != nil {
					return err
				}
				a := float32(c.Args[1].Float())
				for i := range y {
					y[i] *= a
				}
				return nil
			},
		},
		{
			Spec:  spec("saxpy_f32", p("y", cuda.ParamPtr), p("a", cuda.ParamFloat32), p("x", cuda.ParamPtr), p("n", cuda.ParamInt32)),
			Cost:  func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return Transfer(12*n(a, 3), mem) },
			Check: func(c *Call) error { return checkN(c, 3, 0, 2) },
			Run: func(c *Call) error {
				cnt := int(c.Args[3].Int())
				y, err := View[float32](c, 0, cnt)
				if err != nil {
					return err
				}
				x, err := View[float32](c, 2, cnt)
				if err != nil {
					return err
				}
				a := float32(c.Args[1].Float())
				for i := range y {
					y[i] += a * x[i]
				}
				return nil
			},
		},
		{
			Spec: spec("spin", p("ns", cuda.ParamInt64)),
			Cost: func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return time.Duration(n(a, 0)) },
			Check: func(c *Call) error {
				if c.Args[0].Int() < 0 {
					return kit.Errorf(c.op, cuda.ErrInvalidValue, "negative duration %d ns", c.Args[0].Int())
				}
				return nil
			},
			Run: func(*Call) error { return nil }, // the time is the model's
		},
		{
			Spec: spec("trap"),
			Run:  func(*Call) error { return errTrap },
		},
	}
}
