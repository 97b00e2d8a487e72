package future_test

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

	"github.com/coawait/coawait/future"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errBoom = errors.New("boom")

func TestSettleOnce(t *testing.T) {
	tests := []struct {
		name    string
		first   func(*future.Promise[int]) bool
		second  func(*future.Promise[int]) bool
		wantV   int
		wantErr error
	}{
		{"resolve then resolve", func(p *future.Promise[int]) bool { return p.Resolve(1) }, func(p *future.Promise[int]) bool { return p.Resolve(2) }, 1, nil},
		{"resolve then reject", func(p *future.Promise[int]) bool { return p.Resolve(1) }, func(p *future.Promise[int]) bool { return p.Reject(errBoom) }, 1, nil},
		{"reject then resolve", func(p *future.Promise[int]) bool { return p.Reject(errBoom) }, func(p *future.Promise[int]) bool { return p.Resolve(2) }, 0, errBoom},
		{"settle error then settle value", func(p *future.Promise[int]) bool { return p.Settle(7, errBoom) }, func(p *future.Promise[int]) bool { return p.Settle(2, nil) }, 0, errBoom},
		{"settle value then reject", func(p *future.Promise[int]) bool { return p.Settle(7, nil) }, func(p *future.Promise[int]) bool { return p.Reject(errBoom) }, 7, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := future.New[int]()
			if f.IsDone() {
				t.Fatal("new future is done")
			}
			if !tt.first(p) {
				t.Fatal("first settle lost")
			}
			if tt.second(p) {
				t.Fatal("second settle won")
			}
			v, err := f.Await(context.Background())
			if v != tt.wantV || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Await = %v, %v; want %v, %v", v, err, tt.wantV, tt.wantErr)
			}
			r, ok := f.Peek()
			if !ok || r.Value != v || r.Err != err || f.Err() != err || !f.IsDone() {
				t.Fatalf("Peek = %+v, %v", r, ok)
			}
			if p.Future() != f {
				t.Fatal("Promise.Future is not the future")
			}
		})
	}
}

func TestZeroPromiseIsUsable(t *testing.T) {
	var p future.Promise[int]
	f := p.Future()
	if f != p.Future() {
		t.Fatal("Future returns different futures")
	}
	go p.Resolve(4)
	if v, err := f.Await(context.Background()); v != 4 || err != nil {
		t.Fatalf("Await = %v, %v", v, err)
	}
	// Embedded in a struct, as package async does.
	var task struct {
		id int
		p  future.Promise[string]
	}
	task.p.Reject(errBoom)
	if _, err := task.p.Future().Await(context.Background()); !errors.Is(err, errBoom) {
		t.Fatalf("embedded promise: %v", err)
	}
}

func TestPendingAccessors(t *testing.T) {
	f, p := future.New[string]()
	if r, ok := f.Peek(); ok || r != (future.Result[string]{}) {
		t.Fatalf("Peek on pending = %+v, %v", r, ok)
	}
	if f.Err() != nil {
		t.Fatal("Err on pending is not nil")
	}
	select {
	case <-f.Done():
		t.Fatal("Done closed while pending")
	default:
	}
	d := f.Done()
	p.Resolve("x")
	select {
	case <-d:
	default:
		t.Fatal("Done not closed after settle")
	}
	select {
	case <-f.Done():
	default:
		t.Fatal("Done after settle not closed")
	}
	select {
	case <-future.Resolved(1).Done():
	default:
		t.Fatal("Done of Resolved not closed")
	}
}

func TestConcurrentSettlersOneWins(t *testing.T) {
	for range 50 {
		f, p := future.New[int]()
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				var won bool
				if i%2 == 0 {
					won = p.Resolve(i)
				} else {
					won = p.Reject(fmt.Errorf("e%d", i))
				}
				if won {
					wins.Add(1)
				}
			})
		}
		var got sync.WaitGroup
		for range 4 {
			got.Go(func() { f.Await(context.Background()) })
		}
		wg.Wait()
		got.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d settlers won", wins.Load())
		}
	}
}

func TestAwaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, p := future.New[int]()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := f.Await(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Await err = %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Await returned after %v, want 1s", d)
		}
		// The producer is not cancelled: the future still settles.
		p.Resolve(3)
		if v, err := f.Await(ctx); v != 3 || err != nil {
			t.Fatalf("Await on settled future with done ctx = %v, %v", v, err)
		}
	})
}

func TestAwaitAlreadyCancelledPending(t *testing.T) {
	f, _ := future.New[int]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestAwaitWakesAtSettleTime(t *testing.T) {
	for _, name := range []string{"background", "cancellable"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if name == "cancellable" {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				f, p := future.New[int]()
				go func() {
					time.Sleep(5 * time.Millisecond)
					p.Resolve(9)
				}()
				start := time.Now()
				v, err := f.Await(ctx)
				if v != 9 || err != nil {
					t.Fatalf("Await = %v, %v", v, err)
				}
				if d := time.Since(start); d != 5*time.Millisecond {
					t.Fatalf("woke after %v, want 5ms", d)
				}
			})
		})
	}
}

