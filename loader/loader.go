package loader

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// A Dataset is a collection of samples with random access by index. Each
// sample has a fixed number of float32 features and int32 labels.
type Dataset interface {
	// Len is the number of samples; it must not change while a Loader
	// uses the dataset.
	Len() int
	// Shape is the number of features (at least 1) and labels (at least
	// 0) of every sample.
	Shape() (features, labels int)
	// Decode writes sample i (0 <= i < Len) into features and labels,
	// whose lengths are those of Shape. They are views of the pinned
	// staging buffer that is copied to the device, so decoding needs no
	// further copy; Decode must not keep them after it returns. Decode is
	// called from several goroutines at once.
	Decode(i int, features []float32, labels []int32) error
}

// Options configure a [Loader]. The zero value of each field but BatchSize
// takes its default.
type Options struct {
	// BatchSize is the number of samples per batch; it must be in
	// [1, dataset length].
	BatchSize int
	// Depth is the number of batches loaded ahead of the consumer; 0
	// means 2.
	Depth int
	// Workers is the number of goroutines decoding batches; 0 means
	// GOMAXPROCS, at most 4.
	Workers int
	// Shuffle draws a new sample order for every epoch from Seed and the
	// epoch number; without it every epoch reads the dataset in order.
	Shuffle bool
	// Seed seeds the shuffling.
	Seed uint64
	// DropLast drops the last batch of an epoch if it has fewer than
	// BatchSize samples; otherwise that batch is delivered short.
	DropLast bool
	// HostPool supplies the pinned host buffers; nil means a pool of the
	// loader's own, closed by Close. A pool must belong to the scheduler's
	// device.
	HostPool *cuda.HostPool
	// OnDecode, if not nil, is called after each batch is decoded, on the
	// worker goroutine that decoded it, with what the worker did (for a
	// trace with one lane per worker). It must be quick and safe for
	// concurrent use; the workers wait for it.
	OnDecode func(Decoded)
}

// Decoded is one batch's decoding, as [Options.OnDecode] sees it.
type Decoded struct {
	// Worker numbers the decoding worker, in [0, workers): a batch being
	// decoded holds its worker number until it is done, so no two batches
	// decoded at the same time share one.
	Worker int
	// Epoch and Batch identify the batch.
	Epoch, Batch int
	// Start and End are when decoding began and ended (host clock).
	Start, End time.Time
	// Err is the decoding error, if any (a *SampleError).
	Err error
}

var (
	// ErrInvalid is matched by the error of New for bad options or a bad
	// dataset.
	ErrInvalid = errors.New("loader: invalid argument")
	// ErrBusy is yielded by an iteration started while another of the same
	// loader runs, and returned by Close during an iteration.
	ErrBusy = errors.New("loader: an iteration over the loader is already running")
	// ErrClosed is yielded by an iteration of a closed loader and returned
	// by a second Close.
	ErrClosed = errors.New("loader: closed")
	// ErrAllHeld is yielded when the consumer asks for a batch while it
	// holds every device batch slot, so that no batch could ever arrive:
	// release batches (see Batch.Release) before asking for more.
	ErrAllHeld = errors.New("loader: the consumer holds every device batch slot; release batches before asking for more")
)

// A SampleError is the error of a batch whose sample could not be decoded.
type SampleError struct {
	Epoch, Batch int // where the batch is
	Sample       int // the dataset index of the sample
	Err          error
}

// Error formats the error as "loader: epoch E, batch B: sample I: cause".
func (e *SampleError) Error() string {
	return "loader: epoch " + strconv.Itoa(e.Epoch) + ", batch " + strconv.Itoa(e.Batch) +
		": sample " + strconv.Itoa(e.Sample) + ": " + e.Err.Error()
}

// Unwrap returns the cause: the error of Decode, or a *future.PanicError.
func (e *SampleError) Unwrap() error { return e.Err }

