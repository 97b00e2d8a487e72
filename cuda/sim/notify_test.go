package sim_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

// NotifyCompletions signals after an event's point is reached, with the
// event already done, at the modeled time under synctest; stop ends it.
func TestNotifyCompletions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := sim.New(sim.Config{Mode: sim.Modeled})
		defer d.Close()
		st, err := d.NewStream(0)
		if err != nil {
			t.Fatal(err)
		}
		k, err := d.Kernel(sim.BuiltinModule, "spin")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := d.NewEvent(0)
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan struct{}, 1)
		stop := st.(*sim.Stream).NotifyCompletions(ch)
		start := time.Now()
		if err := st.Launch(k, cuda.LaunchConfig{}, cuda.Int64(int64(time.Millisecond))); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordEvent(ev); err != nil {
			t.Fatal(err)
		}
		<-ch
		if done, err := ev.Query(); !done || err != nil {
			t.Fatalf("signalled before the event was done: %v, %v", done, err)
		}
		if got, want := time.Since(start), sim.DefaultTiming().LaunchLatency+time.Millisecond; got != want {
			t.Fatalf("signalled at %v, want %v", got, want)
		}
		if !stop() || stop() {
			t.Fatal("stop did not report the notifications on, then off")
		}
		if err := st.RecordEvent(ev); err != nil {
			t.Fatal(err)
		}
		if err := ev.Synchronize(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			t.Fatal("signalled after stop")
		default:
		}
		defer func() {
			if recover() == nil {
				t.Error("NotifyCompletions(nil) did not panic")
			}
		}()
		st.(*sim.Stream).NotifyCompletions(nil)
	})
}
