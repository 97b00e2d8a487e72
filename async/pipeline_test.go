package async_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// count is a producer of 0..n-1 that records how far it got.
func count(n int, produced *atomic.Int32) func(context.Context, func(int) bool) error {
	return func(_ context.Context, yield func(int) bool) error {
		for i := range n {
			if produced != nil {
				produced.Add(1)
			}
			if !yield(i) {
				return nil
			}
		}
		return nil
	}
}

func collect[T any](seq iter.Seq2[T, error]) ([]T, []error) {
	var vs []T
	var errs []error
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vs = append(vs, v)
	}
	return vs, errs
}

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	vs, errs := collect(async.Generate(ctx, count(5, nil)))
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, vs); diff != "" || errs != nil {
		t.Fatalf("values (-want +got):\n%s errs %v", diff, errs)
	}
	failing := async.Generate(ctx, func(_ context.Context, yield func(string) bool) error {
		yield("a")
		return errBoom
	})
	vs2, errs2 := collect(failing)
	if len(vs2) != 1 || len(errs2) != 1 || !errors.Is(errs2[0], errBoom) {
		t.Fatalf("got %v, %v", vs2, errs2)
	}
	// The sequence can be ranged over again.
	vs3, _ := collect(failing)
	if len(vs3) != 1 {
		t.Fatalf("second range got %v", vs3)
	}
}

func TestGenerateConsumerBreakStopsProducer(t *testing.T) {
	var produced atomic.Int32
	var sawFalse bool
	seq := async.Generate(context.Background(), func(_ context.Context, yield func(int) bool) error {
		for i := 0; ; i++ {
			produced.Add(1)
			if !yield(i) {
				sawFalse = true
				return errBoom // must not reach the consumer, who has left
			}
		}
	})
	for v, err := range seq {
		if err != nil {
			t.Fatalf("error after break: %v", err)
		}
		if v == 2 {
			break
		}
	}
	if !sawFalse || produced.Load() != 3 {
		t.Fatalf("producer saw false: %v, produced %d", sawFalse, produced.Load())
	}
}

func TestGenerateContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var got []int
	var gotErr error
	for v, err := range async.Generate(ctx, count(100, nil)) {
		if err != nil {
			gotErr = err
			break
		}
		got = append(got, v)
		if v == 3 {
			cancel(errBoom)
		}
	}
	if len(got) != 4 || !errors.Is(gotErr, errBoom) {
		t.Fatalf("got %v then %v; want 4 values then the cause", got, gotErr)
	}
}

func TestGenerateYieldAfterFalsePanics(t *testing.T) {
	seq := async.Generate(context.Background(), func(_ context.Context, yield func(int) bool) error {
		yield(1)
		yield(2)
		return nil
	})
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "async: Generate producer called yield after it returned false") {
			t.Fatalf("recovered %v", r)
		}
	}()
	for range seq {
		break
	}
}

func TestGenerator(t *testing.T) {
	ctx := context.Background()
	g := async.NewGenerator(async.Generate(ctx, count(3, nil)))
	var got []int
	for g.Next() {
		got = append(got, g.Value())
	}
	if g.Err() != nil || !slices.Equal(got, []int{0, 1, 2}) || g.Next() {
		t.Fatalf("got %v, err %v", got, g.Err())
	}
	g.Stop()

	failing := async.NewGenerator(async.Generate(ctx, func(_ context.Context, yield func(int) bool) error {
		yield(1)
		return errBoom
	}))
	if !failing.Next() || failing.Value() != 1 || failing.Next() || !errors.Is(failing.Err(), errBoom) {
		t.Fatalf("failing generator: value %v err %v", failing.Value(), failing.Err())
	}

	var produced atomic.Int32
	early := async.NewGenerator(async.Generate(ctx, count(1000, &produced)))
	early.Next()
	early.Next()
	early.Stop()
	early.Stop()
	if early.Next() || produced.Load() != 2 {
		t.Fatalf("after Stop: produced %d", produced.Load())
	}
}

func TestPrefetchOrderAndErrors(t *testing.T) {
	ctx := context.Background()
	for _, depth := range []int{1, 2, 7} {
		src := func(yield func(int, error) bool) {
			for i := range 50 {
				var err error
				if i%10 == 9 {
					err = fmt.Errorf("item %d", i)
				}
				if !yield(i, err) {
					return
				}
			}
		}
		var got []string
		for v, err := range async.Prefetch(ctx, src, depth) {
			got = append(got, fmt.Sprint(v, err))
		}
		var want []string
		for v, err := range src {
			want = append(want, fmt.Sprint(v, err))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("depth %d (-want +got):\n%s", depth, diff)
		}
	}
}

