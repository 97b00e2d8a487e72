package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite output.txt with the program's output")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The simulated runs agree with the arithmetic of the model: step by step
// costs steps × (upload + compute); overlapped, the slower of the two sets
// the pace and the faster shows once. The only slack is rounding: the
// simulator rounds each copy (inputs, labels) and kernel up to a whole
// nanosecond, the prediction the sums.
func TestSimulationMatchesTheModel(t *testing.T) {
	var m mlp
	ls, err := m.stepLaunches(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		upload, compute := predictStep(withDefaults(c.timing), ls)
		synctest.Test(t, func(t *testing.T) {
			slack := time.Duration(steps * (len(ls) + 2))
			check := func(overlap bool, want time.Duration) {
				got, err := simulate(t.Context(), c, overlap)
				if err != nil {
					t.Fatal(err)
				}
				if d := got - want; d < -slack || d > slack {
					t.Errorf("%s, overlap %v: simulated %v, the model's arithmetic says %v", c.name, overlap, got, want)
				}
			}
			check(false, steps*(upload+compute))
			check(true, steps*max(upload, compute)+min(upload, compute))
		})
	}
}

// TestRun runs the program and compares its output with output.txt, which
// the page shows. In a synctest bubble the host's submissions take no
// time on the fake clock, so the figures are exactly the model's.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		if err := run(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
	})
	if *update {
		if err := os.WriteFile("output.txt", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("output.txt")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("output differs from output.txt (go test -update rewrites it):\n%s", out.String())
	}
}
