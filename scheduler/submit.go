package scheduler

import (
	"context"
	"errors"
	"reflect"
	"runtime/trace"
	"slices"
	"strconv"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
)

// CopyHtoD copies n bytes from src[srcOff:] to dst+dstOff, on the copy-in
// stream by default. The bytes of src it reads are claimed when the copy
// is submitted to the device (at once, or when its host dependencies
// settle) and stay the device's until the copy is done there: meanwhile
// src's views fail with cuda.ErrBufferBusy, and so does a copy that writes
// those bytes unless it is ordered after this one (on the same stream, or
// After it, directly or through other operations).
func (s *Scheduler) CopyHtoD(dst cuda.DevicePtr, dstOff int, src *cuda.HostBuffer, srcOff, n int, opts ...OpOption) *Op[struct{}] {
	o := newOp[struct{}](opHtoD, s.in)
	return start(o, s.checkHost(src), &params{dst: dst, dstOff: dstOff, host: src, srcOff: srcOff, n: n}, opts)
}

// CopyDtoH copies n bytes from src+srcOff to dst[dstOff:], on the copy-out
// stream by default, and settles with dst once the bytes are there. The
// bytes of dst it writes are claimed as CopyHtoD claims its source: a copy
// that uses them before this one is done on the device fails with
// cuda.ErrBufferBusy unless it is ordered after it (After(down), or later
// on the same stream), as in
//
//	down := s.CopyDtoH(h, 0, x, 0, n)
//	up := s.CopyHtoD(y, 0, h, 0, n, scheduler.After(down)) // reads h after down, on the device
func (s *Scheduler) CopyDtoH(dst *cuda.HostBuffer, dstOff int, src cuda.DevicePtr, srcOff, n int, opts ...OpOption) *Op[*cuda.HostBuffer] {
	o := newOp[*cuda.HostBuffer](opDtoH, s.out)
	o.val = dst
	return start(o, s.checkHost(dst), &params{host: dst, dstOff: dstOff, src: src, srcOff: srcOff, n: n}, opts)
}

// CopyDtoD copies n bytes between device allocations, on the compute
// stream by default.
func (s *Scheduler) CopyDtoD(dst cuda.DevicePtr, dstOff int, src cuda.DevicePtr, srcOff, n int, opts ...OpOption) *Op[struct{}] {
	o := newOp[struct{}](opDtoD, s.compute)
	return start(o, nil, &params{dst: dst, dstOff: dstOff, src: src, srcOff: srcOff, n: n}, opts)
}

// Memset sets n bytes at dst+off to value, on the compute stream by
// default.
func (s *Scheduler) Memset(dst cuda.DevicePtr, off, n int, value byte, opts ...OpOption) *Op[struct{}] {
	o := newOp[struct{}](opMemset, s.compute)
	return start(o, nil, &params{dst: dst, dstOff: off, n: n, value: value}, opts)
}

// Launch launches kernel k with the given configuration and arguments, on
// the compute stream by default. The device checks the arguments against
// the kernel's parameters before anything is submitted. args must not be
// modified until the Op settles.
func (s *Scheduler) Launch(k cuda.Kernel, cfg cuda.LaunchConfig, args []cuda.Arg, opts ...OpOption) *Op[struct{}] {
	var err error
	if k == nil {
		err = &cuda.Error{Op: "Launch", Detail: "nil kernel", Err: cuda.ErrInvalidValue}
	}
	o := newOp[struct{}](opLaunch, s.compute)
	o.c.kernel = k
	return start(o, err, &params{cfg: cfg, args: args}, opts)
}

// Alloc allocates size bytes of device memory from the scheduler's
// stream-ordered pool, on the compute stream by default: the memory may be
// used by work submitted to that stream after the Op, or to any stream
// that depends on the Op. The Op settles with the pointer. Memory not
// returned with Free is freed by Close.
func (s *Scheduler) Alloc(size int, opts ...OpOption) *Op[cuda.DevicePtr] {
	o := newOp[cuda.DevicePtr](opAlloc, s.compute)
	return start(o, nil, &params{n: size}, opts)
}

// Free returns memory from Alloc to the pool at this point of the compute
// stream (or the chosen stream): work submitted before it may still use the
// memory, work after it must not.
func (s *Scheduler) Free(p cuda.DevicePtr, opts ...OpOption) *Op[struct{}] {
	o := newOp[struct{}](opFree, s.compute)
	return start(o, nil, &params{dst: p}, opts)
}

// newOp makes an operation of kind on lane def; start submits it.
func newOp[T any](kind opKind, def *lane) *Op[T] {
	o := &Op[T]{}
	o.Future = o.p.Future()
	c := &o.c
	c.lane, c.kind = def, kind
	return o
}

// start submits o with arguments a and options opts, or fails it with err
// (a check of the caller's) without submitting anything.
func start[T any](o *Op[T], err error, a *params, opts []OpOption) *Op[T] {
	c := &o.c
	s := c.lane.s
	var stream cuda.Stream
	var deps []future.Awaitable
	for i := range opts {
		opt := &opts[i]
		if opt.stream != nil {
			stream = opt.stream
		}
		if deps == nil {
			deps = opt.deps // a copy of After's, owned by the option
		} else {
			deps = append(deps[:len(deps):len(deps)], opt.deps...)
		}
	}
	if stream != nil && err == nil {
		if l := s.laneFor(stream); l != nil {
			c.lane = l
		} else {
			err = &cuda.Error{Detail: "the stream belongs to another device", Err: cuda.ErrForeign}
		}
	}
	if err != nil {
		s.reject(c, err)
	} else {
		s.submit(c, a, deps)
	}
	return o
}

