package main

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite output.txt with what the program prints")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The program prints what output.txt (quoted by the page) says.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("output.txt", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("output.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("output differs from output.txt (-want +got):\n%s", diff)
	}
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
