package trace_test

import (
	"errors"
	"os"
	"time"

	"github.com/coawait/coawait/trace"
)

// Spans of a loader worker and of the device's compute stream become a
// Chrome trace: a process per group, a named thread per lane, and one
// complete event per span with its time in microseconds.
func ExampleWriteChrome() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	spans := []trace.Span{
		{Group: "train", Lane: "loader worker 0", Name: "decode 0", Start: ms(0), End: ms(3)},
		{Group: "train", Lane: "stream 1 (compute)", Name: "forward 0", Start: ms(3), End: ms(5), Device: true},
		{Group: "train", Lane: "loader worker 0", Name: "decode 1", Start: ms(3), End: ms(4), Err: errors.New("sample 7: truncated")},
	}
	if err := trace.WriteChrome(os.Stdout, spans); err != nil {
		panic(err)
	}
	// Output:
	// {"traceEvents":[{"name":"process_name","ph":"M","ts":0,"pid":1,"tid":0,"args":{"name":"train"}},{"name":"process_sort_index","ph":"M","ts":0,"pid":1,"tid":0,"args":{"sort_index":0}},{"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"loader worker 0"}},{"name":"thread_sort_index","ph":"M","ts":0,"pid":1,"tid":1,"args":{"sort_index":0}},{"name":"decode 0","cat":"host","ph":"X","ts":0,"dur":3000,"pid":1,"tid":1},{"name":"decode 1","cat":"host","ph":"X","ts":3000,"dur":1000,"pid":1,"tid":1,"args":{"error":"sample 7: truncated"}},{"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":2,"args":{"name":"stream 1 (compute)"}},{"name":"thread_sort_index","ph":"M","ts":0,"pid":1,"tid":2,"args":{"sort_index":1}},{"name":"forward 0","cat":"device","ph":"X","ts":3000,"dur":2000,"pid":1,"tid":2}],"displayTimeUnit":"ms"}
}
