//go:build cuda

package cuda

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/coawait/coawait/cuda/internal/order"
	"gorgonia.org/cu"
)

// Open opens the GPU with the given ordinal (0 for the first) through the
// CUDA driver, on the device's primary context (the one the CUDA runtime
// and libraries such as cuBLAS share), and returns it as a [Device]. An
// ordinal that does not exist is an error matching [ErrNoDevice].
//
// This build links gorgonia.org/cu, whose package initialisation calls
// cuInit and exits the process when no driver or GPU is present: a binary
// built with -tags cuda runs only on a host with the NVIDIA driver.
//
// The device's kernels are those of the modules registered by package
// cuda/kernels (loaded from their PTX when first looked up) and those
// loaded with [ModuleLoader.LoadModule]. Its streams implement
// [HostFuncLauncher]. Every call makes the context current on the calling
// thread for the duration of the call; no goroutine is locked to a thread
// between calls, and the device starts no goroutine of its own except one
// per host function while it runs.
//
// Close waits for all submitted work to finish (as the driver must before
// handles go), then frees everything the device allocated.
//
// Host buffers are C memory from cuMemHostAlloc. Unlike the simulator's,
// whose memory the garbage collector keeps alive, slices obtained from a
// buffer must not be used after FreeHost or Close: the memory goes back to
// the driver.
func Open(ordinal int) (Device, error) {
	const op = "Open"
	n, err := cu.NumDevices()
	if err != nil {
		return nil, &Error{Op: op, Detail: "counting GPUs", Err: ErrNoDevice, Cause: driverError(resultCode(err))}
	}
	if ordinal < 0 || ordinal >= n {
		return nil, errorf(op, ErrNoDevice, "no GPU with ordinal %d (this host has %d)", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, openError(op, ordinal, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, openError(op, ordinal, err)
	}
	d := &gpuDevice{
		ordinal: ordinal,
		dev:     dev,
		ctx:     ctx,
		g:       newGuard(),
		hosts:   make(map[*HostBuffer]unsafe.Pointer),
		streams: make(map[*gpuStream]struct{}),
		events:  make(map[*gpuEvent]struct{}),
		modules: make(map[string]*gpuModule),
		kernels: make(map[[2]string]*gpuKernel),
	}
	if d.props, err = d.queryProperties(); err != nil {
		_ = dev.ReleasePrimaryCtx()
		return nil, openError(op, ordinal, err)
	}
	d.allocs.register()
	return d, nil
}

func openError(op string, ordinal int, err error) error {
	code := resultCode(err)
	return &Error{Op: op, Detail: fmt.Sprintf("GPU %d", ordinal), Err: sentinelFor(code), Cause: driverError(code)}
}

// DeviceCount returns the number of GPUs the driver sees.
func DeviceCount() (int, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return 0, &Error{Op: "DeviceCount", Err: ErrNoDevice, Cause: driverError(resultCode(err))}
	}
	return n, nil
}

// gpuDevice is the real backend's Device.
type gpuDevice struct {
	ordinal int          // written once by Open
	dev     cu.Device    // written once by Open
	ctx     cu.CUContext // the primary context; written once by Open
	props   Properties   // written once by Open
	g       guard        // calls in progress; closed by Close
	lost    atomic.Pointer[Error]
	allocs  allocTable
	cbs     sync.WaitGroup // host functions enqueued and not yet returned

	mu      sync.Mutex
	hosts   map[*HostBuffer]unsafe.Pointer // guarded by mu: live pinned buffers
	streams map[*gpuStream]struct{}        // guarded by mu: live streams, and closed ones still holding host buffers
	events  map[*gpuEvent]struct{}         // guarded by mu: live events
	modules map[string]*gpuModule          // guarded by mu
	kernels map[[2]string]*gpuKernel       // guarded by mu: by module and name
}

var (
	_ Device       = (*gpuDevice)(nil)
	_ ModuleLoader = (*gpuDevice)(nil)
)

func (d *gpuDevice) queryProperties() (Properties, error) {
	var p Properties
	var err error
	if p.Name, err = d.dev.Name(); err != nil {
		return p, err
	}
	if p.TotalMemory, err = d.dev.TotalMem(); err != nil {
		return p, err
	}
	attrs := []struct {
		a cu.DeviceAttribute
		v *int
	}{
		{cu.ComputeCapabilityMajor, &p.Capability.Major}, {cu.ComputeCapabilityMinor, &p.Capability.Minor},
		{cu.AsyncEngineCount, &p.CopyEngines}, {cu.MultiprocessorCount, &p.Multiprocessors},
		{cu.MaxThreadsPerBlock, &p.MaxThreadsPerBlock}, {cu.MaxSharedMemoryPerBlock, &p.MaxSharedMemoryPerBlock},
		{cu.MaxBlockDimX, &p.MaxBlock.X}, {cu.MaxBlockDimY, &p.MaxBlock.Y}, {cu.MaxBlockDimZ, &p.MaxBlock.Z},
		{cu.MaxGridDimX, &p.MaxGrid.X}, {cu.MaxGridDimY, &p.MaxGrid.Y}, {cu.MaxGridDimZ, &p.MaxGrid.Z},
	}
	for _, a := range attrs {
		if *a.v, err = d.dev.Attribute(a.a); err != nil {
			return p, err
		}
	}
	p.TimingEvents = true
	err = d.call(func() error {
		var e error
		p.LeastPriority, p.GreatestPriority, e = cu.StreamPriorityRange()
		return e
	})
	return p, err
}

// Properties describes the GPU.
func (d *gpuDevice) Properties() Properties { return d.props }

// String names the device.
func (d *gpuDevice) String() string {
	return fmt.Sprintf("cuda.Device(%d: %s)", d.ordinal, d.props.Name)
}

func (d *gpuDevice) closedError(op string) error {
	return &Error{Op: op, Detail: "device is closed", Err: ErrClosed}
}

// enter starts a call on the device: it fails once the device is closed or
// lost. A successful enter must be paired with d.g.exit().
func (d *gpuDevice) enter(op string) error {
	if !d.g.enter() {
		return d.closedError(op)
	}
	if e := d.lost.Load(); e != nil {
		d.g.exit()
		return e
	}
	return nil
}

// fail turns an error of gorgonia.org/cu into the backend's error for op.
func (d *gpuDevice) fail(op string, err error) error { return d.failCode(op, resultCode(err)) }

// failCode turns a CUresult into the backend's error for op. A sticky code
// loses the device: this and every later call return the same error.
func (d *gpuDevice) failCode(op string, code int) error {
	de := driverError(code)
	if isStickyCode(code) {
		e := &Error{Op: op, Detail: "the GPU context failed; every later call fails the same way " +
			"(the process must restart to use the GPU again)", Err: ErrDeviceLost, Cause: de}
		d.lost.CompareAndSwap(nil, e)
		return d.lost.Load()
	}
	if e := d.lost.Load(); e != nil {
		return e
	}
	return &Error{Op: op, Err: sentinelFor(code), Cause: de}
}

// NewStream creates a stream that does not synchronize with the legacy
// default stream.
func (d *gpuDevice) NewStream(priority int) (Stream, error) {
	const op = "NewStream"
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.g.exit()
	prio := d.props.ClampPriority(priority)
	var st cu.Stream
	err := d.call(func() error {
		var e error
		st, e = cu.MakeStreamWithPriority(prio, cu.NonBlocking)
		return e
	})
	if err != nil {
		return nil, d.fail(op, err)
	}
	s := &gpuStream{d: d, st: st, prio: prio, g: newGuard(), order: order.NewQueue()}
	d.mu.Lock()
	d.streams[s] = struct{}{}
	d.mu.Unlock()
	return s, nil
}

// NewEvent creates an event with blocking synchronization, so that
// Event.Synchronize (the scheduler's Blocking policy) sleeps in the driver
// instead of spinning; Query is unaffected.
func (d *gpuDevice) NewEvent(flags EventFlags) (Event, error) {
	const op = "NewEvent"
	if flags&^EventDisableTiming != 0 {
		return nil, errorf(op, ErrInvalidValue, "unknown event flags %#x", uint32(flags&^EventDisableTiming))
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.g.exit()
	cf := cu.BlockingSyncEvent
	if flags&EventDisableTiming != 0 {
		cf |= cu.DisableTiming
	}
	var ev cu.Event
	err := d.call(func() error {
		var e error
		ev, e = cu.MakeEvent(cf)
		return e
	})
	if err != nil {
		return nil, d.fail(op, err)
	}
	e := &gpuEvent{d: d, ev: ev, timing: flags&EventDisableTiming == 0, g: newGuard()}
	d.mu.Lock()
	d.events[e] = struct{}{}
	d.mu.Unlock()
	return e, nil
}

// Synchronize waits until all work submitted to the device is done.
func (d *gpuDevice) Synchronize() error {
	const op = "Synchronize"
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.g.exit()
	marks := d.streamMarks()
	if err := d.call(cu.Synchronize); err != nil {
		return d.fail(op, err)
	}
	for s, seq := range marks {
		s.retire(seq)
	}
	d.dropRetired()
	return nil
}

// streamMarks returns each stream and its count of ordered operations now.
func (d *gpuDevice) streamMarks() map[*gpuStream]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[*gpuStream]uint64, len(d.streams))
	for s := range d.streams {
		m[s] = s.mark()
	}
	return m
}

