package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// Launch is one kernel launch, as the typed wrappers build it: the kernel's
// name in [Module], its arguments (kinds and counts already checked) and a
// default configuration that covers the work. Pass it to a stream or to
// scheduler.Launch with the kernel from [Set.Kernel]; Config may be changed
// for the element-wise kernels (they are grid-stride loops) but not the
// block shape of sgemm_f32, softmax_xent_f32 or colsum_f32. The zero
// Launch names no kernel.
type Launch struct {
	Name   string
	Config cuda.LaunchConfig
	Args   []cuda.Arg
}

// elementBlock is the block size of the element-wise kernels' default
// configuration.
const elementBlock = 256

// maxGridX caps default one-dimensional grids: grid-stride loops need no
// more blocks than this to keep a GPU busy, and it is within every
// device's limit.
const maxGridX = 1 << 16

// counts converts ns to int32 arguments, or returns an error naming the
// kernel if one is negative or does not fit an int32.
func counts(kernel string, ns ...int) ([]cuda.Arg, error) {
	out := make([]cuda.Arg, len(ns))
	for i, n := range ns {
		if n < 0 || n > math.MaxInt32 {
			return nil, kit.Errorf(kernel, cuda.ErrInvalidValue, "count %d is outside [0, %d]", n, math.MaxInt32)
		}
		out[i] = cuda.Int32(int32(n))
	}
	return out, nil
}

// linear returns the default configuration for n elements.
func linear(n int) cuda.LaunchConfig {
	cfg := cuda.Linear(n, elementBlock, nil)
	cfg.Grid.X = min(cfg.Grid.X, maxGridX)
	return cfg
}

// grid2 returns ceil(n/per) blocks, at least 1 and at most limit.
func grid2(n, per, limit int) int { return max(1, min((n+per-1)/per, limit)) }

// elementwiseLaunch builds a launch over n elements with args before the
// count.
func elementwiseLaunch(name string, n int, args ...cuda.Arg) (Launch, error) {
	c, err := counts(name, n)
	if err != nil {
		return Launch{}, err
	}
	return Launch{Name: name, Config: linear(n), Args: append(args, c...)}, nil
}

// matrixCounts checks that rows×cols fits the kernels' int32 indexing.
func matrixCounts(name string, rows, cols int) ([]cuda.Arg, error) {
	c, err := counts(name, rows, cols)
	if err != nil {
		return nil, err
	}
	if int64(rows)*int64(cols) > math.MaxInt32 {
		return nil, kit.Errorf(name, cuda.ErrInvalidValue, "%d×%d elements exceed the int32 range", rows, cols)
	}
	return c, nil
}

// Fill sets n float32s at y to value.
func Fill(y cuda.DevicePtr, value float32, n int) (Launch, error) {
	return elementwiseLaunch("fill_f32", n, cuda.Ptr(y), cuda.Float32(value))
}

// Scale multiplies n float32s at y by a.
func Scale(y cuda.DevicePtr, a float32, n int) (Launch, error) {
	return elementwiseLaunch("scale_f32", n, cuda.Ptr(y), cuda.Float32(a))
}

// Saxpy computes y[i] += a*x[i] for n float32s.
func Saxpy(y cuda.DevicePtr, a float32, x cuda.DevicePtr, n int) (Launch, error) {
	return elementwiseLaunch("saxpy_f32", n, cuda.Ptr(y), cuda.Float32(a), cuda.Ptr(x))
}

// Spin busy-waits ns nanoseconds on the device (one thread).
func Spin(ns int64) (Launch, error) {
	if ns < 0 {
		return Launch{}, kit.Errorf("spin", cuda.ErrInvalidValue, "negative duration %d ns", ns)
	}
	return Launch{Name: "spin", Config: cuda.LaunchConfig{Grid: cuda.Dim3{X: 1}, Block: cuda.Dim3{X: 1}}, Args: []cuda.Arg{cuda.Int64(ns)}}, nil
}

