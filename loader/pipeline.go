package loader

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// Batches is Epochs(ctx, 0, 1): the batches of epoch 0.
func (l *Loader) Batches(ctx context.Context) iter.Seq2[*Batch, error] {
	return l.Epochs(ctx, 0, 1)
}

// Epochs yields the batches of epochs first, first+1, ..., first+count-1
// in order, loading across epoch boundaries without a pause. Each pair is
// a batch and nil, or nil and an error: a [*SampleError] in the place of a
// batch that could not be decoded (the iteration goes on), [ErrAllHeld],
// [ErrBusy] or [ErrClosed] (the iteration ends), or ctx's cause, last, if
// ctx is done. See the package doc for ownership and cancellation. It
// panics if ctx is nil or first or count is negative.
func (l *Loader) Epochs(ctx context.Context, first, count int) iter.Seq2[*Batch, error] {
	if ctx == nil {
		panic("loader: Epochs called with a nil Context")
	}
	if first < 0 || count < 0 {
		panic("loader: Epochs called with a negative epoch or count")
	}
	return func(yield func(*Batch, error) bool) {
		if !l.running.CompareAndSwap(false, true) {
			yield(nil, ErrBusy)
			return
		}
		defer l.running.Store(false)
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			yield(nil, ErrClosed)
			return
		}
		if l.allHeld() { // batches kept from an earlier iteration
			yield(nil, ErrAllHeld)
			return
		}
		l.iterate(ctx, first, count, yield)
	}
}

// job is one batch on its way through the pipeline.
type job struct {
	epoch, index int
	idx          []int
	host         *hostSlot
	err          error // of decoding
}

// iterate runs one iteration; the caller has marked the loader running.
func (l *Loader) iterate(ctx context.Context, first, count int, yield func(*Batch, error) bool) {
	// ictx stops the pipeline's goroutines wherever they block: it is
	// cancelled before the loop below breaks, so that async.Prefetch,
	// which waits for its producer, finds it returning.
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	var copies sync.WaitGroup // copies whose completion has not returned their host buffer yet
	jobs := func(yield func(job, error) bool) {
		for e := first; e < first+count; e++ {
			order := l.order(e)
			for k := range l.batches {
				h, err := l.takeHost(ictx)
				if err != nil {
					yield(job{}, err)
					return
				}
				idx := order[k*l.batch : min((k+1)*l.batch, l.n)]
				if !yield(job{epoch: e, index: k, idx: idx, host: h}, nil) {
					return
				}
			}
		}
	}
	staged := func(yield func(*Batch, error) bool) {
		for j, err := range async.ParallelMap(ictx, jobs, l.workers, l.decode) {
			if err == nil && j.err != nil {
				l.putHost(j.host)
				err = j.err
			}
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			sl, err := l.takeSlot(ictx)
			if err != nil {
				l.putHost(j.host)
				yield(nil, err)
				return
			}
			// Handing the batch on blocks while Depth batches wait for
			// the consumer: the device slots are all in use, so that
			// counts as waiting for a slot too.
			start := time.Now()
			ok := yield(l.submit(sl, j, &copies), nil)
			l.st.slotWait.Add(int64(time.Since(start)))
			if !ok {
				return
			}
		}
	}
	start := time.Now()
	for b, err := range async.Prefetch(ictx, staged, l.depth) {
		l.st.stall.Add(int64(time.Since(start)))
		if b != nil {
			l.hand(b)
		}
		if !l.call(yield, b, err, cancel) {
			break
		}
		if l.allHeld() {
			yield(nil, ErrAllHeld)
			cancel()
			break
		}
		start = time.Now()
	}
	// Every goroutine of the pipeline has ended. Wait for the copies in
	// flight, then take back what the consumer never received.
	copies.Wait()
	l.reclaim()
}

// call hands a pair to the loop body. If the body breaks out of the loop,
// or panics, it first stops the pipeline (cancel), so that async.Prefetch
// and async.ParallelMap, which wait for their goroutines as the loop ends or
// unwinds, find them returning rather than blocked in takeSlot or
// takeHost.
func (l *Loader) call(yield func(*Batch, error) bool, b *Batch, err error, cancel context.CancelFunc) bool {
	more := false
	defer func() {
		if !more {
			cancel()
		}
	}()
	more = yield(b, err)
	return more
}

// order is the sample order of epoch e.
func (l *Loader) order(e int) []int {
	if l.shuffle {
		return Order(l.n, l.seed, e)
	}
	p := make([]int, l.n)
	for i := range p {
		p[i] = i
	}
	return p
}

// takeHost takes a free host buffer, waiting for one if needed.
func (l *Loader) takeHost(ctx context.Context) (*hostSlot, error) {
	h, err := take(ctx, l.freeHosts, &l.st.bufferWait)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	h.busy = true
	l.mu.Unlock()
	return h, nil
}

