package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/coawait/coawait/cuda/kernels"
)

// BenchmarkSgemm times the sgemm Go body through a simulated device at the
// MNIST job's first-layer shape (batch 256, 784 inputs, 128 hidden units),
// beside a plain triple loop (the baseline: compare the two in one run).
func BenchmarkSgemm(b *testing.B) {
	const m, n, k = 256, 128, 784
	r := rand.New(rand.NewPCG(1, 2))
	a, w := randF32(r, m*k, 1), randF32(r, n*k, 1)
	flops := float64(2 * m * n * k)
	b.Run("sim", func(b *testing.B) {
		e := newEnv(b)
		l, err := kernels.Sgemm(kernels.Gemm{C: upload(e, make([]float32, m*n)), A: upload(e, a), B: upload(e, w),
			M: m, N: n, K: k, TransB: true, Alpha: 1})
		ok(b, err)
		b.ResetTimer()
		for b.Loop() {
			ok(b, e.set.On(e.st, l))
			ok(b, e.st.Synchronize())
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("loops", func(b *testing.B) {
		c := make([]float32, m*n)
		for b.Loop() {
			for i := range m {
				for j := range n {
					var s float32
					for kk := range k {
						s += a[i*k+kk] * w[j*k+kk]
					}
					c[i*n+j] = s
				}
			}
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
