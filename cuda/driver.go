package cuda

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// This file holds the parts of the real backend (built with -tags cuda) that
// need no driver, so that the default build compiles and tests them: the
// driver's status codes, the table of live device allocations, kernel
// argument packing, and the guard that lets Close wait for calls in flight.

// DriverError is the CUDA driver's status code of a failed call. Errors of
// the real backend wrap it (as Cause for sticky failures), so that
// errors.As finds the code:
//
//	var de *cuda.DriverError
//	if errors.As(err, &de) && de.Code == 700 { ... } // CUDA_ERROR_ILLEGAL_ADDRESS
type DriverError struct {
	// Code is the CUresult value, such as 700.
	Code int
	// Name is the driver's name for it, such as "CUDA_ERROR_ILLEGAL_ADDRESS".
	Name string
	// Text is the driver's description; it may be empty.
	Text string
}

// Error formats the error as "NAME (code): text".
func (e *DriverError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("%s (%d)", e.Name, e.Code)
	}
	return fmt.Sprintf("%s (%d): %s", e.Name, e.Code, e.Text)
}

// CUresult values the backend treats specially (from cuda.h, CUDA 11.8;
// the values are part of the driver's ABI and never change).
const (
	cuSuccess           = 0
	cuOutOfMemory       = 2
	cuNotInitialized    = 3
	cuDeinitialized     = 4
	cuStubLibrary       = 34
	cuDeviceUnavailable = 46
	cuNoDevice          = 100
	cuInvalidDevice     = 101
	cuEccUncorrectable  = 214
	cuNvlinkUncorrect   = 220
	cuNotFound          = 500
	cuNotReady          = 600
	cuIllegalAddress    = 700
	cuLaunchTimeout     = 702
	cuContextDestroyed  = 709
	cuAssert            = 710
	cuHardwareStack     = 714
	cuLaunchFailed      = 719
	cuSystemDriverMism  = 803
	cuUnknown           = 999
)

// isStickyCode reports whether a CUresult leaves the context unusable for
// the life of the process ("any further CUDA work will return the same
// error", cuda.h).
func isStickyCode(code int) bool {
	switch {
	case code == cuIllegalAddress, code == cuLaunchTimeout, code == cuAssert,
		code >= cuHardwareStack && code <= cuLaunchFailed, // 714..719: faults in a kernel
		code == cuEccUncorrectable, code == cuNvlinkUncorrect, code == cuUnknown:
		return true
	}
	return false
}

// sentinelFor maps a non-sticky CUresult to the sentinel error a backend
// error wraps.
func sentinelFor(code int) error {
	switch code {
	case cuOutOfMemory:
		return ErrOutOfMemory
	case cuNotInitialized, cuDeinitialized, cuStubLibrary, cuDeviceUnavailable,
		cuNoDevice, cuInvalidDevice, cuSystemDriverMism:
		return ErrNoDevice
	case cuNotFound:
		return ErrNotFound
	case cuNotReady:
		return ErrNotReady
	case cuContextDestroyed:
		return ErrClosed
	}
	return ErrInvalidValue
}

// allocTable is the set of a device's live allocations, so that copies and
// kernel arguments are checked against them before they reach the driver
// (which reuses freed addresses, so a stale pointer would silently hit
// someone else's memory). The zero value is empty and ready to use.
type allocTable struct {
	mu     sync.RWMutex
	allocs []allocSpan // guarded by mu; sorted by base, disjoint
	used   int64       // guarded by mu: bytes allocated and not freed
}

type allocSpan struct {
	base uintptr
	size int
}

// insert adds an allocation; the driver never returns overlapping ones.
func (t *allocTable) insert(base uintptr, size int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := slices.BinarySearchFunc(t.allocs, base, func(a allocSpan, b uintptr) int { return cmp.Compare(a.base, b) })
	t.allocs = slices.Insert(t.allocs, i, allocSpan{base, size})
	t.used += int64(size)
}

// findLocked returns the index of the allocation containing p, or -1.
// t.mu must be held.
func (t *allocTable) findLocked(p uintptr) int {
	i, found := slices.BinarySearchFunc(t.allocs, p, func(a allocSpan, b uintptr) int { return cmp.Compare(a.base, b) })
	if found {
		return i
	}
	if i > 0 && p-t.allocs[i-1].base < uintptr(t.allocs[i-1].size) {
		return i - 1
	}
	return -1
}

// remove checks that p is the start of a live allocation and removes it.
func (t *allocTable) remove(op string, p DevicePtr) error {
	t.mu.Lock()
	i := t.findLocked(uintptr(p))
	if i < 0 {
		t.mu.Unlock()
		return t.pointerError(op, "pointer", p) // looks at other tables: not under t.mu
	}
	defer t.mu.Unlock()
	if t.allocs[i].base != uintptr(p) {
		return errorf(op, ErrInvalidValue, "pointer %v is inside an allocation, not its start", p)
	}
	t.used -= int64(t.allocs[i].size)
	t.allocs = slices.Delete(t.allocs, i, i+1)
	return nil
}

// contains reports whether p lies in a live allocation of t.
func (t *allocTable) contains(p DevicePtr) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.findLocked(uintptr(p)) >= 0
}

// tables holds the allocation tables of the process's open devices, so
// that a pointer of another device (which shares the GPU's address space
// when both are the same GPU's primary context) is told apart from a
// stale one.
var tables struct {
	mu sync.RWMutex
	m  map[*allocTable]struct{} // guarded by mu
}