func TestAwaitDoneFutureAllocatesNothing(t *testing.T) {
	f := future.Resolved(42)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocs := testing.AllocsPerRun(1000, func() {
		if v, err := f.Await(ctx); v != 42 || err != nil {
			t.Fatal("wrong result")
		}
		if _, ok := f.Peek(); !ok {
			t.Fatal("not done")
		}
	})
	if allocs != 0 {
		t.Fatalf("Await on a done future allocates %v times", allocs)
	}
}

func TestOnDone(t *testing.T) {
	f, p := future.New[int]()
	var order []int
	f.OnDone(func() { order = append(order, 1) })
	stop := f.OnDone(func() { order = append(order, 2) })
	f.OnDone(func() {
		r, ok := f.Peek()
		if !ok || r.Value != 5 {
			t.Errorf("callback sees %+v, %v", r, ok)
		}
		order = append(order, 3)
	})
	if !stop() {
		t.Fatal("stop of a pending callback returned false")
	}
	if stop() {
		t.Fatal("second stop returned true")
	}
	p.Resolve(5)
	if fmt.Sprint(order) != "[1 3]" {
		t.Fatalf("order = %v", order)
	}
	ran := false
	stop = f.OnDone(func() { ran = true })
	if !ran {
		t.Fatal("OnDone on a settled future did not run at once")
	}
	if stop() {
		t.Fatal("stop after run returned true")
	}
}

func TestOnDoneStopAfterSettle(t *testing.T) {
	f, p := future.New[int]()
	n := 0
	stop := f.OnDone(func() { n++ })
	p.Resolve(1)
	if stop() || n != 1 {
		t.Fatalf("stop = true or n = %d after settle", n)
	}
}

func TestOnDonePanicRunsOthersThenPropagates(t *testing.T) {
	f, p := future.New[int]()
	g := future.Map(f, func(v int) int { return v + 1 })
	f.OnDone(func() { panic("callback panic") })
	later := false
	f.OnDone(func() { later = true })
	func() {
		defer func() {
			if r := recover(); r != "callback panic" {
				t.Fatalf("recovered %v", r)
			}
		}()
		p.Resolve(1)
	}()
	if !later {
		t.Fatal("callback after the panicking one did not run")
	}
	if v, err := g.Await(context.Background()); v != 2 || err != nil {
		t.Fatalf("Map = %v, %v", v, err)
	}
}

func TestMisusePanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"nil promise", func() { var p *future.Promise[int]; p.Resolve(1) }, "future: Resolve called on a nil *Promise"},
		{"reject nil", func() { _, p := future.New[int](); p.Reject(nil) }, "future: Reject called with a nil error"},
		{"failed nil", func() { future.Failed[int](nil) }, "future: Failed called with a nil error"},
		{"await nil ctx", func() { f, _ := future.New[int](); f.Await(nil) }, "future: Await called with a nil Context"},
		{"ondone nil", func() { f, _ := future.New[int](); f.OnDone(nil) }, "future: OnDone called with a nil function"},
		{"then nil future", func() { future.Then(nil, func(int) (int, error) { return 0, nil }) }, "future: Then called with a nil future"},
		{"then nil fn", func() { future.Then[int, int](future.Resolved(1), nil) }, "future: Then called with a nil function"},
		{"map nil fn", func() { future.Map[int, int](future.Resolved(1), nil) }, "future: Map called with a nil function"},
		{"handle nil future", func() { future.Handle(nil, func(int, error) (int, error) { return 0, nil }) }, "future: Handle called with a nil future"},
		{"flatmap nil fn", func() { future.FlatMap[int, int](future.Resolved(1), nil) }, "future: FlatMap called with a nil function"},
		{"all nil", func() { future.All(future.Resolved(1), nil) }, "future: All called with a nil future at index 1"},
		{"allsettled nil", func() { future.AllSettled[int](nil) }, "future: AllSettled called with a nil future at index 0"},
		{"any nil", func() { future.Any(future.Resolved(1), nil) }, "future: Any called with a nil future at index 1"},
		{"race nil", func() { future.Race[int](nil) }, "future: Race called with a nil future at index 0"},
		{"join nil", func() { future.Join(nil) }, "future: Join called with a nil future at index 0"},
		{"join typed nil", func() { future.Join(future.Resolved(1), (*future.Future[string])(nil)) }, "future: Join called with a nil future at index 1"},
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

