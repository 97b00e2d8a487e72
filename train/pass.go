package train

import (
	"context"
	"fmt"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
)

// Stats are the figures of one pass over a loader's batches.
type Stats struct {
	// Totals are the samples, their summed loss and the number classified
	// correctly (when training, by the parameters before each step's
	// update).
	mlp.Totals
	// Steps is the number of batches.
	Steps int
	// Wall is the host's wall time of the pass.
	Wall time.Duration
	// Device is the device time of the steps, from timing events: the
	// timing model's clock on cuda/sim (the modeled GPU time). DeviceBusy
	// is the part of it from each batch's arrival to the end of its step:
	// Device less the time the compute stream was idle, waiting for its
	// batch or for the host to submit work.
	Device, DeviceBusy time.Duration
	// Compute is the time of the steps and ComputeWait the part of it that
	// the compute stream spent waiting for its batch's host-to-device
	// copy (the stall). Both are measured between events of the compute
	// stream: on the host's clock on cuda/sim, whose kernels run on the
	// host, and on the device's clock on a GPU.
	Compute, ComputeWait time.Duration
	// HostWait is the time the host loop waited for the loader to yield a
	// batch (loader.Stats.Stall). The loop runs ahead of the device, so
	// this includes waiting while the device is busy.
	HostWait time.Duration
}

// StallShare is ComputeWait/Compute: the share of the step time that the
// device waited for data (0 for no steps).
func (s Stats) StallShare() float64 {
	if s.Compute <= 0 {
		return 0
	}
	return float64(s.ComputeWait) / float64(s.Compute)
}

// SamplesPerSecond is Samples/Wall.
func (s Stats) SamplesPerSecond() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.Samples) / s.Wall.Seconds()
}

// Train trains one epoch, the trainer's next (Trainer.Epoch), on the
// batches of ld, which must have been made with the trainer's batch size
// on the trainer's scheduler. onStep, if not nil, is called on the calling
// goroutine with each batch's sample count once its step is submitted.
// When ctx is done, the loader stops, the trainer waits for its pending
// readbacks and returns ctx's cause; the steps already submitted still run
// on the device (later work is ordered after them), the parameters are
// those of a partial epoch, and Epoch is unchanged. Any other error leaves
// the trainer in the same state.
func (t *Trainer) Train(ctx context.Context, ld *loader.Loader, onStep func(samples int)) (Stats, error) {
	s, err := t.pass(ctx, ld, t.epoch, true, onStep)
	if err == nil {
		t.epoch++
	}
	return s, err
}

// Evaluate classifies every sample of ld (epoch 0 of it: make the loader
// without shuffling) without training, and returns the loss and the correct
// count.
func (t *Trainer) Evaluate(ctx context.Context, ld *loader.Loader, onStep func(samples int)) (Stats, error) {
	return t.pass(ctx, ld, 0, false, onStep)
}

