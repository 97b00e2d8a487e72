package loader

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// A Batch is one batch on its way to the device. Its fields are written
// before the loader hands it to the consumer and never change. The consumer
// owns it until it calls Release or ReleaseAfter, exactly once.
type Batch struct {
	// Epoch is the batch's epoch, Index its number within the epoch.
	Epoch, Index int
	// N is the number of samples: BatchSize, or fewer for the last batch
	// of an epoch (see Options.DropLast).
	N int
	// Indices are the dataset indices of the batch's samples, in order.
	// They must not be modified.
	Indices []int
	// Features is the device address of BatchSize×features float32
	// values, one row per sample; rows N and after are zero.
	Features cuda.DevicePtr
	// Labels is the device address of BatchSize×labels int32 values, one
	// row per sample; rows N and after are zero.
	Labels cuda.DevicePtr
	// Ready is the host-to-device copy of the batch: it settles when the
	// batch is on the device. Pass it to scheduler.After to order device
	// work after it without a host round trip.
	Ready *scheduler.Op[struct{}]

	l        *Loader
	slot     *slot
	released atomic.Bool
}

// Await waits until the batch is on the device, or until ctx is done, and
// returns the copy's error or ctx's. The time it blocks counts as stall in
// the loader's Stats.
func (b *Batch) Await(ctx context.Context) error {
	if b.Ready.IsDone() {
		return b.Ready.Err()
	}
	start := time.Now()
	_, err := b.Ready.Await(ctx)
	b.l.st.stall.Add(int64(time.Since(start)))
	return err
}

// Release gives the batch's device memory back to the loader for the next
// copy. Call it when nothing on the device reads the batch any more (the
// last operation that reads it has settled); to release it earlier, with
// the ordering done on the device, use ReleaseAfter. Releasing a batch
// twice panics.
func (b *Batch) Release() { b.release(nil) }

// ReleaseAfter gives the batch's device memory back to the loader at once;
// the next copy into it waits, on the device, until deps have completed
// (scheduler.After). Pass the last operations that read the batch.
// Releasing a batch twice panics.
func (b *Batch) ReleaseAfter(deps ...future.Awaitable) { b.release(slices.Clone(deps)) }

func (b *Batch) release(deps []future.Awaitable) {
	if b.released.Swap(true) {
		panic("loader: Batch released twice")
	}
	l := b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	// The next copy into the slot is on the copy-in stream after this
	// batch's copy, so only the consumer's dependencies are kept.
	b.slot.deps = deps
	b.slot.state = slotFree
	l.freeSlots <- b.slot // never blocks: the channel has room for every slot
}
