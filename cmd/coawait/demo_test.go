package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
)

// figures are the numbers a demo run prints.
type figures struct {
	seq, ovl, seqIdeal, ovlIdeal time.Duration
	speedup, efficiency, sum     float64
}

var (
	runLine = regexp.MustCompile(`(?m)^(step by step|overlapped \(depth \d+\)):\s+(\S+) \((\d+) steps; Σ load\+compute (\S+), Σ max\(load, compute\) (\S+)\)$`)
	numLine = regexp.MustCompile(`(?m)^(speed-up|overlap efficiency|checksum):\s+([0-9.e+]+)`)
)

func parseFigures(t *testing.T, out string, steps int) figures {
	t.Helper()
	var f figures
	runs := runLine.FindAllStringSubmatch(out, -1)
	nums := numLine.FindAllStringSubmatch(out, -1)
	if len(runs) != 2 || len(nums) != 3 {
		t.Fatalf("output has %d run lines and %d figures:\n%s", len(runs), len(nums), out)
	}
	dur := func(s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return d
	}
	for i, r := range runs {
		if n, _ := strconv.Atoi(r[3]); n != steps {
			t.Fatalf("%s ran %d steps, want %d", r[1], n, steps)
		}
		if i == 0 {
			f.seq, f.seqIdeal = dur(r[2]), dur(r[5])
		} else {
			f.ovl, f.ovlIdeal = dur(r[2]), dur(r[5])
		}
	}
	vals := make([]float64, 3)
	for i, n := range nums {
		v, err := strconv.ParseFloat(n[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		vals[i] = v
	}
	f.speedup, f.efficiency, f.sum = vals[0], vals[1], vals[2]
	return f
}

// wantChecksum is what the device's accumulator sums to: each value of
// each batch, added in float32 in step order, as the saxpy kernels do.
func wantChecksum(steps, n int) float64 {
	acc := make([]float32, n)
	for i := range steps {
		for j := range acc {
			acc[j] += 1 * sample(i, j)
		}
	}
	var s float64
	for _, x := range acc {
		s += float64(x)
	}
	return s
}

// Under synctest the simulator's modeled time is exact and instant: the
// demo's figures have their shape, overlapping is faster, and both runs
// computed the right sum on the device.
func TestDemoShort(t *testing.T) {
	for _, tt := range []struct{ load, compute string }{{"2ms", "2ms"}, {"500us", "2ms"}, {"8ms", "2ms"}} {
		t.Run(tt.load+"/"+tt.compute, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const steps = 8
				code, out, errOut := runArgs(context.Background(), "demo", "-steps", "8", "-batch", "4", "-width", "16",
					"-load", tt.load, "-compute", tt.compute, "-policy", "blocking")
				if code != exitOK {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
				}
				f := parseFigures(t, out, steps)
				if f.ovl >= f.seq || f.speedup <= 1 {
					t.Errorf("overlapped %v, step by step %v, speed-up %v", f.ovl, f.seq, f.speedup)
				}
				if f.efficiency < 1 || f.efficiency > 1.5 {
					t.Errorf("overlap efficiency %v: outside [1, 1.5]", f.efficiency)
				}
				load, _ := time.ParseDuration(tt.load)
				comp, _ := time.ParseDuration(tt.compute)
				if lo := steps * max(load, comp); f.ovlIdeal < lo || f.ovlIdeal > lo+steps*100*time.Microsecond {
					t.Errorf("Σ max(load, compute) %v, want about %v", f.ovlIdeal, lo)
				}
				if f.seq < steps*(load+comp) {
					t.Errorf("step by step took %v, less than Σ load+compute %v", f.seq, steps*(load+comp))
				}
				if want := wantChecksum(steps, 4*16); f.sum != want {
					t.Errorf("checksum %v, want %v", f.sum, want)
				}
				if !strings.Contains(errOut, "step by step: 8 steps...") || !strings.Contains(errOut, "overlapped (depth 2): 8 steps...") {
					t.Errorf("progress on stderr: %q", errOut)
				}
			})
		})
	}
}

// Cancelling the context (what Ctrl-C does) stops the demo in either
// run: exit code 130, a summary of what ran, and the trace of what ran.
func TestDemoInterrupt(t *testing.T) {
	for _, tt := range []struct {
		after time.Duration
		want  []string
	}{
		{50 * time.Millisecond, []string{"step by step:", "(interrupted after "}},
		{450 * time.Millisecond, []string{"step by step:", "(100 steps;", "overlapped (depth 2):", "(interrupted after "}},
	} {
		t.Run(tt.after.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				ctx, cancel := context.WithTimeout(context.Background(), tt.after)
				defer cancel()
				tr := filepath.Join(dir, "t.json")
				code, out, errOut := runArgs(ctx, "demo", "-steps", "100", "-batch", "2", "-width", "8",
					"-load", "2ms", "-compute", "2ms", "-trace", tr, "-policy", "blocking")
				if code != exitInterrupted {
					t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInterrupted, out, errOut)
				}
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("summary lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(out, "speed-up") || !strings.Contains(errOut, "coawait demo: interrupted") {
					t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
				}
				if _, err := os.Stat(tr); err != nil {
					t.Errorf("no trace of what ran: %v", err)
				}
			})
		})
	}
}

