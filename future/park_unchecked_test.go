//go:build gc && go1.27 && !race && !msan && !asan && !coawait_nolinkname

package future

import (
	"runtime"
	"testing"
)

// On a Go release newer than the ones park_runtime.go was checked against,
// futures park on a sync.Cond: correct, but slower. This test says so, so
// that the project's CI notices a new toolchain: check the release by
// widening the build lines of park_runtime.go and park_runtime_test.go and
// narrowing park_cond.go's and this file's, then running TestParkReasons.
func TestParkerCheckedForThisRelease(t *testing.T) {
	t.Errorf("park_runtime.go is not built for %s, so futures park on a sync.Cond; see this test's comment", runtime.Version())
}
