// Package loader is coawait's data-loading pipeline: it reads and decodes
// samples of a [Dataset] on a pool of workers into pinned host buffers,
// copies each batch to the device on the scheduler's copy-in stream, and
// hands the batches to the consumer in order, each with a future that
// settles when its data is on the device:
//
//	ld, _ := loader.New(s, ds, loader.Options{BatchSize: 128, Shuffle: true, Seed: 1})
//	defer ld.Close()
//	for b, err := range ld.Epochs(ctx, 0, 10) {
//		if err != nil {
//			return err
//		}
//		k := s.Launch(step, cfg, args(b.Features, b.Labels), scheduler.After(b.Ready))
//		b.ReleaseAfter(k) // the next copy into b's memory waits for k on the device
//	}
//
// While the device computes on batch N, the workers decode the batches
// after it and the copy of batch N+1 runs on the copy engine: the program
// reads top to bottom and loading and compute overlap.
//
// # Pipeline
//
// Per epoch the sample order is a permutation of the dataset drawn from
// Options.Seed and the epoch number (the same seed and epoch always give the
// same order; see [Order]). A feeder takes a free pinned host buffer for
// each batch, in batch order; async.ParallelMap runs the decoding of whole batches
// on Options.Workers goroutines and yields them in order; a copy stage takes
// a free device batch slot, in order, and submits the host-to-device copy
// through the scheduler (scheduler.CopyHtoD, on its copy-in stream); and
// async.Prefetch keeps that stage up to Options.Depth batches ahead of the
// consumer. A host buffer goes back to the free list when its copy has
// completed on the device.
//
// # Memory
//
// [New] allocates everything the loader ever uses, and nothing is allocated
// afterwards, however many epochs run: Depth+1 device batch slots (the
// batches ahead of the consumer and the one it works on) and Depth+Workers
// pinned host buffers (the batches being decoded and being copied), each
// of [Loader.BatchBytes] bytes.
//
// # Ownership of a batch
//
// The consumer owns each *Batch it receives until it calls
// [Batch.Release] (nothing on the device reads the batch any more: its
// last reader was awaited) or [Batch.ReleaseAfter] (the next copy into the
// batch's memory is ordered after the given operations on the device, with
// no host round trip). A batch must be released exactly once, also after
// the loop ends. The loader cannot make progress while the consumer holds
// all Depth+1 slots; asking for a batch then yields [ErrAllHeld] rather
// than blocking forever.
//
// # Goroutines and cancellation
//
// The goroutines of an iteration (the feeder, the workers and the copy
// stage) belong to the loop that ranges over [Loader.Epochs]: when the loop
// ends, by break, by an error or because ctx is done, they are stopped and
// waited for, and the copies already submitted are waited for, before the
// range statement completes. A cancelled ctx yields its cause as the last
// error. Continuations the loader attaches to copies run on the scheduler's
// dispatcher goroutine; they only return buffers to free lists.
//
// # Errors and panics
//
// An error or panic of Dataset.Decode arrives in the place of its batch as
// a [*SampleError] naming the epoch, batch and dataset index; a panic is
// wrapped as a *future.PanicError. The iteration goes on after such an
// error: break out of the loop to stop. A failed copy (a device error)
// fails the batch's Ready future with the scheduler's error.
package loader
