package train

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/internal/blobs"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a simulated device with a scheduler.
type rig struct {
	dev *sim.Device
	s   *scheduler.Scheduler
}

func newRig(t testing.TB, cfg sim.Config, opts ...scheduler.Option) *rig {
	t.Helper()
	dev := sim.New(cfg)
	s, err := scheduler.New(dev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, scheduler.ErrClosed) {
			t.Error(err)
		}
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return &rig{dev: dev, s: s}
}

func (r *rig) loader(t testing.TB, ds loader.Dataset, batch int, shuffle bool, seed uint64) *loader.Loader {
	t.Helper()
	ld, err := loader.New(r.s, ds, loader.Options{BatchSize: batch, Shuffle: shuffle, Seed: seed, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ld.Close(); err != nil {
			t.Error(err)
		}
	})
	return ld
}

func (r *rig) trainer(t testing.TB, cfg Config, c *mlp.Checkpoint) *Trainer {
	t.Helper()
	tr, err := New(context.Background(), r.s, cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return tr
}

func fresh(t testing.TB, s mlp.Shape, seed uint64) *mlp.Checkpoint {
	t.Helper()
	c, err := mlp.Fresh(s, seed, mlp.DefaultHyper())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTrainLearns trains on a small data set on the simulator and checks
// that the loss falls and the accuracy rises, epoch after epoch and on a
// held-out set.
func TestTrainLearns(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, sim.Config{})
	shape := mlp.Shape{In: 24, Hidden: 16, Out: 5}
	cfg := Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 32, ReadEvery: 3}
	tr := r.trainer(t, cfg, fresh(t, shape, 1))
	trainLd := r.loader(t, blobs.New(24, 5, 700, 3, 0.8), 32, true, 1)
	testLd := r.loader(t, &offset{blobs.New(24, 5, 10000, 3, 0.8), 5000, 300}, 32, false, 0)
	before, err := tr.Evaluate(ctx, testLd, nil)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for range 3 {
		samples := 0
		s, err := tr.Train(ctx, trainLd, func(n int) { samples += n })
		if err != nil {
			t.Fatal(err)
		}
		if s.Samples != 700 || samples != 700 || s.Steps != 22 {
			t.Fatalf("an epoch saw %d samples (%d reported) in %d steps, want 700 in 22", s.Samples, samples, s.Steps)
		}
		losses = append(losses, s.MeanLoss())
	}
	after, err := tr.Evaluate(ctx, testLd, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train loss by epoch %.3f; test: loss %.3f → %.3f, error %.3f → %.3f",
		losses, before.MeanLoss(), after.MeanLoss(), before.ErrorRate(), after.ErrorRate())
	if !(losses[2] < losses[0]) || !(after.MeanLoss() < before.MeanLoss()/2) || !(after.ErrorRate() < before.ErrorRate()) ||
		after.ErrorRate() > 0.1 || after.Samples != 300 || tr.Epoch() != 3 {
		t.Fatal("training did not reduce the loss and the error")
	}
}

// offset is the samples [from, from+n) of a data set.
type offset struct {
	*blobs.Set
	from, n int
}

func (o *offset) Len() int { return o.n }
func (o *offset) Decode(i int, x []float32, y []int32) error {
	return o.Set.Decode(o.from+i, x, y)
}