func TestContinuations(t *testing.T) {
	ctx := context.Background()
	double := func(v int) (int, error) { return 2 * v, nil }
	tests := []struct {
		name    string
		make    func(src *future.Future[int]) *future.Future[int]
		src     func() (*future.Future[int], *future.Promise[int])
		settle  func(*future.Promise[int])
		want    int
		wantErr error
	}{
		{"then value", func(s *future.Future[int]) *future.Future[int] { return future.Then(s, double) }, nil, func(p *future.Promise[int]) { p.Resolve(4) }, 8, nil},
		{"then error skips fn", func(s *future.Future[int]) *future.Future[int] {
			return future.Then(s, func(int) (int, error) { panic("must not run") })
		}, nil, func(p *future.Promise[int]) { p.Reject(errBoom) }, 0, errBoom},
		{"then fn error", func(s *future.Future[int]) *future.Future[int] {
			return future.Then(s, func(v int) (int, error) { return v, errBoom })
		}, nil, func(p *future.Promise[int]) { p.Resolve(4) }, 0, errBoom},
		{"map", func(s *future.Future[int]) *future.Future[int] {
			return future.Map(s, func(v int) int { return v + 1 })
		}, nil, func(p *future.Promise[int]) { p.Resolve(4) }, 5, nil},
		{"handle recovers", func(s *future.Future[int]) *future.Future[int] {
			return future.Handle(s, func(v int, err error) (int, error) {
				if errors.Is(err, errBoom) {
					return -1, nil
				}
				return v, err
			})
		}, nil, func(p *future.Promise[int]) { p.Reject(errBoom) }, -1, nil},
		{"flatmap pending inner", func(s *future.Future[int]) *future.Future[int] {
			return future.FlatMap(s, func(v int) *future.Future[int] {
				inner, ip := future.New[int]()
				go ip.Resolve(v * 10)
				return inner
			})
		}, nil, func(p *future.Promise[int]) { p.Resolve(4) }, 40, nil},
		{"flatmap failed inner", func(s *future.Future[int]) *future.Future[int] {
			return future.FlatMap(s, func(v int) *future.Future[int] { return future.Failed[int](errBoom) })
		}, nil, func(p *future.Promise[int]) { p.Resolve(4) }, 0, errBoom},
		{"flatmap error skips fn", func(s *future.Future[int]) *future.Future[int] {
			return future.FlatMap(s, func(v int) *future.Future[int] { panic("must not run") })
		}, nil, func(p *future.Promise[int]) { p.Reject(errBoom) }, 0, errBoom},
	}
	for _, tt := range tests {
		for _, early := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/settled-before=%v", tt.name, early), func(t *testing.T) {
				src, p := future.New[int]()
				if early {
					tt.settle(p)
				}
				out := tt.make(src)
				if !early {
					tt.settle(p)
				}
				v, err := out.Await(ctx)
				if v != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("got %v, %v; want %v, %v", v, err, tt.want, tt.wantErr)
				}
			})
		}
	}
}

func TestContinuationPanicBecomesPanicError(t *testing.T) {
	out := future.Map(future.Resolved(0), func(v int) int { return 10 / v })
	_, err := out.Await(context.Background())
	var pe *future.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PanicError", err)
	}
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Fatalf("PanicError does not unwrap to runtime.Error: %v", err)
	}
	if !strings.Contains(string(pe.Stack), "future_test") {
		t.Fatalf("stack does not show the panic site:\n%s", pe.Stack)
	}
	if !strings.HasPrefix(err.Error(), "panic: runtime error: integer divide by zero") {
		t.Fatalf("Error() = %q", err.Error())
	}
	nilInner := future.FlatMap(future.Resolved(1), func(int) *future.Future[int] { return nil })
	if _, err := nilInner.Await(context.Background()); !errors.As(err, &pe) {
		t.Fatalf("FlatMap returning nil: err = %v", err)
	}
}

func TestContinuationGoexit(t *testing.T) {
	src, p := future.New[int]()
	out := future.Map(src, func(int) int { runtime.Goexit(); return 0 })
	after := future.Map(out, func(v int) int { return v })
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Resolve(1)
	}()
	<-done
	if _, err := out.Await(context.Background()); !errors.Is(err, future.ErrGoexit) {
		t.Fatalf("err = %v, want ErrGoexit", err)
	}
	if _, err := after.Await(context.Background()); !errors.Is(err, future.ErrGoexit) {
		t.Fatalf("downstream err = %v, want ErrGoexit", err)
	}
}

// A chain of a million continuations must settle without growing the stack
// (it would overflow if settling recursed), whether the head is settled
// before or after the chain is built.
func TestLongChainIsTrampolined(t *testing.T) {
	const n = 1_000_000
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("settled-before=%v", early), func(t *testing.T) {
			head, p := future.New[int]()
			if early {
				p.Resolve(0)
			}
			f := head
			for range n {
				f = future.Map(f, func(v int) int { return v + 1 })
			}
			if !early {
				p.Resolve(0)
			}
			if v, err := f.Await(context.Background()); v != n || err != nil {
				t.Fatalf("got %v, %v; want %v", v, err, n)
			}
		})
	}
}

