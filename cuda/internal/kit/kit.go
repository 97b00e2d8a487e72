// Package kit is what device backends call and users do not: claims on
// host buffers, range and argument checks, and the construction and
// re-wrapping of [cuda.Error] values. Package cuda/sim imports it; a
// backend in a subpackage of cuda can too. A backend in package cuda
// itself (the GPU driver under -tags cuda) calls the same functions
// directly, unexported, so that one implementation serves every backend.
//
// # How kit reaches into package cuda
//
// The host buffer's state ([cuda.HostBuffer]'s fields) is private to
// package cuda, and cuda cannot import kit, which imports cuda. So cuda
// keeps the implementations as unexported functions and, from an init
// function, stores them in package cuda/internal/link, which imports
// nothing; kit takes each out once, asserting its type, when it is
// initialised (package cuda is always initialised first). A mismatch of
// the two declarations panics at start-up, which every test catches. Thus
// `go doc` of package cuda shows only what a user calls, and no package
// outside cuda can reach these functions.
package kit

import (
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/link"
)

// fn returns package cuda's function name, of type F.
func fn[F any](name string) F {
	f, ok := link.Funcs[name].(F)
	if !ok {
		panic(fmt.Sprintf("cuda/internal/kit: package cuda provides no %s of type %T", name, f))
	}
	return f
}

var (
	newHostBuffer = fn[func(cuda.Device, []byte) *cuda.HostBuffer]("newHostBuffer")
	acquire       = fn[func(*cuda.HostBuffer, string, any, func(any) bool, bool, int, int) ([]byte, error)]("acquire")
	release       = fn[func(*cuda.HostBuffer, any, bool, int, int)]("release")
	markFreed     = fn[func(*cuda.HostBuffer, string) ([]byte, error)]("markFreed")
	invalidate    = fn[func(*cuda.HostBuffer)]("invalidate")
	withOp        = fn[func(error, string) *cuda.Error]("withOp")
	checkRange    = fn[func(string, string, int, int, int) error]("checkRange")
	checkArgs     = fn[func(string, cuda.KernelSpec, []cuda.Arg) error]("checkArgs")
	validate      = fn[func(cuda.LaunchConfig, string, *cuda.Properties) error]("validate")
	alignedBytes  = fn[func(int) []byte]("alignedBytes")
)

// NewHostBuffer wraps mem, which must stay valid until the buffer is freed,
// as a HostBuffer of device owner. It panics if owner is nil.
func NewHostBuffer(owner cuda.Device, mem []byte) *cuda.HostBuffer {
	return newHostBuffer(owner, mem)
}

// MarkFreed makes b unusable, as FreeHost does, and returns its memory for
// the backend to release. It fails while the buffer is busy or if it was
// already freed.
func MarkFreed(b *cuda.HostBuffer, op string) ([]byte, error) { return markFreed(b, op) }

// Invalidate makes b unusable because its device closed; later uses return
// errors matching [cuda.ErrClosed]. Copies must have released it first.
func Invalidate(b *cuda.HostBuffer) { invalidate(b) }

// Errorf returns a [*cuda.Error] for op wrapping err, with a formatted
// detail.
func Errorf(op string, err error, format string, args ...any) error {
	return &cuda.Error{Op: op, Detail: fmt.Sprintf(format, args...), Err: err}
}

// WithOp returns err as an error of op: a copy of a [*cuda.Error] with Op
// replaced, or any other error wrapped in a new *cuda.Error for op. The
// result is the caller's to change. err must not be nil.
func WithOp(err error, op string) *cuda.Error { return withOp(err, op) }

// CheckRange checks that the byte range [off, off+n) lies within a region
// of size bytes called what (such as "device allocation"), and returns a
// [cuda.ErrInvalidValue] error naming op otherwise. It never overflows.
func CheckRange(op, what string, off, n, size int) error { return checkRange(op, what, off, n, size) }

// CheckArgs checks args against the parameter list of spec and returns a
// [cuda.ErrInvalidValue] error naming op if the count or a type differs.
func CheckArgs(op string, spec cuda.KernelSpec, args []cuda.Arg) error {
	return checkArgs(op, spec, args)
}

// ValidateLaunch checks cfg against the limits in p and returns a
// [cuda.ErrInvalidValue] error naming op if it exceeds them.
func ValidateLaunch(op string, cfg cuda.LaunchConfig, p *cuda.Properties) error {
	return validate(cfg, op, p)
}

// Alignment is the alignment of memory from [AlignedBytes]: a cache line,
// enough for every [cuda.Scalar] and for vector loads.
const Alignment = 64

// AlignedBytes returns n zeroed bytes whose first byte is aligned to
// [Alignment], for host and simulated device memory. It panics if n is
// negative.
func AlignedBytes(n int) []byte { return alignedBytes(n) }
