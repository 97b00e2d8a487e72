package cuda

import (
	"fmt"
	"time"
)

// Device is one GPU (or a simulation of one). Its methods are safe for
// concurrent use. Implementations: the simulated device in package cuda/sim
// and, with -tags cuda, the real driver returned by [Open].
//
// After Close, every method of the device and of its streams, events and
// host buffers returns an error matching [ErrClosed]. After a sticky failure
// every method returns the same error, matching [ErrDeviceLost].
type Device interface {
	// Properties describes the device. It works even after Close.
	Properties() Properties

	// NewStream creates a stream. Lower numbers are higher priority, as in
	// CUDA; the value is clamped to the device's priority range.
	NewStream(priority int) (Stream, error)
	// NewEvent creates an event. An event that was never recorded is done.
	NewEvent(flags EventFlags) (Event, error)

	// Alloc allocates size bytes of device memory (size > 0). The pointer
	// is aligned to at least 256 bytes.
	Alloc(size int) (DevicePtr, error)
	// Free frees memory returned by Alloc. Work already submitted that uses
	// the memory still completes; later use of the pointer is an error.
	Free(p DevicePtr) error

	// AllocHost allocates size bytes of pinned host memory (size > 0),
	// aligned to at least 64 bytes.
	AllocHost(size int) (*HostBuffer, error)
	// FreeHost frees a buffer returned by AllocHost. It returns an error
	// matching ErrBufferBusy while a copy uses the buffer.
	FreeHost(b *HostBuffer) error

	// Kernel looks up a kernel by module and name. An unknown kernel is an
	// error matching ErrNotFound.
	Kernel(module, name string) (Kernel, error)

	// ElapsedTime returns the time between two completed events, which may
	// be recorded on different streams of this device. It is an error
	// matching ErrNotReady if either is not done yet, and ErrInvalidValue
	// if either was never recorded or was created with EventDisableTiming.
	ElapsedTime(start, end Event) (time.Duration, error)

	// Synchronize waits until all work submitted to the device so far is
	// done, and reports a sticky failure.
	Synchronize() error

	// Close releases the device. See the backend's documentation for what
	// happens to pending work; in every backend, once Close returns, no
	// goroutine of the device is left and every call fails with ErrClosed.
	// Closing twice returns an error matching ErrClosed.
	Close() error
}

// Stream is an in-order queue of device work. Every method returns as soon
// as the work is enqueued (except Synchronize); an error means nothing was
// enqueued. Methods are safe for concurrent use, but the order of work
// submitted concurrently from several goroutines is the order the calls took
// effect.
type Stream interface {
	// Device is the device that made the stream.
	Device() Device
	// Priority is the stream's priority after clamping.
	Priority() int

	// CopyHtoD copies n bytes from src[srcOff:] to dst+dstOff. The bytes
	// it reads are busy (see HostBuffer) until the copy is done: a copy
	// that writes them fails with ErrBufferBusy unless it is ordered after
	// this one (on this stream, or on a stream that waited for an event
	// recorded after it, directly or through other streams).
	CopyHtoD(dst DevicePtr, dstOff int, src *HostBuffer, srcOff, n int) error
	// CopyDtoH copies n bytes from src+srcOff to dst[dstOff:]. The bytes it
	// writes are busy until the copy is done: a copy that uses them fails
	// with ErrBufferBusy unless it is ordered after this one, as for
	// CopyHtoD.
	CopyDtoH(dst *HostBuffer, dstOff int, src DevicePtr, srcOff, n int) error
	// CopyDtoD copies n bytes between device allocations. Overlapping
	// ranges give undefined contents, as in CUDA, but never corrupt memory
	// outside the two ranges.
	CopyDtoD(dst DevicePtr, dstOff int, src DevicePtr, srcOff, n int) error
	// Memset sets n bytes at dst+off to value.
	Memset(dst DevicePtr, off, n int, value byte) error
	// Launch launches kernel k. The arguments are checked against the
	// kernel's parameter list and the configuration against the device's
	// limits before anything is enqueued.
	Launch(k Kernel, cfg LaunchConfig, args ...Arg) error

	// RecordEvent makes e mark the current end of the stream: e is done when
	// all work submitted to the stream before this call is done. Recording
	// an event again moves the mark.
	RecordEvent(e Event) error
	// WaitEvent makes all work submitted to this stream after the call wait
	// until e, as recorded at the time of the call, is done: that work is
	// then ordered after everything e's recording was ordered after, which
	// the busy rule of host buffers follows. Waiting for an event that was
	// never recorded does nothing.
	WaitEvent(e Event) error

	// Synchronize waits until all work submitted to the stream so far is
	// done, and reports a sticky failure or closing of the device.
	Synchronize() error
	// Close destroys the stream: work already submitted still runs, later
	// submissions fail with ErrClosed.
	Close() error
}

