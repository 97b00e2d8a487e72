package kit

import (
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/order"
)

// Queue is a stream's place in its device's order of work (see package
// cuda/internal/order, which package cuda's own backend shares): a copy
// may use a buffer that earlier copies hold if it is ordered after each of
// them on the device, that is, if it is on the same stream, or its stream
// waited ([cuda.Stream.WaitEvent]), directly or through other streams, for
// an event recorded after them. The zero Queue is unordered with
// everything; make queues with [NewQueue].
type Queue = order.Queue

// A Mark is a point of a queue, taken when an event is recorded; see
// [Queue.Mark].
type Mark = order.Mark

// NewQueue returns the order of a new stream, ordered after nothing.
func NewQueue() *Queue { return order.NewQueue() }

// Use is one claim on a range of a host buffer, returned by [Acquire] and
// ended by [Release].
type Use struct {
	at     order.Point
	off, n int
	write  bool
}

// Acquire claims the byte range [off, off+n) of b for a copy submitted now
// to the stream whose order is q, which reads the range (write false) or
// writes it (write true), after checking that the range is inside the
// buffer, and returns that range and the claim. It fails with
// [cuda.ErrBufferBusy] if the range overlaps one claimed by a copy that q
// is not ordered after (see [Queue]) and either copy writes. A nil q is
// ordered after nothing. Every successful Acquire must be paired with one
// Release of its claim when the copy is done or abandoned. An empty range
// is never tracked.
func Acquire(b *cuda.HostBuffer, op string, q *Queue, write bool, off, n int) ([]byte, Use, error) {
	at := q.Point()
	mem, err := acquire(b, op, at, func(earlier any) bool { return q.Covers(earlier.(order.Point)) }, write, off, n)
	if err != nil {
		return nil, Use{}, err
	}
	return mem, Use{at: at, off: off, n: n, write: write}, nil
}

// Release ends the claim u of b made by Acquire. A Release without its
// Acquire panics.
func Release(b *cuda.HostBuffer, u Use) { release(b, u.at, u.write, u.off, u.n) }
