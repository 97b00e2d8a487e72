package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"

	"github.com/coawait/coawait/cuda/kernels"
)

// Every Go body is compared with a plain nested-loop reference on random
// inputs through a simulated device (allocate, copy in, launch, copy out).
// Sizes run past the tiles (16 for sgemm, 32×8 for the row kernels) and are
// mostly not multiples of them.

// draw returns a size in [0, hi] and a generator seeded by the property.
func draw(t *rapid.T, hi int, names ...string) ([]int, *rand.Rand) {
	sizes := make([]int, len(names))
	for i, n := range names {
		sizes[i] = rapid.IntRange(0, hi).Draw(t, n)
	}
	seed := rapid.Uint64().Draw(t, "seed")
	return sizes, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// near reports whether got is within tol of want (NaN matches NaN).
func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol
}

func TestSgemm(t *testing.T) {
	base := newEnv(t)
	rapid.Check(t, func(rt *rapid.T) {
		e := base.with(rt)
		defer e.freeAll()
		s, r := draw(rt, 70, "m", "n", "k")
		m, n, k := s[0], s[1], s[2]
		ta, tb := rapid.Bool().Draw(rt, "transA"), rapid.Bool().Draw(rt, "transB")
		alpha := rapid.SampledFrom([]float32{1, -0.5, 2, 0}).Draw(rt, "alpha")
		beta := rapid.SampledFrom([]float32{0, 1, 0.25}).Draw(rt, "beta")
		a, b, c := randF32(r, m*k, 1), randF32(r, k*n, 1), randF32(r, m*n, 1)
		if beta == 0 && len(c) > 0 {
			c[0] = float32(math.NaN()) // not read when beta is 0
		}
		// A(i, kk) and B(kk, j) in their stored layouts.
		at := func(i, kk int) float32 {
			if ta {
				return a[kk*m+i]
			}
			return a[i*k+kk]
		}
		bt := func(kk, j int) float32 {
			if tb {
				return b[j*k+kk]
			}
			return b[kk*n+j]
		}
		pc := upload(e, c)
		e.run(kernels.Sgemm(kernels.Gemm{C: pc, A: upload(e, a), B: upload(e, b), M: m, N: n, K: k,
			TransA: ta, TransB: tb, Alpha: alpha, Beta: beta}))
		got := download[float32](e, pc, m*n)
		for i := range m {
			for j := range n {
				var sum, abs float64
				for kk := range k {
					p := float64(at(i, kk)) * float64(bt(kk, j))
					sum += p
					abs += math.Abs(p)
				}
				want := float64(alpha) * sum
				abs *= math.Abs(float64(alpha))
				if beta != 0 {
					want += float64(beta) * float64(c[i*n+j])
					abs += math.Abs(float64(beta) * float64(c[i*n+j]))
				}
				// float32 accumulation over k terms: a few ulps per term.
				tol := float64(k+2)*2*(1.0/(1<<23))*abs + 1e-30
				if g := float64(got[i*n+j]); !near(g, want, tol) {
					rt.Fatalf("C[%d][%d] = %g, want %g ± %g (m=%d n=%d k=%d tA=%v tB=%v)", i, j, g, want, tol, m, n, k, ta, tb)
				}
			}
		}
	})
}

func TestElementwise(t *testing.T) {
	base := newEnv(t)
	rapid.Check(t, func(rt *rapid.T) {
		e := base.with(rt)
		defer e.freeAll()
		s, r := draw(rt, 700, "n")
		n := s[0]
		x, y, g := randF32(r, n, 2), randF32(r, n, 2), randF32(r, n, 1)
		a := float32(r.NormFloat64())
		check := func(name string, got, want []float32) {
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					rt.Fatalf("%s: [%d] = %g, want %g (n=%d)", name, i, got[i], want[i], n)
				}
			}
		}
		ref := func(f func(i int) float32) []float32 {
			out := make([]float32, n)
			for i := range out {
				out[i] = f(i)
			}
			return out
		}

		py, px := upload(e, y), upload(e, x)
		e.run(kernels.Saxpy(py, a, px, n))
		check("saxpy", download[float32](e, py, n), ref(func(i int) float32 { return y[i] + float32(a*x[i]) }))

		py = upload(e, y)
		e.run(kernels.Scale(py, a, n))
		check("scale", download[float32](e, py, n), ref(func(i int) float32 { return y[i] * a }))

		e.run(kernels.Fill(py, a, n))
		check("fill", download[float32](e, py, n), ref(func(int) float32 { return a }))

		relu := ref(func(i int) float32 { return max(x[i], 0) })
		e.run(kernels.ReLU(px, px, n)) // in place
		check("relu", download[float32](e, px, n), relu)

		pdy := upload(e, g)
		e.run(kernels.ReLUGrad(pdy, pdy, px, n)) // in place, masked by relu(x)
		check("relu_grad", download[float32](e, pdy, n), ref(func(i int) float32 {
			if relu[i] > 0 {
				return g[i]
			}
			return 0
		}))

		pw, pv, pg := upload(e, x), upload(e, y), upload(e, g)
		lr, mu := float32(0.05), float32(0.9)
		e.run(kernels.SGDMomentum(pw, pv, pg, lr, mu, n))
		v := ref(func(i int) float32 { return float32(mu*y[i]) - float32(lr*g[i]) })
		check("sgd v", download[float32](e, pv, n), v)
		check("sgd w", download[float32](e, pw, n), ref(func(i int) float32 { return x[i] + v[i] }))
	})
}

