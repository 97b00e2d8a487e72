// Package sim is a simulated GPU in pure Go: a [cuda.Device] that behaves like
// CUDA wherever a program could tell the difference, for machines without a
// GPU. It passes the conformance suite in package cuda/cudatest.
//
// # Execution
//
// Each [Stream] runs its operations in submission order on its own
// goroutine, owned by the [Device]; operations on different streams run
// concurrently. Submitting takes a mutex, appends to the stream's queue and
// wakes the goroutine; there is no goroutine per operation. An event
// recording marks a point in its stream and is done when the stream's
// goroutine reaches it; [Stream.WaitEvent] makes a stream's goroutine wait for
// that point, which orders work across streams exactly as in CUDA. Stream
// goroutines block only on channels and timers, so under testing/synctest
// they are durably blocked when idle. [Stream.NotifyCompletions] signals a
// channel at each completion, so that a scheduler can block until the next
// one instead of sleeping (which would let the fake clock run past it).
//
// Copies move real bytes between pinned host buffers and simulated device
// memory (Go memory). Every copy, memset and kernel pointer argument is
// checked against its allocation when it is submitted; an out-of-range
// access is an error matching cuda.ErrInvalidValue, never a panic or silent
// corruption. Device pointers are addresses in a per-device range and are
// never reused, so freed and foreign pointers are always recognised: a
// pointer, host buffer, event or kernel of another device is refused with
// an error matching cuda.ErrForeign. A copy may use a busy host buffer when
// the stream order makes it wait for the copies that hold it (see
// cuda.HostBuffer).
//
// Kernels are Go functions registered under a module and name with their
// parameter list and a cost function ([KernelDef], [Device.RegisterKernel]);
// every device has the kernels of [BuiltinModule], the Go bodies of package
// cuda/kernels, whose cost is their roofline ([Timing.KernelTime]). A kernel that returns an
// error or panics is a fault, as on a GPU: the device becomes lost.
//
// # Timing model
//
// Every operation gets a modeled start and end time, computed when it is
// submitted, in submission order, so the timeline is deterministic:
//
//   - ready = max(end of the stream's previous operation, host time +
//     LaunchLatency); a WaitEvent also waits for the event's timestamp.
//     The host time is zero in [Instant] mode, so there timestamps do not
//     depend on how fast the host submits.
//   - A host-to-device copy of n bytes takes n/HtoD seconds on the HtoD copy
//     engine, a device-to-host copy n/DtoH on the DtoH engine (the same
//     engine when CopyEngines is 1). An engine runs one copy at a time; a copy
//     takes the earliest free gap at or after its ready time.
//   - Device-to-device copies (2n/Memory), memsets (n/Memory) and kernels
//     (their cost function; for built-in kernels the larger of bytes/Memory
//     and FLOPs/Compute) use no copy engine and do not slow each other:
//     the model has no SM or memory-bandwidth contention.
//   - Recording an event takes no time; its timestamp is the end of the
//     stream's previous operation (or its ready time if the stream is idle).
//   - [Device.SlowStream] multiplies the durations of a stream's later
//     operations.
//
// [Device.ElapsedTime] returns differences of these timestamps. In [Modeled]
// mode each stream also sleeps until its operations' modeled start and end
// times, so the host sees the modeled durations: exactly, and instantly,
// under testing/synctest; in real time outside it. In [Instant] mode nothing
// waits, which keeps plain tests fast while timestamps stay those of the
// model.
//
// # Faults
//
// [Device.InjectFault] fails the Nth operation of a kind, either by refusing
// the call or, with Sticky, by making the device lost when the operation
// runs. [Device.Lose] makes the device lost at once. A lost device fails
// every pending and later operation with the same error, which matches
// cuda.ErrDeviceLost and wraps the cause. [Device.SlowStream] slows one
// stream.
//
// # Close
//
// [Device.Close] abandons pending work rather than draining it: an
// operation already running completes (a running kernel cannot be
// interrupted), operations not yet started never run, and everything
// waiting for them gets an error matching cuda.ErrClosed. Close returns once
// every stream goroutine has exited. The zero Device is not usable; create
// devices with [New].
package sim
