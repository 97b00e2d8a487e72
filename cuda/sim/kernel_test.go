package sim_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

func TestRegisterKernel(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	run := func(*sim.Call) error { return nil }
	good := sim.KernelDef{Spec: cuda.KernelSpec{Module: "m", Name: "k"}, Run: run}
	ok(t, dev.RegisterKernel(good))
	for name, def := range map[string]sim.KernelDef{
		"duplicate":    good,
		"no module":    {Spec: cuda.KernelSpec{Name: "k"}, Run: run},
		"no name":      {Spec: cuda.KernelSpec{Module: "m"}, Run: run},
		"no Run":       {Spec: cuda.KernelSpec{Module: "m", Name: "x"}},
		"invalid kind": {Spec: cuda.KernelSpec{Module: "m", Name: "y", Params: []cuda.Param{{Kind: cuda.ParamInvalid}}}, Run: run},
	} {
		if err := dev.RegisterKernel(def); !errors.Is(err, cuda.ErrInvalidValue) {
			t.Errorf("%s: RegisterKernel = %v, want ErrInvalidValue", name, err)
		}
	}
}

// TestKernelViews checks View's bounds and alignment checks, at launch
// (through Check) and the argument values a kernel sees.
func TestKernelViews(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	var seen []string
	ok(t, dev.RegisterKernel(sim.KernelDef{
		Spec: cuda.KernelSpec{Module: "m", Name: "sum", Params: []cuda.Param{
			{Name: "out", Kind: cuda.ParamPtr}, {Name: "in", Kind: cuda.ParamPtr}, {Name: "n", Kind: cuda.ParamUint32}, {Name: "bias", Kind: cuda.ParamFloat64},
		}},
		Cost: func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return time.Duration(a[2].Int()) },
		Check: func(c *sim.Call) error {
			if _, err := sim.View[float64](c, 1, int(c.Args[2].Int())); err != nil {
				return err
			}
			_, err := sim.View[float64](c, 0, 1)
			return err
		},
		Run: func(c *sim.Call) error {
			in, _ := sim.View[float64](c, 1, int(c.Args[2].Int()))
			out, _ := sim.View[float64](c, 0, 1)
			sum := c.Args[3].Float()
			for _, v := range in {
				sum += v
			}
			out[0] = sum
			seen = append(seen, c.Args[2].String())
			return nil
		},
	}))
	k := must(dev.Kernel("m", "sum"))(t)
	s := must(dev.NewStream(0))(t)
	in := must(dev.Alloc(80))(t)
	out := must(dev.Alloc(8))(t)
	h := must(dev.AllocHost(80))(t)
	f := must(h.Float64s())(t)
	for i := range f {
		f[i] = float64(i)
	}
	ok(t, s.CopyHtoD(in, 0, h, 0, 80))
	ok(t, s.Launch(k, cuda.LaunchConfig{}, cuda.Ptr(out), cuda.Ptr(in), cuda.Uint32(10), cuda.Float64(0.5)))
	ok(t, s.CopyDtoH(h, 0, out, 0, 8))
	ok(t, s.Synchronize())
	if got := must(h.Float64s())(t)[0]; got != 45.5 {
		t.Errorf("sum = %v, want 45.5", got)
	}
	if len(seen) != 1 || seen[0] != "uint32(10)" {
		t.Errorf("kernel saw %v", seen)
	}
	for _, c := range []struct {
		name string
		args []cuda.Arg
		want string
	}{
		{"too many elements", []cuda.Arg{cuda.Ptr(out), cuda.Ptr(in), cuda.Uint32(11), cuda.Float64(0)}, "argument 1 (in) holds 80 bytes"},
		{"interior pointer", []cuda.Arg{cuda.Ptr(out), cuda.Ptr(in.Add(8)), cuda.Uint32(10), cuda.Float64(0)}, "argument 1 (in) holds 72 bytes"},
		{"misaligned", []cuda.Arg{cuda.Ptr(out), cuda.Ptr(in.Add(4)), cuda.Uint32(2), cuda.Float64(0)}, "not aligned"},
		{"null", []cuda.Arg{cuda.Ptr(0), cuda.Ptr(in), cuda.Uint32(1), cuda.Float64(0)}, "null pointer"},
		{"not a pointer", []cuda.Arg{cuda.Ptr(out), cuda.Ptr(cuda.DevicePtr(12345)), cuda.Uint32(1), cuda.Float64(0)}, "not a device pointer"},
	} {
		err := s.Launch(k, cuda.LaunchConfig{}, c.args...)
		if !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cuda: Launch sum: ") {
			t.Errorf("%s: %v, want ErrInvalidValue containing %q", c.name, err, c.want)
		}
	}
	ok(t, s.Synchronize())
}

func TestErrorText(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s := must(dev.NewStream(0))(t)
	d := must(dev.Alloc(64))(t)
	h := must(dev.AllocHost(128))(t)
	err := s.CopyHtoD(d, 10, h, 0, 100)
	if want := "cuda: CopyHtoD: offset 10 + size 100 exceeds device allocation of 64 bytes: invalid value"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = dev.Kernel("coawait", "nope")
	if want := `cuda: Kernel: no kernel "nope" in module "coawait": not found`; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	k := must(dev.Kernel("coawait", "fill_f32"))(t)
	err = s.Launch(k, cuda.LaunchConfig{}, cuda.Ptr(d), cuda.Float64(1), cuda.Int32(16))
	if want := "cuda: Launch fill_f32: argument 1 (value) is float64, kernel fill_f32(pointer y, float32 value, int32 n) wants float32: invalid value"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	err = s.Launch(k, cuda.LaunchConfig{}, cuda.Ptr(d), cuda.Float32(1), cuda.Int32(17))
	if want := "cuda: Launch fill_f32: argument 0 (y) holds 64 bytes, the kernel needs 17 elements of float32 (68 bytes): invalid value"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
