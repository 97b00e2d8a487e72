package sim

import (
	"cmp"
	"slices"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

type alloc struct {
	base uintptr
	mem  []byte
}

// Alloc allocates size bytes of simulated device memory, zeroed, aligned to
// 256 bytes. Pointers are never reused, so a freed pointer is always
// recognised.
func (d *Device) Alloc(size int) (cuda.DevicePtr, error) {
	const op = "Alloc"
	if size <= 0 {
		return 0, kit.Errorf(op, cuda.ErrInvalidValue, "size %d is not positive", size)
	}
	d.mu.Lock()
	if err := d.usableLocked(op); err != nil {
		d.mu.Unlock()
		return 0, err
	}
	if free := d.cfg.TotalMemory - d.used; int64(size) > free {
		d.mu.Unlock()
		return 0, kit.Errorf(op, cuda.ErrOutOfMemory, "%d bytes requested, %d of %d free", size, free, d.cfg.TotalMemory)
	}
	span := (uintptr(size) + 2*256 - 1) &^ 255 // the allocation plus a guard gap
	if d.limit-d.next < span {
		d.mu.Unlock()
		return 0, kit.Errorf(op, cuda.ErrOutOfMemory, "simulated address space exhausted")
	}
	if err := d.faultLocked(OpAlloc, nil); err != nil {
		d.mu.Unlock()
		return 0, err
	}
	a := &alloc{base: d.next}
	d.next += span
	d.used += int64(size)
	d.mu.Unlock()

	a.mem = kit.AlignedBytes(size) // outside the lock: zeroing is slow

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return 0, d.closedError(op)
	}
	i, _ := slices.BinarySearchFunc(d.allocs, a.base, func(x *alloc, b uintptr) int { return cmp.Compare(x.base, b) })
	d.allocs = slices.Insert(d.allocs, i, a)
	return cuda.DevicePtr(a.base), nil
}

// find returns the live allocation containing p and its index, or nil.
// d.mu must be held.
func (d *Device) findLocked(p cuda.DevicePtr) (int, *alloc) {
	i, found := slices.BinarySearchFunc(d.allocs, uintptr(p), func(x *alloc, b uintptr) int { return cmp.Compare(x.base, b) })
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
		return kit.Errorf(op, cuda.ErrInvalidValue, "%s is the null pointer", what)
	case uintptr(p) < addressSpan:
		return kit.Errorf(op, cuda.ErrInvalidValue, "%s %v is not a device pointer", what, p)
	case uintptr(p) < d.base || uintptr(p) >= d.limit:
		return kit.Errorf(op, cuda.ErrForeign, "%s %v was allocated by another device", what, p)
	}
	return kit.Errorf(op, cuda.ErrInvalidValue, "%s %v is not in a live allocation (freed?)", what, p)
}

// resolveLocked checks [p+off, p+off+n) and returns those bytes.
// d.mu must be held.
func (d *Device) resolveLocked(op, what string, p cuda.DevicePtr, off, n int) ([]byte, error) {
	_, a := d.findLocked(p)
	if a == nil {
		return nil, d.pointerError(op, what, p)
	}
	if off < 0 {
		return nil, kit.Errorf(op, cuda.ErrInvalidValue, "negative %s offset %d", what, off)
	}
	inner := int(uintptr(p) - a.base)
	if err := kit.CheckRange(op, "device allocation", inner+off, n, len(a.mem)); err != nil {
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
		return kit.Errorf(op, cuda.ErrInvalidValue, "pointer %v is inside an allocation, not its start", p)
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

// AllocHost allocates a host buffer, zeroed and aligned to kit.Alignment.
func (d *Device) AllocHost(size int) (*cuda.HostBuffer, error) {
	const op = "AllocHost"
	if size <= 0 {
		return nil, kit.Errorf(op, cuda.ErrInvalidValue, "size %d is not positive", size)
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
	b := kit.NewHostBuffer(d, kit.AlignedBytes(size))
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
		return kit.Errorf(op, cuda.ErrInvalidValue, "nil host buffer")
	}
	if b.Device() != d {
		if err := b.Err(); err != nil {
			e := kit.WithOp(err, op)
			e.Err = cuda.ErrInvalidValue
			return e
		}
		return kit.Errorf(op, cuda.ErrForeign, "host buffer was allocated by another device")
	}
	if err := b.Err(); err != nil {
		return kit.WithOp(err, op)
	}
	if b.Busy() {
		_, err := kit.MarkFreed(b, op)
		return err
	}
	if err := d.faultLocked(OpFreeHost, nil); err != nil {
		return err
	}
	if _, err := kit.MarkFreed(b, op); err != nil {
		return err
	}
	delete(d.hosts, b)
	return nil
}
