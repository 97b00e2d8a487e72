package scheduler

import (
	"context"
	"errors"
	"reflect"
	"runtime/trace"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
)

// Op is one device operation: a future of its result (embedded, so an *Op
// has Await, Done, OnDone, Peek and the rest, and can be passed to
// future.Join) that also knows the device event marking its completion, so
// that later operations can depend on it on the GPU through [After].
type Op[T any] struct {
	// c comes first: the loop, which sees only the *opCore, turns it back
	// into the *Op (see opCore.settle), so that no Op needs to carry a
	// pointer to itself.
	c opCore

	*future.Future[T]

	val T // the value the future settles with on success
	p   future.Promise[T]
}

// An OpError is the error of a failed operation: it names the operation and
// wraps the cause (a device error, a failed dependency, ErrClosed).
type OpError struct {
	Op  string
	Err error
}

func (e *OpError) Error() string { return "scheduler: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// ErrDependency is wrapped by the error of an operation that was not
// submitted because one of its dependencies failed; the dependency's error
// is wrapped too.
var ErrDependency = errors.New("a dependency failed")

// An OpOption configures one operation; [After] and [OnStream] make them.
// Options are values rather than functions, so that passing them costs no
// allocation. The zero OpOption configures nothing.
type OpOption struct {
	deps   []future.Awaitable
	stream cuda.Stream
}

// After makes the operation wait for deps. An Op of the same scheduler that
// is on its stream is waited for on the device (the new operation's stream
// waits for the Op's event; no host round trip). Any other future — a batch
// being loaded, or an Op that is itself still waiting for such a future —
// delays the submission of the operation until it settles. An Op of
// another scheduler is refused with ErrForeign. If a dependency fails, the operation fails
// with an error wrapping ErrDependency and the dependency's error, and is
// not submitted.
// After keeps a copy of deps, not deps itself.
func After(deps ...future.Awaitable) OpOption {
	return OpOption{deps: slices.Clone(deps)}
}

// OnStream submits the operation to st instead of its default stream. st
// must be a stream of the scheduler's device; the scheduler does not own it.
// OnStream(nil) configures nothing. Of several OnStream options, the last
// that is not nil wins.
func OnStream(st cuda.Stream) OpOption {
	return OpOption{stream: st}
}

// opCore is the untyped part of an operation: what the loop needs to
// settle it and dependents need to wait for it. What to enqueue (params)
// and the dependencies are not kept here: they live on the submitting
// goroutine's stack, or, for an operation waiting for a host dependency,
// in the closure that submits it later. An Op is allocated per operation,
// and its size is most of what submitting costs beyond the device call.
type opCore struct {
	lane   *lane // its stream; lane.s is the scheduler
	kernel cuda.Kernel
	kind   opKind
	// deferred is set before the op waits for a host dependency: it is
	// then published to the caller before it is enqueued.
	deferred bool
	// seq is the low 32 bits of the submission number, for Blocking's
	// oldest-first (compared modulo 2^32: pending operations are never
	// 2^31 submissions apart); other policies leave it zero. Written
	// under lane.mu before the op is queued.
	seq uint32

	mu sync.Mutex // guards ev against dependents reading it
	ev cuda.Event // recorded after the operation; nil once settled

	x *opExtra // with spans or runtime/trace only, else nil
}

// opExtra is what an operation needs only for spans or runtime/trace,
// kept apart so that the common operation stays small.
type opExtra struct {
	startEv   cuda.Event // recorded before the operation, with spans
	submitted time.Time  // with spans
	task      *trace.Task
}

// opOf returns the *Op[T] whose first field is c. Every opCore is made by
// newOp as the first field of an Op, and the kind of operation tells its
// T: an Op[*cuda.HostBuffer] for CopyDtoH, an Op[cuda.DevicePtr] for
// Alloc, an Op[struct{}] for every other kind (see settle). The public
// constructors below keep to that; TestOpKinds checks it.
func opOf[T any](c *opCore) *Op[T] {
	return (*Op[T])(unsafe.Pointer(c))
}

// settle settles c's Op with err, or with its value if err is nil, and
// returns its callbacks for the caller to run.
func (c *opCore) settle(err error) future.Callbacks {
	switch c.kind {
	case opDtoH:
		return settleOp(opOf[*cuda.HostBuffer](c), err)
	case opAlloc:
		return settleOp(opOf[cuda.DevicePtr](c), err)
	default:
		return settleOp(opOf[struct{}](c), err)
	}
}

func settleOp[T any](o *Op[T], err error) future.Callbacks {
	cbs, _ := o.p.SettleDeferred(o.val, err)
	return cbs
}

type opKind uint8

const (
	opHtoD opKind = iota
	opDtoH
	opDtoD
	opMemset
	opLaunch
	opAlloc
	opFree
)

// params are an operation's arguments: what to enqueue on its stream.
type params struct {
	value          byte
	dst, src       cuda.DevicePtr
	host           *cuda.HostBuffer
	dstOff, srcOff int
	n              int
	cfg            cuda.LaunchConfig
	args           []cuda.Arg
}

// run enqueues c's operation, with arguments a, on st.
func (c *opCore) run(a *params, st cuda.Stream) error {
	switch c.kind {
	case opHtoD:
		return st.CopyHtoD(a.dst, a.dstOff, a.host, a.srcOff, a.n)
	case opDtoH:
		return st.CopyDtoH(a.host, a.dstOff, a.src, a.srcOff, a.n)
	case opDtoD:
		return st.CopyDtoD(a.dst, a.dstOff, a.src, a.srcOff, a.n)
	case opMemset:
		return st.Memset(a.dst, a.dstOff, a.n, a.value)
	case opLaunch:
		return st.Launch(c.kernel, a.cfg, a.args...)
	case opAlloc:
		p, err := c.lane.s.pool().Alloc(st, a.n)
		opOf[cuda.DevicePtr](c).val = p // read by the loop after the op is queued
		return err
	default:
		return c.lane.s.pool().Free(st, a.dst)
	}
}

// opNames are the names of the kinds of operation, for errors and traces.
var opNames = [...]string{
	opHtoD:   "CopyHtoD",
	opDtoH:   "CopyDtoH",
	opDtoD:   "CopyDtoD",
	opMemset: "Memset",
	opLaunch: "Launch",
	opAlloc:  "Alloc",
	opFree:   "Free",
}

// opName names the operation in errors and traces.
func (c *opCore) opName() string {
	if c.kind == opLaunch && c.kernel != nil {
		return "Launch " + c.kernel.Spec().Name
	}
	return opNames[c.kind]
}

func (o *Op[T]) core() *opCore { return &o.c }

// deviceOp is implemented by every *Op of this package.
type deviceOp interface {
	core() *opCore
}

// enqueued reports whether c is on its stream with its event recorded (and
// not yet settled).
func (c *opCore) enqueued() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ev != nil
}

