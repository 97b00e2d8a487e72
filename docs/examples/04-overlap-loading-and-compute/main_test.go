package main

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// On synctest's fake clock the program prints exactly what output.txt
// (quoted by the page) says: the times are the model's, not the machine's.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), &out); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, out.Bytes())
	})
}

// Whatever the setup, the device cannot beat its own work, and the loader
// never does worse than loading and computing in turn.
func TestBounds(t *testing.T) {
	for _, su := range []setup{
		{"steady", steady(500 * time.Microsecond), 1, 1},
		{"slow", steady(5 * time.Millisecond), 3, 3},
		{"bursty", bursty, 2, 2},
	} {
		synctest.Test(t, func(t *testing.T) {
			r, err := train(t.Context(), su)
			if err != nil {
				t.Fatal(err)
			}
			if r.wall < steps*stepTime || r.wall > r.inTurn {
				t.Errorf("%s: wall %v, want between %v and %v", su.name, r.wall, steps*stepTime, r.inTurn)
			}
			if r.stats.Batches != steps || r.slots != su.depth+1 || r.buffers != su.depth+su.workers {
				t.Errorf("%s: %d batches, %d slots, %d buffers; want %d, %d, %d",
					su.name, r.stats.Batches, r.slots, r.buffers, steps, su.depth+1, su.depth+su.workers)
			}
		})
	}
}
