package mnist_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/coawait/coawait/mnist"
)

// Two 2×2 images and their labels, written as IDX files in memory, read
// back and decoded as the loader would; then a label file whose count is
// cut short, and the error that names it.
func Example() {
	images := &mnist.IDX{Type: mnist.TypeUint8, Dims: []int{2, 2, 2}, Data: []byte{0, 255, 255, 0, 51, 51, 51, 51}}
	labels := &mnist.IDX{Type: mnist.TypeUint8, Dims: []int{2}, Data: []byte{7, 3}}
	var imgFile, lblFile bytes.Buffer
	if _, err := images.WriteTo(&imgFile); err != nil {
		panic(err)
	}
	if _, err := labels.WriteTo(&lblFile); err != nil {
		panic(err)
	}
	lblBytes := bytes.Clone(lblFile.Bytes())
	img, err := mnist.ReadIDX("images", &imgFile)
	if err != nil {
		panic(err)
	}
	lbl, err := mnist.ReadIDX("labels", &lblFile)
	if err != nil {
		panic(err)
	}
	set, err := mnist.NewSet("images", img, "labels", lbl)
	if err != nil {
		panic(err)
	}
	features, _ := set.Shape()
	x, y := make([]float32, features), make([]int32, 1)
	for i := range set.Len() {
		if err := set.Decode(i, x, y); err != nil {
			panic(err)
		}
		fmt.Println(x, y)
	}

	_, err = mnist.ReadIDX("labels", bytes.NewReader(lblBytes[:len(lblBytes)-1]))
	fmt.Println(errors.Is(err, mnist.ErrFormat))
	fmt.Println(err)
	// Output:
	// [0 1 1 0] [7]
	// [0.2 0.2 0.2 0.2] [3]
	// true
	// mnist: labels: truncated: file ends after 1 of the 2 data bytes its dimensions [2] announce
}
