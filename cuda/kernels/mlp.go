package kernels

import (
	"math"

	"github.com/coawait/coawait/cuda"
)

// Block shapes of the kernels that need one; the .cu files use the same.
var (
	sgemmBlock   = cuda.Dim3{X: 16, Y: 16, Z: 1} // TILE x TILE in sgemm.cu
	rowWarpBlock = cuda.Dim3{X: 32, Y: 8, Z: 1}  // one warp per row (softmax) or 32 columns x 8 row slices (colsum)
)

// needMatrix checks counts ri and ci and that pointer i holds rows*cols
// float32s; rows*cols must fit in an int32, as the kernels index with it.
func needMatrix(c *Call, i, ri, ci int) (rows, cols int, err error) {
	if rows, err = needCount(c, ri); err != nil {
		return 0, 0, err
	}
	if cols, err = needCount(c, ci); err != nil {
		return 0, 0, err
	}
	if int64(rows)*int64(cols) > math.MaxInt32 {
		return 0, 0, c.Errorf("%d×%d elements exceed the int32 range", rows, cols)
	}
	return rows, cols, Need[float32](c, i, rows*cols)
}

// rowKernel is the check shared by softmax_xent_f32 and argmax_correct_f32:
// logits at pointer li (rows×cols), labels at pointer lab (rows int32s),
// and cols >= 1 when there are rows.
func rowKernel(c *Call, li, lab, ri, ci int) (rows, cols int, err error) {
	if rows, cols, err = needMatrix(c, li, ri, ci); err != nil {
		return 0, 0, err
	}
	if rows > 0 && cols == 0 {
		return 0, 0, c.Errorf("%d rows of 0 columns have no maximum", rows)
	}
	return rows, cols, Need[int32](c, lab, rows)
}

// mlp returns the kernels of the MNIST training job: a two-layer MLP with
// ReLU, softmax cross-entropy and SGD with momentum.
func mlp() []Def {
	ptr := func(name string) cuda.Param { return p(name, cuda.ParamPtr) }
	i32 := func(name string) cuda.Param { return p(name, cuda.ParamInt32) }
	f32 := func(name string) cuda.Param { return p(name, cuda.ParamFloat32) }
	spec := func(name string, params ...cuda.Param) cuda.KernelSpec {
		return cuda.KernelSpec{Name: name, Params: params}
	}
	return []Def{
		{
			Spec: spec("sgemm_f32", ptr("c"), ptr("a"), ptr("b"), i32("m"), i32("n"), i32("k"),
				i32("transA"), i32("transB"), f32("alpha"), f32("beta")),
			File:  "sgemm.cu",
			Work:  sgemmWork,
			Check: sgemmCheck,
			Run:   sgemmRun,
		},
		{
			Spec: spec("bias_add_f32", ptr("y"), ptr("b"), i32("rows"), i32("cols")),
			File: "mlp.cu",
			Work: func(a []cuda.Arg) Work { r, c := count(a, 2), count(a, 3); return Work{Bytes: 8*r*c + 4*c} },
			Check: func(c *Call) error {
				_, cols, err := needMatrix(c, 0, 2, 3)
				if err != nil {
					return err
				}
				return Need[float32](c, 1, cols)
			},
			Run: func(c *Call) error {
				rows, cols := int(c.Args[2].Int()), int(c.Args[3].Int())
				y, err := View[float32](c, 0, rows*cols)
				if err != nil {
					return err
				}
				b, err := View[float32](c, 1, cols)
				if err != nil {
					return err
				}
				for r := range rows {
					row := y[r*cols : (r+1)*cols]
					for j := range row {
						row[j] += b[j]
					}
				}
				return nil
			},
		},
		{
			Spec:  spec("relu_f32", ptr("y"), ptr("x"), i32("n")),
			File:  "mlp.cu",
			Work:  bytesPer(8, 2),
			Check: elementwise(2, 0, 1),
			Run: func(c *Call) error {
				v, err := views(c, 2, 0, 1)
				if err != nil {
					return err
				}
				y, x := v[0], v[1]
				for i := range y {
					if x[i] > 0 {
						y[i] = x[i]
					} else {
						y[i] = 0
					}
				}
				return nil
			},
		},
		{
			Spec:  spec("relu_grad_f32", ptr("dx"), ptr("dy"), ptr("y"), i32("n")),
			File:  "mlp.cu",
			Work:  bytesPer(12, 3),
			Check: elementwise(3, 0, 1, 2),
			Run: func(c *Call) error {
				v, err := views(c, 3, 0, 1, 2)
				if err != nil {
					return err
				}
				dx, dy, y := v[0], v[1], v[2]
				for i := range dx {
					if y[i] > 0 {
						dx[i] = dy[i]
					} else {
						dx[i] = 0
					}
				}
				return nil
			},
		},
		{
			Spec: spec("softmax_xent_f32", ptr("loss"), ptr("dlogits"), ptr("logits"), ptr("labels"), i32("rows"), i32("cols")),
			File: "mlp.cu",
			Work: func(a []cuda.Arg) Work { r, c := count(a, 4), count(a, 5); return Work{Bytes: 8*r*c + 8*r} },
			Check: func(c *Call) error {
				if err := needBlock(c, rowWarpBlock); err != nil {
					return err
				}
				rows, cols, err := rowKernel(c, 2, 3, 4, 5)
				if err != nil {
					return err
				}
				if err := Need[float32](c, 1, rows*cols); err != nil {
					return err
				}
				return Need[float32](c, 0, rows)
			},
			Run: softmaxRun,
		},
		{
			Spec: spec("colsum_f32", ptr("y"), ptr("x"), i32("rows"), i32("cols")),
			File: "mlp.cu",
			Work: func(a []cuda.Arg) Work { r, c := count(a, 2), count(a, 3); return Work{Bytes: 4*r*c + 4*c} },
			Check: func(c *Call) error {
				if err := needBlock(c, rowWarpBlock); err != nil {
					return err
				}
				_, cols, err := needMatrix(c, 1, 2, 3)
				if err != nil {
					return err
				}
				return Need[float32](c, 0, cols)
			},
			Run: func(c *Call) error {
				rows, cols := int(c.Args[2].Int()), int(c.Args[3].Int())
				y, err := View[float32](c, 0, cols)
				if err != nil {
					return err
				}
				x, err := View[float32](c, 1, rows*cols)
				if err != nil {
					return err
				}
				clear(y)
				for r := range rows {
					for j, v := range x[r*cols : (r+1)*cols] {
						y[j] += v
					}
				}
				return nil
			},
		},
		{
			Spec:  spec("sgd_momentum_f32", ptr("w"), ptr("v"), ptr("g"), f32("lr"), f32("mu"), i32("n")),
			File:  "mlp.cu",
			Work:  bytesPer(20, 5),
			Check: elementwise(5, 0, 1, 2),
			Run: func(c *Call) error {
				v, err := views(c, 5, 0, 1, 2)
				if err != nil {
					return err
				}
				w, vel, g := v[0], v[1], v[2]
				lr, mu := float32(c.Args[3].Float()), float32(c.Args[4].Float())
				for i := range w {
					vel[i] = float32(mu*vel[i]) - float32(lr*g[i])
					w[i] += vel[i]
				}
				return nil
			},
		},
		{
			Spec: spec("argmax_correct_f32", ptr("count"), ptr("logits"), ptr("labels"), i32("rows"), i32("cols")),
			File: "mlp.cu",
			Work: func(a []cuda.Arg) Work { r, c := count(a, 3), count(a, 4); return Work{Bytes: 4*r*c + 4*r + 8} },
			Check: func(c *Call) error {
				if _, _, err := rowKernel(c, 1, 2, 3, 4); err != nil {
					return err
				}
				return Need[int32](c, 0, 1)
			},
			Run: argmaxRun,
		},
	}
}

