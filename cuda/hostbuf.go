package cuda

import (
	"sync"
	"unsafe"
)

// HostBuffer is pinned host memory returned by [Device.AllocHost] or a
// [HostPool]. Its methods are safe for concurrent use.
//
// A buffer handed to an asynchronous copy is busy until the copy is done
// on the device: meanwhile [HostBuffer.Bytes] and the typed views return
// [ErrBufferBusy], as do FreeHost and [HostPool.Put]. The claim is made when
// the copy is submitted, and checked then against the copies that hold the
// buffer at that moment. Another copy may use the buffer at once when it is
// ordered after each copy in flight on the bytes it overlaps: it is on the
// same stream, or its stream waited ([Stream.WaitEvent]), directly or
// through other streams, for an event recorded after that copy. Copies may
// also read the same bytes at the same time, and use disjoint ranges of one
// buffer freely. Any other overlap, where either copy writes the buffer,
// is refused with [ErrBufferBusy]: never a silent data race. So a buffer
// downloaded into on one stream can be uploaded from on another once that
// stream waits for the download's event, without the host waiting.
// Slices obtained earlier stay valid Go memory, but writing them while the
// buffer is busy is a data race; get views after the copy's event is done.
//
// The zero value is an unallocated buffer of length 0: every use is an error
// matching [ErrInvalidValue]. A HostBuffer must not be copied.
type HostBuffer struct {
	owner Device // written once by newHostBuffer
	size  int    // written once by newHostBuffer

	mu   sync.Mutex
	mem  []byte    // guarded by mu; nil once freed or invalidated
	uses []useSpan // guarded by mu: byte ranges in use by copies
	dead error     // guarded by mu: why the buffer is unusable (nil while live)
}

// useSpan is a byte range of a HostBuffer in use by one copy.
type useSpan struct {
	at     any // where in the device's order the copy was submitted
	off, n int
	write  bool
}

var errUnallocated = &Error{Op: "HostBuffer", Detail: "buffer was not allocated by a device", Err: ErrInvalidValue}

// newHostBuffer wraps mem, which must stay valid until the buffer is freed,
// as a HostBuffer owned by owner (the device). Backends outside this
// package call it as kit.NewHostBuffer; programs use Device.AllocHost.
func newHostBuffer(owner Device, mem []byte) *HostBuffer {
	if owner == nil {
		panic("cuda: NewHostBuffer with nil owner")
	}
	return &HostBuffer{owner: owner, size: len(mem), mem: mem}
}

// Len is the buffer's size in bytes; it does not change when the buffer is
// freed.
func (b *HostBuffer) Len() int { return b.size }

// Device is the device that allocated the buffer (nil for the zero value).
func (b *HostBuffer) Device() Device { return b.owner }

// Busy reports whether a copy still uses the buffer.
func (b *HostBuffer) Busy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.uses) > 0
}

// Err reports why the buffer is unusable (freed, or its device closed), or
// nil while it is live. A busy buffer is live.
func (b *HostBuffer) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.errLocked("HostBuffer")
}

func (b *HostBuffer) errLocked(op string) error {
	if b.owner == nil {
		return &Error{Op: op, Detail: errUnallocated.Detail, Err: ErrInvalidValue}
	}
	if b.dead != nil {
		return withOp(b.dead, op)
	}
	return nil
}

// Bytes returns the buffer's memory. It fails while the buffer is busy or
// after it was freed.
func (b *HostBuffer) Bytes() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.errLocked("HostBuffer.Bytes"); err != nil {
		return nil, err
	}
	if len(b.uses) > 0 {
		return nil, errorf("HostBuffer.Bytes", ErrBufferBusy, "an asynchronous copy still uses the %d-byte buffer", b.size)
	}
	return b.mem, nil
}

func hostView[T Scalar](b *HostBuffer, op string) ([]T, error) {
	m, err := b.Bytes()
	if err != nil {
		return nil, withOp(err, op)
	}
	v, err := SliceOf[T](m)
	if err != nil {
		return nil, withOp(err, op)
	}
	return v, nil
}

// Float32s returns the buffer as []float32. Its length must be a multiple of
// 4; otherwise, or while busy or freed, it returns an error.
func (b *HostBuffer) Float32s() ([]float32, error) {
	return hostView[float32](b, "HostBuffer.Float32s")
}

// Float64s returns the buffer as []float64 (length a multiple of 8).
func (b *HostBuffer) Float64s() ([]float64, error) {
	return hostView[float64](b, "HostBuffer.Float64s")
}

