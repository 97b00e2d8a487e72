package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	rtrace "runtime/trace"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var policies = []scheduler.Policy{scheduler.Adaptive, scheduler.Spin, scheduler.Blocking, scheduler.HostCallback}

// env is a simulated device and a scheduler on it, closed by the test's
// cleanup.
type env struct {
	t   testing.TB
	dev *sim.Device
	s   *scheduler.Scheduler
}

func newEnv(t testing.TB, mode sim.TimeMode, opts ...scheduler.Option) *env {
	t.Helper()
	dev := sim.New(sim.Config{Mode: mode})
	s, err := scheduler.New(dev, opts...)
	if err != nil {
		dev.Close()
		t.Fatal(err)
	}
	e := &env{t: t, dev: dev, s: s}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.s.Close()
	e.dev.Close()
}

func (e *env) host(vals ...float32) *cuda.HostBuffer {
	e.t.Helper()
	b, err := e.dev.AllocHost(4 * max(len(vals), 1))
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := b.Float32s()
	if err != nil {
		e.t.Fatal(err)
	}
	copy(f, vals)
	return b
}

func (e *env) alloc(n int) cuda.DevicePtr {
	e.t.Helper()
	p, err := e.dev.Alloc(n)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) kernel(name string) cuda.Kernel {
	e.t.Helper()
	k, err := e.dev.Kernel(sim.BuiltinModule, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func floats(t testing.TB, b *cuda.HostBuffer) []float32 {
	t.Helper()
	f, err := b.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), f...)
}

func await[T any](t testing.TB, f interface {
	Await(context.Context) (T, error)
}) T {
	t.Helper()
	v, err := f.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// H2D copy, a kernel and a D2H copy chained with After on three streams
// give the right bytes, under every policy.
func TestPipelineAllPolicies(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			e := newEnv(t, sim.Instant, scheduler.WithPolicy(p))
			const n = 1024
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = float32(i)
			}
			in, out := e.host(vals...), e.host(make([]float32, n)...)
			x := e.alloc(4 * n)
			up := e.s.CopyHtoD(x, 0, in, 0, 4*n)
			k := e.s.Launch(e.kernel("scale_f32"), cuda.Linear(n, 256, nil),
				[]cuda.Arg{cuda.Ptr(x), cuda.Float32(3), cuda.Int32(n)}, scheduler.After(up))
			down := e.s.CopyDtoH(out, 0, x, 0, 4*n, scheduler.After(k))
			buf := await[*cuda.HostBuffer](t, down)
			if buf != out {
				t.Fatal("CopyDtoH did not settle with its buffer")
			}
			got := floats(t, out)
			for i, v := range got {
				if v != 3*float32(i) {
					t.Fatalf("out[%d] = %v, want %v", i, v, 3*float32(i))
				}
			}
			// With host callbacks an earlier operation's callback may still
			// be on its way; Close drains, so the counts are final after it.
			e.s.Close()
			m := e.s.Metrics()
			if m.Submitted != 3 || m.Completed != 3 || m.Pending != 0 || m.Failed != 0 {
				t.Fatalf("metrics %+v", m)
			}
		})
	}
}

// Under synctest the device's modeled time is exact: a copy on the copy-in
// stream and a kernel on the compute stream that depends on it run back to
// back, and the host wakes exactly when the model says the work ends.
func TestModeledTimeWithDependency(t *testing.T) {
	for _, p := range []scheduler.Policy{scheduler.HostCallback, scheduler.Blocking} {
		t.Run(p.String(), func(t *testing.T) { testModeledTimeWithDependency(t, p) })
	}
}

// testModeledTimeWithDependency runs under a policy that notices a
// completion at once (the adaptive policy polls, see TestAdaptiveDetection).
func testModeledTimeWithDependency(t *testing.T, p scheduler.Policy) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled, scheduler.WithPolicy(p))
		tm := sim.DefaultTiming()
		const bytes = 50_000_000 // 1ms at 50 GB/s
		src, err := e.dev.AllocHost(bytes)
		if err != nil {
			t.Fatal(err)
		}
		x := e.alloc(bytes)
		spin := e.kernel("spin")
		start := time.Now()
		up := e.s.CopyHtoD(x, 0, src, 0, bytes)
		k := e.s.Launch(spin, cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}},
			[]cuda.Arg{cuda.Int64(int64(2 * time.Millisecond))}, scheduler.After(up))
		await[struct{}](t, up)
		tUp := time.Since(start)
		await[struct{}](t, k)
		tK := time.Since(start)
		wantUp := tm.LaunchLatency + tm.CopyHtoD(bytes)
		if tUp != wantUp {
			t.Fatalf("copy done after %v, want %v", tUp, wantUp)
		}
		if tK != wantUp+2*time.Millisecond {
			t.Fatalf("kernel done after %v, want %v (it must start when the copy ends)", tK, wantUp+2*time.Millisecond)
		}
	})
}

