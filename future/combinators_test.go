package future_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/coawait/coawait/future"
	"github.com/google/go-cmp/cmp"
)

func TestCombinatorsTable(t *testing.T) {
	e1, e2 := errors.New("e1"), errors.New("e2")
	type step struct {
		i   int
		v   int
		err error
	}
	tests := []struct {
		name  string
		n     int
		steps []step
		// want* are the results once the steps ran; pending means the
		// combinator must not have settled.
		all, anyR, race string
		allSettled      string
		join            string
	}{
		{"empty", 0, nil, "[] <nil>", "0 " + future.ErrEmpty.Error(), "0 " + future.ErrEmpty.Error(), "[] <nil>", "{} <nil>"},
		{"all succeed", 3, []step{{2, 30, nil}, {0, 10, nil}, {1, 20, nil}}, "[10 20 30] <nil>", "30 <nil>", "30 <nil>", "[{10 <nil>} {20 <nil>} {30 <nil>}] <nil>", "{} <nil>"},
		{"first error fails fast", 3, []step{{1, 0, e1}}, "[] e1", "pending", "0 e1", "pending", "{} e1"},
		{"error after success", 2, []step{{0, 1, nil}, {1, 0, e2}}, "[] e2", "1 <nil>", "1 <nil>", "[{1 <nil>} {0 e2}] <nil>", "{} e2"},
		{"all fail", 2, []step{{1, 0, e2}, {0, 0, e1}}, "[] e2", "0 e1\ne2", "0 e2", "[{0 e1} {0 e2}] <nil>", "{} e2"},
		{"partly settled", 3, []step{{0, 1, nil}}, "pending", "1 <nil>", "1 <nil>", "pending", "pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := make([]*future.Future[int], tt.n)
			ps := make([]*future.Promise[int], tt.n)
			as := make([]future.Awaitable, tt.n)
			for i := range fs {
				fs[i], ps[i] = future.New[int]()
				as[i] = fs[i]
			}
			all, allS, anyF, race, join := future.All(fs...), future.AllSettled(fs...), future.Any(fs...), future.Race(fs...), future.Join(as...)
			for _, s := range tt.steps {
				ps[s.i].Settle(s.v, s.err)
			}
			check := func(name string, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			check("All", outcome(all), tt.all)
			check("AllSettled", outcome(allS), tt.allSettled)
			check("Any", outcome(anyF), tt.anyR)
			check("Race", outcome(race), tt.race)
			check("Join", outcome(join), tt.join)
		})
	}
}

// outcome renders a future's state: "pending", or "value error".
func outcome[T any](f *future.Future[T]) string {
	r, ok := f.Peek()
	v, err := r.Value, r.Err
	if !ok {
		return "pending"
	}
	if err != nil {
		var zero T
		if s := fmt.Sprint(zero); s == "[]" || s == "{}" {
			return s + " " + err.Error()
		}
		return fmt.Sprint(zero) + " " + err.Error()
	}
	return fmt.Sprint(v) + " " + "<nil>"
}

func TestCombinatorsWithSettledInputs(t *testing.T) {
	ctx := context.Background()
	got, err := future.All(future.Resolved(1), future.Resolved(2)).Await(ctx)
	if diff := cmp.Diff([]int{1, 2}, got); diff != "" || err != nil {
		t.Fatalf("All (-want +got):\n%s err %v", diff, err)
	}
	pending, _ := future.New[int]()
	if _, err := future.All(pending, future.Failed[int](errBoom)).Await(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("All with a failed input: %v", err)
	}
	if v, err := future.Race(pending, future.Resolved(5)).Await(ctx); v != 5 || err != nil {
		t.Fatalf("Race = %v, %v", v, err)
	}
	if v, err := future.Any(future.Failed[int](errBoom), pending, future.Resolved(6)).Await(ctx); v != 6 || err != nil {
		t.Fatalf("Any = %v, %v", v, err)
	}
	if _, err := future.Join(future.Resolved("a"), future.Failed[float64](errBoom), pending).Await(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("Join = %v", err)
	}
}
