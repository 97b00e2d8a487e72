package async

import (
	"context"
	"iter"
	"runtime"
)

// Generate turns a producer written in the co_yield style into a sequence.
// fn produces values by calling yield, which returns false once the
// consumer has stopped (fn should then return promptly), and returns an
// error or nil when it is done. The sequence yields each value with a nil
// error and, if fn returns an error or ctx is done, one last pair of the
// zero value and that error (ctx's cause, for a done ctx).
//
// fn runs on the consumer's goroutine, one value at a time, as a coroutine:
// nothing runs ahead of the consumer. To run the producer ahead, wrap the
// sequence in [Prefetch]; to pull values one at a time, use [NewGenerator].
// The sequence may be ranged over more than once; each range calls fn
// afresh.
func Generate[T any](ctx context.Context, fn func(ctx context.Context, yield func(T) bool) error) iter.Seq2[T, error] {
	if ctx == nil {
		panic("async: Generate called with a nil Context")
	}
	if fn == nil {
		panic("async: Generate called with a nil function")
	}
	return func(yield func(T, error) bool) {
		stopped, consumerDone := false, false
		err := fn(ctx, func(v T) bool {
			if stopped {
				panic("async: Generate producer called yield after it returned false")
			}
			if ctx.Err() != nil {
				stopped = true
				return false
			}
			if !yield(v, nil) {
				stopped, consumerDone = true, true
				return false
			}
			return true
		})
		if consumerDone {
			return // the consumer has left: yield must not be called again
		}
		if err == nil && ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		if err != nil {
			var zero T
			yield(zero, err)
		}
	}
}

// A Generator pulls the values of a sequence one at a time, in the style of
// bufio.Scanner: call Next until it returns false, read each value with
// Value, then check Err. Stop releases the sequence early; it must be
// called if the loop may end before Next returns false (defer g.Stop()).
//
// A Generator runs the sequence as a coroutine (iter.Pull2): the producer
// runs only inside Next, on the Generator's own coroutine, and is
// suspended between calls. A Generator is not safe for concurrent use.
//
// A Generator that becomes unreachable before its iteration ended is
// stopped by a cleanup (runtime.AddCleanup) on a goroutine of its own, so
// that a forgotten Stop does not leak the coroutine for ever. That is a
// safety net, not a substitute for Stop: it runs only after a garbage
// collection, at an unpredictable time, and a panic of the producer while
// it stops then crashes the program, as a panic on any goroutine does.
type Generator[T any] struct {
	next    func() (T, error, bool)
	stop    func()
	cleanup runtime.Cleanup // stops the coroutine if the Generator is dropped
	val     T
	err     error
	done    bool
}

// NewGenerator returns a Generator over seq. An error yielded by seq ends
// the iteration: Next returns false and Err returns it.
func NewGenerator[T any](seq iter.Seq2[T, error]) *Generator[T] {
	if seq == nil {
		panic("async: NewGenerator called with a nil sequence")
	}
	next, stop := iter.Pull2(seq)
	g := &Generator[T]{next: next, stop: stop}
	// The cleanup holds stop, not g: neither stop nor the coroutine
	// refers to g, so g can become unreachable while the coroutine waits.
	// Stopping may run the producer's remaining code, which may take long,
	// so it runs on a goroutine of its own rather than on the runtime's
	// single cleanup goroutine. Nothing else calls next or stop by then:
	// g is unreachable.
	g.cleanup = runtime.AddCleanup(g, func(stop func()) { go stop() }, stop)
	return g
}

// Next advances to the next value and reports whether there is one.
func (g *Generator[T]) Next() bool {
	if g.done {
		return false
	}
	v, err, ok := g.next()
	if !ok || err != nil {
		var zero T
		g.val, g.err, g.done = zero, err, true
		g.release()
		return false
	}
	g.val = v
	return true
}

// Value returns the value of the last successful call to Next.
func (g *Generator[T]) Value() T { return g.val }

// Err returns the error that ended the iteration, or nil.
func (g *Generator[T]) Err() error { return g.err }

// Stop ends the iteration early and releases the producer. It is safe to
// call more than once and after Next returned false.
func (g *Generator[T]) Stop() {
	g.done = true
	g.release()
}

// release stops the coroutine and cancels the cleanup, which has nothing
// left to do.
func (g *Generator[T]) release() {
	g.cleanup.Stop()
	g.stop()
}
