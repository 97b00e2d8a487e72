package async

import (
	"context"

	"github.com/coawait/coawait/future"
)

// task is a spawned function with the promise of its result, in one
// allocation.
type task[T any] struct {
	p   future.Promise[T]
	ctx context.Context
	fn  func(context.Context) (T, error)
}

// Go starts fn(ctx) on a new goroutine and returns a future that settles
// with its result: the value and error fn returns, a *future.PanicError if
// fn panics, or future.ErrGoexit if fn calls runtime.Goexit.
//
// The goroutine belongs to the returned future: it runs until fn returns,
// and cancelling ctx only asks fn to return early. It is started by the
// caller of Go and runs fn and nothing else, so it carries the caller's
// pprof labels and runtime/trace task, and its traceback says it was
// created by the caller. Go costs one goroutine and two allocations: one
// holds the task and its future, the other is the go statement's closure.
func Go[T any](ctx context.Context, fn func(context.Context) (T, error)) *future.Future[T] {
	if ctx == nil {
		panic("async: Go called with a nil Context")
	}
	if fn == nil {
		panic("async: Go called with a nil function")
	}
	t := &task[T]{ctx: ctx, fn: fn}
	f := t.p.Future()
	// The goroutine gets its own task in its closure. (An earlier version
	// saved the closure by handing tasks over a shared stack, so a task
	// could run on a goroutine another caller had started, under that
	// caller's labels.)
	go t.run()
	return f
}

func (t *task[T]) run() {
	ctx, fn := t.ctx, t.fn
	t.ctx, t.fn = nil, nil // the future outlives the task: pin nothing
	run(ctx, fn, &t.p)
}

// run calls fn and settles p with its result, a panic or a Goexit.
func run[T any](ctx context.Context, fn func(context.Context) (T, error), p *future.Promise[T]) {
	normal := false
	defer func() {
		if !normal {
			p.Reject(recovered(recover()))
		}
	}()
	v, err := fn(ctx)
	normal = true
	p.Settle(v, err)
}

// recovered turns the value of recover in a deferred call, after a function
// did not return normally, into the error that reports it: a
// *future.PanicError for a panic, future.ErrGoexit for runtime.Goexit.
func recovered(r any) error {
	if r == nil {
		return future.ErrGoexit
	}
	return future.NewPanicError(r)
}
