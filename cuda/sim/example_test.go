package sim_test

import (
	"errors"
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

// A round trip: copy to the device, run saxpy, copy back.
func Example() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	saxpy, _ := dev.Kernel(sim.BuiltinModule, "saxpy_f32")
	s, _ := dev.NewStream(0)

	const n = 4
	hx, _ := dev.AllocHost(4 * n)
	hy, _ := dev.AllocHost(4 * n)
	xs, _ := hx.Float32s()
	ys, _ := hy.Float32s()
	copy(xs, []float32{1, 2, 3, 4})
	copy(ys, []float32{10, 10, 10, 10})

	x, _ := dev.Alloc(4 * n)
	y, _ := dev.Alloc(4 * n)
	_ = s.CopyHtoD(x, 0, hx, 0, 4*n)
	_ = s.CopyHtoD(y, 0, hy, 0, 4*n)
	_ = s.Launch(saxpy, cuda.Linear(n, 256, nil), cuda.Ptr(y), cuda.Float32(2), cuda.Ptr(x), cuda.Int32(n))
	_ = s.CopyDtoH(hy, 0, y, 0, 4*n)
	if err := s.Synchronize(); err != nil {
		fmt.Println(err)
		return
	}
	ys, _ = hy.Float32s()
	fmt.Println(ys)
	// Output: [12 14 16 18]
}

// Event timestamps follow the timing model. In Instant mode nothing waits,
// and the timestamps do not depend on the host, so they are exact: here a
// 64 MiB host-to-device copy on one stream overlaps a 1 ms kernel on another.
func Example_timing() {
	dev := sim.New(sim.Config{}) // default H100 PCIe model, Instant mode
	defer dev.Close()
	spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
	copyStream, _ := dev.NewStream(0)
	computeStream, _ := dev.NewStream(0)
	const size = 64 << 20
	h, _ := dev.AllocHost(size)
	d, _ := dev.Alloc(size)
	ev := func() cuda.Event { e, _ := dev.NewEvent(0); return e }
	c0, c1, k0, k1 := ev(), ev(), ev(), ev()

	_ = copyStream.RecordEvent(c0)
	_ = copyStream.CopyHtoD(d, 0, h, 0, size)
	_ = copyStream.RecordEvent(c1)
	_ = computeStream.RecordEvent(k0)
	_ = computeStream.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(1e6))
	_ = computeStream.RecordEvent(k1)
	_ = dev.Synchronize()

	copyTime, _ := dev.ElapsedTime(c0, c1)
	kernelTime, _ := dev.ElapsedTime(k0, k1)
	total, _ := dev.ElapsedTime(c0, c1)
	if end, _ := dev.ElapsedTime(c0, k1); end > total {
		total = end
	}
	fmt.Println("copy:  ", copyTime)
	fmt.Println("kernel:", kernelTime)
	fmt.Println("both:  ", total)
	// Output:
	// copy:   1.342178ms
	// kernel: 1ms
	// both:   1.342178ms
}

// Fault injection: the second host-to-device copy is refused, then a
// sticky fault makes the device lost.
func Example_faults() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := dev.NewStream(0)
	d, _ := dev.Alloc(64)
	h, _ := dev.AllocHost(64)

	_ = dev.InjectFault(sim.Fault{Op: sim.OpCopyHtoD, N: 2, Err: cuda.ErrOutOfMemory})
	fmt.Println(s.CopyHtoD(d, 0, h, 0, 64))
	fmt.Println(s.CopyHtoD(d, 0, h, 0, 64))

	_ = dev.InjectFault(sim.Fault{Op: sim.OpMemset, N: 1, Err: errors.New("ECC error"), Sticky: true})
	_ = s.Memset(d, 0, 64, 0)
	err := s.Synchronize()
	fmt.Println(err)
	fmt.Println(errors.Is(err, cuda.ErrDeviceLost), err == s.CopyHtoD(d, 0, h, 0, 64))
	// Output:
	// <nil>
	// cuda: CopyHtoD: injected fault: out of memory
	// cuda: Memset: injected fault: ECC error: device lost
	// true true
}
