package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
)

// demoConfig is the work of the demo: steps batches of batch×width
// float32 values, each loaded (read and decoded on the host for load, then
// copied to the device) and computed on (a kernel of compute's modeled
// duration, then a saxpy that adds the batch into an accumulator).
type demoConfig struct {
	steps, batch, width int
	depth               int // batches loaded ahead of the one being computed
	load, compute       time.Duration
	policy              scheduler.Policy
}

func (c demoConfig) validate() error {
	switch {
	case c.steps < 1:
		return usagef("-steps must be at least 1, got %d", c.steps)
	case c.batch < 1 || c.width < 1:
		return usagef("-batch and -width must be at least 1, got %d and %d", c.batch, c.width)
	case c.batch*c.width > 1<<28:
		return usagef("-batch × -width = %d values: at most %d", c.batch*c.width, 1<<28)
	case c.depth < 1:
		return usagef("-depth must be at least 1, got %d", c.depth)
	case c.load < 0 || c.compute < 0:
		return usagef("-load and -compute must not be negative, got %v and %v", c.load, c.compute)
	}
	return nil
}

func (c demoConfig) values() int { return c.batch * c.width }
func (c demoConfig) bytes() int  { return 4 * c.values() }

// sample is value j of batch i: what "decoding" produces.
func sample(i, j int) float32 { return float32((i*31+j)%17) / 16 }

// runStats is what one run of the loop did.
type runStats struct {
	name     string
	steps    int           // steps whose compute the host saw complete
	wall     time.Duration // from the first load to the last step's completion
	ideal    time.Duration // Σ max(load, compute) over the completed steps
	serial   time.Duration // Σ (load + compute) over the completed steps
	checksum float64       // Σ of the device's accumulator, read back at the end
}

// demoRun is one run's resources: its own scheduler (so its spans and
// device clock start with the run), depth+1 slots of a pinned host buffer
// and a device buffer each, and the accumulator.
type demoRun struct {
	cfg     demoConfig
	name    string
	s       *scheduler.Scheduler
	origin  time.Time // host time of the scheduler's device time zero
	pool    *cuda.HostPool
	host    []*cuda.HostBuffer
	slot    []cuda.DevicePtr
	acc     cuda.DevicePtr
	spin    cuda.Kernel
	saxpy   cuda.Kernel
	rec     *trace.Recorder
	decoded []time.Duration // load time of each step (see decode); written by the loader before the step's copy is submitted
}

func newRun(dev cuda.Device, cfg demoConfig, name string, rec *trace.Recorder) (r *demoRun, err error) {
	r = &demoRun{cfg: cfg, name: name, rec: rec, decoded: make([]time.Duration, cfg.steps)}
	if r.spin, err = dev.Kernel("coawait", "spin"); err != nil {
		return nil, err
	}
	if r.saxpy, err = dev.Kernel("coawait", "saxpy_f32"); err != nil {
		return nil, err
	}
	r.s, err = scheduler.New(dev, scheduler.WithSpans(3*cfg.steps+8), scheduler.WithPolicy(cfg.policy))
	if err != nil {
		return nil, err
	}
	r.origin = time.Now()
	r.pool = cuda.NewHostPool(dev, cfg.depth+1)
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close())
		}
	}()
	for range cfg.depth + 1 {
		h, err := r.pool.Get(cfg.bytes())
		if err != nil {
			return r, err
		}
		r.host = append(r.host, h)
		p, err := dev.Alloc(cfg.bytes())
		if err != nil {
			return r, err
		}
		r.slot = append(r.slot, p)
	}
	if r.acc, err = dev.Alloc(cfg.bytes()); err != nil {
		return r, err
	}
	r.s.Memset(r.acc, 0, cfg.bytes(), 0) // on the compute stream, before every step's kernels
	return r, nil
}

// close drains the scheduler (every submitted operation completes) and
// frees the run's memory.
func (r *demoRun) close() error {
	var errs []error
	if err := r.s.Close(); !errors.Is(err, scheduler.ErrClosed) { // closed by finish
		errs = append(errs, err)
	}
	for _, h := range r.host {
		errs = append(errs, r.pool.Put(h))
	}
	errs = append(errs, r.pool.Close())
	dev := r.s.Device()
	for _, p := range append(r.slot, r.acc) {
		if p != 0 {
			errs = append(errs, dev.Free(p))
		}
	}
	return errors.Join(errs...)
}

