package benchmarks

import (
	"context"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// The scheduler benchmarks run on the simulated GPU and compare three ways
// of learning that device work is done:
//
//   - raw: call the device, then synchronize the stream after each
//     operation (the host waits for every operation in turn);
//   - goroutine-per-op: call the device, record an event, and start a
//     goroutine that blocks in the event's Synchronize (on a real driver,
//     one blocked OS thread per operation in flight);
//   - coawait: the scheduler's event loop.

type simEnv struct {
	dev  *sim.Device
	st   cuda.Stream
	spin cuda.Kernel
	one  cuda.LaunchConfig
}

func newSimEnv(b *testing.B, mode sim.TimeMode) *simEnv {
	dev := sim.New(sim.Config{Mode: mode})
	st, err := dev.NewStream(0)
	if err != nil {
		b.Fatal(err)
	}
	spin, err := dev.Kernel(sim.BuiltinModule, "spin")
	if err != nil {
		b.Fatal(err)
	}
	e := &simEnv{dev: dev, st: st, spin: spin,
		one: cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}}
	b.Cleanup(func() { st.Close(); dev.Close() })
	return e
}

func (e *simEnv) args(d time.Duration) []cuda.Arg { return []cuda.Arg{cuda.Int64(int64(d))} }

// BenchmarkSubmit: the host cost of submitting one kernel launch so that
// its completion can be awaited, without waiting for it. raw calls the
// device directly as a hand-written program would: launch, then record an
// event to learn when the launch is done; raw-launch-only is the launch
// alone, the floor. coawait adds the future, the queueing for the loop and
// the bookkeeping. Each batch of 10,000 submissions queues behind a host
// function that holds the stream until the batch is in, so that what is
// timed is the submitting goroutine's own work, not the device running
// the earlier launches (or the loop settling them) on the other core; the
// batch is then released and drained with the timer stopped. (Stopping and
// starting the timer stops the world to read the memory statistics; with
// batches of 1,000 its after-effects added about 10% to coawait's figure,
// whose loop and dispatcher goroutines it disturbs, and less to raw's.)
func BenchmarkSubmit(b *testing.B) {
	// submitBatches runs heldBatches on e's stream, held by a host
	// function until each batch is in.
	submitBatches := func(b *testing.B, e *simEnv, submit func(i, n int), drain func()) {
		hl := e.st.(cuda.HostFuncLauncher)
		hold := func() (release func()) {
			gate := make(chan struct{})
			if err := hl.LaunchHostFunc(func(error) { <-gate }); err != nil {
				b.Fatal(err)
			}
			return func() { close(gate) }
		}
		heldBatches(b, hold, submit, drain)
	}
	b.Run("raw", func(b *testing.B) {
		e := newSimEnv(b, sim.Instant)
		args := e.args(0)
		evs := make([]cuda.Event, submitBatch)
		for i := range evs {
			evs[i], _ = e.dev.NewEvent(cuda.EventDisableTiming)
		}
		submitBatches(b, e, func(_, n int) {
			for j := range n {
				if err := e.st.Launch(e.spin, e.one, args...); err != nil {
					b.Fatal(err)
				}
				if err := e.st.RecordEvent(evs[j]); err != nil {
					b.Fatal(err)
				}
			}
		}, func() { e.st.Synchronize() })
	})
	b.Run("raw-launch-only", func(b *testing.B) {
		e := newSimEnv(b, sim.Instant)
		args := e.args(0)
		submitBatches(b, e, func(_, n int) {
			for range n {
				if err := e.st.Launch(e.spin, e.one, args...); err != nil {
					b.Fatal(err)
				}
			}
		}, func() { e.st.Synchronize() })
	})
	b.Run("coawait", func(b *testing.B) {
		e := newSimEnv(b, sim.Instant)
		s, err := scheduler.New(e.dev)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		args := e.args(0)
		onSt := scheduler.OnStream(e.st)
		ops := make([]*future.Future[struct{}], 0, submitBatch)
		submitBatches(b, e, func(_, n int) {
			for range n {
				ops = append(ops, s.Launch(e.spin, e.one, args, onSt).Future)
			}
		}, func() {
			future.All(ops...).Await(context.Background())
			ops = ops[:0]
		})
	})
}

// submitBatch is how many submissions the submit benchmarks time between
// two stops of the timer.
const submitBatch = 10_000

// heldBatches makes b.N submissions, timed, in batches of submitBatch:
// submit(i, n) makes submissions i to i+n-1 (a loop of its own, so that
// the harness adds no call per submission). hold, untimed, makes the
// device hold the batch's work, and its release func, then drain, run
// untimed after each batch.
func heldBatches(b *testing.B, hold func() (release func()), submit func(i, n int), drain func()) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += submitBatch {
		b.StopTimer()
		release := hold()
		b.StartTimer()
		submit(i, min(submitBatch, b.N-i))
		b.StopTimer()
		release()
		drain()
		b.StartTimer()
	}
	b.StopTimer()
}

// opsResult is what one run of the 10k benchmark measured.
type opsResult struct {
	latencies []time.Duration // completion-to-wake of each operation
}

const inFlight = 10_000