// Event marks a point in a stream; see [Stream.RecordEvent].
type Event interface {
	// Query reports whether the event is done. It never blocks. A non-nil
	// error (sticky failure, closed device or event) means the marked work
	// will never complete normally; done is then false.
	Query() (done bool, err error)
	// Synchronize blocks until the event is done, or returns the error that
	// means it never will be.
	Synchronize() error
	// Close destroys the event. Streams already waiting for it are not
	// affected.
	Close() error
}

// Kernel is a device function that a [Stream] can launch. Kernels are looked
// up with [Device.Kernel] and belong to that device.
type Kernel interface {
	// Spec is the kernel's module, name and parameter list.
	Spec() KernelSpec
}

// HostFuncLauncher is an optional interface of a [Stream]: backends whose
// driver can call back into the host implement it (the simulator does, and
// so does the CUDA backend, through cuStreamAddCallback), and callers check
// with a type assertion.
type HostFuncLauncher interface {
	// LaunchHostFunc enqueues fn. fn runs exactly once, on a goroutine
	// owned by the device: with a nil error after all work submitted to the
	// stream before it is done, or with the error that means that work will
	// never complete (sticky failure, device closed). Work submitted after
	// fn waits until fn returns. fn must not block for long and must not
	// call Synchronize on the device or its streams or events.
	LaunchHostFunc(fn func(err error)) error
}

// CompletionTimer is an optional interface of an [Event]: backends that
// know when the device reached an event (the simulator does) implement it,
// and callers check with a type assertion. A scheduler uses it to measure
// how long it took to notice a completion.
type CompletionTimer interface {
	// CompletedAt returns the wall-clock time at which the device reached
	// the event, and true, once the event is done; false before that, for
	// an event that was never recorded, or for one whose work failed.
	CompletedAt() (time.Time, bool)
}

// DevicePtr is a device memory address, as CUdeviceptr in the driver API.
// The zero value is the null pointer. A pointer may point inside an
// allocation; operations then work relative to it.
type DevicePtr uintptr

// Add returns p advanced by off bytes.
func (p DevicePtr) Add(off int) DevicePtr { return p + DevicePtr(off) }

// String formats p in hexadecimal.
func (p DevicePtr) String() string { return fmt.Sprintf("%#x", uintptr(p)) }

// EventFlags are options for [Device.NewEvent].
type EventFlags uint32

const (
	// EventDisableTiming makes an event cheaper to record and query; it
	// cannot be used with ElapsedTime.
	EventDisableTiming EventFlags = 1 << iota
)

// Capability is a compute capability, such as 9.0 for Hopper.
type Capability struct {
	Major, Minor int
}

// String formats the capability as "major.minor".
func (c Capability) String() string { return fmt.Sprintf("%d.%d", c.Major, c.Minor) }

