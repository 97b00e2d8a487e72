package async

import (
	"context"
	"iter"
	"sync"

	"github.com/coawait/coawait/future"
)

// Prefetch runs seq on a goroutine of its own, ahead of the consumer by at
// most depth items: the producer computes the next items while the
// consumer works on the current one, and blocks once depth items wait
// (backpressure). Values and errors arrive in the order seq yields them. If
// ctx is done, the sequence yields one last pair of the zero value and
// ctx's cause and stops.
//
// The producer goroutine belongs to the loop that ranges over the result:
// when the loop ends, including by break, Prefetch cancels the producer and
// waits for its goroutine to end before the loop statement completes. seq
// must therefore stop when its yield returns false (as every well-behaved
// iter.Seq2 does); a producer blocked inside seq itself is waited for. A
// panic in seq ends the sequence with a *future.PanicError. Each range
// over the result ranges over seq once. Prefetch panics if ctx or seq is nil
// or depth < 1.
func Prefetch[T any](ctx context.Context, seq iter.Seq2[T, error], depth int) iter.Seq2[T, error] {
	if ctx == nil {
		panic("async: Prefetch called with a nil Context")
	}
	if seq == nil {
		panic("async: Prefetch called with a nil sequence")
	}
	if depth < 1 {
		panic("async: Prefetch depth must be at least 1")
	}
	return func(yield func(T, error) bool) {
		pctx, cancel := context.WithCancel(ctx)
		// The producer holds one item while it waits to send it, so a
		// buffer of depth-1 keeps at most depth items ahead.
		items := make(chan future.Result[T], depth-1)
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(items)
			send := func(v T, err error) bool {
				select {
				case items <- future.Result[T]{Value: v, Err: err}:
					return true
				case <-pctx.Done():
					return false
				}
			}
			normal := false
			defer func() {
				if !normal {
					var zero T
					send(zero, recovered(recover()))
				}
			}()
			for v, err := range seq {
				if !send(v, err) {
					break
				}
			}
			normal = true
		})
		defer func() {
			cancel()
			wg.Wait()
		}()
		consume(ctx, items, yield)
	}
}

// consume hands the items of ch to yield until ch is closed, yield returns
// false, or ctx is done, in which case it yields ctx's cause last.
func consume[T any](ctx context.Context, ch <-chan future.Result[T], yield func(T, error) bool) {
	var zero T
	for {
		if ctx.Err() != nil {
			yield(zero, context.Cause(ctx))
			return
		}
		select {
		case it, ok := <-ch:
			if !ok {
				return
			}
			if !yield(it.Value, it.Err) {
				return
			}
		case <-ctx.Done():
			yield(zero, context.Cause(ctx))
			return
		}
	}
}

// ParallelMap applies fn to the values of seq on workers goroutines at once and
// yields the results in the order of seq. At most 2×workers items are read
// from seq and not yet handed to the consumer, so a slow consumer or one
// slow item holds back the reading of seq (backpressure) rather than
// buffering without bound. An error that seq yields is passed through in
// its place without calling fn; an error or panic of fn (as a
// *future.PanicError) is yielded in the place of its item. ParallelMap does not
// stop at an error: break out of the loop to stop.
//
// fn receives a context that is cancelled when the loop ends. The
// goroutines belong to the loop that ranges over the result: when it ends,
// including by break, ParallelMap stops reading seq, cancels the workers' context
// and waits for all of its goroutines before the loop statement completes.
// If ctx is done, the sequence yields one last pair of the zero value and
// ctx's cause. ParallelMap panics if ctx, seq or fn is nil or workers < 1.
func ParallelMap[T, U any](ctx context.Context, seq iter.Seq2[T, error], workers int, fn func(context.Context, T) (U, error)) iter.Seq2[U, error] {
	if ctx == nil {
		panic("async: ParallelMap called with a nil Context")
	}
	if seq == nil {
		panic("async: ParallelMap called with a nil sequence")
	}
	if fn == nil {
		panic("async: ParallelMap called with a nil function")
	}
	if workers < 1 {
		panic("async: ParallelMap workers must be at least 1")
	}
	return func(yield func(U, error) bool) {
		m := &mapper[T, U]{fn: fn}
		m.ctx, m.cancel = context.WithCancel(ctx)
		window := 2 * workers
		// order carries each item's promise in input order; the feeder
		// holds one more while it waits to send, so the buffer is window-1.
		order := make(chan *future.Promise[U], window-1)
		m.jobs = make(chan mapJob[T, U])
		m.wg.Go(func() { m.feed(seq, order) })
		for range workers {
			m.wg.Add(1)
			go m.work()
		}
		defer func() {
			m.cancel()
			m.wg.Wait()
		}()
		var zero U
		for {
			if ctx.Err() != nil {
				yield(zero, context.Cause(ctx))
				return
			}
			var p *future.Promise[U]
			var ok bool
			select {
			case p, ok = <-order:
			case <-ctx.Done():
				continue
			}
			if !ok {
				return
			}
			v, err := p.Future().Await(ctx)
			if ctx.Err() != nil {
				continue
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// mapper is the shared state of one range over a ParallelMap sequence.
type mapper[T, U any] struct {
	ctx    context.Context // cancelled when the consumer's loop ends
	cancel context.CancelFunc
	fn     func(context.Context, T) (U, error)
	jobs   chan mapJob[T, U]
	wg     sync.WaitGroup // the feeder and the workers
}

type mapJob[T, U any] struct {
	v T
	p *future.Promise[U]
}

// feed reads seq, queueing one promise per item in order and handing the
// item to the workers.
func (m *mapper[T, U]) feed(seq iter.Seq2[T, error], order chan<- *future.Promise[U]) {
	defer close(order)
	defer close(m.jobs)
	enqueue := func(p *future.Promise[U]) bool {
		select {
		case order <- p:
			return true
		case <-m.ctx.Done():
			return false
		}
	}
	normal := false
	defer func() {
		if !normal {
			p := new(future.Promise[U])
			p.Reject(recovered(recover()))
			enqueue(p)
		}
	}()
	for v, err := range seq {
		p := new(future.Promise[U])
		if !enqueue(p) {
			break
		}
		if err != nil {
			p.Reject(err)
			continue
		}
		select {
		case m.jobs <- mapJob[T, U]{v, p}:
		case <-m.ctx.Done():
		}
		if m.ctx.Err() != nil {
			break
		}
	}
	normal = true
}

// work runs jobs until the feeder closes the channel.
func (m *mapper[T, U]) work() {
	var cur *future.Promise[U]
	clean := false
	defer func() {
		if !clean {
			// fn called runtime.Goexit, which ends this goroutine:
			// settle its item and let a new worker take over.
			cur.Reject(future.ErrGoexit)
			m.wg.Add(1)
			go m.work()
		}
		m.wg.Done()
	}()
	for j := range m.jobs {
		cur = j.p
		m.call(j)
	}
	clean = true
}

// call runs fn on one item and settles its promise, with a
// *future.PanicError if fn panics.
func (m *mapper[T, U]) call(j mapJob[T, U]) {
	defer func() {
		if r := recover(); r != nil {
			j.p.Reject(future.NewPanicError(r))
		}
	}()
	j.p.Settle(m.fn(m.ctx, j.v))
}
