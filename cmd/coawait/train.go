package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/mnist"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
	"github.com/coawait/coawait/train"
)

func init() {
	register(&command{
		name:    "train",
		summary: "train a 784-H-10 perceptron on MNIST, loading the next batch while the device computes on this one",
		setup:   trainCommand,
	})
}

// loadMNIST reads the MNIST digits; tests replace it with a cached copy.
var loadMNIST = mnist.Load

// trainFlags are the flags of `coawait train`.
type trainFlags struct {
	device                           string
	epochs, batch, hidden, depth     int
	workers, limit, readEvery, spans int
	rate, momentum                   float64
	seed                             uint64
	checkpoint, tracePath, timeline  string
	policy                           scheduler.Policy
}

func trainCommand(fs *flag.FlagSet) func(context.Context, io.Writer, io.Writer, []string) error {
	var f trainFlags
	fs.StringVar(&f.device, "device", "sim", deviceFlagHelp)
	fs.IntVar(&f.epochs, "epochs", 5, "epochs to have trained in all (a resumed run counts its checkpoint's)")
	fs.IntVar(&f.batch, "batch", 128, "samples per batch")
	fs.IntVar(&f.hidden, "hidden", 300, "hidden units H of the 784-H-10 model")
	fs.Float64Var(&f.rate, "lr", 0.05, "learning rate")
	fs.Float64Var(&f.momentum, "momentum", 0.9, "momentum of SGD")
	fs.IntVar(&f.depth, "depth", 2, "prefetch depth: batches loaded ahead of the one being computed")
	fs.IntVar(&f.workers, "workers", 0, "decoding goroutines (0: GOMAXPROCS, at most 4)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the initialisation and the shuffling (a resumed run keeps its own)")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint `FILE`: resume from it if it exists, rewrite it after every epoch")
	fs.IntVar(&f.limit, "limit", 0, "train on the first `N` training samples only (0: all 60,000)")
	fs.IntVar(&f.readEvery, "read-every", 32, "steps between two readbacks of the loss from the device")
	fs.StringVar(&f.tracePath, "trace", "", "write a Chrome trace (JSON; open it in ui.perfetto.dev or chrome://tracing) to `FILE`")
	fs.StringVar(&f.timeline, "timeline", "", "draw the device streams' and the host loop's timeline to `FILE` (.svg or .png)")
	f.policy = scheduler.Blocking
	fs.Var(policyFlag{&f.policy}, "policy", policyFlagHelp+
		" (the polling policies take a core from the simulator's kernels on a 2-core machine)")
	fs.IntVar(&f.spans, "trace-ops", 20000, "device operations kept for -trace and -timeline (the last ones)")
	return func(ctx context.Context, out, progress io.Writer, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments %q", args)
		}
		if err := f.validate(); err != nil {
			return err
		}
		return runTrain(ctx, f, out, progress)
	}
}

func (f *trainFlags) validate() error {
	switch {
	case f.epochs < 1:
		return usagef("-epochs %d: want at least 1", f.epochs)
	case f.batch < 1:
		return usagef("-batch %d: want at least 1", f.batch)
	case f.hidden < 1:
		return usagef("-hidden %d: want at least 1", f.hidden)
	case f.depth < 1:
		return usagef("-depth %d: want at least 1", f.depth)
	case f.workers < 0 || f.limit < 0 || f.spans < 0:
		return usagef("-workers, -limit and -trace-ops must not be negative")
	case f.readEvery < 1:
		return usagef("-read-every %d: want at least 1", f.readEvery)
	}
	if err := (mlp.Hyper{Rate: float32(f.rate), Momentum: float32(f.momentum)}).Validate(); err != nil {
		return usagef("%v", err)
	}
	if f.timeline != "" {
		return checkTimeline(f.timeline)
	}
	return nil
}