// Properties describe a device. The zero value describes nothing; devices
// fill in every field.
type Properties struct {
	// Name is the device's marketing name, such as "NVIDIA H100 80GB HBM3".
	Name string
	// TotalMemory is the device memory in bytes.
	TotalMemory int64
	// Capability is the compute capability.
	Capability Capability
	// CopyEngines is the number of asynchronous copy engines (2 means a
	// host-to-device and a device-to-host copy can run at the same time).
	CopyEngines int
	// TimingEvents reports whether events can measure elapsed time.
	TimingEvents bool
	// Multiprocessors is the number of streaming multiprocessors.
	Multiprocessors int
	// MaxThreadsPerBlock bounds Block.X*Block.Y*Block.Z.
	MaxThreadsPerBlock int
	// MaxBlock bounds each block dimension.
	MaxBlock Dim3
	// MaxGrid bounds each grid dimension.
	MaxGrid Dim3
	// MaxSharedMemoryPerBlock bounds LaunchConfig.SharedMem, in bytes.
	MaxSharedMemoryPerBlock int
	// LeastPriority and GreatestPriority bound stream priorities; the
	// greatest priority is the lowest number, as in CUDA.
	LeastPriority, GreatestPriority int
}

// ClampPriority clamps a stream priority to the range in p.
func (p *Properties) ClampPriority(prio int) int {
	lo, hi := p.GreatestPriority, p.LeastPriority
	if lo > hi {
		lo, hi = hi, lo
	}
	return min(max(prio, lo), hi)
}

// Dim3 is a grid or block size. A zero component counts as 1, so
// Dim3{X: 256} is a one-dimensional size.
type Dim3 struct {
	X, Y, Z int
}

// Norm returns d with zero components replaced by 1.
func (d Dim3) Norm() Dim3 {
	if d.X == 0 {
		d.X = 1
	}
	if d.Y == 0 {
		d.Y = 1
	}
	if d.Z == 0 {
		d.Z = 1
	}
	return d
}

// Size returns X*Y*Z after Norm.
func (d Dim3) Size() int {
	d = d.Norm()
	return d.X * d.Y * d.Z
}

// LaunchConfig is a kernel launch's grid, block and dynamic shared memory.
type LaunchConfig struct {
	Grid, Block Dim3
	// SharedMem is the dynamic shared memory per block, in bytes.
	SharedMem int
}

// Linear returns a one-dimensional configuration with block threads per
// block and enough blocks to cover n elements (at least one), capped at the
// grid limit of p if p is not nil. Kernels written as grid-stride loops
// (all built-in kernels are) handle any n with any grid.
func Linear(n, block int, p *Properties) LaunchConfig {
	if block <= 0 {
		block = 256
	}
	grid := 1
	if n > 0 {
		grid = (n-1)/block + 1 // no overflow for large n
	}
	if p != nil && p.MaxGrid.X > 0 {
		grid = min(grid, p.MaxGrid.X)
	}
	return LaunchConfig{Grid: Dim3{X: grid}, Block: Dim3{X: block}}
}

// validate checks c against the limits in p and returns an [ErrInvalidValue]
// error naming op if it exceeds them.
func (c LaunchConfig) validate(op string, p *Properties) error {
	for _, d := range []struct {
		what string
		v    Dim3
		max  Dim3
	}{{"grid", c.Grid, p.MaxGrid}, {"block", c.Block, p.MaxBlock}} {
		if d.v.X < 0 || d.v.Y < 0 || d.v.Z < 0 {
			return errorf(op, ErrInvalidValue, "negative %s size %v", d.what, d.v)
		}
		n := d.v.Norm()
		if n.X > d.max.X || n.Y > d.max.Y || n.Z > d.max.Z {
			return errorf(op, ErrInvalidValue, "%s size %v exceeds the device limit %v", d.what, n, d.max)
		}
	}
	if t := c.Block.Size(); t > p.MaxThreadsPerBlock {
		return errorf(op, ErrInvalidValue, "%d threads per block exceed the device limit of %d", t, p.MaxThreadsPerBlock)
	}
	if c.SharedMem < 0 || c.SharedMem > p.MaxSharedMemoryPerBlock {
		return errorf(op, ErrInvalidValue, "shared memory of %d bytes per block is outside [0, %d]", c.SharedMem, p.MaxSharedMemoryPerBlock)
	}
	return nil
}
