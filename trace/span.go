package trace

import (
	"context"
	rtrace "runtime/trace"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coawait/coawait/scheduler"
)

// A Span is one interval of work on a lane. The zero Span is a valid,
// empty span at the zero time; exporters skip spans whose End is before
// their Start.
type Span struct {
	// Group is the panel (Chrome: process) the lane belongs to, such as
	// "overlapped"; empty means "host".
	Group string
	// Lane is the row (Chrome: thread), such as "loader worker 2",
	// "host loop" or "stream 1 (compute)"; empty means "host".
	Lane string
	// Name says what ran, such as "decode 7" or "Launch spin".
	Name string
	// Start and End are host wall-clock times.
	Start, End time.Time
	// Device reports that the times come from device events rather than
	// from the host's clock.
	Device bool
	// Err is the error the work ended with, if any.
	Err error
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

func (s Span) group() string { return orDefault(s.Group) }
func (s Span) lane() string  { return orDefault(s.Lane) }

func orDefault(s string) string {
	if s == "" {
		return "host"
	}
	return s
}

// Recorder collects spans. It is safe for concurrent use. The zero value
// is an empty recorder ready to use; NewRecorder returns one too. A nil
// *Recorder records nothing, so code can trace optionally without checks.
type Recorder struct {
	mu    sync.Mutex // guards spans
	spans []Span
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Add records spans.
func (r *Recorder) Add(spans ...Span) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.mu.Unlock()
}

// Start records the beginning of host work named name on lane of group
// and returns the function that ends it; call that function exactly once,
// with the work's error or nil. It also opens a runtime/trace region of the
// same name (on the calling goroutine: end it on the goroutine that started
// it for the region to be well formed), which costs next to nothing while
// no Go trace is being captured. On a nil Recorder, Start only opens the
// region.
func (r *Recorder) Start(ctx context.Context, group, lane, name string) (end func(err error)) {
	reg := rtrace.StartRegion(ctx, name)
	start := time.Now()
	return func(err error) {
		reg.End()
		r.Add(Span{Group: group, Lane: lane, Name: name, Start: start, End: time.Now(), Err: err})
	}
}

// Spans returns a copy of the recorded spans, ordered by start time (spans
// that start together keep the order they were added in).
func (r *Recorder) Spans() []Span {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	out := slices.Clone(r.spans)
	r.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// Len returns the number of recorded spans.
func (r *Recorder) Len() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spans)
}

// StreamLane names the lane of a scheduler stream by its index (see
// scheduler.Span.Stream): "stream 0 (copy-in)", "stream 1 (compute)",
// "stream 2 (copy-out)", and "stream N" for streams given with
// scheduler.OnStream.
func StreamLane(stream int) string {
	switch stream {
	case 0:
		return "stream 0 (copy-in)"
	case 1:
		return "stream 1 (compute)"
	case 2:
		return "stream 2 (copy-out)"
	}
	return "stream " + strconv.Itoa(stream)
}

// FromScheduler converts a scheduler's spans into spans of group, one lane
// per stream named by lane (StreamLane if nil). origin is the host time of
// the scheduler's device time zero (its reference event): take time.Now()
// right after scheduler.New returns. Spans the device timed get their
// device start and end placed on the host clock and Device set; spans it
// could not time (a failed operation) keep the host's submit and settle
// times.
func FromScheduler(spans []scheduler.Span, origin time.Time, group string, lane func(stream int) string) []Span {
	if lane == nil {
		lane = StreamLane
	}
	out := make([]Span, 0, len(spans))
	for _, s := range spans {
		sp := Span{Group: group, Lane: lane(s.Stream), Name: s.Name, Start: s.Submitted, End: s.Settled, Err: s.Err}
		if s.Timed {
			sp.Start, sp.End, sp.Device = origin.Add(s.DeviceStart), origin.Add(s.DeviceEnd), true
		}
		out = append(out, sp)
	}
	return out
}
