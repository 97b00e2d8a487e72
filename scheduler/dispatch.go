package scheduler

import (
	"sync"
	"sync/atomic"

	"github.com/coawait/coawait/future"
)

// dispatcher runs continuations off the loop, in the order the loop
// settled their futures. Its goroutine is the scheduler's; the loop stops
// it when it ends.
type dispatcher struct {
	mu      sync.Mutex
	q       []future.Callbacks
	signal  chan struct{} // capacity 1
	stopped chan struct{}
	stopReq atomic.Bool
}

func (d *dispatcher) start() {
	d.signal = make(chan struct{}, 1)
	d.stopped = make(chan struct{})
	go d.run()
}

func (d *dispatcher) push(cbs future.Callbacks) {
	d.mu.Lock()
	d.q = append(d.q, cbs)
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.stopped)
	for {
		// Read stopReq before taking the queue: everything is pushed
		// before stop is requested, so once the request is seen, the
		// queue taken after it holds the last callbacks. (Checking it
		// after taking the queue could drop a push that came in between.)
		stopping := d.stopReq.Load()
		d.mu.Lock()
		q := d.q
		d.q = nil
		d.mu.Unlock()
		for _, cbs := range q {
			cbs.Run()
		}
		if len(q) > 0 {
			continue
		}
		if stopping {
			return
		}
		<-d.signal
	}
}

// stop ends the dispatcher after it has run everything pushed so far.
func (d *dispatcher) stop() {
	d.stopReq.Store(true)
	select {
	case d.signal <- struct{}{}:
	default:
	}
	<-d.stopped
}
