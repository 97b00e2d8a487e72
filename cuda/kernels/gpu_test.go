//go:build cuda

package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
)

// TestGPUKernels runs every kernel's PTX on GPU 0 and its Go body on the
// simulator with the same inputs, at sizes that are not multiples of the
// tiles, and compares. The PTX is built with -fmad=false, so the
// element-wise kernels (fill, scale, saxpy, bias add, ReLU and its
// gradient, SGD with momentum) and the argmax count must agree bit for
// bit. The others sum in another order or use expf/logf, and must agree
// within stated tolerances:
//   - sgemm_f32 and colsum_f32: |gpu - go| <= 1e-6 * terms * sum|term| + 1e-6
//     per element, where terms is the number of products or rows summed
//     (the float32 rounding bound of either order is about 6e-8 of that);
//   - softmax_xent_f32: |gpu - go| <= 1e-5 * |go| + 1e-6 per loss and
//     gradient element.
//
// It needs a GPU: binaries built with -tags cuda exit at start-up without
// the NVIDIA driver. scripts/gpu-check runs it.
func TestGPUKernels(t *testing.T) {
	gpu, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("cuda.Open(0): %v", err)
	}
	t.Cleanup(func() { _ = gpu.Close() })
	simDev := sim.New(sim.Config{})
	t.Cleanup(func() { _ = simDev.Close() })
	sides := [2]*side{newSide(t, gpu), newSide(t, simDev)}
	r := rand.New(rand.NewPCG(12, 34))

	// each runs a case on one side and returns its outputs.
	type outputs = [][]float32
	compare := func(name string, run func(s *side) outputs, tol func(out, i int, want float32) float64) {
		t.Helper()
		got, want := run(sides[0]), run(sides[1])
		for o := range want {
			bad := 0
			for i := range want[o] {
				g, w := got[o][i], want[o][i]
				if math.IsNaN(float64(w)) && math.IsNaN(float64(g)) {
					continue
				}
				limit := 0.0
				if tol != nil {
					limit = tol(o, i, w)
				}
				if d := math.Abs(float64(g) - float64(w)); !(d <= limit) {
					if bad++; bad <= 3 {
						t.Errorf("%s: output %d element %d: GPU %v, Go body %v (|diff| %g > %g)", name, o, i, g, w, d, limit)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s: output %d: %d of %d elements differ", name, o, bad, len(want[o]))
			}
		}
		t.Logf("%s: %d outputs compared", name, len(want))
	}

	const n = 100_003
	x, y := randVec(r, n, 4), randVec(r, n, 4)
	compare("fill_f32", func(s *side) outputs {
		p := s.up(y)
		s.run(kernels.Fill(p, -1.25, n))
		return outputs{s.down(p, n)}
	}, nil)
	compare("scale_f32", func(s *side) outputs {
		p := s.up(y)
		s.run(kernels.Scale(p, 1.7, n))
		return outputs{s.down(p, n)}
	}, nil)
	compare("saxpy_f32", func(s *side) outputs {
		py, px := s.up(y), s.up(x)
		s.run(kernels.Saxpy(py, 0.3, px, n))
		return outputs{s.down(py, n)}
	}, nil)
	compare("relu_f32 and relu_grad_f32", func(s *side) outputs {
		px, py, pdx := s.up(x), s.up(make([]float32, n)), s.up(make([]float32, n))
		s.run(kernels.ReLU(py, px, n))
		s.run(kernels.ReLUGrad(pdx, s.up(y), py, n))
		return outputs{s.down(py, n), s.down(pdx, n)}
	}, nil)
	compare("sgd_momentum_f32", func(s *side) outputs {
		pw, pv, pg := s.up(x), s.up(y), s.up(randVec(rand.New(rand.NewPCG(5, 6)), n, 1))
		for range 3 {
			s.run(kernels.SGDMomentum(pw, pv, pg, 0.01, 0.9, n))
		}
		return outputs{s.down(pw, n), s.down(pv, n)}
	}, nil)

	const rows, cols = 203, 37 // not multiples of the 32×8 blocks
	m := randVec(r, rows*cols, 3)
	bias := randVec(r, cols, 1)
	labels := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(r.IntN(cols))
	}
	compare("bias_add_f32", func(s *side) outputs {
		p := s.up(m)
		s.run(kernels.BiasAdd(p, s.up(bias), rows, cols))
		return outputs{s.down(p, rows*cols)}
	}, nil)
	colAbs := make([]float64, cols)
	for i, v := range m {
		colAbs[i%cols] += math.Abs(float64(v))
	}
	compare("colsum_f32", func(s *side) outputs {
		py := s.up(make([]float32, cols))
		s.run(kernels.ColSum(py, s.up(m), rows, cols))
		return outputs{s.down(py, cols)}
	}, func(_, i int, _ float32) float64 { return 1e-6*rows*colAbs[i] + 1e-6 })
	compare("softmax_xent_f32", func(s *side) outputs {
		loss, dl := s.up(make([]float32, rows)), s.up(make([]float32, rows*cols))
		s.run(kernels.SoftmaxXent(loss, dl, s.up(m), s.up(labels), rows, cols))
		return outputs{s.down(loss, rows), s.down(dl, rows*cols)}
	}, func(_, _ int, want float32) float64 { return 1e-5*math.Abs(float64(want)) + 1e-6 })
	compare("argmax_correct_f32", func(s *side) outputs {
		count := s.up([]int32{5})
		s.run(kernels.ArgmaxCorrect(count, s.up(m), s.up(labels), rows, cols))
		got := downInt32(s, count, 1)
		return outputs{{float32(got[0])}}
	}, nil)

	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		const mm, nn, kk = 67, 45, 131 // not multiples of the 16×16 tiles
		a, b, c := randVec(r, mm*kk, 1), randVec(r, kk*nn, 1), randVec(r, mm*nn, 1)
		const alpha, beta = 1.5, 0.5
		abs := make([]float64, mm*nn) // sum of |terms| per element of C
		for i := range mm {
			for j := range nn {
				for l := range kk {
					ai, bi := i*kk+l, l*nn+j
					if tr[0] {
						ai = l*mm + i
					}
					if tr[1] {
						bi = j*kk + l
					}
					abs[i*nn+j] += math.Abs(alpha * float64(a[ai]) * float64(b[bi]))
				}
				abs[i*nn+j] += math.Abs(beta * float64(c[i*nn+j]))
			}
		}
		compare("sgemm_f32 "+transName(tr), func(s *side) outputs {
			pc := s.up(c)
			s.run(kernels.Sgemm(kernels.Gemm{C: pc, A: s.up(a), B: s.up(b), M: mm, N: nn, K: kk,
				TransA: tr[0], TransB: tr[1], Alpha: alpha, Beta: beta}))
			return outputs{s.down(pc, mm*nn)}
		}, func(_, i int, _ float32) float64 { return 1e-6*(kk+1)*abs[i] + 1e-6 })
	}
}

