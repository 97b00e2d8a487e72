package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
)

// Job is a whole training run: what Run does. Train, Shape, Hyper, Batch
// and Epochs must be set.
type Job struct {
	// Train and Test are the training and test sets (Test may be nil: no
	// test passes). Their samples have Shape.In features and one label.
	Train, Test loader.Dataset
	Shape       mlp.Shape
	Hyper       mlp.Hyper
	// Batch is the batch size, Depth the loader's prefetch depth (0 means
	// 2), Workers its decoding goroutines (0: the loader's default).
	Batch, Depth, Workers int
	// Seed seeds the initialisation and the shuffling of a new run; a
	// resumed run keeps its checkpoint's seed.
	Seed uint64
	// Epochs is the number of epochs the run should have trained when it
	// ends, counting those of a checkpoint it resumes from.
	Epochs int
	// Checkpoint, if not empty, is the path of the checkpoint: Run resumes
	// from it if the file exists, and rewrites it atomically after every
	// epoch.
	Checkpoint string
	// ReadEvery is Config.ReadEvery.
	ReadEvery int

	// OnStart, if not nil, is called once the run is set up, with the epoch
	// it starts at (0, or the checkpoint's) and the batches per epoch.
	OnStart func(first, batches int)
	// OnStep is passed to Trainer.Train: called with each step's samples.
	OnStep func(samples int)
	// OnEpoch, if not nil, is called after every epoch with its report.
	OnEpoch func(Report)
	// OnDecode is passed to the training loader (loader.Options.OnDecode):
	// if not nil, it is called after each batch is decoded, on the worker
	// that decoded it.
	OnDecode func(loader.Decoded)
}

// Report is what one epoch did.
type Report struct {
	// Epoch is the epoch's number (0-based).
	Epoch int
	// Train are the training pass's figures (its loss and errors are
	// measured before each step's update), Test those of the test pass
	// after it (zero without a test set).
	Train, Test Stats
	// Saved reports that the checkpoint was written after the epoch.
	Saved bool
}

// Summary is what a run did, also when it stopped early.
type Summary struct {
	// Resumed reports that the run started from a checkpoint, at epoch
	// First.
	Resumed bool
	First   int
	// Epochs are the reports of the completed epochs.
	Epochs []Report
	// Interrupted reports that ctx ended the run; Partial is then the
	// figures of the epoch that was cut short, which is not checkpointed.
	Interrupted bool
	Partial     Stats
}

// Run trains job on the scheduler's device: it resumes from the checkpoint
// if there is one, trains the remaining epochs with a test pass after each,
// and saves the checkpoint after each. When ctx is done it stops at once,
// waits for the device work in flight and returns ctx's cause with the
// summary of what ran; the checkpoint is then that of the last completed
// epoch, never a partial one. Bad input is an error that says what is
// wrong: a batch larger than a data set, a checkpoint of another model
// shape (matching mlp.ErrShape) or a damaged one (mlp.ErrCheckpoint), a
// device too small (cuda.ErrOutOfMemory).
func Run(ctx context.Context, s *scheduler.Scheduler, job Job) (sum Summary, err error) {
	if job.Train == nil || job.Epochs < 0 {
		return sum, errors.New("train: Run: no training set, or a negative epoch count")
	}
	ck, resumed, err := start(job)
	if err != nil {
		return sum, err
	}
	sum.Resumed, sum.First = resumed, ck.Epoch
	trainLd, err := newLoader(s, "training set", job.Train, job, true, ck.Seed, job.OnDecode)
	if err != nil {
		return sum, err
	}
	defer closeInto(&err, trainLd.Close)
	var testLd *loader.Loader
	if job.Test != nil {
		if testLd, err = newLoader(s, "test set", job.Test, job, false, 0, nil); err != nil {
			return sum, err
		}
		defer closeInto(&err, testLd.Close)
	}
	tr, err := New(ctx, s, Config{Shape: job.Shape, Hyper: job.Hyper, Batch: job.Batch, ReadEvery: job.ReadEvery}, ck)
	if err != nil {
		return sum, err
	}
	defer closeInto(&err, tr.Close)
	if job.OnStart != nil {
		job.OnStart(tr.Epoch(), trainLd.BatchesPerEpoch())
	}
	for tr.Epoch() < job.Epochs {
		rep := Report{Epoch: tr.Epoch()}
		if rep.Train, err = tr.Train(ctx, trainLd, job.OnStep); err != nil {
			return interrupted(ctx, sum, rep.Train, err)
		}
		if testLd != nil {
			if rep.Test, err = tr.Evaluate(ctx, testLd, nil); err != nil {
				return interrupted(ctx, sum, rep.Train, err)
			}
		}
		if job.Checkpoint != "" {
			c, err := tr.Checkpoint(ctx)
			if err != nil {
				return interrupted(ctx, sum, rep.Train, err)
			}
			if err := c.Save(job.Checkpoint); err != nil {
				return sum, err
			}
			rep.Saved = true
		}
		sum.Epochs = append(sum.Epochs, rep)
		if job.OnEpoch != nil {
			job.OnEpoch(rep)
		}
	}
	return sum, nil
}

// start returns the checkpoint the run starts from, and whether it was
// read from job.Checkpoint.
func start(job Job) (*mlp.Checkpoint, bool, error) {
	if job.Checkpoint != "" {
		c, err := mlp.LoadCheckpoint(job.Checkpoint)
		switch {
		case err == nil:
			if err := c.Resume(job.Shape); err != nil {
				return nil, false, fmt.Errorf("train: resuming from %s: %w", job.Checkpoint, err)
			}
			return c, true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, false, fmt.Errorf("train: resuming: %w", err)
		}
	}
	c, err := mlp.Fresh(job.Shape, job.Seed, job.Hyper)
	return c, false, err
}

func newLoader(s *scheduler.Scheduler, what string, ds loader.Dataset, job Job, shuffle bool, seed uint64, onDecode func(loader.Decoded)) (*loader.Loader, error) {
	if f, lb := ds.Shape(); f != job.Shape.In || lb != 1 {
		return nil, fmt.Errorf("train: the %s has samples of %d features and %d labels; a %s model needs %d and 1",
			what, f, lb, job.Shape, job.Shape.In)
	}
	ld, err := loader.New(s, ds, loader.Options{BatchSize: job.Batch, Depth: job.Depth, Workers: job.Workers,
		Shuffle: shuffle, Seed: seed, OnDecode: onDecode})
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", what, err)
	}
	return ld, nil
}

// interrupted finishes a run that failed or was cancelled.
func interrupted(ctx context.Context, sum Summary, partial Stats, err error) (Summary, error) {
	if ctx.Err() != nil {
		sum.Interrupted, sum.Partial = true, partial
		return sum, context.Cause(ctx)
	}
	return sum, err
}

func closeInto(err *error, close func() error) {
	if cerr := close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// Head is the first n samples of ds (all of them if n <= 0 or n >= Len).
func Head(ds loader.Dataset, n int) loader.Dataset {
	if n <= 0 || n >= ds.Len() {
		return ds
	}
	return head{ds, n}
}

type head struct {
	loader.Dataset
	n int
}

// Len is the head's length.
func (h head) Len() int { return h.n }
