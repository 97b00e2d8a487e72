package future

import (
	"context"
	"testing"
	"time"
)

// A settled combinator unregisters itself from sources that are still
// pending, so that sources that never settle do not keep it reachable.
func TestCombinatorUnregistersFromPendingSources(t *testing.T) {
	tests := []struct {
		name string
		make func(slow, fast *Future[int])
	}{
		{"Race", func(s, f *Future[int]) { Race(s, f) }},
		{"Any", func(s, f *Future[int]) { Any(s, f) }},
		{"All", func(s, f *Future[int]) { All(s, f) }},
		{"Join", func(s, f *Future[int]) { Join(s, f) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slow, _ := New[int]()
			fast, pf := New[int]()
			tt.make(slow, fast)
			if slow.head == nil {
				t.Fatal("combinator did not register on the pending source")
			}
			if tt.name == "All" || tt.name == "Join" {
				pf.Reject(errTest)
			} else {
				pf.Resolve(1)
			}
			if slow.head != nil {
				t.Fatal("settled combinator is still registered on the pending source")
			}
		})
	}
}

type testError struct{}

func (testError) Error() string { return "test" }

var errTest error = testError{}

// stop must unlink a callback from the middle, the head and the tail.
func TestRemoveKeepsListConsistent(t *testing.T) {
	f, p := New[int]()
	var got []int
	var stops []func() bool
	for i := range 5 {
		stops = append(stops, f.OnDone(func() { got = append(got, i) }))
	}
	stops[2]()
	stops[0]()
	stops[4]()
	p.Resolve(0)
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("ran %v, want [1 3]", got)
	}
}

// Waiters park only with the contexts that package context's cancellable
// constructors return (see ctxwake.go).
func TestWakeable(t *testing.T) {
	bg := context.Background()
	c1, cancel1 := context.WithCancel(bg)
	defer cancel1()
	c2, cancel2 := context.WithCancelCause(bg)
	defer cancel2(nil)
	c3, cancel3 := context.WithTimeout(bg, time.Hour)
	defer cancel3()
	for _, ctx := range []context.Context{c1, c2, c3} {
		if !wakeable(ctx) {
			t.Errorf("%T is not wakeable", ctx)
		}
	}
	for _, ctx := range []context.Context{context.WithValue(c1, errTest, 1), struct{ context.Context }{c1}} {
		if wakeable(ctx) {
			t.Errorf("%T is wakeable", ctx)
		}
	}
}