// The producer runs ahead by exactly depth items and no more.
func TestPrefetchDepthBound(t *testing.T) {
	for _, depth := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var produced atomic.Int32
				src := async.Generate(context.Background(), count(40, &produced))
				consumed := int32(0)
				maxAhead := int32(0)
				for _, err := range async.Prefetch(context.Background(), src, depth) {
					if err != nil {
						t.Fatal(err)
					}
					consumed++
					time.Sleep(time.Millisecond) // slow consumer: let the producer run ahead
					synctest.Wait()
					ahead := produced.Load() - consumed
					maxAhead = max(maxAhead, ahead)
					if ahead > int32(depth) {
						t.Fatalf("producer %d ahead of consumer, depth %d", ahead, depth)
					}
				}
				if maxAhead != int32(depth) {
					t.Fatalf("producer was at most %d ahead; want it to use the full depth %d", maxAhead, depth)
				}
			})
		})
	}
}

// The producer and consumer overlap: n items that each take 1ms to produce
// and 1ms to consume take n+1 ms, not 2n.
func TestPrefetchOverlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := async.Generate(context.Background(), func(_ context.Context, yield func(int) bool) error {
			for i := range 10 {
				time.Sleep(time.Millisecond)
				if !yield(i) {
					return nil
				}
			}
			return nil
		})
		start := time.Now()
		for range async.Prefetch(context.Background(), src, 2) {
			time.Sleep(time.Millisecond)
		}
		if d := time.Since(start); d != 11*time.Millisecond {
			t.Fatalf("took %v, want 11ms", d)
		}
	})
}

func TestPrefetchBreakStopsProducer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var produced atomic.Int32
		var stopped atomic.Bool
		src := func(yield func(int, error) bool) {
			defer stopped.Store(true)
			for i := 0; ; i++ {
				produced.Add(1)
				if !yield(i, nil) {
					return
				}
			}
		}
		for v := range async.Prefetch(context.Background(), src, 4) {
			if v == 5 {
				break
			}
		}
		// The loop statement has completed: the producer must be gone.
		if !stopped.Load() {
			t.Fatal("producer still running after the consumer's loop ended")
		}
		if produced.Load() > 6+4 {
			t.Fatalf("produced %d items for 6 consumed with depth 4", produced.Load())
		}
	})
}

func TestPrefetchContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		src := func(yield func(int, error) bool) {
			for i := 0; ; i++ {
				time.Sleep(time.Millisecond)
				if !yield(i, nil) {
					return
				}
			}
		}
		time.AfterFunc(5500*time.Microsecond, func() { cancel(errBoom) })
		var n int
		var last error
		for _, err := range async.Prefetch(ctx, src, 2) {
			if err != nil {
				last = err
				continue
			}
			n++
		}
		if !errors.Is(last, errBoom) || n != 5 {
			t.Fatalf("got %d values then %v; want 5 then the cause", n, last)
		}
	})
}

func TestPrefetchPanic(t *testing.T) {
	src := func(yield func(int, error) bool) {
		yield(1, nil)
		panic("producer panic")
	}
	var errs []error
	for _, err := range async.Prefetch(context.Background(), src, 2) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var pe *future.PanicError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Value != "producer panic" {
		t.Fatalf("errors %v", errs)
	}
}

func TestMapOrderUnderRandomDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := async.Generate(context.Background(), count(100, nil))
		var running, peak atomic.Int32
		slow := func(ctx context.Context, v int) (int, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Duration((v*7919)%13) * time.Millisecond)
			running.Add(-1)
			return v * v, nil
		}
		var got []int
		for v, err := range async.ParallelMap(context.Background(), src, 4, slow) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		for i, v := range got {
			if v != i*i {
				t.Fatalf("result %d = %d, want %d", i, v, i*i)
			}
		}
		if len(got) != 100 || peak.Load() != 4 {
			t.Fatalf("%d results, peak concurrency %d (want 4)", len(got), peak.Load())
		}
	})
}

