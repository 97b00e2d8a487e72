// Command 07-reading-a-trace is the program of the tutorial
// docs/07-reading-a-trace.md: it runs a small training-like loop twice on
// the simulated GPU, step by step and with the next batch loaded while the
// device computes, traces both, writes the trace for Perfetto and a
// timeline picture, and reads the stall and the device's busy time back
// from the spans.
//
//	go run ./docs/examples/07-reading-a-trace -out /tmp
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
)

const (
	steps   = 5
	load    = 2 * time.Millisecond // reading and decoding one batch on the host
	compute = 2 * time.Millisecond // one step's kernels on the device
	size    = 4 << 20              // bytes per batch
)

func main() {
	dir := flag.String("out", ".", "folder for trace.json and timeline.svg")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "07-reading-a-trace:", err)
		os.Exit(1)
	}
}

// loop is one run: a scheduler of its own (so its spans start with the
// run), two pinned host buffers and two device buffers.
type loop struct {
	name   string
	rec    *trace.Recorder
	s      *scheduler.Scheduler
	origin time.Time // host time of the scheduler's device time zero
	spin   cuda.Kernel
	host   [2]*cuda.HostBuffer
	dev    [2]cuda.DevicePtr
}

// loadBatch "reads and decodes" batch i into host buffer i%2, traced on
// the loader's lane.
func (l *loop) loadBatch(ctx context.Context, i int) (struct{}, error) {
	end := l.rec.Start(ctx, l.name, "loader", fmt.Sprintf("load %d", i))
	b, err := l.host[i%2].Bytes()
	if err == nil {
		clear(b)
		time.Sleep(load)
	}
	end(err)
	return struct{}{}, err
}

// step submits batch i's upload and its compute, which waits for the
// upload on the device.
func (l *loop) step(i int) (up, k *scheduler.Op[struct{}]) {
	up = l.s.CopyHtoD(l.dev[i%2], 0, l.host[i%2], 0, size)
	k = l.s.Launch(l.spin, cuda.LaunchConfig{}, []cuda.Arg{cuda.Int64(int64(compute))}, scheduler.After(up))
	return up, k
}

// awaiter is a task's future or a device operation.
type awaiter interface {
	Await(context.Context) (struct{}, error)
}

// wait awaits f, traced on the host loop's lane.
func (l *loop) wait(ctx context.Context, f awaiter, what string) error {
	end := l.rec.Start(ctx, l.name, "host loop", what)
	_, err := f.Await(ctx)
	end(err)
	return err
}

// stepByStep loads, uploads and computes each batch in turn.
func (l *loop) stepByStep(ctx context.Context) error {
	for i := range steps {
		if _, err := l.loadBatch(ctx, i); err != nil {
			return err
		}
		_, k := l.step(i)
		if err := l.wait(ctx, k, fmt.Sprintf("wait step %d", i)); err != nil {
			return err
		}
	}
	return nil
}

// overlapped loads batch i+1 on another goroutine while the device works
// on batch i, with at most two steps on the device at a time.
func (l *loop) overlapped(ctx context.Context) error {
	next := async.Go(ctx, func(ctx context.Context) (struct{}, error) { return l.loadBatch(ctx, 0) })
	var prevUp, prev *scheduler.Op[struct{}]
	for i := range steps {
		if err := l.wait(ctx, next, fmt.Sprintf("wait batch %d", i)); err != nil {
			return err
		}
		up, k := l.step(i)
		if i+1 < steps {
			if prevUp != nil { // host buffer (i+1)%2 is free once its upload is done
				if err := l.wait(ctx, prevUp, fmt.Sprintf("wait upload %d", i-1)); err != nil {
					return err
				}
			}
			next = async.Go(ctx, func(ctx context.Context) (struct{}, error) { return l.loadBatch(ctx, i+1) })
		}
		if prev != nil {
			if err := l.wait(ctx, prev, fmt.Sprintf("wait step %d", i-1)); err != nil {
				return err
			}
		}
		prevUp, prev = up, k
	}
	return l.wait(ctx, prev, fmt.Sprintf("wait step %d", steps-1))
}

// runLoop runs body on dev as one traced run named name, and adds the
// device's spans to rec.
func runLoop(ctx context.Context, dev cuda.Device, rec *trace.Recorder, name string, body func(*loop, context.Context) error) (err error) {
	l := &loop{name: name, rec: rec}
	if l.spin, err = dev.Kernel(sim.BuiltinModule, "spin"); err != nil {
		return err
	}
	if l.s, err = scheduler.New(dev, scheduler.WithSpans(4*steps)); err != nil {
		return err
	}
	l.origin = time.Now()
	for k := range l.host {
		if l.host[k], err = dev.AllocHost(size); err != nil {
			return errors.Join(err, l.s.Close())
		}
		defer dev.FreeHost(l.host[k])
		if l.dev[k], err = dev.Alloc(size); err != nil {
			return errors.Join(err, l.s.Close())
		}
		defer dev.Free(l.dev[k])
	}
	err = body(l, ctx)
	err = errors.Join(err, l.s.Close()) // drains: every span is final
	rec.Add(trace.FromScheduler(l.s.Spans(), l.origin, name, trace.StreamLane)...)
	return err
}

// summarize reads one run's spans back: its length, and how long the
// compute stream was busy and idle. Idle time between the first and the
// last span is the stall: the device waited for the host or for data.
func summarize(out io.Writer, name string, spans []trace.Span) {
	var first, last time.Time
	var busy time.Duration
	for _, s := range spans {
		if s.Group != name {
			continue
		}
		if first.IsZero() || s.Start.Before(first) {
			first = s.Start
		}
		if s.End.After(last) {
			last = s.End
		}
		if s.Lane == trace.StreamLane(1) {
			busy += s.Duration()
		}
	}
	wall := last.Sub(first)
	fmt.Fprintf(out, "%-12s  %v   compute stream busy %v (%.0f%%), idle %v\n",
		name, wall, busy, 100*float64(busy)/float64(wall), wall-busy)
}

func run(ctx context.Context, out io.Writer, dir string) error {
	dev := sim.New(sim.Config{Mode: sim.Modeled})
	defer dev.Close()
	rec := trace.NewRecorder()
	if err := runLoop(ctx, dev, rec, "step by step", (*loop).stepByStep); err != nil {
		return err
	}
	if err := runLoop(ctx, dev, rec, "overlapped", (*loop).overlapped); err != nil {
		return err
	}
	spans := rec.Spans()
	summarize(out, "step by step", spans)
	summarize(out, "overlapped", spans)

	f, err := os.Create(filepath.Join(dir, "trace.json"))
	if err != nil {
		return err
	}
	if err := errors.Join(trace.WriteChrome(f, spans), f.Close()); err != nil {
		return err
	}
	return trace.SaveTimeline(filepath.Join(dir, "timeline.svg"), "load and compute", spans)
}
