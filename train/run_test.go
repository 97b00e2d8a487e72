package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/internal/blobs"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
)

func testJob(dir string) Job {
	return Job{
		Train: blobs.New(12, 3, 200, 1, 0.8), Test: &offset{blobs.New(12, 3, 1000, 1, 0.8), 500, 90},
		Shape: mlp.Shape{In: 12, Hidden: 8, Out: 3}, Hyper: mlp.DefaultHyper(),
		Batch: 16, Seed: 4, Epochs: 3, ReadEvery: 4,
		Checkpoint: filepath.Join(dir, "ckpt"),
	}
}

// TestRunResume checks that a run stopped after an epoch and resumed from
// its checkpoint ends with the same parameters as a run that was not
// stopped.
func TestRunResume(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	whole := testJob(dir)
	whole.Checkpoint = filepath.Join(dir, "whole")
	r := newRig(t, sim.Config{})
	sum, err := Run(ctx, r.s, whole)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed || len(sum.Epochs) != 3 || !sum.Epochs[2].Saved || sum.Epochs[2].Test.Samples != 90 {
		t.Fatalf("summary %+v", sum)
	}

	split := testJob(dir)
	split.Epochs = 1
	var started []int
	split.OnStart = func(first, batches int) { started = append(started, first, batches) }
	if _, err := Run(ctx, r.s, split); err != nil {
		t.Fatal(err)
	}
	split.Epochs = 3
	split.Seed = 99 // a resumed run keeps its checkpoint's seed
	sum, err = Run(ctx, r.s, split)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Resumed || sum.First != 1 || len(sum.Epochs) != 2 || !slices.Equal(started, []int{0, 13, 1, 13}) {
		t.Fatalf("resumed summary %+v, starts %v", sum, started)
	}
	a, err := mlp.LoadCheckpoint(whole.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mlp.LoadCheckpoint(split.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if a.Epoch != 3 || b.Epoch != 3 || a.Seed != 4 || b.Seed != 4 ||
		!slices.Equal(a.Params, b.Params) || !slices.Equal(a.Velocity, b.Velocity) {
		t.Fatal("a resumed run differs from an uninterrupted one")
	}

	// A run asked for no more epochs than the checkpoint has does nothing.
	sum, err = Run(ctx, r.s, split)
	if err != nil || len(sum.Epochs) != 0 || sum.First != 3 {
		t.Fatalf("a finished run: %+v, %v", sum, err)
	}
}

func TestRunBadInput(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, sim.Config{})
	dir := t.TempDir()

	job := testJob(dir)
	job.Batch = 201
	if _, err := Run(ctx, r.s, job); !errors.Is(err, loader.ErrInvalid) || !strings.Contains(err.Error(), "larger than the dataset") {
		t.Errorf("a batch larger than the training set: %v", err)
	}

	job = testJob(dir)
	job.Epochs = 1
	if _, err := Run(ctx, r.s, job); err != nil {
		t.Fatal(err)
	}
	job.Shape.Hidden = 9
	if _, err := Run(ctx, r.s, job); !errors.Is(err, mlp.ErrShape) || !strings.Contains(err.Error(), "12-8-3") {
		t.Errorf("a checkpoint of another shape: %v", err)
	}

	if err := os.WriteFile(job.Checkpoint, []byte("not a checkpoint at all, but long enough for a header.."), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, r.s, testJob(dir)); !errors.Is(err, mlp.ErrCheckpoint) {
		t.Errorf("a damaged checkpoint: %v", err)
	}

	job = testJob(dir)
	job.Checkpoint = ""
	job.Train = blobs.New(11, 3, 100, 1, 0.8)
	if _, err := Run(ctx, r.s, job); err == nil || !strings.Contains(err.Error(), "11 features") {
		t.Errorf("a training set of another width: %v", err)
	}

	job = testJob(dir)
	job.Checkpoint = ""
	bad := blobs.New(12, 3, 200, 1, 0.8)
	bad.Fail = 17
	job.Train = bad
	var se *loader.SampleError
	if _, err := Run(ctx, r.s, job); !errors.As(err, &se) || se.Sample != 17 {
		t.Errorf("a sample that fails to decode: %v", err)
	}
}

// TestRunInterrupted cancels a run in its second epoch: Run returns the
// cancellation with the summary of the first epoch, and the checkpoint on
// disk is the first epoch's, whole.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := newRig(t, sim.Config{})
	job := testJob(t.TempDir())
	stop := errors.New("Ctrl-C")
	steps := 0
	job.OnStep = func(int) {
		if steps++; steps == 13+5 { // the sixth step of the second epoch
			cancel(stop)
		}
	}
	sum, err := Run(ctx, r.s, job)
	if !errors.Is(err, stop) {
		t.Fatalf("Run: %v", err)
	}
	if !sum.Interrupted || len(sum.Epochs) != 1 || sum.Partial.Steps > 6 {
		t.Fatalf("summary %+v", sum)
	}
	c, err := mlp.LoadCheckpoint(job.Checkpoint)
	if err != nil || c.Epoch != 1 {
		t.Fatalf("checkpoint after the interruption: %+v, %v", c, err)
	}
	assertFiles(t, filepath.Dir(job.Checkpoint), "ckpt")
	// The loaders' memory goes back to the scheduler's pool, which frees
	// it when it closes.
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	if used := r.dev.MemoryUsed(); used != 0 {
		t.Fatalf("%d bytes of device memory left allocated", used)
	}
}

func assertFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}

func TestHead(t *testing.T) {
	b := blobs.New(3, 2, 10, 1, 0.8)
	if Head(b, 0) != loader.Dataset(b) || Head(b, 10) != loader.Dataset(b) || Head(b, 4).Len() != 4 {
		t.Fatal("Head")
	}
}
