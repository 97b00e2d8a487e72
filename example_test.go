package coawait_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
)

// Two tasks started together and awaited together, as a C++20 coroutine
// would co_await when_all(load(), compute()): each async.Go returns a
// future at once, and future.All settles when both have.
func Example() {
	ctx := context.Background()
	load := async.Go(ctx, func(ctx context.Context) (string, error) {
		return strings.Repeat("x", 3), nil // read and decode a batch
	})
	compute := async.Go(ctx, func(ctx context.Context) (string, error) {
		return "step 1 done", nil // run the model on the previous batch
	})
	both, err := future.All(load, compute).Await(ctx)
	fmt.Println(both, err)
	// Output: [xxx step 1 done] <nil>
}
