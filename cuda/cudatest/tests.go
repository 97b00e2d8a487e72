package cudatest

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/coawait/coawait/cuda"
)

func testProperties(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	p := dev.Properties()
	if p.Name == "" || p.TotalMemory <= 0 || p.Capability.Major < 1 || p.CopyEngines < 1 ||
		p.MaxThreadsPerBlock < 1 || p.MaxBlock.X < 1 || p.MaxGrid.X < 1 || p.Multiprocessors < 1 {
		t.Errorf("implausible properties %+v", p)
	}
	if got := p.ClampPriority(-1000); got != min(p.GreatestPriority, p.LeastPriority) {
		t.Errorf("ClampPriority(-1000) = %d", got)
	}
	s := must(dev.NewStream(-1000))(t)
	if s.Priority() != p.ClampPriority(-1000) {
		t.Errorf("stream priority %d, want %d", s.Priority(), p.ClampPriority(-1000))
	}
}

func testAllocErrors(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	for _, n := range []int{0, -1, math.MinInt} {
		_, err := dev.Alloc(n)
		wantErr(t, sprint("Alloc(", n, ")"), err, cuda.ErrInvalidValue, "Alloc")
		_, err = dev.AllocHost(n)
		wantErr(t, sprint("AllocHost(", n, ")"), err, cuda.ErrInvalidValue, "AllocHost")
	}
	if total := dev.Properties().TotalMemory; total < math.MaxInt-1 {
		_, err := dev.Alloc(int(total) + 1)
		wantErr(t, "Alloc(TotalMemory+1)", err, cuda.ErrOutOfMemory, "Alloc")
	}
	p := alloc(t, dev, 1000)
	if p == 0 || uintptr(p)%256 != 0 {
		t.Errorf("Alloc returned %v, want a non-null 256-byte-aligned pointer", p)
	}
	wantErr(t, "Free(null)", dev.Free(0), cuda.ErrInvalidValue, "Free")
	wantErr(t, "Free(interior)", dev.Free(p.Add(8)), cuda.ErrInvalidValue, "Free")
	ok(t, dev.Free(p))
	wantErr(t, "Free twice", dev.Free(p), cuda.ErrInvalidValue, "Free")

	other := open(t, nd)
	q := alloc(t, other, 64)
	wantErr(t, "Free(foreign)", dev.Free(q), cuda.ErrInvalidValue, "Free")
	hb := host(t, other, 64)
	wantErr(t, "FreeHost(foreign)", dev.FreeHost(hb), cuda.ErrInvalidValue, "FreeHost")
	wantErr(t, "FreeHost(nil)", dev.FreeHost(nil), cuda.ErrInvalidValue, "FreeHost")
}

func testHostViews(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	b := host(t, dev, 24)
	if b.Len() != 24 {
		t.Fatalf("Len = %d", b.Len())
	}
	raw := hostBytes(t, b)
	if len(raw) != 24 || uintptr(unsafe.Pointer(&raw[0]))%64 != 0 {
		t.Errorf("Bytes: len %d, address %p; want 24 bytes aligned to 64", len(raw), &raw[0])
	}
	f := f32s(t, b)
	d := must(b.Float64s())(t)
	if len(f) != 6 || len(d) != 3 || unsafe.Pointer(&f[0]) != unsafe.Pointer(&raw[0]) {
		t.Errorf("views: %d float32s, %d float64s", len(f), len(d))
	}
	f[1] = 1.5
	if got := must(b.Float32s())(t)[1]; got != 1.5 {
		t.Errorf("views do not share memory: %v", got)
	}
	odd := host(t, dev, 6)
	_, err := odd.Float32s()
	wantErr(t, "Float32s on 6 bytes", err, cuda.ErrInvalidValue, "Float32s")
	_, err = must(dev.AllocHost(12))(t).Float64s()
	wantErr(t, "Float64s on 12 bytes", err, cuda.ErrInvalidValue, "Float64s")
	var zero cuda.HostBuffer
	_, err = zero.Bytes()
	wantErr(t, "zero HostBuffer", err, cuda.ErrInvalidValue, "")
}

