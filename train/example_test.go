package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/train"
)

// points is a toy data set: two features, the label says which of them is
// larger.
type points int

func (p points) Len() int          { return int(p) }
func (p points) Shape() (int, int) { return 2, 1 }
func (p points) Decode(i int, x []float32, y []int32) error {
	rng := rand.New(rand.NewPCG(uint64(i), 1))
	x[0], x[1] = rng.Float32(), rng.Float32()
	y[0] = 0
	if x[1] > x[0] {
		y[0] = 1
	}
	return nil
}

// Run trains a small model on the simulated GPU, saving a checkpoint after
// every epoch; a second Run with more epochs resumes from it.
func ExampleRun() {
	dev := sim.New(sim.Config{}) // Instant mode: no modeled delays
	defer dev.Close()
	s, err := scheduler.New(dev)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	job := train.Job{
		Train: points(2000), Test: points(500),
		Shape: mlp.Shape{In: 2, Hidden: 16, Out: 2}, Hyper: mlp.DefaultHyper(),
		Batch: 50, Seed: 1, Epochs: 2,
		Checkpoint: filepath.Join(dir, "toy.ckpt"),
	}
	sum, err := train.Run(context.Background(), s, job)
	if err != nil {
		panic(err)
	}
	fmt.Println("epochs trained:", len(sum.Epochs))

	job.Epochs = 4
	sum, err = train.Run(context.Background(), s, job)
	if err != nil {
		panic(err)
	}
	last := sum.Epochs[len(sum.Epochs)-1]
	fmt.Println("resumed after epoch", sum.First, "and trained", len(sum.Epochs), "more")
	fmt.Println("test error below 5%:", last.Test.ErrorRate() < 0.05)
	// Output:
	// epochs trained: 2
	// resumed after epoch 2 and trained 2 more
	// test error below 5%: true
}
