// Command 05-real-gpu is the program of the tutorial docs/05-real-gpu.md:
// it opens the real GPU when the binary was built for one and the
// simulator otherwise, shows one built-in kernel as it is defined once for
// both (spec, CUDA C, cost, Go body), and runs it through the scheduler.
//
//	go run ./docs/examples/05-real-gpu              # the simulator
//	go run -tags cuda ./docs/examples/05-real-gpu   # a GPU, once the backend is built
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "05-real-gpu:", err)
		os.Exit(1)
	}
}

// openDevice opens GPU 0 if this binary was built with -tags cuda, and
// falls back to the simulated H100 if it was not.
func openDevice(out io.Writer) (cuda.Device, error) {
	dev, err := cuda.Open(0)
	if errors.Is(err, cuda.ErrNotBuilt) {
		fmt.Fprintln(out, "cuda.Open(0):", err)
		fmt.Fprintln(out, "falling back to the simulator")
		return sim.New(sim.Config{}), nil
	}
	return dev, err
}

// cudaSource returns the CUDA C of the kernel name from the .cu file that
// the package embeds (the same text nvcc compiled to the committed PTX).
func cudaSource(def kernels.Def) (string, error) {
	src, err := fs.ReadFile(kernels.Sources(), def.File)
	if err != nil {
		return "", err
	}
	text := string(src)
	start := strings.Index(text, "void "+def.Spec.Name+"(")
	if start < 0 {
		return "", fmt.Errorf("%s not found in %s", def.Spec.Name, def.File)
	}
	start = strings.LastIndex(text[:start], "extern")
	end := strings.Index(text[start:], "\n}\n")
	return text[start : start+end+2], nil
}

func run(ctx context.Context, out io.Writer) error {
	dev, err := openDevice(out)
	if err != nil {
		return err
	}
	defer dev.Close()
	fmt.Fprintln(out, "device:", dev.Properties().Name)

	// One kernel, defined once: its spec, its CUDA C and its cost model.
	def, _ := kernels.Lookup("saxpy_f32")
	src, err := cudaSource(def)
	if err != nil {
		return err
	}
	const n = 1 << 20
	l, err := kernels.Saxpy(0, 2, 0, n) // null pointers: only to price the launch
	if err != nil {
		return err
	}
	work := def.Work(l.Args)
	fmt.Fprintf(out, "\nkernel %s, from %s:\n%s\n", def.Spec, def.File, src)
	fmt.Fprintf(out, "cost of n=%d: %d bytes, %d FLOPs, %v on the default timing model\n\n",
		n, work.Bytes, work.FLOPs, sim.DefaultTiming().KernelTime(work))

	// The same program on either device: Bind loads the PTX on a GPU and
	// finds the Go bodies on the simulator.
	ks, err := kernels.Bind(dev)
	if err != nil {
		return err
	}
	s, err := scheduler.New(dev)
	if err != nil {
		return err
	}
	defer s.Close()

	host, err := dev.AllocHost(4 * 8)
	if err != nil {
		return err
	}
	defer dev.FreeHost(host)
	xs, _ := host.Float32s()
	copy(xs, []float32{1, 2, 3, 4, 10, 10, 10, 10}) // x, then y
	x, err := dev.Alloc(4 * 8)
	if err != nil {
		return err
	}
	defer dev.Free(x)
	y := x + 4*4

	saxpy, err := kernels.Saxpy(y, 2, x, 4) // y += 2*x
	if err != nil {
		return err
	}
	up := s.CopyHtoD(x, 0, host, 0, 4*8)
	k := s.Launch(ks.Kernel(saxpy), saxpy.Config, saxpy.Args, scheduler.After(up))
	res, err := s.CopyDtoH(host, 4*4, y, 0, 4*4, scheduler.After(k)).Await(ctx)
	if err != nil {
		return err
	}
	ys, err := res.Float32s()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "y = 2x + y:", ys[4:])
	return nil
}
