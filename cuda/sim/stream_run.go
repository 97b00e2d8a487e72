package sim

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/coawait/coawait/cuda/internal/kit"
)

// run is the stream's goroutine.
func (s *Stream) run() {
	d := s.d
	defer d.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		d.mu.Lock()
		if len(s.queue) == 0 {
			if s.closing {
				delete(d.streams, s)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			select {
			case <-s.notify:
				continue
			case <-d.quit:
				s.drain(nil)
				return
			}
		}
		work := s.queue
		s.queue, s.spare = s.spare[:0], nil // never alias the batch being run
		d.mu.Unlock()
		for i := range work {
			if !s.exec(&work[i], timer) {
				s.drain(work[i+1:])
				return
			}
			work[i] = task{}
		}
		s.spare = work[:0]
	}
}

// drain fails rest and everything still queued with ErrClosed, after the
// device was closed.
func (s *Stream) drain(rest []task) {
	d := s.d
	for i := range rest {
		s.finish(&rest[i], d.abandonError(rest[i].kind))
	}
	d.mu.Lock()
	q := s.queue
	s.queue = nil
	delete(d.streams, s)
	d.mu.Unlock()
	for i := range q {
		s.finish(&q[i], d.abandonError(q[i].kind))
	}
}

// exec runs one task; it returns false if the device was closed meanwhile
// (the task has then been failed).
func (s *Stream) exec(t *task, timer *time.Timer) bool {
	d := s.d
	select {
	case <-d.quit: // Close abandons work not yet started
		s.finish(t, d.abandonError(t.kind))
		return false
	default:
	}
	if t.wait != nil {
		select {
		case <-t.wait.done:
		case <-d.lostCh:
		case <-d.quit:
			s.finish(t, d.abandonError(t.kind))
			return false
		}
	}
	if d.cfg.Mode == Modeled {
		if !s.sleepUntil(t, t.start, timer) {
			return false
		}
	}
	if err := d.lostErr(); err != nil {
		s.finish(t, err)
		return true
	}
	if t.fault != nil {
		d.lose(t.kind.String(), "injected fault", t.fault)
		s.finish(t, d.lostErr())
		return true
	}
	switch t.kind {
	case OpCopyHtoD, OpCopyDtoH, OpCopyDtoD:
		copy(t.dst, t.src)
	case OpMemset:
		if t.value == 0 || len(t.dst) == 0 {
			clear(t.dst)
		} else {
			t.dst[0] = t.value
			for n := 1; n < len(t.dst); n *= 2 {
				copy(t.dst[n:], t.dst[:n])
			}
		}
	case OpLaunch:
		if err := t.kernel.run(t.call); err != nil {
			d.lose(t.kernel.op, "", err)
			s.finish(t, d.lostErr())
			return true
		}
	}
	if d.cfg.Mode == Modeled && t.end > t.start {
		if !s.sleepUntil(t, t.end, timer) {
			return false
		}
	}
	if t.fn != nil {
		if err := callHostFunc(t.fn, nil); err != nil {
			d.lose(OpHostFunc.String(), "", err)
		}
		t.fn = nil
	}
	s.finish(t, nil)
	return true
}

// callHostFunc calls fn(err), turning a panic into an error.
func callHostFunc(fn func(error), err error) (perr error) {
	defer func() {
		if r := recover(); r != nil {
			perr = fmt.Errorf("sim: host function panicked: %v\n%s", r, debug.Stack())
		}
	}()
	fn(err)
	return nil
}

// sleepUntil waits until the model clock reaches at. It returns false if
// the device was closed (t has then been failed); if the device is lost it
// returns true early and exec fails t.
func (s *Stream) sleepUntil(t *task, at time.Duration, timer *time.Timer) bool {
	d := s.d
	wait := time.Until(d.epoch.Add(at))
	if wait <= 0 {
		return true
	}
	timer.Reset(wait)
	select {
	case <-timer.C:
		return true
	case <-d.lostCh:
		timer.Stop()
		return true
	case <-d.quit:
		timer.Stop()
		s.finish(t, d.abandonError(t.kind))
		return false
	}
}

// finish ends t with err: releases its host buffer, completes its mark and
// calls its host function.
func (s *Stream) finish(t *task, err error) {
	if t.host != nil {
		kit.Release(t.host, t.hostClaim)
		t.host = nil
	}
	if t.mark != nil {
		t.mark.err = err
		t.mark.at = time.Since(s.d.epoch)
		close(t.mark.done)
		t.mark = nil
		s.notifyWatchers()
	}
	if t.fn != nil {
		if perr := callHostFunc(t.fn, err); perr != nil {
			s.d.lose(OpHostFunc.String(), "", perr)
		}
		t.fn = nil
	}
}
