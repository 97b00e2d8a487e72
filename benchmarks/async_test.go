package benchmarks

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"
)

var sink atomic.Int64

func work(i int) int { return i*31 + 7 }

// BenchmarkSpawnAwait: start one task and wait for its result.
func BenchmarkSpawnAwait(b *testing.B) {
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ch := make(chan int, 1)
			go func() { ch <- work(i) }()
			sink.Add(int64(<-ch))
		}
	})
	b.Run("coawait", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			v, _ := async.Go(ctx, func(context.Context) (int, error) { return work(i), nil }).Await(ctx)
			sink.Add(int64(v))
		}
	})
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var g errgroup.Group
			var v int
			g.Go(func() error { v = work(i); return nil })
			g.Wait()
			sink.Add(int64(v))
		}
	})
	b.Run("conc", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var wg conc.WaitGroup
			var v int
			wg.Go(func() { v = work(i) })
			wg.Wait()
			sink.Add(int64(v))
		}
	})
}

// BenchmarkAwaitDone: wait for work that has already finished.
func BenchmarkAwaitDone(b *testing.B) {
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		ch := make(chan struct{})
		close(ch)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			<-ch
		}
	})
	b.Run("coawait", func(b *testing.B) {
		f := future.Resolved(1)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			v, _ := f.Await(ctx)
			if v != 1 {
				b.Fatal("wrong value")
			}
		}
	})
	b.Run("errgroup", func(b *testing.B) {
		var g errgroup.Group
		g.Go(func() error { return nil })
		g.Wait()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			g.Wait()
		}
	})
	b.Run("conc", func(b *testing.B) {
		var wg conc.WaitGroup
		wg.Go(func() {})
		wg.Wait()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			wg.Wait()
		}
	})
}

// BenchmarkResolveWake: one goroutine completes a result that another is
// blocked waiting for, and back (ping-pong); ns/op covers two hand-offs.
//
// A channel is reused, a future is single-use, so coawait runs twice:
// "coawait" measures the wake-up alone, with the futures made while the
// timer is stopped (their cost is BenchmarkSpawnAwait's), and
// "coawait-with-alloc" pays for its two futures inside the timed loop,
// garbage collection included.
func BenchmarkResolveWake(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for v := range ping {
				pong <- v
			}
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ping <- i
			<-pong
		}
		b.StopTimer()
		close(ping)
	})
	b.Run("coawait", func(b *testing.B) {
		// Large chunks, so that the two stops of the world that stopping
		// and starting the timer cost (it reads the memory statistics)
		// are rare, and a collection between chunks, so that none runs
		// while the timer does.
		benchPingPong(b, context.Background(), 1<<15, func() {
			b.StopTimer()
			runtime.GC()
		}, b.StartTimer)
	})
	b.Run("coawait-with-alloc", func(b *testing.B) {
		// Chunks small enough to stay warm in cache, made with the timer
		// running.
		benchPingPong(b, context.Background(), 512, func() {}, func() {})
	})
}

// BenchmarkResolveWakeCtx is BenchmarkResolveWake with a context that can
// be cancelled, as a task in a Scope has: raw Go selects on the channel
// and ctx.Done(), coawait awaits with ctx, which selects on the future's
// Done channel (made on first use) and ctx.Done().
func BenchmarkResolveWakeCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("raw", func(b *testing.B) {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for {
				select {
				case v, ok := <-ping:
					if !ok {
						return
					}
					pong <- v
				case <-ctx.Done():
					return
				}
			}
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ping <- i
			select {
			case <-pong:
			case <-ctx.Done():
				b.Fatal(ctx.Err())
			}
		}
		b.StopTimer()
		close(ping)
	})
	b.Run("coawait", func(b *testing.B) {
		benchPingPong(b, ctx, 1<<15, func() {
			b.StopTimer()
			runtime.GC()
		}, b.StartTimer)
	})
}