// testCopyRoundTrip copies patterns host → device → device → host at offsets
// and checks that exactly the addressed bytes changed.
func testCopyRoundTrip(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	for i, n := range []int{0, 1, 3, 255, 4096, 65537, 1<<20 + 5, 16<<20 + 3} {
		const pad = 96
		src := host(t, dev, n+2*pad)
		dst := host(t, dev, n+2*pad)
		a := alloc(t, dev, n+2*pad)
		b := alloc(t, dev, n+2*pad)
		want := pattern(n+2*pad, uint64(i))
		copy(hostBytes(t, src), want)
		fill(hostBytes(t, dst), 0xcd)
		offA, offB := 7+i%5, 64
		ok(t, s.Memset(a, 0, n+2*pad, 0xab))
		ok(t, s.Memset(b, 0, n+2*pad, 0xef))
		ok(t, s.CopyHtoD(a, offA, src, 3, n))
		ok(t, s.CopyDtoD(b, offB, a, offA, n))
		ok(t, s.CopyDtoH(dst, 11, b, offB, n))
		ok(t, s.Synchronize())
		got := hostBytes(t, dst)
		checkBytes(t, sprint("size ", n, " payload"), got[11:11+n], want[3:3+n])
		checkBytes(t, sprint("size ", n, " before"), got[:11], repeat(0xcd, 11))
		checkBytes(t, sprint("size ", n, " after"), got[11+n:], repeat(0xcd, len(got)-11-n))
		// The bytes around the copies on the device are untouched.
		ok(t, s.CopyDtoH(dst, 0, a, 0, n+2*pad))
		ok(t, s.Synchronize())
		got = hostBytes(t, dst)
		checkBytes(t, sprint("size ", n, " device before"), got[:offA], repeat(0xab, offA))
		checkBytes(t, sprint("size ", n, " device payload"), got[offA:offA+n], want[3:3+n])
		checkBytes(t, sprint("size ", n, " device after"), got[offA+n:], repeat(0xab, len(got)-offA-n))
		ok(t, dev.Free(a))
		ok(t, dev.Free(b))
		ok(t, dev.FreeHost(src))
		ok(t, dev.FreeHost(dst))
	}
}

// testCopyBounds checks that every out-of-range or invalid copy is refused
// with ErrInvalidValue naming the operation, and that nothing was enqueued.
func testCopyBounds(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	other := open(t, nd)
	s := stream(t, dev)
	d := alloc(t, dev, 64)
	d2 := alloc(t, dev, 64)
	freed := alloc(t, dev, 64)
	ok(t, dev.Free(freed))
	foreign := alloc(t, other, 64)
	h := host(t, dev, 64)
	copy(hostBytes(t, h), repeat(7, 64))
	ok(t, s.Memset(d, 0, 64, 1))
	ok(t, s.Memset(d2, 0, 64, 2))
	ok(t, s.Synchronize())
	cases := []struct {
		name, op string
		call     func() error
	}{
		{"HtoD dst overflow", "CopyHtoD", func() error { return s.CopyHtoD(d, 10, h, 0, 60) }},
		{"HtoD src overflow", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, h, 10, 60) }},
		{"HtoD negative size", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, h, 0, -1) }},
		{"HtoD negative dst offset", "CopyHtoD", func() error { return s.CopyHtoD(d, -1, h, 0, 1) }},
		{"HtoD negative src offset", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, h, -1, 1) }},
		{"HtoD huge size", "CopyHtoD", func() error { return s.CopyHtoD(d, 1, h, 0, math.MaxInt) }},
		{"HtoD huge offset", "CopyHtoD", func() error { return s.CopyHtoD(d, math.MaxInt, h, 0, 1) }},
		{"HtoD null", "CopyHtoD", func() error { return s.CopyHtoD(0, 0, h, 0, 1) }},
		{"HtoD freed", "CopyHtoD", func() error { return s.CopyHtoD(freed, 0, h, 0, 1) }},
		{"HtoD foreign", "CopyHtoD", func() error { return s.CopyHtoD(foreign, 0, h, 0, 1) }},
		{"HtoD nil host", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, nil, 0, 1) }},
		{"HtoD interior overflow", "CopyHtoD", func() error { return s.CopyHtoD(d.Add(32), 0, h, 0, 33) }},
		{"DtoH dst overflow", "CopyDtoH", func() error { return s.CopyDtoH(h, 1, d, 0, 64) }},
		{"DtoH src overflow", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, d, 63, 2) }},
		{"DtoH negative", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, d, 0, -5) }},
		{"DtoH freed", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, freed, 0, 1) }},
		{"DtoD dst overflow", "CopyDtoD", func() error { return s.CopyDtoD(d2, 1, d, 0, 64) }},
		{"DtoD src overflow", "CopyDtoD", func() error { return s.CopyDtoD(d2, 0, d, 1, 64) }},
		{"DtoD foreign", "CopyDtoD", func() error { return s.CopyDtoD(d2, 0, foreign, 0, 1) }},
		{"Memset overflow", "Memset", func() error { return s.Memset(d, 60, 5, 9) }},
		{"Memset negative", "Memset", func() error { return s.Memset(d, 0, -1, 9) }},
		{"Memset freed", "Memset", func() error { return s.Memset(freed, 0, 1, 9) }},
	}
	for _, c := range cases {
		wantErr(t, c.name, c.call(), cuda.ErrInvalidValue, c.op)
	}
	ok(t, s.Synchronize())
	got := host(t, dev, 128)
	ok(t, s.CopyDtoH(got, 0, d, 0, 64))
	ok(t, s.CopyDtoH(got, 64, d2, 0, 64))
	ok(t, s.Synchronize())
	checkBytes(t, "device memory after refused calls", hostBytes(t, got), append(repeat(1, 64), repeat(2, 64)...))
	checkBytes(t, "host memory after refused calls", hostBytes(t, h), repeat(7, 64))
	// Exact bounds are fine.
	ok(t, s.CopyHtoD(d, 0, h, 0, 64))
	ok(t, s.CopyHtoD(d, 64, h, 64, 0))
	ok(t, s.CopyDtoH(h, 63, d, 63, 1))
	ok(t, s.Synchronize())
}

