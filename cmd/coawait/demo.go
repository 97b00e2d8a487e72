package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	rtrace "runtime/trace"
	"slices"
	"strings"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "load the next batch while the device computes on this one: step by step, then overlapped",
		setup:   demoCommand,
	})
}

func demoCommand(fs *flag.FlagSet) func(context.Context, io.Writer, io.Writer, []string) error {
	cfg := demoConfig{policy: scheduler.Adaptive}
	fs.IntVar(&cfg.steps, "steps", 32, "training steps (batches)")
	fs.DurationVar(&cfg.load, "load", 12*time.Millisecond, "host time to read and decode one batch (the copy to the device comes on top)")
	fs.DurationVar(&cfg.compute, "compute", 12*time.Millisecond, "device time of one compute step")
	fs.IntVar(&cfg.batch, "batch", 256, "samples per batch")
	fs.IntVar(&cfg.width, "width", 784, "float32 values per sample")
	fs.IntVar(&cfg.depth, "depth", 2, "prefetch depth: batches loaded ahead of the one being computed")
	device := fs.String("device", "sim", deviceFlagHelp)
	fs.Var(policyFlag{&cfg.policy}, "policy", policyFlagHelp)
	tracePath := fs.String("trace", "", "write a Chrome trace (JSON; open it in ui.perfetto.dev or chrome://tracing) to `FILE`")
	timeline := fs.String("timeline", "", "draw both runs' timelines to `FILE` (.svg or .png)")
	goTrace := fs.Bool("gotrace", false, "with -trace: also capture Go's execution tracer (runtime/trace) and add its regions to the trace, a lane per goroutine")
	return func(ctx context.Context, out, progress io.Writer, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected arguments %q", args)
		}
		if err := cfg.validate(); err != nil {
			return err
		}
		if *timeline != "" {
			if err := checkTimeline(*timeline); err != nil {
				return err
			}
		}
		if *goTrace && *tracePath == "" {
			return usagef("-gotrace needs -trace FILE")
		}
		dev, err := openDevice(*device)
		if err != nil {
			return err
		}
		var rec *trace.Recorder
		if *tracePath != "" || *timeline != "" {
			rec = trace.NewRecorder()
		}
		var goSpans []trace.Span
		stopGo := func() {}
		if *goTrace {
			stopGo = captureGoTrace(progress, &goSpans)
		}
		err = demo(ctx, dev, cfg, rec, out, progress)
		stopGo()
		if cerr := dev.Close(); err == nil {
			err = cerr
		}
		if rec.Len() > 0 { // what ran, also after an interrupt
			err = errors.Join(err, writeTraces(rec.Spans(), goSpans, *tracePath, *timeline, progress))
		}
		return err
	}
}

// checkTimeline refuses a timeline path whose format the trace package
// cannot draw, before any work is done.
func checkTimeline(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg", ".png":
		return nil
	}
	return usagef("-timeline %q: want a .svg or .png file", path)
}

// captureGoTrace starts Go's execution tracer and returns the function
// that stops it and reads the capture's regions into *spans. If the
// tracer is already running (say, under go test -trace), it says so on
// progress and captures nothing.
func captureGoTrace(progress io.Writer, spans *[]trace.Span) (stop func()) {
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		fmt.Fprintf(progress, "-gotrace: %v; going on without it\n", err)
		return func() {}
	}
	return func() {
		rtrace.Stop()
		s, err := trace.FromGoTrace(&buf, "Go execution trace")
		if err != nil {
			fmt.Fprintf(progress, "-gotrace: %v\n", err)
		}
		*spans = s
	}
}

// writeTraces writes the spans as a Chrome trace, with goSpans (from Go's
// tracer) added, and as a timeline picture, where asked.
func writeTraces(spans, goSpans []trace.Span, tracePath, timeline string, progress io.Writer) error {
	var errs []error
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err == nil {
			err = trace.WriteChrome(f, append(slices.Clip(spans), goSpans...))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write trace: %w", err))
		} else {
			fmt.Fprintf(progress, "trace (%d spans) written to %s\n", len(spans), tracePath)
		}
	}
	if timeline != "" {
		title := "coawait demo: load and compute, step by step and overlapped"
		if err := trace.SaveTimeline(timeline, title, spans); err != nil {
			errs = append(errs, fmt.Errorf("write timeline: %w", err))
		} else {
			fmt.Fprintf(progress, "timeline written to %s\n", timeline)
		}
	}
	return errors.Join(errs...)
}