// benchPingPong runs b.N future ping-pongs awaited with ctx, the futures
// made in chunks of size pairs between calls to before and after.
func benchPingPong(b *testing.B, ctx context.Context, size int, before, after func()) {
	type pair struct{ ping, pong future.Promise[int] }
	chunks := make(chan []pair, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ps := range chunks {
			for i := range ps {
				v, _ := ps[i].ping.Future().Await(ctx)
				ps[i].pong.Resolve(v)
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += size {
		before()
		ps := make([]pair, min(size, b.N-i))
		chunks <- ps
		after()
		for j := range ps {
			ps[j].ping.Resolve(i + j)
			ps[j].pong.Future().Await(ctx)
		}
	}
	b.StopTimer()
	close(chunks)
	<-done
}

const fanOut = 10_000

// BenchmarkFanOut10k: start 10,000 small tasks and wait for all of them.
func BenchmarkFanOut10k(b *testing.B) { benchFanOut(b, 0) }

const limit = 8

// BenchmarkFanOut10kLimit8: the same 10,000 tasks with at most 8 running at
// once, the usual shape of a decode or I/O fan-out.
func BenchmarkFanOut10kLimit8(b *testing.B) { benchFanOut(b, limit) }

// benchFanOut runs fanOut tasks with at most limit at once (0: no limit)
// in each implementation.
func benchFanOut(b *testing.B, limit int) {
	ctx := context.Background()
	task := func(n *atomic.Int64, i int) { n.Add(int64(work(i))) }
	each := func(b *testing.B, round func(n *atomic.Int64) error) {
		b.ReportAllocs()
		for range b.N {
			var n atomic.Int64
			if err := round(&n); err != nil {
				b.Fatal(err)
			}
			sink.Add(n.Load())
		}
	}
	b.Run("raw", func(b *testing.B) {
		each(b, func(n *atomic.Int64) error {
			var wg sync.WaitGroup
			var sem chan struct{}
			if limit > 0 {
				sem = make(chan struct{}, limit)
			}
			for i := range fanOut {
				if sem != nil {
					sem <- struct{}{}
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					task(n, i)
					if sem != nil {
						<-sem
					}
				}()
			}
			wg.Wait()
			return nil
		})
	})
	b.Run("coawait", func(b *testing.B) {
		each(b, func(n *atomic.Int64) error {
			s, _ := async.NewScope(ctx)
			if limit > 0 {
				s.SetLimit(limit)
			}
			for i := range fanOut {
				s.Go(func(context.Context) error { task(n, i); return nil })
			}
			return s.Wait()
		})
	})
	b.Run("errgroup", func(b *testing.B) {
		each(b, func(n *atomic.Int64) error {
			g, _ := errgroup.WithContext(ctx)
			if limit > 0 {
				g.SetLimit(limit)
			}
			for i := range fanOut {
				g.Go(func() error { task(n, i); return nil })
			}
			return g.Wait()
		})
	})
	b.Run("conc", func(b *testing.B) {
		each(b, func(n *atomic.Int64) error {
			p := pool.New()
			if limit > 0 {
				p = p.WithMaxGoroutines(limit)
			}
			cp := p.WithContext(ctx)
			for i := range fanOut {
				cp.Go(func(context.Context) error { task(n, i); return nil })
			}
			return cp.Wait()
		})
	})
}

const siblings = 100

var errFirst = errors.New("first error")

// BenchmarkCancelSiblings: 100 tasks wait on their group's context; one
// more fails. The metric ns-to-cancel is the time from the failing task's
// return to the moment the last sibling has seen its context cancelled.
func BenchmarkCancelSiblings(b *testing.B) {
	ctx := context.Background()
	// measure runs one round: start spawns the siblings and the failing
	// task; it returns when all siblings have observed cancellation.
	measure := func(b *testing.B, start func(sibling func(context.Context) error, failer func() error) error) {
		var total time.Duration
		b.ReportAllocs()
		for range b.N {
			var ready sync.WaitGroup
			ready.Add(siblings)
			var last atomic.Int64
			release := make(chan struct{})
			var failedAt time.Time
			sibling := func(ctx context.Context) error {
				ready.Done()
				<-ctx.Done()
				now := time.Now().UnixNano()
				for {
					old := last.Load()
					if now <= old || last.CompareAndSwap(old, now) {
						break
					}
				}
				return nil
			}
			failer := func() error {
				<-release
				failedAt = time.Now()
				return errFirst
			}
			go func() {
				ready.Wait()
				close(release)
			}()
			if err := start(sibling, failer); !errors.Is(err, errFirst) {
				b.Fatalf("err = %v", err)
			}
			total += time.Duration(last.Load() - failedAt.UnixNano())
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns-to-cancel")
	}
	b.Run("raw", func(b *testing.B) {
		measure(b, func(sibling func(context.Context) error, failer func() error) error {
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			var wg sync.WaitGroup
			var once sync.Once
			var first error
			for range siblings {
				wg.Go(func() { sibling(ctx) })
			}
			wg.Go(func() {
				if err := failer(); err != nil {
					once.Do(func() { first = err; cancel(err) })
				}
			})
			wg.Wait()
			return first
		})
	})
	b.Run("coawait", func(b *testing.B) {
		measure(b, func(sibling func(context.Context) error, failer func() error) error {
			s, _ := async.NewScope(ctx)
			for range siblings {
				s.Go(sibling)
			}
			s.Go(func(context.Context) error { return failer() })
			return s.Wait()
		})
	})
	b.Run("errgroup", func(b *testing.B) {
		measure(b, func(sibling func(context.Context) error, failer func() error) error {
			g, gctx := errgroup.WithContext(ctx)
			for range siblings {
				g.Go(func() error { return sibling(gctx) })
			}
			g.Go(failer)
			return g.Wait()
		})
	})
	b.Run("conc", func(b *testing.B) {
		measure(b, func(sibling func(context.Context) error, failer func() error) error {
			p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
			for range siblings {
				p.Go(sibling)
			}
			p.Go(func(context.Context) error { return failer() })
			return p.Wait()
		})
	})
}

// BenchmarkAwaitUnderLoad: the time from settling a result to its waiter
// running again, while CPU-bound goroutines (four per processor) keep
// every processor busy. Metrics p50-µs and p99-µs.
//
// A waiter that parks is made runnable straight onto the settling
// goroutine's processor, next in line, so it resumes within microseconds
// even under load. This benchmark guards that property: yielding
// (runtime.Gosched) before parking makes an idle ResolveWake look about a
// third faster but queues the waiter behind the busy goroutines here, for
// tens of milliseconds.
func BenchmarkAwaitUnderLoad(b *testing.B) {
	ctx := context.Background()
	// measure runs b.N rounds: in each, a goroutine settles with the time
	// of settling after a short sleep, and round waits for it and returns
	// that time.
	measure := func(b *testing.B, round func() (settledAt int64)) {
		var stop atomic.Bool
		var hogs sync.WaitGroup
		for range 4 * runtime.GOMAXPROCS(0) {
			hogs.Go(func() {
				for n := 0; !stop.Load(); n++ {
					sink.Add(int64(n & 1))
				}
			})
		}
		defer func() {
			stop.Store(true)
			hogs.Wait()
		}()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			at := round()
			lat = append(lat, time.Duration(time.Now().UnixNano()-at))
		}
		b.StopTimer()
		reportLatency(b, lat)
	}
	const delay = 100 * time.Microsecond
	b.Run("raw", func(b *testing.B) {
		measure(b, func() int64 {
			ch := make(chan int64)
			go func() {
				time.Sleep(delay)
				ch <- time.Now().UnixNano()
			}()
			return <-ch
		})
	})
	b.Run("coawait", func(b *testing.B) {
		measure(b, func() int64 {
			f, p := future.New[int64]()
			go func() {
				time.Sleep(delay)
				p.Resolve(time.Now().UnixNano())
			}()
			at, _ := f.Await(ctx)
			return at
		})
	})
}
