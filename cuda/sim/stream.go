package sim

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
	"github.com/coawait/coawait/cuda/kernels"
)

// Stream is a simulated stream: an in-order queue served by one goroutine
// owned by the device. Create it with Device.NewStream.
type Stream struct {
	d    *Device // written once
	prio int     // written once

	notify chan struct{} // capacity 1: work was queued or the stream closed

	// guarded by d.mu:
	queue   []task        // submitted, not yet taken by the goroutine
	order   *kit.Queue    // the stream's place in the device's order
	tail    time.Duration // modeled end of the last submitted task
	slow    float64       // duration factor (SlowStream)
	closing bool          // Close was called

	spare []task // owned by the goroutine: recycled queue storage

	// watchers are the channels of NotifyCompletions: replaced, never
	// changed, under d.mu; read by the goroutine without it.
	watchers atomic.Pointer[[]chan<- struct{}]
}

// task is one queued operation. Exactly one of the kind-specific fields
// groups is set.
type task struct {
	kind       Op
	start, end time.Duration // modeled
	fault      error         // a sticky injected fault to raise when run

	dst, src  []byte           // copies; dst for memset
	value     byte             // memset
	host      *cuda.HostBuffer // released when the task ends
	hostClaim kit.Use          // host's claim

	kernel *Kernel // launch
	call   *Call

	mark *mark       // record / sync: completed when the task ends
	wait *mark       // WaitEvent
	fn   func(error) // host function
}

// opSync is the internal kind of a Synchronize marker; it is never counted
// for faults.
const opSync Op = -1

// Device returns the device that made the stream.
func (s *Stream) Device() cuda.Device { return s.d }

// Priority returns the clamped priority. The simulator records it but does
// not schedule by it.
func (s *Stream) Priority() int { return s.prio }

// usableLocked checks the device and the stream. d.mu must be held.
func (s *Stream) usableLocked(op string) error {
	if err := s.d.usableLocked(op); err != nil {
		return err
	}
	if s.closing {
		return kit.Errorf(op, cuda.ErrClosed, "stream is closed")
	}
	return nil
}

