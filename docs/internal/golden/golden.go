// Package golden checks a tutorial program's output against the
// output.txt file that its page quotes, for the tests under docs/examples.
// Run a test with -update to rewrite output.txt with what the program
// printed.
package golden

import (
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite output.txt with what the program prints")

// Check fails t unless got equals the file output.txt in the test's
// directory, showing the difference; with -update it first writes got to
// that file.
func Check(t testing.TB, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile("output.txt", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("output.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from output.txt (-want +got; go test -update rewrites it):\n%s", diff)
	}
}

// Updating reports whether the test runs with -update, for tests that
// rewrite other files the page shows too.
func Updating() bool { return *update }