// Without After, a kernel on the compute stream does not wait for a copy
// on the copy-in stream: the two overlap. With After it starts when the
// copy ends. (That the data is then right is TestPipelineAllPolicies.)
func TestAfterOrdersAcrossStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled, scheduler.WithPolicy(scheduler.HostCallback))
		tm := sim.DefaultTiming()
		const bytes = 50_000_000 // 1ms
		src, err := e.dev.AllocHost(bytes)
		if err != nil {
			t.Fatal(err)
		}
		x := e.alloc(bytes)
		spin := e.kernel("spin")
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		for _, withDep := range []bool{false, true} {
			start := time.Now()
			up := e.s.CopyHtoD(x, 0, src, 0, bytes)
			var opts []scheduler.OpOption
			if withDep {
				opts = append(opts, scheduler.After(up))
			}
			k := e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Millisecond))}, opts...)
			await[struct{}](t, k)
			got := time.Since(start)
			want := tm.LaunchLatency + time.Millisecond // overlapped with the copy
			if withDep {
				want = tm.LaunchLatency + tm.CopyHtoD(bytes) + time.Millisecond
			}
			if got != want {
				t.Fatalf("After=%v: kernel done after %v, want %v", withDep, got, want)
			}
			await[struct{}](t, up)
		}
	})
}

func TestHostDependency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled)
		x := e.alloc(64)
		batch, p := future.New[int]()
		set := e.s.Memset(x, 0, 64, 7, scheduler.After(batch))
		time.Sleep(time.Second)
		if set.IsDone() || e.s.Metrics().Submitted != 0 {
			t.Fatal("operation submitted before its host dependency settled")
		}
		p.Resolve(1)
		await[struct{}](t, set)

		failing, fp := future.New[int]()
		dependent := e.s.Memset(x, 0, 64, 1, scheduler.After(failing))
		fp.Reject(errors.New("decode failed"))
		_, err := dependent.Await(context.Background())
		if !errors.Is(err, scheduler.ErrDependency) || err.Error() != "scheduler: Memset: a dependency failed\ndecode failed" {
			t.Fatalf("err = %q", err)
		}
		if m := e.s.Metrics(); m.Submitted != 1 || m.Rejected != 1 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

// The zero OpOption and OnStream(nil) configure nothing; several After
// options add up; After keeps a copy of its slice, so that changing the
// slice afterwards does not change what the operation waits for.
func TestOpOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled)
		x := e.alloc(64)
		await[struct{}](t, e.s.Memset(x, 0, 64, 1, scheduler.OpOption{}, scheduler.OnStream(nil)))

		a, pa := future.New[int]()
		b, pb := future.New[int]()
		deps := []future.Awaitable{a}
		afterA := scheduler.After(deps...)
		deps[0] = future.Resolved(0) // must not change afterA
		set := e.s.Memset(x, 0, 64, 2, afterA, scheduler.After(b))
		pb.Resolve(1)
		time.Sleep(time.Second)
		if set.IsDone() {
			t.Fatal("operation ran before the dependency of its first After")
		}
		pa.Resolve(1)
		time.Sleep(time.Second)
		if !set.IsDone() {
			t.Fatal("operation did not run once both dependencies settled")
		}
		// The same option value may be given to several operations.
		c, pc := future.New[int]()
		afterC := scheduler.After(c)
		ops := []*scheduler.Op[struct{}]{
			e.s.Memset(x, 0, 64, 3, afterC),
			e.s.Memset(x, 0, 64, 4, afterC),
		}
		pc.Resolve(1)
		for _, op := range ops {
			await[struct{}](t, op)
		}
	})
}

func TestDeviceDependencyFailure(t *testing.T) {
	e := newEnv(t, sim.Instant)
	x := e.alloc(64)
	bad := e.s.Memset(x, 0, 128, 0) // out of range: fails at submission
	dep := e.s.Memset(x, 0, 64, 0, scheduler.After(bad))
	_, err := dep.Await(context.Background())
	if !errors.Is(err, scheduler.ErrDependency) || !errors.Is(err, cuda.ErrInvalidValue) {
		t.Fatalf("err = %v", err)
	}
}

