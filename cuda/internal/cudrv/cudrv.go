//go:build cuda

// Package cudrv holds the CUDA driver calls that gorgonia.org/cu v0.9.6
// lacks, for the real backend in package cuda and for the GPU benchmarks,
// which compare it with raw driver calls. Each is one cgo call that, given
// a context, also makes it current on the thread that runs the call, so no
// goroutine needs locking for it:
//   - pinned host memory (cuMemHostAlloc, cuMemFreeHost),
//   - a kernel launch from a fixed-size parameter array, without cu's
//     malloc and free per launch (cu's Function.Launch),
//   - host functions through cuStreamAddCallback, which, unlike
//     cuLaunchHostFunc, is still called after a device error,
//   - module loading with the JIT's error log (cu's JITErrorLogBuffer puts
//     a Go pointer into C memory, which cgo forbids).
//
// It imports gorgonia.org/cu, whose init calls cuInit and exits the process
// where no driver is present; only files with the cuda build tag import it.
package cudrv

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

static int coawait_set(CUcontext ctx) {
	return ctx == NULL ? CUDA_SUCCESS : cuCtxSetCurrent(ctx);
}

static int coawait_add_callback(CUcontext ctx, CUstream s, uintptr_t handle) {
	CUresult r = coawait_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuStreamAddCallback(s, coawait_callback, (void *)handle, 0);
}

static int coawait_launch(CUcontext ctx, CUfunction f,
		unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
		unsigned shared, CUstream s, uint64_t *bits, int n) {
	void *params[COAWAIT_MAX_PARAMS];
	if (n < 0 || n > COAWAIT_MAX_PARAMS) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < n; i++) params[i] = &bits[i];
	CUresult r = coawait_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared, s, params, NULL);
}

static int coawait_host_alloc(CUcontext ctx, void **p, size_t n) {
	CUresult r = coawait_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	r = cuMemHostAlloc(p, n, 0);
	if (r == CUDA_SUCCESS) memset(*p, 0, n);
	return r;
}

static int coawait_host_free(CUcontext ctx, void *p) {
	CUresult r = coawait_set(ctx);
	if (r != CUDA_SUCCESS) return r;
	return cuMemFreeHost(p);
}

static int coawait_load_module(CUcontext ctx, CUmodule *m, const char *image, char *log, unsigned size) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)size};
	CUresult r = coawait_set(ctx);
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
	"runtime/cgo"
	"unsafe"

	"gorgonia.org/cu"
)

// MaxParams bounds a kernel's parameter count in Launch.
const MaxParams = 32

// Success is CUDA_SUCCESS; NotReady is CUDA_ERROR_NOT_READY.
const (
	Success  = 0
	NotReady = 600
	unknown  = 999
)

// gorgonia.org/cu's handle types are structs holding one C handle. They are
// handed to the C helpers by reinterpretation; these constants fail to
// compile if a handle's size ever differs from a pointer's.
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

func cContext(c cu.CUContext) C.CUcontext  { return *(*C.CUcontext)(unsafe.Pointer(&c)) }
func cStream(s cu.Stream) C.CUstream       { return *(*C.CUstream)(unsafe.Pointer(&s)) }
func cFunction(f cu.Function) C.CUfunction { return *(*C.CUfunction)(unsafe.Pointer(&f)) }
func cuModule(m C.CUmodule) cu.Module      { return *(*cu.Module)(unsafe.Pointer(&m)) }

// ResultCode is the CUresult of an error from gorgonia.org/cu (whose error
// type is an unexported integer type): Success for nil.
func ResultCode(err error) int {
	if err == nil {
		return Success
	}
	if v := reflect.ValueOf(err); v.Kind() == reflect.Int {
		return int(v.Int())
	}
	return unknown
}

// ErrorName is the driver's name for a CUresult, such as
// "CUDA_ERROR_ILLEGAL_ADDRESS"; ErrorText is its description.
func ErrorName(code int) string { return C.GoString(C.coawait_error_name(C.int(code))) }

// ErrorText is the driver's description of a CUresult.
func ErrorText(code int) string { return C.GoString(C.coawait_error_text(C.int(code))) }

// Launch enqueues fn on st with the argument bits in slots [0, n) (each
// 4- or 8-byte argument in its own 8-byte slot), after making ctx current
// (the zero context: leave the current one). It returns the CUresult.
func Launch(ctx cu.CUContext, fn cu.Function, grid, block [3]uint32, shared uint32, st cu.Stream, bits *[MaxParams]uint64, n int) int {
	return int(C.coawait_launch(cContext(ctx), cFunction(fn),
		C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]), C.uint(block[0]), C.uint(block[1]), C.uint(block[2]),
		C.uint(shared), cStream(st), (*C.uint64_t)(unsafe.Pointer(&bits[0])), C.int(n)))
}

// HostAlloc allocates n bytes of zeroed page-locked host memory.
func HostAlloc(ctx cu.CUContext, n int) (unsafe.Pointer, int) {
	var p unsafe.Pointer
	r := int(C.coawait_host_alloc(cContext(ctx), &p, C.size_t(n)))
	return p, r
}

// HostFree frees memory from HostAlloc.
func HostFree(ctx cu.CUContext, p unsafe.Pointer) int {
	return int(C.coawait_host_free(cContext(ctx), p))
}

// AddCallback enqueues fn on st with cuStreamAddCallback. The driver calls
// it once, on a thread of its own, with the CUresult of the work before it.
// fn must not call CUDA (the driver forbids it in a callback); while fn
// runs, later work on st waits.
func AddCallback(ctx cu.CUContext, st cu.Stream, fn func(status int)) int {
	h := cgo.NewHandle(fn)
	r := int(C.coawait_add_callback(cContext(ctx), cStream(st), C.uintptr_t(h)))
	if r != Success {
		h.Delete()
	}
	return r
}

// jitLogSize bounds the JIT error log returned by LoadModule.
const jitLogSize = 16 << 10

// LoadModule JIT-compiles PTX in ctx. On failure it returns the CUresult
// and the JIT's error log.
func LoadModule(ctx cu.CUContext, ptx []byte) (cu.Module, int, string) {
	image := C.CString(string(ptx))
	defer C.free(unsafe.Pointer(image))
	log := (*C.char)(C.malloc(jitLogSize))
	defer C.free(unsafe.Pointer(log))
	var m C.CUmodule
	r := int(C.coawait_load_module(cContext(ctx), &m, image, log, jitLogSize))
	if r != Success {
		return cu.Module{}, r, C.GoString(log)
	}
	return cuModule(m), r, ""
}
