package kit_test

import (
	"errors"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// A use is covered by a queue that waited, directly or through other
// queues, for a mark taken after it; not by a mark taken before it.
func TestQueueOrder(t *testing.T) {
	b := kit.NewHostBuffer(new(fakeDevice), kit.AlignedBytes(64))
	a, q, r, s := kit.NewQueue(), kit.NewQueue(), kit.NewQueue(), kit.NewQueue()
	early := a.Mark()
	_, w, err := kit.Acquire(b, "w", a, true, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	busy := func(name string, q *kit.Queue, write bool) {
		t.Helper()
		if _, _, err := kit.Acquire(b, name, q, write, 0, 8); !errors.Is(err, cuda.ErrBufferBusy) {
			t.Fatalf("%s: err = %v, want ErrBufferBusy", name, err)
		}
	}
	busy("unordered read", q, false)
	s.Wait(early)
	busy("read after a mark before the write", s, false)
	q.Wait(a.Mark())
	_, rd, err := kit.Acquire(b, "ordered read", q, false, 0, 64)
	if err != nil {
		t.Fatalf("read ordered after the write: %v", err)
	}
	busy("write unordered with the read", r, true)
	r.Wait(q.Mark()) // r is ordered after q, and so after a
	_, w2, err := kit.Acquire(b, "ordered write", r, true, 0, 64)
	if err != nil {
		t.Fatalf("write ordered after the read and, transitively, the write: %v", err)
	}
	q.Wait(r.Mark()) // a cycle of waits changes nothing that matters
	var zero kit.Queue
	zero.Wait(a.Mark())
	busy("zero queue", &zero, false)
	for _, u := range []kit.Use{w, rd, w2} {
		kit.Release(b, u)
	}
	if b.Busy() {
		t.Fatal("busy after every release")
	}
}
