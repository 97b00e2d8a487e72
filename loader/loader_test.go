package loader_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/scheduler"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seqSet is a dataset whose sample i has features i*F, i*F+1, ... and
// labels -i, -i-1, ...; fail and panicAt pick samples that fail.
type seqSet struct {
	n, f, l int
	fail    int // Decode(fail) returns errDecode; -1: none
	panicAt int // Decode(panicAt) panics; -1: none
	decoded atomic.Int64
}

var errDecode = errors.New("corrupt sample")

func newSet(n, f, l int) *seqSet { return &seqSet{n: n, f: f, l: l, fail: -1, panicAt: -1} }

func (d *seqSet) Len() int                      { return d.n }
func (d *seqSet) Shape() (features, labels int) { return d.f, d.l }
func (d *seqSet) Decode(i int, x []float32, y []int32) error {
	d.decoded.Add(1)
	if i == d.fail {
		return errDecode
	}
	if i == d.panicAt {
		panic("decoder bug")
	}
	if len(x) != d.f || len(y) != d.l {
		return fmt.Errorf("got views of %d and %d values, want %d and %d", len(x), len(y), d.f, d.l)
	}
	for k := range x {
		x[k] = float32(i*d.f + k)
	}
	for k := range y {
		y[k] = int32(-i - k)
	}
	return nil
}

type env struct {
	dev *sim.Device
	s   *scheduler.Scheduler
}

func newEnv(t testing.TB, mode sim.TimeMode, opts ...scheduler.Option) *env {
	t.Helper()
	dev := sim.New(sim.Config{Mode: mode})
	s, err := scheduler.New(dev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{dev: dev, s: s}
}

func (e *env) loader(t *testing.T, ds loader.Dataset, opt loader.Options) *loader.Loader {
	t.Helper()
	ld, err := loader.New(e.s, ds, opt)
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

// readBack copies b to the host after it is on the device, checks its
// contents against the dataset, and releases it after the copy.
func readBack(t *testing.T, e *env, ld *loader.Loader, ds *seqSet, b *loader.Batch, bs int) {
	t.Helper()
	h, err := e.dev.AllocHost(ld.BatchBytes())
	if err != nil {
		t.Fatal(err)
	}
	defer e.dev.FreeHost(h)
	down := e.s.CopyDtoH(h, 0, b.Features, 0, ld.BatchBytes(), scheduler.After(b.Ready))
	b.ReleaseAfter(down)
	if _, err := down.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	mem, _ := h.Bytes()
	xs, _ := cuda.SliceOf[float32](mem[:4*bs*ds.f])
	ys, _ := cuda.SliceOf[int32](mem[4*bs*ds.f:])
	for p := range bs {
		for k := range ds.f {
			want := float32(0)
			if p < b.N {
				want = float32(b.Indices[p]*ds.f + k)
			}
			if xs[p*ds.f+k] != want {
				t.Fatalf("epoch %d batch %d row %d feature %d = %v, want %v", b.Epoch, b.Index, p, k, xs[p*ds.f+k], want)
			}
		}
		for k := range ds.l {
			want := int32(0)
			if p < b.N {
				want = int32(-b.Indices[p] - k)
			}
			if ys[p*ds.l+k] != want {
				t.Fatalf("epoch %d batch %d row %d label %d = %v, want %v", b.Epoch, b.Index, p, k, ys[p*ds.l+k], want)
			}
		}
	}
}

// Every sample arrives once per epoch, in the epoch's order, with the right
// bytes on the device; the short last batch is padded with zeros.
func TestEpochs(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		t.Run(fmt.Sprint("shuffle=", shuffle), func(t *testing.T) {
			e := newEnv(t, sim.Instant)
			ds := newSet(103, 5, 2)
			const bs, seed = 10, 42
			ld := e.loader(t, ds, loader.Options{BatchSize: bs, Depth: 2, Workers: 3, Shuffle: shuffle, Seed: seed})
			if ld.BatchesPerEpoch() != 11 {
				t.Fatalf("BatchesPerEpoch = %d, want 11", ld.BatchesPerEpoch())
			}
			got := map[int][]int{}
			next := 0
			for b, err := range ld.Epochs(context.Background(), 2, 3) {
				if err != nil {
					t.Fatal(err)
				}
				if wantE, wantI := 2+next/11, next%11; b.Epoch != wantE || b.Index != wantI {
					t.Fatalf("batch %d is epoch %d index %d, want %d %d", next, b.Epoch, b.Index, wantE, wantI)
				}
				next++
				wantN := bs
				if b.Index == 10 {
					wantN = 3
				}
				if b.N != wantN || len(b.Indices) != wantN {
					t.Fatalf("batch %d has N %d and %d indices, want %d", b.Index, b.N, len(b.Indices), wantN)
				}
				readBack(t, e, ld, ds, b, bs)
				got[b.Epoch] = append(got[b.Epoch], b.Indices...)
			}
			if next != 33 {
				t.Fatalf("got %d batches, want 33", next)
			}
			for ep := 2; ep < 5; ep++ {
				want := loader.Order(103, seed, ep)
				if !shuffle {
					want = identity(103)
				}
				if !slices.Equal(got[ep], want) {
					t.Fatalf("epoch %d order %v, want %v", ep, got[ep], want)
				}
			}
			if shuffle && slices.Equal(got[2], got[3]) {
				t.Fatal("two epochs have the same order")
			}
			st := ld.Stats()
			if st.Batches != 33 || st.Samples != 3*103 || ds.decoded.Load() != 3*103 {
				t.Fatalf("stats %+v, decoded %d", st, ds.decoded.Load())
			}
		})
	}
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func TestDropLast(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, newSet(25, 1, 1), loader.Options{BatchSize: 10, DropLast: true, Shuffle: true})
	n := 0
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if b.N != 10 {
			t.Fatalf("batch of %d samples with DropLast", b.N)
		}
		if err := b.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.Release()
		n++
	}
	if n != 2 || ld.BatchesPerEpoch() != 2 {
		t.Fatalf("%d batches (BatchesPerEpoch %d), want 2", n, ld.BatchesPerEpoch())
	}
}

