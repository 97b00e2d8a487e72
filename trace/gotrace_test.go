package trace_test

import (
	"bytes"
	"context"
	"fmt"
	rtrace "runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coawait/coawait/trace"
)

// A runtime/trace capture of regions opened by Recorder.Start on two
// goroutines comes back from FromGoTrace as spans on two lanes, with the
// same names and wall-clock times as the recorder's own.
func TestFromGoTrace(t *testing.T) {
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		t.Skipf("cannot start the tracer (is -trace set?): %v", err)
	}
	before := time.Now()
	rec := trace.NewRecorder()
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 3 {
				end := rec.Start(context.Background(), "g", "worker", fmt.Sprintf("load %d.%d", w, i))
				time.Sleep(time.Millisecond)
				end(nil)
			}
		})
	}
	wg.Wait()
	open := rtrace.StartRegion(context.Background(), "still open")
	rtrace.Stop()
	open.End()
	after := time.Now()

	spans, err := trace.FromGoTrace(&buf, "go")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]trace.Span{}
	lanes := map[string]bool{}
	for _, s := range spans {
		byName[s.Name] = s
		if strings.HasPrefix(s.Name, "load ") {
			lanes[s.Lane] = true
		}
	}
	if len(lanes) != 2 {
		t.Errorf("lanes %v, want two goroutines", lanes)
	}
	slack := 2 * time.Millisecond // the clocks are read at slightly different moments
	for _, r := range rec.Spans() {
		s, ok := byName[r.Name]
		if !ok {
			t.Errorf("no span for region %q", r.Name)
			continue
		}
		if s.Group != "go" || !strings.HasPrefix(s.Lane, "goroutine ") || s.Duration() < time.Millisecond {
			t.Errorf("span %+v", s)
		}
		if d := s.Start.Sub(r.Start); d < -slack || d > slack {
			t.Errorf("%s starts %v from the recorder's start", r.Name, d)
		}
		if s.Start.Before(before.Add(-slack)) || s.End.After(after.Add(slack)) {
			t.Errorf("%s outside the capture: %v..%v, capture %v..%v", r.Name, s.Start, s.End, before, after)
		}
	}
	if s, ok := byName["still open"]; !ok || s.End.Before(s.Start) {
		t.Errorf("the open region: %+v, %v", s, ok)
	}
}

func TestFromGoTraceBadInput(t *testing.T) {
	for _, in := range []string{"", "not a trace", "go 1.26 trace\x00\x05"} {
		if _, err := trace.FromGoTrace(strings.NewReader(in), "go"); err == nil || !strings.HasPrefix(err.Error(), "trace: FromGoTrace: ") {
			t.Errorf("%q: error %v", in, err)
		}
	}
}
