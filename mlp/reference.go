package mlp

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Samples is random access to labelled samples, what the plain reference
// loop reads. Its method set is that of loader.Dataset, so one data set
// serves both trainers.
type Samples interface {
	// Len is the number of samples.
	Len() int
	// Shape is the number of features and labels of every sample: the
	// model's input size, and 1.
	Shape() (features, labels int)
	// Decode writes sample i (0 <= i < Len) into features and labels.
	Decode(i int, features []float32, labels []int32) error
}

// Reference trains the model on the host with gonum's BLAS, one batch after
// another: no futures, no device, no overlap of loading and computing. It
// is the baseline that the device trainer is measured against, and the
// oracle its results are checked against. The arithmetic is the same as the
// device kernels' (float32 throughout).
//
// A Reference is not safe for concurrent use. Create it with NewReference;
// the zero value is not usable.
type Reference struct {
	l     Layout
	h     Hyper
	batch int
	// Params and Velocity are the parameters and the SGD momentum, in the
	// layout l; Grad is scratch for the gradient, in the same layout.
	Params, Velocity, grad []float32

	z1, h1, logits, dlogits, dh, rowLoss []float32
	x                                    []float32
	y                                    []int32
}

// NewReference returns a reference trainer for batches of at most batch
// samples, starting from params and velocity (both of length l.Len; nil
// velocity means zero). It keeps params and velocity and updates them in
// place. It panics on a length mismatch or batch < 1.
func NewReference(l Layout, h Hyper, params, velocity []float32, batch int) *Reference {
	if len(params) != l.Len || (velocity != nil && len(velocity) != l.Len) || batch < 1 {
		panic("mlp: NewReference: parameter vectors must have the layout's length and batch must be positive")
	}
	if velocity == nil {
		velocity = make([]float32, l.Len)
	}
	return &Reference{
		l: l, h: h, batch: batch,
		Params: params, Velocity: velocity, grad: make([]float32, l.Len),
		z1: make([]float32, batch*l.Hidden), h1: make([]float32, batch*l.Hidden),
		logits: make([]float32, batch*l.Out), dlogits: make([]float32, batch*l.Out),
		dh: make([]float32, batch*l.Hidden), rowLoss: make([]float32, batch),
		x: make([]float32, batch*l.In), y: make([]int32, batch),
	}
}

func mat(rows, cols int, data []float32) blas32.General {
	return blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// forward computes the logits of the n rows of x into r.logits, and the
// hidden activations into r.h1.
func (r *Reference) forward(x []float32, n int) {
	l := r.l
	w1, b1, w2, b2 := l.Tensors(r.Params)
	h1 := mat(n, l.Hidden, r.h1)
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, mat(n, l.In, x), mat(l.In, l.Hidden, w1), 0, h1)
	for i := range n {
		row := h1.Data[i*l.Hidden : (i+1)*l.Hidden]
		for j, b := range b1 {
			row[j] = max(row[j]+b, 0) // bias, then ReLU
		}
	}
	lg := mat(n, l.Out, r.logits)
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, h1, mat(l.Hidden, l.Out, w2), 0, lg)
	for i := range n {
		row := lg.Data[i*l.Out : (i+1)*l.Out]
		for j, b := range b2 {
			row[j] += b
		}
	}
}

// SoftmaxXent computes, for each of the n rows of logits (row length k),
// the cross-entropy loss of the softmax against the label into loss[i],
// and, if grad is not nil, the gradient of the mean loss over the n rows,
// (softmax - onehot)/n, into grad. It returns the number of rows whose
// largest logit (the first, among equals) is the label's. A label outside
// [0, k) gives an error naming the row.
func SoftmaxXent(logits []float32, labels []int32, n, k int, loss, grad []float32) (correct int, err error) {
	for i := range n {
		row := logits[i*k : (i+1)*k]
		y := labels[i]
		if y < 0 || int(y) >= k {
			return 0, fmt.Errorf("mlp: row %d: label %d outside [0, %d)", i, y, k)
		}
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best == int(y) {
			correct++
		}
		m := row[best]
		var sum float32
		for _, v := range row {
			sum += float32(math.Exp(float64(v - m)))
		}
		lse := float32(math.Log(float64(sum)))
		loss[i] = lse - (row[y] - m)
		if grad != nil {
			g := grad[i*k : (i+1)*k]
			inv := 1 / float32(n)
			for j, v := range row {
				g[j] = float32(math.Exp(float64(v-m-lse))) * inv
			}
			g[y] -= inv
		}
	}
	return correct, nil
}

