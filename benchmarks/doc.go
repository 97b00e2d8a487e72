// Package benchmarks compares coawait with the usual ways of doing the same
// work in Go, and its scheduler with naive designs. It holds benchmarks
// only.
//
// Futures and tasks (async_test.go) are measured against a raw goroutine
// and channel (raw, the baseline of every ratio),
// golang.org/x/sync/errgroup and github.com/sourcegraph/conc. The
// scheduler (scheduler_test.go, nulldev_test.go) is measured against
// calling the simulated device directly (raw), a goroutine per operation,
// and, for wake-up latency and idle CPU, its own completion policies.
//
// Every benchmark is named Benchmark<Work>/<impl>, so that scripts/bench
// can print each implementation's figures as ratios to raw from the same
// run:
//
//	scripts/bench            # all benchmarks, a markdown table of ratios
//	ROUNDS=5 scripts/bench   # five rounds in turn, medians: steadier ratios
//	go test -bench . -benchmem ./benchmarks   # the raw numbers
//
// scripts/benchreport runs these and the other packages' benchmarks and
// writes the tables, with the machine they ran on, to docs/benchmarks.md.
package benchmarks
