// Package trace collects spans — named intervals of time on named lanes —
// from the scheduler (device work, timed by events), from data loaders and
// from user tasks, and exports them as Chrome trace-event JSON (which
// Perfetto and chrome://tracing open) and as a timeline picture (SVG or PNG,
// drawn with gonum.org/v1/plot) where the overlap of loading and compute
// shows at a glance.
//
//	rec := trace.NewRecorder()
//	done := rec.Start(ctx, "overlapped", "loader", "decode 3") // also a runtime/trace region
//	decode(batch)
//	done(nil)
//	rec.Add(trace.FromScheduler(s.Spans(), origin, "overlapped", trace.StreamLane)...)
//	err := trace.WriteChrome(f, rec.Spans())
//	err = trace.SaveTimeline("demo.svg", "load and compute", rec.Spans())
//
// # Lanes and groups
//
// A Span belongs to a lane (a row of the timeline; a thread, "tid", in the
// Chrome format) inside a group (a panel of the timeline; a process, "pid",
// in the Chrome format). Lanes and groups are shown in the order they first
// appear among the spans passed to an exporter. Other packages make spans of
// their own (a loader's workers, for example) by filling in Span directly.
//
// # Clocks
//
// All spans carry host wall-clock times. Device spans from the scheduler
// carry device times relative to the scheduler's reference event;
// FromScheduler places them on the host clock given the host time of that
// reference (taken right after scheduler.New returns, it is exact to within
// the device's launch latency).
//
// # Go's own tracer
//
// Recorder.Start also opens a runtime/trace region, so a capture made with
// runtime/trace.Start or `go test -trace` shows the same names (group them
// with runtime/trace.NewTask); FromGoTrace reads such a capture
// with golang.org/x/exp/trace and turns its regions into spans.
//
// # Goroutines
//
// Nothing in this package starts a goroutine. A Recorder is safe for
// concurrent use; the exporters read the spans they are given and nothing
// else.
package trace
