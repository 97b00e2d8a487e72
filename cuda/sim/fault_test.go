package sim_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

var errInjected = errors.New("injected for the test")

func TestInjectFaultRefusesCall(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s := must(dev.NewStream(0))(t)
	d := must(dev.Alloc(64))(t)
	h := must(dev.AllocHost(64))(t)
	ok(t, dev.InjectFault(sim.Fault{Op: sim.OpCopyHtoD, N: 2, Err: errInjected}))
	ok(t, s.CopyHtoD(d, 0, h, 0, 64))
	err := s.CopyHtoD(d, 0, h, 0, 64)
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "CopyHtoD") {
		t.Fatalf("second copy: %v, want the injected error naming CopyHtoD", err)
	}
	ok(t, s.CopyHtoD(d, 0, h, 0, 64)) // fires once
	ok(t, s.Synchronize())
	if h.Busy() {
		t.Error("refused copy left the host buffer busy")
	}
	// Invalid calls do not count.
	ok(t, dev.InjectFault(sim.Fault{Op: sim.OpAlloc, N: 1, Err: cuda.ErrOutOfMemory}))
	if _, err := dev.Alloc(-1); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Fatalf("Alloc(-1) = %v", err)
	}
	if _, err := dev.Alloc(1); !errors.Is(err, cuda.ErrOutOfMemory) {
		t.Fatalf("Alloc with injected OOM = %v", err)
	}
	ok(t, s.Synchronize()) // not sticky
}

func TestInjectFaultValidation(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	for _, f := range []sim.Fault{
		{Op: sim.OpLaunch, N: 0, Err: errInjected},
		{Op: sim.OpLaunch, N: 1},
		{Op: sim.Op(99), N: 1, Err: errInjected},
	} {
		if err := dev.InjectFault(f); !errors.Is(err, cuda.ErrInvalidValue) {
			t.Errorf("InjectFault(%+v) = %v, want ErrInvalidValue", f, err)
		}
	}
}

// TestStickyFault checks that a sticky fault on a queued operation loses
// the device when the operation runs, failing pending work on other streams
// with the same error value.
func TestStickyFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		spin := must(dev.Kernel(sim.BuiltinModule, "spin"))(t)
		s0, s1 := must(dev.NewStream(0))(t), must(dev.NewStream(0))(t)
		d := must(dev.Alloc(64))(t)
		ok(t, dev.InjectFault(sim.Fault{Op: sim.OpMemset, N: 1, Err: errInjected, Sticky: true}))
		ok(t, s0.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(time.Millisecond))))
		ok(t, s0.Memset(d, 0, 64, 1)) // queued; fails when it runs at 1ms
		e1 := must(dev.NewEvent(0))(t)
		ok(t, s1.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(5*time.Millisecond))))
		ok(t, s1.RecordEvent(e1))
		var called []error
		ok(t, s1.(cuda.HostFuncLauncher).LaunchHostFunc(func(err error) { called = append(called, err) }))
		err := e1.Synchronize()
		if !errors.Is(err, cuda.ErrDeviceLost) || !errors.Is(err, errInjected) {
			t.Fatalf("pending event: %v, want device lost wrapping the injected error", err)
		}
		if el := time.Duration(time.Now().UnixNano() - time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()); el > 2*time.Millisecond {
			t.Errorf("pending work failed after %v; want at the fault (about 1ms), not after the 5ms kernel", el)
		}
		for _, e := range []error{s0.Synchronize(), s1.Synchronize(), dev.Synchronize(), s0.Memset(d, 0, 1, 0)} {
			if e != err {
				t.Errorf("later error %v is not the same sticky error %v", e, err)
			}
		}
		ok(t, dev.Close())
		if len(called) != 1 || called[0] != err {
			t.Errorf("host function calls: %v", called)
		}
	})
}

func TestStickyFaultOnSyncOp(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	ok(t, dev.InjectFault(sim.Fault{Op: sim.OpNewEvent, N: 1, Err: errInjected, Sticky: true}))
	_, err := dev.NewEvent(0)
	if !errors.Is(err, cuda.ErrDeviceLost) || !errors.Is(err, errInjected) {
		t.Fatalf("NewEvent: %v", err)
	}
	if _, err2 := dev.Alloc(1); err2 != err {
		t.Fatalf("Alloc after loss: %v, want %v", err2, err)
	}
}

func TestLose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		spin := must(dev.Kernel(sim.BuiltinModule, "spin"))(t)
		s := must(dev.NewStream(0))(t)
		e := must(dev.NewEvent(0))(t)
		ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(time.Second))))
		ok(t, s.RecordEvent(e))
		cause := errors.New("fell off the bus")
		go func() {
			time.Sleep(time.Millisecond)
			dev.Lose(cause)
		}()
		err := e.Synchronize()
		if !errors.Is(err, cuda.ErrDeviceLost) || !errors.Is(err, cause) {
			t.Fatalf("Synchronize: %v", err)
		}
		if done, qerr := e.Query(); done || qerr != err {
			t.Errorf("Query = %v, %v", done, qerr)
		}
		if want := "cuda: Lose: fell off the bus: device lost"; err.Error() != want {
			t.Errorf("error text %q, want %q", err, want)
		}
		dev.Lose(errors.New("second")) // no effect
		if err2 := s.Synchronize(); err2 != err {
			t.Errorf("after second Lose: %v", err2)
		}
	})
}

func TestKernelPanicIsFault(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	ok(t, dev.RegisterKernel(sim.KernelDef{
		Spec: cuda.KernelSpec{Module: "test", Name: "oob", Params: []cuda.Param{{Name: "y", Kind: cuda.ParamPtr}}},
		Run: func(c *sim.Call) error {
			b, _ := c.Bytes(0)
			b[len(b)] = 1 // out of range: a Go panic, recovered as a fault
			return nil
		},
	}))
	k := must(dev.Kernel("test", "oob"))(t)
	s := must(dev.NewStream(0))(t)
	ok(t, s.Launch(k, cuda.LaunchConfig{}, cuda.Ptr(must(dev.Alloc(16))(t))))
	err := s.Synchronize()
	if !errors.Is(err, cuda.ErrDeviceLost) || !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "Launch oob") {
		t.Fatalf("Synchronize after panicking kernel: %v", err)
	}
}

func TestHostFuncPanicIsFault(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s := must(dev.NewStream(0))(t)
	ok(t, s.(*sim.Stream).LaunchHostFunc(func(error) { panic("boom") }))
	if err := s.Synchronize(); !errors.Is(err, cuda.ErrDeviceLost) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Synchronize after panicking host function: %v", err)
	}
}
