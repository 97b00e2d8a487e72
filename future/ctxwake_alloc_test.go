//go:build !race

package future_test

import (
	"context"
	"testing"

	"github.com/coawait/coawait/future"
)

// Awaiting with a context that can be cancelled parks without allocating,
// once a waker is registered with the context (see ctxwake.go). (Not with
// the race detector, whose sync.Pool drops items at random.)
func TestAwaitCancellableAllocatesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const runs = 1000
	type pair struct{ ping, pong future.Promise[int] }
	ps := make([]pair, runs+2)
	next := make(chan *pair, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range next {
			v, _ := p.ping.Future().Await(ctx)
			p.pong.Resolve(v)
		}
	}()
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		p := &ps[i]
		i++
		next <- p
		p.ping.Resolve(i)
		if v, err := p.pong.Future().Await(ctx); v != i || err != nil {
			t.Fatalf("Await = %v, %v", v, err)
		}
	})
	close(next)
	<-done
	if allocs > 0 {
		t.Fatalf("a ping-pong awaited with a cancellable context allocates %v times", allocs)
	}
}
