// Package async provides coroutine-style tasks on top of package future:
// spawned tasks whose results are futures ([Go], [Spawn]), structured
// concurrency ([Scope]: no task outlives its scope, and the first error
// cancels the others), generators (the co_yield side: [Generate] and
// [Generator]), and pipelines with bounded work in flight ([Prefetch] and
// an ordered parallel [ParallelMap]).
//
// # Goroutines
//
// Every goroutine this package starts has an owner that can wait for it:
// a task started by [Go] belongs to its future and ends when its function
// returns; a task of a [Scope] ends before [Scope.Wait] returns; the
// goroutines behind [Prefetch] and [ParallelMap] end before the loop that consumes
// them finishes, including when the consumer breaks out early.
//
// # Cancellation
//
// Contexts flow into task functions as their first argument. Cancelling a
// context never abandons a goroutine: it asks the task to return, and the
// owner still waits for it. Awaiting a future with a done context returns at
// once (see package future) without cancelling the task.
//
// # Panics
//
// A panic in a task function is recovered and becomes the task's error, a
// *future.PanicError carrying the value and stack; a runtime.Goexit becomes
// future.ErrGoexit. See package future for the reasons.
//
// # Misuse
//
// A nil function, a nil Context, a nil sequence, a depth or worker count
// that is zero or negative, or a limit of zero is a programmer error and
// panics with a message that starts with "async:". A negative limit is not
// an error: as in errgroup, it means no limit (see [Scope.SetLimit]).
//
// # Names
//
// [ParallelMap] is not called Map, because future.Map is a continuation
// (it maps one future's value); ParallelMap runs a function over a whole
// sequence on several goroutines and yields the results in order.
// [Scope] uses errgroup's names and keeps their meaning: [Scope.Go] and
// [Scope.TryGo] start a task, TryGo only if it can run at once, and
// [Scope.SetLimit] with a negative n means no limit. Where Scope differs,
// its docs say so: with a limit, Go queues up to the limit's worth of
// tasks before it blocks, where errgroup's blocks at once.
package async
