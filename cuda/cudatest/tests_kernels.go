package cudatest

import (
	"errors"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
)

func testKernelArgs(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	saxpy := kernel(t, dev, "saxpy_f32")
	s := stream(t, dev)
	const n = 256
	x, y := alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	freed := alloc(t, dev, 4*n)
	ok(t, dev.Free(freed))
	cfg := cuda.Linear(n, 128, nil)
	_, err := dev.Kernel(Module, "no_such_kernel")
	wantErr(t, "unknown kernel", err, cuda.ErrNotFound, "Kernel")
	_, err = dev.Kernel("no_such_module", "saxpy_f32")
	wantErr(t, "unknown module", err, cuda.ErrNotFound, "Kernel")
	props := dev.Properties()
	args := []cuda.Arg{cuda.Ptr(y), cuda.Float32(2), cuda.Ptr(x), cuda.Int32(n)}
	cases := []struct {
		name string
		cfg  cuda.LaunchConfig
		args []cuda.Arg
	}{
		{"no args", cfg, nil},
		{"too few", cfg, args[:3]},
		{"too many", cfg, append(append([]cuda.Arg(nil), args...), cuda.Int32(1))},
		{"int for pointer", cfg, []cuda.Arg{cuda.Int64(int64(y)), cuda.Float32(2), cuda.Ptr(x), cuda.Int32(n)}},
		{"float64 for float32", cfg, []cuda.Arg{cuda.Ptr(y), cuda.Float64(2), cuda.Ptr(x), cuda.Int32(n)}},
		{"int64 for int32", cfg, []cuda.Arg{cuda.Ptr(y), cuda.Float32(2), cuda.Ptr(x), cuda.Int64(n)}},
		{"zero Arg", cfg, []cuda.Arg{cuda.Ptr(y), {}, cuda.Ptr(x), cuda.Int32(n)}},
		{"freed pointer", cfg, []cuda.Arg{cuda.Ptr(freed), cuda.Float32(2), cuda.Ptr(x), cuda.Int32(n)}},
		{"block too large", cuda.LaunchConfig{Grid: cfg.Grid, Block: cuda.Dim3{X: props.MaxThreadsPerBlock + 1}}, args},
		{"block 32x32x2", cuda.LaunchConfig{Grid: cfg.Grid, Block: cuda.Dim3{X: 32, Y: 32, Z: 2}}, args},
		{"negative grid", cuda.LaunchConfig{Grid: cuda.Dim3{X: -1}, Block: cfg.Block}, args},
		{"grid Y too large", cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: props.MaxGrid.Y + 1}, Block: cfg.Block}, args},
		{"shared memory too large", cuda.LaunchConfig{Grid: cfg.Grid, Block: cfg.Block, SharedMem: props.MaxSharedMemoryPerBlock + 1}, args},
		{"negative shared memory", cuda.LaunchConfig{Grid: cfg.Grid, Block: cfg.Block, SharedMem: -1}, args},
	}
	for _, c := range cases {
		wantErr(t, c.name, s.Launch(saxpy, c.cfg, c.args...), cuda.ErrInvalidValue, "Launch")
	}
	wantErr(t, "nil kernel", s.Launch(nil, cfg, args...), cuda.ErrInvalidValue, "Launch")
	other := open(t, nd)
	foreignK, err := other.Kernel(Module, "saxpy_f32")
	ok(t, err)
	wantErr(t, "kernel of another device", s.Launch(foreignK, cfg, args...), cuda.ErrForeign, "Launch")
	foreignP := alloc(t, other, 4*n)
	wantErr(t, "pointer argument of another device", s.Launch(saxpy, cfg, cuda.Ptr(y), cuda.Float32(2), cuda.Ptr(foreignP), cuda.Int32(n)), cuda.ErrForeign, "Launch")
	ok(t, s.Launch(saxpy, cfg, args...))
	ok(t, s.Synchronize())
}

// testKernelResults checks the kernels' results against Go references, with
// launch configurations that do and do not cover n.
func testKernelResults(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	fillK, scaleK, saxpy := kernel(t, dev, "fill_f32"), kernel(t, dev, "scale_f32"), kernel(t, dev, "saxpy_f32")
	s := stream(t, dev)
	const n = 10_007
	hx, hy := host(t, dev, 4*n), host(t, dev, 4*n)
	x, y := alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	xs, ys := f32s(t, hx), f32s(t, hy)
	for i := range n {
		xs[i] = float32(i%97) * 0.25
		ys[i] = float32(i%13) - 6
	}
	want := make([]float32, n)
	for i := range n {
		want[i] = (ys[i] + 1.5*xs[i]) * -0.5
	}
	ok(t, s.CopyHtoD(x, 0, hx, 0, 4*n))
	ok(t, s.CopyHtoD(y, 0, hy, 0, 4*n))
	ok(t, s.Launch(saxpy, cuda.Linear(n, 256, nil), cuda.Ptr(y), cuda.Float32(1.5), cuda.Ptr(x), cuda.Int32(n)))
	ok(t, s.Launch(scaleK, cuda.LaunchConfig{Grid: cuda.Dim3{X: 3}, Block: cuda.Dim3{X: 64}}, cuda.Ptr(y), cuda.Float32(-0.5), cuda.Int32(n)))
	ok(t, s.CopyDtoH(hy, 0, y, 0, 4*n))
	ok(t, s.Synchronize())
	for i, v := range f32s(t, hy) {
		if v != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
		}
	}
	// fill on an interior pointer leaves the bytes before it alone.
	ok(t, s.Launch(fillK, cuda.LaunchConfig{}, cuda.Ptr(y.Add(40)), cuda.Float32(3), cuda.Int32(n-10)))
	ok(t, s.CopyDtoH(hy, 0, y, 0, 4*n))
	ok(t, s.Synchronize())
	for i, v := range f32s(t, hy) {
		w := float32(3)
		if i < 10 {
			w = want[i]
		}
		if v != w {
			t.Fatalf("after fill: y[%d] = %v, want %v", i, v, w)
		}
	}
}

