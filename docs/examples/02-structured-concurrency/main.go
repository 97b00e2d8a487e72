// Command structured-concurrency is the program of the tutorial
// "Structured concurrency" (docs/02-structured-concurrency.md): scopes,
// limits, errors, cancellation and panics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// decode stands in for reading and decoding one file: it takes 10ms, or
// less if ctx is done first.
func decode(ctx context.Context, name string) (int, error) {
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return len(name), nil
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// since is the time since start, rounded to 10ms so that a busy machine
// prints what the fake clock of the test does.
func since(start time.Time) time.Duration {
	return time.Since(start).Round(10 * time.Millisecond)
}

func run(ctx context.Context, w io.Writer) error {
	// 1. A limit: eight files, at most three decoding at once. Spawn gives
	// each task's result as a future; Wait returns once all have ended.
	start := time.Now()
	s, sctx := async.NewScope(ctx)
	s.SetLimit(3)
	var running, peak atomic.Int32
	var sizes []*future.Future[int]
	for i := range 8 {
		sizes = append(sizes, async.Spawn(s, func(ctx context.Context) (int, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			return decode(ctx, fmt.Sprintf("file-%d.png", i))
		}))
	}
	if err := s.Wait(); err != nil {
		return err
	}
	all, _ := future.All(sizes...).Await(sctx) // all settled: no waiting
	fmt.Fprintf(w, "limit: %d files decoded, at most %d at once, in %v\n", len(all), peak.Load(), since(start))

	// 2. The first error cancels the siblings, and context.Cause says why.
	start = time.Now()
	s, sctx = async.NewScope(ctx)
	for shard := range 4 {
		s.Go(func(ctx context.Context) error {
			if shard == 3 {
				return fmt.Errorf("shard %d is corrupt", shard)
			}
			select { // a long read, unless cancelled
			case <-time.After(time.Second):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}
	err := s.Wait()
	fmt.Fprintf(w, "error: Wait returned %q after %v; cause: %v\n", err, since(start), context.Cause(sctx))

	// 3. A panic in a task becomes the scope's error, with its stack.
	s, _ = async.NewScope(ctx)
	s.Go(func(context.Context) error {
		var table []int
		_ = table[3] // index out of range
		return nil
	})
	var pe *future.PanicError
	if err := s.Wait(); errors.As(err, &pe) {
		fmt.Fprintf(w, "panic: recovered %q, stack kept: %v\n", pe.Value, len(pe.Stack) > 0)
	}

	// 4. Cancelling from outside: the tasks see the parent's cause.
	parent, cancel := context.WithCancelCause(ctx)
	s, _ = async.NewScope(parent)
	for _, name := range []string{"a.png", "b.png"} {
		s.Go(func(ctx context.Context) error {
			_, err := decode(ctx, name)
			return err
		})
	}
	cancel(errors.New("the user pressed Ctrl-C"))
	fmt.Fprintln(w, "cancel: Wait returned", s.Wait())
	return nil
}
