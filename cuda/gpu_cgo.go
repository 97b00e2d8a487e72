//go:build cuda

package cuda

// The driver calls gorgonia.org/cu v0.9.6 lacks, written in C so that each
// is one cgo call that also makes the context current (on the thread that
// runs the call, so no goroutine needs locking for it):
//   - pinned host memory (cuMemHostAlloc, cuMemFreeHost),
//   - a kernel launch from a fixed-size parameter array, without cu's
//     malloc and free per launch (cu's Function.Launch),
//   - host functions through cuStreamAddCallback, which, unlike
//     cuLaunchHostFunc, is still called after a device error,
//   - module loading with the JIT's error log (cu's JITErrorLogBuffer puts
//     a Go pointer into C memory, which cgo forbids).

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cuda.h>

#define COAWAIT_MAX_PARAMS 32

extern void coawaitStreamCallback(uintptr_t handle, int status);

static void CUDA_CB coawait_callback(CUstream s, CUresult status, void *data) {
	coawaitStreamCallback((uintptr_t)data, (int)status);
}

static int coawait_add_callback(CUcontext ctx, CUstream s, uintptr_t handle) {
	CUresult r = cuCtxSetCurrent(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuStreamAddCallback(s, coawait_callback, (void *)handle, 0);
}

static int coawait_launch(CUcontext ctx, CUfunction f,
		unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
		unsigned shared, CUstream s, uint64_t *bits, int n) {
	void *params[COAWAIT_MAX_PARAMS];
	if (n < 0 || n > COAWAIT_MAX_PARAMS) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < n; i++) params[i] = &bits[i];
	CUresult r = cuCtxSetCurrent(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared, s, params, NULL);
}

static int coawait_host_alloc(CUcontext ctx, void **p, size_t n) {
	CUresult r = cuCtxSetCurrent(ctx);
	if (r != CUDA_SUCCESS) return r;
	r = cuMemHostAlloc(p, n, 0);
	if (r == CUDA_SUCCESS) memset(*p, 0, n);
	return r;
}

static int coawait_host_free(CUcontext ctx, void *p) {
	CUresult r = cuCtxSetCurrent(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuMemFreeHost(p);
}

static int coawait_load_module(CUcontext ctx, CUmodule *m, const char *image, char *log, unsigned size) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)size};
	CUresult r = cuCtxSetCurrent(ctx);
	if (r != CUDA_SUCCESS) return r;
	log[0] = 0;
	return cuModuleLoadDataEx(m, image, 2, opts, vals);
}

static const char *coawait_error_name(int code) {
	const char *s = NULL;
	if (cuGetErrorName((CUresult)code, &s) != CUDA_SUCCESS || s == NULL) return "CUDA_ERROR_UNRECOGNIZED";
	return s;
}

static const char *coawait_error_text(int code) {
	const char *s = NULL;
	if (cuGetErrorString((CUresult)code, &s) != CUDA_SUCCESS || s == NULL) return "";
	return s;
}
*/
// #cgo noescape coawait_launch
// #cgo nocallback coawait_launch
// #cgo noescape coawait_host_alloc
// #cgo nocallback coawait_host_alloc
import "C"

import (
	"reflect"
	"runtime"
	"runtime/cgo"
	"unsafe"

	"gorgonia.org/cu"
)

// gorgonia.org/cu's handle types are structs holding one C handle. The
// backend hands them to its own C helpers by reinterpreting them; these
// constants fail to compile if a handle's size ever differs from a pointer.
const (
	_ = uintptr(unsafe.Sizeof(cu.CUContext{}) - unsafe.Sizeof(uintptr(0)))
	_ = uintptr(unsafe.Sizeof(uintptr(0)) - unsafe.Sizeof(cu.CUContext{}))
	_ = uintptr(unsafe.Sizeof(cu.Stream{}) - unsafe.Sizeof(uintptr(0)))
	_ = uintptr(unsafe.Sizeof(uintptr(0)) - unsafe.Sizeof(cu.Stream{}))
	_ = uintptr(unsafe.Sizeof(cu.Function{}) - unsafe.Sizeof(uintptr(0)))
	_ = uintptr(unsafe.Sizeof(uintptr(0)) - unsafe.Sizeof(cu.Function{}))
	_ = uintptr(unsafe.Sizeof(cu.Module{}) - unsafe.Sizeof(uintptr(0)))
	_ = uintptr(unsafe.Sizeof(uintptr(0)) - unsafe.Sizeof(cu.Module{}))
)