func softmaxRun(c *Call) error {
	rows, cols := int(c.Args[4].Int()), int(c.Args[5].Int())
	loss, err := View[float32](c, 0, rows)
	if err != nil {
		return err
	}
	dl, err := View[float32](c, 1, rows*cols)
	if err != nil {
		return err
	}
	lg, err := View[float32](c, 2, rows*cols)
	if err != nil {
		return err
	}
	labels, err := View[int32](c, 3, rows)
	if err != nil {
		return err
	}
	batch := float32(rows)
	for r := range rows {
		x, d := lg[r*cols:(r+1)*cols], dl[r*cols:(r+1)*cols]
		mx := float32(math.Inf(-1))
		for _, v := range x {
			if v > mx { // fmaxf: a NaN never wins
				mx = v
			}
		}
		var s float32
		for _, v := range x {
			s += float32(math.Exp(float64(v - mx)))
		}
		lab := int(labels[r])
		okLabel := lab >= 0 && lab < cols
		if okLabel {
			loss[r] = float32(math.Log(float64(s))) + mx - x[lab]
		} else {
			loss[r] = float32(math.NaN())
		}
		for j, v := range x { // reads x[j] before writing d[j], so d may be x
			pj := float32(math.Exp(float64(v-mx))) / s
			if j == lab {
				pj -= 1
			}
			d[j] = pj / batch
		}
	}
	return nil
}

func argmaxRun(c *Call) error {
	rows, cols := int(c.Args[3].Int()), int(c.Args[4].Int())
	cnt, err := View[int32](c, 0, 1)
	if err != nil {
		return err
	}
	lg, err := View[float32](c, 1, rows*cols)
	if err != nil {
		return err
	}
	labels, err := View[int32](c, 2, rows)
	if err != nil {
		return err
	}
	for r := range rows {
		x := lg[r*cols : (r+1)*cols]
		best := 0
		for j := 1; j < cols; j++ {
			if x[j] > x[best] {
				best = j
			}
		}
		if int32(best) == labels[r] {
			cnt[0]++
		}
	}
	return nil
}
