package async_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

func TestGo(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fn      func(context.Context) (int, error)
		want    int
		wantErr error
		panics  bool
	}{
		{"value", func(context.Context) (int, error) { return 7, nil }, 7, nil, false},
		{"error", func(context.Context) (int, error) { return 3, errBoom }, 0, errBoom, false},
		{"panic", func(context.Context) (int, error) { panic("bad") }, 0, nil, true},
		{"goexit", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil }, 0, future.ErrGoexit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := async.Go(ctx, tt.fn).Await(ctx)
			if tt.panics {
				var pe *future.PanicError
				if !errors.As(err, &pe) || pe.Value != "bad" {
					t.Fatalf("err = %v, want PanicError(bad)", err)
				}
				if !strings.Contains(string(pe.Stack), "async_test") {
					t.Fatalf("stack does not show the panic site:\n%s", pe.Stack)
				}
				return
			}
			if v != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got %v, %v; want %v, %v", v, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestGoPassesContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	got, _ := async.Go(ctx, func(ctx context.Context) (any, error) { return ctx.Value(key{}), nil }).Await(ctx)
	if got != "v" {
		t.Fatalf("task saw %v", got)
	}
}

func TestGoAllocations(t *testing.T) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(1000, func() {
		if v, _ := async.Go(ctx, fn).Await(ctx); v != 1 {
			t.Fatal("wrong value")
		}
	})
	// One for the task and its future, one for the closure of the go
	// statement, which carries the task to the goroutine its caller starts.
	if allocs > 2 {
		t.Fatalf("Go+Await allocates %v times; want 2 (task and future in one, and the go statement's closure)", allocs)
	}
}

func TestManyGoAllRun(t *testing.T) {
	ctx := context.Background()
	const n = 5000
	fs := make([]*future.Future[int], n)
	for i := range fs {
		fs[i] = async.Go(ctx, func(context.Context) (int, error) { return i, nil })
	}
	vs, err := future.All(fs...).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v != i {
			t.Fatalf("task %d returned %d", i, v)
		}
	}
}

// Tasks started with Go may block on each other: each gets its own
// goroutine, so a task that waits for a later task does not deadlock.
func TestGoTasksMayWaitForEachOther(t *testing.T) {
	ctx := context.Background()
	gate := make(chan struct{})
	first := async.Go(ctx, func(context.Context) (int, error) { <-gate; return 1, nil })
	async.Go(ctx, func(context.Context) (int, error) { close(gate); return 2, nil })
	if v, err := first.Await(ctx); v != 1 || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}

