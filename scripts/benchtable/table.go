package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// A result is one benchmark line: Benchmark<Work>/<impl>-<procs> N v unit ...
type result struct {
	work, impl string
	metrics    map[string]float64 // unit → value, e.g. "ns/op" → 450
}

// parse reads `go test -bench` output and returns its results in order of
// appearance. Lines that are not benchmark results are skipped; a benchmark
// line that cannot be parsed is an error naming the line.
func parse(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || len(fields)%2 != 0 {
			if len(fields) == 1 {
				continue // a benchmark name printed alone before its -v output
			}
			return nil, fmt.Errorf("line %d: want name, iterations and value/unit pairs: %q", lineNo, line)
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		work, impl, ok := strings.Cut(name, "/")
		if !ok || work == "" || impl == "" {
			return nil, fmt.Errorf("line %d: benchmark %q is not named Work/impl", lineNo, fields[0])
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return nil, fmt.Errorf("line %d: iterations %q: %v", lineNo, fields[1], err)
		}
		res := result{work: work, impl: impl, metrics: map[string]float64{}}
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d: value %q for %s is not a number", lineNo, fields[i], fields[i+1])
			}
			res.metrics[fields[i+1]] = v
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

type key struct{ work, impl string }

// timeUnits are the metrics shown as ratios to the baseline, in this order.
var timeUnits = []string{"ns/op", "ns-to-cancel"}

// render writes one markdown table: a row per work and implementation, with
// each time metric as its value and its ratio to the baseline
// implementation of the same work (results repeated with -count are
// averaged first).
func render(w io.Writer, results []result, baseline string) {
	sums := map[key]map[string]float64{}
	counts := map[key]int{}
	var order []key
	for _, r := range results {
		k := key{r.work, r.impl}
		if sums[k] == nil {
			sums[k] = map[string]float64{}
			order = append(order, k)
		}
		counts[k]++
		for u, v := range r.metrics {
			sums[k][u] += v
		}
	}
	mean := func(k key, unit string) (float64, bool) {
		v, ok := sums[k][unit]
		return v / float64(counts[k]), ok
	}
	var units []string
	for _, u := range timeUnits {
		for _, k := range order {
			if _, ok := sums[k][u]; ok {
				units = append(units, u)
				break
			}
		}
	}
	// Keep works in order of appearance, the baseline first in each.
	sort.SliceStable(order, func(i, j int) bool {
		wi, wj := firstIndex(order, order[i].work), firstIndex(order, order[j].work)
		if wi != wj {
			return wi < wj
		}
		return order[i].impl == baseline && order[j].impl != baseline
	})
	head := "| work | impl |"
	sep := "|---|---|"
	for _, u := range units {
		head += " " + u + " | ratio to " + baseline + " |"
		sep += "---:|---:|"
	}
	head += " B/op | allocs/op |"
	sep += "---:|---:|"
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for _, k := range order {
		row := "| " + k.work + " | " + k.impl + " |"
		for _, u := range units {
			v, ok := mean(k, u)
			if !ok {
				row += " | |"
				continue
			}
			row += " " + format(v) + " |"
			b, ok := mean(key{k.work, baseline}, u)
			if ok && b > 0 {
				row += fmt.Sprintf(" %.2f× |", v/b)
			} else {
				row += " |"
			}
		}
		for _, u := range []string{"B/op", "allocs/op"} {
			if v, ok := mean(k, u); ok {
				row += " " + format(v) + " |"
			} else {
				row += " |"
			}
		}
		fmt.Fprintln(w, row)
	}
}

func firstIndex(ks []key, work string) int {
	for i, k := range ks {
		if k.work == work {
			return i
		}
	}
	return len(ks)
}

func format(v float64) string {
	switch {
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