// register adds t to the tables that pointerError consults; unregister
// removes it. A device registers while it is open.
func (t *allocTable) register() {
	tables.mu.Lock()
	defer tables.mu.Unlock()
	if tables.m == nil {
		tables.m = make(map[*allocTable]struct{})
	}
	tables.m[t] = struct{}{}
}

func (t *allocTable) unregister() {
	tables.mu.Lock()
	defer tables.mu.Unlock()
	delete(tables.m, t)
}

// pointerError explains why p, which is not in a live allocation of t, is
// refused: the null pointer, another open device's memory (ErrForeign), or
// memory no device has (freed, or never allocated). It must not be called
// with t.mu held.
func (t *allocTable) pointerError(op, what string, p DevicePtr) error {
	if p == 0 {
		return errorf(op, ErrInvalidValue, "%s is the null pointer", what)
	}
	tables.mu.RLock()
	defer tables.mu.RUnlock()
	for o := range tables.m {
		if o != t && o.contains(p) {
			return errorf(op, ErrForeign, "%s %v was allocated by another device", what, p)
		}
	}
	return errorf(op, ErrInvalidValue, "%s %v is not in a live allocation of this device (freed?)", what, p)
}

// check checks that [p+off, p+off+n) lies inside one live allocation.
func (t *allocTable) check(op, what string, p DevicePtr, off, n int) error {
	t.mu.RLock()
	i := t.findLocked(uintptr(p))
	var a allocSpan
	if i >= 0 {
		a = t.allocs[i]
	}
	t.mu.RUnlock()
	if i < 0 {
		return t.pointerError(op, what, p)
	}
	if off < 0 {
		return errorf(op, ErrInvalidValue, "negative %s offset %d", what, off)
	}
	inner := int(uintptr(p) - a.base)
	return checkRange(op, "device allocation", inner+off, n, a.size)
}

// rest returns the bytes from p to the end of its live allocation, or
// false if p is in none.
func (t *allocTable) rest(p DevicePtr) (int, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := t.findLocked(uintptr(p))
	if i < 0 {
		return 0, false
	}
	a := t.allocs[i]
	return a.size - int(uintptr(p)-a.base), true
}

// bytesUsed returns the bytes allocated and not freed.
func (t *allocTable) bytesUsed() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.used
}

// all returns the bases of every live allocation and empties the table.
func (t *allocTable) takeAll() []uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	bases := make([]uintptr, len(t.allocs))
	for i, a := range t.allocs {
		bases[i] = a.base
	}
	t.allocs, t.used = nil, 0
	return bases
}

// maxKernelParams bounds a kernel's parameter count in the real backend,
// whose launch passes the arguments in a fixed-size array (no allocation
// per launch).
const maxKernelParams = 32

// argBits is the launch's argument values: each argument's bits in its own
// 8-byte slot, where the driver reads 4 or 8 bytes as the kernel declares
// (little-endian, so a 4-byte value's bytes come first).
type argBits [maxKernelParams]uint64

// packArgs checks args against spec and that every pointer argument lies in
// a live allocation of t, and fills bits and, if sizes is not nil, sizes:
// per argument the bytes from a pointer to the end of its allocation (0
// for the others).
func packArgs(op string, spec *KernelSpec, args []Arg, t *allocTable, bits *argBits, sizes []int) error {
	if err := checkArgs(op, *spec, args); err != nil {
		return err
	}
	if len(args) > maxKernelParams {
		return errorf(op, ErrInvalidValue, "kernel %v has %d parameters; the CUDA backend launches at most %d", spec, len(args), maxKernelParams)
	}
	for i, a := range args {
		if a.kind == ParamPtr {
			rest, ok := t.rest(a.Ptr())
			if !ok { // the label is formatted only now: launches must not allocate
				return t.pointerError(op, fmt.Sprintf("argument %d%s", i, paramLabel(spec, i)), a.Ptr())
			}
			if sizes != nil {
				sizes[i] = rest
			}
		}
		bits[i] = a.bits
	}
	return nil
}

func paramLabel(spec *KernelSpec, i int) string {
	if i < len(spec.Params) && spec.Params[i].Name != "" {
		return " (" + spec.Params[i].Name + ")"
	}
	return ""
}

// guard counts the calls in progress on a handle (device, stream, event) so
// that Close can mark it closed, wait until no call still uses the driver
// handle, and only then destroy it. The count and a closed bit share one
// word, so entering costs one atomic add. Make one with newGuard.
type guard struct {
	n    atomic.Int64  // calls in progress, plus guardClosed once closed
	idle chan struct{} // capacity 1: a call left after the guard closed
}

const guardClosed = 1 << 62

func newGuard() guard { return guard{idle: make(chan struct{}, 1)} }

// enter starts a call; it returns false, starting nothing, once the guard
// is closed.
func (g *guard) enter() bool {
	if g.n.Add(1) >= guardClosed {
		g.exit()
		return false
	}
	return true
}

// exit ends a call started by a successful enter (or undoes a failed one).
func (g *guard) exit() {
	if g.n.Add(-1) == guardClosed {
		select {
		case g.idle <- struct{}{}:
		default:
		}
	}
}

// close marks the guard closed; it reports false if it already was.
func (g *guard) close() bool {
	for {
		v := g.n.Load()
		if v >= guardClosed {
			return false
		}
		if g.n.CompareAndSwap(v, v|guardClosed) {
			return true
		}
	}
}

// closed reports whether close was called.
func (g *guard) closed() bool { return g.n.Load() >= guardClosed }

// wait blocks, after close, until every call in progress has exited.
func (g *guard) wait() {
	for g.n.Load() != guardClosed {
		<-g.idle
	}
}
