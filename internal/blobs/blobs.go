// Package blobs is a synthetic data set for the tests of the training
// code: Gaussian clusters, one per class, that a small perceptron learns
// in a few epochs. A Set has the methods of loader.Dataset.
package blobs

import (
	"errors"
	"math/rand/v2"
)

// ErrDecode is the error of decoding the sample Set.Fail.
var ErrDecode = errors.New("disk on fire")

// Set is out Gaussian clusters in in dimensions: sample i belongs to class
// i mod out, and is that class's center plus noise of standard deviation
// spread, the same for a given seed and i every time.
type Set struct {
	in, out, n int
	spread     float32
	seed       uint64
	centers    [][]float32 // written once by New
	// Fail is a sample whose decoding fails with ErrDecode, or -1 (New's
	// default).
	Fail int
}

// New makes a set of n samples.
func New(in, out, n int, seed uint64, spread float32) *Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := &Set{in: in, out: out, n: n, spread: spread, seed: seed, Fail: -1}
	for range out {
		c := make([]float32, in)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		b.centers = append(b.centers, c)
	}
	return b
}

// Len is the number of samples.
func (b *Set) Len() int { return b.n }

// Shape is the features per sample and the one label.
func (b *Set) Shape() (features, labels int) { return b.in, 1 }

// Decode writes sample i's features to x and its class to y[0].
func (b *Set) Decode(i int, x []float32, y []int32) error {
	if i == b.Fail {
		return ErrDecode
	}
	rng := rand.New(rand.NewPCG(b.seed, uint64(i)+2))
	for k := range x {
		x[k] = b.centers[i%b.out][k] + b.spread*float32(rng.NormFloat64())
	}
	y[0] = int32(i % b.out)
	return nil
}