// Gemm describes C = Alpha*op(A)*op(B) + Beta*C over row-major float32
// matrices: C is M×N, op(A) is M×K, op(B) is K×N. A is stored M×K, or K×M
// when TransA; B is stored K×N, or N×K when TransB. C is not read when
// Beta is 0. The zero Gemm multiplies nothing (every size 0).
type Gemm struct {
	C, A, B        cuda.DevicePtr
	M, N, K        int
	TransA, TransB bool
	Alpha, Beta    float32
}

// Sgemm builds the sgemm_f32 launch for g: 16×16 blocks, one per 16×16
// tile of C (grid-stride beyond the grid limits).
func Sgemm(g Gemm) (Launch, error) {
	const name = "sgemm_f32"
	c, err := counts(name, g.M, g.N, g.K)
	if err != nil {
		return Launch{}, err
	}
	for _, mat := range [][3]int{{'C', g.M, g.N}, {'A', g.M, g.K}, {'B', g.K, g.N}} {
		if int64(mat[1])*int64(mat[2]) > math.MaxInt32 {
			return Launch{}, kit.Errorf(name, cuda.ErrInvalidValue, "%c: %d×%d elements exceed the int32 range", mat[0], mat[1], mat[2])
		}
	}
	flag := func(b bool) cuda.Arg {
		if b {
			return cuda.Int32(1)
		}
		return cuda.Int32(0)
	}
	t := sgemmBlock.X
	return Launch{
		Name: name,
		Config: cuda.LaunchConfig{
			Grid:  cuda.Dim3{X: grid2(g.N, t, maxGridX), Y: grid2(g.M, t, 65535), Z: 1},
			Block: sgemmBlock,
		},
		Args: []cuda.Arg{cuda.Ptr(g.C), cuda.Ptr(g.A), cuda.Ptr(g.B), c[0], c[1], c[2],
			flag(g.TransA), flag(g.TransB), cuda.Float32(g.Alpha), cuda.Float32(g.Beta)},
	}, nil
}

// BiasAdd adds the cols float32s at b to every row of the rows×cols y.
func BiasAdd(y, b cuda.DevicePtr, rows, cols int) (Launch, error) {
	c, err := matrixCounts("bias_add_f32", rows, cols)
	if err != nil {
		return Launch{}, err
	}
	return Launch{Name: "bias_add_f32", Config: linear(rows * cols), Args: append([]cuda.Arg{cuda.Ptr(y), cuda.Ptr(b)}, c...)}, nil
}

// ReLU sets y[i] = max(x[i], 0) for n float32s; y may be x.
func ReLU(y, x cuda.DevicePtr, n int) (Launch, error) {
	return elementwiseLaunch("relu_f32", n, cuda.Ptr(y), cuda.Ptr(x))
}

// ReLUGrad sets dx[i] = dy[i] where the forward activation y[i] > 0 and 0
// elsewhere, for n float32s; dx may be dy.
func ReLUGrad(dx, dy, y cuda.DevicePtr, n int) (Launch, error) {
	return elementwiseLaunch("relu_grad_f32", n, cuda.Ptr(dx), cuda.Ptr(dy), cuda.Ptr(y))
}

// SoftmaxXent computes, per row of the rows×cols logits, the cross-entropy
// loss[r] of softmax(logits[r]) against the int32 labels[r], and the
// gradient dlogits = (softmax - onehot)/rows (the mean loss's). dlogits
// may be logits. Blocks of 32×8: one warp per row.
func SoftmaxXent(loss, dlogits, logits, labels cuda.DevicePtr, rows, cols int) (Launch, error) {
	const name = "softmax_xent_f32"
	c, err := matrixCounts(name, rows, cols)
	if err != nil {
		return Launch{}, err
	}
	return Launch{
		Name:   name,
		Config: cuda.LaunchConfig{Grid: cuda.Dim3{X: grid2(rows, rowWarpBlock.Y, maxGridX)}, Block: rowWarpBlock},
		Args:   append([]cuda.Arg{cuda.Ptr(loss), cuda.Ptr(dlogits), cuda.Ptr(logits), cuda.Ptr(labels)}, c...),
	}, nil
}

