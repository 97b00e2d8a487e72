//go:build cuda

package cuda

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/coawait/coawait/cuda/internal/order"
	"gorgonia.org/cu"
)

// gpuStream is a CUDA stream. Host buffers in its copies are released when
// the device learns, without waiting, that the copy is done: an event
// recorded after it is found done (Query, Synchronize), the stream or
// device is synchronized, a later host function runs, or a caller finds
// the buffer busy and the stream idle.
type gpuStream struct {
	d    *gpuDevice
	st   cu.Stream // written once by NewStream
	prio int       // written once by NewStream
	g    guard     // calls in progress; closed by Close

	// mu is held across the driver call that enqueues a copy, an event
	// record, a wait or a host function, so that seq numbers them in
	// stream order and order follows the driver's.
	mu    sync.Mutex
	seq   uint64       // guarded by mu: ordered operations enqueued so far
	order *order.Queue // guarded by mu: the stream's place in the device's order

	// umu guards uses; it is never held across a driver call, so a host
	// callback (which holds the stream still) can always take it.
	umu   sync.Mutex
	uses  []bufUse // guarded by umu: host buffers in use, in stream order
	nuses atomic.Int32
}

// bufUse is a host buffer range used by the copy with sequence number seq,
// submitted at point at of the device's order.
type bufUse struct {
	seq    uint64
	b      *HostBuffer
	at     order.Point
	write  bool
	off, n int
}

var _ HostFuncLauncher = (*gpuStream)(nil)

// Device is the stream's device.
func (s *gpuStream) Device() Device { return s.d }

// Priority is the stream's priority after clamping.
func (s *gpuStream) Priority() int { return s.prio }

func (s *gpuStream) enter(op string) error {
	if !s.g.enter() {
		return &Error{Op: op, Detail: "stream is closed", Err: ErrClosed}
	}
	if err := s.d.enter(op); err != nil {
		s.g.exit()
		return err
	}
	return nil
}

func (s *gpuStream) exit() {
	s.d.g.exit()
	s.g.exit()
}

// mark returns the number of ordered operations enqueued so far.
func (s *gpuStream) mark() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// retire releases the host buffers of copies numbered upto or lower, which
// the caller knows are done.
func (s *gpuStream) retire(upto uint64) {
	if s.nuses.Load() == 0 {
		return
	}
	s.umu.Lock()
	defer s.umu.Unlock()
	i := 0
	for ; i < len(s.uses) && s.uses[i].seq <= upto; i++ {
		u := s.uses[i]
		u.b.release(u.at, u.write, u.off, u.n)
	}
	n := copy(s.uses, s.uses[i:])
	clear(s.uses[n:])
	s.uses = s.uses[:n]
	s.nuses.Store(int32(n))
}

// releaseAll releases every host buffer use, when the device closes.
func (s *gpuStream) releaseAll() {
	s.umu.Lock()
	defer s.umu.Unlock()
	for _, u := range s.uses {
		u.b.release(u.at, u.write, u.off, u.n)
	}
	s.uses = nil
	s.nuses.Store(0)
}

// copyHost claims [off, off+n) of host buffer b, a live pinned buffer of
// this device, for a copy on s that writes it (write) or reads it, and
// enqueues the copy with call, all in stream order. If a copy the new one
// is not ordered after holds the range, it checks once whether that copy
// is in fact done (without waiting) before it gives up with ErrBufferBusy.
func (s *gpuStream) copyHost(op string, b *HostBuffer, write bool, off, n int, call func(mem []byte) error) error {
	if err := s.d.ownHost(op, b); err != nil {
		return err
	}
	for retried := false; ; retried = true {
		s.mu.Lock()
		at := s.order.Point()
		mem, err := b.acquire(op, at, s.orderedAfter, write, off, n)
		if errors.Is(err, ErrBufferBusy) && !retried {
			s.mu.Unlock()
			s.d.retireFor(b) // takes other streams' locks: never with ours
			continue
		}
		if err != nil || n == 0 {
			s.mu.Unlock()
			return err
		}
		err = s.d.call(func() error { return call(mem) })
		if err == nil {
			s.seq++
			s.umu.Lock()
			s.uses = append(s.uses, bufUse{s.seq, b, at, write, off, n})
			s.nuses.Store(int32(len(s.uses)))
			s.umu.Unlock()
		}
		s.mu.Unlock()
		if err != nil {
			b.release(at, write, off, n)
			return s.d.fail(op, err)
		}
		return nil
	}
}

// orderedAfter reports whether work submitted to s now is ordered after a
// copy submitted at point earlier; s.mu must be held.
func (s *gpuStream) orderedAfter(earlier any) bool {
	p, ok := earlier.(order.Point)
	return ok && s.order.Covers(p)
}

// CopyHtoD copies from pinned host memory with cuMemcpyHtoDAsync.
func (s *gpuStream) CopyHtoD(dst DevicePtr, dstOff int, src *HostBuffer, srcOff, n int) error {
	const op = "CopyHtoD"
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if err := s.d.allocs.check(op, "destination", dst, dstOff, n); err != nil {
		return err
	}
	return s.copyHost(op, src, false, srcOff, n, func(mem []byte) error {
		return cu.MemcpyHtoDAsync(cu.DevicePtr(dst.Add(dstOff)), unsafe.Pointer(unsafe.SliceData(mem)), int64(n), s.st)
	})
}

// CopyDtoH copies to pinned host memory with cuMemcpyDtoHAsync.
func (s *gpuStream) CopyDtoH(dst *HostBuffer, dstOff int, src DevicePtr, srcOff, n int) error {
	const op = "CopyDtoH"
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if err := s.d.allocs.check(op, "source", src, srcOff, n); err != nil {
		return err
	}
	return s.copyHost(op, dst, true, dstOff, n, func(mem []byte) error {
		return cu.MemcpyDtoHAsync(unsafe.Pointer(unsafe.SliceData(mem)), cu.DevicePtr(src.Add(srcOff)), int64(n), s.st)
	})
}

