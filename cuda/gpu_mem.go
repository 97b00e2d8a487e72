//go:build cuda

package cuda

import (
	"unsafe"

	"gorgonia.org/cu"
)

// Alloc allocates device memory with cuMemAlloc (aligned to at least 256
// bytes; not zeroed).
func (d *gpuDevice) Alloc(size int) (DevicePtr, error) {
	const op = "Alloc"
	if size <= 0 {
		return 0, errorf(op, ErrInvalidValue, "size %d is not positive", size)
	}
	if err := d.enter(op); err != nil {
		return 0, err
	}
	defer d.g.exit()
	var p cu.DevicePtr
	err := d.call(func() error {
		var e error
		p, e = cu.MemAlloc(int64(size))
		return e
	})
	if err != nil {
		return 0, d.fail(op, err)
	}
	d.allocs.insert(uintptr(p), size)
	return DevicePtr(p), nil
}

// Free frees memory from Alloc with cuMemFree, which waits for work already
// submitted to the device (so that work still completes). The driver
// reuses freed addresses; the device's table of live allocations makes
// later use of p an error instead.
func (d *gpuDevice) Free(p DevicePtr) error {
	const op = "Free"
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.g.exit()
	if err := d.allocs.remove(op, p); err != nil {
		return err
	}
	if err := d.call(func() error { return cu.MemFree(cu.DevicePtr(p)) }); err != nil {
		return d.fail(op, err)
	}
	return nil
}

// MemoryUsed returns the bytes of device memory allocated and not freed.
func (d *gpuDevice) MemoryUsed() int64 { return d.allocs.bytesUsed() }

// AllocHost allocates zeroed page-locked host memory with cuMemHostAlloc.
// It is C memory, so the driver may read and write it after a call
// returns, as asynchronous copies do, without breaking cgo's pointer rules.
func (d *gpuDevice) AllocHost(size int) (*HostBuffer, error) {
	const op = "AllocHost"
	if size <= 0 {
		return nil, errorf(op, ErrInvalidValue, "size %d is not positive", size)
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.g.exit()
	p, r := d.hostAlloc(size)
	if r != cuSuccess {
		return nil, d.failCode(op, r)
	}
	b := newHostBuffer(d, unsafe.Slice((*byte)(p), size))
	d.mu.Lock()
	d.hosts[b] = p
	d.mu.Unlock()
	return b, nil
}

// FreeHost frees a buffer from AllocHost with cuMemFreeHost. A buffer that
// a copy still uses is refused with ErrBufferBusy.
func (d *gpuDevice) FreeHost(b *HostBuffer) error {
	const op = "FreeHost"
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.g.exit()
	if err := d.ownHost(op, b); err != nil {
		return err
	}
	d.retireFor(b)
	if _, err := b.markFreed(op); err != nil {
		return err
	}
	d.mu.Lock()
	p := d.hosts[b]
	delete(d.hosts, b)
	d.mu.Unlock()
	if r := d.hostFree(p); r != cuSuccess {
		return d.failCode(op, r)
	}
	return nil
}

// ownHost checks that b is a live buffer of this device: only memory the
// device pinned may go into its asynchronous copies.
func (d *gpuDevice) ownHost(op string, b *HostBuffer) error {
	if b == nil {
		return errorf(op, ErrInvalidValue, "nil host buffer")
	}
	if owner := b.Device(); owner != Device(d) {
		if owner == nil { // the zero HostBuffer
			return withOp(b.Err(), op)
		}
		return errorf(op, ErrForeign, "host buffer was not pinned by this device "+
			"(asynchronous copies need page-locked memory from this device's AllocHost)")
	}
	if err := b.Err(); err != nil {
		return withOp(err, op)
	}
	return nil
}

// retireFor releases b from the copies of every stream that the driver
// reports idle (cuStreamQuery; no waiting), for callers that found b busy
// and have not yet seen an event or Synchronize prove the copies done.
func (d *gpuDevice) retireFor(b *HostBuffer) {
	if !b.Busy() {
		return
	}
	d.mu.Lock()
	streams := make([]*gpuStream, 0, len(d.streams))
	for s := range d.streams {
		if s.nuses.Load() > 0 {
			streams = append(streams, s)
		}
	}
	d.mu.Unlock()
	for _, s := range streams {
		if !s.g.enter() {
			continue // closed: Device.Synchronize or Close releases its buffers
		}
		seq := s.mark()
		if d.call(s.st.Query) == nil {
			s.retire(seq)
		}
		s.g.exit()
	}
}
