package future_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/coawait/coawait/future"
	"pgregory.net/rapid"
)

// An op is one step of a scenario over n source futures.
type op struct {
	kind int // opSettle, opCombine or opAwaitCancelled
	i    int // source for opSettle; combinator index for opAwaitCancelled
	v    int
	fail bool
}

const (
	opSettle = iota
	opCombine
	opAwaitCancelled
	numOps
)

// outcomeModel is the expected state of one combinator.
type outcomeModel struct {
	pending bool
	v       string
	err     string
}

// scenario runs ops against real futures and against a model, and reports
// the first difference.
type scenario struct {
	n       int
	fs      []*future.Future[int]
	ps      []*future.Promise[int]
	settled []bool
	vals    []int
	errs    []error
	// combos[k] are the five combinators made by the k-th opCombine, and
	// seen[k] the order in which they observe sources.
	combos [][5]func() (string, string, bool)
	awaits [][5]func(context.Context) error
	seen   [][]int
}

func newScenario(n int) *scenario {
	s := &scenario{n: n, fs: make([]*future.Future[int], n), ps: make([]*future.Promise[int], n),
		settled: make([]bool, n), vals: make([]int, n), errs: make([]error, n)}
	for i := range n {
		s.fs[i], s.ps[i] = future.New[int]()
	}
	return s
}

func peek[T any](f *future.Future[T]) func() (string, string, bool) {
	return func() (string, string, bool) {
		r, ok := f.Peek()
		v, err := r.Value, r.Err
		es := "<nil>"
		if err != nil {
			es = err.Error()
			var zero T
			v = zero
		}
		return fmt.Sprint(v), es, ok
	}
}

func awaitErr[T any](f *future.Future[T]) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := f.Await(ctx)
		return err
	}
}

func (s *scenario) apply(o op) error {
	switch o.kind {
	case opSettle:
		var err error
		if o.fail {
			err = fmt.Errorf("e%d.%d", o.i, o.v)
		}
		won := s.ps[o.i].Settle(o.v, err)
		if won == s.settled[o.i] {
			return fmt.Errorf("settle %d won=%v, but already settled=%v", o.i, won, s.settled[o.i])
		}
		if won {
			s.settled[o.i], s.errs[o.i] = true, err
			if err == nil {
				s.vals[o.i] = o.v
			}
			for k := range s.seen {
				s.seen[k] = append(s.seen[k], o.i)
			}
		}
	case opCombine:
		as := make([]future.Awaitable, s.n)
		for i, f := range s.fs {
			as[i] = f
		}
		var seen []int
		for i := range s.n {
			if s.settled[i] {
				seen = append(seen, i)
			}
		}
		s.seen = append(s.seen, seen)
		all, allS, anyF, race, join := future.All(s.fs...), future.AllSettled(s.fs...), future.Any(s.fs...), future.Race(s.fs...), future.Join(as...)
		s.combos = append(s.combos, [5]func() (string, string, bool){peek(all), peek(allS), peek(anyF), peek(race), peek(join)})
		s.awaits = append(s.awaits, [5]func(context.Context) error{awaitErr(all), awaitErr(allS), awaitErr(anyF), awaitErr(race), awaitErr(join)})
	case opAwaitCancelled:
		if len(s.combos) == 0 {
			return nil
		}
		// Await each combinator with a cancelled ctx: it must return at
		// once, with the result if the model says settled, else Canceled.
		k := o.i % len(s.combos)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for j, await := range s.awaits[k] {
			got := await(ctx)
			if want := s.model(k, j); want.pending != errors.Is(got, context.Canceled) {
				return fmt.Errorf("combinator %d.%d: Await with cancelled ctx = %v, model pending=%v", k, j, got, want.pending)
			}
		}
	}
	return nil
}

// model returns what combinator j (All, AllSettled, Any, Race, Join) of
// the k-th combine must be now.
func (s *scenario) model(k, j int) outcomeModel {
	seen := s.seen[k]
	allSettled := len(seen) == s.n
	switch j {
	case 0, 4: // All, Join: first error observed, else all values
		for _, i := range seen {
			if s.errs[i] != nil {
				if j == 0 {
					return outcomeModel{v: "[]", err: s.errs[i].Error()}
				}
				return outcomeModel{v: "{}", err: s.errs[i].Error()}
			}
		}
		if !allSettled {
			return outcomeModel{pending: true}
		}
		if j == 4 {
			return outcomeModel{v: "{}", err: "<nil>"}
		}
		return outcomeModel{v: fmt.Sprint(s.valsOrZero()), err: "<nil>"}
	case 1: // AllSettled
		if !allSettled {
			return outcomeModel{pending: true}
		}
		rs := make([]future.Result[int], s.n)
		for i := range rs {
			rs[i] = future.Result[int]{Value: s.vals[i], Err: s.errs[i]}
		}
		return outcomeModel{v: fmt.Sprint(rs), err: "<nil>"}
	case 2: // Any: first success observed, else all errors in index order
		if s.n == 0 {
			return outcomeModel{v: "0", err: future.ErrEmpty.Error()}
		}
		for _, i := range seen {
			if s.errs[i] == nil {
				return outcomeModel{v: fmt.Sprint(s.vals[i]), err: "<nil>"}
			}
		}
		if !allSettled {
			return outcomeModel{pending: true}
		}
		return outcomeModel{v: "0", err: errors.Join(s.errs...).Error()}
	default: // Race: first observed
		if s.n == 0 {
			return outcomeModel{v: "0", err: future.ErrEmpty.Error()}
		}
		if len(seen) == 0 {
			return outcomeModel{pending: true}
		}
		i := seen[0]
		if s.errs[i] != nil {
			return outcomeModel{v: "0", err: s.errs[i].Error()}
		}
		return outcomeModel{v: fmt.Sprint(s.vals[i]), err: "<nil>"}
	}
}