// -trace writes Chrome trace JSON with both runs' lanes; -timeline draws
// them as SVG or PNG.
func TestDemoTraceAndTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, svg, png := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.svg"), filepath.Join(dir, "t.png")
		for _, pic := range []string{svg, png} {
			code, out, errOut := runArgs(context.Background(), "demo", "-steps", "4", "-batch", "2", "-width", "8",
				"-load", "1ms", "-compute", "1ms", "-trace", tr, "-timeline", pic, "-policy", "blocking")
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if st, err := os.Stat(pic); err != nil || st.Size() < 1000 {
				t.Fatalf("timeline %s: %v", pic, err)
			}
		}
		data, err := os.ReadFile(tr)
		if err != nil {
			t.Fatal(err)
		}
		lanes, count := traceContents(t, data)
		for _, g := range []string{"step by step", "overlapped (depth 2)"} {
			for _, l := range []string{"loader", "host loop", trace.StreamLane(0), trace.StreamLane(1)} {
				if !lanes[g][l] {
					t.Errorf("group %q has no lane %q: %v", g, l, lanes)
				}
			}
			for _, k := range []string{"/loader/load", "/" + trace.StreamLane(0) + "/copy", "/" + trace.StreamLane(1) + "/compute", "/" + trace.StreamLane(1) + "/accumulate"} {
				if n := count[g+k]; n != 4 {
					t.Errorf("%s%s: %d spans, want 4 (%v)", g, k, n, count)
				}
			}
		}
	})
}

// traceContents returns the lanes of each group (Chrome: threads of each
// process) of a Chrome trace, and the number of complete events per
// "group/lane/first word of the name".
func traceContents(t *testing.T, data []byte) (lanes map[string]map[string]bool, count map[string]int) {
	t.Helper()
	var f struct {
		TraceEvents []struct {
			Name, Ph, Cat string
			Pid, Tid      int
			Args          map[string]any
		}
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	procs := map[int]string{}
	lanes = map[string]map[string]bool{}
	tids := map[[2]int]string{}
	count = map[string]int{}
	for _, e := range f.TraceEvents {
		switch {
		case e.Name == "process_name":
			procs[e.Pid] = e.Args["name"].(string)
			lanes[procs[e.Pid]] = map[string]bool{}
		case e.Name == "thread_name":
			lanes[procs[e.Pid]][e.Args["name"].(string)] = true
			tids[[2]int{e.Pid, e.Tid}] = e.Args["name"].(string)
		case e.Ph == "X":
			count[procs[e.Pid]+"/"+tids[[2]int{e.Pid, e.Tid}]+"/"+strings.Fields(e.Name)[0]]++
		}
	}
	return lanes, count
}

// -gotrace adds the regions of Go's execution tracer to the Chrome trace.
// (Outside synctest: Go's tracer cannot start inside a bubble.)
func TestDemoGoTrace(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "t.json")
	code, out, errOut := runArgs(context.Background(), "demo", "-steps", "3", "-batch", "2", "-width", "8",
		"-load", "1ms", "-compute", "1ms", "-trace", tr, "-gotrace")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "going on without it") {
		t.Skip(errOut) // the test binary runs under -trace
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	_, count := traceContents(t, data)
	loads := 0
	for k, n := range count {
		if strings.HasPrefix(k, "Go execution trace/goroutine ") && strings.HasSuffix(k, "/load") {
			loads += n
		}
	}
	if loads != 6 || count["step by step/loader/load"] != 3 {
		t.Errorf("%d load regions from Go's tracer, want 6 (%v)", loads, count)
	}
}

// A device that fails mid-run gives a clear error, and everything the
// demo started has ended (goleak checks at exit).
func TestDemoDeviceFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		boom := errors.New("ECC error")
		if err := dev.InjectFault(sim.Fault{Op: sim.OpLaunch, N: 5, Err: boom, Sticky: true}); err != nil {
			t.Fatal(err)
		}
		cfg := demoConfig{steps: 6, batch: 2, width: 8, depth: 2, load: time.Millisecond, compute: time.Millisecond, policy: scheduler.Blocking}
		var out strings.Builder
		err := demo(context.Background(), dev, cfg, nil, &out, &out)
		if !errors.Is(err, boom) || !errors.Is(err, cuda.ErrDeviceLost) || !strings.HasPrefix(err.Error(), "step by step: ") {
			t.Fatalf("error %v", err)
		}
	})
}

// The targets, checked on the timing model itself: under synctest
// the simulator's times are exact and the host costs nothing, so this
// shows that the pipeline has no bubbles of its own making. (On a real
// clock, BenchmarkDemo measures the same figures with the host's costs.)
func TestDemoTargetsOnModel(t *testing.T) {
	for _, ratio := range []float64{0.25, 1, 4} {
		t.Run(fmt.Sprint(ratio), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const compute = 12 * time.Millisecond
				cfg := demoConfig{steps: 32, batch: 256, width: 784, depth: 2, policy: scheduler.Blocking,
					load: time.Duration(ratio * float64(compute)), compute: compute}
				dev := sim.New(sim.Config{Mode: sim.Modeled})
				defer dev.Close()
				var out strings.Builder
				if err := demo(context.Background(), dev, cfg, nil, &out, io.Discard); err != nil {
					t.Fatal(err)
				}
				f := parseFigures(t, out.String(), cfg.steps)
				if f.efficiency > 1.05 {
					t.Errorf("overlap efficiency %v > 1.05\n%s", f.efficiency, out.String())
				}
				if ratio == 1 && f.speedup < 1.9 {
					t.Errorf("speed-up %v < 1.9\n%s", f.speedup, out.String())
				}
				t.Logf("speed-up %.3f, efficiency %.3f", f.speedup, f.efficiency)
			})
		})
	}
}