// At most 2×workers items are read and not yet handed to the consumer.
func TestMapInFlightBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 3
		var read atomic.Int32
		src := async.Generate(context.Background(), count(60, &read))
		consumed := int32(0)
		maxInFlight := int32(0)
		for _, err := range async.ParallelMap(context.Background(), src, workers, square) {
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // slow consumer
			synctest.Wait()
			consumed++
			inFlight := read.Load() - consumed
			maxInFlight = max(maxInFlight, inFlight)
			if inFlight > 2*workers {
				t.Fatalf("%d items in flight, want at most %d", inFlight, 2*workers)
			}
		}
		if maxInFlight != 2*workers {
			t.Fatalf("at most %d in flight; want the window of %d used", maxInFlight, 2*workers)
		}
	})
}

func TestMapErrorsInPlace(t *testing.T) {
	src := func(yield func(int, error) bool) {
		for i := range 6 {
			var err error
			if i == 2 {
				err = errBoom
			}
			if !yield(i, err) {
				return
			}
		}
	}
	fn := func(_ context.Context, v int) (string, error) {
		switch v {
		case 3:
			return "", fmt.Errorf("fn %d", v)
		case 4:
			panic("fn panic")
		case 5:
			runtime.Goexit()
		}
		return fmt.Sprint("v", v), nil
	}
	var got []string
	for v, err := range async.ParallelMap(context.Background(), src, 2, fn) {
		var pe *future.PanicError
		switch {
		case errors.As(err, &pe):
			got = append(got, fmt.Sprint("panic:", pe.Value))
		case err != nil:
			got = append(got, err.Error())
		default:
			got = append(got, v)
		}
	}
	want := []string{"v0", "v1", "boom", "fn 3", "panic:fn panic", future.ErrGoexit.Error()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestMapBreakCancelsWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cancelled atomic.Int32
		fn := func(ctx context.Context, v int) (int, error) {
			if v == 0 {
				return 0, nil
			}
			<-ctx.Done() // blocks until the loop ends
			cancelled.Add(1)
			return 0, ctx.Err()
		}
		src := async.Generate(context.Background(), count(1000, nil))
		for range async.ParallelMap(context.Background(), src, 3, fn) {
			synctest.Wait() // let the three workers block on items 1..3
			break
		}
		if cancelled.Load() != 3 {
			t.Fatalf("%d workers saw their context cancelled, want all 3", cancelled.Load())
		}
		// goleak in TestMain checks that no goroutine is left.
	})
}

func TestMapContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		fn := func(ctx context.Context, v int) (int, error) {
			select {
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
			}
			return v, nil
		}
		time.AfterFunc(10500*time.Microsecond, func() { cancel(errBoom) })
		var last error
		n := 0
		for _, err := range async.ParallelMap(ctx, async.Generate(context.Background(), count(1000, nil)), 1, fn) {
			if err != nil {
				last = err
				continue
			}
			n++
		}
		if !errors.Is(last, errBoom) || n < 5 || n > 11 {
			t.Fatalf("got %d values then %v", n, last)
		}
	})
}

// Property: for any input, worker count and per-item delays, ParallelMap yields
// exactly the sequential map, in order, and Prefetch yields its input.
func TestMapMatchesSequentialProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		in := rapid.SliceOfN(rapid.IntRange(-50, 50), 0, 40).Draw(rt, "in")
		workers := rapid.IntRange(1, 6).Draw(rt, "workers")
		depth := rapid.IntRange(1, 5).Draw(rt, "depth")
		delays := rapid.SliceOfN(rapid.IntRange(0, 3), len(in), len(in)).Draw(rt, "delays")
		var ok bool
		// rapid's T cannot be used inside the bubble's goroutines; collect
		// the results and compare outside.
		var got, pre []int
		synctest.Test(t, func(t *testing.T) {
			src := func(yield func(int, error) bool) {
				for i, v := range in {
					if !yield(i*1000+v, nil) {
						return
					}
				}
			}
			fn := func(_ context.Context, x int) (int, error) {
				time.Sleep(time.Duration(delays[(x+50_000)/1000%max(len(in), 1)]) * time.Millisecond)
				return 3*x + 1, nil
			}
			got, _ = collect(async.ParallelMap(context.Background(), async.Prefetch(context.Background(), src, depth), workers, fn))
			pre, _ = collect(async.Prefetch(context.Background(), src, depth))
			ok = true
		})
		if !ok {
			rt.Fatal("bubble failed")
		}
		for i, v := range in {
			if got[i] != 3*(i*1000+v)+1 || pre[i] != i*1000+v {
				rt.Fatalf("item %d: map %d prefetch %d", i, got[i], pre[i])
			}
		}
		if len(got) != len(in) || len(pre) != len(in) {
			rt.Fatalf("lengths %d %d, want %d", len(got), len(pre), len(in))
		}
	})
}