// Order is a permutation, a function of its arguments, and different for
// different epochs.
func TestOrderProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 500).Draw(t, "n")
		seed := rapid.Uint64().Draw(t, "seed")
		ep := rapid.IntRange(0, 1000).Draw(t, "epoch")
		p := loader.Order(n, seed, ep)
		if !slices.Equal(slices.Sorted(slices.Values(p)), identity(n)) {
			t.Fatalf("not a permutation: %v", p)
		}
		if !slices.Equal(p, loader.Order(n, seed, ep)) {
			t.Fatal("same arguments, different order")
		}
		if n >= 20 && slices.Equal(p, loader.Order(n, seed, ep+1)) {
			t.Fatal("consecutive epochs have the same order")
		}
	})
}

// The order is fixed for good: a checkpoint resumed on another machine or
// Go release reads the same samples.
func TestOrderStable(t *testing.T) {
	if got, want := fmt.Sprint(loader.Order(10, 1, 0)), "[7 6 1 3 2 4 8 9 0 5]"; got != want {
		t.Fatalf("Order(10, 1, 0) = %s, was %s", got, want)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ds := newSet(10, 2, 1)
	tests := []struct {
		name string
		s    *scheduler.Scheduler
		ds   loader.Dataset
		opt  loader.Options
		msg  string
	}{
		{"nil scheduler", nil, ds, loader.Options{BatchSize: 1}, "nil scheduler"},
		{"nil dataset", e.s, nil, loader.Options{BatchSize: 1}, "nil dataset"},
		{"zero batch", e.s, ds, loader.Options{}, "batch size 0 is not positive"},
		{"negative batch", e.s, ds, loader.Options{BatchSize: -3}, "batch size -3 is not positive"},
		{"batch too large", e.s, ds, loader.Options{BatchSize: 11}, "batch size 11 is larger than the dataset of 10 samples"},
		{"empty dataset", e.s, newSet(0, 1, 1), loader.Options{BatchSize: 1}, "the dataset is empty"},
		{"no features", e.s, newSet(5, 0, 1), loader.Options{BatchSize: 1}, "0 features"},
		{"negative depth", e.s, ds, loader.Options{BatchSize: 1, Depth: -1}, "negative depth"},
		{"negative workers", e.s, ds, loader.Options{BatchSize: 1, Workers: -1}, "worker count -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld, err := loader.New(tt.s, tt.ds, tt.opt)
			if ld != nil || !errors.Is(err, loader.ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("New = %v, %v; want an ErrInvalid error containing %q", ld, err, tt.msg)
			}
		})
	}
}