func cContext(c cu.CUContext) C.CUcontext { return *(*C.CUcontext)(unsafe.Pointer(&c)) }
func cStream(s cu.Stream) C.CUstream      { return *(*C.CUstream)(unsafe.Pointer(&s)) }
func cFunction(f cu.Function) C.CUfunction {
	return *(*C.CUfunction)(unsafe.Pointer(&f))
}
func cuModule(m C.CUmodule) cu.Module { return *(*cu.Module)(unsafe.Pointer(&m)) }

// bind locks the calling goroutine to its thread and makes d's context
// current there, for one call of gorgonia.org/cu that needs it; unbind
// must follow. Locking switches no thread: the cost is one cgo call
// (BenchmarkGPUBracket measures it).
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

// resultCode is the CUresult of an error from gorgonia.org/cu (whose error
// type is an unexported integer type).
func resultCode(err error) int {
	if err == nil {
		return cuSuccess
	}
	if v := reflect.ValueOf(err); v.Kind() == reflect.Int {
		return int(v.Int())
	}
	return cuUnknown
}

// driverError describes a CUresult with the driver's own name and text.
func driverError(code int) *DriverError {
	return &DriverError{
		Code: code,
		Name: C.GoString(C.coawait_error_name(C.int(code))),
		Text: C.GoString(C.coawait_error_text(C.int(code))),
	}
}

// launch enqueues kernel fn on st with the argument bits in slots [0, n).
func (d *gpuDevice) launch(fn cu.Function, grid, block Dim3, shared int, st cu.Stream, bits *argBits, n int) int {
	return int(C.coawait_launch(cContext(d.ctx), cFunction(fn),
		C.uint(grid.X), C.uint(grid.Y), C.uint(grid.Z), C.uint(block.X), C.uint(block.Y), C.uint(block.Z),
		C.uint(shared), cStream(st), (*C.uint64_t)(unsafe.Pointer(&bits[0])), C.int(n)))
}

// hostAlloc allocates n bytes of zeroed pinned host memory.
func (d *gpuDevice) hostAlloc(n int) (unsafe.Pointer, int) {
	var p unsafe.Pointer
	r := int(C.coawait_host_alloc(cContext(d.ctx), &p, C.size_t(n)))
	return p, r
}

// hostFree frees memory from hostAlloc.
func (d *gpuDevice) hostFree(p unsafe.Pointer) int {
	return int(C.coawait_host_free(cContext(d.ctx), p))
}

// addCallback enqueues a host callback on st that runs the hostFunc behind
// handle h; see gpu_callback.go.
func (d *gpuDevice) addCallback(st cu.Stream, h cgo.Handle) int {
	return int(C.coawait_add_callback(cContext(d.ctx), cStream(st), C.uintptr_t(h)))
}

// jitLogSize bounds the JIT error log kept in a load error.
const jitLogSize = 16 << 10

// loadModule JIT-compiles ptx in d's context. On failure it returns the
// driver's code and the JIT's error log.
func (d *gpuDevice) loadModule(ptx []byte) (cu.Module, int, string) {
	image := C.CString(string(ptx))
	defer C.free(unsafe.Pointer(image))
	log := (*C.char)(C.malloc(jitLogSize))
	defer C.free(unsafe.Pointer(log))
	var m C.CUmodule
	r := int(C.coawait_load_module(cContext(d.ctx), &m, image, log, jitLogSize))
	if r != cuSuccess {
		return cu.Module{}, r, C.GoString(log)
	}
	return cuModule(m), r, ""
}