func testMemset(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	const n = 1 << 16
	d := alloc(t, dev, n)
	h := host(t, dev, n)
	ok(t, s.Memset(d, 0, n, 0))
	ok(t, s.Memset(d, 100, 1000, 0x5a))
	ok(t, s.Memset(d.Add(5000), 1, 3, 0xff))
	ok(t, s.Memset(d, n, 0, 1))
	ok(t, s.CopyDtoH(h, 0, d, 0, n))
	ok(t, s.Synchronize())
	want := make([]byte, n)
	fill(want[100:1100], 0x5a)
	fill(want[5001:5004], 0xff)
	checkBytes(t, "memset", hostBytes(t, h), want)
}

// testStreamOrder checks that a stream runs its work in submission order.
func testStreamOrder(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	const steps, chunk = 64, 64
	d := alloc(t, dev, chunk)
	h := host(t, dev, steps*chunk)
	for i := range steps {
		ok(t, s.Memset(d, 0, chunk, byte(i+1)))
		ok(t, s.CopyDtoH(h, i*chunk, d, 0, chunk))
	}
	ok(t, s.Synchronize())
	got := hostBytes(t, h)
	for i := range steps {
		checkBytes(t, sprint("step ", i), got[i*chunk:(i+1)*chunk], repeat(byte(i+1), chunk))
	}
}

