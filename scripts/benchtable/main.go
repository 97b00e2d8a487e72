// Command benchtable reads `go test -bench` output on standard input, whose
// benchmarks are named Benchmark<Work>/<impl>, and prints a markdown table
// with each implementation's time as a ratio to the baseline
// implementation (raw by default) of the same work, from the same run.
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
	flag.Parse()
	results, err := parse(os.Stdin)
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