// Stats are a loader's counters since New.
type Stats struct {
	// Batches and Samples count the batches and samples delivered.
	Batches, Samples int64
	// Stall is how long the consumer waited for data: blocked in the
	// iterator, or in Batch.Await.
	Stall time.Duration
	// BufferWait is how long loading waited for a free pinned host
	// buffer. A buffer is free again once its copy has completed on the
	// device, and a copy into a slot released with ReleaseAfter waits for
	// the consumer's work on the device first, so when the device is the
	// bottleneck this is where the loader waits. SlotWait is how long the
	// copy stage waited for a device batch slot: for the consumer to take
	// a batch (Depth batches are ready) or to release one. When the
	// consumer is the bottleneck this is where the loader waits.
	BufferWait, SlotWait time.Duration
	// Decode is the time the workers spent decoding, summed over workers.
	Decode time.Duration
}

// Loader loads batches of a Dataset onto a device; see the package doc.
// Make one with [New]; the zero value is not usable. Its methods are safe
// for concurrent use, but one iteration runs at a time.
type Loader struct {
	s  *scheduler.Scheduler // written once by New
	ds Dataset              // written once by New

	batch, depth, workers int  // written once by New
	features, labels      int  // written once by New: per sample
	n, batches            int  // written once by New: samples and batches per epoch
	shuffle               bool // written once by New
	seed                  uint64
	bytes, labelOff       int // written once by New: batch bytes, offset of the labels

	pool    *cuda.HostPool // written once by New
	ownPool bool

	onDecode  func(Decoded) // written once by New
	workerIDs chan int      // written once by New when onDecode is set: free worker numbers

	slots     []*slot        // written once by New
	hosts     []*hostSlot    // written once by New
	freeSlots chan *slot     // capacity len(slots); pushes under mu
	freeHosts chan *hostSlot // capacity len(hosts); pushes under mu

	mu      sync.Mutex // guards the states of slots and hosts, and closed
	closed  bool
	running atomic.Bool // an iteration runs

	st struct {
		batches, samples                        atomic.Int64
		stall, bufferWait, slotWait, decodeTime atomic.Int64 // nanoseconds
	}
}

// slot is one device batch: BatchBytes of device memory.
type slot struct {
	ptr   cuda.DevicePtr
	state slotState          // guarded by Loader.mu
	deps  []future.Awaitable // guarded by Loader.mu: what the next copy into it waits for
}

type slotState uint8

const (
	slotFree   slotState = iota
	slotStaged           // its copy is submitted; not yet handed to the consumer
	slotHeld             // the consumer has it
)

// hostSlot is one pinned host buffer of BatchBytes.
type hostSlot struct {
	buf  *cuda.HostBuffer
	busy bool // guarded by Loader.mu: taken from freeHosts
}

// New returns a loader of ds onto the device of s, and allocates its device
// batch slots and pinned host buffers (see the package doc). It returns an
// error matching ErrInvalid for a nil scheduler or dataset, an empty
// dataset, a bad shape, or options out of range (a batch size that is not
// in [1, ds.Len()], a negative depth or worker count), and the device's
// error if memory cannot be allocated.
func New(s *scheduler.Scheduler, ds Dataset, opt Options) (*Loader, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil scheduler", ErrInvalid)
	}
	if ds == nil {
		return nil, fmt.Errorf("%w: nil dataset", ErrInvalid)
	}
	n := ds.Len()
	f, lb := ds.Shape()
	switch {
	case n <= 0:
		return nil, fmt.Errorf("%w: the dataset is empty (Len %d)", ErrInvalid, n)
	case f < 1 || lb < 0:
		return nil, fmt.Errorf("%w: dataset shape of %d features and %d labels per sample; want at least 1 and 0", ErrInvalid, f, lb)
	case opt.BatchSize <= 0:
		return nil, fmt.Errorf("%w: batch size %d is not positive", ErrInvalid, opt.BatchSize)
	case opt.BatchSize > n:
		return nil, fmt.Errorf("%w: batch size %d is larger than the dataset of %d samples", ErrInvalid, opt.BatchSize, n)
	case opt.Depth < 0 || opt.Workers < 0:
		return nil, fmt.Errorf("%w: negative depth %d or worker count %d", ErrInvalid, opt.Depth, opt.Workers)
	}
	const maxBytes = 1 << 40
	if int64(opt.BatchSize)*int64(f+lb)*4 > maxBytes {
		return nil, fmt.Errorf("%w: a batch of %d samples of %d values would exceed 1 TiB", ErrInvalid, opt.BatchSize, f+lb)
	}
	l := &Loader{
		s: s, ds: ds, batch: opt.BatchSize, depth: opt.Depth, workers: opt.Workers,
		features: f, labels: lb, n: n, shuffle: opt.Shuffle, seed: opt.Seed,
		pool: opt.HostPool,
	}
	if l.depth == 0 {
		l.depth = 2
	}
	if l.workers == 0 {
		l.workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if opt.OnDecode != nil {
		l.onDecode = opt.OnDecode
		l.workerIDs = make(chan int, l.workers)
		for i := range l.workers {
			l.workerIDs <- i
		}
	}
	l.batches = n / l.batch
	if !opt.DropLast && n%l.batch != 0 {
		l.batches++
	}
	l.labelOff = 4 * l.batch * f
	l.bytes = l.labelOff + 4*l.batch*lb
	if l.pool == nil {
		l.pool, l.ownPool = cuda.NewHostPool(s.Device(), l.depth+l.workers), true
	}
	if err := l.allocate(); err != nil {
		l.free()
		return nil, err
	}
	return l, nil
}

