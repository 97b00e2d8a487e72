package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// chromeEvent is one event of the Chrome trace-event format (the "JSON
// object format" that chrome://tracing and Perfetto read).
type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`            // microseconds
	Dur  *float64       `json:"dur,omitempty"` // microseconds, for "X"
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

type chromeFile struct {
	TraceEvents     []chromeEvent `json:"traceEvents"`
	DisplayTimeUnit string        `json:"displayTimeUnit"`
}

// WriteChrome writes spans as Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open: one process per group and
// one thread per lane, named with metadata events and sorted as the
// package doc says, and one complete ("X") event per span with its time
// in microseconds since the earliest span. A span's category is "device"
// or "host"; its error, if any, is in the event's args. Spans that end
// before they start are skipped. No spans give a valid file with no
// events.
func WriteChrome(w io.Writer, spans []Span) error {
	l := arrange(spans)
	f := chromeFile{TraceEvents: []chromeEvent{}, DisplayTimeUnit: "ms"}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for gi, g := range l.groups {
		pid := gi + 1
		f.TraceEvents = append(f.TraceEvents,
			chromeEvent{Name: "process_name", Ph: "M", Pid: pid, Args: map[string]any{"name": g.name}},
			chromeEvent{Name: "process_sort_index", Ph: "M", Pid: pid, Args: map[string]any{"sort_index": gi}})
		for li, ln := range g.lanes {
			tid := li + 1
			f.TraceEvents = append(f.TraceEvents,
				chromeEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": ln.name}},
				chromeEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"sort_index": li}})
			for _, s := range ln.spans {
				dur := us(s.Duration())
				ev := chromeEvent{Name: s.Name, Cat: "host", Ph: "X", Ts: us(s.Start.Sub(l.origin)), Dur: &dur, Pid: pid, Tid: tid}
				if s.Device {
					ev.Cat = "device"
				}
				if s.Err != nil {
					ev.Args = map[string]any{"error": s.Err.Error()}
				}
				f.TraceEvents = append(f.TraceEvents, ev)
			}
		}
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("trace: WriteChrome: %w", err)
	}
	return nil
}
