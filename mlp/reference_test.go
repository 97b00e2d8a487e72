package mlp

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/coawait/coawait/internal/blobs"
	"pgregory.net/rapid"
)

// lossOf is the mean loss of the model p on the n rows of x, by a forward
// pass written as plain loops (float64), independent of the gonum code.
func lossOf(l Layout, p []float32, x []float32, y []int32, n int) float64 {
	w1, b1, w2, b2 := l.Tensors(p)
	var total float64
	for r := range n {
		h := make([]float64, l.Hidden)
		for j := range h {
			s := float64(b1[j])
			for k := range l.In {
				s += float64(x[r*l.In+k]) * float64(w1[k*l.Hidden+j])
			}
			h[j] = max(s, 0)
		}
		z := make([]float64, l.Out)
		m := math.Inf(-1)
		for o := range z {
			s := float64(b2[o])
			for j := range h {
				s += h[j] * float64(w2[j*l.Out+o])
			}
			z[o] = s
			m = max(m, s)
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v - m)
		}
		total += math.Log(sum) - (z[y[r]] - m)
	}
	return total / float64(n)
}

// TestStepGradient checks Step's gradient against central finite
// differences of an independent forward pass: with rate 1 and no momentum,
// one step moves the parameters by exactly minus the gradient.
func TestStepGradient(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := Shape{In: rapid.IntRange(1, 7).Draw(t, "in"), Hidden: rapid.IntRange(1, 6).Draw(t, "hidden"),
			Out: rapid.IntRange(2, 5).Draw(t, "out")}
		n := rapid.IntRange(1, 5).Draw(t, "n")
		l, _ := NewLayout(s)
		p := l.Init(rapid.Uint64().Draw(t, "seed"))
		_, b1, _, b2 := l.Tensors(p)
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		for i := range b1 {
			b1[i] = float32(rng.NormFloat64()) // nonzero biases are checked too
		}
		for i := range b2 {
			b2[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, n*s.In)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]int32, n)
		for i := range y {
			y[i] = int32(rng.IntN(s.Out))
		}
		before := slices.Clone(p)
		r := NewReference(l, Hyper{Rate: 1}, p, nil, n)
		loss, _, err := r.Step(x, y, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := lossOf(l, before, x, y, n); math.Abs(loss/float64(n)-want) > 1e-4*(1+want) {
			t.Fatalf("loss %g, reference %g", loss/float64(n), want)
		}
		q := make([]float32, l.Len)
		for i := range p {
			g := float64(before[i] - p[i])
			copy(q, before)
			const h = 1e-2
			q[i] = before[i] + h
			up := lossOf(l, q, x, y, n)
			q[i] = before[i] - h
			down := lossOf(l, q, x, y, n)
			num := (up - down) / (2 * h)
			// ReLU kinks make the difference quotient wrong near zero
			// pre-activations; a loose tolerance covers rounding, and a kink
			// within h shows up as a large mismatch only rarely.
			if math.Abs(num-g) > 2e-2*(1+math.Abs(num)) && !kinkNear(l, before, x, n, i, h) {
				t.Fatalf("parameter %d: gradient %g, finite difference %g", i, g, num)
			}
		}
	})
}

// kinkNear reports whether moving parameter i by ±h can move a hidden
// pre-activation across zero.
func kinkNear(l Layout, p []float32, x []float32, n, i int, h float64) bool {
	if i >= l.W2 {
		return false // the second layer is smooth
	}
	w1, b1, _, _ := l.Tensors(p)
	for r := range n {
		for j := range l.Hidden {
			s := float64(b1[j])
			for k := range l.In {
				s += float64(x[r*l.In+k]) * float64(w1[k*l.Hidden+j])
			}
			if math.Abs(s) < 2*h*(1+maxAbs(x[r*l.In:(r+1)*l.In])) {
				return true
			}
		}
	}
	return false
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

func TestReferenceLearns(t *testing.T) {
	ctx := context.Background()
	l, _ := NewLayout(Shape{In: 20, Hidden: 16, Out: 4})
	data := blobs.New(20, 4, 500, 3, 0.7)
	r := NewReference(l, Hyper{Rate: 0.05, Momentum: 0.9}, l.Init(5), nil, 32)
	before, err := r.Test(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	var last Totals
	for e := range 3 {
		if last, err = r.Epoch(ctx, data, perm(500, e)); err != nil {
			t.Fatal(err)
		}
		if last.Samples != 500 {
			t.Fatalf("epoch saw %d samples", last.Samples)
		}
	}
	after, err := r.Test(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before: loss %.3f error %.3f; after: loss %.3f error %.3f", before.MeanLoss(), before.ErrorRate(),
		after.MeanLoss(), after.ErrorRate())
	if !(after.MeanLoss() < before.MeanLoss()/2) || !(after.ErrorRate() < before.ErrorRate()) || after.ErrorRate() > 0.1 {
		t.Fatal("training did not reduce the loss and the error")
	}
}

func TestReferenceErrors(t *testing.T) {
	ctx := context.Background()
	l, _ := NewLayout(Shape{In: 3, Hidden: 2, Out: 2})
	r := NewReference(l, DefaultHyper(), l.Init(1), nil, 4)
	x := make([]float32, 12)
	if _, _, err := r.Step(x, []int32{0, 1, 2, 0}, 4); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
	if _, _, err := r.Step(x, []int32{0, 1, 1, 0, 0}, 5); err == nil {
		t.Error("5 rows in a batch of 4 accepted")
	}
	data := blobs.New(3, 2, 10, 1, 0.7)
	data.Fail = 7
	if _, err := r.Epoch(ctx, data, perm(10, 0)); err == nil || !containsAll(err.Error(), "sample 7", "disk on fire") {
		t.Errorf("Epoch with a failing sample: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Epoch(cctx, blobs.New(3, 2, 10, 1, 0.7), perm(10, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Epoch with a cancelled context: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func perm(n, epoch int) []int { return rand.New(rand.NewPCG(9, uint64(epoch))).Perm(n) }

func TestReferenceWrongShape(t *testing.T) {
	l, _ := NewLayout(Shape{In: 4, Hidden: 2, Out: 2})
	r := NewReference(l, DefaultHyper(), l.Init(1), nil, 4)
	if _, err := r.Test(context.Background(), blobs.New(3, 2, 10, 1, 0.7)); err == nil {
		t.Fatal("3 features for a model of 4 inputs accepted")
	}
}
