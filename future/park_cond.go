//go:build !gc || go1.27 || race || msan || asan || coawait_nolinkname

package future

import "sync"

// This file parks the first waiter of a future on a sync.Cond. It is used
// where park_runtime.go is not: with the race detector or a sanitizer,
// with the build tag coawait_nolinkname, and on Go releases or compilers
// for which the runtime's parking was not checked. See park_runtime.go for why that is
// the default.

// A parker is the condition variable a future's first waiter parks on.
// The zero parker is ready to use.
//
// Its L is the signal itself: Lock does nothing, and Unlock, which
// sync.Cond.Wait calls after it has taken the waiter's ticket and before
// it parks, broadcasts if the future has settled meanwhile, so that a
// waiter whose ticket came after the settler's broadcast does not park
// forever. The settler never takes a lock.
type parker struct {
	cond sync.Cond
}

// park blocks until s is done or its waiter's context is (watchCancel). Only the goroutine that claimed watchPark
// calls it, at most once per future.
func (s *signal) park() {
	s.p.cond.L = s
	for s.state.Load() != stateDone && s.watched.Load()&watchCancel == 0 {
		s.p.cond.Wait()
	}
}

// unpark wakes the goroutine parked on s, if there is one. The settler
// calls it once, after it has published the state.
func (s *signal) unpark() {
	s.p.cond.Broadcast()
}

// Lock implements sync.Locker for the condition variable; it does nothing.
func (s *signal) Lock() {}

// Unlock implements sync.Locker for the condition variable; see parker.
func (s *signal) Unlock() {
	if s.state.Load() == stateDone || s.watched.Load()&watchCancel != 0 {
		s.p.cond.Broadcast()
	}
}