// A decode error arrives in its batch's place, naming the sample, and the
// iteration goes on; so does a panic, as a *future.PanicError.
func TestSampleErrors(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ds := newSet(50, 3, 1)
	ds.fail, ds.panicAt = 37, 12
	ld := e.loader(t, ds, loader.Options{BatchSize: 5, Workers: 2})
	var batches []int
	var errs []error
	for b, err := range ld.Epochs(context.Background(), 0, 2) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		batches = append(batches, b.Index)
		readBack(t, e, ld, ds, b, 5)
	}
	if len(batches) != 16 || len(errs) != 4 {
		t.Fatalf("%d batches and errors %v; want 16 and 4", len(batches), errs)
	}
	var se *loader.SampleError
	if !errors.As(errs[0], &se) || se.Sample != 12 || se.Batch != 2 || se.Epoch != 0 {
		t.Fatalf("first error %v", errs[0])
	}
	var pe *future.PanicError
	if !errors.As(errs[0], &pe) || pe.Value != "decoder bug" {
		t.Fatalf("first error %v does not carry the panic", errs[0])
	}
	if !errors.Is(errs[1], errDecode) || !errors.As(errs[1], &se) || se.Sample != 37 || se.Batch != 7 {
		t.Fatalf("second error %v", errs[1])
	}
	if want := "loader: epoch 0, batch 7: sample 37: corrupt sample"; errs[1].Error() != want {
		t.Fatalf("error %q, want %q", errs[1], want)
	}
}

// After New, the loader allocates nothing: every later device or host
// allocation is made to fail, and many epochs still run; the device
// memory in use does not change.
func TestMemoryBounded(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ds := newSet(64, 16, 1)
	ld := e.loader(t, ds, loader.Options{BatchSize: 8, Depth: 3, Workers: 2, Shuffle: true})
	if ld.Slots() != 4 || ld.HostBuffers() != 5 {
		t.Fatalf("%d slots and %d host buffers, want 4 and 5", ld.Slots(), ld.HostBuffers())
	}
	used := e.dev.MemoryUsed()
	if want := int64(4 * ld.BatchBytes()); used != want {
		t.Fatalf("device memory %d after New, want %d", used, want)
	}
	for _, op := range []sim.Op{sim.OpAlloc, sim.OpAllocHost} {
		if err := e.dev.InjectFault(sim.Fault{Op: op, N: 1, Err: errors.New("allocation after New")}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for b, err := range ld.Epochs(context.Background(), 0, 20) {
		if err != nil {
			t.Fatal(err)
		}
		k := e.s.Memset(b.Features, 0, 4, 1, scheduler.After(b.Ready)) // a consumer's kernel
		b.ReleaseAfter(k)
		n++
	}
	if n != 160 || e.dev.MemoryUsed() != used {
		t.Fatalf("%d batches, device memory %d, want 160 and %d", n, e.dev.MemoryUsed(), used)
	}
}

// Breaking out of the loop stops every goroutine (goleak checks at the
// end) and gives back what the consumer never received: a second
// iteration runs in full.
func TestBreak(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ds := newSet(100, 4, 1)
	ld := e.loader(t, ds, loader.Options{BatchSize: 4, Depth: 3, Workers: 3})
	var held *loader.Batch
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if b.Index == 2 {
			held = b
			break
		}
		b.Release()
	}
	if held == nil {
		t.Fatal("no batch 2")
	}
	if err := held.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	held.Release()
	n := 0
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		readBack(t, e, ld, ds, b, 4)
		n++
	}
	if n != 25 {
		t.Fatalf("second iteration delivered %d batches, want 25", n)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, newSet(100, 4, 1), loader.Options{BatchSize: 4, Workers: 2})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := errors.New("user stopped")
	var last error
	n := 0
	for b, err := range ld.Epochs(ctx, 0, 100) {
		if err != nil {
			last = err
			continue
		}
		n++
		if n == 3 {
			cancel(stop)
		}
		b.Release()
	}
	if !errors.Is(last, stop) {
		t.Fatalf("last error %v, want the cause of the cancellation", last)
	}
	if n > 3+ld.Slots() {
		t.Fatalf("%d batches after cancelling at 3", n)
	}
}

