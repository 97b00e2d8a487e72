package cuda_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

func TestHostPoolLimits(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	p := cuda.NewHostPool(dev, 1)
	a, _ := p.Get(64)
	b, _ := p.Get(64)
	if a == b {
		t.Fatal("Get returned one buffer twice")
	}
	if err := p.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(b); err != nil { // over maxIdle: freed
		t.Fatal(err)
	}
	if _, err := b.Bytes(); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("buffer beyond maxIdle not freed: %v", err)
	}
	other := sim.New(sim.Config{})
	defer other.Close()
	foreign, _ := other.AllocHost(64)
	if err := p.Put(foreign); !errors.Is(err, cuda.ErrForeign) {
		t.Errorf("Put(foreign) = %v", err)
	}
	if err := p.Put(nil); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Put(nil) = %v", err)
	}
	if err := p.Put(b); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Put(freed) = %v", err)
	}
	c, _ := p.Get(32)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bytes(); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("idle buffer survived Close: %v", err)
	}
	if err := p.Put(c); err != nil { // frees after Close
		t.Fatal(err)
	}
	if _, err := c.Bytes(); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Put after Close did not free: %v", err)
	}
	if err := p.Close(); !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

func TestMemPoolClose(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, _ := dev.NewStream(0)
	p := cuda.NewMemPool(dev)
	a, _ := p.Alloc(s, 100)
	b, _ := p.Alloc(s, 200)
	if _, err := p.Alloc(s, 0); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Alloc(0) = %v", err)
	}
	if _, err := p.Alloc(nil, 1); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Alloc(nil stream) = %v", err)
	}
	if err := p.Free(s, a); err != nil {
		t.Fatal(err)
	}
	if used := dev.MemoryUsed(); used != 300 {
		t.Errorf("MemoryUsed = %d, want 300", used)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if used := dev.MemoryUsed(); used != 0 {
		t.Errorf("MemoryUsed after Close = %d, want 0", used)
	}
	if err := p.Free(s, b); !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("Free after Close = %v", err)
	}
	if err := p.Close(); !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

func TestMemPoolLostDevice(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s0, _ := dev.NewStream(0)
	s1, _ := dev.NewStream(0)
	p := cuda.NewMemPool(dev)
	a, _ := p.Alloc(s0, 64)
	if err := p.Free(s0, a); err != nil {
		t.Fatal(err)
	}
	dev.Lose(errors.New("gone"))
	if _, err := p.Alloc(s1, 64); !errors.Is(err, cuda.ErrDeviceLost) {
		t.Errorf("Alloc on lost device = %v", err)
	}
	if err := p.Close(); !errors.Is(err, cuda.ErrDeviceLost) {
		t.Errorf("Close on lost device = %v", err)
	}
}

// A pinned buffer pool: a buffer handed to a copy cannot go back to the
// pool until the copy is done.
func ExampleHostPool() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	pool := cuda.NewHostPool(dev, 4)
	defer pool.Close()
	s, _ := dev.NewStream(0)
	d, _ := dev.Alloc(1 << 20)

	buf, _ := pool.Get(1 << 20)
	gate := make(chan struct{})
	_ = s.(cuda.HostFuncLauncher).LaunchHostFunc(func(error) { <-gate }) // hold the stream
	_ = s.CopyHtoD(d, 0, buf, 0, 1<<20)
	fmt.Println(pool.Put(buf))
	close(gate)
	_ = s.Synchronize()
	fmt.Println(pool.Put(buf))
	again, _ := pool.Get(1 << 20)
	fmt.Println(again == buf)
	// Output:
	// cuda: HostPool.Put: an asynchronous copy still uses the 1048576-byte buffer: buffer busy
	// <nil>
	// true
}

// A stream-ordered device memory pool: a block freed on a stream is reused
// at once on that stream.
func ExampleMemPool() {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	pool := cuda.NewMemPool(dev)
	defer pool.Close()
	s, _ := dev.NewStream(0)

	a, _ := pool.Alloc(s, 4096)
	_ = s.Memset(a, 0, 4096, 0)
	_ = pool.Free(s, a) // the memset may still be running
	b, _ := pool.Alloc(s, 4096)
	fmt.Println(a == b)
	// Output: true
}