// reject settles c's operation with err on the calling goroutine, without
// submitting it.
func (s *Scheduler) reject(c *opCore, err error) {
	s.m.rejected.Add(1)
	c.finishTask()
	c.settle(c.errorf(err)).Run()
}

// submit submits c, with arguments a, to the device after deps, or defers
// it until those of deps that are pending host futures settle.
func (s *Scheduler) submit(c *opCore, a *params, deps []future.Awaitable) {
	var hostWait []future.Awaitable
	cloned := false // deps is the option's slice, which may be shared, until cloned
	for i, d := range deps {
		if d == nil || isNilPointer(d) {
			s.reject(c, errors.New("nil dependency at index "+strconv.Itoa(i)))
			return
		}
		if op := s.opOfFuture(d); op != nil {
			// The Future of one of this scheduler's operations: wait for
			// the operation on the device, as After(op) does.
			if !cloned {
				deps, cloned = slices.Clone(deps), true
			}
			deps[i], d = op, op
		}
		if dop, ok := d.(deviceOp); ok {
			x := dop.core()
			if x.lane.s != s {
				s.reject(c, &cuda.Error{Detail: "dependency " + strconv.Itoa(i) + " is another scheduler's operation", Err: cuda.ErrForeign})
				return
			}
			if d.IsDone() {
				if err := d.Err(); err != nil {
					// Refused before any of its waits is enqueued.
					s.reject(c, errors.Join(ErrDependency, err))
					return
				}
				continue
			}
			if x.enqueued() {
				continue // waited for on the device, below
			}
			// x is itself still waiting for a host dependency, so it has
			// no event yet: wait for it on the host instead.
		}
		if !d.IsDone() {
			hostWait = append(hostWait, d)
			continue
		}
		if err := d.Err(); err != nil {
			s.reject(c, errors.Join(ErrDependency, err))
			return
		}
	}
	if len(hostWait) > 0 {
		c.deferred = true
		later := *a // a may be on the caller's stack
		future.Join(hostWait...).OnDone(func() { s.submit(c, &later, deps) })
		return
	}
	// Count the operation before checking for Close, so that the loop,
	// which ends only when closed with nothing pending, cannot miss it.
	s.pending.Add(1)
	if s.closed.Load() {
		s.pending.Add(-1)
		s.reject(c, ErrClosed)
		return
	}
	if err := s.enqueue(c, a, deps); err != nil {
		s.pending.Add(-1)
		s.reject(c, err)
		return
	}
	s.nudge()
}

// enqueue puts c, with arguments a, on its stream after its device
// dependencies among deps, records its event and hands it to the loop
// through the completion policy (policy.go).
func (s *Scheduler) enqueue(c *opCore, a *params, deps []future.Awaitable) error {
	l := c.lane
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range deps {
		dop, ok := d.(deviceOp)
		if !ok {
			continue
		}
		x := dop.core()
		x.mu.Lock()
		ev := x.ev
		if ev != nil {
			if err := l.st.WaitEvent(ev); err != nil {
				x.mu.Unlock()
				return err
			}
		}
		x.mu.Unlock()
		if ev == nil {
			// Settled: its event is gone, and its result is final.
			if err := d.Err(); err != nil {
				return errors.Join(ErrDependency, err)
			}
		}
	}
	if s.opts.spans > 0 {
		ev, err := s.event(l)
		if err != nil {
			return err
		}
		if err := l.st.RecordEvent(ev); err != nil {
			l.idle = append(l.idle, ev)
			return err
		}
		x := c.extra()
		x.startEv, x.submitted = ev, time.Now()
	}
	if err := c.run(a, l.st); err != nil {
		return err
	}
	ev, err := s.event(l)
	if err == nil {
		err = l.st.RecordEvent(ev)
	}
	if err != nil {
		// The work is on the stream but cannot be watched: wait for it
		// here so that its buffers are free when the future fails.
		l.st.Synchronize()
		if ev != nil {
			l.idle = append(l.idle, ev)
		}
		return err
	}
	if trace.IsEnabled() {
		_, c.extra().task = trace.NewTask(context.Background(), "coawait."+c.opName())
	}
	if c.deferred {
		// Published: a dependent may be reading c.ev.
		c.mu.Lock()
		c.ev = ev
		c.mu.Unlock()
	} else {
		c.ev = ev // not yet returned to the caller: nobody else sees c
	}
	l.submitted++
	return s.pol.queue(l, c)
}

// isNilPointer reports whether d holds a nil pointer, such as a nil *Op
// or *future.Future, whose methods would dereference it.
func isNilPointer(d future.Awaitable) bool {
	v := reflect.ValueOf(d)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// checkHost refuses a nil host buffer or one of another device.
func (s *Scheduler) checkHost(b *cuda.HostBuffer) error {
	if b == nil {
		return &cuda.Error{Detail: "nil host buffer", Err: cuda.ErrInvalidValue}
	}
	if o := b.Device(); o != nil && o != s.dev {
		return &cuda.Error{Detail: "the host buffer belongs to another device", Err: cuda.ErrForeign}
	}
	return nil
}
