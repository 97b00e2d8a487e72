// Command benchtable reads `go test -bench` output on standard input, whose
// benchmarks are named Benchmark<Work>/<impl>, and prints a markdown table
// with each implementation's time as a ratio to the baseline
// implementation (raw by default) of the same work, from the same run.
// With -lone, a benchmark without sub-benchmarks is a work of its own with
// one implementation, named "-".
//
//	go test -run '^$' -bench . -benchmem ./benchmarks | go run ./scripts/benchtable
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	baseline := flag.String("baseline", "raw", "implementation the ratios are relative to")
	lone := flag.Bool("lone", false, "accept benchmarks without sub-benchmarks, as a work of one implementation named -")
	flag.Parse()
	results, err := parseLone(os.Stdin, *lone)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on standard input")
		os.Exit(1)
	}
	render(os.Stdout, results, *baseline)
}