// BenchmarkOps10k: 10,000 kernels of 20µs each, on the simulator in real
// time, submitted as fast as the design allows and all awaited. Reports
// ops/s, the completion-to-wake latency p50 and p99 (from the device's
// completion of an operation to the moment the waiting goroutine runs),
// the OS threads created and the process CPU time per operation.
func BenchmarkOps10k(b *testing.B) {
	const work = 20 * time.Microsecond
	run := func(b *testing.B, one func(e *simEnv, res *opsResult)) {
		e := newSimEnv(b, sim.Modeled)
		threads0 := pprof.Lookup("threadcreate").Count()
		cpu0 := cpuTime()
		var res opsResult
		b.ResetTimer()
		for range b.N {
			one(e, &res)
		}
		b.StopTimer()
		el := b.Elapsed()
		b.ReportMetric(float64(b.N*inFlight)/el.Seconds(), "ops/s")
		slices.Sort(res.latencies)
		if n := len(res.latencies); n > 0 {
			b.ReportMetric(float64(res.latencies[n/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(res.latencies[n*99/100].Microseconds()), "p99-µs")
		}
		b.ReportMetric(float64(pprof.Lookup("threadcreate").Count()-threads0), "threads-created")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*inFlight), "cpu-ns/op")
	}
	// A marker event recorded right after each operation on the same stream
	// completes when it does; its CompletedAt is the device's completion.
	type marked struct {
		ev   cuda.Event
		done chan struct{}
	}
	completedAt := func(ev cuda.Event) time.Time {
		t, _ := ev.(cuda.CompletionTimer).CompletedAt()
		return t
	}
	b.Run("raw", func(b *testing.B) {
		run(b, func(e *simEnv, res *opsResult) {
			ev, _ := e.dev.NewEvent(0)
			defer ev.Close()
			args := e.args(work)
			for range inFlight {
				e.st.Launch(e.spin, e.one, args...)
				e.st.RecordEvent(ev)
				e.st.Synchronize()
				res.latencies = append(res.latencies, time.Since(completedAt(ev)))
			}
		})
	})
	b.Run("goroutine-per-op", func(b *testing.B) {
		run(b, func(e *simEnv, res *opsResult) {
			args := e.args(work)
			ms := make([]marked, inFlight)
			var mu sync.Mutex
			for i := range ms {
				ev, _ := e.dev.NewEvent(0)
				ms[i] = marked{ev, make(chan struct{})}
				e.st.Launch(e.spin, e.one, args...)
				e.st.RecordEvent(ev)
				go func(m marked) {
					m.ev.Synchronize()
					lat := time.Since(completedAt(m.ev))
					mu.Lock()
					res.latencies = append(res.latencies, lat)
					mu.Unlock()
					close(m.done)
				}(ms[i])
			}
			for _, m := range ms {
				<-m.done
				m.ev.Close()
			}
		})
	})
	b.Run("coawait", func(b *testing.B) {
		var s *scheduler.Scheduler
		run(b, func(e *simEnv, res *opsResult) {
			if s == nil {
				var err error
				if s, err = scheduler.New(e.dev); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					m := s.Metrics()
					b.Logf("loop busy %v for %d ops (%.0f ns/op), %d polls, %d sleeps, %d parks; loop detection p50 %v p99 %v",
						m.LoopBusy, m.Completed, float64(m.LoopBusy)/float64(max(m.Completed, 1)), m.Polls, m.Sleeps, m.Parks,
						m.WakeLatency.Quantile(0.5), m.WakeLatency.Quantile(0.99))
					s.Close()
				})
			}
			args := e.args(work)
			onSt := scheduler.OnStream(e.st)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range inFlight {
				op := s.Launch(e.spin, e.one, args, onSt)
				ev, _ := e.dev.NewEvent(0)
				e.st.RecordEvent(ev)
				// Like goroutine-per-op, a goroutine waits for each
				// operation; here it parks in Await instead of in the
				// device, and the loop wakes it.
				wg.Go(func() {
					op.Await(context.Background())
					lat := time.Since(completedAt(ev))
					mu.Lock()
					res.latencies = append(res.latencies, lat)
					mu.Unlock()
				})
			}
			wg.Wait()
		})
	})
}

// BenchmarkWakeLatency: one 50µs kernel at a time on the simulator in real
// time, awaited before the next: the completion-to-wake latency of a
// goroutine waiting on a single operation, per completion policy.
func BenchmarkWakeLatency(b *testing.B) {
	for _, p := range []scheduler.Policy{scheduler.Adaptive, scheduler.Spin, scheduler.Blocking, scheduler.HostCallback} {
		b.Run(p.String(), func(b *testing.B) {
			e := newSimEnv(b, sim.Modeled)
			s, err := scheduler.New(e.dev, scheduler.WithPolicy(p))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ev, _ := e.dev.NewEvent(0)
			defer ev.Close()
			args := e.args(50 * time.Microsecond)
			onSt := scheduler.OnStream(e.st)
			lat := make([]time.Duration, 0, b.N)
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				op := s.Launch(e.spin, e.one, args, onSt)
				e.st.RecordEvent(ev)
				op.Await(context.Background())
				at, _ := ev.(cuda.CompletionTimer).CompletedAt()
				lat = append(lat, time.Since(at))
			}
			b.StopTimer()
			reportLatency(b, lat)
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.Elapsed().Nanoseconds()), "cpu-cores")
		})
	}
}

// BenchmarkIdle: a scheduler with nothing to do for 100ms per iteration;
// cpu-cores is the process CPU time over wall time while it idles.
func BenchmarkIdle(b *testing.B) {
	b.Run("coawait", benchIdle)
}

func benchIdle(b *testing.B) {
	e := newSimEnv(b, sim.Modeled)
	s, err := scheduler.New(e.dev)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Some work first, so the loop has been active before it idles.
	s.Memset(0, 0, 0, 0).Await(context.Background())
	runtime.GC()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.Elapsed().Nanoseconds()), "cpu-cores")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportLatency sorts lat and reports its median and 99th percentile as
// the metrics p50-µs and p99-µs.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
