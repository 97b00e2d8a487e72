package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coawait/coawait/mlp"
	"github.com/coawait/coawait/mnist"
)

// fakeMNIST makes the command read synthetic digits instead of the MNIST
// files (whose decompression alone takes half a minute under the race
// detector): 28×28 images of a bar whose position is the label, with
// noise. The mnist package's tests read the real files.
func fakeMNIST(t *testing.T) {
	t.Helper()
	digits := func(n int, seed uint64) *mnist.Set {
		rng := rand.New(rand.NewPCG(seed, 0))
		s := &mnist.Set{Rows: 28, Cols: 28, Pixels: make([]uint8, n*784), Labels: make([]uint8, n)}
		for i := range n {
			y := rng.IntN(10)
			s.Labels[i] = uint8(y)
			img := s.Pixels[i*784 : (i+1)*784]
			for p := range img {
				img[p] = uint8(rng.IntN(60))
			}
			for c := 2; c < 26; c++ {
				img[(2+2*y)*28+c] = 255
			}
		}
		return s
	}
	trainSet, testSet := digits(4000, 1), digits(500, 2)
	loadMNIST = func(context.Context) (*mnist.Set, *mnist.Set, error) { return trainSet, testSet, nil }
	t.Cleanup(func() { loadMNIST = mnist.Load })
}

// trainArgs runs `coawait train` with args and returns the exit code,
// stdout and stderr.
func trainArgs(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, append([]string{"train"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTrainCommand(t *testing.T) {
	fakeMNIST(t)
	ctx := context.Background()
	dir := t.TempDir()
	ck := filepath.Join(dir, "mnist.ckpt")
	small := []string{"-limit", "640", "-hidden", "16", "-batch", "64", "-checkpoint", ck}
	code, out, errOut := trainArgs(ctx, append(small, "-epochs", "1")...)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"640 training samples (of 4000), 500 test samples", "epoch 1/1: loss", "test error", "samples/s", "stall:",
		"device", "host wall", "checkpoint: " + ck + " (epoch 1)", "where the figures come from"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	c, err := mlp.LoadCheckpoint(ck)
	if err != nil || c.Epoch != 1 || c.Shape != mlp.MNIST(16) {
		t.Fatalf("checkpoint %+v, %v", c, err)
	}

	// A second run resumes.
	code, out, errOut = trainArgs(ctx, append(small, "-epochs", "2")...)
	if code != exitOK || !strings.Contains(out, "resumed from "+ck+" after epoch 1") || !strings.Contains(out, "epoch 2/2: loss") {
		t.Fatalf("resumed run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// Another hidden size refuses the checkpoint.
	code, _, errOut = trainArgs(ctx, "-limit", "640", "-hidden", "17", "-batch", "64", "-checkpoint", ck, "-epochs", "3")
	if code != exitFailure || !strings.Contains(errOut, "784-16-10 model and this run trains a 784-17-10 model") {
		t.Fatalf("wrong shape: exit code %d, stderr:\n%s", code, errOut)
	}
	if c, err := mlp.LoadCheckpoint(ck); err != nil || c.Epoch != 2 {
		t.Fatalf("the checkpoint changed: %+v, %v", c, err)
	}
}

func TestTrainBadInput(t *testing.T) {
	fakeMNIST(t)
	ctx := context.Background()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-batch", "0"}, exitUsage, "-batch 0: want at least 1"},
		{[]string{"-epochs", "0"}, exitUsage, "-epochs 0"},
		{[]string{"-lr", "-1"}, exitUsage, "learning rate"},
		{[]string{"-momentum", "1"}, exitUsage, "momentum"},
		{[]string{"-policy", "lazy"}, exitUsage, "want one of adaptive"},
		{[]string{"-timeline", "x.gif"}, exitUsage, ".svg or .png"},
		{[]string{"-device", "tpu"}, exitUsage, `-device "tpu"`},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
		{[]string{"-limit", "100", "-batch", "128"}, exitFailure, "batch size 128 is larger than the dataset of 100 samples"},
	} {
		code, _, errOut := trainArgs(ctx, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit code %d, want %d; stderr lacks %q:\n%s", tt.args, code, tt.code, tt.want, errOut)
		}
	}
	// A damaged checkpoint is refused, and left as it is.
	ck := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(ck, bytes.Repeat([]byte{7}, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := trainArgs(ctx, "-limit", "200", "-checkpoint", ck)
	if code != exitFailure || !strings.Contains(errOut, "not a coawait MLP checkpoint") {
		t.Errorf("damaged checkpoint: exit code %d, stderr:\n%s", code, errOut)
	}
}

// cancelOn cancels when what it is written holds a string.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.when) {
		w.cancel()
	}
	return len(p), nil
}

// TestTrainInterrupted interrupts a run in its second epoch, as Ctrl-C
// does: exit code 130, a summary, and the first epoch's checkpoint intact.
func TestTrainInterrupted(t *testing.T) {
	fakeMNIST(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ck := filepath.Join(t.TempDir(), "c")
	out := &cancelOn{when: "epoch 1/3: loss", cancel: cancel}
	var errOut bytes.Buffer
	code := run(ctx, []string{"train", "-limit", "3200", "-hidden", "16", "-batch", "32", "-epochs", "3", "-checkpoint", ck}, out, &errOut)
	if code != exitInterrupted {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, out.buf.String(), errOut.String())
	}
	if s := out.buf.String(); !strings.Contains(s, "summary: 1 epoch(s) trained") || !strings.Contains(s, "interrupted in epoch 2") {
		t.Errorf("no summary of what ran:\n%s", s)
	}
	if c, err := mlp.LoadCheckpoint(ck); err != nil || c.Epoch != 1 {
		t.Fatalf("checkpoint after the interruption: %+v, %v", c, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(ck))
	if len(ents) != 1 {
		t.Fatalf("%d files next to the checkpoint, want it alone", len(ents))
	}
}

func TestTrainTrace(t *testing.T) {
	fakeMNIST(t)
	dir := t.TempDir()
	tr, tl := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.svg")
	code, out, errOut := trainArgs(context.Background(), "-limit", "256", "-hidden", "8", "-batch", "64", "-epochs", "1",
		"-trace", tr, "-timeline", tl, "-trace-ops", "200")
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, p := range []string{tr, tl} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	b, _ := os.ReadFile(tr)
	for _, want := range []string{"compute (trainer)", "copy-in", "training loop", "sgemm_f32", "loader worker 0", "decode 0.0"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the trace lacks %q", want)
		}
	}
}
