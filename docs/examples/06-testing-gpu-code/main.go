// Command 06-testing-gpu-code is the program of the tutorial
// docs/06-testing-gpu-code.md: a small piece of asynchronous GPU code
// (upload, scale, download) and the time the simulator's model predicts
// for it. Its test (main_test.go) is the tutorial's subject.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "06-testing-gpu-code:", err)
		os.Exit(1)
	}
}

// Scale multiplies the float32 values of host by a on the device: one
// upload, one kernel, one download, each waiting for the one before it on
// the device. The host waits once, for the download. dev holds n floats.
func Scale(ctx context.Context, s *scheduler.Scheduler, ks *kernels.Set,
	host *cuda.HostBuffer, dev cuda.DevicePtr, a float32, n int) ([]float32, error) {
	scale, err := kernels.Scale(dev, a, n)
	if err != nil {
		return nil, err
	}
	up := s.CopyHtoD(dev, 0, host, 0, 4*n)
	k := s.Launch(ks.Kernel(scale), scale.Config, scale.Args, scheduler.After(up))
	res, err := s.CopyDtoH(host, 0, dev, 0, 4*n, scheduler.After(k)).Await(ctx)
	if err != nil {
		return nil, err
	}
	return res.Float32s()
}

// Predict is the time the timing model t gives Scale for n floats: the
// launch latency, then the upload, the kernel and the download in turn
// (each waits for the one before it).
func Predict(t sim.Timing, n int) time.Duration {
	scale, _ := kernels.Lookup("scale_f32")
	l, _ := kernels.Scale(0, 1, n)
	return t.LaunchLatency + t.CopyHtoD(4*n) + t.KernelTime(scale.Work(l.Args)) + t.CopyDtoH(4*n)
}

func run(ctx context.Context, out io.Writer) error {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	ks, err := kernels.Bind(dev)
	if err != nil {
		return err
	}
	s, err := scheduler.New(dev)
	if err != nil {
		return err
	}
	defer s.Close()

	const n = 4
	host, err := dev.AllocHost(4 * n)
	if err != nil {
		return err
	}
	defer dev.FreeHost(host)
	d, err := dev.Alloc(4 * n)
	if err != nil {
		return err
	}
	defer dev.Free(d)
	xs, _ := host.Float32s()
	copy(xs, []float32{1, 2, 3, 4})

	ys, err := Scale(ctx, s, ks, host, d, 3, n)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "3x:", ys)
	for _, n := range []int{4, 1 << 20, 64 << 20} {
		fmt.Fprintf(out, "predicted time for %9d floats: %v\n", n, Predict(sim.DefaultTiming(), n))
	}
	return nil
}