// testCrossStreamWait checks that WaitEvent orders work across streams.
func testCrossStreamWait(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	fillK, scaleK := kernel(t, dev, "fill_f32"), kernel(t, dev, "scale_f32")
	a, b := stream(t, dev), stream(t, dev)
	const n = 1 << 16
	y := alloc(t, dev, 4*n)
	h := host(t, dev, 4*n)
	ea, eb := event(t, dev), event(t, dev)

	release := hold(t, dev, a)
	ok(t, a.Launch(fillK, cuda.Linear(n, 256, nil), cuda.Ptr(y), cuda.Float32(1), cuda.Int32(n)))
	ok(t, a.RecordEvent(ea))
	ok(t, b.WaitEvent(ea))
	ok(t, b.Launch(scaleK, cuda.Linear(n, 256, nil), cuda.Ptr(y), cuda.Float32(2), cuda.Int32(n)))
	ok(t, b.CopyDtoH(h, 0, y, 0, 4*n))
	ok(t, b.RecordEvent(eb))
	if done, err := eb.Query(); err != nil || done {
		t.Errorf("event after a wait on a held stream: Query = %v, %v; want false, nil", done, err)
	}
	release()
	ok(t, eb.Synchronize())
	if done, err := ea.Query(); err != nil || !done {
		t.Errorf("waited-for event: Query = %v, %v; want true, nil", done, err)
	}
	for i, v := range f32s(t, h) {
		if v != 2 {
			t.Fatalf("y[%d] = %v, want 2 (scale ran before fill?)", i, v)
		}
	}
	if dev.Properties().TimingEvents {
		if el := must(dev.ElapsedTime(ea, eb))(t); el < 0 {
			t.Errorf("the waiting stream's event precedes the waited-for event by %v", -el)
		}
	}
	// Waiting for an event that was never recorded does nothing.
	ok(t, b.WaitEvent(event(t, dev)))
	ok(t, b.Synchronize())
}

func testEventQuery(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	e := event(t, dev)
	if done, err := e.Query(); err != nil || !done {
		t.Errorf("unrecorded event: Query = %v, %v; want true, nil", done, err)
	}
	ok(t, e.Synchronize())
	release := hold(t, dev, s)
	ok(t, s.RecordEvent(e))
	start := time.Now()
	for range 1000 {
		if done, err := e.Query(); err != nil || done {
			t.Fatalf("event behind held work: Query = %v, %v; want false, nil", done, err)
		}
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("1000 Query calls took %v; Query must not block", el)
	}
	release()
	ok(t, e.Synchronize())
	if done, err := e.Query(); err != nil || !done {
		t.Errorf("after Synchronize: Query = %v, %v; want true, nil", done, err)
	}
	// Re-recording moves the mark.
	release = hold(t, dev, s)
	ok(t, s.RecordEvent(e))
	if done, _ := e.Query(); done {
		t.Error("re-recorded event behind held work reports done")
	}
	release()
	ok(t, s.Synchronize())
	if done, err := e.Query(); err != nil || !done {
		t.Errorf("after stream Synchronize: Query = %v, %v; want true, nil", done, err)
	}
	_, err := dev.NewEvent(cuda.EventFlags(1 << 30))
	wantErr(t, "NewEvent(bad flags)", err, cuda.ErrInvalidValue, "NewEvent")
}

func testElapsedTime(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	if !dev.Properties().TimingEvents {
		t.Skip("device cannot time events")
	}
	spin := kernel(t, dev, "spin")
	s := stream(t, dev)
	start, end := event(t, dev), event(t, dev)
	const d = 2 * time.Millisecond
	ok(t, s.RecordEvent(start))
	ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(d))))
	ok(t, s.RecordEvent(end))
	ok(t, end.Synchronize())
	el := must(dev.ElapsedTime(start, end))(t)
	if el < d || el > d+200*time.Millisecond {
		t.Errorf("elapsed time around a %v kernel = %v", d, el)
	}
	if back := must(dev.ElapsedTime(end, start))(t); back != -el {
		t.Errorf("ElapsedTime(end, start) = %v, want %v", back, -el)
	}
	noTiming := must(dev.NewEvent(cuda.EventDisableTiming))(t)
	ok(t, s.RecordEvent(noTiming))
	ok(t, s.Synchronize())
	_, err := dev.ElapsedTime(start, noTiming)
	wantErr(t, "ElapsedTime with EventDisableTiming", err, cuda.ErrInvalidValue, "ElapsedTime")
	_, err = dev.ElapsedTime(start, event(t, dev))
	wantErr(t, "ElapsedTime with unrecorded event", err, cuda.ErrInvalidValue, "ElapsedTime")
	release := hold(t, dev, s)
	pending := event(t, dev)
	ok(t, s.RecordEvent(pending))
	_, err = dev.ElapsedTime(start, pending)
	wantErr(t, "ElapsedTime with pending event", err, cuda.ErrNotReady, "ElapsedTime")
	release()
	ok(t, s.Synchronize())
}

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
	wantErr(t, "kernel of another device", s.Launch(foreignK, cfg, args...), cuda.ErrInvalidValue, "Launch")
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