// ColSum sets y[c] to the sum of column c of the rows×cols x (the bias
// gradient of a batch). Blocks of 32×8.
func ColSum(y, x cuda.DevicePtr, rows, cols int) (Launch, error) {
	const name = "colsum_f32"
	c, err := matrixCounts(name, rows, cols)
	if err != nil {
		return Launch{}, err
	}
	return Launch{
		Name:   name,
		Config: cuda.LaunchConfig{Grid: cuda.Dim3{X: grid2(cols, rowWarpBlock.X, maxGridX)}, Block: rowWarpBlock},
		Args:   append([]cuda.Arg{cuda.Ptr(y), cuda.Ptr(x)}, c...),
	}, nil
}

// SGDMomentum updates n weights w with velocities v and gradients g:
// v = mu*v - lr*g; w += v.
func SGDMomentum(w, v, g cuda.DevicePtr, lr, mu float32, n int) (Launch, error) {
	return elementwiseLaunch("sgd_momentum_f32", n, cuda.Ptr(w), cuda.Ptr(v), cuda.Ptr(g), cuda.Float32(lr), cuda.Float32(mu))
}

// ArgmaxCorrect adds to the int32 at count the number of rows of the
// rows×cols logits whose first maximum is at the int32 label of the row.
// Zero count first (a Memset) to count one batch.
func ArgmaxCorrect(count, logits, labels cuda.DevicePtr, rows, cols int) (Launch, error) {
	const name = "argmax_correct_f32"
	c, err := matrixCounts(name, rows, cols)
	if err != nil {
		return Launch{}, err
	}
	return Launch{Name: name, Config: linear(rows), Args: append([]cuda.Arg{cuda.Ptr(count), cuda.Ptr(logits), cuda.Ptr(labels)}, c...)}, nil
}

// Set holds the kernels of [Module] looked up on one device. Make it with
// [Bind]; the zero Set holds no kernels. It is safe for concurrent use (it
// is never changed after Bind).
type Set struct {
	dev     cuda.Device
	kernels map[string]cuda.Kernel
}

// Bind looks up every kernel of [All] on dev. The CUDA backend finds them
// in the registry this package fills (see register.go) when first asked.
// If dev lacks them and is a [cuda.ModuleLoader] (another backend that
// runs PTX), Bind first hands it [Modules] with the kernels' specs and
// looks again. An error (matching cuda.ErrNotFound if a kernel is still
// missing) means dev cannot run them.
func Bind(dev cuda.Device) (*Set, error) {
	s, err := lookup(dev)
	if errors.Is(err, cuda.ErrNotFound) {
		if ml, isML := dev.(cuda.ModuleLoader); isML {
			for _, m := range Modules() {
				if err := ml.LoadModule(m.Name, m.PTX, specs(m.Name)); err != nil {
					return nil, err
				}
			}
			s, err = lookup(dev)
		}
	}
	return s, err
}

// specs returns the specs of the kernels of module.
func specs(module string) []cuda.KernelSpec {
	var out []cuda.KernelSpec
	for _, d := range defs {
		if d.Spec.Module == module {
			out = append(out, d.Spec)
		}
	}
	return out
}

func lookup(dev cuda.Device) (*Set, error) {
	s := &Set{dev: dev, kernels: make(map[string]cuda.Kernel, len(defs))}
	for _, d := range defs {
		k, err := dev.Kernel(Module, d.Spec.Name)
		if err != nil {
			return nil, err
		}
		s.kernels[d.Spec.Name] = k
	}
	return s, nil
}

// Kernel returns the kernel that l launches. It panics, with a "kernels: "
// prefix, if l names no kernel of the package (a Launch not made by a
// wrapper is misuse).
func (s *Set) Kernel(l Launch) cuda.Kernel {
	k, ok := s.kernels[l.Name]
	if !ok {
		panic(fmt.Sprintf("kernels: no kernel %q in the set", l.Name))
	}
	return k
}

// On launches l on stream s, which must belong to the set's device.
func (s *Set) On(st cuda.Stream, l Launch) error {
	return st.Launch(s.Kernel(l), l.Config, l.Args...)
}
