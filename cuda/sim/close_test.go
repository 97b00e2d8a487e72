package sim_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

// TestCloseAbandonsPendingWork checks that Close lets the running operation
// finish and fails every operation not yet started with ErrClosed.
func TestCloseAbandonsPendingWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := sim.New(sim.Config{})
		s := must(dev.NewStream(0))(t).(*sim.Stream)
		d := must(dev.Alloc(64))(t)
		h := must(dev.AllocHost(64))(t)
		gate, started := make(chan struct{}), make(chan struct{})
		var running, after error = errors.New("not called"), errors.New("not called")
		ok(t, s.LaunchHostFunc(func(err error) { running = err; close(started); <-gate }))
		ok(t, s.CopyHtoD(d, 0, h, 0, 64))
		ok(t, s.LaunchHostFunc(func(err error) { after = err }))
		<-started // the first host function is running before Close
		closed := make(chan error)
		go func() { closed <- dev.Close() }()
		synctest.Wait() // Close waits for the running host function
		if !h.Busy() {
			t.Error("host buffer of a queued copy is not busy")
		}
		close(gate)
		ok(t, <-closed)
		if running != nil {
			t.Errorf("running host function got %v, want nil", running)
		}
		if !errors.Is(after, cuda.ErrClosed) {
			t.Errorf("queued host function got %v, want ErrClosed", after)
		}
		if _, err := h.Bytes(); !errors.Is(err, cuda.ErrClosed) {
			t.Errorf("host buffer after Close: %v", err)
		}
		if h.Busy() {
			t.Error("abandoned copy left the host buffer busy")
		}
	})
}

// TestStreamCloseDrains checks that closing a stream runs its queued work
// and ends its goroutine (goleak checks the rest).
func TestStreamCloseDrains(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s := must(dev.NewStream(0))(t)
	d := must(dev.Alloc(1 << 16))(t)
	h := must(dev.AllocHost(1 << 16))(t)
	for i := range 100 {
		ok(t, s.Memset(d, 0, 1<<16, byte(i)))
	}
	ok(t, s.CopyDtoH(h, 0, d, 0, 1<<16))
	ok(t, s.Close())
	ok(t, dev.Synchronize())
	b := must(h.Bytes())(t)
	if b[0] != 99 || b[len(b)-1] != 99 {
		t.Errorf("after stream Close: %d, %d; want 99", b[0], b[len(b)-1])
	}
}
