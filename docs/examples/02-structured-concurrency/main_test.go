package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coawait/coawait/docs/internal/golden"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// On synctest's fake clock the program prints exactly what output.txt
// (quoted by the page) says: the times are the model's, not the machine's.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), &out); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, out.Bytes())
	})
}

// decode takes its 10ms, and returns the cause at once when cancelled.
func TestDecode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if n, err := decode(t.Context(), "abc"); n != 3 || err != nil || time.Since(start) != 10*time.Millisecond {
			t.Errorf("decode = %d, %v after %v; want 3, nil after 10ms", n, err, time.Since(start))
		}
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(os.ErrDeadlineExceeded)
		if _, err := decode(ctx, "abc"); err != os.ErrDeadlineExceeded {
			t.Errorf("cancelled decode = %v, want the cause", err)
		}
	})
}
