package future

import (
	"context"
	"sync"
	"sync/atomic"
)

// States of a Future. A future moves pending → settling → done, once.
const (
	statePending  uint32 = iota // nobody has settled it yet
	stateSettling               // a settler won and is writing the result
	stateDone                   // the result is written and may be read
)

// Bits of signal.watched.
const (
	watchList   uint32 = 1 << iota // callbacks or a Done channel: settle must lock mu
	watchPark                      // a waiter parks on p: settle must unpark it
	watchCancel                    // the parked waiter's context is done: it must return
)

// signal is the non-generic core of a future: its state, what its settler
// must do besides publishing the result, and where its first waiter parks.
//
// The parker serves one waiter, the first, which claims it with one atomic
// operation (watchPark). Later waiters, rare, wait on the Done channel
// instead.
type signal struct {
	// state is the settle state; a load of stateDone makes val and err
	// visible (they are written before the store).
	state atomic.Uint32

	// watched tells the settler what it must do besides publishing the
	// result (see the watch* bits). Watchers set their bit before they
	// check the state, and the settler reads the bits after it publishes
	// the state, so at least one of them sees the other (both are
	// sequentially consistent atomics): the settler never misses a
	// watcher that did not see it settle. (It lives here, in what would
	// otherwise be padding, to keep every future small.)
	watched atomic.Uint32

	// p parks the waiter that claimed watchPark until the settler
	// unparks it; see park_runtime.go and park_cond.go.
	p parker
}

// closedChan is the Done channel of every future that was already settled
// when Done was first called.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// A Future is the read side of a value of type T that becomes available
// later, or of the error that prevented it. It settles exactly once.
//
// Futures come from a [Promise] (see also [New]), from [Resolved] and
// [Failed], from the combinators and continuations of this package, and
// from functions of other coawait packages. A zero Future that is not part
// of a Promise is pending forever, like a nil channel: nothing can settle
// it. A Future must not be copied after first use. All methods are safe for
// concurrent use.
type Future[T any] struct {
	sig signal // settle state, watchers and where the first waiter parks

	mu sync.Mutex // guards head and done
	// head is the list of callbacks to run when the future settles, the
	// most recently registered first (settling reverses it, so that they
	// run in the order they were registered).
	head *node
	done chan struct{} // made by the first call to Done; closed on settle

	// val and err are written once, by the winning settler, before state
	// becomes stateDone, and read only after.
	val T
	err error
}

// node is one registered continuation in a future's callback list. Its
// callback's fire method is called once, after the future settles; fire may
// return a list of further callbacks released by settling other futures,
// which the caller runs next (the trampoline), instead of running them
// itself and growing the stack.
type node struct {
	cb         callback
	prev, next *node // guarded by the owning future's mu while linked
	linked     bool  // guarded by the owning future's mu
}

// A callback is what a node runs. Continuations embed their node and point
// its cb at themselves, so that one allocation holds the whole link.
type callback interface {
	fire() *node
}

// funcCallback runs a user function registered with OnDone.
type funcCallback struct {
	n  node
	fn func()
}

func (c *funcCallback) fire() *node {
	c.fn()
	return nil
}

// A Promise is the write side of a [Future] and owns it: the promise and
// its future are one allocation, and the promise is the only way to settle
// the future. The zero Promise is ready to use, with a pending future, so a
// Promise can be embedded in a larger struct. A Promise must not be copied
// after first use; share a *Promise.
type Promise[T any] struct {
	f Future[T]
}

// New returns a pending future and the promise that settles it, in one
// allocation. It is shorthand for p := new(Promise[T]); f := p.Future().
func New[T any]() (*Future[T], *Promise[T]) {
	p := new(Promise[T])
	return &p.f, p
}

// Resolved returns a future already settled with value v.
func Resolved[T any](v T) *Future[T] {
	f := &Future[T]{val: v}
	f.sig.state.Store(stateDone)
	return f
}

// Failed returns a future already settled with err. It panics if err is nil.
func Failed[T any](err error) *Future[T] {
	if err == nil {
		panic("future: Failed called with a nil error")
	}
	f := &Future[T]{err: err}
	f.sig.state.Store(stateDone)
	return f
}

// Future returns the future that p settles. It is always the same future.
func (p *Promise[T]) Future() *Future[T] {
	p.check("Future")
	return &p.f
}

// Resolve settles the future with value v. It reports whether this call
// settled it; false means the future had already been settled and nothing
// changed. Continuations registered on the future run on the calling
// goroutine before Resolve returns.
func (p *Promise[T]) Resolve(v T) bool {
	p.check("Resolve")
	return p.f.settle(v, nil)
}

// Reject settles the future with err, which must not be nil. It reports
// whether this call settled it, as [Promise.Resolve] does.
func (p *Promise[T]) Reject(err error) bool {
	p.check("Reject")
	if err == nil {
		panic("future: Reject called with a nil error")
	}
	var zero T
	return p.f.settle(zero, err)
}

