// Command overlap-loading-and-compute is the program of the tutorial
// "Overlapping data loading with GPU compute"
// (docs/04-overlap-loading-and-compute.md): a training loop fed by a
// loader, on the simulated H100 in Modeled mode, with the figures that
// say whether loading keeps up.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/scheduler"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const (
	steps     = 12      // batches per run
	batchSize = 4       // samples per batch
	features  = 1 << 16 // float32 values per sample: a batch is 1 MiB
	stepTime  = 2 * time.Millisecond
)

// images is a dataset whose batches take decode(batch) to read and
// decode on one worker (the loader reads it in order: no shuffling).
type images struct{ decode func(batch int) time.Duration }

func (images) Len() int                        { return steps * batchSize }
func (images) Shape() (nFeatures, nLabels int) { return features, 1 }
func (d images) Decode(i int, x []float32, y []int32) error {
	time.Sleep(d.decode(i/batchSize) / batchSize) // reading and decoding
	for j := range x {
		x[j] = float32(i)
	}
	y[0] = int32(i % 10)
	return nil
}

// A setup is one way to run the loop.
type setup struct {
	name           string
	decode         func(batch int) time.Duration // on one worker
	workers, depth int
}

func steady(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

// bursty is 0.4ms a batch, but 8ms every sixth batch (a cache miss, say):
// 1.7ms on average.
func bursty(batch int) time.Duration {
	if batch%6 == 5 {
		return 8 * time.Millisecond
	}
	return 400 * time.Microsecond
}

// result is what one run measured.
type result struct {
	wall, ideal, inTurn time.Duration
	stats               loader.Stats
	slots, buffers      int
}

// train runs steps training steps fed by a loader: each step is a kernel
// of stepTime that starts on the device once its batch is there.
func train(ctx context.Context, su setup) (r result, err error) {
	dev := sim.New(sim.Config{Mode: sim.Modeled}) // modeled times: an H100 on PCIe Gen5
	defer func() { err = errors.Join(err, dev.Close()) }()
	s, err := scheduler.New(dev)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	ks, err := kernels.Bind(dev)
	if err != nil {
		return r, err
	}
	ld, err := loader.New(s, images{su.decode},
		loader.Options{BatchSize: batchSize, Workers: su.workers, Depth: su.depth})
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, ld.Close()) }()

	step, err := kernels.Spin(int64(stepTime)) // stands in for forward and backward
	if err != nil {
		return r, err
	}
	start := time.Now()
	var prev *scheduler.Op[struct{}]
	for b, err := range ld.Batches(ctx) {
		if err != nil {
			return r, err
		}
		k := s.Launch(ks.Kernel(step), step.Config, step.Args, scheduler.After(b.Ready))
		b.ReleaseAfter(k) // the next copy into b's memory waits for k, on the device
		if prev != nil {  // keep one step queued behind the running one
			if _, err := prev.Await(ctx); err != nil {
				return r, err
			}
		}
		prev = k
	}
	if _, err := prev.Await(ctx); err != nil {
		return r, err
	}
	r.wall = time.Since(start)

	// Per batch, loading takes the decoding (spread over the workers) and
	// the copy; overlapped perfectly, a step takes the longer of loading
	// and compute, and in turn, their sum.
	copyTime := dev.Config().Timing.CopyHtoD(ld.BatchBytes())
	for i := range steps {
		load := su.decode(i)/time.Duration(su.workers) + copyTime
		r.ideal += max(load, stepTime)
		r.inTurn += load + stepTime
	}
	r.stats, r.slots, r.buffers = ld.Stats(), ld.Slots(), ld.HostBuffers()
	return r, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", d.Seconds()*1e3) }

func run(ctx context.Context, w io.Writer) error {
	fmt.Fprintf(w, "%d steps of %v, batches of 1 MiB\n", steps, stepTime)
	fmt.Fprintf(w, "%-22s %7s %7s %7s %5s %7s %7s %7s %5s\n",
		"setup", "wall", "ideal", "in turn", "eff", "stall", "bufwait", "slotwait", "MiB")
	for _, su := range []setup{
		{"steady 1.6ms, depth 2", steady(1600 * time.Microsecond), 1, 2},
		{"bursty, depth 1", bursty, 1, 1},
		{"bursty, depth 4", bursty, 1, 4},
		{"slow 3ms, 1 worker", steady(3 * time.Millisecond), 1, 2},
		{"slow 3ms, 2 workers", steady(3 * time.Millisecond), 2, 2},
	} {
		r, err := train(ctx, su)
		if err != nil {
			return fmt.Errorf("%s: %w", su.name, err)
		}
		fmt.Fprintf(w, "%-22s %7s %7s %7s %5.2f %7s %7s %8s %5d\n", su.name,
			ms(r.wall), ms(r.ideal), ms(r.inTurn), r.wall.Seconds()/r.ideal.Seconds(),
			ms(r.stats.Stall), ms(r.stats.BufferWait), ms(r.stats.SlotWait), r.slots+r.buffers)
	}
	return nil
}
