package scheduler_test

// Tests of issue 11: programs written from the docs alone that must work
// (or be refused clearly), each reproducible in a few lines.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
	"pgregory.net/rapid"
)

// readBack returns n bytes at p on dev, read with a stream of dev's own.
func readBack(t *testing.T, dev cuda.Device, p cuda.DevicePtr, n int) []byte {
	t.Helper()
	st, err := dev.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := dev.AllocHost(n)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.FreeHost(h)
	if err := st.CopyDtoH(h, 0, p, 0, n); err != nil {
		t.Fatal(err)
	}
	if err := st.Synchronize(); err != nil {
		t.Fatal(err)
	}
	b, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b...)
}

// A stream, device pointer or kernel of another device is refused with an
// error matching ErrForeign before anything is enqueued: nothing runs on
// either device, and the scheduler submits nothing.
func TestForeignHandles(t *testing.T) {
	e := newEnv(t, sim.Instant)
	other := sim.New(sim.Config{})
	defer other.Close()
	ost, err := other.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ost.Close()
	op, err := other.Alloc(64) // the other device's memory, zero
	if err != nil {
		t.Fatal(err)
	}
	ok := e.alloc(64)
	h := e.host(make([]float32, 16)...)
	ok2 := e.alloc(64)
	scale, err := other.Kernel(sim.BuiltinModule, "scale_f32")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   future.Awaitable
	}{
		{"stream", e.s.Memset(op, 0, 64, 0xAB, scheduler.OnStream(ost))},
		{"stream, own pointer", e.s.Memset(ok, 0, 64, 0xAB, scheduler.OnStream(ost))},
		{"pointer (memset)", e.s.Memset(op, 0, 64, 0xAB)},
		{"pointer (copy-in destination)", e.s.CopyHtoD(op, 0, h, 0, 64)},
		{"pointer (copy-out source)", e.s.CopyDtoH(h, 0, op, 0, 64)},
		{"pointer (device copy source)", e.s.CopyDtoD(ok, 0, op, 0, 64)},
		{"pointer (device copy destination)", e.s.CopyDtoD(op, 0, ok2, 0, 64)},
		{"kernel", e.s.Launch(scale, cuda.Linear(16, 16, nil), []cuda.Arg{cuda.Ptr(ok), cuda.Float32(2), cuda.Int32(16)})},
		{"kernel pointer argument", e.s.Launch(e.kernel("scale_f32"), cuda.Linear(16, 16, nil), []cuda.Arg{cuda.Ptr(op), cuda.Float32(2), cuda.Int32(16)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			<-tt.op.Done()
			err := tt.op.Err()
			if !errors.Is(err, scheduler.ErrForeign) {
				t.Fatalf("err = %v, want one matching ErrForeign", err)
			}
			var oe *scheduler.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an *OpError", err)
			}
		})
	}
	if got := readBack(t, other, op, 64); !bytes.Equal(got, make([]byte, 64)) {
		t.Errorf("the other device's memory was written: % x", got[:8])
	}
	if got := readBack(t, e.dev, ok, 64); !bytes.Equal(got, make([]byte, 64)) {
		t.Errorf("this device's memory was written through a foreign stream: % x", got[:8])
	}
	if m := e.s.Metrics(); m.Submitted != 0 || m.Rejected != int64(len(tests)) {
		t.Errorf("metrics %+v: want nothing submitted and %d rejected", m, len(tests))
	}
}