// testOverlap checks, with event timestamps, that work on independent
// streams overlaps: two kernels, and a host-to-device copy with a kernel.
func testOverlap(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	if !dev.Properties().TimingEvents {
		t.Skip("device cannot time events")
	}
	spin := kernel(t, dev, "spin")
	const d = 5 * time.Millisecond
	const n = 32 << 20
	h := host(t, dev, n)
	buf := alloc(t, dev, n)
	for _, mode := range []string{"kernel+kernel", "copy+kernel"} {
		s0, s1 := stream(t, dev), stream(t, dev)
		origin := event(t, dev)
		b0, e0, b1, e1 := event(t, dev), event(t, dev), event(t, dev), event(t, dev)
		ok(t, s0.RecordEvent(origin))
		ok(t, s1.WaitEvent(origin))
		ok(t, s0.RecordEvent(b0))
		ok(t, s1.RecordEvent(b1))
		if mode == "copy+kernel" {
			ok(t, s0.CopyHtoD(buf, 0, h, 0, n))
		} else {
			ok(t, s0.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(d))))
		}
		ok(t, s1.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(d))))
		ok(t, s0.RecordEvent(e0))
		ok(t, s1.RecordEvent(e1))
		ok(t, dev.Synchronize())
		at := func(e cuda.Event) time.Duration { return must(dev.ElapsedTime(origin, e))(t) }
		t0, t1, t2, t3 := at(b0), at(e0), at(b1), at(e1)
		overlap := min(t1, t3) - max(t0, t2)
		shorter := min(t1-t0, t3-t2)
		t.Logf("%s: stream 0 [%v, %v], stream 1 [%v, %v], overlap %v", mode, t0, t1, t2, t3, overlap)
		if overlap < shorter/2 {
			t.Errorf("%s: intervals [%v, %v] and [%v, %v] overlap by %v, want at least half of the shorter (%v)",
				mode, t0, t1, t2, t3, overlap, shorter/2)
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
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(10 * time.Millisecond)
		release()
	}()
	ok(t, dev.Close())
	<-released
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

// newDevice opens a device the test closes itself (with a safety net).
func newDevice(t *testing.T, nd NewDevice) cuda.Device {
	t.Helper()
	dev := nd(t)
	t.Cleanup(func() { _ = dev.Close() })
	return dev
}

func testUseAfterFreeOrClose(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	spinOK := true
	spin, err := dev.Kernel(Module, "fill_f32")
	if err != nil {
		spinOK = false
	}
	d := alloc(t, dev, 64)
	h := host(t, dev, 64)
	ok(t, dev.Free(d))
	wantErr(t, "CopyHtoD to freed", s.CopyHtoD(d, 0, h, 0, 1), cuda.ErrInvalidValue, "CopyHtoD")
	wantErr(t, "Memset of freed", s.Memset(d, 0, 1, 0), cuda.ErrInvalidValue, "Memset")
	if spinOK {
		wantErr(t, "Launch on freed", s.Launch(spin, cuda.LaunchConfig{}, cuda.Ptr(d), cuda.Float32(1), cuda.Int32(1)), cuda.ErrInvalidValue, "Launch")
	}
	d2 := alloc(t, dev, 64)
	ok(t, dev.FreeHost(h))
	_, err = h.Bytes()
	wantErr(t, "Bytes of freed host buffer", err, cuda.ErrInvalidValue, "")
	wantErr(t, "CopyHtoD from freed host buffer", s.CopyHtoD(d2, 0, h, 0, 1), cuda.ErrInvalidValue, "CopyHtoD")
	wantErr(t, "FreeHost twice", dev.FreeHost(h), cuda.ErrInvalidValue, "FreeHost")

	e := event(t, dev)
	ok(t, e.Close())
	wantErr(t, "RecordEvent of closed event", s.RecordEvent(e), cuda.ErrClosed, "RecordEvent")
	_, err = e.Query()
	wantErr(t, "Query of closed event", err, cuda.ErrClosed, "")
	wantErr(t, "Close event twice", e.Close(), cuda.ErrClosed, "")

	s2 := stream(t, dev)
	ok(t, s2.Memset(d2, 0, 64, 3))
	ok(t, s2.Close())
	wantErr(t, "Memset on closed stream", s2.Memset(d2, 0, 64, 3), cuda.ErrClosed, "Memset")
	wantErr(t, "Close stream twice", s2.Close(), cuda.ErrClosed, "")
	ok(t, dev.Synchronize()) // the closed stream's queued work still ran
	out := host(t, dev, 64)
	ok(t, s.CopyDtoH(out, 0, d2, 0, 64))
	ok(t, s.Synchronize())
	checkBytes(t, "work queued before stream Close", hostBytes(t, out), repeat(3, 64))
}