// Settle settles the future with (v, err): with the error if err is not
// nil, else with v. It reports whether this call settled it. Settle makes it
// easy to forward a function's results: p.Settle(load(path)).
func (p *Promise[T]) Settle(v T, err error) bool {
	p.check("Settle")
	if err != nil {
		var zero T
		v = zero
	}
	return p.f.settle(v, err)
}

func (p *Promise[T]) check(op string) {
	if p == nil {
		panic("future: " + op + " called on a nil *Promise")
	}
}

// Await blocks until f settles or ctx is done, and returns f's value and
// error. If ctx is done first it returns the zero value and ctx.Err(); the
// producer of f is not cancelled and f still settles later. Awaiting an
// already settled future takes no lock and allocates nothing, whatever ctx
// is. The first goroutine to wait parks, which allocates nothing either,
// if ctx can never be done (such as context.Background()) or was made by
// context.WithCancel, WithCancelCause, WithTimeout or WithDeadline: a
// callback registered with context.AfterFunc then wakes it when ctx is
// done. Those registrations are reused across waits with the same ctx (a
// few allocations the first time), and dropped once unused (after a
// garbage collection or two) or when ctx is done. With any other ctx
// (one that wraps such a context, as context.WithValue does), and for
// further waiters of the same future, Await selects on the future's Done
// channel (one allocation per future) and ctx.Done(). Await panics if ctx
// is nil.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.sig.state.Load() == stateDone {
		return f.val, f.err
	}
	return f.awaitSlow(ctx)
}

func (f *Future[T]) awaitSlow(ctx context.Context) (T, error) {
	if ctx == nil {
		panic("future: Await called with a nil Context")
	}
	var zero T
	cancel := ctx.Done()
	if cancel == nil {
		// ctx can never be cancelled: the first waiter parks, which needs
		// no allocation; any other waits on the Done channel (see signal).
		if f.sig.watched.Or(watchPark)&watchPark != 0 {
			<-f.Done()
			return f.val, f.err
		}
		f.sig.park()
		return f.val, f.err
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if wakeable(ctx) && f.sig.watched.Or(watchPark)&watchPark == 0 {
		// The first waiter parks, and a waker registered with ctx wakes
		// it if ctx is done first (see ctxwake.go).
		w := wakerFor(ctx, cancel)
		w.target.Store(&f.sig)
		// fire reads target after ctx is done: if it missed the store,
		// this check sees ctx done (both sequentially consistent).
		if ctx.Err() == nil {
			f.sig.park()
		}
		w.target.Store(nil)
		wakers.Put(w)
		if f.sig.state.Load() == stateDone {
			return f.val, f.err
		}
		return zero, ctx.Err()
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-cancel:
		// Prefer the result if both are ready, so that a settled future
		// is never reported as cancelled.
		if f.sig.state.Load() == stateDone {
			return f.val, f.err
		}
		return zero, ctx.Err()
	}
}

// Done returns a channel that is closed when f settles, for use in select
// statements. The first call on a pending future allocates the channel.
func (f *Future[T]) Done() <-chan struct{} {
	if f.sig.state.Load() == stateDone {
		return closedChan
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sig.watched.Or(watchList)
	if f.sig.state.Load() == stateDone {
		if f.done != nil {
			return f.done
		}
		return closedChan
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// IsDone reports whether f has settled. It never blocks.
func (f *Future[T]) IsDone() bool {
	return f.sig.state.Load() == stateDone
}

// Peek returns f's outcome and ok == true if f has settled, or the zero
// Result and false if it has not. It never blocks or allocates.
//
// (It returns a [Result] rather than a value and an error, so that the
// comma-ok flag comes last and an error is never followed by another
// result.)
func (f *Future[T]) Peek() (r Result[T], ok bool) {
	if f.sig.state.Load() != stateDone {
		return r, false
	}
	return Result[T]{f.val, f.err}, true
}

// Err returns f's error if f has settled with an error, and nil if f is
// pending or has settled with a value. It never blocks.
func (f *Future[T]) Err() error {
	if f.sig.state.Load() != stateDone {
		return nil
	}
	return f.err
}

// settle settles f and runs its callbacks. It reports whether this call won.
func (f *Future[T]) settle(v T, err error) bool {
	list, ok := f.complete(v, err)
	if list != nil {
		drain(list)
	}
	return ok
}

// complete settles f, wakes its waiters and returns its detached callback
// list without running it, so that callers inside a drain loop can queue it
// (the trampoline). It reports whether this call won.
func (f *Future[T]) complete(v T, err error) (*node, bool) {
	if !f.sig.state.CompareAndSwap(statePending, stateSettling) {
		return nil, false
	}
	f.val, f.err = v, err
	f.sig.state.Store(stateDone)
	w := f.sig.watched.Load()
	if w&watchPark != 0 {
		f.sig.unpark()
	}
	if w&watchList == 0 {
		return nil, true
	}
	f.mu.Lock()
	// Detach the callbacks and reverse them into registration order.
	var list *node
	for n := f.head; n != nil; {
		next := n.next
		n.linked = false
		n.prev, n.next = nil, list
		list = n
		n = next
	}
	f.head = nil
	if f.done != nil {
		close(f.done)
	}
	f.mu.Unlock()
	return list, true
}
