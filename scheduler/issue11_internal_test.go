package scheduler

import (
	"errors"
	"testing"

	"github.com/coawait/coawait/cuda/sim"
)

// A foreign stream is refused without the scheduler keeping a lane for it
// (the loop would poll that lane for the scheduler's whole life).
func TestForeignStreamKeepsNoLane(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	other := sim.New(sim.Config{})
	defer other.Close()
	s, err := New(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := other.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := other.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	before := len(*s.lanes.Load())
	if err := s.Memset(p, 0, 4, 1, OnStream(st)).Err(); !errors.Is(err, ErrForeign) {
		t.Fatalf("err = %v, want ErrForeign", err)
	}
	if after := len(*s.lanes.Load()); after != before {
		t.Fatalf("%d lanes after a foreign stream, %d before", after, before)
	}
}