// testBufferBusy checks that host buffers in use by a copy are refused to
// the host and to copies on other streams, and allowed to copies on the same
// stream, which are ordered after it.
func testBufferBusy(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s, s2 := stream(t, dev), stream(t, dev)
	d, d2 := alloc(t, dev, 4096), alloc(t, dev, 4096) // d2 for s2: no unordered writes
	h := host(t, dev, 4096)
	out := host(t, dev, 4096)
	release := hold(t, dev, s)
	ok(t, s.CopyHtoD(d, 0, h, 0, 4096))
	ok(t, s.CopyDtoH(out, 0, d, 0, 1024))
	if !h.Busy() || !out.Busy() {
		t.Errorf("Busy = %v, %v during copies; want true", h.Busy(), out.Busy())
	}
	wantErr(t, "FreeHost of busy buffer", dev.FreeHost(h), cuda.ErrBufferBusy, "FreeHost")
	_, err := h.Bytes()
	wantErr(t, "Bytes of busy buffer", err, cuda.ErrBufferBusy, "Bytes")
	_, err = out.Float32s()
	wantErr(t, "Float32s of busy buffer", err, cuda.ErrBufferBusy, "Float32s")
	wantErr(t, "CopyDtoH on another stream into a buffer being read", s2.CopyDtoH(h, 100, d2, 0, 10), cuda.ErrBufferBusy, "CopyDtoH")
	wantErr(t, "CopyDtoH on another stream into an overlapping range", s2.CopyDtoH(out, 1023, d2, 0, 10), cuda.ErrBufferBusy, "CopyDtoH")
	wantErr(t, "CopyHtoD on another stream from a range being written", s2.CopyHtoD(d2, 0, out, 0, 10), cuda.ErrBufferBusy, "CopyHtoD")
	ok(t, s2.CopyHtoD(d2, 0, h, 0, 10))        // two readers are fine
	ok(t, s2.CopyDtoH(out, 1024, d2, 0, 1024)) // a disjoint range is fine
	ok(t, s2.CopyHtoD(d2, 16, out, 2048, 16))  // reading a range nobody writes is fine
	ok(t, s.CopyDtoH(h, 2048, d, 0, 2048))     // the same stream is ordered: fine
	release()
	ok(t, s.Synchronize())
	ok(t, s2.Synchronize())
	if h.Busy() || out.Busy() {
		t.Error("buffers still busy after Synchronize")
	}
	ok(t, dev.FreeHost(h))
	_ = hostBytes(t, out)
}

// testHostFunc checks LaunchHostFunc where a stream supports it.
func testHostFunc(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s := stream(t, dev)
	hl, isHL := s.(cuda.HostFuncLauncher)
	if !isHL {
		t.Skip("streams do not implement cuda.HostFuncLauncher")
	}
	e := event(t, dev)
	ok(t, s.Memset(alloc(t, dev, 64), 0, 64, 1))
	ok(t, s.RecordEvent(e))
	type result struct {
		done bool
		err  error
	}
	got := make(chan result, 1)
	ok(t, hl.LaunchHostFunc(func(err error) {
		done, qerr := e.Query()
		if err == nil {
			err = qerr
		}
		got <- result{done, err}
	}))
	ok(t, s.Synchronize())
	if r := <-got; !r.done || r.err != nil {
		t.Errorf("host function saw earlier event done=%v err=%v; want true, nil", r.done, r.err)
	}
	wantErr(t, "nil host function", hl.LaunchHostFunc(nil), cuda.ErrInvalidValue, "")
	// A host function pending at Close is called with ErrClosed.
	dev2 := newDevice(t, nd)
	s2 := stream(t, dev2)
	release := hold(t, dev2, s2)
	calls := make(chan error, 2)
	ok(t, s2.(cuda.HostFuncLauncher).LaunchHostFunc(func(err error) { calls <- err }))
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(10 * time.Millisecond)
		release()
	}()
	ok(t, dev2.Close())
	<-released
	if err := <-calls; err != nil && !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("host function pending at Close got %v, want nil or ErrClosed", err)
	}
	if len(calls) != 0 {
		t.Error("host function called twice")
	}
}

