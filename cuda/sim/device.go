package sim

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
)

// Compile-time checks that the simulator implements the device contract.
var (
	_ cuda.Device           = (*Device)(nil)
	_ cuda.Stream           = (*Stream)(nil)
	_ cuda.Event            = (*Event)(nil)
	_ cuda.Kernel           = (*Kernel)(nil)
	_ cuda.HostFuncLauncher = (*Stream)(nil)
)

// Config configures a simulated device. The zero value is a default H100
// PCIe model in [Instant] mode.
type Config struct {
	// Name is reported by Properties; empty means a name that says the
	// device is simulated.
	Name string
	// TotalMemory is the device memory in bytes; 0 means 80 GiB. The
	// simulator only uses Go memory for what is actually allocated.
	TotalMemory int64
	// Mode selects Instant (no modeled delay) or Modeled (wait for the
	// model's time).
	Mode TimeMode
	// Timing is the timing model; zero fields take DefaultTiming's values.
	Timing Timing
}

// Device is a simulated GPU. Create it with [New]; the zero value is not
// usable. All methods are safe for concurrent use.
//
// Each stream has one goroutine, owned by the device; [Device.Close] stops
// all of them and waits for them to exit.
type Device struct {
	cfg   Config          // written once by New
	props cuda.Properties // written once by New
	epoch time.Time       // written once by New: time zero of the model
	base  uintptr         // written once by New: start of the address range
	limit uintptr         // written once by New: end of the address range

	quit   chan struct{}              // closed by Close
	lostCh chan struct{}              // closed when the device is lost
	lost   atomic.Pointer[cuda.Error] // the sticky error; set once
	closed atomic.Bool                // set by Close
	wg     sync.WaitGroup             // stream goroutines

	// mu is written on every submission; keep it off the cache line of the
	// fields every event query reads (closed, lost), so that a scheduler
	// polling events does not slow down the goroutines submitting work.
	_        [64]byte
	mu       sync.Mutex
	isClosed bool                          // guarded by mu
	allocs   []*alloc                      // guarded by mu; sorted by base
	next     uintptr                       // guarded by mu: next free address
	used     int64                         // guarded by mu: allocated bytes
	hosts    map[*cuda.HostBuffer]struct{} // guarded by mu: live host buffers
	kernels  map[kernelKey]*Kernel         // guarded by mu
	streams  map[*Stream]struct{}          // guarded by mu: streams whose goroutine runs
	engines  [2]engine                     // guarded by mu: copy engines
	faults   []*faultState                 // guarded by mu
}

type alloc struct {
	base uintptr
	mem  []byte
}

type kernelKey struct{ module, name string }

// addressSpan is the size of each device's address range, 1<<44 bytes on a
// 64-bit platform; distinct devices get disjoint ranges, so a pointer from
// another device is recognised.
const addressSpan = uintptr(1) << (bits.UintSize - 20)

var deviceCount atomic.Uint64

// New returns a simulated device configured by cfg, with the built-in
// kernels (see [BuiltinModule]) registered. It panics, with a "sim: "
// prefix, if cfg is invalid (a negative size or bandwidth) or the platform
// is not 64-bit. Under testing/synctest, create the device inside the
// bubble that uses it.
func New(cfg Config) *Device {
	if bits.UintSize < 64 {
		panic("sim: the simulated device needs a 64-bit platform")
	}
	if cfg.TotalMemory < 0 {
		panic("sim: negative Config.TotalMemory")
	}
	if cfg.TotalMemory == 0 {
		cfg.TotalMemory = 80 << 30
	}
	if cfg.Name == "" {
		cfg.Name = "NVIDIA H100 PCIe (simulated)"
	}
	if cfg.Mode != Instant && cfg.Mode != Modeled {
		panic("sim: invalid Config.Mode")
	}
	cfg.Timing = cfg.Timing.withDefaults()
	id := deviceCount.Add(1) % (1 << 19)
	d := &Device{
		cfg: cfg,
		props: cuda.Properties{
			Name:                    cfg.Name,
			TotalMemory:             cfg.TotalMemory,
			Capability:              cuda.Capability{Major: 9, Minor: 0},
			CopyEngines:             cfg.Timing.CopyEngines,
			TimingEvents:            true,
			Multiprocessors:         114,
			MaxThreadsPerBlock:      1024,
			MaxBlock:                cuda.Dim3{X: 1024, Y: 1024, Z: 64},
			MaxGrid:                 cuda.Dim3{X: 1<<31 - 1, Y: 65535, Z: 65535},
			MaxSharedMemoryPerBlock: 48 << 10,
			LeastPriority:           0,
			GreatestPriority:        -5,
		},
		epoch:   time.Now(),
		base:    uintptr(id+1) * addressSpan,
		quit:    make(chan struct{}),
		lostCh:  make(chan struct{}),
		hosts:   make(map[*cuda.HostBuffer]struct{}),
		kernels: make(map[kernelKey]*Kernel),
		streams: make(map[*Stream]struct{}),
	}
	d.limit = d.base + addressSpan
	d.next = d.base + 1<<20 // keep small integers away from valid pointers
	for _, k := range d.builtins() {
		if err := d.RegisterKernel(k); err != nil {
			panic("sim: " + err.Error())
		}
	}
	return d
}

