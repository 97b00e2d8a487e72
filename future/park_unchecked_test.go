//go:build gc && go1.27 && !race && !msan && !asan && !coawait_nolinkname

package future

import (
	"os"
	"runtime"
	"testing"
)

// On a Go release newer than the ones park_runtime.go was checked against,
// futures park on a sync.Cond: correct, but slower. This test says so.
//
// It fails only where COAWAIT_CHECK_PARKER=1 is set, as the project's CI
// (.ci/run) does, so that the project notices a new toolchain; everywhere
// else (a user's `go test all` after a Go upgrade) it skips with the same
// message, because nothing is broken. To check a release: widen the build
// lines of park_runtime.go and park_runtime_test.go, narrow park_cond.go's
// and this file's, then run TestParkReasons.
func TestParkerCheckedForThisRelease(t *testing.T) {
	msg := "park_runtime.go is not built for " + runtime.Version() + ", so futures park on a sync.Cond (correct, slower); see this test's comment"
	if os.Getenv("COAWAIT_CHECK_PARKER") != "1" {
		t.Skip(msg + " (set COAWAIT_CHECK_PARKER=1 to make this an error)")
	}
	t.Error(msg)
}