// testPools checks HostPool and MemPool on the device.
func testPools(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	s0, s1 := stream(t, dev), stream(t, dev)
	hp := cuda.NewHostPool(dev, 2)
	b := must(hp.Get(4096))(t)
	ok(t, hp.Put(b))
	if b2 := must(hp.Get(4096))(t); b2 != b {
		t.Error("HostPool.Get did not reuse a free buffer of the same size")
	}
	d := alloc(t, dev, 4096)
	release := hold(t, dev, s0)
	ok(t, s0.CopyHtoD(d, 0, b, 0, 4096))
	wantErr(t, "Put of busy buffer", hp.Put(b), cuda.ErrBufferBusy, "Put")
	release()
	ok(t, s0.Synchronize())
	ok(t, hp.Put(b))
	wantErr(t, "Put twice", hp.Put(b), cuda.ErrInvalidValue, "Put")
	ok(t, hp.Close())
	_, err := hp.Get(1)
	wantErr(t, "Get after Close", err, cuda.ErrClosed, "Get")

	mp := cuda.NewMemPool(dev)
	p := must(mp.Alloc(s0, 1024))(t)
	ok(t, mp.Free(s0, p))
	if q := must(mp.Alloc(s0, 1024))(t); q != p {
		t.Error("MemPool did not reuse a block on the stream that freed it")
	}
	release = hold(t, dev, s0)
	ok(t, s0.Memset(p, 0, 1024, 1))
	ok(t, mp.Free(s0, p))
	q := must(mp.Alloc(s1, 1024))(t)
	if q == p {
		t.Error("MemPool reused a block on another stream before the freeing stream's work was done")
	}
	release()
	ok(t, s0.Synchronize())
	if r := must(mp.Alloc(s1, 1024))(t); r != p {
		t.Error("MemPool did not reuse a block on another stream after the freeing stream's work was done")
	}
	wantErr(t, "MemPool.Free of foreign pointer", mp.Free(s0, d), cuda.ErrInvalidValue, "MemPool.Free")
	ok(t, mp.Free(s1, q))
	wantErr(t, "MemPool.Free twice", mp.Free(s1, q), cuda.ErrInvalidValue, "MemPool.Free")
	ok(t, mp.Close())
	_, err = mp.Alloc(s0, 1)
	wantErr(t, "MemPool.Alloc after Close", err, cuda.ErrClosed, "MemPool.Alloc")
}

// testConcurrentStreams submits from several goroutines at once, each with
// its own stream and memory, and checks every result.
func testConcurrentStreams(t *testing.T, nd NewDevice) {
	dev := open(t, nd)
	const workers, rounds, n = 4, 20, 4096
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := stream(t, dev)
		d := alloc(t, dev, n)
		in, out := host(t, dev, n), host(t, dev, n)
		wg.Go(func() {
			for r := range rounds {
				want := pattern(n, uint64(w*1000+r))
				b, err := in.Bytes()
				if err != nil {
					errs <- err
					return
				}
				copy(b, want)
				if err := errors.Join(s.CopyHtoD(d, 0, in, 0, n), s.CopyDtoH(out, 0, d, 0, n), s.Synchronize()); err != nil {
					errs <- err
					return
				}
				got, err := out.Bytes()
				if err != nil {
					errs <- err
					return
				}
				if string(got) != string(want) {
					errs <- errors.New("cudatest: concurrent round trip returned wrong bytes")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
