package scheduler

import (
	"bytes"
	"runtime"
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
	gid     atomic.Uint64 // the dispatcher goroutine's id, for isCaller
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
	d.gid.Store(goid())
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

// requestStop makes the dispatcher end once it has run everything pushed
// so far; it does not wait for that (see Close).
func (d *dispatcher) requestStop() {
	d.stopReq.Store(true)
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// isCaller reports whether the calling goroutine is d's, that is, whether
// the caller is a continuation that d is running.
func (d *dispatcher) isCaller() bool {
	select {
	case <-d.stopped:
		return false
	default:
	}
	return goid() == d.gid.Load()
}

// goid returns the calling goroutine's id, from the first line of its
// stack trace ("goroutine 18 [running]:"). Go has no other way to ask;
// only Close and the dispatcher's start call it, once each.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
