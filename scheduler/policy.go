package scheduler

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
)

// A completer is how the loop learns that device work is done: one type
// per Policy. Adding a policy means adding its constant (options.go), a
// type here and its row in policies.
type completer interface {
	// queue hands c, just enqueued on lane l with its event recorded, to
	// the loop. The caller holds l.mu. An error fails c's operation.
	queue(l *lane, c *opCore) error
	// poll settles every operation that is done and reports how many it
	// settled. Only the loop calls it, as the rest below.
	poll() int
	// hasWork reports whether the loop, about to park, has something to
	// look at now.
	hasWork() bool
	// active tells the policy that the loop settled something or woke
	// from a park at now.
	active(now time.Time)
	// wait is what the loop does when operations are pending and its poll
	// settled none. It accounts the time it blocks with lc.
	wait(lc *loopClock)
}

// policies are the completion policies, by Policy.
var policies = [...]struct {
	name string
	new  func(s *Scheduler) (completer, error)
}{
	Adaptive:     {"adaptive", newAdaptive},
	Spin:         {"spin", func(s *Scheduler) (completer, error) { return &spin{polled: polled{s}, timer: stoppedTimer()}, nil }},
	Blocking:     {"blocking", func(s *Scheduler) (completer, error) { return &blocking{polled: polled{s}, timer: stoppedTimer()}, nil }},
	HostCallback: {"host-callback", newHostCallback},
}

// polled is what the policies that watch the lanes' events share: the
// loop polls the oldest pending operation of each lane.
type polled struct{ s *Scheduler }

func (p polled) queue(l *lane, c *opCore) error {
	l.push(c)
	return nil
}

func (p polled) poll() int { return p.s.pollLanes() }

func (p polled) hasWork() bool { return p.s.pending.Load() > 0 || p.s.closed.Load() }

func (polled) active(time.Time) {}

// stoppedTimer returns a timer that is not running, for Reset.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// spin is the Spin policy. Its fields are the loop's.
type spin struct {
	polled
	_      [64]byte // as adaptive's: frozen.polls is written on every poll
	timer  *time.Timer
	frozen frozenClock
	_      [64]byte
}

func (p *spin) wait(lc *loopClock) { p.s.spinStep(&p.frozen, lc, p.timer) }

// blocking is the Blocking policy.
type blocking struct {
	polled
	// seq numbers submissions, for the oldest-first wait.
	seq   atomic.Uint64
	timer *time.Timer // the loop's
}

func (b *blocking) queue(l *lane, c *opCore) error {
	c.seq = uint32(b.seq.Add(1))
	l.push(c)
	return nil
}

// wait waits in the device for the oldest pending operation, or, if every
// lane's stream signals its completions, for the next signal: then a
// younger operation that completes first is noticed at once too.
func (b *blocking) wait(lc *loopClock) {
	s := b.s
	if s.waitsForSignal() && !s.lanesEmpty() {
		s.m.syncs.Add(1)
		s.waitSignal(lc, b.timer)
		return
	}
	lc.idle()
	defer lc.woke()
	var oldest *opCore
	for _, l := range *s.lanes.Load() {
		if c := l.peek(); c != nil && (oldest == nil || int32(c.seq-oldest.seq) < 0) {
			oldest = c
		}
	}
	if oldest == nil {
		// Only operations waiting for host dependencies are pending.
		s.park()
		return
	}
	s.m.syncs.Add(1)
	oldest.ev.Synchronize() // its error, if any, is reported by the next poll
}

// maxSpinPolls ends an Adaptive spin window (and a Spin policy's run of
// polls) by count when the clock has not moved during that many polls:
// under testing/synctest the clock stands still while the loop spins, and
// nothing that waits for modeled time can complete until the loop blocks.
// On a running clock only time ends it, so the window is as long as
// configured however cheap a poll is (a window cut short by a count made
// the loop sleep between submissions that arrived every 50µs). In a bubble
// spinning is wasted (goroutines that can run at the current instant run
// as well while the loop waits for a completion signal) and each
// completion costs this many polls, so it is small; on a running clock 16
// polls always see it move.
const maxSpinPolls = 16