// A consumer that never releases gets ErrAllHeld instead of a deadlock.
func TestAllHeld(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, newSet(100, 4, 1), loader.Options{BatchSize: 4, Depth: 2})
	var held []*loader.Batch
	var last error
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			last = err
			continue
		}
		held = append(held, b)
	}
	if len(held) != 3 || !errors.Is(last, loader.ErrAllHeld) {
		t.Fatalf("%d batches, last error %v; want 3 and ErrAllHeld", len(held), last)
	}
	for _, err := range ld.Batches(context.Background()) {
		if !errors.Is(err, loader.ErrAllHeld) {
			t.Fatalf("iteration while all batches are held: %v", err)
		}
	}
	for _, b := range held {
		b.Release()
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "loader:") {
			t.Fatalf("second Release: recovered %v", r)
		}
	}()
	held[0].Release()
}

func TestBusyAndClosed(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld, err := loader.New(e.s, newSet(10, 1, 1), loader.Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range ld.Batches(context.Background()) {
			if !errors.Is(err, loader.ErrBusy) {
				t.Fatalf("nested iteration: %v", err)
			}
		}
		if err := ld.Close(); !errors.Is(err, loader.ErrBusy) {
			t.Fatalf("Close during iteration: %v", err)
		}
		b.Release()
	}
	if err := ld.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ld.Close(); !errors.Is(err, loader.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	for _, err := range ld.Batches(context.Background()) {
		if !errors.Is(err, loader.ErrClosed) {
			t.Fatalf("iteration after Close: %v", err)
		}
	}
}

// A copy that the device refuses fails the batch's Ready future; the
// consumer sees the device's error and the loop still ends cleanly.
func TestCopyFault(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, newSet(40, 4, 1), loader.Options{BatchSize: 4})
	if err := e.dev.InjectFault(sim.Fault{Op: sim.OpCopyHtoD, N: 3, Err: errors.New("pcie error")}); err != nil {
		t.Fatal(err)
	}
	var failed []int
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Await(context.Background()); err != nil {
			if !strings.Contains(err.Error(), "pcie error") {
				t.Fatalf("batch %d: %v", b.Index, err)
			}
			failed = append(failed, b.Index)
		}
		b.Release()
	}
	if !slices.Equal(failed, []int{2}) {
		t.Fatalf("failed batches %v, want [2]", failed)
	}
}

// Decoding that calls runtime.Goexit loses no buffer: the iteration
// reports it in place and goes on to the end.
type goexitSet struct{ *seqSet }

func (d goexitSet) Decode(i int, x []float32, y []int32) error {
	if i%7 == 3 {
		runtime.Goexit()
	}
	return d.seqSet.Decode(i, x, y)
}

func TestGoexit(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, goexitSet{newSet(70, 2, 1)}, loader.Options{BatchSize: 7, Depth: 1, Workers: 1})
	var errs, n int
	for b, err := range ld.Epochs(context.Background(), 0, 3) {
		if err != nil {
			if !errors.Is(err, future.ErrGoexit) {
				t.Fatal(err)
			}
			errs++
			continue
		}
		n++
		b.Release()
	}
	if errs != 30 || n != 0 {
		t.Fatalf("%d errors and %d batches, want 30 and 0", errs, n)
	}
}

