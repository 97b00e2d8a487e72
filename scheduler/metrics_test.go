package scheduler

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Property: every duration falls in a bucket whose upper edge is above it
// and at most 25% (or 1ns) above it, and buckets are ordered.
func TestHistogramBuckets(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := time.Duration(rapid.Int64Range(0, 1<<62).Draw(rt, "d"))
		i := bucketOf(d)
		hi := upperEdge(i)
		if d >= hi {
			rt.Fatalf("d=%v in bucket %d with upper edge %v", d, i, hi)
		}
		if i > 0 && d < upperEdge(i-1) {
			rt.Fatalf("d=%v in bucket %d but below the previous edge %v", d, i, upperEdge(i-1))
		}
		if float64(hi) > 1.25*float64(d)+1 {
			rt.Fatalf("edge %v more than 25%% above %v", hi, d)
		}
	})
}

func TestQuantile(t *testing.T) {
	var h histogram
	if (h.snapshot()).Quantile(0.5) != 0 {
		t.Fatal("empty quantile not 0")
	}
	for i := 1; i <= 100; i++ {
		h.observe(time.Duration(i) * time.Microsecond)
	}
	s := h.snapshot()
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Microsecond}, {0.99, 99 * time.Microsecond}, {1, 100 * time.Microsecond}} {
		got := s.Quantile(tt.q)
		if got <= tt.want || float64(got) > 1.25*float64(tt.want)+1 {
			t.Errorf("Quantile(%v) = %v, want an upper bound within 25%% of %v", tt.q, got, tt.want)
		}
	}
	if s.Total() != 100 {
		t.Fatalf("total %d", s.Total())
	}
}
