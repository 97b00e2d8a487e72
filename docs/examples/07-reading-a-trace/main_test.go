package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program in a synctest bubble, where the simulator's
// modeled times and the loader's sleeps pass exactly, so its output is
// exact; it compares the output with output.txt, which the page shows, and
// checks the files it writes.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		if err := run(context.Background(), &out, dir); err != nil {
			t.Fatal(err)
		}
	})
	golden.Check(t, out.Bytes())
	if golden.Updating() { // the page shows the picture too
		svg, err := os.ReadFile(filepath.Join(dir, "timeline.svg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("timeline.svg", svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The trace: one process per run, with the lanes the page names.
	data, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Ph   string         `json:"ph"`
			Name string         `json:"name"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("trace.json: %v", err)
	}
	names := map[string]bool{}
	complete := 0
	for _, e := range tr.TraceEvents {
		if e.Ph == "M" {
			if n, ok := e.Args["name"].(string); ok {
				names[n] = true
			}
		}
		if e.Ph == "X" {
			complete++
		}
	}
	for _, n := range []string{"step by step", "overlapped", "loader", "host loop",
		"stream 0 (copy-in)", "stream 1 (compute)"} {
		if !names[n] {
			t.Errorf("trace.json names no process or thread %q; it names %v", n, names)
		}
	}
	// Per run: a load, a copy and a kernel per step; waits for each step,
	// and overlapped also for each batch and each of the first three
	// uploads.
	if want := 2*3*steps + steps + 2*steps + steps - 2; complete != want {
		t.Errorf("trace.json has %d spans, want %d", complete, want)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "timeline.svg")); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("timeline.svg: %v, %.40q", err, svg)
	}
}
