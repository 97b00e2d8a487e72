// Package kernels defines coawait's device kernels once, for every backend.
//
// Each kernel has, in one place: its [cuda.KernelSpec] (module [Module],
// name, parameters), its CUDA C source (a .cu file in this package's
// folder), an argument check, the work it does for the simulator's timing
// model, and a Go body that the simulator runs. Typed wrappers such as
// [Saxpy] and [Sgemm] return a [Launch]: the kernel's name, its checked
// arguments and a default launch configuration, ready for
// cuda.Stream.Launch or scheduler.Launch:
//
//	ks, err := kernels.Bind(dev) // looks the kernels up once
//	...
//	l, err := kernels.Saxpy(y, 2, x, n) // checked args, default config
//	...
//	op := sched.Launch(ks.Kernel(l), l.Config, l.Args, scheduler.After(up))
//
// # Backends
//
// Package cuda/sim registers [All] in every simulated device, under
// [Module]; user kernels still go through sim.Device.RegisterKernel. The
// CUDA backend (package cuda, -tags cuda) cannot import this package (cuda
// is imported here), so the PTX travels the other way: this package's init
// files [Modules], with the kernels' specs and checks, in a registry that
// package cuda reads (cuda/internal/modreg), and a GPU device loads a
// module from there (cuModuleLoadDataEx; the driver JIT-compiles the
// compute_80 PTX for the GPU at hand, Ampere or Hopper) the first time
// cuda.Device.Kernel asks for one of its kernels. Before each launch the
// backend runs the kernel's Check on a [NewCheckCall] built from the sizes
// of the allocations behind the pointer arguments. Other backends that run
// PTX get [Modules] through [Bind] if they implement cuda.ModuleLoader.
//
// # Building the PTX
//
// The PTX in ptx/ is committed and embedded with go:embed, so no build needs
// nvcc. After changing a .cu file, run scripts/cuda-toolchain (it fetches
// CUDA 11.8's nvcc from Debian) and then
//
//	eval "$(scripts/cuda-toolchain)" && go generate ./cuda/kernels
//
// which runs genptx.sh: nvcc -ptx -arch=compute_80 -fmad=false, with the
// header comments that carry a date or a path stripped, so the output is
// deterministic and CI can check that the committed PTX is up to date.
//
// -fmad=false: nvcc otherwise fuses a*x+y into one FMA, which rounds once
// where Go (and the Go bodies here) round twice, so the element-wise
// kernels would differ from their Go bodies in the last bit. With the flag
// they agree bit for bit; the Go bodies also write each product as an
// explicit float32 conversion, which stops Go from fusing on arm64 or
// amd64/v3. The one place fusing pays, sgemm's inner product, calls
// __fmaf_rn explicitly (intrinsics are not affected by the flag). Kernels
// that use expf/logf (softmax_xent_f32) or sum in a different order than
// the Go body (sgemm_f32, colsum_f32) agree within a tolerance: a GPU check
// should use 1e-5 relative plus 1e-6 absolute per element for the
// element-wise math of softmax and about 1e-5 * k relative for sgemm.
//
// # Kernels
//
// All pointers are device pointers to row-major float32 arrays unless said
// otherwise; counts are int32 and must not be negative. The element-wise
// kernels are grid-stride loops, so any grid covers any n; the kernels
// that need a block shape (sgemm_f32, softmax_xent_f32, colsum_f32) reject
// another with [cuda.ErrInvalidValue] in the simulator, as a real GPU
// would silently compute garbage.
//
//	fill_f32(y, value, n)                y[i] = value
//	scale_f32(y, a, n)                   y[i] *= a
//	saxpy_f32(y, a, x, n)                y[i] += a*x[i]
//	spin(int64 ns)                       busy-waits ns nanoseconds on %globaltimer
//	trap()                               faults (__trap): the device is lost
//	sgemm_f32(c, a, b, m, n, k, transA, transB, alpha, beta)
//	                                     C = alpha*op(A)*op(B) + beta*C, C m×n,
//	                                     op(A) m×k, op(B) k×n; C is not read
//	                                     when beta is 0
//	bias_add_f32(y, b, rows, cols)       y[r][c] += b[c]
//	relu_f32(y, x, n)                    y[i] = x[i] > 0 ? x[i] : 0
//	relu_grad_f32(dx, dy, y, n)          dx[i] = y[i] > 0 ? dy[i] : 0
//	softmax_xent_f32(loss, dlogits, logits, labels, rows, cols)
//	                                     per row: loss[r] = -log softmax(logits[r])[labels[r]],
//	                                     dlogits[r] = (softmax(logits[r]) - onehot(labels[r]))/rows
//	colsum_f32(y, x, rows, cols)         y[c] = sum over r of x[r][c]
//	sgd_momentum_f32(w, v, g, lr, mu, n) v = mu*v - lr*g; w += v
//	argmax_correct_f32(count, logits, labels, rows, cols)
//	                                     *count += rows whose first maximum is at the label
//
// In-place use is allowed where a kernel reads each element before writing
// it: relu_f32 with y == x, relu_grad_f32 with dx == dy, softmax_xent_f32
// with dlogits == logits. labels are int32 and count is one int32. A label
// outside [0, cols) is bad input that only the device sees: its row's loss
// is NaN (dlogits get no one-hot term) and it is never counted as correct.
package kernels

