//go:build cuda

package cudrv

// #include <stdint.h>
import "C"

import "runtime/cgo"

// coawaitStreamCallback is the Go side of the C callback that AddCallback
// registers; it runs on a driver thread.
//
//export coawaitStreamCallback
func coawaitStreamCallback(handle C.uintptr_t, status C.int) {
	h := cgo.Handle(handle)
	fn := h.Value().(func(int))
	h.Delete()
	fn(int(status))
}
