package kernels_test

import (
	"context"
	"fmt"

	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
)

// A dense layer's forward pass through the scheduler: out = relu(x·Wᵀ + b),
// each launch a future that waits for the one before it on the GPU.
func Example() {
	ctx := context.Background()
	dev := sim.New(sim.Config{})
	defer dev.Close()
	ks, err := kernels.Bind(dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := scheduler.New(dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	const rows, in, out = 2, 3, 2
	host, _ := dev.AllocHost(4 * (rows*in + out*in + out + rows*out))
	h, _ := host.Float32s()
	copy(h, []float32{
		1, 2, 3, 4, 5, 6, // x, 2×3
		1, 0, -1, 0.5, 0.5, 0.5, // W, 2×3 (used transposed)
		-1, 0, // b
	})
	x, _ := dev.Alloc(4 * len(h))
	w, b, y := x+4*rows*in, x+4*(rows*in+out*in), x+4*(rows*in+out*in+out)

	gemm, err := kernels.Sgemm(kernels.Gemm{C: y, A: x, B: w, M: rows, N: out, K: in, TransB: true, Alpha: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	bias, _ := kernels.BiasAdd(y, b, rows, out)
	relu, _ := kernels.ReLU(y, y, rows*out)

	up := s.CopyHtoD(x, 0, host, 0, 4*len(h))
	k1 := s.Launch(ks.Kernel(gemm), gemm.Config, gemm.Args, scheduler.After(up))
	k2 := s.Launch(ks.Kernel(bias), bias.Config, bias.Args, scheduler.After(k1))
	k3 := s.Launch(ks.Kernel(relu), relu.Config, relu.Args, scheduler.After(k2))
	result, _ := dev.AllocHost(4 * rows * out) // host is busy until up is done
	res, err := s.CopyDtoH(result, 0, y, 0, 4*rows*out, scheduler.After(k3)).Await(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := res.Float32s()
	fmt.Println(v)
	// Output: [0 3 0 7.5]
}