// decode "reads and decodes" batch i into its slot's pinned buffer: it
// writes the values, then waits out the rest of the modeled load time.
func (r *demoRun) decode(ctx context.Context, i int) (err error) {
	end := r.rec.Start(ctx, r.name, "loader", fmt.Sprintf("load batch %d", i))
	start := time.Now()
	defer func() { end(err) }()
	xs, err := r.host[i%len(r.host)].Float32s()
	if err != nil {
		return err
	}
	for j := range xs {
		xs[j] = sample(i, j)
	}
	// The step's load time is the modeled one, or the decoding's if that
	// took longer: never the timer's lateness, which is overhead.
	r.decoded[i] = max(r.cfg.load, time.Since(start))
	if rest := r.cfg.load - time.Since(start); rest > 0 {
		t := time.NewTimer(rest)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// copyIn submits the host-to-device copy of batch i (copy-in stream).
func (r *demoRun) copyIn(i int) *scheduler.Op[struct{}] {
	k := i % len(r.slot)
	return r.s.CopyHtoD(r.slot[k], 0, r.host[k], 0, r.cfg.bytes())
}

// computeStep submits step i's kernels (compute stream), after the copy
// of its batch on the device: the modeled work, then acc += batch.
func (r *demoRun) computeStep(i int, in *scheduler.Op[struct{}]) *scheduler.Op[struct{}] {
	one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
	work := r.s.Launch(r.spin, one, []cuda.Arg{cuda.Int64(int64(r.cfg.compute))}, scheduler.After(in))
	n := r.cfg.values()
	props := r.s.Device().Properties()
	return r.s.Launch(r.saxpy, cuda.Linear(n, 256, &props),
		[]cuda.Arg{cuda.Ptr(r.acc), cuda.Float32(1), cuda.Ptr(r.slot[i%len(r.slot)]), cuda.Int32(int32(n))},
		scheduler.After(work))
}

// await waits for op, recording the wait as a span on the host loop's lane.
func (r *demoRun) await(ctx context.Context, op *scheduler.Op[struct{}], what string) error {
	end := r.rec.Start(ctx, r.name, "host loop", what)
	_, err := op.Await(ctx)
	end(err)
	return err
}

// stepByStep loads, copies and computes each batch in turn, waiting for
// each part before starting the next. It returns the steps completed.
func (r *demoRun) stepByStep(ctx context.Context) (int, error) {
	for i := range r.cfg.steps {
		if err := r.decode(ctx, i); err != nil {
			return i, err
		}
		in := r.copyIn(i)
		if err := r.await(ctx, in, fmt.Sprintf("await copy %d", i)); err != nil {
			return i, err
		}
		if err := r.await(ctx, r.computeStep(i, in), fmt.Sprintf("await step %d", i)); err != nil {
			return i, err
		}
	}
	return r.cfg.steps, nil
}

// overlapped runs the loading coroutine and the compute coroutine
// together, started in one scope and awaited with future.All. The loader
// keeps up to depth batches loaded ahead of the one being computed: it
// takes a free slot (backpressure), decodes into its pinned buffer and
// submits the copy. The compute coroutine launches each step's kernels
// after its copy on the device and keeps the next step queued on the
// device while it waits for the current one; a slot is free again once
// the host has seen the step that used it complete. It returns the steps
// completed.
func (r *demoRun) overlapped(ctx context.Context) (int, error) {
	slots := len(r.slot)
	ready := make(chan *scheduler.Op[struct{}], slots) // copies submitted, in step order
	free := make(chan struct{}, slots)                 // free slots, taken in step order
	for range slots {
		free <- struct{}{}
	}
	sc, sctx := async.NewScope(ctx)
	loader := async.Spawn(sc, func(ctx context.Context) (int, error) {
		defer close(ready)
		copies := make([]*scheduler.Op[struct{}], r.cfg.steps)
		for i := range r.cfg.steps {
			t := time.Now()
			select {
			case <-free:
			case <-ctx.Done():
				return i, context.Cause(ctx)
			}
			if i >= slots {
				// The slot's kernels are done, so its last copy is too;
				// awaiting that copy (at once) also orders its release of
				// the pinned buffer before the buffer is written again.
				if _, err := copies[i-slots].Await(ctx); err != nil {
					return i, err
				}
			}
			if w := time.Since(t); w > 20*time.Microsecond {
				r.rec.Add(trace.Span{Group: r.name, Lane: "loader", Name: "wait for a free buffer", Start: t, End: t.Add(w)})
			}
			if err := r.decode(ctx, i); err != nil {
				return i, err
			}
			copies[i] = r.copyIn(i)
			ready <- copies[i] // never blocks: at most slots copies are unclaimed
		}
		return r.cfg.steps, nil
	})
	done := 0 // written by the compute coroutine, read after sc.Wait
	compute := async.Spawn(sc, func(ctx context.Context) (int, error) {
		var queued []*scheduler.Op[struct{}] // submitted steps done..done+len-1
		for i := range r.cfg.steps {
			var in *scheduler.Op[struct{}]
			select {
			case op, ok := <-ready:
				if !ok {
					return done, nil // the loader failed: its error ends the scope
				}
				in = op
			case <-ctx.Done():
				return done, context.Cause(ctx)
			}
			queued = append(queued, r.computeStep(i, in))
			if len(queued) < 2 {
				continue // keep one step queued behind the running one
			}
			if err := r.await(ctx, queued[0], fmt.Sprintf("await step %d", done)); err != nil {
				return done, err
			}
			queued, done = queued[1:], done+1
			free <- struct{}{} // never blocks: a token came from free for this step
		}
		for _, k := range queued {
			if err := r.await(ctx, k, fmt.Sprintf("await step %d", done)); err != nil {
				return done, err
			}
			done++
		}
		return done, nil
	})
	_, err := future.All(loader, compute).Await(sctx)
	if werr := sc.Wait(); err == nil || werr != nil && errors.Is(err, context.Canceled) {
		err = werr
	}
	return done, err
}

// finish reads the accumulator back and computes the run's figures from
// the host's load times and the device's spans, then adds the device
// spans, named by step, to the recorder.
func (r *demoRun) finish(ctx context.Context, st *runStats, steps int) error {
	st.steps = steps
	if steps == r.cfg.steps {
		buf, err := r.pool.Get(r.cfg.bytes())
		if err != nil {
			return err
		}
		if _, err := r.s.CopyDtoH(buf, 0, r.acc, 0, r.cfg.bytes()).Await(ctx); err != nil {
			return err
		}
		xs, err := buf.Float32s()
		if err != nil {
			return err
		}
		for _, x := range xs {
			st.checksum += float64(x)
		}
		if err := r.pool.Put(buf); err != nil {
			return err
		}
	}
	if err := r.s.Close(); err != nil && !errors.Is(err, scheduler.ErrClosed) {
		return err
	}
	spans := trace.FromScheduler(r.s.Spans(), r.origin, r.name, nil)
	var copies, kernels []time.Duration // per step, from the device's timing
	ki := 0
	for k, sp := range spans {
		switch sp.Name {
		case "CopyHtoD":
			spans[k].Name = fmt.Sprintf("copy batch %d", len(copies))
			copies = append(copies, sp.Duration())
		case "Launch spin":
			spans[k].Name = fmt.Sprintf("compute step %d", len(kernels))
			kernels = append(kernels, sp.Duration())
			ki = len(kernels) - 1
		case "Launch saxpy_f32":
			spans[k].Name = fmt.Sprintf("accumulate step %d", ki)
			kernels[ki] += sp.Duration()
		}
	}
	for i := range steps {
		load, comp := r.decoded[i], r.cfg.compute
		if i < len(copies) && i < len(kernels) {
			load, comp = load+copies[i], kernels[i]
		}
		st.ideal += max(load, comp)
		st.serial += load + comp
	}
	r.rec.Add(spans...)
	return nil
}
