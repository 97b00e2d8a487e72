package trace

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// FromGoTrace reads a capture of Go's execution tracer (made with
// runtime/trace.Start, `go test -trace` or net/http/pprof) through
// golang.org/x/exp/trace, and returns one span per user region
// (runtime/trace.StartRegion or WithRegion; Recorder.Start opens one) in
// group, on a lane per goroutine ("goroutine 17"), named by the region's
// type, with wall-clock times from the capture's clock snapshots. A region
// that was still open when the capture stopped ends at the capture's last
// event. A capture made before Go 1.25 has no clock snapshots: that is an
// error, as is a malformed capture.
func FromGoTrace(r io.Reader, group string) ([]Span, error) {
	rd, err := xtrace.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("trace: FromGoTrace: %w", err)
	}
	type open struct {
		name  string
		start xtrace.Time
	}
	var (
		stacks = map[xtrace.GoID][]open{} // open regions per goroutine, innermost last
		snap   *xtrace.ClockSnapshot      // the latest clock snapshot
		last   xtrace.Time
		out    []Span
		pend   []int // indexes in out of spans whose times wait for a snapshot
		raw    [][2]xtrace.Time
	)
	wall := func(t xtrace.Time) time.Time { return snap.Wall.Add(t.Sub(snap.Trace)) }
	add := func(g xtrace.GoID, o open, end xtrace.Time) {
		sp := Span{Group: group, Lane: "goroutine " + strconv.FormatInt(int64(g), 10), Name: o.name}
		if snap != nil {
			sp.Start, sp.End = wall(o.start), wall(end)
		} else {
			pend = append(pend, len(out))
		}
		out = append(out, sp)
		raw = append(raw, [2]xtrace.Time{o.start, end})
	}
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("trace: FromGoTrace: %w", err)
		}
		last = ev.Time()
		switch ev.Kind() {
		case xtrace.EventSync:
			if s := ev.Sync().ClockSnapshot; s != nil {
				snap = s
				for _, i := range pend {
					out[i].Start, out[i].End = wall(raw[i][0]), wall(raw[i][1])
				}
				pend = pend[:0]
			}
		case xtrace.EventRegionBegin:
			g := ev.Goroutine()
			stacks[g] = append(stacks[g], open{ev.Region().Type, ev.Time()})
		case xtrace.EventRegionEnd:
			g := ev.Goroutine()
			st := stacks[g]
			if len(st) == 0 {
				continue // began before the capture started
			}
			add(g, st[len(st)-1], ev.Time())
			stacks[g] = st[:len(st)-1]
		}
	}
	for g, st := range stacks {
		for _, o := range st {
			add(g, o, last)
		}
	}
	if snap == nil && len(out) > 0 {
		return nil, errors.New("trace: FromGoTrace: the capture has no clock snapshot (it was made before Go 1.25)")
	}
	return out, nil
}
