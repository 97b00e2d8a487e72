package async_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"

	"github.com/coawait/coawait/async"
	"github.com/coawait/coawait/future"
)

//go:noinline
func blockAsCallerA(wg *sync.WaitGroup, release <-chan struct{}) {
	wg.Done()
	<-release
}

//go:noinline
func blockAsCallerB(wg *sync.WaitGroup, release <-chan struct{}) {
	wg.Done()
	<-release
}

// TestGoRunsTaskOnItsCallersGoroutine starts tasks alternately under two
// pprof label sets and checks, in a goroutine profile, that every task
// runs on a goroutine that carries its own caller's labels (which a go
// statement passes on to the goroutine it starts), not the other caller's.
func TestGoRunsTaskOnItsCallersGoroutine(t *testing.T) {
	// One processor: the new goroutines run only once the loop below has
	// started them all, so a task handed to whichever goroutine runs
	// first would be caught.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const perCaller = 32
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2 * perCaller)
	ctx := context.Background()
	taskA := func(context.Context) (int, error) { blockAsCallerA(&started, release); return 0, nil }
	taskB := func(context.Context) (int, error) { blockAsCallerB(&started, release); return 0, nil }
	var futures []*future.Future[int]
	for range perCaller {
		pprof.Do(ctx, pprof.Labels("caller", "A"), func(ctx context.Context) {
			futures = append(futures, async.Go(ctx, taskA))
		})
		pprof.Do(ctx, pprof.Labels("caller", "B"), func(ctx context.Context) {
			futures = append(futures, async.Go(ctx, taskB))
		})
	}
	started.Wait()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	close(release)
	for _, f := range futures {
		if _, err := f.Await(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		var caller string
		switch {
		case strings.Contains(rec, ".blockAsCallerA"):
			caller = "A"
		case strings.Contains(rec, ".blockAsCallerB"):
			caller = "B"
		default:
			continue
		}
		var n int
		if i := strings.Index(rec, " @ "); i >= 0 {
			rec = rec[strings.LastIndex(rec[:i], "\n")+1:]
		}
		if _, err := fmt.Sscan(rec, &n); err != nil {
			t.Fatalf("cannot read the count of a profile record: %v\n%s", err, rec)
		}
		want := `# labels: {"caller":"` + caller + `"}`
		if !strings.Contains(rec, want) {
			t.Errorf("%d tasks of caller %s run on a goroutine without its labels (want %s):\n%s", n, caller, want, rec)
		}
		seen[caller] += n
	}
	if seen["A"] != perCaller || seen["B"] != perCaller {
		t.Errorf("the profile shows %d tasks of A and %d of B, want %d each:\n%s", seen["A"], seen["B"], perCaller, buf.String())
	}
}
