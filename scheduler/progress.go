package scheduler

import (
	"runtime"
	"time"
)

// completionNotifier is implemented by streams that can signal their
// completions on a channel (the simulator's, sim.Stream.NotifyCompletions):
// the loop then waits for that signal where it would sleep or block in
// the device, which is exact under testing/synctest (a sleep advances the
// fake clock past the completion; a spinning loop stops the clock).
type completionNotifier interface {
	NotifyCompletions(ch chan<- struct{}) (stop func() bool)
}

// progressState is the loop's completion signal; set up by New and
// laneFor.
type progressState struct {
	// ch receives a value after a completion on any lane's stream that
	// signals (capacity 1); nil if the default streams do not signal.
	// Written once by New.
	ch chan struct{}
	// all is true while every lane's stream signals: only then may the
	// loop wait for ch alone. Guarded by Scheduler.lanesMu.
	all   bool
	stops []func() bool // guarded by Scheduler.lanesMu
}

// initProgress sets up the completion signal for the default lanes,
// before the loop starts.
func (s *Scheduler) initProgress(lanes []*lane) {
	if _, ok := lanes[0].st.(completionNotifier); ok {
		s.prog.ch = make(chan struct{}, 1)
		s.prog.all = true
	}
	for _, l := range lanes {
		s.watch(l)
	}
}

// watch asks l's stream to signal the loop on completions. The caller
// holds s.lanesMu, or is New.
func (s *Scheduler) watch(l *lane) {
	cn, ok := l.st.(completionNotifier)
	switch {
	case !ok:
		s.prog.all = false
	case s.prog.ch != nil:
		s.prog.stops = append(s.prog.stops, cn.NotifyCompletions(s.prog.ch))
	}
}

// stopProgress ends the streams' signals, at release.
func (s *Scheduler) stopProgress() {
	s.lanesMu.Lock()
	defer s.lanesMu.Unlock()
	for _, stop := range s.prog.stops {
		stop()
	}
	s.prog.stops = nil
}

// waitsForSignal reports whether the loop may wait for the completion
// signal alone: every lane's stream signals.
func (s *Scheduler) waitsForSignal() bool {
	s.lanesMu.Lock()
	defer s.lanesMu.Unlock()
	return s.prog.ch != nil && s.prog.all
}

// waitSignal waits for a completion signal or a nudge (a submission to a
// parked loop, Close), or, unless every lane's stream signals, for at most
// maxBackoff. It accounts the time it blocks with lc.
func (s *Scheduler) waitSignal(lc *loopClock, timer *time.Timer) {
	lc.idle()
	defer lc.woke()
	if s.waitsForSignal() {
		select {
		case <-s.prog.ch:
		case <-s.wake:
		}
		return
	}
	timer.Reset(s.opts.maxBackoff)
	select {
	case <-timer.C:
	case <-s.prog.ch:
		timer.Stop()
	case <-s.wake:
		timer.Stop()
	}
}

// frozenClock is the Spin policy's guard against a clock that stands
// still: under testing/synctest the fake clock moves only when every
// goroutine of the bubble is blocked, so a loop that only spins would stop
// it for ever. Every maxSpinPolls polls it reads the clock; if the clock
// did not move since the last reading, the loop waits for a completion
// signal (or, if some stream does not signal, for up to maxBackoff, which
// lets the fake clock move) instead of yielding.
type frozenClock struct {
	polls int
	last  time.Time
}

// spinStep is one step of a spinning wait.
func (s *Scheduler) spinStep(f *frozenClock, lc *loopClock, timer *time.Timer) {
	f.polls++
	if f.polls%maxSpinPolls != 0 {
		runtime.Gosched()
		return
	}
	now := time.Now()
	if !now.Equal(f.last) {
		f.last = now
		runtime.Gosched()
		return
	}
	s.waitSignal(lc, timer)
}
