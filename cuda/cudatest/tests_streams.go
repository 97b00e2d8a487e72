package cudatest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
)

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
	closeHeld(t, dev2, release)
	if err := <-calls; err != nil && !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("host function pending at Close got %v, want nil or ErrClosed", err)
	}
	if len(calls) != 0 {
		t.Error("host function called twice")
	}
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
