package async_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
	"pgregory.net/rapid"
)

// A random tree of tasks, each of which may start children (with Go, or
// with TryGo under a limit, where a blocking Go from every worker could
// deadlock) and then returns, fails, panics or calls runtime.Goexit.
// Whatever the shape: Wait returns only after every started task has
// finished, its error is nil exactly when no task failed and is otherwise
// one of the failures, and the scope's context is cancelled afterwards.
func TestScopeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		limit := rapid.SampledFrom([]int{-1, 1, 2, 4}).Draw(rt, "limit")
		type plan struct {
			children int
			end      string
		}
		const maxTasks = 60
		ends := []string{"return", "return", "return", "error", "panic", "goexit"}
		plans := make([]plan, maxTasks)
		for i := range plans {
			plans[i] = plan{
				children: rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("children", i)),
				end:      rapid.SampledFrom(ends).Draw(rt, fmt.Sprint("end", i)),
			}
		}

		s, ctx := async.NewScope(context.Background())
		s.SetLimit(limit)
		var (
			next      atomic.Int32 // index of the next plan to use
			accepted  atomic.Int32 // tasks the scope took
			running   atomic.Int32 // tasks taken and not yet ended
			finished  atomic.Int32 // tasks that ended, however
			mu        sync.Mutex
			failures  []error // what failing tasks reported
			failedAny atomic.Bool
		)
		var task func(i int32) func(context.Context) error
		start := func() {
			i := next.Add(1) - 1
			if i >= maxTasks {
				return
			}
			running.Add(1)
			accepted.Add(1)
			fn := task(i)
			if limit > 0 && !s.TryGo(fn) {
				running.Add(-1)
				accepted.Add(-1)
			} else if limit < 0 {
				s.Go(fn)
			}
		}
		task = func(i int32) func(context.Context) error {
			return func(context.Context) error {
				defer func() {
					finished.Add(1)
					running.Add(-1)
				}()
				p := plans[i]
				for range p.children {
					start()
				}
				switch p.end {
				case "error":
					err := fmt.Errorf("task %d failed", i)
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					failedAny.Store(true)
					return err
				case "panic":
					failedAny.Store(true)
					panic(fmt.Sprint("task ", i))
				case "goexit":
					failedAny.Store(true)
					runtime.Goexit()
				}
				return nil
			}
		}
		start()
		err := s.Wait()

		if r := running.Load(); r != 0 {
			rt.Fatalf("Wait returned with %d tasks still running", r)
		}
		if got, want := finished.Load(), accepted.Load(); got != want {
			rt.Fatalf("%d tasks finished, %d started", got, want)
		}
		if failedAny.Load() != (err != nil) {
			rt.Fatalf("Wait = %v, but a task failed: %v", err, failedAny.Load())
		}
		if err != nil {
			var pe *future.PanicError
			mu.Lock()
			known := errors.Is(err, future.ErrGoexit) || errors.As(err, &pe)
			for _, f := range failures {
				known = known || err == f
			}
			mu.Unlock()
			if !known {
				rt.Fatalf("Wait = %v, which no task reported", err)
			}
		}
		if ctx.Err() == nil {
			rt.Fatal("the scope's context is not cancelled after Wait")
		}
	})
}