func TestRowKernels(t *testing.T) {
	base := newEnv(t)
	rapid.Check(t, func(rt *rapid.T) {
		e := base.with(rt)
		defer e.freeAll()
		s, r := draw(rt, 80, "rows", "cols")
		rows, cols := s[0], s[1]+1 // softmax and argmax need a column
		x := randF32(r, rows*cols, 4)
		b := randF32(r, cols, 1)
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(r.IntN(cols))
			if r.IntN(3) == 0 { // small integers: ties for the maximum
				for j := i * cols; j < (i+1)*cols; j++ {
					x[j] = float32(math.Round(float64(x[j]) / 2))
				}
			}
		}
		if rows > 1 {
			labels[rows-1] = int32(cols) // out of range: NaN loss, never correct
		}

		// bias_add
		px := upload(e, x)
		e.run(kernels.BiasAdd(px, upload(e, b), rows, cols))
		gotB := download[float32](e, px, rows*cols)
		for i, v := range gotB {
			if want := x[i] + b[i%cols]; v != want {
				rt.Fatalf("bias_add [%d] = %g, want %g", i, v, want)
			}
		}

		// colsum
		py := upload(e, randF32(r, cols, 9)) // overwritten, not added to
		e.run(kernels.ColSum(py, upload(e, x), rows, cols))
		gotC := download[float32](e, py, cols)
		for j := range cols {
			var want, abs float64
			for i := range rows {
				want += float64(x[i*cols+j])
				abs += math.Abs(float64(x[i*cols+j]))
			}
			if tol := float64(rows+1) * (1.0 / (1 << 23)) * abs; !near(float64(gotC[j]), want, tol) {
				rt.Fatalf("colsum [%d] = %g, want %g ± %g", j, gotC[j], want, tol)
			}
		}

		// softmax_xent, in place (dlogits == logits)
		pl, plab := upload(e, make([]float32, rows)), upload(e, labels)
		px = upload(e, x)
		e.run(kernels.SoftmaxXent(pl, px, px, plab, rows, cols))
		loss, dl := download[float32](e, pl, rows), download[float32](e, px, rows*cols)
		for i := range rows {
			row := x[i*cols : (i+1)*cols]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - mx)
			}
			lab := int(labels[i])
			want := math.NaN()
			if lab < cols {
				want = math.Log(sum) + mx - float64(row[lab])
			}
			if !near(float64(loss[i]), want, 1e-5*math.Abs(want)+1e-5) {
				rt.Fatalf("loss[%d] = %g, want %g", i, loss[i], want)
			}
			for j, v := range row {
				p := math.Exp(float64(v)-mx) / sum
				if j == lab {
					p--
				}
				p /= float64(rows)
				if !near(float64(dl[i*cols+j]), p, 1e-5*math.Abs(p)+1e-6/float64(rows)) {
					rt.Fatalf("dlogits[%d][%d] = %g, want %g", i, j, dl[i*cols+j], p)
				}
			}
		}

		// argmax_correct accumulates into count
		pc := upload(e, []int32{7})
		e.run(kernels.ArgmaxCorrect(pc, upload(e, x), plab, rows, cols))
		want := int32(7)
		for i := range rows {
			best := 0
			for j := range cols {
				if x[i*cols+j] > x[i*cols+best] {
					best = j
				}
			}
			if best == int(labels[i]) {
				want++
			}
		}
		if got := download[int32](e, pc, 1)[0]; got != want {
			rt.Fatalf("argmax_correct = %d, want %d", got, want)
		}
	})
}
