package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
)

// Config configures a Trainer. Shape, Hyper and Batch must be set.
type Config struct {
	// Shape is the model; Hyper the learning rate and momentum.
	Shape mlp.Shape
	Hyper mlp.Hyper
	// Batch is the largest number of samples in one step: the loaders'
	// batch size.
	Batch int
	// ReadEvery is the number of steps between two readbacks of the loss
	// and the correct count; 0 means 32. The host reads a window's figures
	// one window later, so it never waits for the device to drain.
	ReadEvery int
}

// ErrClosed is returned by the methods of a closed Trainer.
var ErrClosed = errors.New("train: trainer closed")

// Trainer trains an mlp model on a device: each step's kernels are launched
// through a scheduler on a compute stream of the trainer's own, ordered
// after the batch's host-to-device copy on the device, so that the copy of
// the next batch (which the loader submits ahead) overlaps this step. The
// host awaits nothing per step: the loss and the correct count go to
// device memory and are copied back once per Config.ReadEvery steps.
//
// A Trainer is used by one goroutine at a time and starts no goroutine of
// its own (the scheduler's and the loader's run the work). Create it with
// New and release its device memory with Close; the zero value is not
// usable.
type Trainer struct {
	s   *scheduler.Scheduler
	dev cuda.Device
	ks  *kernels.Set
	st  cuda.Stream // the compute stream, owned
	l   mlp.Layout
	cfg Config

	seed  uint64
	epoch int // epochs completed

	// Device memory, owned. params, vel and grad have the layout l.
	params, vel, grad   cuda.DevicePtr
	h1, dh, lg, dlg     cuda.DevicePtr // activations: Batch×Hidden, Batch×Out
	allocs              []cuda.DevicePtr
	win                 [2]window
	cur                 int                     // the window being filled
	last                *scheduler.Op[struct{}] // the last operation submitted to st
	snapshot            *cuda.HostBuffer        // for Checkpoint: params then velocity
	snapOps             []*scheduler.Op[*cuda.HostBuffer]
	closed, wallClocked bool
}

