package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
)

// BenchmarkDemo runs the demo's two loops on the simulated H100 in
// Modeled mode (real time: the device's work takes its modeled time on the
// host's clock) for load/compute ratios 0.25, 1 and 4 at prefetch depth 2,
// (and depth 1 at ratio 1, for comparison), and reports the speed-up of
// overlapping and its efficiency: overlapped
// time ÷ Σ max(load, compute) (1 is perfect; the pipeline's fill and
// drain alone add min(load, compute) ÷ Σ max, 1/32 at ratio 1 with 32
// steps). Targets (issue 13): speed-up ≥ 1.9 at ratio 1; efficiency ≤
// 1.05 at every ratio.
//
//	go test -run '^$' -bench Demo ./cmd/coawait
func BenchmarkDemo(b *testing.B) {
	const compute = 12 * time.Millisecond
	for _, c := range []struct {
		ratio float64
		depth int
	}{{0.25, 2}, {1, 1}, {1, 2}, {4, 2}} {
		b.Run(fmt.Sprintf("ratio=%v/depth=%d", c.ratio, c.depth), func(b *testing.B) {
			cfg := demoConfig{steps: 32, batch: 256, width: 784, depth: c.depth, policy: scheduler.Adaptive,
				load: time.Duration(c.ratio * float64(compute)), compute: compute}
			dev := sim.New(sim.Config{Mode: sim.Modeled})
			defer dev.Close()
			ctx := context.Background()
			var seq, ovl, ideal time.Duration
			for b.Loop() {
				s, err := runOnce(ctx, dev, cfg, "step by step", (*demoRun).stepByStep, nil)
				if err != nil {
					b.Fatal(err)
				}
				o, err := runOnce(ctx, dev, cfg, "overlapped", (*demoRun).overlapped, nil)
				if err != nil {
					b.Fatal(err)
				}
				if s.checksum != o.checksum {
					b.Fatalf("checksums %v and %v", s.checksum, o.checksum)
				}
				seq, ovl, ideal = seq+s.wall, ovl+o.wall, ideal+o.ideal
			}
			b.ReportMetric(seq.Seconds()/ovl.Seconds(), "speedup")
			b.ReportMetric(ovl.Seconds()/ideal.Seconds(), "efficiency")
			b.ReportMetric(float64(ovl.Milliseconds())/float64(b.N), "overlapped-ms/op")
		})
	}
}
