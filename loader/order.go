package loader

import (
	"math/bits"
	"math/rand/v2"
)

// Order returns the sample order of epoch for a dataset of n samples
// shuffled with seed: a permutation of 0..n-1, the same for the same
// arguments on every platform and Go release (a Fisher–Yates shuffle driven
// by a PCG generator seeded with seed and epoch, both of which Go
// specifies). It panics if n is negative.
func Order(n int, seed uint64, epoch int) []int {
	if n < 0 {
		panic("loader: Order of a negative length")
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	g := rand.NewPCG(seed, uint64(epoch))
	for i := n - 1; i > 0; i-- {
		j := int(below(g, uint64(i)+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// below returns a uniform number in [0, n) (n > 0) by Lemire's
// multiply-and-reject method.
func below(g *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(g.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(g.Uint64(), n)
		}
	}
	return hi
}
