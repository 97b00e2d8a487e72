package coawait_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the example leaves no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
