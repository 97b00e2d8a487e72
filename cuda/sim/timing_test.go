package sim_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func stamp(t *testing.T, e cuda.Event) time.Duration {
	t.Helper()
	ts, recorded := e.(*sim.Event).Timestamp()
	if !recorded {
		t.Fatal("event not recorded")
	}
	return ts
}

// TestCopyComputeOverlap is the timing target: a copy stream and a compute
// stream in a three-batch pipeline, whose event timestamps match the model
// exactly, and whose wall time under synctest equals the modeled makespan.
func TestCopyComputeOverlap(t *testing.T) {
	for _, mode := range []sim.TimeMode{sim.Modeled, sim.Instant} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dev := sim.New(sim.Config{Mode: mode})
				defer dev.Close()
				tm := dev.Config().Timing
				const batches, size = 3, 8 << 20
				const n = size / 4
				scale := must(dev.Kernel(sim.BuiltinModule, "scale_f32"))(t)
				cp := must(dev.NewStream(0))(t)
				comp := must(dev.NewStream(0))(t)
				h := must(dev.AllocHost(size))(t)
				var bufs [batches]cuda.DevicePtr
				var copied, computed [batches]cuda.Event
				for i := range batches {
					bufs[i] = must(dev.Alloc(size))(t)
					copied[i] = must(dev.NewEvent(0))(t)
					computed[i] = must(dev.NewEvent(0))(t)
				}
				begin := time.Now()
				for i := range batches {
					ok(t, cp.CopyHtoD(bufs[i], 0, h, 0, size))
					ok(t, cp.RecordEvent(copied[i]))
					ok(t, comp.WaitEvent(copied[i]))
					ok(t, comp.Launch(scale, cuda.Linear(n, 256, nil), cuda.Ptr(bufs[i]), cuda.Float32(2), cuda.Int32(n)))
					ok(t, comp.RecordEvent(computed[i]))
				}
				ok(t, dev.Synchronize())
				wall := time.Since(begin)

				L, C, K := tm.LaunchLatency, tm.CopyHtoD(size), sim.Transfer(8*n, tm.Memory)
				if C != 167773*time.Nanosecond || K != 8389*time.Nanosecond {
					t.Fatalf("model: copy %v, kernel %v; want 167.773µs, 8.389µs", C, K)
				}
				for i := range batches {
					wantCopied := L + time.Duration(i+1)*C
					if got := stamp(t, copied[i]); got != wantCopied {
						t.Errorf("batch %d copied at %v, want %v", i, got, wantCopied)
					}
					if got := stamp(t, computed[i]); got != wantCopied+K {
						t.Errorf("batch %d computed at %v, want %v", i, got, wantCopied+K)
					}
				}
				// Kernel i overlaps copy i+1 entirely (K < C).
				for i := range batches - 1 {
					kStart := stamp(t, computed[i]) - K
					cStart, cEnd := stamp(t, copied[i+1])-C, stamp(t, copied[i+1])
					if kStart < cStart || kStart+K > cEnd {
						t.Errorf("kernel %d [%v, %v] not inside copy %d [%v, %v]", i, kStart, kStart+K, i+1, cStart, cEnd)
					}
				}
				el := must(dev.ElapsedTime(copied[0], computed[batches-1]))(t)
				if want := time.Duration(batches-1)*C + K; el != want {
					t.Errorf("ElapsedTime = %v, want %v", el, want)
				}
				makespan := L + batches*C + K
				switch mode {
				case sim.Modeled:
					if wall != makespan {
						t.Errorf("wall time under synctest %v, want the modeled %v", wall, makespan)
					}
				case sim.Instant:
					if wall != 0 {
						t.Errorf("wall time in Instant mode %v, want 0", wall)
					}
				}
			})
		})
	}
}

// TestCopyEngines checks that opposite-direction copies overlap with two
// engines and serialize with one, and that same-direction copies on
// different streams always share their engine.
func TestCopyEngines(t *testing.T) {
	const size = 8 << 20
	for _, tc := range []struct {
		name    string
		engines int
		d2h     bool // second copy is device-to-host
		overlap bool
	}{
		{"2 engines HtoD+DtoH", 2, true, true},
		{"1 engine HtoD+DtoH", 1, true, false},
		{"2 engines HtoD+HtoD", 2, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dev := sim.New(sim.Config{Mode: sim.Modeled, Timing: sim.Timing{CopyEngines: tc.engines}})
				defer dev.Close()
				tm := dev.Config().Timing
				s0, s1 := must(dev.NewStream(0))(t), must(dev.NewStream(0))(t)
				h0, h1 := must(dev.AllocHost(size))(t), must(dev.AllocHost(size))(t)
				d0, d1 := must(dev.Alloc(size))(t), must(dev.Alloc(size))(t)
				e0, e1 := must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t)
				ok(t, s0.CopyHtoD(d0, 0, h0, 0, size))
				if tc.d2h {
					ok(t, s1.CopyDtoH(h1, 0, d1, 0, size))
				} else {
					ok(t, s1.CopyHtoD(d1, 0, h1, 0, size))
				}
				ok(t, s0.RecordEvent(e0))
				ok(t, s1.RecordEvent(e1))
				ok(t, dev.Synchronize())
				L, C := tm.LaunchLatency, tm.CopyHtoD(size)
				want1 := L + C
				if !tc.overlap {
					want1 = L + 2*C
				}
				if got := stamp(t, e0); got != L+C {
					t.Errorf("first copy ends at %v, want %v", got, L+C)
				}
				if got := stamp(t, e1); got != want1 {
					t.Errorf("second copy ends at %v, want %v", got, want1)
				}
			})
		})
	}
}