func transName(tr [2]bool) string {
	s := [2]string{"N", "N"}
	for i, b := range tr {
		if b {
			s[i] = "T"
		}
	}
	return s[0] + s[1]
}

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}

// side is one device with a stream and the kernels bound.
type side struct {
	t   *testing.T
	dev cuda.Device
	st  cuda.Stream
	set *kernels.Set
}

func newSide(t *testing.T, dev cuda.Device) *side {
	t.Helper()
	st, err := dev.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := kernels.Bind(dev)
	if err != nil {
		t.Fatalf("kernels.Bind: %v", err)
	}
	return &side{t: t, dev: dev, st: st, set: set}
}

func (s *side) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// up copies v (float32s or int32s) to a new device allocation.
func (s *side) up(v any) cuda.DevicePtr {
	s.t.Helper()
	var raw []byte
	switch v := v.(type) {
	case []float32:
		raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	case []int32:
		raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	default:
		s.t.Fatalf("up: %T", v)
	}
	p, err := s.dev.Alloc(len(raw))
	s.must(err)
	s.t.Cleanup(func() { _ = s.dev.Free(p) })
	hb, err := s.dev.AllocHost(len(raw))
	s.must(err)
	b, err := hb.Bytes()
	s.must(err)
	copy(b, raw)
	s.must(s.st.CopyHtoD(p, 0, hb, 0, len(raw)))
	s.must(s.st.Synchronize())
	s.must(s.dev.FreeHost(hb))
	return p
}

func (s *side) downBytes(p cuda.DevicePtr, n int) []byte {
	s.t.Helper()
	hb, err := s.dev.AllocHost(n)
	s.must(err)
	s.must(s.st.CopyDtoH(hb, 0, p, 0, n))
	s.must(s.st.Synchronize())
	b, err := hb.Bytes()
	s.must(err)
	out := append([]byte(nil), b...)
	s.must(s.dev.FreeHost(hb))
	return out
}

// down returns n float32s at p.
func (s *side) down(p cuda.DevicePtr, n int) []float32 {
	b := s.downBytes(p, 4*n)
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func downInt32(s *side, p cuda.DevicePtr, n int) []int32 {
	b := s.downBytes(p, 4*n)
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// run launches l and waits for it.
func (s *side) run(l kernels.Launch, err error) {
	s.t.Helper()
	s.must(err)
	s.must(s.set.On(s.st, l))
	s.must(s.st.Synchronize())
}
