package mlp

import (
	"errors"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestLayout(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := Shape{
			In:     rapid.IntRange(1, 900).Draw(t, "in"),
			Hidden: rapid.IntRange(1, 400).Draw(t, "hidden"),
			Out:    rapid.IntRange(1, 20).Draw(t, "out"),
		}
		l, err := NewLayout(s)
		if err != nil {
			t.Fatal(err)
		}
		offs := []int{l.W1, l.B1, l.W2, l.B2, l.Len}
		sizes := []int{s.In * s.Hidden, s.Hidden, s.Hidden * s.Out, s.Out}
		for i, o := range offs {
			if o%64 != 0 {
				t.Fatalf("offset %d = %d is not a multiple of 64", i, o)
			}
			if i > 0 && offs[i-1]+sizes[i-1] > o {
				t.Fatalf("tensor %d (at %d, %d elements) overlaps the next at %d", i-1, offs[i-1], sizes[i-1], o)
			}
			if i > 0 && o-(offs[i-1]+sizes[i-1]) >= 64 {
				t.Fatalf("gap of 64 or more after tensor %d", i-1)
			}
		}
		if l.Count() != sizes[0]+sizes[1]+sizes[2]+sizes[3] {
			t.Fatalf("Count %d", l.Count())
		}
		p := make([]float32, l.Len)
		w1, b1, w2, b2 := l.Tensors(p)
		if len(w1) != sizes[0] || len(b1) != sizes[1] || len(w2) != sizes[2] || len(b2) != sizes[3] {
			t.Fatal("Tensors returned wrong lengths")
		}
	})
}

func TestShapeValidate(t *testing.T) {
	for _, s := range []Shape{{}, {784, 0, 10}, {-1, 3, 3}, {784, 1 << 30, 10}} {
		if _, err := NewLayout(s); !errors.Is(err, ErrShape) {
			t.Errorf("NewLayout(%v) = %v, want ErrShape", s, err)
		}
	}
	if _, err := NewLayout(MNIST(300)); err != nil {
		t.Fatal(err)
	}
}

func TestInit(t *testing.T) {
	l, _ := NewLayout(MNIST(300))
	a, b, c := l.Init(1), l.Init(1), l.Init(2)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different parameters")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same parameters")
	}
	w1, b1, w2, b2 := l.Tensors(a)
	for _, z := range [][]float32{b1, b2} {
		for _, v := range z {
			if v != 0 {
				t.Fatal("a bias is not zero")
			}
		}
	}
	// He: variance 2/In. Glorot uniform: variance lim²/3 = 2/(H+Out).
	check := func(name string, w []float32, want float64) {
		var s, s2 float64
		for _, v := range w {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(w))
		mean, variance := s/n, s2/n-(s/n)*(s/n)
		if math.Abs(mean) > 3*math.Sqrt(want/n)+1e-9 || math.Abs(variance/want-1) > 0.05 {
			t.Errorf("%s: mean %.3g variance %.3g, want 0 and %.3g", name, mean, variance, want)
		}
	}
	check("W1", w1, 2.0/784)
	check("W2", w2, 2.0/310)
	// The gaps are zero.
	for i := l.W1 + len(w1); i < l.B1; i++ {
		if a[i] != 0 {
			t.Fatal("gap after W1 is not zero")
		}
	}
}

func TestHyperValidate(t *testing.T) {
	if err := DefaultHyper().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []Hyper{{}, {Rate: -1}, {Rate: float32(math.Inf(1))}, {Rate: float32(math.NaN())},
		{Rate: 0.1, Momentum: 1}, {Rate: 0.1, Momentum: -0.1}} {
		if h.Validate() == nil {
			t.Errorf("%+v accepted", h)
		}
	}
}
