package main

import (
	"bytes"
	"testing"

	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The program prints what output.txt (quoted by the page) says.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, out.Bytes())
}

// The compute coroutine really runs on the device: its sum is the
// doubled batch's.
func TestCompute(t *testing.T) {
	g, closeGPU, err := newGPU()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := closeGPU(); err != nil {
			t.Error(err)
		}
	}()
	sum, err := g.compute(t.Context(), []float32{1, 2, 3, 4}).Await(t.Context())
	if err != nil || sum != 20 {
		t.Errorf("compute = %v, %v; want 20, nil", sum, err)
	}
}