func TestSameStreamOrder(t *testing.T) {
	e := newEnv(t, sim.Instant)
	x := e.alloc(4)
	// Hold the submissions until every continuation is registered, so that
	// all of them run on the dispatcher, none on this goroutine.
	gate, open := future.New[struct{}]()
	var ops []*scheduler.Op[struct{}]
	for i := range 50 {
		ops = append(ops, e.s.Memset(x, 0, 4, byte(i), scheduler.After(gate)))
	}
	var order []int
	for i, op := range ops {
		op.OnDone(func() { order = append(order, i) })
	}
	open.Resolve(struct{}{})
	await[struct{}](t, ops[len(ops)-1])
	out := e.host(0)
	await[*cuda.HostBuffer](t, e.s.CopyDtoH(out, 0, x, 0, 4, scheduler.After(ops[len(ops)-1])))
	b, _ := out.Bytes()
	if b[0] != 49 {
		t.Fatalf("last memset value %d, want 49", b[0])
	}
	e.s.Close() // drains the dispatcher: every continuation has run
	for i := range order {
		if order[i] != i {
			t.Fatalf("completion order %v", order)
		}
	}
	if len(order) != 50 {
		t.Fatalf("%d continuations ran", len(order))
	}
}

// Continuations never run on the loop: a continuation that blocks does not
// stop other operations from completing.
func TestSlowContinuationDoesNotBlockLoop(t *testing.T) {
	e := newEnv(t, sim.Instant)
	x := e.alloc(8)
	release := make(chan struct{})
	first := e.s.Memset(x, 0, 4, 1)
	first.OnDone(func() { <-release })
	second := e.s.Memset(x, 4, 4, 2, scheduler.OnStream(mustStream(t, e.dev)))
	await[struct{}](t, second) // would hang if the loop ran the blocked continuation
	close(release)
}

func mustStream(t testing.TB, dev cuda.Device) cuda.Stream {
	t.Helper()
	st, err := dev.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func Test10000InFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled)
		x := e.alloc(4096)
		ops := make([]*future.Future[struct{}], 10_000)
		streams := []cuda.Stream{mustStream(t, e.dev), mustStream(t, e.dev), mustStream(t, e.dev)}
		for i := range ops {
			// Each stream writes its own bytes: streams without waits
			// between them must not write the same memory.
			ops[i] = e.s.Memset(x, (i%3)*1024, 1024, byte(i), scheduler.OnStream(streams[i%3])).Future
		}
		if p := e.s.Metrics().Pending; p < 9_000 {
			t.Fatalf("only %d operations in flight", p)
		}
		if _, err := future.All(ops...).Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := e.s.Metrics()
		if m.Completed != 10_000 || m.Pending != 0 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