// allocate makes the device slots and host buffers.
func (l *Loader) allocate() error {
	ctx := context.Background()
	nslots, nhosts := l.depth+1, l.depth+l.workers
	l.freeSlots = make(chan *slot, nslots)
	l.freeHosts = make(chan *hostSlot, nhosts)
	for range nslots {
		p, err := l.s.Alloc(l.bytes).Await(ctx)
		if err != nil {
			return fmt.Errorf("loader: device batch slot of %d bytes: %w", l.bytes, err)
		}
		sl := &slot{ptr: p}
		l.slots = append(l.slots, sl)
		l.freeSlots <- sl
	}
	for range nhosts {
		b, err := l.pool.Get(l.bytes)
		if err != nil {
			return fmt.Errorf("loader: pinned host buffer of %d bytes: %w", l.bytes, err)
		}
		if b.Device() != l.s.Device() {
			_ = l.pool.Put(b) // back where it came from
			return fmt.Errorf("%w: the host pool belongs to another device than the scheduler's", ErrInvalid)
		}
		h := &hostSlot{buf: b}
		l.hosts = append(l.hosts, h)
		l.freeHosts <- h
	}
	return nil
}

// free returns the loader's memory; see Close.
func (l *Loader) free() error {
	var errs []error
	for _, sl := range l.slots {
		if _, err := l.s.Free(sl.ptr, scheduler.After(sl.deps...)).Await(context.Background()); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range l.hosts {
		if err := l.pool.Put(h.buf); err != nil {
			errs = append(errs, err)
		}
	}
	if l.ownPool {
		if err := l.pool.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	l.slots, l.hosts = nil, nil
	return errors.Join(errs...)
}

// Close returns the loader's device memory to the scheduler's pool (after
// the work the consumer ordered before each release, see
// Batch.ReleaseAfter) and its host buffers to the host pool. Batches the
// consumer still holds must not be used afterwards. Close during an
// iteration returns ErrBusy and does nothing; a second Close returns
// ErrClosed.
func (l *Loader) Close() error {
	if !l.running.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer l.running.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	return l.free()
}

// BatchBytes is the size in bytes of one batch, on the host and on the
// device: BatchSize×features float32 values, then BatchSize×labels int32
// values.
func (l *Loader) BatchBytes() int { return l.bytes }

// BatchesPerEpoch is the number of batches of each epoch.
func (l *Loader) BatchesPerEpoch() int { return l.batches }

// Slots is the number of device batch slots (Depth+1).
func (l *Loader) Slots() int { return l.depth + 1 }

// HostBuffers is the number of pinned host buffers (Depth+Workers).
func (l *Loader) HostBuffers() int { return l.depth + l.workers }

// Stats returns the loader's counters.
func (l *Loader) Stats() Stats {
	return Stats{
		Batches:    l.st.batches.Load(),
		Samples:    l.st.samples.Load(),
		Stall:      time.Duration(l.st.stall.Load()),
		BufferWait: time.Duration(l.st.bufferWait.Load()),
		SlotWait:   time.Duration(l.st.slotWait.Load()),
		Decode:     time.Duration(l.st.decodeTime.Load()),
	}
}
