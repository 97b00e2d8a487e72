package scheduler

import (
	"errors"
	"runtime/trace"
	"slices"
	"strings"
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

// Error formats the error as "scheduler: Op: cause", saying each thing
// once: without the prefix of a cause of this package, and without the
// "cuda: Op: " of a device error about the same operation.
func (e *OpError) Error() string {
	var msg string
	if ce, ok := e.Err.(*cuda.Error); ok && (strings.HasPrefix(e.Op, ce.Op) || strings.HasSuffix(ce.Op, "."+e.Op)) {
		msg = strings.TrimPrefix(ce.Error(), "cuda: "+ce.Op+": ")
	} else {
		msg = strings.TrimPrefix(e.Err.Error(), "scheduler: ")
	}
	return "scheduler: " + e.Op + ": " + msg
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Is reports whether target is ErrForeign and the cause matches
// cuda.ErrForeign: a device's refusal of a foreign handle is the
// scheduler's too.
func (e *OpError) Is(target error) bool {
	return target == ErrForeign && errors.Is(e.Err, cuda.ErrForeign)
}

// ErrDependency is wrapped by the error of an operation that was not
// submitted because one of its dependencies failed; the dependency's error
// is wrapped too.
var ErrDependency = errors.New("scheduler: a dependency failed")

// An OpOption configures one operation; [After] and [OnStream] make them.
// Options are values rather than functions, so that passing them costs no
// allocation. The zero OpOption configures nothing.
type OpOption struct {
	deps   []future.Awaitable
	stream cuda.Stream
}

// After makes the operation wait for deps. An Op of the same scheduler that
// is on its stream is waited for on the device (the new operation's stream
// waits for the Op's event; no host round trip); so is its Future
// (After(op.Future) is After(op)). Any other future — a batch being
// loaded, or an Op that is itself still waiting for such a future — delays
// the submission of the operation until it settles. An Op of another
// scheduler is refused with ErrForeign. If a dependency fails, the
// operation fails with an error wrapping ErrDependency and the
// dependency's error, and is not submitted. After keeps a copy of deps,
// not deps itself.
func After(deps ...future.Awaitable) OpOption {
	return OpOption{deps: slices.Clone(deps)}
}

// OnStream submits the operation to st instead of its default stream. st
// must be a stream of the scheduler's device (a stream of another device
// is refused with ErrForeign, and nothing is enqueued); the scheduler does
// not own it.
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
