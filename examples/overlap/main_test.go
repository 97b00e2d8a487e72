package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Under synctest's fake clock the modeled times are exact: sequential
// takes steps×(load+compute); overlapped takes the first load, then
// max(load, compute) for every step but the last, which only computes.
func TestOverlapTiming(t *testing.T) {
	tests := []struct {
		load, compute time.Duration
	}{
		{30 * time.Millisecond, 40 * time.Millisecond},
		{50 * time.Millisecond, 10 * time.Millisecond},
		{0, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.load.String()+"/"+tt.compute.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := config{steps: 5, batch: 4, width: 8, load: tt.load, compute: tt.compute}
				seq, ovl, err := run(context.Background(), cfg, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				if want := 5 * (tt.load + tt.compute); seq != want {
					t.Errorf("sequential took %v, want %v", seq, want)
				}
				if want := tt.load + 4*max(tt.load, tt.compute) + tt.compute; ovl != want {
					t.Errorf("overlapped took %v, want %v", ovl, want)
				}
			})
		})
	}
}

// Both loops compute the same activations.
func TestOverlapSameResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		cfg := config{steps: 3, batch: 4, width: 8, load: time.Millisecond, compute: time.Millisecond}
		if _, _, err := run(context.Background(), cfg, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out.String(), "\n")
		var seq, ovl []string
		cur := &seq
		for _, l := range lines {
			if strings.HasPrefix(l, "overlapped") {
				cur = &ovl
			}
			if i := strings.Index(l, "mean activation"); i >= 0 {
				*cur = append(*cur, strings.Fields(l[i:])[2])
			}
		}
		if len(seq) != 3 || strings.Join(seq, ",") != strings.Join(ovl, ",") {
			t.Fatalf("sequential %v, overlapped %v", seq, ovl)
		}
	})
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		cfg := config{steps: 100, batch: 1, width: 1, load: 10 * time.Millisecond, compute: 10 * time.Millisecond}
		if _, _, err := run(ctx, cfg, io.Discard); err == nil {
			t.Fatal("run ignored cancellation")
		}
	})
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []config{
		{steps: 0, batch: 1, width: 1},
		{steps: 1, batch: 0, width: 1},
		{steps: 1, batch: 1, width: 0},
		{steps: 1, batch: 1, width: 1, load: -time.Second},
	} {
		if _, _, err := run(context.Background(), cfg, io.Discard); err == nil {
			t.Errorf("run(%+v) accepted a bad config", cfg)
		}
	}
}
