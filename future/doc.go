// Package future provides typed futures: a [Future] is the read side of a
// value that will be ready later, and a [Promise] is its write side. It is the
// co_await of coawait: start an operation, get a *Future[T], keep working,
// and call [Future.Await] where the result is needed.
//
//	f, p := future.New[int]()
//	go func() { p.Resolve(42) }()
//	v, err := f.Await(ctx) // 42, nil
//
// # Settling
//
// A future settles exactly once, with a value or an error. The first call to
// [Promise.Resolve], [Promise.Reject] or [Promise.Settle] wins and returns
// true; every later call returns false and changes nothing. Readers never
// see a half-written result: the value and error are written once before the
// future is marked done and are only read after.
//
// # Awaiting
//
// [Future.Await] blocks until the future settles or ctx is done. A done ctx
// makes Await return ctx.Err() at once; it does not cancel the producer (a
// GPU operation cannot be recalled once enqueued): cancel work through the
// producer's own context, for example its async.Scope. Awaiting a future
// that has already settled takes no lock and allocates nothing.
//
// The first goroutine to wait on a pending future with a context that can
// never be done (context.Background()) parks on the future itself, with
// no allocation, through the Go runtime's own gopark and goready, as a
// channel receive does: a settle wakes it faster than a channel hand-off.
// For testing/synctest it is durably blocked, goroutine dumps show it as
// [sync.Cond.Wait] and execution traces as a sync.(*Cond).Wait block, but
// the block profile (runtime.SetBlockProfileRate) does not record it:
// timing every park for a profile that is usually off would cost more
// than the park. Builds with the race detector or a sanitizer, with the
// build tag coawait_nolinkname, or with a Go release newer than the ones
// this version was checked against park on a sync.Cond instead, which the
// block profile records, at a little more than the cost of a channel
// hand-off (BenchmarkResolveWake in the benchmark report,
// docs/benchmarks.md). Other waiters wait on the future's Done channel.
//
// # Continuations and where they run
//
// [Future.OnDone], [Then], [Map], [Handle], [FlatMap] and the combinators
// ([All], [AllSettled], [Any], [Race], [Join]) attach continuations. A
// continuation runs on the goroutine that settles its source, right after the
// settlement, or on the registering goroutine if the source has already
// settled. No goroutine is started per link. Continuations must therefore be
// short and must not block; start a task (async.Go) for anything longer.
// Chains are trampolined: settling the head of a chain of a million Then
// links runs them one after another in a loop, without growing the stack.
//
// # Panics
//
// A panic in a function that coawait calls on your behalf and whose result
// it delivers through a future (the fn of [Then], [Map], [Handle], [FlatMap],
// and the task functions of package async) is recovered and settles that
// future with a *[PanicError] carrying the panic value and the stack of the
// panicking goroutine. Await returns it as the error. The reasons: the
// panicking goroutine is usually not the one that can handle the failure (it
// may be the goroutine that settled an unrelated future, or a device event
// loop), so re-panicking there would crash the process far from the code
// that awaits; and re-panicking inside Await (as conc's Catcher does in
// Wait; x/sync's errgroup, as of v0.25, does not propagate panics at all,
// and its comment in Group.Go gives its reasons) would make every Await a
// potential panic site and would lose the panic entirely if nobody awaits. An error cannot be lost silently by the
// combinators either: [All] fails with it, [AllSettled] records it. Use
// errors.As(err, &pe) to find it; [PanicError.Unwrap] returns the panic value
// when it is an error (for example a runtime.Error).
//
// A panic in an [Future.OnDone] callback is not recovered, because it has no
// future to go to: it propagates on the settling goroutine, as a panic in a
// context.AfterFunc callback does, after the other callbacks of the same
// settlement have run (so no other future is left unsettled).
//
// A task function that calls runtime.Goexit (for example t.FailNow in a test)
// settles its future with [ErrGoexit] rather than leaving it pending forever.
//
// # Misuse
//
// Programmer errors that cannot be meaningful at run time — a nil function,
// a nil future passed to a combinator, a nil Context, rejecting with a nil
// error, using the zero Promise — panic with a message that starts with
// "future:". Conditions that can happen in a correct program are errors.
package future
