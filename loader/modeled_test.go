package loader_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/scheduler"
)

// slowSet decodes like seqSet and takes perSample of (fake) time per sample.
type slowSet struct {
	*seqSet
	perSample time.Duration
}

func (d slowSet) Decode(i int, x []float32, y []int32) error {
	time.Sleep(d.perSample)
	return d.seqSet.Decode(i, x, y)
}

// On the modeled device under synctest's fake clock: decoding takes 1.6ms
// a batch on two workers, a copy about 1ms, a training step 2ms. The copy
// of batch N+1 runs on the copy engine while step N runs, so the steps
// run back to back; the consumer stalls only for the first batch. With
// depth 1 the copy of batch N+1 overlaps step N; with depth 2 it runs a
// step earlier still.
func TestOverlapModeled(t *testing.T) {
	for _, depth := range []int{1, 2} {
		t.Run(fmt.Sprint("depth=", depth), func(t *testing.T) { testOverlapModeled(t, depth) })
	}
}

func testOverlapModeled(t *testing.T, depth int) {
	synctest.Test(t, func(t *testing.T) {
		const (
			steps   = 12
			bs      = 64
			feat    = 4096 // 1 MiB a batch: about 1ms at 1 GB/s
			step    = 2 * time.Millisecond
			perSamp = 25 * time.Microsecond // 1.6ms a batch
		)
		dev := sim.New(sim.Config{Mode: sim.Modeled, Timing: sim.Timing{HtoD: 1e9}})
		s, err := scheduler.New(dev, scheduler.WithPolicy(scheduler.HostCallback), scheduler.WithSpans(4*steps))
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		defer s.Close()
		ds := slowSet{newSet(steps*bs, feat, 1), perSamp}
		ld, err := loader.New(s, ds, loader.Options{BatchSize: bs, Depth: depth, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer ld.Close()
		spin, err := dev.Kernel(sim.BuiltinModule, "spin")
		if err != nil {
			t.Fatal(err)
		}
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1}, Block: cuda.Dim3{X: 1}}
		ctx := context.Background()
		start := time.Now()
		var prev *scheduler.Op[struct{}]
		for b, err := range ld.Batches(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			k := s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(step))}, scheduler.After(b.Ready))
			b.ReleaseAfter(k)
			if prev != nil { // keep one step in flight, as a trainer reading its loss does
				if _, err := prev.Await(ctx); err != nil {
					t.Fatal(err)
				}
			}
			prev = k
		}
		if _, err := prev.Await(ctx); err != nil {
			t.Fatal(err)
		}
		total := time.Since(start)

		tm := dev.Config().Timing
		copyTime := tm.CopyHtoD(ld.BatchBytes())
		firstDecode := bs * perSamp
		want := firstDecode + tm.LaunchLatency + copyTime + steps*step
		sequential := steps * (firstDecode + copyTime + step)
		t.Logf("total %v (overlapped: %v, step by step: %v); copy %v; stats %+v", total, want, sequential, copyTime, ld.Stats())
		if total != want {
			t.Errorf("took %v, want %v: the first batch's load, then the steps back to back", total, want)
		}
		if st := ld.Stats(); st.Stall != firstDecode {
			t.Errorf("stall %v, want %v (the first batch only)", st.Stall, firstDecode)
		}

		// The device's own timeline: each copy after the first runs while
		// the device computes, and is done before the step that needs it
		// could start; with depth 1 it overlaps the step on the batch
		// before it.
		var copies, kernels []scheduler.Span
		for _, sp := range s.Spans() {
			switch sp.Name {
			case "CopyHtoD":
				copies = append(copies, sp)
			case "Launch spin":
				kernels = append(kernels, sp)
			}
		}
		if len(copies) != steps || len(kernels) != steps {
			t.Fatalf("%d copies and %d kernels in the spans, want %d each", len(copies), len(kernels), steps)
		}
		for n := 1; n < steps; n++ {
			c, k := copies[n], kernels[n-1]
			if c.DeviceStart < kernels[0].DeviceStart || c.DeviceEnd > k.DeviceEnd {
				t.Errorf("copy %d [%v, %v] is not hidden under the steps before it [%v, %v]", n, c.DeviceStart, c.DeviceEnd, kernels[0].DeviceStart, k.DeviceEnd)
			}
			if depth == 1 && !(c.DeviceStart < k.DeviceEnd && k.DeviceStart < c.DeviceEnd) {
				t.Errorf("copy %d [%v, %v] does not overlap step %d [%v, %v]", n, c.DeviceStart, c.DeviceEnd, n-1, k.DeviceStart, k.DeviceEnd)
			}
			if kernels[n].DeviceStart != k.DeviceEnd {
				t.Errorf("step %d starts at %v, %v after step %d ended: the device waited for data", n, kernels[n].DeviceStart, kernels[n].DeviceStart-k.DeviceEnd, n-1)
			}
		}
	})
}

// The stats tell who waits for whom, on a fake clock: a slow consumer
// makes the loader wait for slots and stalls only for the first batch; a
// slow loader makes the consumer stall for every batch by the difference.
func TestStatsModeled(t *testing.T) {
	const steps = 8
	for _, tt := range []struct {
		name            string
		decode, consume time.Duration // per batch
		stall           time.Duration
		slotWait        bool
	}{
		{"slow consumer", time.Millisecond, 10 * time.Millisecond, time.Millisecond, true},
		{"slow loader", 10 * time.Millisecond, time.Millisecond, 10*time.Millisecond + (steps-1)*9*time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, sim.Instant, scheduler.WithPolicy(scheduler.HostCallback))
				const bs = 4
				ds := slowSet{newSet(steps*bs, 8, 1), tt.decode / bs}
				ld := e.loader(t, ds, loader.Options{BatchSize: bs, Depth: 2, Workers: 1})
				ctx := context.Background()
				for b, err := range ld.Batches(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					if err := b.Await(ctx); err != nil {
						t.Fatal(err)
					}
					time.Sleep(tt.consume) // the consumer works on the batch
					b.Release()
				}
				st := ld.Stats()
				t.Logf("%+v", st)
				if st.Stall != tt.stall {
					t.Errorf("stall %v, want %v", st.Stall, tt.stall)
				}
				if (st.SlotWait > 0) != tt.slotWait {
					t.Errorf("slot wait %v; want it positive: %v", st.SlotWait, tt.slotWait)
				}
				if !tt.slotWait && st.BufferWait != 0 {
					t.Errorf("a slow loader waited %v for host buffers", st.BufferWait)
				}
				if st.Decode != steps*tt.decode {
					t.Errorf("decode time %v, want %v", st.Decode, steps*tt.decode)
				}
			})
		})
	}
}
