package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/cudatest"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/docs/internal/golden"
	"github.com/coawait/coawait/scheduler"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a device, a scheduler and n floats 1, 2, ... on the host.
type fixture struct {
	dev  *sim.Device
	s    *scheduler.Scheduler
	ks   *kernels.Set
	host *cuda.HostBuffer
	d    cuda.DevicePtr
}

func newFixture(t *testing.T, cfg sim.Config, n int) *fixture {
	t.Helper()
	f := &fixture{dev: sim.New(cfg)}
	t.Cleanup(func() { f.dev.Close() }) // runs last: after the scheduler's Close
	var err error
	if f.ks, err = kernels.Bind(f.dev); err != nil {
		t.Fatal(err)
	}
	if f.s, err = scheduler.New(f.dev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	if f.host, err = f.dev.AllocHost(4 * n); err != nil {
		t.Fatal(err)
	}
	if f.d, err = f.dev.Alloc(4 * n); err != nil {
		t.Fatal(err)
	}
	xs, _ := f.host.Float32s()
	for i := range xs {
		xs[i] = float32(i + 1)
	}
	return f
}

// In Modeled mode inside a synctest bubble, the fake clock moves exactly
// by the modeled durations, and at once: this test asserts each modeled
// time to the nanosecond, and waits for none of it in real time.
func TestScaleTakesThePredictedTime(t *testing.T) {
	for _, timing := range []sim.Timing{
		sim.DefaultTiming(), // an H100 PCIe on PCIe Gen5
		{HtoD: 12e9, DtoH: 12e9, Memory: 900e9, CopyEngines: 1, LaunchLatency: 5 * time.Microsecond},
	} {
		for _, n := range []int{4, 1 << 16, 1 << 20} {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, sim.Config{Mode: sim.Modeled, Timing: timing}, n)
				start := time.Now()
				ys, err := Scale(t.Context(), f.s, f.ks, f.host, f.d, 3, n)
				elapsed := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if ys[n-1] != 3*float32(n) {
					t.Errorf("ys[%d] = %v, want %v", n-1, ys[n-1], 3*float32(n))
				}
				full := f.dev.Config().Timing // the model with defaults filled in
				if want := Predict(full, n); elapsed != want {
					t.Errorf("n=%d: took %v, the model predicts %v", n, elapsed, want)
				}
			})
		}
	}
}

// A refused call: the upload fails at once, and the launch and download
// that depend on it fail with it without being submitted.
func TestScaleRefusedUpload(t *testing.T) {
	f := newFixture(t, sim.Config{}, 4)
	if err := f.dev.InjectFault(sim.Fault{Op: sim.OpCopyHtoD, N: 1, Err: cuda.ErrOutOfMemory}); err != nil {
		t.Fatal(err)
	}
	_, err := Scale(t.Context(), f.s, f.ks, f.host, f.d, 3, 4)
	if !errors.Is(err, cuda.ErrOutOfMemory) || !errors.Is(err, scheduler.ErrDependency) {
		t.Fatalf("err = %v; want the upload's out of memory, through a dependency", err)
	}
	// The fault was one call: the next Scale works.
	if ys, err := Scale(t.Context(), f.s, f.ks, f.host, f.d, 3, 4); err != nil || ys[0] != 3 {
		t.Fatalf("after the fault: %v, %v", ys, err)
	}
}

// A sticky fault: the kernel faults on the device, the device is lost, and
// this and every later operation fails with the same cause.
func TestScaleDeviceLost(t *testing.T) {
	f := newFixture(t, sim.Config{}, 4)
	ecc := errors.New("uncorrectable ECC error")
	if err := f.dev.InjectFault(sim.Fault{Op: sim.OpLaunch, N: 1, Err: ecc, Sticky: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := Scale(t.Context(), f.s, f.ks, f.host, f.d, 3, 4)
		if !errors.Is(err, cuda.ErrDeviceLost) || !errors.Is(err, ecc) {
			t.Fatalf("err = %v; want device lost, caused by %v", err, ecc)
		}
	}
}

// The conformance suite, as a new backend would run it: one function that
// opens a fresh device per test. Here each test runs in a synctest bubble
// on the simulator in Modeled mode, so modeled time passes at once.
func TestConformance(t *testing.T) {
	newDevice := func(*testing.T) cuda.Device { return sim.New(sim.Config{Mode: sim.Modeled}) }
	for _, tc := range cudatest.Tests() {
		t.Run(tc.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { tc.F(t, newDevice) })
		})
	}
}

// TestRun runs the program and compares its output with output.txt, which
// the page shows.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, out.Bytes())
}
