package mlp_test

import (
	"fmt"

	"github.com/coawait/coawait/mlp"
)

// The reference trainer learns a toy problem, two points per class on a
// line, one batch at a time: what the device trainer of package train
// does with kernels, and is checked against.
func Example() {
	fmt.Println(mlp.MNIST(100), "has", must(mlp.NewLayout(mlp.MNIST(100))).Count(), "parameters")

	shape := mlp.Shape{In: 2, Hidden: 8, Out: 2}
	l := must(mlp.NewLayout(shape))
	x := []float32{-2, 1, -1, 1, 1, 1, 2, 1} // four rows of two features
	y := []int32{0, 0, 1, 1}                 // the sign of the first one
	ref := mlp.NewReference(l, mlp.DefaultHyper(), l.Init(1), nil, 4)
	first, _, err := ref.Step(x, y, 4)
	if err != nil {
		panic(err)
	}
	for range 200 {
		if _, _, err := ref.Step(x, y, 4); err != nil {
			panic(err)
		}
	}
	last, correct, err := ref.Evaluate(x, y, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println("loss fell:", last < first/10)
	fmt.Println("correct:", correct, "of 4")
	// Output:
	// 784-100-10 has 79510 parameters
	// loss fell: true
	// correct: 4 of 4
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
