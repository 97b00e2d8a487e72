//go:build gc && !go1.27 && !race && !msan && !asan && !coawait_nolinkname

package future

import (
	"sync/atomic"
	"unsafe"
)

// This file parks the first waiter of a future with the Go runtime's own
// primitives, gopark and goready, the way channels do inside the runtime.
//
// Why: a sync.Cond, the alternative in park_cond.go, costs about five more
// atomic read-modify-write operations per hand-off than a channel (its
// copy check, the ticket of its notify list, the list's lock taken by
// both sides, the publication of the notify count), and made resolving a
// future and waking its waiter 1.2–1.3 times as slow as an unbuffered
// channel. Parking directly costs one atomic exchange on each side (the
// waiter publishes itself, the settler takes it), so the hand-off is
// cheaper than a channel's, and a Future is 48 bytes smaller.
//
// Why it is safe to depend on: runtime.gopark and runtime.goready are
// among the runtime functions that the Go project keeps reachable
// through go:linkname, with the promise "Do not remove or change the type
// signature" (go.dev/issue/67401; gVisor parks the same way). What is not
// promised are the values of the wait reason and the trace block reason,
// two small enumerations internal to the runtime. So this file is built
// only for the Go releases whose values were checked (TestParkReasons
// reads them from the runtime's source); any other release, the race
// detector (a callback on the runtime's system stack has no race context),
// the memory and address sanitizers (which instrument it likewise) and the
// build tag coawait_nolinkname use park_cond.go instead, which is slower
// and otherwise the same.
//
// The wait reason is the one sync.Cond.Wait uses. So testing/synctest
// counts a parked waiter as durably blocked, as it counts a sync.Cond
// waiter, and a goroutine dump shows it as [sync.Cond.Wait].
//
// What this parker does not do is record block-profile events: the
// runtime times a park only when block profiling is on, and the rate that
// says so cannot be read from outside the runtime. Timing every park
// (runtime.cputicks twice, about 50ns on the machine this was measured on)
// would cost more than the park saves. Build with coawait_nolinkname to
// see Await in the block profile.

// Values of runtime.waitReason and runtime.traceBlockReason in the Go
// releases this file is built for.
const (
	waitReasonSyncCondWait = 21 // runtime.waitReasonSyncCondWait
	traceBlockCondWait     = 4  // runtime.traceBlockCondWait
)

//go:linkname gopark runtime.gopark
func gopark(unlockf func(gp uintptr, lock unsafe.Pointer) bool, lock unsafe.Pointer, reason uint8, traceReason uint8, traceskip int)

//go:linkname goready runtime.goready
func goready(gp uintptr, traceskip int)

// A parker holds the goroutine parked on a future. The zero parker holds
// none.
//
// The goroutine is kept as a uintptr: goroutine descriptors are never
// freed or moved (the runtime keeps every one it made in a list), and
// commitPark runs on the system stack, where a pointer store would need a
// write barrier.
type parker struct {
	g atomic.Uintptr
}

// park blocks until s is done or its waiter's context is (watchCancel). Only the goroutine that claimed watchPark
// calls it, at most once per future.
//
// s is on the heap: gopark has no body the compiler can see, so s escapes
// through it (go build -gcflags=-m: "leaking param: s"). That matters,
// because commitPark runs after the goroutine is already waiting, when the
// garbage collector may move its stack.
func (s *signal) park() {
	for s.state.Load() != stateDone && s.watched.Load()&watchCancel == 0 {
		gopark(commitPark, unsafe.Pointer(s), waitReasonSyncCondWait, traceBlockCondWait, 1)
	}
}

// commitPark runs on the system stack once the waiting goroutine gp is
// off its processor, and decides whether it stays parked. It publishes gp
// for unpark and then checks the state: publishing and checking are
// sequentially consistent, as are unpark's publishing of the state and its
// taking of gp, so either unpark takes gp and readies it, or commitPark
// sees the future done and takes gp back itself (returning false resumes
// gp at once). Exactly one of them succeeds, so gp is never readied twice
// and never left parked.
//
//go:nosplit
func commitPark(gp uintptr, sp unsafe.Pointer) bool {
	s := (*signal)(sp)
	s.p.g.Store(gp)
	if (s.state.Load() == stateDone || s.watched.Load()&watchCancel != 0) && s.p.g.CompareAndSwap(gp, 0) {
		return false
	}
	return true
}

// unpark readies the goroutine parked on s, if there is one. The settler
// calls it once, after it has published the state.
func (s *signal) unpark() {
	if gp := s.p.g.Swap(0); gp != 0 {
		goready(gp, 1)
	}
}
