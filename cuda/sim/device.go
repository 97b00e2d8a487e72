package sim

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// Compile-time checks that the simulator implements the device contract.
var (
	_ cuda.Device           = (*Device)(nil)
	_ cuda.Stream           = (*Stream)(nil)
	_ cuda.Event            = (*Event)(nil)
	_ cuda.Kernel           = (*Kernel)(nil)
	_ cuda.HostFuncLauncher = (*Stream)(nil)
	_ cuda.CompletionTimer  = (*Event)(nil)
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

// abandonError is the error for a task of kind k abandoned by Close: the
// sticky error if the device was lost first, otherwise ErrClosed.
func (d *Device) abandonError(k Op) error {
	if err := d.lostErr(); err != nil {
		return err
	}
	return &cuda.Error{Op: k.String(), Detail: "the device was closed before the operation ran", Err: cuda.ErrClosed}
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
// host buffers unusable (their use fails with cuda.ErrClosed). Closing
// twice returns an error matching cuda.ErrClosed.
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
		kit.Invalidate(b)
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
