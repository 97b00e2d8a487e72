//go:build cuda

package cuda

// #include <stdint.h>
import "C"

import (
	"runtime/cgo"
)

// hostFunc is one LaunchHostFunc call in flight.
type hostFunc struct {
	s   *gpuStream
	seq uint64 // the stream's count of ordered operations when it was enqueued
	fn  func(err error)
}

// coawaitStreamCallback is called by the driver, on a thread of its own,
// when the stream reaches a host function (status 0), or with the error that
// means the work before it failed. A callback must not call CUDA, but fn
// may (an Event.Query, say): so fn runs on a goroutine of the device while
// this callback waits for it, which also holds the stream still until fn
// returns, as HostFuncLauncher promises.
//
//export coawaitStreamCallback
func coawaitStreamCallback(handle C.uintptr_t, status C.int) {
	h := cgo.Handle(handle)
	hf := h.Value().(*hostFunc)
	h.Delete()
	s := hf.s
	d := s.d
	var err error
	if status != cuSuccess {
		err = d.failCode("LaunchHostFunc", int(status))
	} else {
		s.retire(hf.seq)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hf.fn(err)
	}()
	<-done
	d.cbs.Done()
}
