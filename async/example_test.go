package async_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
)

func ExampleGo() {
	ctx := context.Background()
	batch := async.Go(ctx, func(context.Context) ([]float32, error) {
		return []float32{1, 2, 3}, nil // read and decode a batch
	})
	// ... do other work while the batch loads ...
	b, err := batch.Await(ctx)
	fmt.Println(b, err)
	// Output: [1 2 3] <nil>
}

func ExampleNewScope() {
	s, ctx := async.NewScope(context.Background())
	s.Go(func(ctx context.Context) error {
		<-ctx.Done() // a long task, cancelled by its sibling's failure
		return nil
	})
	s.Go(func(context.Context) error { return errors.New("shard 3 is corrupt") })
	fmt.Println(s.Wait())
	fmt.Println(context.Cause(ctx))
	// Output:
	// shard 3 is corrupt
	// shard 3 is corrupt
}

func ExampleScope_SetLimit() {
	s, _ := async.NewScope(context.Background())
	s.SetLimit(2) // at most two files decode at once
	results := make([]int, 5)
	for i := range results {
		s.Go(func(context.Context) error {
			results[i] = i * i
			return nil
		})
	}
	fmt.Println(s.Wait(), results)
	// Output: <nil> [0 1 4 9 16]
}

func ExampleScope_TryGo() {
	var s async.Scope
	s.SetLimit(1)
	release := make(chan struct{})
	wait := func(context.Context) error { <-release; return nil }
	fmt.Println(s.TryGo(wait), s.TryGo(wait)) // running, refused: no queueing
	close(release)
	fmt.Println(s.Wait())
	// Output:
	// true false
	// <nil>
}

func ExampleSpawn() {
	s, _ := async.NewScope(context.Background())
	a := async.Spawn(s, func(context.Context) (int, error) { return 20, nil })
	b := async.Spawn(s, func(context.Context) (int, error) { return 22, nil })
	if err := s.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	sum, _ := future.All(a, b).Await(context.Background())
	fmt.Println(sum[0] + sum[1])
	// Output: 42
}

func ExampleGenerate() {
	ctx := context.Background()
	fib := async.Generate(ctx, func(_ context.Context, yield func(int) bool) error {
		a, b := 0, 1
		for {
			if !yield(a) { // co_yield a
				return nil
			}
			a, b = b, a+b
		}
	})
	for v, err := range fib {
		if err != nil || v > 50 {
			break
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 0 1 1 2 3 5 8 13 21 34
}

func ExampleNewGenerator() {
	lines := async.Generate(context.Background(), func(_ context.Context, yield func(string) bool) error {
		for _, l := range strings.Split("a,b,c", ",") {
			if !yield(l) {
				return nil
			}
		}
		return errors.New("truncated file")
	})
	g := async.NewGenerator(lines)
	defer g.Stop()
	for g.Next() {
		fmt.Print(g.Value(), " ")
	}
	fmt.Println(g.Err())
	// Output: a b c truncated file
}

func ExamplePrefetch() {
	ctx := context.Background()
	batches := async.Generate(ctx, func(_ context.Context, yield func(int) bool) error {
		for i := range 4 {
			if !yield(i) { // read batch i from disk
				return nil
			}
		}
		return nil
	})
	// The loader reads up to two batches ahead while the loop trains.
	for b, err := range async.Prefetch(ctx, batches, 2) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Print("train on batch ", b, "; ")
	}
	fmt.Println()
	// Output: train on batch 0; train on batch 1; train on batch 2; train on batch 3;
}

func ExampleParallelMap() {
	ctx := context.Background()
	paths := async.Generate(ctx, func(_ context.Context, yield func(string) bool) error {
		for _, p := range []string{"a.jpg", "bb.jpg", "ccc.jpg"} {
			if !yield(p) {
				return nil
			}
		}
		return nil
	})
	decode := func(_ context.Context, path string) (int, error) { return len(path), nil }
	// Four decoders at once; results come back in input order.
	for size, err := range async.ParallelMap(ctx, paths, 4, decode) {
		fmt.Println(size, err)
	}
	// Output:
	// 5 <nil>
	// 6 <nil>
	// 7 <nil>
}
