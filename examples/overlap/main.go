// Command overlap is coawait's first demo: the C++20 coroutine example of a
// training loop whose data loader and GPU compute step run at the same time,
// written with async.Go and future.All.
//
//	for step := range steps {
//	    next := async.Go(ctx, load(step+1))     // co_await-able batch load
//	    out := async.Go(ctx, compute(batch))    // the "GPU" step on this batch
//	    both := future.All(next, out).Await(ctx) // co_await when_all(...)
//	    batch = both[0]
//	}
//
// Loading reads and decodes a synthetic batch; computing runs a small dense
// layer on the CPU. Each also waits a modeled time (-load, -compute) that
// stands for disk and GPU latency, so the overlap is visible at any machine
// speed. The demo runs the loop twice, one step after the other and then
// overlapped, and prints both times and the speed-up. (Package scheduler
// runs the same shape of loop on a device, real or simulated.)
//
// Usage:
//
//	go run ./examples/overlap [-steps 8] [-load 30ms] [-compute 40ms] [-batch 256]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
)

// config is one run of the demo.
type config struct {
	steps   int           // training steps
	batch   int           // samples per batch
	width   int           // features per sample and units of the layer
	load    time.Duration // modeled time to read and decode one batch
	compute time.Duration // modeled time of one compute step
}

func (c config) validate() error {
	switch {
	case c.steps < 1:
		return fmt.Errorf("steps must be at least 1, got %d", c.steps)
	case c.batch < 1:
		return fmt.Errorf("batch must be at least 1, got %d", c.batch)
	case c.width < 1:
		return fmt.Errorf("width must be at least 1, got %d", c.width)
	case c.load < 0 || c.compute < 0:
		return errors.New("load and compute times must not be negative")
	}
	return nil
}

// loadBatch reads and decodes batch i: deterministic synthetic samples,
// after the modeled I/O time.
func loadBatch(cfg config, i int) func(context.Context) ([]float32, error) {
	return func(ctx context.Context) ([]float32, error) {
		if err := sleep(ctx, cfg.load); err != nil {
			return nil, err
		}
		b := make([]float32, cfg.batch*cfg.width)
		for j := range b {
			b[j] = float32(math.Sin(float64(i*len(b) + j)))
		}
		return b, nil
	}
}

// computeStep applies a dense layer with ReLU to batch x (the stand-in for
// a GPU kernel) after the modeled device time, and returns its output.
func computeStep(cfg config, x []float32) func(context.Context) ([]float32, error) {
	return func(ctx context.Context) ([]float32, error) {
		if err := sleep(ctx, cfg.compute); err != nil {
			return nil, err
		}
		w := cfg.width
		out := make([]float32, cfg.batch*w)
		for r := range cfg.batch {
			row := x[r*w : (r+1)*w]
			for c := range w {
				var s float32
				for k, v := range row {
					s += v * float32((k+c)%7-3) / 8
				}
				out[r*w+c] = max(s, 0)
			}
		}
		return out, nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func mean(xs []float32) float64 {
	var s float64
	for _, x := range xs {
		s += float64(x)
	}
	return s / float64(len(xs))
}

// sequential runs each step's load and compute one after the other.
func sequential(ctx context.Context, cfg config, w io.Writer) (time.Duration, error) {
	start := time.Now()
	for step := range cfg.steps {
		batch, err := loadBatch(cfg, step)(ctx)
		if err != nil {
			return 0, err
		}
		out, err := computeStep(cfg, batch)(ctx)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "  step %d/%d  mean activation %.4f  %v\n", step+1, cfg.steps, mean(out), time.Since(start).Round(time.Millisecond))
	}
	return time.Since(start), nil
}

// overlapped loads batch step+1 while computing on batch step: both are
// started with async.Go and awaited together with future.All.
func overlapped(ctx context.Context, cfg config, w io.Writer) (time.Duration, error) {
	start := time.Now()
	batch, err := async.Go(ctx, loadBatch(cfg, 0)).Await(ctx)
	if err != nil {
		return 0, err
	}
	for step := range cfg.steps {
		next := future.Resolved[[]float32](nil)
		if step+1 < cfg.steps {
			next = async.Go(ctx, loadBatch(cfg, step+1)) // the loader runs ahead
		}
		out := async.Go(ctx, computeStep(cfg, batch)) // while the device computes
		both, err := future.All(next, out).Await(ctx) // co_await when_all(next, out)
		if err != nil {
			return 0, err
		}
		batch = both[0]
		fmt.Fprintf(w, "  step %d/%d  mean activation %.4f  %v\n", step+1, cfg.steps, mean(both[1]), time.Since(start).Round(time.Millisecond))
	}
	return time.Since(start), nil
}

// run runs both loops and reports their times.
func run(ctx context.Context, cfg config, w io.Writer) (seq, ovl time.Duration, err error) {
	if err := cfg.validate(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(w, "coawait overlap demo: %d steps, batch %d×%d, load %v, compute %v per step\n",
		cfg.steps, cfg.batch, cfg.width, cfg.load, cfg.compute)
	fmt.Fprintln(w, "sequential (load, then compute):")
	if seq, err = sequential(ctx, cfg, w); err != nil {
		return 0, 0, err
	}
	fmt.Fprintln(w, "overlapped (load batch N+1 while computing batch N):")
	if ovl, err = overlapped(ctx, cfg, w); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(w, "sequential %v, overlapped %v: %.2f× faster\n",
		seq.Round(time.Millisecond), ovl.Round(time.Millisecond), float64(seq)/float64(max(ovl, 1)))
	return seq, ovl, nil
}

func main() {
	cfg := config{width: 64}
	flag.IntVar(&cfg.steps, "steps", 8, "training steps")
	flag.IntVar(&cfg.batch, "batch", 256, "samples per batch")
	flag.DurationVar(&cfg.load, "load", 30*time.Millisecond, "modeled time to read and decode a batch")
	flag.DurationVar(&cfg.compute, "compute", 40*time.Millisecond, "modeled time of a compute step")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "overlap:", err)
		os.Exit(1)
	}
}
