package loader_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
)

// benchSet is MNIST-shaped: 784 features (a 28×28 image) and one label.
const benchN, benchBatch = 8192, 128

// BenchmarkEpoch loads one epoch of an MNIST-shaped dataset onto the
// simulated device (Instant mode) per iteration; the consumer only
// releases each batch after its copy. "plain" is the baseline in the same
// run: one goroutine decodes a batch, copies it and waits, batch after
// batch, with no pipeline. Compare samples/s.
func BenchmarkEpoch(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		e := newEnv(b, sim.Instant)
		ds := newSet(benchN, 784, 1)
		bytes := 4 * benchBatch * 785
		h, _ := e.dev.AllocHost(bytes)
		d, _ := e.dev.Alloc(bytes)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			order := loader.Order(benchN, 1, 0)
			for k := 0; k < benchN; k += benchBatch {
				mem, err := h.Bytes()
				if err != nil {
					b.Fatal(err)
				}
				xs, _ := cuda.SliceOf[float32](mem[:4*benchBatch*784])
				ys, _ := cuda.SliceOf[int32](mem[4*benchBatch*784:])
				for p, i := range order[k : k+benchBatch] {
					ds.Decode(i, xs[p*784:(p+1)*784], ys[p:p+1])
				}
				if _, err := e.s.CopyHtoD(d, 0, h, 0, bytes).Await(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*benchN)/b.Elapsed().Seconds(), "samples/s")
	})
	for _, w := range []int{1, 2} {
		for _, depth := range []int{2, 4} {
			b.Run(fmt.Sprintf("loader/workers=%d/depth=%d", w, depth), func(b *testing.B) {
				e := newEnv(b, sim.Instant)
				ld, err := loader.New(e.s, newSet(benchN, 784, 1), loader.Options{BatchSize: benchBatch, Workers: w, Depth: depth, Shuffle: true, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				defer ld.Close()
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					for bt, err := range ld.Batches(ctx) {
						if err != nil {
							b.Fatal(err)
						}
						bt.ReleaseAfter(bt.Ready)
					}
				}
				b.ReportMetric(float64(b.N*benchN)/b.Elapsed().Seconds(), "samples/s")
				st := ld.Stats()
				b.ReportMetric(float64(st.Stall)/float64(st.Batches), "stall-ns/batch")
			})
		}
	}
}