// Config returns the device's configuration, with defaults filled in.
func (d *Device) Config() Config { return d.cfg }

// Properties describes the simulated device.
func (d *Device) Properties() cuda.Properties { return d.props }

// hostNow is the host's submission time in the model: the time since the
// device was created in Modeled mode, and always zero in Instant mode, so
// that Instant timestamps depend only on the work and never on how fast
// the host submitted it.
func (d *Device) hostNow() time.Duration {
	if d.cfg.Mode == Instant {
		return 0
	}
	return time.Since(d.epoch)
}

// lostErr returns the sticky error, or nil.
func (d *Device) lostErr() error {
	if e := d.lost.Load(); e != nil {
		return e
	}
	return nil
}

// lose makes the device lost with cause; the first call wins.
func (d *Device) lose(op, detail string, cause error) {
	e := &cuda.Error{Op: op, Detail: detail, Err: cuda.ErrDeviceLost, Cause: cause}
	if d.lost.CompareAndSwap(nil, e) {
		close(d.lostCh)
	}
}

// closedError returns the error for op on a closed device.
func (d *Device) closedError(op string) error {
	return &cuda.Error{Op: op, Detail: "device is closed", Err: cuda.ErrClosed}
}

// usableLocked checks that the device is neither closed nor lost.
// d.mu must be held (or the caller accepts a racy answer).
func (d *Device) usableLocked(op string) error {
	if d.isClosed {
		return d.closedError(op)
	}
	return d.lostErr()
}

// NewStream creates a stream and starts its goroutine.
func (d *Device) NewStream(priority int) (cuda.Stream, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("NewStream"); err != nil {
		return nil, err
	}
	if err := d.faultLocked(OpNewStream, nil); err != nil {
		return nil, err
	}
	s := &Stream{
		d:      d,
		prio:   d.props.ClampPriority(priority),
		slow:   1,
		notify: make(chan struct{}, 1),
	}
	d.streams[s] = struct{}{}
	d.wg.Add(1)
	go s.run()
	return s, nil
}

// NewEvent creates an event.
func (d *Device) NewEvent(flags cuda.EventFlags) (cuda.Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("NewEvent"); err != nil {
		return nil, err
	}
	if flags&^cuda.EventDisableTiming != 0 {
		return nil, cuda.Errorf("NewEvent", cuda.ErrInvalidValue, "unknown flags %#x", uint32(flags))
	}
	if err := d.faultLocked(OpNewEvent, nil); err != nil {
		return nil, err
	}
	return &Event{d: d, timing: flags&cuda.EventDisableTiming == 0}, nil
}

// Alloc allocates size bytes of simulated device memory, zeroed, aligned to
// 256 bytes. Pointers are never reused, so a freed pointer is always
// recognised.
func (d *Device) Alloc(size int) (cuda.DevicePtr, error) {
	const op = "Alloc"
	if size <= 0 {
		return 0, cuda.Errorf(op, cuda.ErrInvalidValue, "size %d is not positive", size)
	}
	d.mu.Lock()
	if err := d.usableLocked(op); err != nil {
		d.mu.Unlock()
		return 0, err
	}
	if free := d.cfg.TotalMemory - d.used; int64(size) > free {
		d.mu.Unlock()
		return 0, cuda.Errorf(op, cuda.ErrOutOfMemory, "%d bytes requested, %d of %d free", size, free, d.cfg.TotalMemory)
	}
	span := (uintptr(size) + 2*256 - 1) &^ 255 // the allocation plus a guard gap
	if d.limit-d.next < span {
		d.mu.Unlock()
		return 0, cuda.Errorf(op, cuda.ErrOutOfMemory, "simulated address space exhausted")
	}
	if err := d.faultLocked(OpAlloc, nil); err != nil {
		d.mu.Unlock()
		return 0, err
	}
	a := &alloc{base: d.next}
	d.next += span
	d.used += int64(size)
	d.mu.Unlock()

	a.mem = cuda.AlignedBytes(size) // outside the lock: zeroing is slow

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return 0, d.closedError(op)
	}
	i, _ := slices.BinarySearchFunc(d.allocs, a.base, func(x *alloc, b uintptr) int { return cmpUintptr(x.base, b) })
	d.allocs = slices.Insert(d.allocs, i, a)
	return cuda.DevicePtr(a.base), nil
}

