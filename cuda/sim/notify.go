package sim

import "slices"

// NotifyCompletions makes the stream send on ch, without blocking (a send
// that would block is dropped), each time it reaches the point where an
// event was recorded or a Synchronize call waits, or fails such a point
// because the device was lost or closed. The send comes after the event
// is done, so a goroutine woken by it that queries the event sees it
// done. stop ends the notifications and reports whether they were on; it
// does not wait for a send in progress.
//
// It is a simulator extension: a scheduler that would otherwise sleep
// between polls of the events can block on ch instead, which under
// testing/synctest makes it wake at the exact modeled time of each
// completion (a sleep would advance the fake clock past it). Give ch a
// buffer of one.
func (s *Stream) NotifyCompletions(ch chan<- struct{}) (stop func() bool) {
	if ch == nil {
		panic("sim: NotifyCompletions with a nil channel")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	s.setWatchersLocked(append(s.watchersLocked(), ch))
	return func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		w := s.watchersLocked()
		i := slices.Index(w, ch)
		if i < 0 {
			return false
		}
		s.setWatchersLocked(slices.Delete(slices.Clone(w), i, i+1))
		return true
	}
}

// watchersLocked returns a copy of the list of channels to notify, which
// the caller may change and store with setWatchersLocked. d.mu must be
// held.
func (s *Stream) watchersLocked() []chan<- struct{} {
	if w := s.watchers.Load(); w != nil {
		return slices.Clone(*w)
	}
	return nil
}

func (s *Stream) setWatchersLocked(w []chan<- struct{}) {
	if len(w) == 0 {
		s.watchers.Store(nil)
		return
	}
	s.watchers.Store(&w)
}

// notifyWatchers sends to every watcher that has room.
func (s *Stream) notifyWatchers() {
	w := s.watchers.Load()
	if w == nil {
		return
	}
	for _, ch := range *w {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
