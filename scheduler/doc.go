// Package scheduler is coawait's event loop: it turns device work — copies,
// memsets, kernel launches, allocations — into futures. It is the co_await
// of GPU code:
//
//	s, _ := scheduler.New(dev)
//	in := s.CopyHtoD(x, 0, batch, 0, n)                       // *Op, returns at once
//	k := s.Launch(saxpy, cfg, args, scheduler.After(in))     // waits for in on the GPU
//	out := s.CopyDtoH(result, 0, y, 0, n, scheduler.After(k))
//	buf, err := out.Await(ctx)                               // the host waits here only
//
// # How it works
//
// An operation is submitted from the calling goroutine: the scheduler
// enqueues it on a stream, records an event after it and appends it to that
// stream's queue of pending operations; there is no hand-off to another
// goroutine per operation (a round trip to a goroutine locked to an OS
// thread costs tens of microseconds). One loop goroutine per scheduler
// watches the oldest pending operation of each stream — a stream completes
// in order — and settles each operation's future when its event is done.
//
// Dependencies between device operations need no host round trip: [After]
// with another operation of the same scheduler makes the new operation's
// stream wait for that operation's event on the device. [After] with any
// other future (for example a batch that a loader is still reading) defers
// the submission until that future settles; so does an operation that is
// itself still waiting for such a future, since it has no event yet. An
// operation whose dependency failed fails with that error and is not
// submitted.
//
// Default streams: host-to-device copies go to a copy-in stream, kernels,
// memsets and device-to-device copies to a compute stream, device-to-host
// copies to a copy-out stream; [OnStream] picks another.
//
// # Completion policies
//
// See [Policy]. The loop never runs user code: it settles futures with
// future.Promise.SettleDeferred, which wakes goroutines blocked in Await,
// and hands the continuations attached to them (OnDone, Then, ...) to a
// dispatcher goroutine of the scheduler, so a slow continuation can never
// delay the detection of GPU completions.
//
// # Cost
//
// Submitting runs on the caller's goroutine: no channel send and no thread
// switch per operation. It allocates the Op (176 bytes for most kinds),
// and with the device call costs about 1.3× calling the device directly
// on the simulator (benchmarks.BenchmarkSubmit); on a device that does
// nothing, the scheduler's own cost is about 150ns an operation
// (BenchmarkSubmitOverhead). The loop is an ordinary goroutine: while
// thousands of other goroutines are runnable at once (say, just started),
// it waits its turn like them, and completions in that time are noticed
// up to milliseconds late (BenchmarkOps10k's p99); once they have run,
// completions are noticed within microseconds again.
//
// # Errors
//
// An operation's error names the operation and wraps the device error, so
// errors.Is(err, cuda.ErrDeviceLost) and similar checks work. A sticky
// device error fails every pending and later operation with the same cause.
// Awaiting with a done context returns at once; the device work still
// completes and the scheduler releases its resources afterwards.
//
// # Goroutines
//
// A Scheduler owns two goroutines, the loop and the dispatcher; [Close]
// ends both. Close drains: it refuses new work, waits until every
// submitted operation has settled (completed or failed), runs the last
// continuations, and releases the scheduler's streams and events.
package scheduler