func TestMisusePanics(t *testing.T) {
	ctx := context.Background()
	seq := func(yield func(int, error) bool) {}
	nop := func(context.Context) error { return nil }
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"Go nil ctx", func() { async.Go(nil, func(context.Context) (int, error) { return 0, nil }) }, "async: Go called with a nil Context"},
		{"Go nil fn", func() { async.Go[int](ctx, nil) }, "async: Go called with a nil function"},
		{"NewScope nil ctx", func() { async.NewScope(nil) }, "async: NewScope called with a nil Context"},
		{"Scope.Go nil fn", func() { s, _ := async.NewScope(ctx); s.Go(nil) }, "async: Scope.Go called with a nil function"},
		{"Scope.TryGo nil fn", func() { var s async.Scope; s.TryGo(nil) }, "async: Scope.TryGo called with a nil function"},
		{"Spawn nil scope", func() { async.Spawn(nil, func(context.Context) (int, error) { return 0, nil }) }, "async: Spawn called with a nil Scope"},
		{"Spawn nil fn", func() { var s async.Scope; async.Spawn[int](&s, nil) }, "async: Scope.Spawn called with a nil function"},
		{"SetLimit 0", func() { var s async.Scope; s.SetLimit(0) }, "async: Scope.SetLimit(0)"},
		{"SetLimit late", func() { var s async.Scope; s.Go(nop); defer s.Wait(); s.SetLimit(2) }, "async: Scope.SetLimit called after a task started"},
		{"Go after Wait", func() { var s async.Scope; s.Wait(); s.Go(nop) }, "async: Scope.Go called after Wait returned"},
		{"Generate nil ctx", func() { async.Generate[int](nil, func(context.Context, func(int) bool) error { return nil }) }, "async: Generate called with a nil Context"},
		{"Generate nil fn", func() { async.Generate[int](ctx, nil) }, "async: Generate called with a nil function"},
		{"NewGenerator nil", func() { async.NewGenerator[int](nil) }, "async: NewGenerator called with a nil sequence"},
		{"Prefetch nil ctx", func() { async.Prefetch(nil, seq, 1) }, "async: Prefetch called with a nil Context"},
		{"Prefetch nil seq", func() { async.Prefetch[int](ctx, nil, 1) }, "async: Prefetch called with a nil sequence"},
		{"Prefetch depth 0", func() { async.Prefetch(ctx, seq, 0) }, "async: Prefetch depth must be at least 1"},
		{"Prefetch depth -1", func() { async.Prefetch(ctx, seq, -1) }, "async: Prefetch depth must be at least 1"},
		{"ParallelMap nil ctx", func() { async.ParallelMap(nil, seq, 1, square) }, "async: ParallelMap called with a nil Context"},
		{"ParallelMap nil seq", func() { async.ParallelMap(ctx, nil, 1, square) }, "async: ParallelMap called with a nil sequence"},
		{"ParallelMap nil fn", func() { async.ParallelMap[int, int](ctx, seq, 1, nil) }, "async: ParallelMap called with a nil function"},
		{"ParallelMap workers 0", func() { async.ParallelMap(ctx, seq, 0, square) }, "async: ParallelMap workers must be at least 1"},
		{"ParallelMap workers -3", func() { async.ParallelMap(ctx, seq, -3, square) }, "async: ParallelMap workers must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.HasPrefix(s, tt.want) {
					t.Fatalf("panic %v, want prefix %q", r, tt.want)
				}
			}()
			tt.fn()
		})
	}
}

func square(_ context.Context, v int) (int, error) { return v * v, nil }

func TestScopeFirstErrorCancelsSiblings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ctx := async.NewScope(context.Background())
		var observed atomic.Int32
		var causes sync.Map
		for i := range 5 {
			s.Go(func(ctx context.Context) error {
				<-ctx.Done()
				observed.Add(1)
				causes.Store(i, context.Cause(ctx))
				return ctx.Err()
			})
		}
		s.Go(func(context.Context) error {
			time.Sleep(time.Second)
			return errBoom
		})
		start := time.Now()
		if err := s.Wait(); !errors.Is(err, errBoom) {
			t.Fatalf("Wait = %v, want the first error", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Wait returned after %v, want 1s", d)
		}
		if observed.Load() != 5 {
			t.Fatalf("%d siblings observed cancellation", observed.Load())
		}
		causes.Range(func(k, v any) bool {
			if !errors.Is(v.(error), errBoom) {
				t.Errorf("sibling %v saw cause %v", k, v)
			}
			return true
		})
		if !errors.Is(context.Cause(ctx), errBoom) {
			t.Fatalf("scope context cause = %v", context.Cause(ctx))
		}
	})
}

func TestScopeWaitWaitsForAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ctx := async.NewScope(context.Background())
		var done atomic.Int32
		for i := range 10 {
			s.Go(func(context.Context) error {
				time.Sleep(time.Duration(i) * time.Millisecond)
				done.Add(1)
				return nil
			})
		}
		start := time.Now()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
		if done.Load() != 10 || time.Since(start) != 9*time.Millisecond {
			t.Fatalf("done %d after %v", done.Load(), time.Since(start))
		}
		if ctx.Err() == nil {
			t.Fatal("scope context not cancelled after Wait")
		}
		if !errors.Is(context.Cause(ctx), context.Canceled) {
			t.Fatalf("cause after clean Wait = %v", context.Cause(ctx))
		}
	})
}