// Int32s returns the buffer as []int32 (length a multiple of 4).
func (b *HostBuffer) Int32s() ([]int32, error) { return hostView[int32](b, "HostBuffer.Int32s") }

// Uint32s returns the buffer as []uint32 (length a multiple of 4).
func (b *HostBuffer) Uint32s() ([]uint32, error) { return hostView[uint32](b, "HostBuffer.Uint32s") }

// Int64s returns the buffer as []int64 (length a multiple of 8).
func (b *HostBuffer) Int64s() ([]int64, error) { return hostView[int64](b, "HostBuffer.Int64s") }

// acquire marks the byte range [off, off+n) of the buffer in use by a copy
// submitted at point at of the device's order, which reads it (write
// false) or writes it (write true), after checking that the range is
// inside the buffer, and returns that range. It fails with [ErrBufferBusy]
// if the range overlaps one in use by a copy that the new one is not
// ordered after (after(its point) is false; a nil after orders nothing)
// and either use writes. Every successful acquire must be paired with one
// release with the same arguments when the copy is done or abandoned. An
// empty range is never tracked. Backends call it through kit.Acquire,
// which keeps the order (kit.Queue).
func (b *HostBuffer) acquire(op string, at any, after func(earlier any) bool, write bool, off, n int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.errLocked(op); err != nil {
		return nil, err
	}
	if err := checkRange(op, "host buffer", off, n, b.size); err != nil {
		return nil, err
	}
	if n == 0 {
		return b.mem[off:off:off], nil
	}
	for _, u := range b.uses {
		if (write || u.write) && off < u.off+u.n && u.off < off+n && (after == nil || !after(u.at)) {
			return nil, errorf(op, ErrBufferBusy, "bytes [%d, %d) of the %d-byte host buffer are in use by an asynchronous copy that this one is not ordered after", max(off, u.off), min(off+n, u.off+u.n), b.size)
		}
	}
	b.uses = append(b.uses, useSpan{at, off, n, write})
	return b.mem[off : off+n : off+n], nil
}

// release ends one use started by acquire with the same arguments; a
// release without its acquire panics.
func (b *HostBuffer) release(at any, write bool, off, n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, u := range b.uses {
		if u == (useSpan{at, off, n, write}) {
			b.uses[i] = b.uses[len(b.uses)-1]
			b.uses = b.uses[:len(b.uses)-1]
			return
		}
	}
	panic("cuda: HostBuffer released without being acquired")
}

// markFreed makes the buffer unusable, as FreeHost does, and returns its
// memory for the backend to release. It fails while the buffer is busy or
// if it was already freed.
func (b *HostBuffer) markFreed(op string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.errLocked(op); err != nil {
		return nil, err
	}
	if len(b.uses) > 0 {
		return nil, errorf(op, ErrBufferBusy, "an asynchronous copy still uses the %d-byte host buffer", b.size)
	}
	m := b.mem
	b.mem = nil
	b.dead = &Error{Detail: "host buffer was freed", Err: ErrInvalidValue}
	return m, nil
}

// invalidate makes the buffer unusable because its device closed; later
// uses return errors matching [ErrClosed]. Copies must have released it
// first.
func (b *HostBuffer) invalidate() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dead == nil {
		b.mem = nil
		b.dead = &Error{Detail: "the buffer's device was closed", Err: ErrClosed}
	}
}

// Scalar is the set of element types for typed views of memory.
type Scalar interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// SliceOf reinterprets b as a []T sharing its memory. It returns an
// [ErrInvalidValue] error if len(b) is not a multiple of T's size or b is not
// aligned for T. An empty b gives an empty, non-nil slice.
func SliceOf[T Scalar](b []byte) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(b)%size != 0 {
		return nil, errorf("SliceOf", ErrInvalidValue, "length %d is not a multiple of the %d-byte element %T", len(b), size, zero)
	}
	if len(b) == 0 {
		return []T{}, nil
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		return nil, errorf("SliceOf", ErrInvalidValue, "address %p is not aligned for %T", p, zero)
	}
	return unsafe.Slice((*T)(p), len(b)/size), nil
}

// alignment is the alignment of memory from alignedBytes: a cache line,
// enough for every [Scalar] and for vector loads.
const alignment = 64

// alignedBytes returns n zeroed bytes whose first byte is aligned to
// alignment, for host and simulated device memory.
func alignedBytes(n int) []byte {
	if n < 0 {
		panic("cuda: AlignedBytes with negative size")
	}
	words := make([]uint64, (n+2*alignment)/8) // noscan backing, 8-byte aligned
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	pad := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & (alignment - 1))
	return raw[pad : pad+n : pad+n]
}