import (
	"embed"
	"time"

	"github.com/coawait/coawait/cuda"
)

//go:generate sh genptx.sh

// Module is the module that holds every kernel of this package.
const Module = "coawait"

// Def is one kernel: everything a backend needs to run it.
type Def struct {
	// Spec is the kernel's module, name and parameters.
	Spec cuda.KernelSpec
	// File is the .cu file (in [Sources]) that holds its CUDA C.
	File string
	// Work returns what a launch with these arguments does, for the
	// simulator's timing model; the arguments are already checked against
	// Spec. It is pure.
	Work func(args []cuda.Arg) Work
	// Check validates a launch before it is queued: sizes of the pointer
	// arguments, counts, and the block shape if the kernel needs one. Its
	// errors match cuda.ErrInvalidValue. It only uses [Need], so it works
	// on a [NewCheckCall]. It is nil for a kernel with nothing to check
	// (trap).
	Check func(c *Call) error
	// Run is the Go body: it does on the host what the CUDA C does on the
	// device, reading and writing memory through c. An error is a fault,
	// as __trap() is on a GPU.
	Run func(c *Call) error
}

// Work is what one launch does, as the simulator's timing model sees it:
// bytes moved to and from device memory, floating-point operations, and a
// fixed time (the spin kernel's). The zero Work costs nothing.
type Work struct {
	Bytes, FLOPs int64
	Time         time.Duration
}

var defs = func() []Def {
	var all []Def
	all = append(all, conformance()...)
	all = append(all, mlp()...)
	for i := range all {
		all[i].Spec.Module = Module
	}
	return all
}()

// All returns every kernel, in a fixed order. The slice is new; the Specs'
// parameter lists are shared and must not be changed.
func All() []Def { return append([]Def(nil), defs...) }

// Lookup returns the kernel named name.
func Lookup(name string) (Def, bool) {
	for _, d := range defs {
		if d.Spec.Name == name {
			return d, true
		}
	}
	return Def{}, false
}

//go:embed ptx/coawait.ptx
var coawaitPTX []byte

//go:embed *.cu
var sources embed.FS

// PTXModule is one module's PTX text, for a backend that runs PTX.
type PTXModule struct {
	Name string // the module name that cuda.Device.Kernel looks kernels up by
	PTX  []byte // PTX text for compute_80, no trailing NUL; shared, do not modify
}

// Modules returns the PTX of every module (today one: [Module]). A backend
// that runs PTX loads each (cuModuleLoadDataEx) and then finds the kernels
// of [All] in it by name.
func Modules() []PTXModule { return []PTXModule{{Name: Module, PTX: coawaitPTX}} }

// Sources returns the CUDA C sources, by file name: coawait.cu includes the
// others and is what genptx.sh compiles.
func Sources() embed.FS { return sources }

// p is a shorthand for a parameter.
func p(name string, k cuda.ParamKind) cuda.Param { return cuda.Param{Name: name, Kind: k} }

// count returns argument i as a non-negative count (negative ones are
// rejected by the checks; this keeps Work pure on any input).
func count(args []cuda.Arg, i int) int64 { return max(args[i].Int(), 0) }

// needCount returns argument i as an int, or an error if it is negative.
func needCount(c *Call, i int) (int, error) {
	v := c.Args[i].Int()
	if v < 0 {
		return 0, c.Errorf("negative count %d for argument %d%s", v, i, c.param(i))
	}
	return int(v), nil
}

// needBlock checks that the launch uses block shape want.
func needBlock(c *Call, want cuda.Dim3) error {
	if got := c.Config.Block.Norm(); got != want {
		return c.Errorf("kernel %s needs blocks of %v threads, got %v (use the wrapper's Config)", c.spec.Name, want, got)
	}
	return nil
}
