package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

func BenchmarkTmpSubmit(b *testing.B) {
	const batch = 1000
	for _, pol := range []struct {
		name string
		opts []scheduler.Option
	}{
		{"adaptive", nil},
		{"nospin", []scheduler.Option{scheduler.WithSpin(0, 100*time.Microsecond)}},
		{"blocking", []scheduler.Option{scheduler.WithPolicy(scheduler.Blocking)}},
	} {
		b.Run(pol.name, func(b *testing.B) {
			e := newSimEnv(b, sim.Instant)
			s, err := scheduler.New(e.dev, pol.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			args := e.args(0)
			onSt := scheduler.OnStream(e.st)
			ops := make([]*future.Future[struct{}], 0, batch)
			hl := e.st.(cuda.HostFuncLauncher)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				b.StopTimer()
				gate := make(chan struct{})
				hl.LaunchHostFunc(func(error) { <-gate })
				b.StartTimer()
				for j := 0; j < batch && i < b.N; j, i = j+1, i+1 {
					ops = append(ops, s.Launch(e.spin, e.one, args, onSt).Future)
				}
				b.StopTimer()
				close(gate)
				future.All(ops...).Await(context.Background())
				ops = ops[:0]
				b.StartTimer()
			}
		})
	}
}

type fakeOp struct {
	p   [47]*int
}

var opSink *fakeOp

func BenchmarkTmpRawAlloc(b *testing.B) {
	const batch = 1000
	e := newSimEnv(b, sim.Instant)
	args := e.args(0)
	evs := make([]cuda.Event, batch)
	for i := range evs {
		evs[i], _ = e.dev.NewEvent(cuda.EventDisableTiming)
	}
	hl := e.st.(cuda.HostFuncLauncher)
	ops := make([]*fakeOp, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		b.StopTimer()
		gate := make(chan struct{})
		hl.LaunchHostFunc(func(error) { <-gate })
		b.StartTimer()
		for j := 0; j < batch && i < b.N; j, i = j+1, i+1 {
			ops[j] = &fakeOp{}
			e.st.Launch(e.spin, e.one, args...)
			e.st.RecordEvent(evs[j])
		}
		b.StopTimer()
		close(gate)
		e.st.Synchronize()
		b.StartTimer()
	}
}
