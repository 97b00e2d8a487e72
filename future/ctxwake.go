package future

import (
	"context"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// This file lets the first waiter of a future park (park_runtime.go,
// park_cond.go) even when it waits with a context that can be cancelled,
// instead of selecting on the future's Done channel and the context's,
// which costs a channel per future and is about twice as slow as a raw
// select (BenchmarkResolveWakeCtx).
//
// Something must wake the parked waiter when its context is done:
// context.AfterFunc. Registering one per wait would cost several
// allocations, so registrations are reused: a ctxWaker is registered with
// one context and kept in a sync.Pool, and a waiter that takes a waker
// registered with its own context (the common case: a task awaits many
// futures with its scope's context) registers nothing. A waker registered
// with another context is moved to this one (one AfterFunc).
//
// Why not a pool of channels instead: a channel made inside a
// testing/synctest bubble may not be used outside it, or in another
// bubble (the runtime stops the program), and a pool would hand channels
// across bubbles. A waker holds no channel; its callback only sets a flag
// and readies a goroutine.
//
// Only contexts made by package context's WithCancel, WithCancelCause,
// WithTimeout and WithDeadline (and their Cause forms) are given wakers,
// not those that wrap one (WithValue, a type of another package), whose
// waiters select on the future's Done channel as before. The reason: for
// a Context type with a Done channel of its own, context.AfterFunc
// watches it with a goroutine and makes a channel for the registration;
// if that happened inside a synctest bubble and the registration were
// stopped outside it (the waker dropped by the pool and cleaned up, or
// moved to another context), closing that channel would stop the program.
// The contexts given wakers never make that channel.

// A ctxWaker wakes the waiter that parks on target when the context it is
// registered with is done. It is owned by one waiter between wakers.Get
// and wakers.Put.
type ctxWaker struct {
	// done is the Done channel of the context the waker is registered
	// with (nil: none yet). Contexts that share a Done channel are done
	// together, so it identifies the registration.
	done <-chan struct{}

	// target is the signal whose waiter is parked now, nil between
	// waits. fire may read it at any time.
	target atomic.Pointer[signal]

	// reg holds the registration's stop function; the cleanup that stops
	// the registration when the waker is dropped shares it (it must not
	// refer to the waker).
	reg *wakerReg

	// wake is the function registered with context.AfterFunc: it refers
	// to the waker only weakly, so that a registration does not keep a
	// waker that the pool dropped alive.
	wake func()
}

// wakerReg is a waker's current registration.
type wakerReg struct {
	stop atomic.Value // func() bool, from context.AfterFunc
}

var wakers = sync.Pool{New: func() any { return newCtxWaker() }}

func newCtxWaker() *ctxWaker {
	w := &ctxWaker{reg: new(wakerReg)}
	wp := weak.Make(w)
	w.wake = func() {
		if w := wp.Value(); w != nil {
			w.fire()
		}
	}
	// A waker the pool drops is collected; then its registration goes
	// too, rather than staying with its context until that is done.
	runtime.AddCleanup(w, func(r *wakerReg) { r.stopNow() }, w.reg)
	return w
}

// stopNow stops the registration, if any, and reports whether it stopped
// the callback from running.
func (r *wakerReg) stopNow() bool {
	stop, _ := r.stop.Load().(func() bool)
	return stop != nil && stop()
}

// fire wakes the parked waiter, if any: the context is done. A waiter that
// stored target after fire read it sees its context done before it parks.
func (w *ctxWaker) fire() {
	if s := w.target.Load(); s != nil {
		s.cancelPark()
	}
}

// cancelCtxTypes are the dynamic types of the contexts that package
// context's cancellable constructors return.
var cancelCtxTypes = func() [2]reflect.Type {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	d, cancel := context.WithDeadline(context.Background(), time.Time{})
	cancel()
	return [2]reflect.Type{reflect.TypeOf(c), reflect.TypeOf(d)}
}()

// wakeable reports whether a waiter with ctx may park and be woken by a
// ctxWaker (see this file's comment).
func wakeable(ctx context.Context) bool {
	t := reflect.TypeOf(ctx)
	return t == cancelCtxTypes[0] || t == cancelCtxTypes[1]
}

// wakerFor returns a waker registered with ctx, whose Done channel is
// done, for the caller to use and put back into wakers.
func wakerFor(ctx context.Context, done <-chan struct{}) *ctxWaker {
	w := wakers.Get().(*ctxWaker)
	if w.done == done {
		return w
	}
	if w.done != nil && !w.reg.stopNow() {
		// Its context is done and its callback may still be on its way:
		// it must not wake a waiter of another context. Leave it.
		w = newCtxWaker()
	}
	w.done = done
	w.reg.stop.Store(context.AfterFunc(ctx, w.wake))
	return w
}

// cancelPark wakes the waiter parked on s because its context is done.
func (s *signal) cancelPark() {
	s.watched.Or(watchCancel)
	s.unpark()
}
