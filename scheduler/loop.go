package scheduler

import (
	"time"

	"github.com/coawait/coawait/cuda"
)

// loopClock accounts the loop's busy time: awake is when the loop last
// woke from a park, a sleep or a blocking wait, and the time until it
// blocks again is its busy time, an upper bound of the CPU it used
// (spinning included).
type loopClock struct {
	m     *metrics
	awake time.Time
}

// idle counts the time since the loop woke as busy; call it before the
// loop blocks.
func (lc *loopClock) idle() { lc.m.busy.Add(int64(time.Since(lc.awake))) }

// woke notes that the loop woke.
func (lc *loopClock) woke() { lc.awake = time.Now() }

// loop is the scheduler's event loop; it runs until Close.
func (s *Scheduler) loop() {
	defer close(s.done)
	defer s.disp.requestStop() // not waiting: Close may be running in a continuation
	lc := loopClock{m: &s.m, awake: time.Now()}
	s.pol.active(lc.awake)
	for {
		// Read closed before pending: a submitter counts itself in pending
		// before it checks closed, so if the loop saw closed and then no
		// pending operation, every later submitter sees closed and fails
		// its operation instead of queueing it behind a loop that is gone.
		closed := s.closed.Load()
		n := s.pol.poll()
		// Read the shared pending count only when the lanes are empty:
		// while work flows the loop reads nothing that submitters write,
		// so it does not slow them down. (Under HostCallback the lanes
		// hold the pending operations, for opOfFuture, but are not polled.)
		if s.lanesEmpty() && s.pending.Load() == 0 {
			lc.idle()
			if closed {
				s.release()
				return
			}
			s.park()
			lc.woke()
			s.pol.active(lc.awake)
			continue
		}
		if n > 0 {
			s.pol.active(time.Now())
			continue
		}
		s.pol.wait(&lc)
	}
}

// park blocks the loop until a submission, a host-callback completion or
// Close nudges it.
func (s *Scheduler) park() {
	s.parked.Store(true)
	// Recheck after announcing: a submitter that saw parked == false has
	// already made its work visible, so one of us sees the other.
	if s.pol.hasWork() {
		s.parked.Store(false)
		return
	}
	s.m.parks.Add(1)
	// Not on Close alone (it nudges too): under HostCallback, a closed
	// scheduler with operations pending must still block until their
	// completions come, or it would spin (and stop a synctest bubble's
	// clock for ever).
	<-s.wake
	s.parked.Store(false)
}

// pollLanes settles every operation at the heads of the lanes that is
// done and reports how many it settled.
func (s *Scheduler) pollLanes() int {
	n := 0
	for _, l := range *s.lanes.Load() {
		n += s.pollLane(l)
	}
	return n
}

// pollBatch bounds how many operations of one lane the loop settles under
// one pair of lane-lock acquisitions.
const pollBatch = 64

// pollLane settles the operations at the head of l that are done. It
// queries the head without the lane lock; if it is done, it copies up to
// pollBatch queued operations out under the lock, settles those that are
// done, in order, and removes them and recycles their events under the
// lock again: two lock acquisitions per batch, not per operation, so that
// the loop hardly contends with submitters.
func (s *Scheduler) pollLane(l *lane) int {
	c := l.peek()
	if c == nil {
		return 0
	}
	s.m.polls.Add(1)
	done, err := c.ev.Query()
	if !done && err == nil {
		return 0
	}
	l.mu.Lock()
	batch := append(s.batch[:0], l.q[l.head:min(len(l.q), l.head+pollBatch)]...)
	l.mu.Unlock()
	evs := s.evBuf[:0]
	n := 0
	for i, c := range batch {
		if i > 0 {
			s.m.polls.Add(1)
			if done, err = c.ev.Query(); !done && err == nil {
				break
			}
		}
		e := s.finishOp(c, err)
		evs = append(evs, e[0])
		if e[1] != nil {
			evs = append(evs, e[1])
		}
		n++
	}
	l.mu.Lock()
	for range n {
		l.q[l.head] = nil
		l.head++
	}
	l.publishHeadLocked()
	l.idle = append(l.idle, evs...)
	l.mu.Unlock()
	clear(batch)
	clear(evs)
	s.batch, s.evBuf = batch[:0], evs[:0]
	return n
}

// settle finishes c's operation with the device's err (nil on success) and
// releases its event.
func (s *Scheduler) settle(c *opCore, err error) {
	c.lane.drop(c)
	evs := s.finishOp(c, err)
	c.lane.putEvents(evs[0], evs[1])
}

// finishOp settles c's operation with the device's err (nil on success)
// and returns the events it used, for reuse.
func (s *Scheduler) finishOp(c *opCore, err error) (evs [2]cuda.Event) {
	if ts, ok := c.ev.(cuda.CompletionTimer); ok {
		if at, ok := ts.CompletedAt(); ok {
			s.m.latency.observe(time.Since(at))
		}
	}
	if err != nil {
		err = c.errorf(err)
		s.m.failed.Add(1)
	} else {
		s.m.completed.Add(1)
	}
	s.tr.record(s, c, err)
	c.finishTask()
	// Count the operation out before its future settles, so that whoever
	// awaited it sees Metrics().Pending without it. (Only the loop acts on
	// pending reaching zero, and only after this call returns.)
	s.pending.Add(-1)
	cbs := c.settle(err)
	// Clear the event only after the future has settled: a dependent that
	// finds no event relies on the future's result being final.
	c.mu.Lock()
	evs[0] = c.ev
	c.ev = nil
	c.mu.Unlock()
	if c.x != nil {
		evs[1] = c.x.startEv
		c.x.startEv = nil
	}
	if !cbs.Empty() {
		s.disp.push(cbs)
	}
	return evs
}

// release frees the scheduler's events and streams once the loop ends.
func (s *Scheduler) release() {
	for _, l := range *s.lanes.Load() {
		l.mu.Lock()
		for _, ev := range l.idle {
			ev.Close()
		}
		l.idle = nil
		l.mu.Unlock()
	}
	if s.ref != nil {
		s.ref.Close()
	}
	if s.mem != nil {
		s.mem.Close()
	}
	s.stopProgress()
	for _, l := range *s.lanes.Load() {
		if l.owned {
			l.st.Close()
		}
	}
}
