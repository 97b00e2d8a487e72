package async

import (
	"context"

	"github.com/coawait/coawait/future"
)

// task is a spawned function with the promise of its result, in one
// allocation.
type task[T any] struct {
	j   job
	p   future.Promise[T]
	ctx context.Context
	fn  func(context.Context) (T, error)
}

// Go starts fn(ctx) on a new goroutine and returns a future that settles
// with its result: the value and error fn returns, a *future.PanicError if
// fn panics, or future.ErrGoexit if fn calls runtime.Goexit.
//
// The goroutine belongs to the returned future: it runs until fn returns,
// and cancelling ctx only asks fn to return early. Go costs one goroutine
// and one allocation, which holds the task and its future.
func Go[T any](ctx context.Context, fn func(context.Context) (T, error)) *future.Future[T] {
	if ctx == nil {
		panic("async: Go called with a nil Context")
	}
	if fn == nil {
		panic("async: Go called with a nil function")
	}
	t := &task[T]{ctx: ctx, fn: fn}
	t.j.r = t
	f := t.p.Future()
	start(&t.j)
	return f
}

func (t *task[T]) runJob() {
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