// The loader's pattern: download into a host buffer, then upload from it
// once the download is done on the device. The second copy is ordered
// after the first (After), so it may use the buffer at once.
func TestHostBufferReusedAfterDevice(t *testing.T) {
	const n = 4096
	run := func(t *testing.T, mode sim.TimeMode) {
		e := newEnv(t, mode)
		x, y := e.alloc(n), e.alloc(n)
		h, err := e.dev.AllocHost(n)
		if err != nil {
			t.Fatal(err)
		}
		set := e.s.Memset(x, 0, n, 7)
		down := e.s.CopyDtoH(h, 0, x, 0, n, scheduler.After(set))
		up := e.s.CopyHtoD(y, 0, h, 0, n, scheduler.After(down)) // reads h once down is done, on the device
		if _, err := up.Await(context.Background()); err != nil {
			t.Fatalf("upload ordered after the download: %v", err)
		}
		if got := readBack(t, e.dev, y, n); !bytes.Equal(got, bytes.Repeat([]byte{7}, n)) {
			t.Fatalf("y = % x..., want 07s", got[:8])
		}
		// Round-robin reuse through a third stream: copy-out, then a copy
		// on a user stream that waits for it, then copy-in after that.
		st, err := e.dev.NewStream(0)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		set2 := e.s.Memset(x, 0, n, 9)
		down2 := e.s.CopyDtoH(h, 0, x, 0, n, scheduler.After(set2))
		mid := e.s.CopyHtoD(x, 0, h, 0, n, scheduler.After(down2), scheduler.OnStream(st))
		up2 := e.s.CopyHtoD(y, 0, h, 0, n, scheduler.After(mid))
		if _, err := up2.Await(context.Background()); err != nil {
			t.Fatalf("transitively ordered reuse: %v", err)
		}
		if got := readBack(t, e.dev, y, n); !bytes.Equal(got, bytes.Repeat([]byte{9}, n)) {
			t.Fatalf("y = % x..., want 09s", got[:8])
		}
	}
	t.Run("Instant", func(t *testing.T) { run(t, sim.Instant) })
	t.Run("Modeled", func(t *testing.T) { synctest.Test(t, func(t *testing.T) { run(t, sim.Modeled) }) })

	// Unordered overlaps where one side writes are still refused.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled)
		x, y := e.alloc(n), e.alloc(n)
		h, err := e.dev.AllocHost(n)
		if err != nil {
			t.Fatal(err)
		}
		down := e.s.CopyDtoH(h, 0, x, 0, n)
		up := e.s.CopyHtoD(y, 0, h, 0, n) // no After: races with down
		if _, err := up.Await(context.Background()); !errors.Is(err, cuda.ErrBufferBusy) {
			t.Fatalf("unordered reuse: err = %v, want ErrBufferBusy", err)
		}
		await[*cuda.HostBuffer](t, down)
	})
}

// One copy of a random program, for TestHostBufferOrderProperty.
type progOp struct {
	write  bool // a copy-out, which writes its host buffer
	buf    int  // which host buffer
	half   int  // 0: the whole buffer, 1: its first half, 2: its second half
	stream int  // which stream
	deps   []int
}

func (p progOp) overlaps(q progOp) bool {
	return p.buf == q.buf && (p.half == 0 || q.half == 0 || p.half == q.half)
}

