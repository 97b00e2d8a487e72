package mlp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrShape reports a model shape that is not usable (a zero or negative
// size, or parameters too many to address) or that differs from the one
// expected, such as a checkpoint of another model.
var ErrShape = errors.New("mlp: bad model shape")

// Shape is the size of a two-layer perceptron In-Hidden-Out. The zero value
// is not a valid shape; MNIST's is Shape{In: 784, Hidden: H, Out: 10}.
type Shape struct {
	In, Hidden, Out int
}

// MNIST returns the shape of an MNIST classifier with hidden units.
func MNIST(hidden int) Shape { return Shape{In: 784, Hidden: hidden, Out: 10} }

// String formats the shape as "784-300-10".
func (s Shape) String() string { return fmt.Sprintf("%d-%d-%d", s.In, s.Hidden, s.Out) }

// maxParams bounds the parameter count so that every offset fits an int32
// kernel argument.
const maxParams = math.MaxInt32 / 2

// Validate returns an error matching ErrShape if a size is not positive or
// the model has more than about a billion parameters.
func (s Shape) Validate() error {
	if s.In <= 0 || s.Hidden <= 0 || s.Out <= 0 {
		return fmt.Errorf("%w: %s: every size must be positive", ErrShape, s)
	}
	if s.In > maxParams || s.Hidden > maxParams || s.Out > maxParams ||
		int64(s.In+1+s.Out)*int64(s.Hidden)+int64(s.Out) > maxParams {
		return fmt.Errorf("%w: %s: too many parameters", ErrShape, s)
	}
	return nil
}

// align is the alignment of each tensor in the flat parameter vector,
// in elements: 64 float32s are 256 bytes, the alignment of a device
// allocation, so every tensor's device pointer is as aligned as one
// allocation's and vector loads work on a GPU.
const align = 64

// Layout places the four parameter tensors of a Shape in one flat float32
// vector, each at an offset that is a multiple of 64 elements, in the order
// W1, b1, W2, b2. Matrices are row-major:
//
//	W1  In×Hidden   at W1   (so a batch X (B×In) times W1 is B×Hidden)
//	b1  Hidden      at B1
//	W2  Hidden×Out  at W2
//	b2  Out         at B2
//
// The gaps between tensors are zero and stay zero under training (their
// gradient is zero). One vector, so that the SGD update of every parameter
// is a single kernel launch, and a gradient vector and a momentum vector
// share the layout.
type Layout struct {
	Shape
	// W1, B1, W2 and B2 are the offsets of the tensors, in elements.
	W1, B1, W2, B2 int
	// Len is the length of the flat vector, a multiple of 64.
	Len int
}

// NewLayout returns the layout of s. It returns an error matching ErrShape
// if s is not valid.
func NewLayout(s Shape) (Layout, error) {
	if err := s.Validate(); err != nil {
		return Layout{}, err
	}
	up := func(n int) int { return (n + align - 1) / align * align }
	l := Layout{Shape: s, W1: 0}
	l.B1 = up(l.W1 + s.In*s.Hidden)
	l.W2 = up(l.B1 + s.Hidden)
	l.B2 = up(l.W2 + s.Hidden*s.Out)
	l.Len = up(l.B2 + s.Out)
	return l, nil
}

// Count is the number of parameters (weights and biases), without the gaps.
func (l Layout) Count() int {
	return l.In*l.Hidden + l.Hidden + l.Hidden*l.Out + l.Out
}

// Tensors returns views of the four tensors in p, a vector of length Len.
// It panics if p has another length.
func (l Layout) Tensors(p []float32) (w1, b1, w2, b2 []float32) {
	if len(p) != l.Len {
		panic(fmt.Sprintf("mlp: parameter vector of length %d for layout of length %d", len(p), l.Len))
	}
	return p[l.W1 : l.W1+l.In*l.Hidden], p[l.B1 : l.B1+l.Hidden],
		p[l.W2 : l.W2+l.Hidden*l.Out], p[l.B2 : l.B2+l.Out]
}

// Init returns a fresh parameter vector for l, drawn from seed: W1 with He
// initialisation (normal, variance 2/In, suited to the ReLU that follows),
// W2 with Glorot/Xavier (uniform in ±sqrt(6/(Hidden+Out)), suited to the
// softmax), biases zero. The same seed gives the same vector on every
// platform (math/rand/v2's PCG and its normal distribution are specified
// exactly).
func (l Layout) Init(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x636f61776169742d)) // "coawait-"
	p := make([]float32, l.Len)
	w1, _, w2, _ := l.Tensors(p)
	he := math.Sqrt(2 / float64(l.In))
	for i := range w1 {
		w1[i] = float32(rng.NormFloat64() * he)
	}
	lim := math.Sqrt(6 / float64(l.Hidden+l.Out))
	for i := range w2 {
		w2[i] = float32((2*rng.Float64() - 1) * lim)
	}
	return p
}

// Hyper are the training hyperparameters. The zero value is not useful;
// DefaultHyper returns working values for MNIST.
type Hyper struct {
	// Rate is the learning rate, Momentum the momentum coefficient of SGD
	// with momentum: v = Momentum*v - Rate*g; w += v.
	Rate, Momentum float32
}

// DefaultHyper returns a learning rate of 0.05 and momentum 0.9.
func DefaultHyper() Hyper { return Hyper{Rate: 0.05, Momentum: 0.9} }

// Validate returns an error if the rate is not positive and finite or the
// momentum is not in [0, 1).
func (h Hyper) Validate() error {
	if !(h.Rate > 0) || math.IsInf(float64(h.Rate), 0) {
		return fmt.Errorf("mlp: learning rate %v: must be positive and finite", h.Rate)
	}
	if !(h.Momentum >= 0 && h.Momentum < 1) {
		return fmt.Errorf("mlp: momentum %v: must be in [0, 1)", h.Momentum)
	}
	return nil
}
