// Command co-await is the program of the tutorial "co_await in Go"
// (docs/01-co-await.md): a data-loading coroutine and a GPU-compute
// coroutine, started together and both awaited, on the simulated GPU.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const batchSize = 4 // values per batch

// loadBatch is the data-loading coroutine: it reads and decodes batch i
// on a goroutine of its own and returns at once with a future of the batch.
func loadBatch(ctx context.Context, i int) *future.Future[[]float32] {
	return async.Go(ctx, func(ctx context.Context) ([]float32, error) {
		if i < 0 {
			return nil, fmt.Errorf("batch %d does not exist", i)
		}
		xs := make([]float32, batchSize)
		for j := range xs {
			xs[j] = float32(i*batchSize + j) // "decoding"
		}
		return xs, nil
	})
}

// A gpu is what the compute coroutine needs: a scheduler, the built-in
// kernels, a pinned host buffer to stage batches in, and device memory.
type gpu struct {
	s    *scheduler.Scheduler
	ks   *kernels.Set
	host *cuda.HostBuffer
	x    cuda.DevicePtr
}

// compute is the GPU-compute coroutine: it copies a batch to the device,
// doubles it with a kernel, copies it back and sums it. Each device step
// is a future; After orders them on the device, and the task awaits only
// the last one.
func (g *gpu) compute(ctx context.Context, xs []float32) *future.Future[float32] {
	return async.Go(ctx, func(ctx context.Context) (float32, error) {
		staged, err := g.host.Float32s()
		if err != nil {
			return 0, err
		}
		copy(staged, xs)
		n := 4 * len(xs) // bytes
		up := g.s.CopyHtoD(g.x, 0, g.host, 0, n)
		double, err := kernels.Scale(g.x, 2, len(xs))
		if err != nil {
			return 0, err
		}
		k := g.s.Launch(g.ks.Kernel(double), double.Config, double.Args, scheduler.After(up))
		buf, err := g.s.CopyDtoH(g.host, 0, g.x, 0, n, scheduler.After(k)).Await(ctx) // co_await
		if err != nil {
			return 0, err
		}
		ys, err := buf.Float32s()
		if err != nil {
			return 0, err
		}
		var sum float32
		for _, y := range ys[:len(xs)] {
			sum += y
		}
		return sum, nil
	})
}

// newGPU opens the simulated GPU and everything compute needs. release
// releases it all.
func newGPU() (g *gpu, release func() error, err error) {
	dev := sim.New(sim.Config{}) // an H100 model in pure Go
	g = &gpu{}
	release = func() error {
		var errs []error
		if g.s != nil {
			errs = append(errs, g.s.Close())
		}
		if g.host != nil {
			errs = append(errs, dev.FreeHost(g.host))
		}
		return errors.Join(append(errs, dev.Close())...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, release())
		}
	}()
	if g.s, err = scheduler.New(dev); err != nil {
		return nil, nil, err
	}
	if g.ks, err = kernels.Bind(dev); err != nil {
		return nil, nil, err
	}
	if g.host, err = dev.AllocHost(4 * batchSize); err != nil {
		return nil, nil, err
	}
	if g.x, err = dev.Alloc(4 * batchSize); err != nil { // freed by dev.Close
		return nil, nil, err
	}
	return g, release, nil
}

func run(ctx context.Context, w io.Writer) (err error) {
	// A future and its promise: the promise settles the future once.
	f, p := future.New[string]()
	go p.Resolve("hello from another goroutine")
	msg, err := f.Await(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, msg)

	g, closeGPU, err := newGPU()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeGPU()) }()

	// The training loop: load batch i+1 while the GPU computes on batch i,
	// then await both (co_await when_all).
	const steps = 3
	batch, err := loadBatch(ctx, 0).Await(ctx)
	if err != nil {
		return err
	}
	for i := range steps {
		next := loadBatch(ctx, i+1) // starts now, runs in the background
		out := g.compute(ctx, batch)
		if _, err := future.Join(next, out).Await(ctx); err != nil {
			return err
		}
		sum, _ := out.Await(ctx) // settled: returns at once
		fmt.Fprintf(w, "step %d: batch %v doubled sums to %v\n", i, batch, sum)
		batch, _ = next.Await(ctx)
	}

	// Combinators: All waits for several futures of one type, Map
	// continues with the value, and an error travels along the chain.
	sizes := future.Map(future.All(loadBatch(ctx, 0), loadBatch(ctx, 1), loadBatch(ctx, 2)),
		func(bs [][]float32) int { return len(bs) * batchSize })
	n, err := sizes.Await(ctx)
	fmt.Fprintln(w, "three batches hold", n, "values; error:", err)
	_, err = future.All(loadBatch(ctx, 0), loadBatch(ctx, -1)).Await(ctx)
	fmt.Fprintln(w, "a failed load fails All:", err)
	first, err := future.Any(loadBatch(ctx, -1), loadBatch(ctx, 5)).Await(ctx)
	fmt.Fprintln(w, "Any takes the first success:", first, err)
	return nil
}
