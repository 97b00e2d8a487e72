package trace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
	"github.com/coawait/coawait/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// sample is two groups with host lanes and device lanes, added out of
// order, with one failed span and one span that ends before it starts.
func sample() []trace.Span {
	return []trace.Span{
		{Group: "overlapped", Lane: "stream 1 (compute)", Name: "Launch spin", Start: at(12), End: at(22), Device: true},
		{Group: "step by step", Lane: "loader", Name: "decode 0", Start: at(0), End: at(10)},
		{Group: "step by step", Lane: "stream 0 (copy-in)", Name: "CopyHtoD", Start: at(10), End: at(11), Device: true},
		{Group: "step by step", Lane: "stream 1 (compute)", Name: "Launch spin", Start: at(11), End: at(21), Device: true},
		{Group: "step by step", Lane: "host loop", Name: "step 0", Start: at(0), End: at(21.5)},
		{Group: "overlapped", Lane: "loader", Name: "decode 0", Start: at(1), End: at(11), Err: errors.New("bad sample 3")},
		{Group: "overlapped", Lane: "stream 10", Name: "x", Start: at(1), End: at(2), Device: true},
		{Group: "overlapped", Lane: "stream 0 (copy-in)", Name: "CopyHtoD", Start: at(11), End: at(12), Device: true},
		{Group: "overlapped", Lane: "loader", Name: "backwards", Start: at(5), End: at(4)},
	}
}

type event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args"`
}