// testStickyError checks that a faulting kernel makes every pending and
// later operation fail with an error matching ErrDeviceLost.
func testStickyError(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	trap := kernel(t, dev, "trap")
	s0, s1 := stream(t, dev), stream(t, dev)
	d := alloc(t, dev, 64)
	h := host(t, dev, 64)
	pending := event(t, dev)
	release := hold(t, dev, s1)
	ok(t, s1.Memset(d, 0, 64, 1))
	ok(t, s1.RecordEvent(pending))
	ok(t, s0.Launch(trap, cuda.LaunchConfig{}))
	first := s0.Synchronize()
	wantErr(t, "Synchronize after trap", first, cuda.ErrDeviceLost, "")
	release()
	if !cuda.IsSticky(first) {
		t.Errorf("IsSticky(%v) = false", first)
	}
	_, qerr := pending.Query()
	wantErr(t, "Query of pending event", qerr, cuda.ErrDeviceLost, "")
	wantErr(t, "Synchronize of pending event", pending.Synchronize(), cuda.ErrDeviceLost, "")
	_, err := dev.Alloc(64)
	wantErr(t, "Alloc", err, cuda.ErrDeviceLost, "")
	wantErr(t, "Memset", s1.Memset(d, 0, 64, 1), cuda.ErrDeviceLost, "")
	wantErr(t, "CopyHtoD", s0.CopyHtoD(d, 0, h, 0, 64), cuda.ErrDeviceLost, "")
	wantErr(t, "stream Synchronize", s1.Synchronize(), cuda.ErrDeviceLost, "")
	wantErr(t, "device Synchronize", dev.Synchronize(), cuda.ErrDeviceLost, "")
	_, err = dev.NewStream(0)
	wantErr(t, "NewStream", err, cuda.ErrDeviceLost, "")
	if again := s0.Synchronize(); again == nil || again.Error() != first.Error() {
		t.Errorf("sticky error changed: first %v, then %v", first, again)
	}
}

// testCloseWithPendingWork closes a device with queued work and checks that
// everything fails with ErrClosed afterwards and no caller hangs.
func testCloseWithPendingWork(t *testing.T, nd NewDevice) {
	dev := newDevice(t, nd)
	s := stream(t, dev)
	d := alloc(t, dev, 1<<20)
	h := host(t, dev, 1<<20)
	e := event(t, dev)
	release := hold(t, dev, s)
	for range 10 {
		ok(t, s.Memset(d, 0, 1<<20, 1))
	}
	ok(t, s.CopyDtoH(h, 0, d, 0, 1<<20))
	ok(t, s.RecordEvent(e))
	waiter := make(chan error, 1)
	go func() { waiter <- e.Synchronize() }()
	closeHeld(t, dev, release)
	if err := <-waiter; err != nil && !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("Synchronize during Close = %v, want nil or ErrClosed", err)
	}
	_, err := e.Query()
	wantErr(t, "Query", err, cuda.ErrClosed, "")
	wantErr(t, "event Synchronize", e.Synchronize(), cuda.ErrClosed, "")
	wantErr(t, "Memset", s.Memset(d, 0, 1, 1), cuda.ErrClosed, "Memset")
	wantErr(t, "stream Synchronize", s.Synchronize(), cuda.ErrClosed, "")
	_, err = dev.Alloc(1)
	wantErr(t, "Alloc", err, cuda.ErrClosed, "Alloc")
	_, err = dev.NewStream(0)
	wantErr(t, "NewStream", err, cuda.ErrClosed, "NewStream")
	_, err = h.Bytes()
	wantErr(t, "host buffer Bytes", err, cuda.ErrClosed, "")
	wantErr(t, "Close twice", dev.Close(), cuda.ErrClosed, "Close")
}

// closeHeld closes dev while one of its streams is held, and lets the
// stream go (release) 10ms into the Close; it returns once both are done.
func closeHeld(t *testing.T, dev cuda.Device, release func()) {
	t.Helper()
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(10 * time.Millisecond)
		release()
	}()
	ok(t, dev.Close())
	<-released
}