// demo runs the work step by step, then overlapped, on dev and prints
// the figures to out. When ctx is cancelled it stops, prints what ran and
// returns an error matching ctx's.
func demo(ctx context.Context, dev cuda.Device, cfg demoConfig, rec *trace.Recorder, out, progress io.Writer) error {
	fmt.Fprintf(out, "coawait demo on %s\n", dev.Properties().Name)
	if _, ok := dev.(*sim.Device); ok {
		fmt.Fprintln(out, "Times are the host's wall clock; the simulated device's work takes the time of its timing model (sim.Modeled).")
	}
	fmt.Fprintf(out, "%d steps; each loads a batch of %d×%d float32 (%s; %v on the host, then a copy to the device) and computes %v on the device; prefetch depth %d\n\n",
		cfg.steps, cfg.batch, cfg.width, sizeString(cfg.bytes()), cfg.load, cfg.compute, cfg.depth)
	runs := []struct {
		name string
		loop func(*demoRun, context.Context) (int, error)
	}{
		{"step by step", (*demoRun).stepByStep},
		{fmt.Sprintf("overlapped (depth %d)", cfg.depth), (*demoRun).overlapped},
	}
	var stats []runStats
	for _, rn := range runs {
		fmt.Fprintf(progress, "%s: %d steps...\n", rn.name, cfg.steps)
		st, err := runOnce(ctx, dev, cfg, rn.name, rn.loop, rec)
		stats = append(stats, st)
		if err != nil {
			if ctx.Err() != nil {
				summary(out, cfg, stats, true)
			}
			return fmt.Errorf("%s: %w", rn.name, err)
		}
	}
	summary(out, cfg, stats, false)
	if stats[0].checksum != stats[1].checksum {
		return fmt.Errorf("the runs computed different results: checksums %v and %v", stats[0].checksum, stats[1].checksum)
	}
	return nil
}

func runOnce(ctx context.Context, dev cuda.Device, cfg demoConfig, name string, loop func(*demoRun, context.Context) (int, error), rec *trace.Recorder) (st runStats, err error) {
	st.name = name
	r, err := newRun(dev, cfg, name, rec)
	if err != nil {
		return st, err
	}
	defer func() { err = errors.Join(err, r.close()) }()
	start := time.Now()
	steps, err := loop(r, ctx)
	st.wall = time.Since(start)
	if ferr := r.finish(context.WithoutCancel(ctx), &st, steps); err == nil {
		err = ferr
	}
	return st, err
}

// summary prints each run's figures; for an interrupted demo, what ran.
func summary(out io.Writer, cfg demoConfig, stats []runStats, interrupted bool) {
	for _, st := range stats {
		fmt.Fprintf(out, "%-22s %v", st.name+":", st.wall.Round(100*time.Microsecond))
		if st.steps < cfg.steps {
			fmt.Fprintf(out, " (interrupted after %d of %d steps)\n", st.steps, cfg.steps)
			continue
		}
		fmt.Fprintf(out, " (%d steps; Σ load+compute %v, Σ max(load, compute) %v)\n",
			st.steps, st.serial.Round(100*time.Microsecond), st.ideal.Round(100*time.Microsecond))
	}
	if interrupted || len(stats) < 2 {
		return
	}
	seq, ovl := stats[0], stats[1]
	fmt.Fprintf(out, "%-22s %.2fx\n", "speed-up:", seq.wall.Seconds()/max(ovl.wall.Seconds(), 1e-9))
	fmt.Fprintf(out, "%-22s %.3f (overlapped time ÷ Σ max(load, compute); 1 is perfect overlap)\n",
		"overlap efficiency:", ovl.wall.Seconds()/max(ovl.ideal.Seconds(), 1e-9))
	fmt.Fprintf(out, "%-22s %.6g (Σ of the device's accumulator; the same in both runs)\n", "checksum:", ovl.checksum)
}

func sizeString(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