func parseChrome(t *testing.T, data []byte) []event {
	t.Helper()
	var f struct {
		TraceEvents     []event `json:"traceEvents"`
		DisplayTimeUnit string  `json:"displayTimeUnit"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("not valid trace JSON: %v\n%s", err, data)
	}
	if f.DisplayTimeUnit != "ms" || f.TraceEvents == nil {
		t.Fatalf("file header: %+v", f)
	}
	return f.TraceEvents
}

func TestWriteChrome(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.WriteChrome(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	evs := parseChrome(t, buf.Bytes())
	procs := map[int]string{}
	threads := map[[2]int]string{}
	threadOrder := map[string][]string{}
	var complete []event
	for _, e := range evs {
		switch {
		case e.Ph == "M" && e.Name == "process_name":
			procs[e.Pid] = e.Args["name"].(string)
		case e.Ph == "M" && e.Name == "thread_name":
			threads[[2]int{e.Pid, e.Tid}] = e.Args["name"].(string)
			threadOrder[procs[e.Pid]] = append(threadOrder[procs[e.Pid]], e.Args["name"].(string))
		case e.Ph == "X":
			complete = append(complete, e)
		}
	}
	// Groups in order of first appearance; host lanes first, then streams
	// in natural order.
	if procs[1] != "overlapped" || procs[2] != "step by step" || len(procs) != 2 {
		t.Fatalf("processes %v", procs)
	}
	want := map[string]string{
		"overlapped":   "loader|stream 0 (copy-in)|stream 1 (compute)|stream 10",
		"step by step": "loader|host loop|stream 0 (copy-in)|stream 1 (compute)",
	}
	for g, w := range want {
		if got := strings.Join(threadOrder[g], "|"); got != w {
			t.Errorf("%s lanes %s, want %s", g, got, w)
		}
	}
	if len(complete) != len(sample())-1 {
		t.Fatalf("%d complete events, want %d (the backwards span skipped)", len(complete), len(sample())-1)
	}
	for _, e := range complete {
		lane := threads[[2]int{e.Pid, e.Tid}]
		if lane == "" {
			t.Errorf("event %+v on an unnamed thread", e)
		}
		if dev := strings.HasPrefix(lane, "stream"); (e.Cat == "device") != dev {
			t.Errorf("event %q on %q has category %q", e.Name, lane, e.Cat)
		}
		if e.Name == "decode 0" && procs[e.Pid] == "overlapped" {
			if e.Ts != 1000 || e.Dur != 10000 || e.Args["error"] != "bad sample 3" {
				t.Errorf("failed decode event %+v", e)
			}
		}
		if e.Name == "step 0" && (e.Ts != 0 || e.Dur != 21500) {
			t.Errorf("step event %+v: want ts 0, dur 21500µs", e)
		}
	}
}

func TestWriteChromeEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.WriteChrome(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if evs := parseChrome(t, buf.Bytes()); len(evs) != 0 {
		t.Fatalf("events %v", evs)
	}
}

func TestSaveTimeline(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"t.svg", "t.PNG"} {
		path := filepath.Join(dir, name)
		if err := trace.SaveTimeline(path, "sample", sample()); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path); st.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s has mode %v: others cannot read it", name, st.Mode())
		}
		if strings.HasSuffix(name, "svg") {
			if !bytes.Contains(data, []byte("<svg")) || !bytes.Contains(data, []byte("stream 0 (copy-in)")) {
				t.Fatalf("%s is not an SVG with the lane names (%d bytes)", name, len(data))
			}
			continue
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
			t.Fatalf("PNG is %v", b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("files left behind: %v", entries)
	}
}

func TestSaveTimelineErrors(t *testing.T) {
	dir := t.TempDir()
	if err := trace.SaveTimeline(filepath.Join(dir, "t.gif"), "", sample()); !errors.Is(err, trace.ErrFormat) {
		t.Fatalf("gif: %v", err)
	}
	if err := trace.SaveTimeline(filepath.Join(dir, "t.svg"), "", nil); err == nil {
		t.Fatal("no spans: no error")
	}
	if err := trace.SaveTimeline(filepath.Join(dir, "missing", "t.svg"), "", sample()); err == nil {
		t.Fatal("missing directory: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files left behind: %v", entries)
	}
}

func TestRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := trace.NewRecorder()
		start := time.Now()
		end := rec.Start(context.Background(), "g", "loader", "decode")
		time.Sleep(3 * time.Millisecond)
		end(errors.New("boom"))
		rec.Add(trace.Span{Name: "early", Start: start.Add(-time.Second), End: start})
		spans := rec.Spans()
		if len(spans) != 2 || rec.Len() != 2 {
			t.Fatalf("spans %+v", spans)
		}
		if spans[0].Name != "early" {
			t.Fatalf("not sorted by start: %+v", spans)
		}
		s := spans[1]
		if s.Group != "g" || s.Lane != "loader" || s.Duration() != 3*time.Millisecond || s.Err == nil || s.Device {
			t.Fatalf("span %+v", s)
		}
		var nilRec *trace.Recorder
		nilRec.Start(context.Background(), "g", "l", "n")(nil)
		if nilRec.Spans() != nil || nilRec.Len() != 0 {
			t.Fatal("a nil recorder recorded")
		}
	})
}

// FromScheduler places device spans on the host clock: a copy and a
// kernel after it on the simulated device, under synctest's exact clock.
func TestFromScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{Mode: sim.Modeled})
		defer dev.Close()
		s, err := scheduler.New(dev, scheduler.WithSpans(8), scheduler.WithPolicy(scheduler.HostCallback))
		if err != nil {
			t.Fatal(err)
		}
		origin := time.Now()
		host, _ := dev.AllocHost(1 << 20)
		x, _ := dev.Alloc(1 << 20)
		spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
		up := s.CopyHtoD(x, 0, host, 0, 1<<20)
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		k := s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(5 * time.Millisecond))}, scheduler.After(up))
		if _, err := k.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		spans := trace.FromScheduler(s.Spans(), origin, "run", nil)
		if len(spans) != 2 {
			t.Fatalf("spans %+v", spans)
		}
		cp, kn := spans[0], spans[1]
		if cp.Lane != "stream 0 (copy-in)" || kn.Lane != "stream 1 (compute)" || !cp.Device || !kn.Device || cp.Group != "run" {
			t.Fatalf("spans %+v", spans)
		}
		tm := sim.DefaultTiming()
		if cp.Duration() != tm.CopyHtoD(1<<20) || kn.Duration() != 5*time.Millisecond {
			t.Fatalf("durations %v %v", cp.Duration(), kn.Duration())
		}
		if !kn.Start.Equal(cp.End) || cp.Start.Before(origin) {
			t.Fatalf("kernel starts at %v, copy %v..%v, origin %v", kn.Start, cp.Start, cp.End, origin)
		}
	})
}
