package future_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/coawait/coawait/future"
)

type ctxKey struct{}

// Waiters with cancellable contexts, some of which are cancelled while
// others wait, must see either the future's result or their own context's
// error, never a wake-up meant for another context (the wakers that wake
// parked waiters are reused across contexts: see ctxwake.go).
func TestAwaitManyContextsCancelledWhileWaiting(t *testing.T) {
	const waiters, rounds = 4, 2000
	var wg sync.WaitGroup
	for w := range waiters {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				if rng.IntN(3) == 0 {
					// A wrapped context: the waiter selects instead of
					// parking (see ctxwake.go).
					ctx = context.WithValue(ctx, ctxKey{}, i)
				}
				f, p := future.New[int]()
				settle := rng.IntN(3) != 0
				cancelIt := !settle || rng.IntN(2) == 0
				var helper sync.WaitGroup
				helper.Go(func() {
					for range rng.IntN(3) {
						runtime.Gosched()
					}
					if settle {
						p.Resolve(i + 1)
					}
					if cancelIt {
						cancel()
					}
				})
				v, err := f.Await(ctx)
				switch {
				case err == nil:
					if !settle || v != i+1 {
						t.Errorf("round %d: Await = %d, nil; the future was settled: %v", i, v, settle)
					}
				case errors.Is(err, context.Canceled):
					if !cancelIt || ctx.Err() == nil || v != 0 {
						t.Errorf("round %d: Await = %d, %v with a context that was not cancelled", i, v, err)
					}
				default:
					t.Errorf("round %d: Await = %d, %v", i, v, err)
				}
				helper.Wait()
				cancel()
				if t.Failed() {
					return
				}
			}
		})
	}
	wg.Wait()
}
