package future_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/coawait/coawait/future"
)

func ExampleNew() {
	f, p := future.New[string]()
	go func() { p.Resolve("batch 0 ready") }()
	v, err := f.Await(context.Background())
	fmt.Println(v, err)
	// Output: batch 0 ready <nil>
}

func ExamplePromise_Resolve() {
	f, p := future.New[int]()
	fmt.Println(p.Resolve(1), p.Resolve(2)) // the second settle loses
	v, _ := f.Await(context.Background())
	fmt.Println(v)
	// Output:
	// true false
	// 1
}

func ExamplePromise_Reject() {
	f, p := future.New[int]()
	p.Reject(errors.New("device lost"))
	_, err := f.Await(context.Background())
	fmt.Println(err)
	// Output: device lost
}

func ExamplePromise_Settle() {
	f, p := future.New[int]()
	p.Settle(strconv.Atoi("12"))
	fmt.Println(f.Await(context.Background()))
	// Output: 12 <nil>
}

func ExampleResolved() {
	fmt.Println(future.Resolved(3.5).Await(context.Background()))
	// Output: 3.5 <nil>
}

func ExampleFailed() {
	_, err := future.Failed[int](errors.New("out of memory")).Await(context.Background())
	fmt.Println(err)
	// Output: out of memory
}

func ExampleFuture_Await() {
	f, _ := future.New[int]() // never settled
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err := f.Await(ctx)
	fmt.Println(err)
	// Output: context deadline exceeded
}

func ExampleFuture_Done() {
	f, p := future.New[int]()
	p.Resolve(1)
	select {
	case <-f.Done():
		fmt.Println("settled")
	case <-time.After(time.Second):
		fmt.Println("timed out")
	}
	// Output: settled
}

func ExampleFuture_Peek() {
	f, p := future.New[int]()
	_, ok := f.Peek()
	fmt.Println(ok, f.IsDone())
	p.Resolve(7)
	r, ok := f.Peek()
	fmt.Println(r.Value, r.Err, ok, f.IsDone(), f.Err())
	// Output:
	// false false
	// 7 <nil> true true <nil>
}

func ExampleFuture_OnDone() {
	f, p := future.New[int]()
	f.OnDone(func() { fmt.Println("first callback") })
	stop := f.OnDone(func() { fmt.Println("never printed") })
	fmt.Println("stopped:", stop())
	p.Resolve(1) // callbacks run here, on this goroutine
	// Output:
	// stopped: true
	// first callback
}

func ExampleThen() {
	path := future.Resolved("42")
	n := future.Then(path, strconv.Atoi)
	fmt.Println(n.Await(context.Background()))
	// Output: 42 <nil>
}

func ExampleMap() {
	f := future.Map(future.Resolved(20), func(v int) int { return v * 2 })
	fmt.Println(f.Await(context.Background()))
	// Output: 40 <nil>
}

func ExampleHandle() {
	f := future.Handle(future.Failed[int](errors.New("cache miss")), func(v int, err error) (int, error) {
		if err != nil {
			return -1, nil // fall back
		}
		return v, nil
	})
	fmt.Println(f.Await(context.Background()))
	// Output: -1 <nil>
}

func ExampleFlatMap() {
	load := func(id int) *future.Future[string] {
		f, p := future.New[string]()
		go p.Resolve(fmt.Sprintf("sample %d", id))
		return f
	}
	f := future.FlatMap(future.Resolved(7), load)
	fmt.Println(f.Await(context.Background()))
	// Output: sample 7 <nil>
}

func ExampleAll() {
	a, pa := future.New[int]()
	b, pb := future.New[int]()
	go pb.Resolve(2)
	go pa.Resolve(1)
	fmt.Println(future.All(a, b).Await(context.Background()))
	// Output: [1 2] <nil>
}

func ExampleAllSettled() {
	rs, _ := future.AllSettled(future.Resolved(1), future.Failed[int](errors.New("bad batch"))).Await(context.Background())
	for _, r := range rs {
		fmt.Println(r.Value, r.Err)
	}
	// Output:
	// 1 <nil>
	// 0 bad batch
}

func ExampleAny() {
	f := future.Any(future.Failed[string](errors.New("replica 0 down")), future.Resolved("replica 1"))
	fmt.Println(f.Await(context.Background()))
	_, err := future.Any(future.Failed[int](errors.New("a")), future.Failed[int](errors.New("b"))).Await(context.Background())
	fmt.Printf("%q\n", err)
	// Output:
	// replica 1 <nil>
	// "a\nb"
}

func ExampleRace() {
	never, _ := future.New[string]()
	f := future.Race(never, future.Resolved("fast"))
	fmt.Println(f.Await(context.Background()))
	// Output: fast <nil>
}

func ExampleJoin() {
	batch := future.Resolved([]float32{1, 2, 3})
	loss := future.Resolved(0.25)
	if _, err := future.Join(batch, loss).Await(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := batch.Await(context.Background()) // no longer blocks
	l, _ := loss.Await(context.Background())
	fmt.Println(b, l)
	// Output: [1 2 3] 0.25
}

func ExampleNewPanicError() {
	f, p := future.New[int]()
	func() {
		defer func() {
			if r := recover(); r != nil {
				p.Reject(future.NewPanicError(r))
			}
		}()
		panic("kernel table corrupt")
	}()
	_, err := f.Await(context.Background())
	var pe *future.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	// Output: true kernel table corrupt
}

func ExamplePromise_SettleDeferred() {
	f, p := future.New[string]()
	f.OnDone(func() { fmt.Println("continuation runs on the dispatcher") })
	cbs, _ := p.SettleDeferred("event done", nil) // on the event loop: wake, don't run user code
	v, _ := f.Await(context.Background())
	fmt.Println(v)
	cbs.Run() // later, on another goroutine
	// Output:
	// event done
	// continuation runs on the dispatcher
}
