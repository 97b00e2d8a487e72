package loader_test

import (
	"context"
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/scheduler"
)

// squares is a dataset of 10 samples: features i and i², label i%2.
type squares struct{}

func (squares) Len() int                      { return 10 }
func (squares) Shape() (features, labels int) { return 2, 1 }
func (squares) Decode(i int, x []float32, y []int32) error {
	x[0], x[1], y[0] = float32(i), float32(i*i), int32(i%2)
	return nil
}

// A training loop: each batch's step waits for the batch's copy on the
// device, and the batch goes back to the loader after the step, with the
// ordering done on the device.
func Example() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := scheduler.New(dev)
	defer s.Close()
	ld, err := loader.New(s, squares{}, loader.Options{BatchSize: 4, Shuffle: true, Seed: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ld.Close()
	scale, _ := dev.Kernel(sim.BuiltinModule, "scale_f32") // stands in for a training step
	ctx := context.Background()
	for b, err := range ld.Epochs(ctx, 0, 2) {
		if err != nil {
			fmt.Println(err)
			return
		}
		step := s.Launch(scale, cuda.Linear(2*b.N, 256, nil),
			[]cuda.Arg{cuda.Ptr(b.Features), cuda.Float32(0.5), cuda.Int32(int32(2 * b.N))},
			scheduler.After(b.Ready))
		b.ReleaseAfter(step)
		fmt.Printf("epoch %d batch %d: %d samples %v\n", b.Epoch, b.Index, b.N, b.Indices)
		if _, err := step.Await(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// epoch 0 batch 0: 4 samples [0 9 7 6]
	// epoch 0 batch 1: 4 samples [5 3 4 1]
	// epoch 0 batch 2: 2 samples [8 2]
	// epoch 1 batch 0: 4 samples [8 6 4 3]
	// epoch 1 batch 1: 4 samples [2 0 5 9]
	// epoch 1 batch 2: 2 samples [7 1]
}