// Random programs of copies that share a few host buffers, with random
// After edges: a copy is refused with ErrBufferBusy exactly when an
// accepted earlier copy that overlaps it, where one of the two writes, is
// not ordered before it on the device (earlier on the same stream, or
// reached through After edges and stream order). Every stream is held by
// a host function until the program is submitted, so every accepted copy
// still holds its buffer.
func TestHostBufferOrderProperty(t *testing.T) {
	{
		rapid.Check(t, func(rt *rapid.T) {
			const size = 64
			nbuf := rapid.IntRange(1, 3).Draw(rt, "buffers")
			nops := rapid.IntRange(1, 14).Draw(rt, "ops")
			prog := make([]progOp, nops)
			for i := range prog {
				p := progOp{
					write:  rapid.Bool().Draw(rt, fmt.Sprint("write", i)),
					buf:    rapid.IntRange(0, nbuf-1).Draw(rt, fmt.Sprint("buf", i)),
					half:   rapid.IntRange(0, 2).Draw(rt, fmt.Sprint("half", i)),
					stream: rapid.IntRange(0, 2).Draw(rt, fmt.Sprint("stream", i)),
				}
				for j := range i {
					if rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("dep", i, "-", j)) == 0 {
						p.deps = append(p.deps, j)
					}
				}
				prog[i] = p
			}

			dev := sim.New(sim.Config{})
			defer dev.Close()
			s, err := scheduler.New(dev)
			if err != nil {
				rt.Fatal(err)
			}
			defer s.Close()
			bufs := make([]*cuda.HostBuffer, nbuf)
			for i := range bufs {
				if bufs[i], err = dev.AllocHost(size); err != nil {
					rt.Fatal(err)
				}
			}
			gate := make(chan struct{})
			var release sync.Once
			defer release.Do(func() { close(gate) })
			user := make([]cuda.Stream, 3)
			for i := range user {
				if user[i], err = dev.NewStream(0); err != nil {
					rt.Fatal(err)
				}
				defer user[i].Close()
				user[i].(cuda.HostFuncLauncher).LaunchHostFunc(func(error) { <-gate })
			}
			ops := make([]future.Awaitable, nops)
			for i, p := range prog {
				mem, err := dev.Alloc(size) // a device range of its own: no device-side race
				if err != nil {
					rt.Fatal(err)
				}
				off, n := 0, size
				if p.half > 0 {
					off, n = (p.half-1)*size/2, size/2
				}
				opts := []scheduler.OpOption{scheduler.OnStream(user[p.stream])}
				for _, d := range p.deps {
					opts = append(opts, scheduler.After(ops[d]))
				}
				if p.write {
					ops[i] = s.CopyDtoH(bufs[p.buf], off, mem, 0, n, opts...)
				} else {
					ops[i] = s.CopyHtoD(mem, 0, bufs[p.buf], off, n, opts...)
				}
			}

			// The model. streamOf names each op's stream; before[s] is the
			// set of accepted ops that the next op on stream s is ordered
			// after; hb[i] the accepted ops op i is ordered after.
			streamOf := func(p progOp) string { return fmt.Sprint(p.stream) }
			before := map[string]map[int]bool{}
			hb := make([]map[int]bool, nops)
			accepted := make([]bool, nops)
			want := make([]string, nops) // "ok", "busy" or "dependency"
			for i, p := range prog {
				hb[i] = map[int]bool{}
				depFailed := false
				for _, d := range p.deps {
					if !accepted[d] {
						depFailed = true
					}
				}
				if depFailed {
					want[i] = "dependency"
					continue
				}
				st := streamOf(p)
				for j := range before[st] {
					hb[i][j] = true
				}
				for _, d := range p.deps {
					hb[i][d] = true
					for j := range hb[d] {
						hb[i][j] = true
					}
				}
				want[i] = "ok"
				for j := range i {
					if accepted[j] && prog[j].overlaps(p) && (p.write || prog[j].write) && !hb[i][j] {
						want[i] = "busy"
					}
				}
				accepted[i] = want[i] == "ok"
				next := map[int]bool{}
				for j := range hb[i] {
					next[j] = true
				}
				if accepted[i] {
					next[i] = true
				}
				before[st] = next
			}

			release.Do(func() { close(gate) })
			for i, op := range ops {
				<-op.Done()
				err := op.Err()
				got := "ok"
				switch {
				case err == nil:
				case errors.Is(err, scheduler.ErrDependency):
					got = "dependency"
				case errors.Is(err, cuda.ErrBufferBusy):
					got = "busy"
				default:
					rt.Fatalf("op %d: unexpected error %v", i, err)
				}
				if got != want[i] {
					rt.Fatalf("op %d (%+v): %s (%v), want %s", i, prog[i], got, err, want[i])
				}
			}
		})
	}
}

// The C++ article's training loop on the device: while the kernel
// computes on batch s, batch s+1 is uploaded; the result is downloaded
// after the kernel. Under synctest every completion, through every
// policy, is seen at exactly the time the model gives. With a kernel
// shorter than a copy, the kernel finishes before the older upload.
func TestPoliciesExactInBubble(t *testing.T) {
	for _, p := range policies {
		for _, kernel := range []time.Duration{2 * time.Millisecond, 300 * time.Microsecond} {
			t.Run(fmt.Sprint(p, "/", kernel), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { testArticleLoop(t, p, kernel) })
			})
		}
	}
}

