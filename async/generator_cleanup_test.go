package async_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/coawait/coawait/async"
	"go.uber.org/goleak"
)

// startAndDropGenerator pulls one value from an endless generator and
// drops it without calling Stop. stopped is closed when the producer
// returns.
//
//go:noinline
func startAndDropGenerator(t *testing.T, stopped chan<- struct{}) {
	g := async.NewGenerator(async.Generate(context.Background(), func(ctx context.Context, yield func(int) bool) error {
		defer close(stopped)
		for i := 0; yield(i); i++ {
		}
		return nil
	}))
	if !g.Next() || g.Value() != 0 {
		t.Fatalf("Next = %v, %v", g.Value(), g.Err())
	}
}

// A Generator dropped without Stop must not leak its coroutine: once it is
// unreachable, a garbage collection stops it.
func TestGeneratorDroppedWithoutStopIsStopped(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	stopped := make(chan struct{})
	startAndDropGenerator(t, stopped)
	deadline := time.After(10 * time.Second) // a bound on failure, not a wait for success
	for {
		runtime.GC() // finds the Generator unreachable and queues its cleanup
		select {
		case <-stopped:
			return
		case <-deadline:
			t.Fatal("the producer of a dropped Generator still runs after garbage collections")
		case <-time.After(time.Millisecond):
		}
	}
}

// A Generator still in use is not stopped by garbage collections.
func TestGeneratorInUseSurvivesCollections(t *testing.T) {
	g := async.NewGenerator(async.Generate(context.Background(), func(ctx context.Context, yield func(int) bool) error {
		for i := 0; yield(i); i++ {
		}
		return nil
	}))
	defer g.Stop()
	for want := range 5 {
		if !g.Next() || g.Value() != want {
			t.Fatalf("Next = %v, %v, %v; want %d", false, g.Value(), g.Err(), want)
		}
		runtime.GC()
		runtime.GC()
	}
}