// CopyDtoD copies between device allocations with cuMemcpyDtoDAsync.
func (s *gpuStream) CopyDtoD(dst DevicePtr, dstOff int, src DevicePtr, srcOff, n int) error {
	const op = "CopyDtoD"
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if err := s.d.allocs.check(op, "destination", dst, dstOff, n); err != nil {
		return err
	}
	if err := s.d.allocs.check(op, "source", src, srcOff, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	err := s.d.call(func() error {
		return cu.MemcpyDtoDAsync(cu.DevicePtr(dst.Add(dstOff)), cu.DevicePtr(src.Add(srcOff)), int64(n), s.st)
	})
	if err != nil {
		return s.d.fail(op, err)
	}
	return nil
}

// Memset sets bytes with cuMemsetD8Async.
func (s *gpuStream) Memset(dst DevicePtr, off, n int, value byte) error {
	const op = "Memset"
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if err := s.d.allocs.check(op, "destination", dst, off, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := s.d.call(func() error { return cu.MemsetD8Async(cu.DevicePtr(dst.Add(off)), value, int64(n), s.st) }); err != nil {
		return s.d.fail(op, err)
	}
	return nil
}

// Launch checks the kernel, configuration and arguments (against the
// device's limits, the kernel's own limits from cuFuncGetAttribute, the
// device's live allocations for pointer arguments, and the kernel's own
// check from cuda/kernels where it has one), then enqueues it with
// cuLaunchKernel, passing the arguments from a fixed-size array.
func (s *gpuStream) Launch(k Kernel, cfg LaunchConfig, args ...Arg) error {
	kk, ok := k.(*gpuKernel)
	if !ok || kk == nil {
		if k == nil || kk == nil && ok {
			return errorf("Launch", ErrInvalidValue, "nil kernel")
		}
		return errorf("Launch", ErrForeign, "kernel %v is not from this device", k.Spec())
	}
	op := kk.op
	if kk.d != s.d {
		return errorf(op, ErrForeign, "kernel is from another device")
	}
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if err := kk.validate(op, cfg); err != nil {
		return err
	}
	var bits argBits
	var sizes []int
	if kk.check != nil && len(args) <= maxKernelParams {
		sizes = make([]int, len(args))
	}
	if err := packArgs(op, &kk.spec, args, &s.d.allocs, &bits, sizes); err != nil {
		return err
	}
	if kk.check != nil {
		// The kernel's own check (cuda/kernels): buffer sizes, counts and
		// block shape, which a GPU would not check but fault on or
		// silently get wrong.
		if err := kk.check(op, &kk.spec, cfg, args, sizes); err != nil {
			return err
		}
	}
	if r := s.d.launch(kk.fn, cfg.Grid.Norm(), cfg.Block.Norm(), cfg.SharedMem, s.st, &bits, len(args)); r != cuSuccess {
		return s.d.failCode(op, r)
	}
	return nil
}

// RecordEvent records e with cuEventRecord.
func (s *gpuStream) RecordEvent(e Event) error {
	return s.eventOp("RecordEvent", e, func(ev *gpuEvent) error {
		err := s.d.call(func() error { return ev.ev.Record(s.st) })
		if err == nil {
			ev.rec, ev.seq, ev.mark = s, s.seq, s.order.Mark()
		}
		return err
	})
}

// WaitEvent makes later work wait for e with cuStreamWaitEvent.
func (s *gpuStream) WaitEvent(e Event) error {
	return s.eventOp("WaitEvent", e, func(ev *gpuEvent) error {
		err := s.d.call(func() error { return s.st.Wait(ev.ev, 0) })
		if err == nil {
			s.order.Wait(ev.mark) // the mark of the record the driver's wait follows
		}
		return err
	})
}

// eventOp runs f, one driver call on s and e's event, with both in use
// and s.mu then ev.mu held (the order every path takes them in), and
// turns a driver error into the backend's.
func (s *gpuStream) eventOp(op string, e Event, f func(ev *gpuEvent) error) error {
	ev, err := s.d.event(op, e)
	if err != nil {
		return err
	}
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	if !ev.g.enter() {
		return &Error{Op: op, Detail: "event is closed", Err: ErrClosed}
	}
	defer ev.g.exit()
	s.mu.Lock()
	ev.mu.Lock()
	err = f(ev)
	ev.mu.Unlock()
	s.mu.Unlock()
	if err != nil {
		return s.d.fail(op, err)
	}
	return nil
}

// LaunchHostFunc enqueues fn with cuStreamAddCallback; see addHostFunc.
func (s *gpuStream) LaunchHostFunc(fn func(err error)) error {
	const op = "LaunchHostFunc"
	if fn == nil {
		return errorf(op, ErrInvalidValue, "nil host function")
	}
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addHostFunc(op, fn)
}

// Synchronize waits for the stream with cuStreamSynchronize.
func (s *gpuStream) Synchronize() error {
	const op = "Stream.Synchronize"
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.exit()
	seq := s.mark()
	if err := s.d.call(s.st.Synchronize); err != nil {
		return s.d.fail(op, err)
	}
	s.retire(seq)
	return nil
}

// Close destroys the stream with cuStreamDestroy, which lets work already
// submitted finish.
func (s *gpuStream) Close() error {
	if err := s.d.closeHandle("Stream.Close", "stream", &s.g, s.st.Destroy); err != nil {
		return err
	}
	if s.nuses.Load() == 0 {
		s.d.mu.Lock()
		delete(s.d.streams, s)
		s.d.mu.Unlock()
	}
	return nil
}
