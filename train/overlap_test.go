package train

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/internal/blobs"
	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/scheduler"
)

// TestCopyOverlapsStep trains an epoch on the modeled device under
// synctest's fake clock, with the compute rate lowered so that a step
// takes longer than a batch's copy, and checks on the device's timeline
// (the scheduler's spans) that each batch's copy after the first runs
// while the compute stream works on an earlier step, and that the compute
// stream then hardly waits for data.
func TestCopyOverlapsStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A batch of 64×(256+1)×4 bytes copies in 1.3µs at 50 GB/s; the
		// step's two large sgemms (2×2×64×256×128 flops) take 17µs at
		// 0.5 TFLOP/s.
		r := newRig(t, sim.Config{Mode: sim.Modeled, Timing: sim.Timing{Compute: 0.5e12}}, scheduler.WithSpans(4096))
		shape := mlp.Shape{In: 256, Hidden: 128, Out: 10}
		tr := r.trainer(t, Config{Shape: shape, Hyper: mlp.DefaultHyper(), Batch: 64, ReadEvery: 4}, fresh(t, shape, 1))
		ld := r.loader(t, blobs.New(256, 10, 64*12, 1, 0.8), 64, true, 1)
		st, err := tr.Train(context.Background(), ld, nil)
		if err != nil {
			t.Fatal(err)
		}
		var copies, kernels []scheduler.Span
		for _, sp := range r.s.Spans() {
			switch {
			case !sp.Timed:
			case sp.Stream == 0 && sp.Name == "CopyHtoD":
				copies = append(copies, sp)
			case sp.Stream == 3 && sp.DeviceEnd > sp.DeviceStart:
				kernels = append(kernels, sp)
			}
		}
		if len(copies) != 12 || len(kernels) == 0 {
			t.Fatalf("%d batch copies and %d timed kernels on the trainer's stream", len(copies), len(kernels))
		}
		for i, c := range copies[1:] {
			overlapped := false
			for _, k := range kernels {
				if k.DeviceStart < c.DeviceEnd && c.DeviceStart < k.DeviceEnd {
					overlapped = true
					break
				}
			}
			if !overlapped {
				t.Errorf("the copy of batch %d (%v–%v) overlaps no kernel", i+1, c.DeviceStart, c.DeviceEnd)
			}
		}
		t.Logf("compute %v, waited for data %v (%.1f%%); device %v", st.Compute, st.ComputeWait, 100*st.StallShare(), st.Device)
		if st.StallShare() > 0.05 || st.Compute < 12*17*time.Microsecond {
			t.Errorf("stall %.1f%% of %v of compute", 100*st.StallShare(), st.Compute)
		}
	})
}