func cmpUintptr(a, b uintptr) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// find returns the live allocation containing p and its index, or nil.
// d.mu must be held.
func (d *Device) findLocked(p cuda.DevicePtr) (int, *alloc) {
	i, found := slices.BinarySearchFunc(d.allocs, uintptr(p), func(x *alloc, b uintptr) int { return cmpUintptr(x.base, b) })
	if found {
		return i, d.allocs[i]
	}
	if i == 0 {
		return -1, nil
	}
	a := d.allocs[i-1]
	if uintptr(p) < a.base+uintptr(len(a.mem)) {
		return i - 1, a
	}
	return -1, nil
}

// pointerError explains why p is not a live pointer of this device.
func (d *Device) pointerError(op, what string, p cuda.DevicePtr) error {
	switch {
	case p == 0:
		return cuda.Errorf(op, cuda.ErrInvalidValue, "%s is the null pointer", what)
	case uintptr(p) < d.base || uintptr(p) >= d.limit:
		return cuda.Errorf(op, cuda.ErrInvalidValue, "%s %v was not allocated by this device", what, p)
	}
	return cuda.Errorf(op, cuda.ErrInvalidValue, "%s %v is not in a live allocation (freed?)", what, p)
}

// resolveLocked checks [p+off, p+off+n) and returns those bytes.
// d.mu must be held.
func (d *Device) resolveLocked(op, what string, p cuda.DevicePtr, off, n int) ([]byte, error) {
	_, a := d.findLocked(p)
	if a == nil {
		return nil, d.pointerError(op, what, p)
	}
	if off < 0 {
		return nil, cuda.Errorf(op, cuda.ErrInvalidValue, "negative %s offset %d", what, off)
	}
	inner := int(uintptr(p) - a.base)
	if err := cuda.CheckRange(op, "device allocation", inner+off, n, len(a.mem)); err != nil {
		return nil, err
	}
	o := inner + off
	return a.mem[o : o+n : o+n], nil
}

// Free frees device memory. Work already submitted that uses it completes
// on the old memory; the pointer is never valid again.
func (d *Device) Free(p cuda.DevicePtr) error {
	const op = "Free"
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked(op); err != nil {
		return err
	}
	i, a := d.findLocked(p)
	if a == nil {
		return d.pointerError(op, "pointer", p)
	}
	if a.base != uintptr(p) {
		return cuda.Errorf(op, cuda.ErrInvalidValue, "pointer %v is inside an allocation, not its start", p)
	}
	if err := d.faultLocked(OpFree, nil); err != nil {
		return err
	}
	d.allocs = slices.Delete(d.allocs, i, i+1)
	d.used -= int64(len(a.mem))
	return nil
}

// MemoryUsed returns the bytes of device memory allocated and not freed.
func (d *Device) MemoryUsed() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// AllocHost allocates a host buffer, zeroed and aligned to cuda.Alignment.
func (d *Device) AllocHost(size int) (*cuda.HostBuffer, error) {
	const op = "AllocHost"
	if size <= 0 {
		return nil, cuda.Errorf(op, cuda.ErrInvalidValue, "size %d is not positive", size)
	}
	d.mu.Lock()
	if err := d.usableLocked(op); err != nil {
		d.mu.Unlock()
		return nil, err
	}
	if err := d.faultLocked(OpAllocHost, nil); err != nil {
		d.mu.Unlock()
		return nil, err
	}
	d.mu.Unlock()
	b := cuda.NewHostBuffer(d, cuda.AlignedBytes(size))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return nil, d.closedError(op)
	}
	d.hosts[b] = struct{}{}
	return b, nil
}

// FreeHost frees a host buffer of this device. It fails while a copy uses it.
func (d *Device) FreeHost(b *cuda.HostBuffer) error {
	const op = "FreeHost"
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked(op); err != nil {
		return err
	}
	if b == nil {
		return cuda.Errorf(op, cuda.ErrInvalidValue, "nil host buffer")
	}
	if b.Owner() != d {
		if err := b.Err(); err != nil {
			return &cuda.Error{Op: op, Detail: err.(*cuda.Error).Detail, Err: cuda.ErrInvalidValue}
		}
		return cuda.Errorf(op, cuda.ErrInvalidValue, "host buffer was allocated by another device")
	}
	if err := b.Err(); err != nil {
		e := *err.(*cuda.Error)
		e.Op = op
		return &e
	}
	if b.Busy() {
		_, err := b.MarkFreed(op)
		return err
	}
	if err := d.faultLocked(OpFreeHost, nil); err != nil {
		return err
	}
	if _, err := b.MarkFreed(op); err != nil {
		return err
	}
	delete(d.hosts, b)
	return nil
}

