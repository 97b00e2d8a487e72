package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/coawait/coawait/benchmarks
BenchmarkSpawnAwait/raw-2         	 2691735	       400.0 ns/op	     152 B/op	       2 allocs/op
BenchmarkSpawnAwait/coawait-2     	 2212299	       440.0 ns/op	     192 B/op	       2 allocs/op
BenchmarkSpawnAwait/raw-2         	 2691735	       500.0 ns/op	     152 B/op	       2 allocs/op
BenchmarkCancel/errgroup-2    	   20682	     64081 ns/op	     200 ns-to-cancel	    6132 B/op	     212 allocs/op
BenchmarkCancel/raw-2         	   22062	     55738 ns/op	     100 ns-to-cancel	    6165 B/op	     215 allocs/op
PASS
ok  	github.com/coawait/coawait/benchmarks	31.824s
`

func TestParseAndRender(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || rs[0].work != "SpawnAwait" || rs[0].impl != "raw" || rs[3].metrics["ns-to-cancel"] != 200 {
		t.Fatalf("parsed %+v", rs)
	}
	var b strings.Builder
	render(&b, rs, "raw")
	out := b.String()
	for _, want := range []string{
		"### SpawnAwait\n\n| impl | ns/op | ×raw | B/op | allocs/op |",
		"| raw | 450 | 1.00 | 152 | 2 |",     // median of the two runs
		"| coawait | 440 | 0.98 | 192 | 2 |", // 440 / 450
		"### Cancel\n\n| impl | ns/op | ×raw | ns-to-cancel | ×raw | B/op | allocs/op |",
		"| raw | 55738 | 1.00 | 100 | 1.00 | 6165 | 215 |",
		"| errgroup | 64081 | 1.15 | 200 | 2.00 | 6132 | 212 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The baseline row comes first within its work.
	if strings.Index(out, "| raw | 55738") > strings.Index(out, "| errgroup | 64081") {
		t.Errorf("baseline not first:\n%s", out)
	}
	// Of three runs, the middle one counts, not an outlier.
	var mb strings.Builder
	rs3, _ := parse(strings.NewReader("BenchmarkW/raw-2 10 100 ns/op\nBenchmarkW/raw-2 10 900 ns/op\nBenchmarkW/raw-2 10 110 ns/op\nBenchmarkW/x-2 10 220 ns/op\n"))
	render(&mb, rs3, "raw")
	if !strings.Contains(mb.String(), "| raw | 110 | 1.00 |") || !strings.Contains(mb.String(), "| x | 220 | 2.00 |") {
		t.Errorf("median table:\n%s", mb.String())
	}
	// A work without the baseline has no ratio columns.
	var nb strings.Builder
	rs2, _ := parse(strings.NewReader("BenchmarkW/spin-2 10 5 ns/op 3 p50-µs\n"))
	render(&nb, rs2, "raw")
	if !strings.Contains(nb.String(), "| impl | ns/op | p50-µs |\n") {
		t.Errorf("no-baseline table:\n%s", nb.String())
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"BenchmarkNoImpl-2 10 5 ns/op",
		"BenchmarkX/raw-2 ten 5 ns/op",
		"BenchmarkX/raw-2 10 five ns/op",
		"BenchmarkX/raw-2 10 5",
		"BenchmarkX/raw-2 10 NaN ns/op",
	} {
		if _, err := parse(strings.NewReader(in)); err == nil {
			t.Errorf("parse(%q) succeeded", in)
		}
	}
}

func TestParseLone(t *testing.T) {
	in := "BenchmarkHeap-2 1 5 ns/op 1.5 heap-ratio\nBenchmarkEpoch/H=100-2 1 7 ns/op\n"
	if _, err := parse(strings.NewReader(in)); err == nil {
		t.Error("parse accepted a benchmark without sub-benchmarks")
	}
	rs, err := parseLone(strings.NewReader(in), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].work != "Heap" || rs[0].impl != "-" || rs[1].work != "Epoch" || rs[1].impl != "H=100" {
		t.Fatalf("parsed %+v", rs)
	}
	var b strings.Builder
	render(&b, rs, "raw")
	if !strings.Contains(b.String(), "### Heap\n\n| impl | ns/op | heap-ratio |\n|---|---:|---:|\n| - | 5 | 1.50 |\n") {
		t.Errorf("lone table:\n%s", b.String())
	}
	if _, err := parseLone(strings.NewReader("Benchmark/x-2 1 5 ns/op"), true); err == nil {
		t.Error("parseLone accepted a benchmark without a name")
	}
}

// FuzzParse: parse never panics, and whatever it accepts renders.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("BenchmarkA/b 1 2 ns/op")
	f.Add("Benchmark/ 1 2 ns/op")
	f.Fuzz(func(t *testing.T, in string) {
		rs, err := parse(strings.NewReader(in))
		if err != nil {
			return
		}
		var b strings.Builder
		render(&b, rs, "raw")
		for _, r := range rs {
			if r.work == "" || r.impl == "" {
				t.Fatalf("accepted a result without work or impl: %+v", r)
			}
		}
	})
}
