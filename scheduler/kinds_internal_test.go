package scheduler

import (
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

// The loop turns an *opCore back into its *Op[T] by the kind of operation
// (opCore.settle): every constructor must make the Op[T] its kind implies.
func TestOpKinds(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, err := New(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf, err := dev.AllocHost(8)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dev.Alloc(8)
	if err != nil {
		t.Fatal(err)
	}
	type checked struct {
		name string
		kind opKind
		ok   bool
	}
	check := func(name string, c *opCore, ok func(opKind) bool) checked {
		return checked{name, c.kind, ok(c.kind)}
	}
	spin, err := dev.Kernel(sim.BuiltinModule, "spin")
	if err != nil {
		t.Fatal(err)
	}
	// One at a time: operations on different streams touching the same
	// memory would race in the simulator.
	wait := func(f interface {
		Err() error
		Done() <-chan struct{}
	}) {
		<-f.Done()
		if err := f.Err(); err != nil {
			t.Fatal(err)
		}
	}
	htod := s.CopyHtoD(p, 0, buf, 0, 8)
	wait(htod)
	dtoh := s.CopyDtoH(buf, 0, p, 0, 8)
	wait(dtoh)
	dtod := s.CopyDtoD(p, 0, p, 0, 4)
	wait(dtod)
	set := s.Memset(p, 0, 8, 1)
	wait(set)
	launch := s.Launch(spin, cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}, []cuda.Arg{cuda.Int64(0)})
	wait(launch)
	alloc := s.Alloc(64)
	got, err := alloc.Await(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	free := s.Free(got)
	wait(free)
	for _, c := range []checked{
		check("CopyHtoD", &htod.c, kindType[struct{}]),
		check("CopyDtoH", &dtoh.c, kindType[*cuda.HostBuffer]),
		check("CopyDtoD", &dtod.c, kindType[struct{}]),
		check("Memset", &set.c, kindType[struct{}]),
		check("Launch", &launch.c, kindType[struct{}]),
		check("Alloc", &alloc.c, kindType[cuda.DevicePtr]),
		check("Free", &free.c, kindType[struct{}]),
	} {
		if !c.ok {
			t.Errorf("%s makes an Op whose value type does not match its kind %d", c.name, c.kind)
		}
	}
	if v, err := dtoh.Await(t.Context()); err != nil || v != buf {
		t.Errorf("CopyDtoH settled with %p, %v; want %p", v, err, buf)
	}
	if got == 0 {
		t.Error("Alloc settled with a nil pointer")
	}
}

// kindType reports whether T is the value type of operations of kind k
// (see opOf).
func kindType[T any](k opKind) bool {
	var v any = (*T)(nil)
	switch k {
	case opDtoH:
		_, ok := v.(**cuda.HostBuffer)
		return ok
	case opAlloc:
		_, ok := v.(*cuda.DevicePtr)
		return ok
	default:
		_, ok := v.(*struct{})
		return ok
	}
}