// TestMatchesReference checks the device trainer against the plain gonum
// trainer on the same batches: the same loss, the same correct count and,
// after an epoch, the same parameters within float32 rounding.
func TestMatchesReference(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, sim.Config{})
	shape := mlp.Shape{In: 30, Hidden: 20, Out: 4}
	data := blobs.New(30, 4, 250, 5, 0.8) // 250 = 7×32 + 26: a short last batch
	c := fresh(t, shape, 2)
	cfg := Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 32, ReadEvery: 2}
	tr := r.trainer(t, cfg, c)
	ld := r.loader(t, data, 32, true, 7)
	l := tr.Layout()
	ref := mlp.NewReference(l, cfg.Hyper, append([]float32(nil), c.Params...), nil, 32)
	for e := range 2 {
		got, err := tr.Train(ctx, ld, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Epoch(ctx, data, loader.Order(data.Len(), 7, e))
		if err != nil {
			t.Fatal(err)
		}
		if got.Samples != want.Samples || got.Correct != want.Correct || math.Abs(got.Loss-want.Loss) > 1e-3*want.Loss {
			t.Fatalf("epoch %d: device %+v, reference %+v", e, got.Totals, want)
		}
	}
	ck, err := tr.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || ck.Shape != shape || ck.Seed != 2 {
		t.Fatalf("checkpoint of epoch %d, shape %v, seed %d", ck.Epoch, ck.Shape, ck.Seed)
	}
	for i := range ck.Params {
		if d := math.Abs(float64(ck.Params[i] - ref.Params[i])); d > 1e-4*(1+math.Abs(float64(ref.Params[i]))) {
			t.Fatalf("parameter %d: device %g, reference %g", i, ck.Params[i], ref.Params[i])
		}
		if d := math.Abs(float64(ck.Velocity[i] - ref.Velocity[i])); d > 1e-4*(1+math.Abs(float64(ref.Velocity[i]))) {
			t.Fatalf("velocity %d: device %g, reference %g", i, ck.Velocity[i], ref.Velocity[i])
		}
	}
}

func TestOutOfMemory(t *testing.T) {
	r := newRig(t, sim.Config{TotalMemory: 1 << 20})
	shape := mlp.MNIST(300)
	_, err := New(context.Background(), r.s, Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 128}, fresh(t, shape, 1))
	if !errors.Is(err, cuda.ErrOutOfMemory) {
		t.Fatalf("New on a 1 MiB device: %v", err)
	}
	t.Log(err)
	if used := r.dev.MemoryUsed(); used != 0 {
		t.Fatalf("%d bytes of device memory left allocated", used)
	}
}

func TestWrongShape(t *testing.T) {
	r := newRig(t, sim.Config{})
	_, err := New(context.Background(), r.s, Config{Shape: mlp.MNIST(30), Hyper: mlp.DefaultHyper(), Batch: 8}, fresh(t, mlp.MNIST(20), 1))
	if !errors.Is(err, mlp.ErrShape) {
		t.Fatalf("New with a checkpoint of another shape: %v", err)
	}
}

// TestBytes checks that Bytes is what New allocates on the device.
func TestBytes(t *testing.T) {
	r := newRig(t, sim.Config{})
	shape := mlp.MNIST(50)
	cfg := Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 100, ReadEvery: 7}
	want, err := Bytes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := r.dev.MemoryUsed()
	tr := r.trainer(t, cfg, fresh(t, shape, 1))
	if got := r.dev.MemoryUsed() - before; got != want {
		t.Fatalf("New allocated %d bytes, Bytes says %d", got, want)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.dev.MemoryUsed(); got != before {
		t.Fatalf("%d bytes left after Close", got-before)
	}
	if err := tr.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := tr.Checkpoint(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	r := newRig(t, sim.Config{})
	shape := mlp.MNIST(10)
	c := fresh(t, shape, 1)
	for _, cfg := range []Config{
		{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 0},
		{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 8, ReadEvery: -1},
		{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 1 << 20, ReadEvery: 1 << 10},
		{Shape: shape, Hyper: mlp.Hyper{Rate: -1}, Batch: 8},
		{Shape: mlp.Shape{}, Hyper: mlp.DefaultHyper(), Batch: 8},
	} {
		if tr, err := New(context.Background(), r.s, cfg, c); err == nil {
			tr.Close()
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if used := r.dev.MemoryUsed(); used != 0 {
		t.Fatalf("%d bytes left allocated", used)
	}
}
