package scheduler_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

func ExampleScheduler_Alloc() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := scheduler.New(dev)
	defer s.Close()

	const n = 1 << 20
	p, err := s.Alloc(n).Await(context.Background()) // on the compute stream
	if err != nil {
		fmt.Println(err)
		return
	}
	// Later work on the compute stream is ordered after the allocation.
	set := s.Memset(p, 0, n, 7)
	out, _ := dev.AllocHost(4)
	down := s.CopyDtoH(out, 0, p, n-4, 4, scheduler.After(set))
	free := s.Free(p, scheduler.After(down)) // returns the memory once down is done
	b, err := down.Await(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	bs, _ := b.Bytes()
	_, err = free.Await(context.Background())
	fmt.Println(bs, err)
	// Close would free the memory too, with everything else Alloc allocated.
	// Output:
	// [7 7 7 7] <nil>
}

func ExampleAfter() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := scheduler.New(dev)
	defer s.Close()
	x, _ := dev.Alloc(16)
	out, _ := dev.AllocHost(16)

	// A host future: the loader has not finished decoding the batch yet.
	batch, ready := future.New[int]()
	fill := s.Memset(x, 0, 16, 7, scheduler.After(batch))       // submitted once batch settles
	down := s.CopyDtoH(out, 0, x, 0, 16, scheduler.After(fill)) // waits for fill on the GPU
	ready.Resolve(1)
	b, _ := down.Await(context.Background())
	bs, _ := b.Bytes()
	fmt.Println(bs[:4])
	// Output: [7 7 7 7]
}

func ExampleWithPolicy() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, err := scheduler.New(dev, scheduler.WithPolicy(scheduler.HostCallback))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	x, _ := dev.Alloc(4)
	fmt.Println(s.Memset(x, 0, 4, 1).Await(context.Background()))
	// Output: {} <nil>
}

func ExampleScheduler_Metrics() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := scheduler.New(dev)
	x, _ := dev.Alloc(64)
	for range 3 {
		s.Memset(x, 0, 64, 0)
	}
	s.Memset(x, 0, 128, 0) // out of range: rejected by the device at submission
	s.Close()              // drains
	m := s.Metrics()
	fmt.Println(m.Submitted, m.Completed, m.Rejected, m.Pending)
	// Output: 3 3 1 0
}

func ExampleOpError() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := scheduler.New(dev)
	defer s.Close()
	x, _ := dev.Alloc(64)
	_, err := s.CopyDtoD(x, 0, x, 32, 64).Await(context.Background())
	var oe *scheduler.OpError
	fmt.Println(errors.As(err, &oe), oe.Op, errors.Is(err, cuda.ErrInvalidValue))
	// Output: true CopyDtoD true
}
