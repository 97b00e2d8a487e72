//go:build cuda

package cuda

import (
	"runtime"
	"unsafe"

	"github.com/coawait/coawait/cuda/internal/cudrv"
	"gorgonia.org/cu"
)

// The launch path hands argBits to cudrv.Launch as its parameter array.
const (
	_ = uint(maxKernelParams - cudrv.MaxParams)
	_ = uint(cudrv.MaxParams - maxKernelParams)
)

// bind locks the calling goroutine to its thread and makes d's context
// current there, for one call of gorgonia.org/cu that needs it; unbind
// must follow. Locking switches no thread: the cost is one cgo call
// (BenchmarkGPUBracket measures it). cudrv's calls take the context
// instead and need no bind.
func (d *gpuDevice) bind() error {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

func unbind() { runtime.UnlockOSThread() }

// call runs f, one gorgonia.org/cu call, with d's context current.
func (d *gpuDevice) call(f func() error) error {
	if err := d.bind(); err != nil {
		return err
	}
	err := f()
	unbind()
	return err
}

func resultCode(err error) int { return cudrv.ResultCode(err) }

// driverError describes a CUresult with the driver's own name and text.
func driverError(code int) *DriverError {
	return &DriverError{Code: code, Name: cudrv.ErrorName(code), Text: cudrv.ErrorText(code)}
}

// launch enqueues kernel fn on st with the argument bits in slots [0, n).
func (d *gpuDevice) launch(fn cu.Function, grid, block Dim3, shared int, st cu.Stream, bits *argBits, n int) int {
	return cudrv.Launch(d.ctx, fn,
		[3]uint32{uint32(grid.X), uint32(grid.Y), uint32(grid.Z)},
		[3]uint32{uint32(block.X), uint32(block.Y), uint32(block.Z)},
		uint32(shared), st, (*[cudrv.MaxParams]uint64)(bits), n)
}

func (d *gpuDevice) hostAlloc(n int) (unsafe.Pointer, int) { return cudrv.HostAlloc(d.ctx, n) }

func (d *gpuDevice) hostFree(p unsafe.Pointer) int { return cudrv.HostFree(d.ctx, p) }

func (d *gpuDevice) loadModule(ptx []byte) (cu.Module, int, string) {
	return cudrv.LoadModule(d.ctx, ptx)
}

// addHostFunc enqueues fn on s (whose mu the caller holds) as a driver
// callback. The callback must not call CUDA, but fn may (an Event.Query,
// say): so fn runs on a goroutine of the device while the callback waits
// for it, which also holds the stream still until fn returns, as
// HostFuncLauncher promises.
func (s *gpuStream) addHostFunc(op string, fn func(err error)) error {
	d, seq := s.d, s.seq
	d.cbs.Add(1)
	r := cudrv.AddCallback(d.ctx, s.st, func(status int) {
		defer d.cbs.Done()
		done := make(chan struct{})
		go func() {
			defer close(done)
			var err error
			if status != cuSuccess {
				err = d.failCode(op, status) // names the code: a driver call, so not in the callback itself
			} else {
				s.retire(seq)
			}
			fn(err)
		}()
		<-done
	})
	if r != cuSuccess {
		d.cbs.Done()
		return d.failCode(op, r)
	}
	return nil
}