func testArticleLoop(t *testing.T, p scheduler.Policy, kernel time.Duration) {
	const steps, n = 4, 1000
	dev := sim.New(sim.Config{Mode: sim.Modeled, Timing: sim.Timing{HtoD: 1e6, DtoH: 2e6}}) // 1ms up, 0.5ms down
	defer dev.Close()
	s, err := scheduler.New(dev, scheduler.WithPolicy(p))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tm := dev.Config().Timing
	ll, up, down := tm.LaunchLatency, tm.CopyHtoD(n), tm.CopyDtoH(n)
	spin, err := dev.Kernel(sim.BuiltinModule, "spin")
	if err != nil {
		t.Fatal(err)
	}
	one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1}, Block: cuda.Dim3{X: 1}}
	var x [2]cuda.DevicePtr
	var in, out [2]*cuda.HostBuffer
	for i := range 2 {
		if x[i], err = dev.Alloc(n); err != nil {
			t.Fatal(err)
		}
		if in[i], err = dev.AllocHost(n); err != nil {
			t.Fatal(err)
		}
		if out[i], err = dev.AllocHost(n); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	var mu sync.Mutex
	var mismatches []string
	// expect checks, when f settles, that it settles at want.
	expect := func(what string, f interface{ OnDone(func()) func() bool }, want time.Duration) {
		f.OnDone(func() {
			if got := time.Since(start); got != want {
				mu.Lock()
				mismatches = append(mismatches, fmt.Sprintf("%s seen at %v, modeled end %v", what, got, want))
				mu.Unlock()
			}
		})
	}
	ups := make([]*scheduler.Op[struct{}], steps)
	ups[0] = s.CopyHtoD(x[0], 0, in[0], 0, n)
	expect("upload 0", ups[0], ll+up)
	if _, err := ups[0].Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	for step := range steps {
		t0 := time.Since(start)
		var next future.Awaitable = future.Resolved(struct{}{})
		if step+1 < steps {
			ups[step+1] = s.CopyHtoD(x[(step+1)%2], 0, in[(step+1)%2], 0, n)
			expect(fmt.Sprint("upload ", step+1), ups[step+1], t0+ll+up)
			next = ups[step+1]
		}
		k := s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(kernel))}, scheduler.After(ups[step]))
		expect(fmt.Sprint("kernel ", step), k, t0+ll+kernel)
		d := s.CopyDtoH(out[step%2], 0, x[step%2], 0, n, scheduler.After(k))
		expect(fmt.Sprint("download ", step), d, t0+ll+kernel+down)
		if _, err := future.Join(next, d).Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start)-t0, ll+max(up, kernel+down); got != want && step+1 < steps {
			t.Errorf("step %d took %v, want %v", step, got, want)
		}
	}
	s.Close() // runs the last continuations
	mu.Lock()
	defer mu.Unlock()
	for _, m := range mismatches {
		t.Error(m)
	}
}

// Close called from a continuation of one of the scheduler's operations
// finishes closing without waiting for the continuation that called it.
func TestCloseFromCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		s, err := scheduler.New(dev)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := dev.Alloc(64)
		spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
		first := s.Memset(x, 0, 64, 1)
		later := s.Launch(spin, cuda.LaunchConfig{}, []cuda.Arg{cuda.Int64(int64(time.Millisecond))})
		ranLater := make(chan bool, 1)
		later.OnDone(func() { ranLater <- true })
		closed := make(chan error, 1)
		var laterDone bool
		first.OnDone(func() {
			closed <- s.Close()
			laterDone = later.IsDone()
		})
		if err := <-closed; err != nil {
			t.Fatalf("Close from a continuation: %v", err)
		}
		<-ranLater
		if !laterDone {
			t.Fatal("Close from a continuation returned before the pending operation settled")
		}
		if _, err := s.Memset(x, 0, 64, 1).Await(context.Background()); !errors.Is(err, scheduler.ErrClosed) {
			t.Fatalf("op after Close: %v", err)
		}
	})
}

// After(op.Future) is After(op): a dependency on the device, not a host
// round trip.
func TestAfterOpFuture(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) { synctest.Test(t, func(t *testing.T) { testAfterOpFuture(t, p) }) })
	}
}