func (c *opCore) errorf(err error) error {
	var oe *OpError
	name := c.opName()
	if errors.As(err, &oe) && oe.Op == name {
		return err
	}
	return &OpError{Op: name, Err: err}
}

func (c *opCore) finishTask() {
	if c.x != nil && c.x.task != nil {
		c.x.task.End()
		c.x.task = nil
	}
}

// extra returns c's opExtra, making it on first use.
func (c *opCore) extra() *opExtra {
	if c.x == nil {
		c.x = new(opExtra)
	}
	return c.x
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
	if stream != nil {
		c.lane = s.laneFor(stream)
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
	for i, d := range deps {
		if d == nil || isNilPointer(d) {
			s.reject(c, errors.New("nil dependency at index "+strconv.Itoa(i)))
			return
		}
		if dop, ok := d.(deviceOp); ok {
			x := dop.core()
			if x.lane.s != s {
				s.reject(c, ErrForeign)
				return
			}
			if x.enqueued() || d.IsDone() {
				continue // waited for on the device (or checked), below
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
// dependencies among deps, records its event and queues it for the loop.
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
	if s.opts.policy == Blocking {
		c.seq = uint32(s.seq.Add(1))
	}
	if s.opts.policy == HostCallback {
		hl := l.st.(cuda.HostFuncLauncher)
		return hl.LaunchHostFunc(func(err error) {
			s.compMu.Lock()
			s.completions = append(s.completions, completion{c, err})
			s.compMu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
		})
	}
	l.push(c)
	return nil
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
		return cuda.Errorf("", cuda.ErrInvalidValue, "nil host buffer")
	}
	if o := b.Owner(); o != nil && o != any(s.dev) {
		return ErrForeign
	}
	return nil
}

// CopyHtoD copies n bytes from src[srcOff:] to dst+dstOff, on the copy-in
// stream by default. src belongs to the device until the returned Op
// settles (cuda.HostBuffer refuses other use meanwhile).
func (s *Scheduler) CopyHtoD(dst cuda.DevicePtr, dstOff int, src *cuda.HostBuffer, srcOff, n int, opts ...OpOption) *Op[struct{}] {
	o := newOp[struct{}](opHtoD, s.in)
	return start(o, s.checkHost(src), &params{dst: dst, dstOff: dstOff, host: src, srcOff: srcOff, n: n}, opts)
}

// CopyDtoH copies n bytes from src+srcOff to dst[dstOff:], on the copy-out
// stream by default, and settles with dst once the bytes are there.
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
		err = cuda.Errorf("Launch", cuda.ErrInvalidValue, "nil kernel")
	}
	o := newOp[struct{}](opLaunch, s.compute)
	o.c.kernel = k
	return start(o, err, &params{cfg: cfg, args: args}, opts)
}

// Alloc allocates size bytes of device memory from the scheduler's
// stream-ordered pool, on the compute stream by default: the memory may be
// used by work submitted to that stream after the Op, or to any stream
// that depends on the Op. The Op settles with the pointer.
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

// pool returns the scheduler's device memory pool, made on first use.
func (s *Scheduler) pool() *cuda.MemPool {
	s.poolOnce.Do(func() { s.mem = cuda.NewMemPool(s.dev) })
	return s.mem
}
