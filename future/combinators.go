package future

import (
	"errors"
	"strconv"
	"sync/atomic"
)

// Awaitable is what every *Future[T] is, whatever T: something that
// settles once, with an error or not. It lets [Join] wait for futures of
// different types. Only futures of this package implement it.
type Awaitable interface {
	// Done returns a channel closed when the future settles.
	Done() <-chan struct{}
	// IsDone reports whether the future has settled.
	IsDone() bool
	// Err returns the future's error once it has settled, else nil.
	Err() error

	add(*node) bool
	remove(*node) bool
	isNil() bool
}

var _ Awaitable = (*Future[int])(nil)

func (f *Future[T]) isNil() bool { return f == nil }

// Result is one future's outcome, as reported by [AllSettled] and
// [Future.Peek]: its value, or the error it settled with.
type Result[T any] struct {
	Value T
	Err   error
}

// group is the shared state of a combinator over n source futures: the
// result future, one node per source (allocated in one slice) and a count
// of sources still to settle.
type group[T, R any] struct {
	dst       Future[R]
	remaining atomic.Int64
	nodes     []member[T, R]
	// onSettle is called, on the settling goroutine, for each source that
	// settles; it returns the released callback list of dst, if it
	// settled dst.
	onSettle func(g *group[T, R], i int, src Awaitable) *node
}

// member is the node a group registers on its i-th source.
type member[T, R any] struct {
	n   node
	g   *group[T, R]
	i   int
	src Awaitable
}

func (m *member[T, R]) fire() *node {
	return m.g.onSettle(m.g, m.i, m.src)
}

// start makes a group over srcs and registers it on every source, firing
// members of already settled sources at once.
func start[T, R any](op string, srcs []Awaitable, onSettle func(*group[T, R], int, Awaitable) *node) *group[T, R] {
	for i, s := range srcs {
		if s == nil || s.isNil() {
			panic("future: " + op + " called with a nil future at index " + strconv.Itoa(i))
		}
	}
	g := &group[T, R]{onSettle: onSettle}
	g.remaining.Store(int64(len(srcs)))
	g.nodes = make([]member[T, R], len(srcs))
	for i, s := range srcs {
		m := &g.nodes[i]
		m.g, m.i, m.src = g, i, s
		m.n.cb = m
	}
	for i, s := range srcs {
		if g.dst.IsDone() {
			break // settled early (fail fast): no need to watch the rest
		}
		m := &g.nodes[i]
		if !s.add(&m.n) {
			if list := m.fire(); list != nil {
				drain(list)
			}
		}
	}
	return g
}

// finish settles the group's result and, if this call won, unregisters the
// group from the sources that have not settled yet, so that a settled
// combinator does not stay reachable from long-lived sources.
func (g *group[T, R]) finish(v R, err error) *node {
	list, won := g.dst.complete(v, err)
	if won && g.remaining.Load() > 0 {
		for i := range g.nodes {
			g.nodes[i].src.remove(&g.nodes[i].n)
		}
	}
	return list
}

func awaitables[T any](fs []*Future[T]) []Awaitable {
	as := make([]Awaitable, len(fs))
	for i, f := range fs {
		if f != nil {
			as[i] = f
		}
	}
	return as
}

// All returns a future that settles with the values of fs, in the order of
// fs, once all of them succeed, or with the first error as soon as any of
// them fails (fail fast: it does not wait for the others). All of no
// futures is an empty slice. All panics if any future is nil.
func All[T any](fs ...*Future[T]) *Future[[]T] {
	vals := make([]T, len(fs))
	g := start("All", awaitables(fs), func(g *group[T, []T], i int, src Awaitable) *node {
		f := src.(*Future[T])
		if f.err != nil {
			return g.finish(nil, f.err)
		}
		vals[i] = f.val // each index is written by one member only
		if g.remaining.Add(-1) == 0 {
			return g.finish(vals, nil)
		}
		return nil
	})
	if len(fs) == 0 {
		g.dst.complete(vals, nil)
	}
	return &g.dst
}

// AllSettled returns a future that settles, never with an error, once all
// of fs have settled, with each one's value and error in the order of fs.
// AllSettled panics if any future is nil.
func AllSettled[T any](fs ...*Future[T]) *Future[[]Result[T]] {
	res := make([]Result[T], len(fs))
	g := start("AllSettled", awaitables(fs), func(g *group[T, []Result[T]], i int, src Awaitable) *node {
		f := src.(*Future[T])
		res[i] = Result[T]{Value: f.val, Err: f.err}
		if g.remaining.Add(-1) == 0 {
			return g.finish(res, nil)
		}
		return nil
	})
	if len(fs) == 0 {
		g.dst.complete(res, nil)
	}
	return &g.dst
}

// Any returns a future that settles with the value of the first of fs to
// succeed. If all of them fail, it fails with their errors joined by
// errors.Join, in the order of fs. Any of no futures fails with [ErrEmpty].
// Any panics if any future is nil.
func Any[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrEmpty)
	}
	errs := make([]error, len(fs))
	g := start("Any", awaitables(fs), func(g *group[T, T], i int, src Awaitable) *node {
		f := src.(*Future[T])
		if f.err == nil {
			return g.finish(f.val, nil)
		}
		errs[i] = f.err
		if g.remaining.Add(-1) == 0 {
			var zero T
			return g.finish(zero, errors.Join(errs...))
		}
		return nil
	})
	return &g.dst
}

// Race returns a future that settles like the first of fs to settle, with
// its value or its error. Race of no futures fails with [ErrEmpty]. Race
// panics if any future is nil.
func Race[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrEmpty)
	}
	g := start("Race", awaitables(fs), func(g *group[T, T], i int, src Awaitable) *node {
		f := src.(*Future[T])
		g.remaining.Add(-1)
		return g.finish(f.val, f.err)
	})
	return &g.dst
}

// Join returns a future that settles once all of fs, which may have
// different value types, have succeeded, or with the first error as soon
// as any of them fails. It is the when_all of a loader's batch and a
// kernel's output: join them, then read each one's value with Await, which
// no longer blocks. Join of no futures succeeds at once. Join panics if any
// future is nil.
func Join(fs ...Awaitable) *Future[struct{}] {
	g := start("Join", fs, func(g *group[struct{}, struct{}], i int, src Awaitable) *node {
		if err := src.Err(); err != nil {
			return g.finish(struct{}{}, err)
		}
		if g.remaining.Add(-1) == 0 {
			return g.finish(struct{}{}, nil)
		}
		return nil
	})
	if len(fs) == 0 {
		g.dst.complete(struct{}{}, nil)
	}
	return &g.dst
}
