// Package benchmarks compares coawait with the usual ways of doing the same
// work in Go: a raw goroutine and channel (the baseline of every ratio),
// golang.org/x/sync/errgroup and github.com/sourcegraph/conc.
//
// Every benchmark is named Benchmark<Work>/<impl>, where impl is one of
// raw, coawait, errgroup or conc, so that scripts/bench can print each
// implementation's time as a ratio to raw from the same run:
//
//	scripts/bench            # all benchmarks, a markdown table of ratios
//	ROUNDS=5 scripts/bench   # five rounds in turn, medians: steadier ratios
//	go test -bench . -benchmem ./benchmarks   # the raw numbers
package benchmarks
