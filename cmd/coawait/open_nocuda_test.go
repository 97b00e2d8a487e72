//go:build !cuda

package main

import (
	"context"
	"strings"
	"testing"
)

// Without -tags cuda, -device cuda fails with cuda.Open's error, which
// says how to build for a GPU.
func TestDemoCudaNotBuilt(t *testing.T) {
	code, out, errOut := runArgs(context.Background(), "demo", "-device", "cuda")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if out != "" || !strings.Contains(errOut, "coawait demo: open GPU 0: ") || !strings.Contains(errOut, "-tags cuda") {
		t.Fatalf("stdout %q, stderr %q", out, errOut)
	}
	code, out, _ = runArgs(context.Background(), "devices")
	if code != exitOK || !strings.Contains(out, "cuda: no GPUs: ") || !strings.Contains(out, "-tags cuda") {
		t.Fatalf("devices: exit %d\n%s", code, out)
	}
}