func (s *scenario) valsOrZero() []int { return slices.Clone(s.vals) }

// check compares every combinator with the model.
func (s *scenario) check() error {
	names := [5]string{"All", "AllSettled", "Any", "Race", "Join"}
	for k := range s.combos {
		for j, c := range s.combos[k] {
			v, es, ok := c()
			want := s.model(k, j)
			if want.pending {
				if ok {
					return fmt.Errorf("%s #%d settled to %s, %s; model says pending (seen %v)", names[j], k, v, es, s.seen[k])
				}
				continue
			}
			if !ok || v != want.v || es != want.err {
				return fmt.Errorf("%s #%d = (%s, %q, done=%v); model (%s, %q) (seen %v)", names[j], k, v, es, ok, want.v, want.err, s.seen[k])
			}
		}
	}
	return nil
}

// Property: for random sources, settle orders and times of combination,
// every settle after the first loses, and every combinator's result is the
// model's.
func TestCombinatorsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 6).Draw(t, "n")
		s := newScenario(n)
		steps := rapid.IntRange(0, 20).Draw(t, "steps")
		for step := range steps {
			o := op{kind: rapid.IntRange(0, numOps-1).Draw(t, fmt.Sprint("kind", step))}
			if n == 0 && o.kind == opSettle {
				o.kind = opCombine
			}
			switch o.kind {
			case opSettle:
				o.i = rapid.IntRange(0, n-1).Draw(t, fmt.Sprint("i", step))
				o.v = rapid.IntRange(0, 9).Draw(t, fmt.Sprint("v", step))
				o.fail = rapid.Bool().Draw(t, fmt.Sprint("fail", step))
			case opAwaitCancelled:
				o.i = rapid.IntRange(0, 5).Draw(t, fmt.Sprint("k", step))
			}
			if err := s.apply(o); err != nil {
				t.Fatal(err)
			}
			if err := s.check(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Property: with many goroutines settling the same promise at once, exactly
// one wins, and every awaiter sees the winner's result.
func TestSettleOnceConcurrentProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		settlers := rapid.IntRange(1, 8).Draw(t, "settlers")
		awaiters := rapid.IntRange(0, 4).Draw(t, "awaiters")
		f, p := future.New[int]()
		won := make([]bool, settlers)
		seen := make([]string, awaiters)
		var wg sync.WaitGroup
		for i := range awaiters {
			wg.Go(func() {
				v, err := f.Await(context.Background())
				seen[i] = fmt.Sprint(v, err)
			})
		}
		for i := range settlers {
			wg.Go(func() {
				if i%3 == 2 {
					won[i] = p.Reject(fmt.Errorf("e%d", i))
				} else {
					won[i] = p.Resolve(i)
				}
			})
		}
		wg.Wait()
		winners := 0
		for _, w := range won {
			if w {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("%d winners", winners)
		}
		v, err := f.Await(context.Background())
		final := fmt.Sprint(v, err)
		for _, s := range seen {
			if s != final {
				t.Fatalf("awaiter saw %q, final %q", s, final)
			}
		}
	})
}

// FuzzCombinators drives random sequences of settle, combine and
// await-with-cancel operations, decoded from the fuzzer's bytes, and checks
// the combinators against the model after every step.
func FuzzCombinators(f *testing.F) {
	f.Add(uint8(3), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(0), []byte{1, 1, 2})
	f.Add(uint8(5), []byte{1, 0x10, 0x21, 0x32, 2, 0x43, 0x54, 1, 0x05})
	f.Fuzz(func(t *testing.T, n uint8, prog []byte) {
		nn := int(n % 7)
		s := newScenario(nn)
		if len(prog) > 64 {
			prog = prog[:64]
		}
		for _, b := range prog {
			o := op{kind: int(b) % numOps}
			if nn == 0 && o.kind == opSettle {
				o.kind = opCombine
			}
			if o.kind == opSettle {
				o.i = int(b>>2) % nn
				o.v = int(b >> 5)
				o.fail = b&0x10 != 0
			} else {
				o.i = int(b >> 2)
			}
			if err := s.apply(o); err != nil {
				t.Fatal(err)
			}
			if err := s.check(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Callbacks registered with OnDone run once, in the order they were
// registered, except those stopped before the future settled; stop reports
// true exactly for those.
func TestCallbackOrderProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f, p := future.New[int]()
		var ran []int
		var want []int
		var stops []func() bool
		n := rapid.IntRange(0, 20).Draw(t, "n")
		stopped := map[int]bool{}
		for i := range n {
			stops = append(stops, f.OnDone(func() { ran = append(ran, i) }))
			// Stop some of the callbacks registered so far: the first,
			// the last or one in the middle of the list.
			if rapid.Bool().Draw(t, "stop") {
				j := rapid.IntRange(0, i).Draw(t, "which")
				if got := stops[j](); got == stopped[j] {
					t.Fatalf("stop %d = %v, already stopped: %v", j, got, stopped[j])
				}
				stopped[j] = true
			}
		}
		for i := range n {
			if !stopped[i] {
				want = append(want, i)
			}
		}
		p.Resolve(1)
		if !slices.Equal(ran, want) {
			t.Fatalf("ran %v, want %v", ran, want)
		}
		for i, stop := range stops {
			if stop() {
				t.Fatalf("stop %d reported true after settling", i)
			}
		}
	})
}
