//go:build cuda

package cuda_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/cudatest"
	"github.com/coawait/coawait/cuda/sim"
)

// These tests need a GPU: a binary built with -tags cuda exits at start-up
// without the NVIDIA driver (gorgonia.org/cu's init). scripts/gpu-check
// runs them.

// childEnv names the conformance test a child process runs alone.
const childEnv = "COAWAIT_GPU_CHILD"

func openGPU(t *testing.T) cuda.Device {
	t.Helper()
	dev, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("cuda.Open(0): %v", err)
	}
	return dev
}

// TestGPUConformance runs the conformance suite on GPU 0, except the
// sticky-error test, which poisons the process's context for good and so
// runs in a child process (TestGPUStickyError).
func TestGPUConformance(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child process")
	}
	for _, tc := range cudatest.Tests() {
		if tc.Name == "StickyError" {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) { tc.F(t, openGPU) })
	}
}

// TestGPUStickyError runs the conformance suite's StickyError test in a
// child process: a trap leaves the primary context unusable until the
// process exits.
func TestGPUStickyError(t *testing.T) {
	if os.Getenv(childEnv) == "StickyError" {
		for _, tc := range cudatest.Tests() {
			if tc.Name == "StickyError" {
				tc.F(t, openGPU)
				return
			}
		}
		t.Fatal("cudatest has no StickyError test")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGPUStickyError$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=StickyError")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestGPUStickyError") {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("child process skipped the test (is the trap kernel registered?)\n%s", out)
	}
}

// TestGPUBadInput checks the errors a GPU adds to the simulator's: memory
// that this device did not pin, PTX the driver refuses, and a module
// nobody registered.
func TestGPUBadInput(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child process")
	}
	dev := openGPU(t)
	defer dev.Close()
	s, err := dev.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dev.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	simDev := sim.New(sim.Config{})
	defer simDev.Close()
	foreign, err := simDev.AllocHost(64)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ err, want error }{
		"HtoD from the simulator's buffer": {s.CopyHtoD(d, 0, foreign, 0, 64), cuda.ErrForeign},
		"DtoH into the simulator's buffer": {s.CopyDtoH(foreign, 0, d, 0, 64), cuda.ErrForeign},
		"HtoD from a zero HostBuffer":      {s.CopyHtoD(d, 0, new(cuda.HostBuffer), 0, 1), cuda.ErrInvalidValue},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", name, c.err, c.want)
		}
	}
	if err := s.CopyHtoD(d, 0, foreign, 0, 64); err == nil || !strings.Contains(err.Error(), "not pinned by this device") {
		t.Errorf("unpinned buffer: %v, want an error saying so", err)
	}
	ml, ok := dev.(cuda.ModuleLoader)
	if !ok {
		t.Fatal("the CUDA device does not implement cuda.ModuleLoader")
	}
	bad := []byte(".version 7.8\n.target sm_80\n.address_size 64\n.visible .entry broken() { this is not ptx; }\n")
	err = ml.LoadModule("broken", bad, []cuda.KernelSpec{{Name: "broken"}})
	if !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), "JIT log") {
		t.Errorf("LoadModule(bad PTX) = %v, want ErrInvalidValue with the JIT log", err)
	}
	t.Logf("bad PTX: %v", err)
	_, err = dev.Kernel("no_such_module", "k")
	if !errors.Is(err, cuda.ErrNotFound) || !strings.Contains(err.Error(), "cuda/kernels") {
		t.Errorf("Kernel(unknown module) = %v, want ErrNotFound saying how to load one", err)
	}
	var de *cuda.DriverError
	_, err = dev.Alloc(int(dev.Properties().TotalMemory) * 2)
	if !errors.Is(err, cuda.ErrOutOfMemory) || !errors.As(err, &de) || de.Code != 2 {
		t.Errorf("Alloc(2x memory) = %v, want ErrOutOfMemory wrapping CUDA_ERROR_OUT_OF_MEMORY", err)
	}
	if n, err := cuda.DeviceCount(); err != nil || n < 1 {
		t.Errorf("DeviceCount() = %d, %v", n, err)
	}
	if _, err := cuda.Open(1 << 20); !errors.Is(err, cuda.ErrNoDevice) {
		t.Errorf("Open(1<<20) = %v, want ErrNoDevice", err)
	}
}