// putHost returns a host buffer to the free list.
func (l *Loader) putHost(h *hostSlot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h.busy {
		h.busy = false
		l.freeHosts <- h // never blocks: the channel has room for every buffer
	}
}

// takeSlot takes a free device slot, waiting for one if needed.
func (l *Loader) takeSlot(ctx context.Context) (*slot, error) {
	sl, err := take(ctx, l.freeSlots, &l.st.slotWait)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	sl.state = slotStaged
	l.mu.Unlock()
	return sl, nil
}

// decode fills j's host buffer with its samples; it runs on the workers
// of async.ParallelMap. Its error travels in the job, so that the host buffer
// comes back with it.
func (l *Loader) decode(ctx context.Context, j job) (job, error) {
	start := time.Now()
	normal := false
	defer func() {
		l.st.decodeTime.Add(int64(time.Since(start)))
		if !normal && recover() == nil {
			// Decode called runtime.Goexit: async.ParallelMap reports it in the
			// batch's place, without the job; give the buffer back here.
			l.putHost(j.host)
		}
	}()
	if l.onDecode == nil {
		j.err = l.fill(ctx, &j)
		normal = true
		return j, nil
	}
	// At most l.workers decodes run at once (async.ParallelMap's
	// workers), so a number is always free.
	w := <-l.workerIDs
	defer func() { l.workerIDs <- w }()
	began := time.Now()
	j.err = l.fill(ctx, &j)
	normal = true
	l.onDecode(Decoded{Worker: w, Epoch: j.epoch, Batch: j.index, Start: began, End: time.Now(), Err: j.err})
	return j, nil
}

// fill decodes j's samples into its host buffer and zeroes the rows after
// them.
func (l *Loader) fill(ctx context.Context, j *job) (err error) {
	mem, err := j.host.buf.Bytes()
	if err != nil {
		return err
	}
	xs, err := cuda.SliceOf[float32](mem[:l.labelOff])
	if err != nil {
		return err
	}
	ys, err := cuda.SliceOf[int32](mem[l.labelOff:l.bytes])
	if err != nil {
		return err
	}
	f, lb := l.features, l.labels
	cur := -1
	defer func() {
		if r := recover(); r != nil {
			err = &SampleError{Epoch: j.epoch, Batch: j.index, Sample: cur, Err: future.NewPanicError(r)}
		}
	}()
	for p, i := range j.idx {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		cur = i
		if err := l.ds.Decode(i, xs[p*f:(p+1)*f:(p+1)*f], ys[p*lb:(p+1)*lb:(p+1)*lb]); err != nil {
			return &SampleError{Epoch: j.epoch, Batch: j.index, Sample: i, Err: err}
		}
	}
	clear(xs[len(j.idx)*f:])
	clear(ys[len(j.idx)*lb:])
	return nil
}

// submit copies j's host buffer into sl on the copy-in stream, after what
// the slot's last user ordered, and returns the batch.
func (l *Loader) submit(sl *slot, j job, copies *sync.WaitGroup) *Batch {
	l.mu.Lock()
	deps := sl.deps
	sl.deps = nil
	l.mu.Unlock()
	op := l.s.CopyHtoD(sl.ptr, 0, j.host.buf, 0, l.bytes, scheduler.After(deps...))
	copies.Add(1)
	// The host buffer is reused only once the copy's future has settled:
	// the device owns it until then.
	op.OnDone(func() {
		l.putHost(j.host)
		copies.Done()
	})
	return &Batch{
		Epoch: j.epoch, Index: j.index, N: len(j.idx), Indices: j.idx,
		Features: sl.ptr, Labels: sl.ptr.Add(l.labelOff), Ready: op,
		l: l, slot: sl,
	}
}

// hand marks b as the consumer's.
func (l *Loader) hand(b *Batch) {
	l.mu.Lock()
	b.slot.state = slotHeld
	l.mu.Unlock()
	l.st.batches.Add(1)
	l.st.samples.Add(int64(b.N))
}

// allHeld reports whether the consumer holds every slot.
func (l *Loader) allHeld() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sl := range l.slots {
		if sl.state != slotHeld {
			return false
		}
	}
	return true
}

// reclaim frees the slots and host buffers of batches that were loaded but
// never handed to the consumer, once the pipeline has stopped.
func (l *Loader) reclaim() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sl := range l.slots {
		if sl.state == slotStaged {
			sl.state = slotFree
			l.freeSlots <- sl
		}
	}
	for _, h := range l.hosts {
		if h.busy {
			h.busy = false
			l.freeHosts <- h
		}
	}
}

// take receives from free, adding the time it had to wait, if any, to
// wait; a done ctx ends the wait with its cause.
func take[T any](ctx context.Context, free <-chan T, wait *atomic.Int64) (T, error) {
	select {
	case v := <-free:
		return v, nil
	default:
	}
	start := time.Now()
	select {
	case v := <-free:
		wait.Add(int64(time.Since(start)))
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}