func TestFaults(t *testing.T) {
	lost := errors.New("xid 79: fell off the bus")
	t.Run("refused call", func(t *testing.T) {
		e := newEnv(t, sim.Instant)
		x := e.alloc(64)
		injected := errors.New("injected")
		if err := e.dev.InjectFault(sim.Fault{Op: sim.OpMemset, N: 2, Err: injected}); err != nil {
			t.Fatal(err)
		}
		ok1 := e.s.Memset(x, 0, 64, 1)
		bad := e.s.Memset(x, 0, 64, 2)
		ok3 := e.s.Memset(x, 0, 64, 3)
		await[struct{}](t, ok1)
		await[struct{}](t, ok3)
		_, err := bad.Await(context.Background())
		var oe *scheduler.OpError
		if !errors.Is(err, injected) || !errors.As(err, &oe) || oe.Op != "Memset" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sticky fails pending and later", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, sim.Modeled)
			x := e.alloc(64)
			spin := e.kernel("spin")
			one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
			if err := e.dev.InjectFault(sim.Fault{Op: sim.OpLaunch, N: 2, Err: lost, Sticky: true}); err != nil {
				t.Fatal(err)
			}
			first := e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Millisecond))})
			fatal := e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Millisecond))})
			pending := e.s.Memset(x, 0, 64, 0, scheduler.After(fatal))
			// Long work on another stream, still running at the fault.
			other := e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(10 * time.Millisecond))}, scheduler.OnStream(mustStream(t, e.dev)))
			// first completes before the fault, but errors are sticky, as in
			// CUDA: if the loop had not seen it done yet, it fails too.
			<-first.Done()
			if err := first.Err(); err != nil && !errors.Is(err, lost) {
				t.Fatalf("first: %v", err)
			}
			for i, f := range []future.Awaitable{fatal, pending, other} {
				<-f.Done()
				if !errors.Is(f.Err(), cuda.ErrDeviceLost) || !errors.Is(f.Err(), lost) {
					t.Fatalf("op %d: err = %v, want the sticky cause", i, f.Err())
				}
			}
			later := e.s.Memset(x, 0, 64, 0)
			if _, err := later.Await(context.Background()); !errors.Is(err, lost) {
				t.Fatalf("later op: err = %v", err)
			}
		})
	})
	t.Run("device lost", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, sim.Modeled)
			spin := e.kernel("spin")
			one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
			var ops []future.Awaitable
			for range 5 {
				ops = append(ops, e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Second))}))
			}
			time.Sleep(1500 * time.Millisecond)
			e.dev.Lose(lost)
			for i, f := range ops {
				<-f.Done()
				if i == 0 && f.Err() != nil {
					t.Fatalf("the op that finished before the loss failed: %v", f.Err())
				}
				if i > 1 && !errors.Is(f.Err(), lost) {
					t.Fatalf("op %d: err = %v", i, f.Err())
				}
			}
		})
	})
	t.Run("slow stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, sim.Modeled, scheduler.WithPolicy(scheduler.HostCallback))
			st := mustStream(t, e.dev)
			if err := e.dev.SlowStream(st, 4); err != nil {
				t.Fatal(err)
			}
			spin := e.kernel("spin")
			one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
			start := time.Now()
			await[struct{}](t, e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Millisecond))}, scheduler.OnStream(st)))
			if d := time.Since(start); d != sim.DefaultTiming().LaunchLatency+4*time.Millisecond {
				t.Fatalf("slowed kernel took %v", d)
			}
		})
	})
}

// The adaptive policy notices a completion at its next poll: at most its
// longest back-off after the device finishes.
func TestAdaptiveDetection(t *testing.T) {
	const maxBackoff = 50 * time.Microsecond
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled, scheduler.WithSpin(10*time.Microsecond, maxBackoff))
		spin := e.kernel("spin")
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		for _, d := range []time.Duration{time.Microsecond, 100 * time.Microsecond, 7 * time.Millisecond} {
			start := time.Now()
			await[struct{}](t, e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(d))}))
			done := sim.DefaultTiming().LaunchLatency + d
			if late := time.Since(start) - done; late < 0 || late > maxBackoff {
				t.Fatalf("a %v kernel was noticed %v after it ended; want within %v", d, late, maxBackoff)
			}
		}
		if m := e.s.Metrics(); m.Sleeps == 0 || m.Parks == 0 {
			t.Fatalf("metrics %+v: want back-off sleeps and parks", m)
		}
	})
}

// Under Adaptive, submissions count as activity: while operations keep
// arriving, the loop keeps spinning even though none completes, instead of
// backing off into sleeps (whose wake-ups slow the submitters). Once they
// stop, it backs off. Real time: the stream is held by a host function, and
// an operation is submitted every 50µs for 40ms against a 10ms window.
//
// The loop can only sleep after a whole window without a submission. If
// the machine stalls the submitting goroutine for half a window (other
// test binaries running at the same time, say), the attempt proves nothing
// and is repeated, up to five times.
func TestAdaptiveSpinsWhileSubmitting(t *testing.T) {
	const window = 10 * time.Millisecond
	e := newEnv(t, sim.Instant, scheduler.WithSpin(window, 100*time.Microsecond))
	st, err := e.dev.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gate := make(chan struct{})
	// Open the gate however the test ends (a skip too), or the
	// scheduler's Close waits for the operations behind it forever.
	openGate := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(openGate)
	if err := st.(cuda.HostFuncLauncher).LaunchHostFunc(func(error) { <-gate }); err != nil {
		t.Fatal(err)
	}
	x := e.alloc(64)
	on := scheduler.OnStream(st)
	var ops []*scheduler.Op[struct{}]
	for attempt := 1; ; attempt++ {
		sleeps := e.s.Metrics().Sleeps
		var gap time.Duration // the longest time between two submissions
		last := time.Now()
		for start := last; last.Sub(start) < 40*time.Millisecond; {
			for next := last.Add(50 * time.Microsecond); time.Now().Before(next); {
			}
			ops = append(ops, e.s.Memset(x, 0, 64, 1, on))
			now := time.Now()
			gap, last = max(gap, now.Sub(last)), now
		}
		sleeps = e.s.Metrics().Sleeps - sleeps
		if gap < window/2 {
			if sleeps != 0 {
				t.Errorf("the loop slept %d times while operations were being submitted (at most %v apart)", sleeps, gap)
			}
			break
		}
		if attempt == 5 {
			t.Skipf("the submitter stalled for %v or more in each of %d attempts", gap, attempt)
		}
		t.Logf("attempt %d: the submitter stalled for %v; trying again", attempt, gap)
	}
	time.Sleep(30 * time.Millisecond)
	if m := e.s.Metrics(); m.Sleeps == 0 {
		t.Errorf("the loop did not back off once submissions stopped: %+v", m)
	}
	openGate()
	for _, op := range ops {
		await[struct{}](t, op)
	}
}

