//go:build cuda

package scheduler_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/scheduler"
)

// With -tags cuda and COAWAIT_GPU=1 (scripts/gpu-check sets it), the fuzz
// corpus of FuzzScheduler runs on GPU 0 instead of the simulator, and the
// tests below run there too. A binary built with the tag exits at start-up
// without the NVIDIA driver (gorgonia.org/cu's init).

func gpuRequested() bool { return os.Getenv("COAWAIT_GPU") == "1" }

// openGPU opens GPU 0 for one test.
var openGPU = func(t *testing.T) cuda.Device {
	t.Helper()
	dev, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("cuda.Open(0): %v", err)
	}
	return dev
}

func init() {
	if gpuRequested() {
		fuzzDevice = func(t *testing.T) cuda.Device { return openGPU(t) }
	}
}

// TestGPUPipeline chains an H2D copy, a kernel and a D2H copy on three
// streams under every policy on the GPU, and checks the bytes and that the
// host buffer is free to read as soon as the future settles.
func TestGPUPipeline(t *testing.T) {
	if !gpuRequested() {
		t.Skip("COAWAIT_GPU=1 not set")
	}
	dev := openGPU(t)
	defer dev.Close()
	scale, err := dev.Kernel("coawait", "scale_f32")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 << 20
	in, err := dev.AllocHost(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dev.AllocHost(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dev.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			s, err := scheduler.New(dev, scheduler.WithPolicy(p))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			vals := floatsOf(t, in)
			for i := range vals {
				vals[i] = float32(i % 1000)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for round := range 20 {
				up := s.CopyHtoD(x, 0, in, 0, 4*n)
				k := s.Launch(scale, cuda.Linear(n, 256, nil), []cuda.Arg{cuda.Ptr(x), cuda.Float32(2), cuda.Int32(n)}, scheduler.After(up))
				down := s.CopyDtoH(out, 0, x, 0, 4*n, scheduler.After(k))
				if _, err := down.Await(ctx); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				got := floatsOf(t, out) // fails with ErrBufferBusy if the copy's buffer was not released
				for i, v := range got {
					if v != 2*float32(i%1000) {
						t.Fatalf("round %d: out[%d] = %v, want %v", round, i, v, 2*float32(i%1000))
					}
				}
				clear(got)
			}
		})
	}
}

func floatsOf(t *testing.T, b *cuda.HostBuffer) []float32 {
	t.Helper()
	f, err := b.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