func TestLongFlatMapChain(t *testing.T) {
	const n = 200_000
	head, p := future.New[int]()
	f := head
	for range n {
		f = future.FlatMap(f, func(v int) *future.Future[int] { return future.Resolved(v + 1) })
	}
	p.Resolve(0)
	if v, err := f.Await(context.Background()); v != n || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}

func TestSettleDeferred(t *testing.T) {
	f, p := future.New[int]()
	var order []string
	f.OnDone(func() { order = append(order, "callback") })
	g := future.Map(f, func(v int) int { order = append(order, "map"); return v + 1 })
	cbs, won := p.SettleDeferred(4, nil)
	if !won || cbs.Empty() {
		t.Fatalf("won %v, empty %v", won, cbs.Empty())
	}
	if r, ok := f.Peek(); !ok || r.Value != 4 || r.Err != nil {
		t.Fatalf("result not visible before the callbacks run: %+v %v", r, ok)
	}
	if len(order) != 0 || g.IsDone() {
		t.Fatalf("callbacks ran early: %v", order)
	}
	cbs.Run()
	if fmt.Sprint(order) != "[callback map]" {
		t.Fatalf("order %v", order)
	}
	if v, _ := g.Await(context.Background()); v != 5 {
		t.Fatalf("Map = %v", v)
	}
	again, won := p.SettleDeferred(9, errBoom)
	if won || !again.Empty() {
		t.Fatal("second SettleDeferred won")
	}
	again.Run() // a no-op
	var zero future.Callbacks
	zero.Run()
	plain, p2 := future.New[int]()
	cbs, _ = p2.SettleDeferred(1, errBoom)
	if !cbs.Empty() || !errors.Is(plain.Err(), errBoom) {
		t.Fatal("deferred settle without callbacks")
	}
}

// Many goroutines awaiting one future with a context that cannot be
// cancelled all wake with its result: the first parks on the future's
// parker, the others on its Done channel. Under synctest, all
// of them are durably blocked until it settles, and waiters arriving after
// it settled return at once.
func TestManyWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, p := future.New[int]()
		const n = 50
		var woke atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				v, err := f.Await(context.Background())
				if v != 7 || err != nil {
					t.Errorf("Await = %v, %v", v, err)
				}
				woke.Add(1)
			})
		}
		synctest.Wait()
		if woke.Load() != 0 {
			t.Fatal("a waiter woke before the future settled")
		}
		p.Resolve(7)
		wg.Wait()
		if v, err := f.Await(context.Background()); v != 7 || err != nil {
			t.Fatalf("late Await = %v, %v", v, err)
		}
	})
}

// A goroutine parked in Await is durably blocked for testing/synctest and
// shows in goroutine dumps with the wait reason of sync.Cond.Wait, whichever
// way the build parks it (see park_runtime.go).
func TestAwaitParksAsCondWait(t *testing.T) {
	t.Run("background", func(t *testing.T) { testAwaitParksAsCondWait(t, false) })
	t.Run("cancellable", func(t *testing.T) { testAwaitParksAsCondWait(t, true) })
}

func testAwaitParksAsCondWait(t *testing.T, cancellable bool) {
	synctest.Test(t, func(t *testing.T) {
		f, p := future.New[int]()
		ctx := context.Background()
		if cancellable {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.Await(ctx)
		}()
		synctest.Wait()
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var header string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "future.(*Future[...]).Await(") {
				header, _, _ = strings.Cut(g, "\n")
			}
		}
		if !strings.Contains(header, "[sync.Cond.Wait") {
			t.Errorf("the waiter's goroutine header is %q, want the reason sync.Cond.Wait\n%s", header, buf)
		}
		p.Resolve(1)
		<-done
	})
}

// A settle that races with the waiter parking never leaves the waiter
// parked and never wakes it with a pending future. The settler spins on
// another processor until the waiter is about to park, so that some settles
// land while it parks.
func TestAwaitRacesSettle(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	type round struct {
		p *future.Promise[int]
		v int
	}
	rounds := make(chan round)
	var armed atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range rounds {
			for !armed.Load() {
			}
			armed.Store(false)
			r.p.Resolve(r.v)
		}
	}()
	defer func() {
		close(rounds)
		<-done
	}()
	for i := range n {
		f, p := future.New[int]()
		rounds <- round{p, i}
		armed.Store(true)
		if v, err := f.Await(context.Background()); v != i || err != nil {
			t.Fatalf("Await = %v, %v, want %v", v, err, i)
		}
	}
}