// submitLocked applies faults and the timing model to t and queues it.
// eng is the copy engine index or -1. d.mu must be held.
func (s *Stream) submitLocked(t *task, dur time.Duration, eng int) error {
	d := s.d
	if t.kind != opSync {
		if err := d.faultLocked(t.kind, t); err != nil {
			return err
		}
	}
	ready := max(s.tail, d.hostNow()+d.cfg.Timing.LaunchLatency)
	if s.slow != 1 {
		dur = time.Duration(float64(dur) * s.slow)
	}
	start := ready
	switch {
	case t.wait != nil:
		start = max(start, t.wait.t)
	case eng >= 0 && dur > 0:
		start = d.engines[eng].reserve(ready, dur)
	}
	t.start, t.end = start, start+dur
	s.tail = t.end
	if t.mark != nil {
		t.mark.t = t.end
	}
	s.queue = append(s.queue, *t)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (s *Stream) copyEngine(dir Op) int {
	if dir == OpCopyDtoH && s.d.cfg.Timing.CopyEngines > 1 {
		return 1
	}
	return 0
}

// CopyHtoD queues a host-to-device copy. src stays busy until it is done.
func (s *Stream) CopyHtoD(dst cuda.DevicePtr, dstOff int, src *cuda.HostBuffer, srcOff, n int) error {
	return s.hostCopy("CopyHtoD", OpCopyHtoD, src, srcOff, dst, dstOff, n)
}

// CopyDtoH queues a device-to-host copy. dst stays busy until it is done.
func (s *Stream) CopyDtoH(dst *cuda.HostBuffer, dstOff int, src cuda.DevicePtr, srcOff, n int) error {
	return s.hostCopy("CopyDtoH", OpCopyDtoH, dst, dstOff, src, srcOff, n)
}

// hostCopy queues a copy of n bytes between h[hostOff:] and dev+devOff:
// to the device for OpCopyHtoD, to the host (which it then writes) for
// OpCopyDtoH. h stays busy until the copy is done.
func (s *Stream) hostCopy(op string, kind Op, h *cuda.HostBuffer, hostOff int, dev cuda.DevicePtr, devOff, n int) error {
	toHost := kind == OpCopyDtoH
	devWhat, hostWhat := "destination", "source"
	if toHost {
		devWhat, hostWhat = "source", "destination"
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	dm, err := d.resolveLocked(op, devWhat, dev, devOff, n)
	if err != nil {
		return err
	}
	if h == nil {
		return kit.Errorf(op, cuda.ErrInvalidValue, "nil %s buffer", hostWhat)
	}
	if owner := h.Device(); owner != nil && owner != cuda.Device(d) {
		// A GPU can copy asynchronously only from memory it pinned itself.
		return kit.Errorf(op, cuda.ErrForeign, "%s host buffer was allocated by another device "+
			"(asynchronous copies need the device's own pinned memory: use its AllocHost)", hostWhat)
	}
	hm, claim, err := kit.Acquire(h, op, s.order, toHost, hostOff, n)
	if err != nil {
		return err
	}
	t := task{kind: kind, dst: dm, src: hm, host: h, hostClaim: claim}
	dur := d.cfg.Timing.CopyHtoD(n)
	if toHost {
		t.dst, t.src = hm, dm
		dur = d.cfg.Timing.CopyDtoH(n)
	}
	if err := s.submitLocked(&t, dur, s.copyEngine(kind)); err != nil {
		kit.Release(h, claim)
		return err
	}
	return nil
}

// CopyDtoD queues a device-to-device copy.
func (s *Stream) CopyDtoD(dst cuda.DevicePtr, dstOff int, src cuda.DevicePtr, srcOff, n int) error {
	const op = "CopyDtoD"
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	dm, err := d.resolveLocked(op, "destination", dst, dstOff, n)
	if err != nil {
		return err
	}
	sm, err := d.resolveLocked(op, "source", src, srcOff, n)
	if err != nil {
		return err
	}
	t := task{kind: OpCopyDtoD, dst: dm, src: sm}
	return s.submitLocked(&t, d.cfg.Timing.CopyDtoD(n), -1)
}

// Memset queues setting n bytes at dst+off to value.
func (s *Stream) Memset(dst cuda.DevicePtr, off, n int, value byte) error {
	const op = "Memset"
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	dm, err := d.resolveLocked(op, "destination", dst, off, n)
	if err != nil {
		return err
	}
	t := task{kind: OpMemset, dst: dm, value: value}
	return s.submitLocked(&t, d.cfg.Timing.Memset(n), -1)
}

// Launch checks and queues a kernel launch: the kernel must be from this
// device, cfg within the device limits, args must match the parameter
// list, pointer arguments must point into live allocations, and the
// kernel's own Check must pass.
func (s *Stream) Launch(k cuda.Kernel, cfg cuda.LaunchConfig, args ...cuda.Arg) error {
	d := s.d
	kk, ok := k.(*Kernel)
	if !ok || kk == nil || kk.d != d {
		if k == nil || ok && kk == nil {
			return kit.Errorf("Launch", cuda.ErrInvalidValue, "nil kernel")
		}
		return kit.Errorf("Launch", cuda.ErrForeign, "kernel %v is not from this device", k)
	}
	op := kk.op
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	if err := kit.ValidateLaunch(op, cfg, &d.props); err != nil {
		return err
	}
	if err := kit.CheckArgs(op, kk.def.Spec, args); err != nil {
		return err
	}
	var mem [][]byte
	for i, a := range args {
		if a.Kind() != cuda.ParamPtr || a.Ptr() == 0 {
			continue
		}
		_, al := d.findLocked(a.Ptr())
		if al == nil {
			return d.pointerError(op, fmt.Sprintf("argument %d%s", i, paramName(kk.def.Spec, i)), a.Ptr())
		}
		if mem == nil {
			mem = make([][]byte, len(args))
		}
		mem[i] = al.mem[uintptr(a.Ptr())-al.base:]
	}
	c := kernels.NewCall(op, &kk.def.Spec, cfg, append([]cuda.Arg(nil), args...), mem)
	if kk.def.Check != nil {
		if err := kk.def.Check(c); err != nil {
			return asInvalid(op, err)
		}
	}
	var dur time.Duration
	if kk.def.Cost != nil {
		dur = max(kk.def.Cost(cfg, c.Args), 0)
	}
	t := task{kind: OpLaunch, kernel: kk, call: c}
	return s.submitLocked(&t, dur, -1)
}

// RecordEvent makes e mark the current end of the stream.
func (s *Stream) RecordEvent(e cuda.Event) error {
	const op = "RecordEvent"
	d := s.d
	ev, err := d.event(op, e)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	if ev.closedFlag.Load() {
		return kit.Errorf(op, cuda.ErrClosed, "event is closed")
	}
	m := &mark{done: make(chan struct{})}
	t := task{kind: OpRecordEvent, mark: m}
	if err := s.submitLocked(&t, 0, -1); err != nil {
		return err
	}
	m.order = s.order.Mark()
	ev.m.Store(m)
	return nil
}

// WaitEvent makes later work on the stream wait for e as recorded now.
func (s *Stream) WaitEvent(e cuda.Event) error {
	const op = "WaitEvent"
	d := s.d
	ev, err := d.event(op, e)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	if ev.closedFlag.Load() {
		return kit.Errorf(op, cuda.ErrClosed, "event is closed")
	}
	m := ev.m.Load()
	if m == nil {
		return nil // never recorded: nothing to wait for
	}
	t := task{kind: OpWaitEvent, wait: m}
	if err := s.submitLocked(&t, 0, -1); err != nil {
		return err
	}
	s.order.Wait(m.order)
	return nil
}

// LaunchHostFunc queues fn; see cuda.HostFuncLauncher. fn runs on the
// stream's goroutine. A panic in fn makes the device lost.
func (s *Stream) LaunchHostFunc(fn func(err error)) error {
	const op = "LaunchHostFunc"
	if fn == nil {
		return kit.Errorf(op, cuda.ErrInvalidValue, "nil function")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked(op); err != nil {
		return err
	}
	t := task{kind: OpHostFunc, fn: fn}
	return s.submitLocked(&t, 0, -1)
}

// Synchronize waits until all work submitted to the stream so far is done.
func (s *Stream) Synchronize() error {
	const op = "Stream.Synchronize"
	d := s.d
	d.mu.Lock()
	if err := s.usableLocked(op); err != nil {
		d.mu.Unlock()
		return err
	}
	m := &mark{done: make(chan struct{})}
	s.submitLocked(&task{kind: opSync, mark: m}, 0, -1) // opSync never fails
	d.mu.Unlock()
	return d.waitMark(op, m)
}

// Close closes the stream: queued work still runs, then its goroutine
// exits. Later submissions fail with cuda.ErrClosed.
func (s *Stream) Close() error {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := s.usableLocked("Stream.Close"); err != nil {
		return err
	}
	s.closing = true
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}