func TestScopePanicAndGoexit(t *testing.T) {
	for _, limit := range []int{-1, 1, 3} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			s, _ := async.NewScope(context.Background())
			s.SetLimit(limit)
			var ran atomic.Int32
			s.Go(func(context.Context) error { runtime.Goexit(); return nil })
			for range 20 {
				s.Go(func(context.Context) error { ran.Add(1); return nil })
			}
			s.Go(func(context.Context) error { panic("task panic") })
			err := s.Wait()
			if !errors.Is(err, future.ErrGoexit) {
				var pe *future.PanicError
				if !errors.As(err, &pe) {
					t.Fatalf("Wait = %v, want ErrGoexit or PanicError", err)
				}
			}
			if ran.Load() != 20 {
				t.Fatalf("%d of 20 tasks ran", ran.Load())
			}
		})
	}
}

func TestScopePanicError(t *testing.T) {
	var s async.Scope
	s.Go(func(context.Context) error { panic("task panic") })
	err := s.Wait()
	var pe *future.PanicError
	if !errors.As(err, &pe) || pe.Value != "task panic" || !strings.Contains(string(pe.Stack), "async_test") {
		t.Fatalf("Wait = %v", err)
	}
}

func TestZeroScope(t *testing.T) {
	var s async.Scope
	var n atomic.Int32
	for range 100 {
		s.Go(func(ctx context.Context) error {
			if ctx == nil || ctx.Err() != nil {
				return errors.New("bad context")
			}
			n.Add(1)
			return nil
		})
	}
	if err := s.Wait(); err != nil || n.Load() != 100 {
		t.Fatalf("Wait = %v, ran %d", err, n.Load())
	}
}

func TestScopeLimit(t *testing.T) {
	for _, limit := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _ := async.NewScope(context.Background())
				s.SetLimit(limit)
				var running, peak atomic.Int32
				const tasks = 20
				for range tasks {
					s.Go(func(context.Context) error {
						n := running.Add(1)
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
						time.Sleep(time.Millisecond)
						running.Add(-1)
						return nil
					})
				}
				start := time.Now()
				if err := s.Wait(); err != nil {
					t.Fatal(err)
				}
				if int(peak.Load()) != limit {
					t.Fatalf("peak concurrency %d, want %d", peak.Load(), limit)
				}
				want := time.Duration((tasks+limit-1)/limit) * time.Millisecond
				if d := time.Since(start); d > want {
					t.Fatalf("took %v, want at most %v", d, want)
				}
			})
		})
	}
}

func TestScopeTryGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := async.NewScope(context.Background())
		s.SetLimit(1)
		release := make(chan struct{})
		block := func(context.Context) error { <-release; return nil }
		if !s.TryGo(block) { // runs
			t.Fatal("TryGo refused the first task")
		}
		if s.TryGo(block) {
			t.Fatal("TryGo accepted a task while the limit's worth of tasks run (errgroup refuses it)")
		}
		s.Go(block) // queued: Go may queue, TryGo may not
		if s.TryGo(block) {
			t.Fatal("TryGo accepted a task beyond the limit and queue")
		}
		close(release)
		synctest.Wait()
		// Every task has ended and so has every worker: there is room.
		if !s.TryGo(func(context.Context) error { return nil }) {
			t.Fatal("TryGo refused a task once no task ran")
		}
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
		var unlimited async.Scope
		if !unlimited.TryGo(func(context.Context) error { return nil }) {
			t.Fatal("TryGo without a limit refused")
		}
		unlimited.Wait()
	})
}

