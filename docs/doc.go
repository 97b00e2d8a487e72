// Package docs holds coawait's tutorials: the pages docs/NN-slug.md and,
// under examples/, the program each page is written from.
//
// The package has no API. Its test keeps the pages honest: every ```go
// block that a page marks with a comment
//
//	<!-- code: examples/NN-slug/main.go -->
//
// right before it must be a verbatim run of whole lines of that file (a path
// relative to docs/), and every ```text block marked with
//
//	<!-- output: examples/NN-slug/output.txt -->
//
// must equal that file, which the example's own test compares with what the
// program prints. So neither the code nor the output a page shows can drift
// from the programs, which `go test ./...` builds and runs.
//
// After changing a program on purpose, rewrite its output.txt with
//
//	go test ./docs/examples/NN-slug -update
//
// and copy the file into the page's output block.
package docs
