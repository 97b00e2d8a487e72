package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A result is one benchmark line: Benchmark<Work>/<impl>-<procs> N v unit ...
type result struct {
	work, impl string
	metrics    map[string]float64 // unit → value, e.g. "ns/op" → 450
	order      []string           // the units in the order of the line
}

// parse reads `go test -bench` output and returns its results in order of
// appearance. Lines that are not benchmark results are skipped; a benchmark
// line that cannot be parsed is an error naming the line.
func parse(r io.Reader) ([]result, error) { return parseLone(r, false) }

// parseLone is parse that, if lone is set, also accepts a benchmark without
// sub-benchmarks (BenchmarkHeap): a work with one implementation, "-".
func parseLone(r io.Reader, lone bool) ([]result, error) {
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
		if !ok && lone {
			impl = "-"
		}
		if work == "" || impl == "" {
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
			if _, dup := res.metrics[fields[i+1]]; !dup {
				res.order = append(res.order, fields[i+1])
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

// render writes a markdown table for each work, in order of appearance: a
// row per implementation (the baseline first) and, for each metric the
// work reports, its value and — except for B/op and allocs/op — its ratio
// to the baseline implementation of the same work. Of results repeated
// with -count, the median is shown: on a shared machine a run now and then
// takes twice as long for reasons of its own, and one such run would move
// a mean (and a ratio) far more than it moves the median.
func render(w io.Writer, results []result, baseline string) {
	values := map[key]map[string][]float64{}
	var works []string
	impls := map[string][]string{}
	units := map[string][]string{}
	for _, r := range results {
		k := key{r.work, r.impl}
		if _, ok := impls[r.work]; !ok {
			works = append(works, r.work)
		}
		if values[k] == nil {
			values[k] = map[string][]float64{}
			impls[r.work] = append(impls[r.work], r.impl)
		}
		for _, u := range r.order {
			if !slices.Contains(units[r.work], u) {
				units[r.work] = append(units[r.work], u)
			}
			values[k][u] = append(values[k][u], r.metrics[u])
		}
	}
	median := func(k key, unit string) (float64, bool) {
		vs := slices.Clone(values[k][unit])
		if len(vs) == 0 {
			return 0, false
		}
		slices.Sort(vs)
		n := len(vs)
		if n%2 == 1 {
			return vs[n/2], true
		}
		return (vs[n/2-1] + vs[n/2]) / 2, true
	}
	for wi, work := range works {
		if wi > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "### %s\n\n", work)
		is := impls[work]
		sort.SliceStable(is, func(i, j int) bool { return is[i] == baseline && is[j] != baseline })
		_, hasBase := values[key{work, baseline}]
		head, sep := "| impl |", "|---|"
		for _, u := range units[work] {
			head += " " + u + " |"
			sep += "---:|"
			if hasBase && ratioed(u) {
				head += " ×" + baseline + " |"
				sep += "---:|"
			}
		}
		fmt.Fprintln(w, head)
		fmt.Fprintln(w, sep)
		for _, impl := range is {
			k := key{work, impl}
			row := "| " + impl + " |"
			for _, u := range units[work] {
				v, ok := median(k, u)
				if ok {
					row += " " + format(v) + " |"
				} else {
					row += " |"
				}
				if !hasBase || !ratioed(u) {
					continue
				}
				if b, okb := median(key{work, baseline}, u); ok && okb && b != 0 {
					row += fmt.Sprintf(" %.2f |", v/b)
				} else {
					row += " |"
				}
			}
			fmt.Fprintln(w, row)
		}
	}
}

// ratioed reports whether a unit gets a ratio column.
func ratioed(unit string) bool { return unit != "B/op" && unit != "allocs/op" }

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