func runTrain(ctx context.Context, f trainFlags, out, progress io.Writer) (err error) {
	start := time.Now()
	trainSet, testSet, err := loadMNIST(ctx)
	if err != nil {
		return fmt.Errorf("loading MNIST: %w", err)
	}
	dev, err := openDevice(f.device)
	if err != nil {
		return err
	}
	defer closeInto(&err, dev.Close)
	opts := []scheduler.Option{scheduler.WithPolicy(f.policy)}
	tracing := f.tracePath != "" || f.timeline != ""
	if tracing {
		opts = append(opts, scheduler.WithSpans(f.spans))
	}
	s, err := scheduler.New(dev, opts...)
	if err != nil {
		return err
	}
	origin := time.Now()
	defer closeInto(&err, s.Close)
	var rec *trace.Recorder
	if tracing {
		rec = trace.NewRecorder()
		defer func() {
			rec.Add(trace.FromScheduler(s.Spans(), origin, "device", trainLane)...)
			err = errors.Join(err, saveTraces(rec.Spans(), f, progress))
		}()
	}
	job := train.Job{
		Train: train.Head(trainSet, f.limit), Test: testSet,
		Shape: mlp.MNIST(f.hidden), Hyper: mlp.Hyper{Rate: float32(f.rate), Momentum: float32(f.momentum)},
		Batch: f.batch, Depth: f.depth, Workers: f.workers, Seed: f.seed, Epochs: f.epochs,
		Checkpoint: f.checkpoint, ReadEvery: f.readEvery,
	}
	fmt.Fprintf(out, "MNIST: %d training samples (of %d), %d test samples, loaded in %v\n",
		job.Train.Len(), trainSet.Len(), testSet.Len(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "device: %s; model %s, batch %d, prefetch depth %d\n", describe(dev), job.Shape, f.batch, f.depth)
	var bar *progressbar.ProgressBar
	var last time.Time
	first, epoch, submitted := 0, -1, 0 // submitted: samples of the current epoch's steps
	job.OnStart = func(at, _ int) {
		first = at
		if at > 0 {
			fmt.Fprintf(out, "resumed from %s after epoch %d\n", f.checkpoint, at)
		}
		if at >= f.epochs {
			fmt.Fprintf(out, "the checkpoint has %d epochs already; nothing to train (raise -epochs)\n", at)
		}
	}
	job.OnStep = func(n int) {
		if bar == nil {
			epoch++
			bar = newBar(progress, job.Train.Len(), fmt.Sprintf("epoch %d/%d", first+epoch+1, f.epochs))
			last, submitted = time.Now(), 0
		}
		bar.Add(n)
		submitted += n
		if rec != nil {
			now := time.Now()
			rec.Add(trace.Span{Group: "host", Lane: "training loop", Name: "step", Start: last, End: now})
			last = now
		}
	}
	if rec != nil {
		job.OnDecode = func(d loader.Decoded) {
			rec.Add(trace.Span{Group: "host", Lane: fmt.Sprintf("loader worker %d", d.Worker),
				Name: fmt.Sprintf("decode %d.%d", d.Epoch, d.Batch), Start: d.Start, End: d.End, Err: d.Err})
		}
	}
	job.OnEpoch = func(r train.Report) {
		bar.Finish()
		bar = nil
		printEpoch(out, r, f.epochs)
	}
	sum, err := train.Run(ctx, s, job)
	if bar != nil { // the run stopped inside an epoch
		bar.Exit()
		fmt.Fprintln(progress)
	}
	printSummary(out, sum, f, time.Since(start), submitted)
	return err
}

func newBar(w io.Writer, total int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("samples"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
}

func printEpoch(out io.Writer, r train.Report, epochs int) {
	t := r.Train
	fmt.Fprintf(out, "epoch %d/%d: loss %.4f, train error %.2f%%, test error %.2f%%, %.0f samples/s\n",
		r.Epoch+1, epochs, t.MeanLoss(), 100*t.ErrorRate(), 100*r.Test.ErrorRate(), t.SamplesPerSecond())
	fmt.Fprintf(out, "  stall: the compute stream waited %v for data, %.2f%% of %v of steps\n",
		t.ComputeWait.Round(time.Microsecond), 100*t.StallShare(), t.Compute.Round(time.Millisecond))
	fmt.Fprintf(out, "  time: host wall %v; device %v, busy %v (timing events); test pass %v\n",
		t.Wall.Round(time.Millisecond), t.Device.Round(time.Millisecond), t.DeviceBusy.Round(time.Microsecond),
		r.Test.Wall.Round(time.Millisecond))
}

// printSummary prints what the run did; partial is the samples submitted in
// an epoch that was cut short.
func printSummary(out io.Writer, sum train.Summary, f trainFlags, wall time.Duration, partial int) {
	n := len(sum.Epochs)
	fmt.Fprintf(out, "summary: %d epoch(s) trained in %v", n, wall.Round(time.Millisecond))
	if sum.Resumed {
		fmt.Fprintf(out, ", resumed at epoch %d", sum.First)
	}
	if n > 0 {
		last := sum.Epochs[n-1]
		fmt.Fprintf(out, "; test error %.2f%% after epoch %d", 100*last.Test.ErrorRate(), last.Epoch+1)
	}
	if sum.Interrupted {
		fmt.Fprintf(out, "; interrupted in epoch %d after %d samples (not checkpointed)", sum.First+n+1, partial)
	}
	fmt.Fprintln(out)
	if f.checkpoint != "" {
		if n > 0 {
			fmt.Fprintf(out, "checkpoint: %s (epoch %d)\n", f.checkpoint, sum.First+n)
		} else if sum.Resumed {
			fmt.Fprintf(out, "checkpoint: %s unchanged (epoch %d)\n", f.checkpoint, sum.First)
		}
	}
	fmt.Fprintln(out, "where the figures come from: loss and errors are computed on the device and read back every")
	fmt.Fprintln(out, "-read-every steps (train error: before each step's update); samples/s and wall time use the")
	fmt.Fprintln(out, "host's clock; device and busy time come from timing events on the compute stream (on -device")
	fmt.Fprintln(out, "sim the timing model's clock: a modeled H100, whose kernels are far faster than their Go bodies);")
	fmt.Fprintln(out, "stall is the time between a step's end and the next batch's arrival on the compute stream")
	fmt.Fprintln(out, "(host clock on sim, where the kernels' Go bodies run; device clock on a GPU)")
}

func describe(dev cuda.Device) string {
	p := dev.Properties()
	if d, ok := dev.(*sim.Device); ok {
		return fmt.Sprintf("%s (%s time)", p.Name, d.Config().Mode)
	}
	return p.Name
}

// trainLane names the scheduler's streams in the trace: the trainer's own
// compute stream is the first given with OnStream.
func trainLane(stream int) string {
	if stream == 3 {
		return "compute (trainer)"
	}
	return trace.StreamLane(stream)
}

func saveTraces(spans []trace.Span, f trainFlags, progress io.Writer) error {
	var errs []error
	if f.tracePath != "" {
		file, err := os.Create(f.tracePath)
		if err == nil {
			err = trace.WriteChrome(file, spans)
			closeInto(&err, file.Close)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write trace: %w", err))
		} else {
			fmt.Fprintf(progress, "trace (%d spans) written to %s\n", len(spans), f.tracePath)
		}
	}
	if f.timeline != "" {
		if err := trace.SaveTimeline(f.timeline, "coawait train: MNIST", spans); err != nil {
			errs = append(errs, fmt.Errorf("write timeline: %w", err))
		} else {
			fmt.Fprintf(progress, "timeline written to %s\n", f.timeline)
		}
	}
	return errors.Join(errs...)
}

func closeInto(err *error, close func() error) {
	if cerr := close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
