package benchmarks

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks, after the benchmarks, that none of them left a
// goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
