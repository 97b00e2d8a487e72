package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPredict simulates the steps (Instant mode: the figures are the
// model's, whatever the host's speed), checks them against the model's
// arithmetic, and the printed table against output.txt, which the page
// shows.
func TestPredict(t *testing.T) {
	ps, err := predict()
	if err != nil {
		t.Fatal(err)
	}

	// Step by step costs steps × (upload + compute); overlapped, the slower
	// of the two sets the pace and the faster shows once. The only slack is
	// rounding: the simulator rounds each copy (inputs, labels) and kernel
	// up to a whole nanosecond, the prediction only the sums.
	var m mlp
	ls, err := m.stepLaunches(0)
	if err != nil {
		t.Fatal(err)
	}
	slack := time.Duration(steps * (len(ls) + 2))
	for _, p := range ps {
		for _, c := range []struct {
			name      string
			got, want time.Duration
		}{
			{"step by step", p.serial, steps * (p.upload + p.compute)},
			{"overlapped", p.overlapped, steps*max(p.upload, p.compute) + min(p.upload, p.compute)},
		} {
			if d := c.got - c.want; d < -slack || d > slack {
				t.Errorf("%s, %s: simulated %v, the model's arithmetic says %v", p.card.name, c.name, c.got, c.want)
			}
		}
	}
	if len(ps) != len(cards) {
		t.Fatalf("%d predictions for %d cards", len(ps), len(cards))
	}

	var out bytes.Buffer
	if err := report(&out, ps); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, out.Bytes())
}
