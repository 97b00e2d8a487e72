package scheduler_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
)

// A closed scheduler's error matches both ErrClosed and cuda.ErrClosed, so
// one check finds a closed scheduler and a closed device; a closed device's
// error does not claim that the scheduler was closed.
func TestErrClosedMatchesCuda(t *testing.T) {
	dev := sim.New(sim.Config{})
	s, err := scheduler.New(dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Memset(0, 0, 0, 0).Await(t.Context())
	if !errors.Is(err, scheduler.ErrClosed) || !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("op after Close: %v, want a match of scheduler.ErrClosed and cuda.ErrClosed", err)
	}
	if got, want := err.Error(), "scheduler: Memset: closed"; got != want {
		t.Errorf("op after Close: %q, want %q", got, want)
	}
	if err := s.Close(); !errors.Is(err, cuda.ErrClosed) {
		t.Errorf("second Close: %v, want a match of cuda.ErrClosed", err)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = dev.Alloc(8)
	if !errors.Is(err, cuda.ErrClosed) || errors.Is(err, scheduler.ErrClosed) {
		t.Errorf("Alloc on a closed device: %v, want a match of cuda.ErrClosed only", err)
	}
}

// Every sentinel of the package says where it comes from.
func TestSentinelPrefix(t *testing.T) {
	for _, err := range []error{scheduler.ErrClosed, scheduler.ErrForeign, scheduler.ErrUnsupported, scheduler.ErrDependency} {
		if !strings.HasPrefix(err.Error(), "scheduler: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
	}
}
