package train

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/mnist"
	"github.com/coawait/coawait/scheduler"
)

var mnistOnce = sync.OnceValues(func() (*mnist.Set, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	train, _, err := mnist.Load(ctx)
	return train, err
})

// mnistHead returns the first n MNIST training digits, or skips b.
func mnistHead(b *testing.B, n int) loader.Dataset {
	set, err := mnistOnce()
	if err != nil {
		b.Skipf("MNIST files not available: %v", err)
	}
	return set.Subset(n)
}

const benchSamples = 12800 // 100 batches of 128

// BenchmarkEpoch compares one epoch of the device trainer on the simulated
// H100 (Modeled mode and the Blocking policy, as `coawait train` runs it)
// with the plain gonum loop (mlp.Reference: load a batch, then compute on
// it; no futures, no overlap) on the same 12,800 MNIST digits, model and
// batch size. Each iteration runs one epoch of each, in turn, so that both
// see the same load on a shared machine; the figures are samples/s of
// each, their ratio (device ÷ gonum, the target is ≥ 1), the ratio
// of the CPU time they used (the process's, so it counts the loader, the
// scheduler and the simulator: on a busy machine it is steadier than wall
// time), and the stall share at prefetch depth 2 (the share of the step
// time that the compute stream waited for its batch's copy; target < 5%).
//
//	go test -run '^$' -bench Epoch -benchtime 5x ./train
func BenchmarkEpoch(b *testing.B) {
	for _, hidden := range []int{100, 300} {
		b.Run("H="+strconv.Itoa(hidden), func(b *testing.B) {
			shape := mlp.MNIST(hidden)
			data := mnistHead(b, benchSamples)
			r := newRig(b, sim.Config{Mode: sim.Modeled}, scheduler.WithPolicy(scheduler.Blocking))
			tr := r.trainer(b, Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 128}, fresh(b, shape, 1))
			ld := r.loader(b, data, 128, true, 1)
			l, _ := mlp.NewLayout(shape)
			ref := mlp.NewReference(l, mlp.DefaultHyper(), l.Init(1), nil, 128)
			var st Stats
			var dev, plain, devCPU, plainCPU time.Duration
			b.ResetTimer()
			for e := range b.N {
				start, c0 := time.Now(), cpuTime()
				s, err := tr.Train(context.Background(), ld, nil)
				if err != nil {
					b.Fatal(err)
				}
				mid, c1 := time.Now(), cpuTime()
				if _, err := ref.Epoch(context.Background(), data, loader.Order(data.Len(), 1, e)); err != nil {
					b.Fatal(err)
				}
				dev, plain = dev+mid.Sub(start), plain+time.Since(mid)
				devCPU, plainCPU = devCPU+c1-c0, plainCPU+cpuTime()-c1
				st.Compute += s.Compute
				st.ComputeWait += s.ComputeWait
			}
			n := float64(b.N * data.Len())
			b.ReportMetric(n/dev.Seconds(), "sim-samples/s")
			b.ReportMetric(n/plain.Seconds(), "gonum-samples/s")
			b.ReportMetric(plain.Seconds()/dev.Seconds(), "sim/gonum")
			b.ReportMetric(100*st.StallShare(), "stall%")
			if plainCPU > 0 {
				b.ReportMetric(devCPU.Seconds()/plainCPU.Seconds(), "sim/gonum-cpu")
			}
		})
	}
}

// BenchmarkHeap trains 20 epochs of 2,000 digits and reports the live heap
// after the first and after the last epoch (after a GC): the loader's and
// the trainer's memory must not grow across epochs.
//
//	go test -run '^$' -bench Heap -benchtime 1x ./train
func BenchmarkHeap(b *testing.B) {
	data := mnistHead(b, 2000)
	shape := mlp.MNIST(100)
	for range b.N {
		r := newRig(b, sim.Config{})
		tr := r.trainer(b, Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 128}, fresh(b, shape, 1))
		ld := r.loader(b, data, 128, true, 1)
		var first, last runtime.MemStats
		for e := range 20 {
			if _, err := tr.Train(context.Background(), ld, nil); err != nil {
				b.Fatal(err)
			}
			if e == 0 || e == 19 {
				runtime.GC()
				m := &last
				if e == 0 {
					m = &first
				}
				runtime.ReadMemStats(m)
			}
		}
		b.ReportMetric(float64(first.HeapAlloc)/(1<<20), "MiB-heap-epoch1")
		b.ReportMetric(float64(last.HeapAlloc)/(1<<20), "MiB-heap-epoch20")
		b.ReportMetric(float64(last.HeapAlloc)/float64(first.HeapAlloc), "heap-ratio")
	}
}
