package kernels

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/coawait/coawait/cuda"
)

// sgemmDims returns m, n, k and the transpose flags of a sgemm_f32 launch.
func sgemmDims(a []cuda.Arg) (m, n, k int64, ta, tb bool) {
	return count(a, 3), count(a, 4), count(a, 5), a[6].Int() != 0, a[7].Int() != 0
}

func sgemmWork(a []cuda.Arg) Work {
	m, n, k, _, _ := sgemmDims(a)
	bytes := 4 * (m*k + k*n + m*n)
	if a[9].Float() != 0 {
		bytes += 4 * m * n // C is read too
	}
	return Work{Bytes: bytes, FLOPs: 2 * m * n * k}
}

func sgemmCheck(c *Call) error {
	if err := needBlock(c, sgemmBlock); err != nil {
		return err
	}
	var dims [3]int
	for j := range dims {
		v, err := needCount(c, 3+j)
		if err != nil {
			return err
		}
		dims[j] = v
	}
	m, n, k := dims[0], dims[1], dims[2]
	for _, i := range []int{6, 7} {
		if f := c.Args[i].Int(); f != 0 && f != 1 {
			return c.Errorf("argument %d%s is %d, want 0 (no transpose) or 1 (transpose)", i, c.param(i), f)
		}
	}
	for _, mat := range []struct {
		i    int
		r, c int
	}{{0, m, n}, {1, m, k}, {2, k, n}} {
		if int64(mat.r)*int64(mat.c) > math.MaxInt32 {
			return c.Errorf("argument %d%s: %d×%d elements exceed the int32 range", mat.i, c.param(mat.i), mat.r, mat.c)
		}
		if err := Need[float32](c, mat.i, mat.r*mat.c); err != nil {
			return err
		}
	}
	return nil
}

func sgemmRun(c *Call) error {
	m, n, k, ta, tb := sgemmDims(c.Args)
	alpha, beta := float32(c.Args[8].Float()), float32(c.Args[9].Float())
	cm, err := View[float32](c, 0, int(m*n))
	if err != nil {
		return err
	}
	am, err := View[float32](c, 1, int(m*k))
	if err != nil {
		return err
	}
	bm, err := View[float32](c, 2, int(k*n))
	if err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 { // C = beta*C; gonum wants non-empty operands
		for i := range cm {
			if beta == 0 {
				cm[i] = 0
			} else {
				cm[i] *= beta
			}
		}
		return nil
	}
	// general returns a rows×cols row-major matrix over d.
	general := func(rows, cols int64, d []float32) blas32.General {
		return blas32.General{Rows: int(rows), Cols: int(cols), Stride: int(cols), Data: d}
	}
	A, tA := general(m, k, am), blas.NoTrans
	if ta {
		A, tA = general(k, m, am), blas.Trans
	}
	B, tB := general(k, n, bm), blas.NoTrans
	if tb {
		B, tB = general(n, k, bm), blas.Trans
	}
	blas32.Gemm(tA, tB, alpha, A, B, beta, general(m, n, cm))
	return nil
}