// dropRetired forgets closed streams that no longer hold host buffers.
func (d *gpuDevice) dropRetired() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for s := range d.streams {
		if s.g.closed() && s.nuses.Load() == 0 {
			delete(d.streams, s)
		}
	}
}

// Close waits for all submitted work, then destroys every stream, event and
// module and frees all memory of the device; host buffers become unusable
// (ErrClosed). Calls in progress on other goroutines finish first; later
// calls fail with ErrClosed. On a lost device Close still frees what it
// can and returns nil; host functions the driver never called are not
// waited for.
func (d *gpuDevice) Close() error {
	if !d.g.close() {
		return d.closedError("Close")
	}
	_ = d.call(cu.Synchronize) // a sticky error still lets us tear down
	d.g.wait()
	lost := d.lost.Load() != nil
	if !lost {
		// The synchronize ran every host function; this waits for their
		// Go side. A lost context may never call pending ones.
		d.cbs.Wait()
	}
	d.mu.Lock()
	hosts, streams, events, modules := d.hosts, d.streams, d.events, d.modules
	d.hosts, d.streams, d.events, d.modules, d.kernels = nil, nil, nil, nil, nil
	d.mu.Unlock()
	_ = d.call(func() error {
		for s := range streams {
			s.releaseAll()
			if s.g.close() {
				_ = s.st.Destroy()
			}
		}
		for e := range events {
			if e.g.close() {
				_ = cu.DestroyEvent(&e.ev)
			}
		}
		for _, m := range modules {
			_ = m.mod.Unload()
		}
		d.allocs.unregister()
		for _, p := range d.allocs.takeAll() {
			_ = cu.MemFree(cu.DevicePtr(p))
		}
		return nil
	})
	for b, p := range hosts {
		b.invalidate()
		d.hostFree(p)
	}
	if err := d.dev.ReleasePrimaryCtx(); err != nil && !lost {
		return d.fail("Close", err)
	}
	return nil
}