// Every task of a limited scope runs before Wait returns, however the
// workers' exits interleave with Go calls blocked on a full queue.
func TestScopeLimitRunsEveryTask(t *testing.T) {
	for round := range 300 {
		limit := round%3 + 1
		tasks := round % 23
		s, _ := async.NewScope(context.Background())
		s.SetLimit(limit)
		ran := make([]atomic.Bool, tasks)
		for i := range tasks {
			s.Go(func(context.Context) error {
				if i%4 == 0 {
					runtime.Gosched()
				}
				ran[i].Store(true)
				return nil
			})
		}
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
		for i := range ran {
			if !ran[i].Load() {
				t.Fatalf("round %d (limit %d, %d tasks): task %d did not run before Wait returned", round, limit, tasks, i)
			}
		}
	}
}

// Go blocks once the limit and queue are full, until a task ends.
func TestScopeLimitBlocksGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := async.NewScope(context.Background())
		s.SetLimit(1)
		sleep := func(context.Context) error { time.Sleep(time.Second); return nil }
		start := time.Now()
		s.Go(sleep) // runs
		s.Go(sleep) // queued
		s.Go(sleep) // blocks until the first ends
		if d := time.Since(start); d != time.Second {
			t.Fatalf("third Go returned after %v, want 1s", d)
		}
		s.Wait()
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("Wait returned after %v, want 3s", d)
		}
	})
}

func TestSpawn(t *testing.T) {
	for _, limit := range []int{-1, 2} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			s, _ := async.NewScope(context.Background())
			s.SetLimit(limit)
			a := async.Spawn(s, func(context.Context) (string, error) { return "a", nil })
			b := async.Spawn(s, func(context.Context) (int, error) { return 0, errBoom })
			c := async.Spawn(s, func(context.Context) (int, error) { panic("spawned panic") })
			err := s.Wait()
			if v, err := a.Await(context.Background()); v != "a" || err != nil {
				t.Fatalf("a = %v, %v", v, err)
			}
			if _, err := b.Await(context.Background()); !errors.Is(err, errBoom) {
				t.Fatalf("b err = %v", err)
			}
			var pe *future.PanicError
			if _, err := c.Await(context.Background()); !errors.As(err, &pe) || !strings.Contains(string(pe.Stack), "async_test") {
				t.Fatalf("c err = %v", err)
			}
			if !errors.Is(err, errBoom) && !errors.As(err, &pe) {
				t.Fatalf("Wait = %v", err)
			}
		})
	}
}

// Tasks may start more tasks in their own scope while Wait runs.
func TestScopeNestedSpawn(t *testing.T) {
	s, _ := async.NewScope(context.Background())
	var n atomic.Int32
	var spawn func(depth int) func(context.Context) error
	spawn = func(depth int) func(context.Context) error {
		return func(context.Context) error {
			n.Add(1)
			if depth > 0 {
				s.Go(spawn(depth - 1))
				s.Go(spawn(depth - 1))
			}
			return nil
		}
	}
	s.Go(spawn(6))
	if err := s.Wait(); err != nil || n.Load() != 127 {
		t.Fatalf("Wait = %v, ran %d, want 127", err, n.Load())
	}
}

// Wait must not return while a task that is ending has just started
// another: each link of this chain starts the next, then ends, while Wait
// blocks; every Wait, in any number of goroutines, returns once, after the
// last link.
func TestScopeWaitSeesTasksStartedDuringWait(t *testing.T) {
	for _, limit := range []int{-1, 1, 2} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const links = 20
				s, _ := async.NewScope(context.Background())
				s.SetLimit(limit)
				var ran atomic.Int32
				var link func(i int) func(context.Context) error
				link = func(i int) func(context.Context) error {
					return func(context.Context) error {
						time.Sleep(time.Millisecond)
						ran.Add(1)
						if i+1 < links {
							s.Go(link(i + 1))
						}
						return nil
					}
				}
				s.Go(link(0))
				start := time.Now()
				var waiters sync.WaitGroup
				for range 3 {
					waiters.Go(func() {
						if err := s.Wait(); err != nil {
							t.Error(err)
						}
						if ran.Load() != links || time.Since(start) != links*time.Millisecond {
							t.Errorf("Wait returned after %d links, %v", ran.Load(), time.Since(start))
						}
					})
				}
				waiters.Wait()
			})
		})
	}
}