// TestEngineGap checks that a copy held back by a stream wait does not
// delay a later copy of another stream that is ready earlier.
func TestEngineGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		tm := dev.Config().Timing
		spin := must(dev.Kernel(sim.BuiltinModule, "spin"))(t)
		a, b, c := must(dev.NewStream(0))(t), must(dev.NewStream(0))(t), must(dev.NewStream(0))(t)
		const size = 1 << 20
		h := must(dev.AllocHost(size))(t)
		da, db := must(dev.Alloc(size))(t), must(dev.Alloc(size))(t)
		gate, ea, eb := must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t)
		ok(t, c.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(10*time.Millisecond))))
		ok(t, c.RecordEvent(gate))
		ok(t, a.WaitEvent(gate))
		ok(t, a.CopyHtoD(da, 0, h, 0, size))
		ok(t, a.RecordEvent(ea))
		ok(t, b.CopyHtoD(db, 0, h, 0, size))
		ok(t, b.RecordEvent(eb))
		ok(t, dev.Synchronize())
		L, C := tm.LaunchLatency, tm.CopyHtoD(size)
		if got, want := stamp(t, eb), L+C; got != want {
			t.Errorf("ready copy ends at %v, want %v (it must not queue behind the held one)", got, want)
		}
		if got, want := stamp(t, ea), L+10*time.Millisecond+C; got != want {
			t.Errorf("held copy ends at %v, want %v", got, want)
		}
	})
}

// TestSlowStream checks that SlowStream scales modeled durations.
func TestSlowStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		spin := must(dev.Kernel(sim.BuiltinModule, "spin"))(t)
		s := must(dev.NewStream(0))(t)
		b, e := must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t)
		ok(t, dev.SlowStream(s, 3))
		ok(t, s.RecordEvent(b))
		ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(time.Millisecond))))
		ok(t, s.RecordEvent(e))
		start := time.Now()
		ok(t, e.Synchronize())
		if el := must(dev.ElapsedTime(b, e))(t); el != 3*time.Millisecond {
			t.Errorf("slowed 1ms kernel took %v, want 3ms", el)
		}
		if wall := time.Since(start); wall != 3*time.Millisecond+dev.Config().Timing.LaunchLatency {
			t.Errorf("wall time %v", wall)
		}
		if err := dev.SlowStream(s, 0); err == nil {
			t.Error("SlowStream(0) succeeded")
		}
		other := sim.New(sim.Config{})
		defer other.Close()
		if err := other.SlowStream(s, 2); err == nil {
			t.Error("SlowStream of a foreign stream succeeded")
		}
	})
}

// TestLaunchLatencyHidden checks that launch latency applies to an idle
// stream only, in Modeled mode with the host pausing between submissions.
func TestLaunchLatencyHidden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled, Timing: sim.Timing{LaunchLatency: 10 * time.Microsecond}})
		defer dev.Close()
		spin := must(dev.Kernel(sim.BuiltinModule, "spin"))(t)
		s := must(dev.NewStream(0))(t)
		e1, e2, e3 := must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t), must(dev.NewEvent(0))(t)
		ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(100_000)))
		ok(t, s.RecordEvent(e1))
		ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(100_000))) // queued: latency hidden
		ok(t, s.RecordEvent(e2))
		ok(t, s.Synchronize())
		time.Sleep(time.Millisecond) // the stream idles
		ok(t, s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(100_000)))
		ok(t, s.RecordEvent(e3))
		ok(t, s.Synchronize())
		us := time.Microsecond
		for i, c := range []struct {
			e    cuda.Event
			want time.Duration
		}{{e1, 110 * us}, {e2, 210 * us}, {e3, 210*us + 1000*us + 10*us + 100*us}} {
			if got := stamp(t, c.e); got != c.want {
				t.Errorf("event %d at %v, want %v", i+1, got, c.want)
			}
		}
	})
}
