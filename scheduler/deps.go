package scheduler

import (
	"slices"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
)

// opOfFuture returns the pending operation of s whose Future is d, as the
// Awaitable After(op) would have been given, or nil if d is not the
// Future of an operation of s on a stream, or that operation has already
// settled (then d's result is final, and d serves as well). Only a
// pending future of one of the three result types of operations costs a
// search: of the queues of s, under their locks.
func (s *Scheduler) opOfFuture(d future.Awaitable) future.Awaitable {
	var f unsafe.Pointer
	switch x := d.(type) {
	case *future.Future[struct{}]:
		f = unsafe.Pointer(x)
	case *future.Future[*cuda.HostBuffer]:
		f = unsafe.Pointer(x)
	case *future.Future[cuda.DevicePtr]:
		f = unsafe.Pointer(x)
	default:
		return nil
	}
	if d.IsDone() {
		return nil
	}
	for _, l := range *s.lanes.Load() {
		l.mu.Lock()
		for _, c := range l.q[l.head:] {
			if c.futurePtr() == f {
				l.mu.Unlock()
				return c.awaitable()
			}
		}
		l.mu.Unlock()
	}
	return nil
}

// futurePtr returns the address of the Future of c's Op.
func (c *opCore) futurePtr() unsafe.Pointer {
	switch c.kind {
	case opDtoH:
		return unsafe.Pointer(opOf[*cuda.HostBuffer](c).Future)
	case opAlloc:
		return unsafe.Pointer(opOf[cuda.DevicePtr](c).Future)
	default:
		return unsafe.Pointer(opOf[struct{}](c).Future)
	}
}

// awaitable returns c's Op.
func (c *opCore) awaitable() future.Awaitable {
	switch c.kind {
	case opDtoH:
		return opOf[*cuda.HostBuffer](c)
	case opAlloc:
		return opOf[cuda.DevicePtr](c)
	default:
		return opOf[struct{}](c)
	}
}

// drop removes c from l's queue, where HostCallback keeps operations only
// so that opOfFuture finds them: a stream completes in order, so c is
// almost always at the head.
func (l *lane) drop(c *opCore) {
	l.mu.Lock()
	l.dropLocked(c)
	l.mu.Unlock()
}

// dropLocked is drop for a caller that holds l.mu.
func (l *lane) dropLocked(c *opCore) {
	i := slices.Index(l.q[l.head:], c)
	if i < 0 {
		return
	}
	i += l.head
	copy(l.q[l.head+1:i+1], l.q[l.head:i])
	l.q[l.head] = nil
	l.head++
	l.publishHeadLocked()
}