func (t *Trainer) pass(ctx context.Context, ld *loader.Loader, epoch int, train bool, onStep func(int)) (s Stats, err error) {
	if t.closed {
		return s, ErrClosed
	}
	if ld.BatchBytes() != 4*t.cfg.Batch*(t.l.In+1) {
		return s, fmt.Errorf("train: loader batches of %d bytes; a batch of %d samples of %d features and 1 label is %d",
			ld.BatchBytes(), t.cfg.Batch, t.l.In, 4*t.cfg.Batch*(t.l.In+1))
	}
	start, st0 := time.Now(), ld.Stats()
	defer func() {
		if err != nil {
			t.abandon()
		}
		s.Wall = time.Since(start)
		s.HostWait = ld.Stats().Stall - st0.Stall
	}()
	for b, err := range ld.Epochs(ctx, epoch, 1) {
		if err != nil {
			return s, err
		}
		if err := t.step(b, train); err != nil {
			return s, err
		}
		if onStep != nil {
			onStep(b.N)
		}
		if len(t.win[t.cur].rows) == t.cfg.ReadEvery {
			if err := t.rotate(ctx, &s); err != nil {
				return s, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return s, context.Cause(ctx)
	}
	return s, t.flush(ctx, &s)
}

// launcher submits kernel launches to the compute stream and keeps the
// first error.
type launcher struct {
	t   *Trainer
	err error
}

func (u *launcher) run(l kernels.Launch, err error, opts ...scheduler.OpOption) *scheduler.Op[struct{}] {
	if u.err != nil {
		return nil
	}
	if err != nil {
		u.err = fmt.Errorf("train: %w", err)
		return nil
	}
	t := u.t
	op := t.s.Launch(t.ks.Kernel(l), l.Config, l.Args, append(opts, scheduler.OnStream(t.st))...)
	t.last = op
	u.err = failed(op)
	return op
}

// step submits one step on batch b and hands b back to the loader, ordered
// after the step's last reader of it on the device.
func (t *Trainer) step(b *loader.Batch, train bool) (err error) {
	w := &t.win[t.cur]
	released := false
	defer func() {
		if !released {
			// After a failure, hand the batch back once the compute stream
			// is idle, rather than after an operation that may have failed
			// (the loader's next copy into it would fail too).
			t.st.Synchronize()
			b.Release()
		}
	}()
	if len(w.rows) == 0 {
		if err := t.open(w); err != nil {
			return err
		}
	}
	i := len(w.rows)
	// The compute stream waits for the batch's copy on the device; the
	// event after the wait tells how long it waited.
	t.last = t.s.Memset(w.dev, 0, 0, 0, scheduler.OnStream(t.st), scheduler.After(b.Ready))
	if err := failed(t.last); err != nil {
		return err
	}
	if err := t.st.RecordEvent(w.ready[i]); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l, n, x, y := t.l, b.N, b.Features, b.Labels
	f := func(off int) cuda.DevicePtr { return t.params.Add(4 * off) }
	g := func(off int) cuda.DevicePtr { return t.grad.Add(4 * off) }
	u := &launcher{t: t}
	// Forward: h1 = relu(x·W1 + b1), lg = h1·W2 + b2.
	u.run(kernels.Sgemm(kernels.Gemm{C: t.h1, A: x, B: f(l.W1), M: n, N: l.Hidden, K: l.In, Alpha: 1}))
	u.run(kernels.BiasAdd(t.h1, f(l.B1), n, l.Hidden))
	u.run(kernels.ReLU(t.h1, t.h1, n*l.Hidden))
	u.run(kernels.Sgemm(kernels.Gemm{C: t.lg, A: t.h1, B: f(l.W2), M: n, N: l.Out, K: l.Hidden, Alpha: 1}))
	u.run(kernels.BiasAdd(t.lg, f(l.B2), n, l.Out))
	u.run(kernels.ArgmaxCorrect(w.dev.Add(w.count), t.lg, y, n, l.Out))
	lastRead := u.run(kernels.SoftmaxXent(w.dev.Add(4*i*t.cfg.Batch), t.dlg, t.lg, y, n, l.Out))
	if train {
		// Backward, then the update of every parameter in one launch.
		u.run(kernels.Sgemm(kernels.Gemm{C: g(l.W2), A: t.h1, B: t.dlg, M: l.Hidden, N: l.Out, K: n, TransA: true, Alpha: 1}))
		u.run(kernels.ColSum(g(l.B2), t.dlg, n, l.Out))
		u.run(kernels.Sgemm(kernels.Gemm{C: t.dh, A: t.dlg, B: f(l.W2), M: n, N: l.Hidden, K: l.Out, TransB: true, Alpha: 1}))
		u.run(kernels.ReLUGrad(t.dh, t.dh, t.h1, n*l.Hidden))
		lastRead = u.run(kernels.Sgemm(kernels.Gemm{C: g(l.W1), A: x, B: t.dh, M: l.In, N: l.Hidden, K: n, TransA: true, Alpha: 1}))
		u.run(kernels.ColSum(g(l.B1), t.dh, n, l.Hidden))
		u.run(kernels.SGDMomentum(t.params, t.vel, t.grad, t.cfg.Hyper.Rate, t.cfg.Hyper.Momentum, l.Len))
	}
	if u.err != nil {
		return u.err
	}
	b.ReleaseAfter(lastRead)
	released = true
	if err := t.st.RecordEvent(w.end[i]); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	w.rows = append(w.rows, n)
	return nil
}
