package kernels

import (
	"errors"
	"time"

	"github.com/coawait/coawait/cuda"
)

// ErrTrap is the fault of the trap kernel's Go body, the simulator's
// __trap(): the device is lost with it as cause.
var ErrTrap = errors.New("kernel executed trap (unspecified launch failure)")

// elementwise checks that the pointer arguments ptrs hold the float32
// count in argument ni.
func elementwise(ni int, ptrs ...int) func(c *Call) error {
	return func(c *Call) error {
		n, err := needCount(c, ni)
		if err != nil {
			return err
		}
		for _, i := range ptrs {
			if err := Need[float32](c, i, n); err != nil {
				return err
			}
		}
		return nil
	}
}

// views returns n-element float32 views of the pointer arguments ptrs,
// with n from argument ni.
func views(c *Call, ni int, ptrs ...int) ([][]float32, error) {
	n := int(c.Args[ni].Int())
	out := make([][]float32, len(ptrs))
	for j, i := range ptrs {
		v, err := View[float32](c, i, n)
		if err != nil {
			return nil, err
		}
		out[j] = v
	}
	return out, nil
}

// bytesPer returns a Work function for a kernel that moves per bytes for
// each of the count in argument ni.
func bytesPer(per int64, ni int) func([]cuda.Arg) Work {
	return func(a []cuda.Arg) Work { return Work{Bytes: per * count(a, ni)} }
}

// conformance returns the kernels of the conformance suite (cuda/cudatest).
func conformance() []Def {
	const file = "conformance.cu"
	spec := func(name string, params ...cuda.Param) cuda.KernelSpec {
		return cuda.KernelSpec{Name: name, Params: params}
	}
	return []Def{
		{
			Spec:  spec("fill_f32", p("y", cuda.ParamPtr), p("value", cuda.ParamFloat32), p("n", cuda.ParamInt32)),
			File:  file,
			Work:  bytesPer(4, 2),
			Check: elementwise(2, 0),
			Run: func(c *Call) error {
				v, err := views(c, 2, 0)
				if err != nil {
					return err
				}
				val := float32(c.Args[1].Float())
				for i := range v[0] {
					v[0][i] = val
				}
				return nil
			},
		},
		{
			Spec:  spec("scale_f32", p("y", cuda.ParamPtr), p("a", cuda.ParamFloat32), p("n", cuda.ParamInt32)),
			File:  file,
			Work:  bytesPer(8, 2),
			Check: elementwise(2, 0),
			Run: func(c *Call) error {
				v, err := views(c, 2, 0)
				if err != nil {
					return err
				}
				a := float32(c.Args[1].Float())
				for i := range v[0] {
					v[0][i] *= a
				}
				return nil
			},
		},
		{
			Spec:  spec("saxpy_f32", p("y", cuda.ParamPtr), p("a", cuda.ParamFloat32), p("x", cuda.ParamPtr), p("n", cuda.ParamInt32)),
			File:  file,
			Work:  bytesPer(12, 3),
			Check: elementwise(3, 0, 2),
			Run: func(c *Call) error {
				v, err := views(c, 3, 0, 2)
				if err != nil {
					return err
				}
				y, x := v[0], v[1]
				a := float32(c.Args[1].Float())
				for i := range y {
					y[i] += float32(a * x[i]) // the conversion keeps Go from fusing
				}
				return nil
			},
		},
		{
			Spec: spec("spin", p("ns", cuda.ParamInt64)),
			File: file,
			Work: func(a []cuda.Arg) Work { return Work{Time: time.Duration(count(a, 0))} },
			Check: func(c *Call) error {
				if ns := c.Args[0].Int(); ns < 0 {
					return c.Errorf("negative duration %d ns", ns)
				}
				return nil
			},
			Run: func(*Call) error { return nil }, // the time is the model's
		},
		{
			Spec: spec("trap"),
			File: file,
			Work: func([]cuda.Arg) Work { return Work{} },
			Run:  func(*Call) error { return ErrTrap },
		},
	}
}
