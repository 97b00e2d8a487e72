package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// nullDevice is a device whose streams and events do nothing: submitting
// to it costs next to nothing, so that what a benchmark on it measures is
// the scheduler's own cost. An event is done once its stream is released.
// Everything but streams and events is the simulator's.
type nullDevice struct{ *sim.Device }

func (d nullDevice) NewStream(int) (cuda.Stream, error)         { return &nullStream{dev: d}, nil }
func (nullDevice) NewEvent(cuda.EventFlags) (cuda.Event, error) { return new(nullEvent), nil }

// nullStream holds its work until released.
type nullStream struct {
	dev      cuda.Device
	released atomic.Bool
}

func (s *nullStream) Device() cuda.Device { return s.dev }
func (*nullStream) Priority() int         { return 0 }
func (*nullStream) CopyHtoD(cuda.DevicePtr, int, *cuda.HostBuffer, int, int) error {
	return nil
}
func (*nullStream) CopyDtoH(*cuda.HostBuffer, int, cuda.DevicePtr, int, int) error {
	return nil
}
func (*nullStream) CopyDtoD(cuda.DevicePtr, int, cuda.DevicePtr, int, int) error { return nil }
func (*nullStream) Memset(cuda.DevicePtr, int, int, byte) error                  { return nil }
func (*nullStream) Launch(cuda.Kernel, cuda.LaunchConfig, ...cuda.Arg) error     { return nil }
func (s *nullStream) RecordEvent(e cuda.Event) error {
	e.(*nullEvent).st.Store(s)
	return nil
}
func (*nullStream) WaitEvent(cuda.Event) error { return nil }
func (*nullStream) Synchronize() error         { return nil }
func (*nullStream) Close() error               { return nil }

type nullEvent struct{ st atomic.Pointer[nullStream] }

func (e *nullEvent) Query() (bool, error) {
	st := e.st.Load()
	return st == nil || st.released.Load(), nil
}
func (*nullEvent) Synchronize() error { return nil }
func (*nullEvent) Close() error       { return nil }

// BenchmarkSubmitOverhead: the scheduler's own host cost of submitting a
// kernel launch, on a device that does nothing (BenchmarkSubmit measures
// it against calling the simulator directly). Batches are held and
// drained as in BenchmarkSubmit.
func BenchmarkSubmitOverhead(b *testing.B) {
	b.Run("coawait", func(b *testing.B) {
		sd := sim.New(sim.Config{})
		defer sd.Close()
		spin, err := sd.Kernel(sim.BuiltinModule, "spin")
		if err != nil {
			b.Fatal(err)
		}
		s, err := scheduler.New(nullDevice{sd})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		st := &nullStream{dev: s.Device()}
		on := scheduler.OnStream(st)
		one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}
		args := []cuda.Arg{cuda.Int64(0)}
		ops := make([]*future.Future[struct{}], 0, submitBatch)
		hold := func() (release func()) {
			st.released.Store(false)
			return func() { st.released.Store(true) }
		}
		heldBatches(b, hold, func(_, n int) {
			for range n {
				ops = append(ops, s.Launch(spin, one, args, on).Future)
			}
		}, func() {
			if _, err := future.All(ops...).Await(context.Background()); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		})
	})
}
