package main

import (
	"bytes"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/coawait/coawait/async"
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

// Backpressure: however deep the prefetch, a producer faster than its
// consumer runs ahead by exactly depth records, never more.
func TestPrefetchLead(t *testing.T) {
	for depth := 1; depth <= 6; depth++ {
		synctest.Test(t, func(t *testing.T) {
			var produced atomic.Int32
			lead, err := consume(t.Context(), async.Prefetch(t.Context(), records(t.Context(), 12, &produced), depth), &produced)
			if err != nil || lead != int32(depth) {
				t.Errorf("depth %d: lead %d, %v; want %d, nil", depth, lead, err, depth)
			}
		})
	}
}
