// Package cuda is coawait's backend-neutral device model: a [Device] with
// streams, events, device memory, pinned host memory and kernels, in the shape
// of the CUDA driver API.
//
// Two backends implement [Device]:
//
//   - the real driver, built with -tags cuda: [Open] returns GPU n through
//     the CUDA driver API (on gorgonia.org/cu v0.9.6, with a small cgo
//     helper for what that binding lacks). In the default build [Open]
//     returns [ErrNotBuilt], and nothing links gorgonia.org/cu;
//   - the pure-Go simulated GPU in package cuda/sim, which obeys the same
//     contract and is what tests and demos use on machines without a GPU.
//
// The package cuda/cudatest holds the one conformance suite both must pass.
//
// # Building for a GPU
//
// The cuda build tag needs cgo, the CUDA 11.8 driver header cuda.h and a
// libcuda.so to link against (scripts/cuda-toolchain fetches both, the
// stub library included, without a GPU, and prints the CGO_CFLAGS and
// CGO_LDFLAGS to use). Such a binary loads libcuda.so.1 when it starts, and
// gorgonia.org/cu's package initialisation calls cuInit and exits the
// process (status 1) where no driver or GPU is present: build with the tag
// anywhere, but run it only on a host with the NVIDIA driver.
// scripts/gpu-check builds and runs the GPU tests and benchmarks there.
//
// On the GPU, work runs on the device's primary context; every call makes
// it current on the calling thread for the call's duration, so no
// goroutine stays locked to a thread. Kernels come from PTX: the built-in
// ones of package cuda/kernels (loaded when first looked up) and a
// program's own through the optional [ModuleLoader] interface. Driver
// errors wrap a [DriverError] with the CUresult. A fault in a kernel
// (illegal address, trap) poisons the context for the life of the
// process: the device is lost ([ErrDeviceLost]) and stays lost.
//
// # Model
//
// Work is submitted to a [Stream] from the caller's goroutine and returns at
// once; a stream runs its operations in submission order, and operations on
// different streams may run concurrently. An [Event] recorded on a stream
// marks a point in it: it is done when all work submitted to that stream
// before the record is done. [Stream.WaitEvent] orders work across streams on
// the device, without a host round trip. [Event.Query] never blocks, so a
// scheduler can poll events from one loop.
//
// Validation errors (bad sizes, offsets, pointers, kernel arguments, launch
// configurations) are returned by the submitting call, which then enqueues
// nothing. Failures while work runs are sticky, as on a GPU: the device is
// lost, and every pending and later operation fails with the same error,
// which matches [ErrDeviceLost] and wraps the cause.
//
// # Errors
//
// Every error a backend returns is an [*Error] that names the operation and
// matches one of the sentinel errors with [errors.Is]: [ErrNoDevice],
// [ErrNotBuilt], [ErrInvalidValue], [ErrOutOfMemory], [ErrDeviceLost],
// [ErrClosed], [ErrBufferBusy], [ErrForeign], [ErrNotFound] or [ErrNotReady].
// For example:
//
//	cuda: CopyHtoD: offset 10 + size 100 exceeds device allocation of 64 bytes: invalid value
//
// Misuse that a type system would catch (a nil Device passed to a pool
// constructor) panics with a "cuda: " prefix; everything that can happen at
// run time is an error.
//
// # Host buffers
//
// A [HostBuffer] is pinned host memory. A buffer handed to an asynchronous
// copy belongs to the device until that copy is done: meanwhile its views,
// [Device.FreeHost] and pool Put return [ErrBufferBusy], and so does a copy
// that overlaps it where either writes, unless the device orders it after
// that copy (same stream, or a [Stream.WaitEvent] for an event recorded
// after it, directly or through other streams). This turns a would-be
// silent data race into an error, and lets a correct program reuse a
// buffer without the host waiting.
//
// # Pools
//
// [HostPool] recycles pinned host buffers, and [MemPool] is a stream-ordered
// device memory pool; both work with any Device.
package cuda