func testAfterOpFuture(t *testing.T, p scheduler.Policy) {
	{
		e := newEnv(t, sim.Modeled, scheduler.WithPolicy(p))
		tm := sim.DefaultTiming()
		x := e.alloc(1000)
		h, _ := e.dev.AllocHost(1000)
		spin := e.kernel("spin")
		start := time.Now()
		k := e.s.Launch(spin, cuda.LaunchConfig{}, []cuda.Arg{cuda.Int64(int64(time.Millisecond))})
		down := e.s.CopyDtoH(h, 0, x, 0, 1000, scheduler.After(k.Future))
		if m := e.s.Metrics(); m.Submitted != 2 {
			t.Fatalf("%d operations submitted; want 2 (After(op.Future) deferred the copy to the host)", m.Submitted)
		}
		await[*cuda.HostBuffer](t, down)
		if got, want := time.Since(start), tm.LaunchLatency+time.Millisecond+tm.CopyDtoH(1000); got != want {
			t.Fatalf("copy done after %v, want %v", got, want)
		}
	}
}

// Close with work pending drains it under every policy in a bubble too.
func TestCloseWhilePendingInBubble(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dev := sim.New(sim.Config{Mode: sim.Modeled})
				defer dev.Close()
				s, err := scheduler.New(dev, scheduler.WithPolicy(p))
				if err != nil {
					t.Fatal(err)
				}
				spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
				start := time.Now()
				k := s.Launch(spin, cuda.LaunchConfig{}, []cuda.Arg{cuda.Int64(int64(time.Millisecond))})
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if !k.IsDone() || k.Err() != nil {
					t.Fatalf("pending kernel after Close: done %v, err %v", k.IsDone(), k.Err())
				}
				if got, want := time.Since(start), sim.DefaultTiming().LaunchLatency+time.Millisecond; got != want {
					t.Fatalf("Close returned after %v, want %v", got, want)
				}
			})
		})
	}
}

// An error says each thing once: the package, the operation and the
// device's detail.
func TestErrorTexts(t *testing.T) {
	e := newEnv(t, sim.Instant)
	other := newEnv(t, sim.Instant)
	x := e.alloc(64)
	tests := []struct {
		name, op string
		f        future.Awaitable
		want     string
	}{
		{"range", "Memset", e.s.Memset(x, 60, 8, 0),
			"scheduler: Memset: offset 60 + size 8 exceeds device allocation of 64 bytes: invalid value"},
		{"nil buffer", "CopyHtoD", e.s.CopyHtoD(x, 0, nil, 0, 4), ""},
		{"nil kernel", "Launch", e.s.Launch(nil, cuda.LaunchConfig{}, nil), ""},
		{"kernel args", "Launch scale_f32", e.s.Launch(e.kernel("scale_f32"), cuda.Linear(1, 1, nil), []cuda.Arg{cuda.Int32(1)}), ""},
		{"foreign buffer", "CopyHtoD", e.s.CopyHtoD(x, 0, other.host(1), 0, 4), ""},
		{"foreign dependency", "Memset", e.s.Memset(x, 0, 4, 0, scheduler.After(other.s.Memset(other.alloc(4), 0, 4, 0))), ""},
		{"nil dependency", "Memset", e.s.Memset(x, 0, 4, 0, scheduler.After(nil)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			<-tt.f.Done()
			err := tt.f.Err()
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if tt.want != "" && msg != tt.want {
				t.Errorf("error %q, want %q", msg, tt.want)
			}
			if !strings.HasPrefix(msg, "scheduler: "+tt.op+": ") {
				t.Errorf("error %q does not start with the operation", msg)
			}
			for _, word := range []string{"scheduler:", "cuda:", tt.op + ":"} {
				if c := strings.Count(msg, word); c > 1 {
					t.Errorf("error %q says %q %d times", msg, word, c)
				}
			}
		})
	}
	e.s.Close()
	_, err := e.s.Memset(x, 0, 4, 0).Await(context.Background())
	if msg := err.Error(); strings.Count(msg, "scheduler:") != 1 || strings.Count(msg, "closed") != 1 {
		t.Errorf("error after Close: %q", msg)
	}
}
