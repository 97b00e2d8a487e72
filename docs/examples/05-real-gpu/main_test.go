package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the tutorial's program and compares its output with
// output.txt, which the page shows. On a build with -tags cuda the device
// line and the fallback differ, so there only the result is checked.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	dev, err := cuda.Open(0)
	if err == nil {
		dev.Close()
	}
	if !errors.Is(err, cuda.ErrNotBuilt) {
		if !strings.Contains(out.String(), "y = 2x + y: [12 14 16 18]\n") {
			t.Errorf("wrong result on the GPU:\n%s", out.String())
		}
		return
	}
	golden.Check(t, out.Bytes())
}