// Step trains on one batch: the n rows of x (n×In) with labels y, n <= the
// batch size. It returns the summed loss of the rows before the update and
// how many of them were classified correctly.
func (r *Reference) Step(x []float32, y []int32, n int) (loss float64, correct int, err error) {
	if n < 1 || n > r.batch {
		return 0, 0, fmt.Errorf("mlp: Step: %d rows for batch size %d", n, r.batch)
	}
	l := r.l
	r.forward(x, n)
	correct, err = SoftmaxXent(r.logits, y, n, l.Out, r.rowLoss, r.dlogits)
	if err != nil {
		return 0, 0, err
	}
	for _, v := range r.rowLoss[:n] {
		loss += float64(v)
	}
	_, _, w2, _ := l.Tensors(r.Params)
	gw1, gb1, gw2, gb2 := l.Tensors(r.grad)
	dl, h1 := mat(n, l.Out, r.dlogits), mat(n, l.Hidden, r.h1)
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, h1, dl, 0, mat(l.Hidden, l.Out, gw2))
	colSums(gb2, dl.Data, n, l.Out)
	dh := mat(n, l.Hidden, r.dh)
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, dl, mat(l.Hidden, l.Out, w2), 0, dh)
	for i, a := range h1.Data {
		if a <= 0 {
			dh.Data[i] = 0 // ReLU's gradient, masked by the forward activation
		}
	}
	blas32.Gemm(blas.Trans, blas.NoTrans, 1, mat(n, l.In, x), dh, 0, mat(l.In, l.Hidden, gw1))
	colSums(gb1, dh.Data, n, l.Hidden)
	SGD(r.Params, r.Velocity, r.grad, r.h)
	return loss, correct, nil
}

func colSums(dst, m []float32, rows, cols int) {
	clear(dst)
	for i := range rows {
		for j, v := range m[i*cols : (i+1)*cols] {
			dst[j] += v
		}
	}
}

// SGD applies one step of SGD with momentum to every element:
// v = Momentum*v - Rate*g; w += v.
func SGD(w, v, g []float32, h Hyper) {
	for i := range w {
		v[i] = h.Momentum*v[i] - h.Rate*g[i]
		w[i] += v[i]
	}
}

// Evaluate classifies the n rows of x (n <= the batch size) without
// training and returns their summed loss and the number classified
// correctly.
func (r *Reference) Evaluate(x []float32, y []int32, n int) (loss float64, correct int, err error) {
	if n < 1 || n > r.batch {
		return 0, 0, fmt.Errorf("mlp: Evaluate: %d rows for batch size %d", n, r.batch)
	}
	r.forward(x, n)
	correct, err = SoftmaxXent(r.logits, y, n, r.l.Out, r.rowLoss, nil)
	for _, v := range r.rowLoss[:n] {
		loss += float64(v)
	}
	return loss, correct, err
}

// Totals are the sums over the batches of an epoch or an evaluation.
type Totals struct {
	// Samples is the number of samples seen, Loss their summed loss and
	// Correct the number classified correctly (before each update, when
	// training).
	Samples, Correct int
	Loss             float64
}

// MeanLoss is Loss/Samples (0 for no samples).
func (t Totals) MeanLoss() float64 {
	if t.Samples == 0 {
		return 0
	}
	return t.Loss / float64(t.Samples)
}

// ErrorRate is the fraction of samples classified wrongly (0 for none).
func (t Totals) ErrorRate() float64 {
	if t.Samples == 0 {
		return 0
	}
	return 1 - float64(t.Correct)/float64(t.Samples)
}

// Epoch trains one epoch over data, read in order (a permutation of the
// sample indices, such as loader.Order's) in batches (the last one may be
// short), loading each batch and then computing on it, one after the
// other. It stops with ctx's error between batches.
func (r *Reference) Epoch(ctx context.Context, data Samples, order []int) (Totals, error) {
	return r.pass(ctx, data, order, true)
}

// Test evaluates every sample of data in index order.
func (r *Reference) Test(ctx context.Context, data Samples) (Totals, error) {
	order := make([]int, data.Len())
	for i := range order {
		order[i] = i
	}
	return r.pass(ctx, data, order, false)
}

func (r *Reference) pass(ctx context.Context, data Samples, order []int, train bool) (Totals, error) {
	var t Totals
	in := r.l.In
	if f, lb := data.Shape(); f != in || lb != 1 {
		return t, fmt.Errorf("mlp: samples of %d features and %d labels for a %s model; want %d and 1", f, lb, r.l.Shape, in)
	}
	for start := 0; start < len(order); start += r.batch {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		n := min(r.batch, len(order)-start)
		for k, idx := range order[start : start+n] {
			if err := data.Decode(idx, r.x[k*in:(k+1)*in], r.y[k:k+1]); err != nil {
				return t, fmt.Errorf("mlp: sample %d: %w", idx, err)
			}
		}
		step := r.Evaluate
		if train {
			step = r.Step
		}
		loss, correct, err := step(r.x, r.y, n)
		if err != nil {
			return t, err
		}
		t.Samples += n
		t.Correct += correct
		t.Loss += loss
	}
	return t, nil
}