// Awaiting with a cancelled context returns at once; the device work goes
// on, the op settles, and its resources are released.
func TestAwaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled)
		spin := e.kernel("spin")
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		op := e.s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(time.Second))})
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := op.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d != time.Millisecond {
			t.Fatalf("Await returned after %v", d)
		}
		<-op.Done()
		if op.Err() != nil || e.s.Metrics().Pending != 0 {
			t.Fatalf("op err %v, pending %d", op.Err(), e.s.Metrics().Pending)
		}
	})
}

func TestCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		s, err := scheduler.New(dev)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := dev.Kernel(sim.BuiltinModule, "spin")
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		var ops []*scheduler.Op[struct{}]
		for range 3 {
			ops = append(ops, s.Launch(k, one, []cuda.Arg{cuda.Int64(int64(time.Millisecond))}))
		}
		ran := false
		ops[2].OnDone(func() { ran = true })
		hostDep, _ := future.New[int]() // never settles
		waiting := s.Memset(0, 0, 0, 0, scheduler.After(hostDep))
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 3*time.Millisecond {
			t.Fatalf("Close returned after %v, before the pending work finished", d)
		}
		for i, op := range ops {
			if r, ok := op.Peek(); !ok || r.Err != nil {
				t.Fatalf("op %d after Close: %+v %v", i, r, ok)
			}
		}
		if !ran {
			t.Fatal("Close returned before the last continuation ran")
		}
		if waiting.IsDone() {
			t.Fatal("an op waiting for a host dependency settled at Close")
		}
		_, err = s.Memset(0, 0, 0, 0).Await(context.Background())
		if !errors.Is(err, scheduler.ErrClosed) {
			t.Fatalf("op after Close: %v", err)
		}
		if err := s.Close(); !errors.Is(err, scheduler.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, sim.Instant)
	other := newEnv(t, sim.Instant)
	x := e.alloc(64)
	foreignBuf := other.host(1)
	foreignOp := other.s.Memset(other.alloc(4), 0, 4, 0)
	tests := []struct {
		name string
		op   future.Awaitable
		want error
	}{
		{"nil host buffer", e.s.CopyHtoD(x, 0, nil, 0, 4), cuda.ErrInvalidValue},
		{"nil host buffer D2H", e.s.CopyDtoH(nil, 0, x, 0, 4), cuda.ErrInvalidValue},
		{"foreign host buffer", e.s.CopyHtoD(x, 0, foreignBuf, 0, 4), scheduler.ErrForeign},
		{"foreign dependency", e.s.Memset(x, 0, 4, 0, scheduler.After(foreignOp)), scheduler.ErrForeign},
		{"nil dependency", e.s.Memset(x, 0, 4, 0, scheduler.After(nil)), nil},
		{"typed nil op dependency", e.s.Memset(x, 0, 4, 0, scheduler.After((*scheduler.Op[struct{}])(nil))), nil},
		{"typed nil future dependency", e.s.Memset(x, 0, 4, 0, scheduler.After((*future.Future[int])(nil))), nil},
		{"nil kernel", e.s.Launch(nil, cuda.LaunchConfig{}, nil), cuda.ErrInvalidValue},
		{"out of range", e.s.Memset(x, 60, 8, 0), cuda.ErrInvalidValue},
		{"negative size", e.s.CopyDtoD(x, 0, x, 0, -1), cuda.ErrInvalidValue},
		{"freed pointer", e.s.Memset(func() cuda.DevicePtr { p := e.alloc(8); e.dev.Free(p); return p }(), 0, 8, 0), cuda.ErrInvalidValue},
		{"wrong kernel args", e.s.Launch(e.kernel("scale_f32"), cuda.Linear(1, 1, nil), []cuda.Arg{cuda.Int32(1)}), cuda.ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			<-tt.op.Done()
			err := tt.op.Err()
			var oe *scheduler.OpError
			if err == nil || !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an *OpError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := scheduler.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	if _, err := scheduler.New(e.dev, scheduler.WithPolicy(scheduler.Policy(99))); err == nil {
		t.Fatal("New with an unknown policy succeeded")
	}
}

func TestAllocFree(t *testing.T) {
	e := newEnv(t, sim.Instant)
	p := await[cuda.DevicePtr](t, e.s.Alloc(256))
	set := e.s.Memset(p, 0, 256, 9)
	free := e.s.Free(p, scheduler.After(set))
	await[struct{}](t, free)
	again := await[cuda.DevicePtr](t, e.s.Alloc(256))
	if again != p {
		t.Logf("pool returned a new block %v (old %v)", again, p)
	}
	if _, err := e.s.Alloc(-1).Await(context.Background()); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Fatalf("Alloc(-1): %v", err)
	}
}

func TestSpansAndTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, sim.Modeled, scheduler.WithSpans(8))
		x := e.alloc(100_000)
		await[struct{}](t, e.s.Memset(x, 0, 100_000, 1))
		src, _ := e.dev.AllocHost(100_000)
		await[struct{}](t, e.s.CopyHtoD(x, 0, src, 0, 100_000))
		spans := e.s.Spans()
		if len(spans) != 2 {
			t.Fatalf("%d spans", len(spans))
		}
		tm := sim.DefaultTiming()
		if sp := spans[1]; sp.Name != "CopyHtoD" || sp.Stream != 0 || !sp.Timed || sp.DeviceEnd-sp.DeviceStart != tm.CopyHtoD(100_000) {
			t.Fatalf("span %+v, want a timed copy of %v", sp, tm.CopyHtoD(100_000))
		}
		if sp := spans[0]; sp.Name != "Memset" || sp.Stream != 1 || sp.DeviceEnd-sp.DeviceStart != tm.Memset(100_000) {
			t.Fatalf("span %+v", sp)
		}
	})
}

func TestWakeLatencyRecorded(t *testing.T) {
	e := newEnv(t, sim.Modeled)
	x := e.alloc(64)
	for range 20 {
		await[struct{}](t, e.s.Memset(x, 0, 64, 1))
	}
	h := e.s.Metrics().WakeLatency
	if h.Total() != 20 || h.Quantile(0.5) <= 0 || h.Quantile(0.5) > h.Quantile(1) {
		t.Fatalf("histogram total %d, p50 %v", h.Total(), h.Quantile(0.5))
	}
}

func ExampleScheduler() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, err := scheduler.New(dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()

	in, _ := dev.AllocHost(4 * 4)
	vals, _ := in.Float32s()
	copy(vals, []float32{1, 2, 3, 4})
	out, _ := dev.AllocHost(4 * 4)
	x, _ := dev.Alloc(4 * 4)
	scale, _ := dev.Kernel(sim.BuiltinModule, "scale_f32")

	up := s.CopyHtoD(x, 0, in, 0, 16)
	k := s.Launch(scale, cuda.Linear(4, 128, nil), []cuda.Arg{cuda.Ptr(x), cuda.Float32(10), cuda.Int32(4)}, scheduler.After(up))
	down := s.CopyDtoH(out, 0, x, 0, 16, scheduler.After(k))
	buf, err := down.Await(ctx) // co_await: the only place the host waits
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := buf.Float32s()
	fmt.Println(res)
	// Output: [10 20 30 40]
}

// With runtime/trace on, every operation is a trace task named after it,
// so `go tool trace` shows device operations next to goroutines.
func TestRuntimeTraceTasks(t *testing.T) {
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		t.Skip("tracing unavailable:", err)
	}
	e := newEnv(t, sim.Instant)
	x := e.alloc(64)
	await[struct{}](t, e.s.Memset(x, 0, 64, 1))
	rtrace.Stop()
	if !bytes.Contains(buf.Bytes(), []byte("coawait.Memset")) {
		t.Fatal("the trace has no coawait.Memset task")
	}
}