// adaptive is the Adaptive policy. Its fields are the loop's.
type adaptive struct {
	polled
	// The loop writes spins on every poll: the padding keeps the heap
	// neighbours of this object (which may be what submitters on the
	// other core write) off its cache line.
	_        [64]byte
	timer    *time.Timer
	spins    int
	last     time.Time     // last completion, wake or submission, for the spin window
	spunFrom time.Duration // time.Since(last) when spins was last 0
	seen     int64         // pending when the loop last looked
	backoff  time.Duration
	_        [64]byte
}

func newAdaptive(s *Scheduler) (completer, error) {
	a := &adaptive{polled: polled{s}, timer: time.NewTimer(time.Hour), backoff: time.Microsecond}
	a.timer.Stop()
	return a, nil
}

func (a *adaptive) active(now time.Time) {
	a.spins, a.backoff, a.last = 0, time.Microsecond, now
}

func (a *adaptive) wait(lc *loopClock) {
	s := a.s
	// Reading the clock costs about as much as a poll: check the spin
	// window only every eighth poll. It ends when its time is up, or
	// after maxSpinPolls polls during which the clock did not move; on a
	// moving clock the count starts again.
	spin := true
	if a.spins&7 == 0 {
		d := time.Since(a.last)
		if a.spins == 0 {
			a.spunFrom = d
		}
		spin = d < s.opts.spinWindow && (a.spins < maxSpinPolls || d != a.spunFrom)
		if spin && a.spins == maxSpinPolls {
			a.spins, a.spunFrom = 0, d
		}
	}
	if spin {
		a.spins++
		runtime.Gosched()
		return
	}
	// The window ran out with nothing done. If pending moved since the
	// loop last looked (operations were submitted, or completed before
	// this window), work is still flowing in: spin on.
	// (Reading pending, which every submission writes, once per window
	// rather than per poll keeps the loop off the submitters' cache
	// line.) Sleeping here instead would make the loop's thread wake
	// every few microseconds, which costs submitters on a 2-core machine
	// about 15% of their speed.
	if p := s.pending.Load(); p != a.seen && s.opts.spinWindow > 0 {
		a.seen, a.spins, a.last = p, 0, time.Now()
		return
	}
	s.m.sleeps.Add(1)
	lc.idle()
	a.timer.Reset(a.backoff)
	select {
	case <-a.timer.C:
	case <-s.prog.ch: // a completion: poll now (nil if no stream signals)
		a.timer.Stop()
	case <-s.wake:
		a.timer.Stop()
		a.spins = 0
	}
	lc.woke()
	if a.spins == 0 {
		a.last = lc.awake
	}
	a.backoff = min(2*a.backoff, s.opts.maxBackoff)
}

// hostCallback is the HostCallback policy: the device calls back when
// each operation is done, and the loop settles what it was called back for.
type hostCallback struct {
	s *Scheduler

	mu          sync.Mutex
	completions []completion // guarded by mu: operations the device reported done
}

type completion struct {
	c   *opCore
	err error
}

func newHostCallback(s *Scheduler) (completer, error) {
	if _, ok := s.in.st.(cuda.HostFuncLauncher); !ok {
		return nil, fmt.Errorf("scheduler: host-callback policy: device streams cannot launch host functions: %w", ErrUnsupported)
	}
	return &hostCallback{s: s}, nil
}

func (h *hostCallback) queue(l *lane, c *opCore) error {
	// Queued on the lane only for opOfFuture; settle drops it. (The loop
	// polls no lane under this policy.)
	l.push(c)
	hl := l.st.(cuda.HostFuncLauncher)
	err := hl.LaunchHostFunc(func(err error) {
		h.mu.Lock()
		h.completions = append(h.completions, completion{c, err})
		h.mu.Unlock()
		select {
		case h.s.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		l.dropLocked(c)
	}
	return err
}

func (h *hostCallback) poll() int {
	h.mu.Lock()
	cs := h.completions
	h.completions = nil
	h.mu.Unlock()
	for _, c := range cs {
		h.s.settle(c.c, c.err)
	}
	return len(cs)
}

func (h *hostCallback) hasWork() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.completions) > 0 || (h.s.closed.Load() && h.s.pending.Load() == 0)
}

func (*hostCallback) active(time.Time) {}

func (h *hostCallback) wait(lc *loopClock) {
	lc.idle()
	h.s.park()
	lc.woke()
}
