package cudatest

import (
	"math"
	"testing"
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
	wantErr(t, "Free(foreign)", dev.Free(q), cuda.ErrForeign, "Free")
	hb := host(t, other, 64)
	wantErr(t, "FreeHost(foreign)", dev.FreeHost(hb), cuda.ErrForeign, "FreeHost")
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
	foreignHost := host(t, other, 64) // pinned by another device: not usable here
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
		{"HtoD nil host", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, nil, 0, 1) }},
		{"HtoD zero HostBuffer", "CopyHtoD", func() error { return s.CopyHtoD(d, 0, new(cuda.HostBuffer), 0, 1) }},
		{"HtoD interior overflow", "CopyHtoD", func() error { return s.CopyHtoD(d.Add(32), 0, h, 0, 33) }},
		{"DtoH dst overflow", "CopyDtoH", func() error { return s.CopyDtoH(h, 1, d, 0, 64) }},
		{"DtoH src overflow", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, d, 63, 2) }},
		{"DtoH negative", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, d, 0, -5) }},
		{"DtoH freed", "CopyDtoH", func() error { return s.CopyDtoH(h, 0, freed, 0, 1) }},
		{"DtoD dst overflow", "CopyDtoD", func() error { return s.CopyDtoD(d2, 1, d, 0, 64) }},
		{"DtoD src overflow", "CopyDtoD", func() error { return s.CopyDtoD(d2, 0, d, 1, 64) }},
		{"Memset overflow", "Memset", func() error { return s.Memset(d, 60, 5, 9) }},
		{"Memset negative", "Memset", func() error { return s.Memset(d, 0, -1, 9) }},
		{"Memset freed", "Memset", func() error { return s.Memset(freed, 0, 1, 9) }},
	}
	for _, c := range cases {
		wantErr(t, c.name, c.call(), cuda.ErrInvalidValue, c.op)
	}
	// A pointer of another device is refused as such.
	wantErr(t, "HtoD foreign", s.CopyHtoD(foreign, 0, h, 0, 1), cuda.ErrForeign, "CopyHtoD")
	wantErr(t, "DtoH foreign", s.CopyDtoH(h, 0, foreign, 0, 1), cuda.ErrForeign, "CopyDtoH")
	wantErr(t, "DtoD foreign", s.CopyDtoD(d2, 0, foreign, 0, 1), cuda.ErrForeign, "CopyDtoD")
	wantErr(t, "Memset foreign", s.Memset(foreign, 0, 1, 9), cuda.ErrForeign, "Memset")
	// So is a host buffer of another device: a GPU copies asynchronously
	// only from memory it pinned itself.
	wantErr(t, "HtoD from another device's host buffer", s.CopyHtoD(d, 0, foreignHost, 0, 1), cuda.ErrForeign, "CopyHtoD")
	wantErr(t, "DtoH into another device's host buffer", s.CopyDtoH(foreignHost, 0, d, 0, 1), cuda.ErrForeign, "CopyDtoH")
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
