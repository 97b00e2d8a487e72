package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the tutorial's program and checks what the page shows.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	want := []string{
		"kernel saxpy_f32(pointer y, float32 a, pointer x, int32 n), from conformance.cu:",
		`extern "C" __global__ void saxpy_f32(float *y, float a, const float *x, int n) {`,
		"\t\ty[i] += a * x[i];\n}\n",
		"cost of n=1048576: 12582912 bytes, 0 FLOPs, 6.292µs on the default timing model",
		"y = 2x + y: [12 14 16 18]",
	}
	dev, err := cuda.Open(0)
	if err == nil {
		dev.Close()
	}
	if errors.Is(err, cuda.ErrNotBuilt) {
		want = append(want, "falling back to the simulator", "device: NVIDIA H100 PCIe (simulated)",
			"rebuild with `go build -tags cuda`")
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q; it is:\n%s", w, got)
		}
	}
	if strings.Count(got, "extern") != 1 {
		t.Errorf("the CUDA C excerpt holds more than one kernel:\n%s", got)
	}
}