// New returns a trainer for the scheduler's device that starts from c (see
// mlp.Fresh for a new run). It allocates the device memory it needs
// (parameters, momentum, gradient, activations of one batch and two
// readback windows) and uploads c. It returns an error matching
// cuda.ErrOutOfMemory, with the sizes, if the device is too small, and an
// error matching mlp.ErrShape if c is not of cfg.Shape.
func New(ctx context.Context, s *scheduler.Scheduler, cfg Config, c *mlp.Checkpoint) (*Trainer, error) {
	if s == nil || c == nil {
		panic("train: New with a nil scheduler or checkpoint")
	}
	if cfg.ReadEvery == 0 {
		cfg.ReadEvery = 32
	}
	l, err := mlp.NewLayout(cfg.Shape)
	if err != nil {
		return nil, err
	}
	if err := cfg.Hyper.Validate(); err != nil {
		return nil, err
	}
	// The kernels index a batch's activations and a window's losses with
	// int32s.
	if cfg.Batch < 1 || cfg.ReadEvery < 1 || int64(cfg.Batch)*int64(max(cfg.Shape.Hidden, cfg.Shape.In)) > 1<<31-1 ||
		int64(cfg.Batch)*int64(cfg.ReadEvery) > 1<<26 {
		return nil, fmt.Errorf("train: batch size %d or readback interval %d out of range", cfg.Batch, cfg.ReadEvery)
	}
	if err := c.Resume(cfg.Shape); err != nil {
		return nil, err
	}
	if len(c.Params) != l.Len || len(c.Velocity) != l.Len {
		return nil, fmt.Errorf("train: checkpoint vectors of length %d and %d for a layout of %d", len(c.Params), len(c.Velocity), l.Len)
	}
	dev := s.Device()
	ks, err := kernels.Bind(dev)
	if err != nil {
		return nil, fmt.Errorf("train: the device lacks the training kernels: %w", err)
	}
	st, err := dev.NewStream(0)
	if err != nil {
		return nil, fmt.Errorf("train: compute stream: %w", err)
	}
	t := &Trainer{s: s, dev: dev, ks: ks, st: st, l: l, cfg: cfg, seed: c.Seed, epoch: c.Epoch}
	if err := t.allocate(); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.upload(ctx, c.Params, c.Velocity); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Bytes is the device memory a trainer of cfg allocates.
func Bytes(cfg Config) (int64, error) {
	l, err := mlp.NewLayout(cfg.Shape)
	if err != nil {
		return 0, err
	}
	if cfg.ReadEvery == 0 {
		cfg.ReadEvery = 32
	}
	var n int64
	for _, b := range sizes(l, cfg) {
		n += int64(b)
	}
	return n, nil
}

// sizes are the byte sizes of the trainer's allocations, in the order of
// allocate.
func sizes(l mlp.Layout, cfg Config) []int {
	b, h, o := cfg.Batch, l.Hidden, l.Out
	return []int{4 * l.Len, 4 * l.Len, 4 * l.Len, 4 * b * h, 4 * b * h, 4 * b * o, 4 * b * o,
		windowBytes(cfg), windowBytes(cfg)}
}

func (t *Trainer) allocate() error {
	sz := sizes(t.l, t.cfg)
	for _, n := range sz {
		p, err := t.dev.Alloc(n)
		if err != nil {
			var total int64
			for _, m := range sz {
				total += int64(m)
			}
			return fmt.Errorf("train: device memory for a %s model at batch size %d (%.1f MiB in all, %d bytes at this step): %w",
				t.l.Shape, t.cfg.Batch, float64(total)/(1<<20), n, err)
		}
		t.allocs = append(t.allocs, p)
	}
	a := t.allocs
	t.params, t.vel, t.grad, t.h1, t.dh, t.lg, t.dlg = a[0], a[1], a[2], a[3], a[4], a[5], a[6]
	for i := range t.win {
		if err := t.win[i].init(t.dev, a[7+i], t.cfg); err != nil {
			return err
		}
	}
	if ev, err := t.dev.NewEvent(0); err == nil {
		_, t.wallClocked = ev.(wallClock)
		ev.Close()
	}
	return nil
}

// upload copies params and velocity to the device and zeroes the gradient
// (whose gaps between tensors no kernel writes).
func (t *Trainer) upload(ctx context.Context, params, velocity []float32) error {
	hb, err := t.dev.AllocHost(8 * t.l.Len)
	if err != nil {
		return fmt.Errorf("train: pinned buffer for the parameters: %w", err)
	}
	defer t.dev.FreeHost(hb)
	v, err := hb.Float32s()
	if err != nil {
		return err
	}
	copy(v, params)
	copy(v[t.l.Len:], velocity)
	n := 4 * t.l.Len
	on := scheduler.OnStream(t.st)
	ops := []*scheduler.Op[struct{}]{
		t.s.CopyHtoD(t.params, 0, hb, 0, n, on),
		t.s.CopyHtoD(t.vel, 0, hb, n, n, on),
		t.s.Memset(t.grad, 0, n, 0, on),
	}
	t.last = ops[2]
	for _, op := range ops { // hb is freed only once every copy has settled
		if _, err := op.Await(ctx); err != nil {
			return fmt.Errorf("train: uploading the parameters: %w", err)
		}
	}
	return nil
}

// Epoch is the number of epochs completed: the checkpoint's, plus those
// trained since.
func (t *Trainer) Epoch() int { return t.epoch }

// Layout is the model's parameter layout.
func (t *Trainer) Layout() mlp.Layout { return t.l }

// Checkpoint copies the parameters and the momentum back from the device,
// once the work submitted so far is done, and returns them with the
// epoch, shape and seed.
func (t *Trainer) Checkpoint(ctx context.Context) (*mlp.Checkpoint, error) {
	if t.closed {
		return nil, ErrClosed
	}
	n := 4 * t.l.Len
	if t.snapshot == nil {
		hb, err := t.dev.AllocHost(2 * n)
		if err != nil {
			return nil, fmt.Errorf("train: pinned buffer for a checkpoint: %w", err)
		}
		t.snapshot = hb
	}
	after := scheduler.After(t.last)
	t.snapOps = []*scheduler.Op[*cuda.HostBuffer]{
		t.s.CopyDtoH(t.snapshot, 0, t.params, 0, n, after),
		t.s.CopyDtoH(t.snapshot, n, t.vel, 0, n, after),
	}
	for _, op := range t.snapOps {
		if _, err := op.Await(ctx); err != nil {
			return nil, fmt.Errorf("train: reading the parameters back: %w", err)
		}
	}
	v, err := t.snapshot.Float32s()
	if err != nil {
		return nil, err
	}
	return &mlp.Checkpoint{
		Shape: t.l.Shape, Seed: t.seed, Epoch: t.epoch, Hyper: t.cfg.Hyper,
		Params: append([]float32(nil), v[:t.l.Len]...), Velocity: append([]float32(nil), v[t.l.Len:]...),
	}, nil
}

// Close waits for the trainer's work on the device, then frees its device
// memory, host buffers, events and stream. Closing twice returns ErrClosed.
func (t *Trainer) Close() error {
	if t.closed {
		return ErrClosed
	}
	t.closed = true
	errs := []error{t.st.Synchronize()}
	// Wait for the readbacks (on the scheduler's copy-out stream) to
	// settle, so that their host buffers are free.
	for _, op := range t.snapOps {
		op.Await(context.Background())
	}
	for i := range t.win {
		if rb := t.win[i].rb; rb != nil {
			rb.Await(context.Background())
		}
		errs = append(errs, t.win[i].free(t.dev))
	}
	if t.snapshot != nil {
		errs = append(errs, t.dev.FreeHost(t.snapshot))
	}
	for _, p := range t.allocs {
		errs = append(errs, t.dev.Free(p))
	}
	errs = append(errs, t.st.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("train: Close: %w", err)
	}
	return nil
}