// A host pool of the scheduler's device is used; one of another device is
// refused.
func TestHostPool(t *testing.T) {
	e := newEnv(t, sim.Instant)
	pool := cuda.NewHostPool(e.dev, 0)
	defer pool.Close()
	ld := e.loader(t, newSet(20, 2, 1), loader.Options{BatchSize: 4, HostPool: pool})
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
	}

	other := sim.New(sim.Config{})
	defer other.Close()
	foreign := cuda.NewHostPool(other, 0)
	defer foreign.Close()
	_, err := loader.New(e.s, newSet(20, 2, 1), loader.Options{BatchSize: 4, HostPool: foreign})
	if !errors.Is(err, loader.ErrInvalid) || !strings.Contains(err.Error(), "another device") {
		t.Fatalf("New with a foreign pool: %v", err)
	}
}

// A panic in the loop body unwinds through the loader without a deadlock
// or a leaked goroutine, and the loader can be used again.
func TestBodyPanics(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ld := e.loader(t, newSet(200, 4, 1), loader.Options{BatchSize: 4, Depth: 1, Workers: 2})
	var held []*loader.Batch
	func() {
		defer func() {
			if r := recover(); r != "consumer bug" {
				t.Fatalf("recovered %v", r)
			}
		}()
		for b, err := range ld.Batches(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			switch b.Index {
			case 2: // kept: with depth 1 the copy stage now waits for a slot
				held = append(held, b)
				continue
			case 3:
				held = append(held, b)
				panic("consumer bug")
			}
			b.Release()
		}
	}()
	for _, b := range held {
		b.Release()
	}
	n := 0
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		n++
	}
	if n != 50 {
		t.Fatalf("%d batches after the panic, want 50", n)
	}
}

// OnDecode sees every batch once, numbered by a worker in [0, Workers),
// and no two decodes of one worker number overlap in time; a batch whose
// sample fails reports its error.
func TestOnDecode(t *testing.T) {
	e := newEnv(t, sim.Instant)
	ds := &meetSet{seqSet: newSet(100, 3, 1), all: make(chan struct{})}
	ds.fail = 57 // in batch 5
	var mu sync.Mutex
	var got []loader.Decoded
	const workers = 3
	ld := e.loader(t, ds, loader.Options{BatchSize: 10, Workers: workers, Depth: 3, OnDecode: func(d loader.Decoded) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	}})
	for b, err := range ld.Epochs(context.Background(), 0, 2) {
		if err != nil {
			continue // the failing batch
		}
		if err := b.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 20 {
		t.Fatalf("OnDecode called %d times, want 20 (2 epochs of 10 batches)", len(got))
	}
	seen := map[[2]int]bool{}
	byWorker := map[int][]loader.Decoded{}
	for _, d := range got {
		if d.Worker < 0 || d.Worker >= workers {
			t.Fatalf("worker %d outside [0, %d)", d.Worker, workers)
		}
		if d.End.Before(d.Start) {
			t.Fatalf("batch %d.%d ends before it starts", d.Epoch, d.Batch)
		}
		k := [2]int{d.Epoch, d.Batch}
		if seen[k] {
			t.Fatalf("batch %d.%d reported twice", d.Epoch, d.Batch)
		}
		seen[k] = true
		var se *loader.SampleError
		if failing := d.Batch == 5; failing != errors.As(d.Err, &se) || failing && se.Sample != 57 {
			t.Fatalf("batch %d.%d: Err = %v", d.Epoch, d.Batch, d.Err)
		}
		for _, o := range byWorker[d.Worker] {
			if d.Start.Before(o.End) && o.Start.Before(d.End) {
				t.Fatalf("worker %d decoded %d.%d and %d.%d at the same time", d.Worker, o.Epoch, o.Batch, d.Epoch, d.Batch)
			}
		}
		byWorker[d.Worker] = append(byWorker[d.Worker], d)
	}
}

// meetSet makes the first decodes of batches 0, 1 and 2 of the first epoch
// wait for each other (for at most a second), so that three workers
// decode at the same time.
type meetSet struct {
	*seqSet
	met atomic.Int32
	all chan struct{}
}

func (d *meetSet) Decode(i int, x []float32, y []int32) error {
	if i%10 == 0 && i < 30 && d.met.Load() < 3 {
		if d.met.Add(1) == 3 {
			close(d.all)
		}
		select {
		case <-d.all:
		case <-time.After(time.Second):
		}
	}
	return d.seqSet.Decode(i, x, y)
}
