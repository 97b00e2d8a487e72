// Command generators-and-prefetch is the program of the tutorial
// "Generators and prefetching pipelines" (docs/03-generators-and-prefetch.md):
// co_yield with async.Generate, pulling with a Generator, reading ahead with
// Prefetch, and an ordered parallel ParallelMap, all with bounded work in
// flight.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/async"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// sleep waits d, or returns ctx's cause if ctx is done first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// records is a generator: it reads n records, 5ms each, and yields each
// one's number as soon as it is read. produced counts the records read.
func records(ctx context.Context, n int, produced *atomic.Int32) iter.Seq2[int, error] {
	return async.Generate(ctx, func(ctx context.Context, yield func(int) bool) error {
		for i := range n {
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
			produced.Add(1)
			if !yield(i) { // co_yield i
				return nil // the consumer stopped
			}
		}
		return nil
	})
}

// consume takes 10ms per record and returns the largest number of records
// the producer had read ahead of the one being consumed.
func consume(ctx context.Context, seq iter.Seq2[int, error], produced *atomic.Int32) (lead int32, err error) {
	consumed := int32(0)
	for _, err := range seq {
		if err != nil {
			return lead, err
		}
		consumed++
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return lead, err
		}
		lead = max(lead, produced.Load()-consumed)
	}
	return lead, nil
}

// since is the time since start, rounded to 10ms so that a busy machine
// prints what the fake clock of the test does.
func since(start time.Time) time.Duration {
	return time.Since(start).Round(10 * time.Millisecond)
}

func run(ctx context.Context, w io.Writer) error {
	// 1. A generator runs as a coroutine on the consumer's goroutine: one
	// record is read, then consumed, then the next is read.
	var produced atomic.Int32
	start := time.Now()
	lead, err := consume(ctx, records(ctx, 10, &produced), &produced)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "in turn:       10 records in %v, producer ahead by at most %d\n", since(start), lead)

	// 2. Prefetch runs the same generator on a goroutine of its own, at
	// most depth records ahead of the consumer (backpressure).
	for _, depth := range []int{1, 2, 4} {
		produced.Store(0)
		start = time.Now()
		lead, err := consume(ctx, async.Prefetch(ctx, records(ctx, 10, &produced), depth), &produced)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "prefetch %d:    10 records in %v, producer ahead by at most %d\n", depth, since(start), lead)
	}

	// 3. ParallelMap decodes on four workers and yields in input order.
	start = time.Now()
	var order []int
	decode := func(ctx context.Context, i int) (int, error) {
		return i * i, sleep(ctx, 40*time.Millisecond)
	}
	for sq, err := range async.ParallelMap(ctx, async.Prefetch(ctx, records(ctx, 8, &produced), 2), 4, decode) {
		if err != nil {
			return err
		}
		order = append(order, sq)
	}
	fmt.Fprintf(w, "parallel map:  %v in %v\n", order, since(start))

	// 4. A Generator pulls values one at a time; an error ends it.
	failing := async.Generate(ctx, func(ctx context.Context, yield func(string) bool) error {
		for _, name := range []string{"a.idx", "b.idx"} {
			if !yield(name) {
				return nil
			}
		}
		return errors.New("c.idx: truncated file")
	})
	g := async.NewGenerator(failing)
	defer g.Stop()
	for g.Next() {
		fmt.Fprintln(w, "pulled", g.Value())
	}
	fmt.Fprintln(w, "then:", g.Err())
	return nil
}