// Kernel looks up a registered kernel.
func (d *Device) Kernel(module, name string) (cuda.Kernel, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("Kernel"); err != nil {
		return nil, err
	}
	k, ok := d.kernels[kernelKey{module, name}]
	if !ok {
		return nil, cuda.Errorf("Kernel", cuda.ErrNotFound, "no kernel %q in module %q", name, module)
	}
	return k, nil
}

// ElapsedTime returns end's timestamp minus start's, from the timing model.
func (d *Device) ElapsedTime(start, end cuda.Event) (time.Duration, error) {
	const op = "ElapsedTime"
	if d.closed.Load() {
		return 0, d.closedError(op)
	}
	if err := d.lostErr(); err != nil {
		return 0, err
	}
	var ms [2]*mark
	for i, ev := range [2]cuda.Event{start, end} {
		what := [2]string{"start", "end"}[i]
		e, ok := ev.(*Event)
		if !ok || e == nil || e.d != d {
			return 0, cuda.Errorf(op, cuda.ErrInvalidValue, "%s event is not from this device", what)
		}
		if e.closedFlag.Load() {
			return 0, cuda.Errorf(op, cuda.ErrClosed, "%s event is closed", what)
		}
		if !e.timing {
			return 0, cuda.Errorf(op, cuda.ErrInvalidValue, "%s event was created with EventDisableTiming", what)
		}
		m := e.m.Load()
		if m == nil {
			return 0, cuda.Errorf(op, cuda.ErrInvalidValue, "%s event was never recorded", what)
		}
		select {
		case <-m.done:
			if m.err != nil {
				return 0, m.err
			}
		default:
			return 0, cuda.Errorf(op, cuda.ErrNotReady, "%s event is not done", what)
		}
		ms[i] = m
	}
	return ms[1].t - ms[0].t, nil
}

// Synchronize waits for all work submitted to any stream of the device.
func (d *Device) Synchronize() error {
	const op = "Synchronize"
	d.mu.Lock()
	if err := d.usableLocked(op); err != nil {
		d.mu.Unlock()
		return err
	}
	marks := make([]*mark, 0, len(d.streams))
	for s := range d.streams {
		m := &mark{done: make(chan struct{})}
		s.submitLocked(&task{kind: opSync, mark: m}, 0, -1)
		marks = append(marks, m)
	}
	d.mu.Unlock()
	var first error
	for _, m := range marks {
		if err := d.waitMark(op, m); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// waitMark blocks until m is done, the device is lost or it is closed.
func (d *Device) waitMark(op string, m *mark) error {
	select {
	case <-m.done:
		if err := d.lostErr(); err != nil {
			return err
		}
		return m.err
	case <-d.lostCh:
		return d.lostErr()
	case <-d.quit:
		if err := d.lostErr(); err != nil {
			return err
		}
		return d.closedError(op)
	}
}

// Close closes the device. Pending work is abandoned, not drained: an
// operation that is running finishes its memory effects, operations not yet
// started never run, and everything waiting for them (events, Synchronize,
// host functions) gets an error matching cuda.ErrClosed. Close waits until
// every stream goroutine has exited, then frees all device memory and makes
// host buffers unusable (ErrClosed). Closing twice returns ErrClosed.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.isClosed {
		d.mu.Unlock()
		return d.closedError("Close")
	}
	d.isClosed = true
	d.closed.Store(true)
	d.mu.Unlock()
	close(d.quit)
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for b := range d.hosts {
		b.Invalidate()
	}
	d.hosts = nil
	d.allocs = nil
	d.used = 0
	return nil
}

// Lose makes the device lost, as when a GPU falls off the bus: every pending
// and later operation fails with one sticky error that matches
// cuda.ErrDeviceLost and wraps cause. Only the first call has an effect.
func (d *Device) Lose(cause error) {
	if cause == nil {
		cause = errors.New("sim: device lost by Lose")
	}
	d.lose("Lose", "", cause)
}

// String describes the device.
func (d *Device) String() string {
	return fmt.Sprintf("sim.Device(%s, %v mode)", d.props.Name, d.cfg.Mode)
}
