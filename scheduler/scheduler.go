package scheduler

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/future"
)

// ErrClosed is the error of an operation submitted to a closed scheduler.
var ErrClosed = errors.New("scheduler: closed")

// ErrForeign is the error of an operation that names a buffer, stream or
// dependency of another scheduler or device.
var ErrForeign = errors.New("scheduler: belongs to another scheduler")

// ErrUnsupported is returned by New for a policy the device cannot serve.
var ErrUnsupported = errors.New("scheduler: not supported by this device")

// Policy selects how the loop learns that device work is done. Each trades
// CPU for latency differently. Measured on the simulator in real time on a
// 2-core machine (benchmarks.BenchmarkWakeLatency: one 50µs kernel at a
// time, completion to the awaiting goroutine running; BenchmarkIdle):
//
//	policy         p50      p99      CPU while work is in flight
//	Adaptive       0.9µs    19µs     1 core (it polls through short gaps)
//	Spin           0.9µs    21µs     1 core
//	Blocking       3.7µs     9µs     0.07 core (a thread blocked in the device)
//	HostCallback   2.6µs    12µs     0.06 core (needs cuda.HostFuncLauncher)
//
// Every policy parks the loop when nothing is pending: an idle scheduler
// used 0.00 cores. Blocking and HostCallback cost little CPU but depend on
// the driver's own wake-up (on the simulator the runtime's timers, which
// round sleeps up to 1ms when every processor is idle, so each 50µs kernel
// took about 1ms of wall time with them against 61µs with Adaptive).
type Policy int

const (
	// Adaptive (the default) parks the loop when nothing is pending; after
	// activity (a completion, or a submission) it polls the pending
	// events, yielding the processor between polls, for a short while (the
	// spin window), then sleeps between polls with an exponential
	// back-off. Low latency while work flows, no CPU when idle.
	Adaptive Policy = iota
	// Spin polls without sleeping while anything is pending (yielding the
	// processor between polls): the lowest latency, a busy core while work
	// is in flight. It still parks when nothing is pending.
	Spin
	// Blocking waits in the device's synchronize call for the oldest
	// pending operation: no polling at all, at the price of a blocked OS
	// thread inside the driver and the wake-up latency of the driver.
	Blocking
	// HostCallback asks the device to call back when each operation is
	// done (cuda.HostFuncLauncher), with no events and no polling. New
	// returns ErrUnsupported if the device's streams cannot do that.
	HostCallback
)

func (p Policy) String() string {
	switch p {
	case Adaptive:
		return "adaptive"
	case Spin:
		return "spin"
	case Blocking:
		return "blocking"
	case HostCallback:
		return "host-callback"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// An Option configures a Scheduler.
type Option func(*options)

type options struct {
	policy     Policy
	spinWindow time.Duration
	maxBackoff time.Duration
	spans      int
}

// maxSpinPolls ends an Adaptive spin window by count when the clock has not
// moved during that many polls: under testing/synctest the clock stands
// still while the loop spins. On a running clock only time ends it, so the
// window is as long as configured however cheap a poll is (10,000 polls
// can take under 2ms, and a window cut that short made the loop sleep
// between submissions that arrived every 50µs).
const maxSpinPolls = 10_000

// WithPolicy selects the completion policy (default Adaptive).
func WithPolicy(p Policy) Option { return func(o *options) { o.policy = p } }

// WithSpin sets how long after its last completion or submission the
// Adaptive loop keeps polling, yielding the processor between polls, before
// it starts to sleep between polls, and the longest sleep of its back-off.
// The defaults are 200µs and 100µs. While work completes at least every
// 200µs, completions are noticed within microseconds at the cost of a busy
// core; beyond that the loop wakes at most every 100µs (on Linux the
// runtime rounds a sleep up to 1ms when every processor is idle, so waits
// for long work are noticed up to about a millisecond late).
func WithSpin(window, maxBackoff time.Duration) Option {
	return func(o *options) { o.spinWindow, o.maxBackoff = window, maxBackoff }
}

// WithSpans keeps the last n operations' spans, with device start and end
// times from timing events (see Scheduler.Spans). n == 0 (the default)
// records none, and then events are created without timing, which is
// cheaper.
func WithSpans(n int) Option { return func(o *options) { o.spans = n } }

// Scheduler turns device work into futures; see the package doc. Make one
// with New. All methods are safe for concurrent use.
type Scheduler struct {
	dev  cuda.Device
	opts options

	in, compute, out *lane // the default streams, owned by the scheduler

	lanesMu sync.Mutex
	lanes   atomic.Pointer[[]*lane] // copy-on-write list of every lane
	last    atomic.Pointer[lane]    // the lane laneFor found last

	wake   chan struct{} // capacity 1: nudges a parked loop
	parked atomic.Bool
	closed atomic.Bool
	quit   chan struct{} // closed by Close once nothing is pending
	done   chan struct{} // closed when the loop and dispatcher have ended

	// completions, for HostCallback: operations the device reported done.
	compMu      sync.Mutex
	completions []completion

	ref cuda.Event // with spans: the device time origin, recorded by New

	poolOnce sync.Once
	mem      *cuda.MemPool // stream-ordered device memory for Alloc and Free

	disp dispatcher
	m    metrics
	tr   spanRing

	batch []*opCore    // the loop's scratch buffer for pollLane
	evBuf []cuda.Event // the loop's scratch buffer for pollLane

	// Every submission writes these; they have a cache line of their own,
	// so that a spinning loop, which reads the fields above on every poll,
	// does not pull the line away from submitters on the other core (false
	// sharing here cost about 100 ns a submission).
	_ [64]byte
	// pending counts operations submitted and not yet settled.
	pending atomic.Int64
	// seq numbers submissions, for Blocking's oldest-first; only the
	// Blocking policy counts them.
	seq atomic.Uint64
	_   [48]byte
}

type completion struct {
	c   *opCore
	err error
}

// lane is one stream and the FIFO of its pending operations. Submitters
// hold mu across enqueueing on the stream, recording the event and
// appending to q, so the queue's order is the stream's order.
type lane struct {
	s     *Scheduler
	st    cuda.Stream
	owned bool
	mu    sync.Mutex
	// submitted counts the operations enqueued on the stream, for
	// Metrics: a plain count under mu, which submitters hold anyway, costs
	// less than a shared atomic counter.
	submitted int64
	q         []*opCore
	head      int
	idle      []cuda.Event // events of settled operations, for reuse
	// first is q[head], or nil when q is empty: written under mu, read
	// without it by the loop. It has a cache line of its own, so that the
	// loop's polling does not pull in the line submitters write.
	_     [64]byte
	first atomic.Pointer[opCore]
	_     [56]byte
}

// peek returns the oldest pending operation of the lane, or nil. It takes
// no lock, so that the polling loop does not contend with submitters.
func (l *lane) peek() *opCore { return l.first.Load() }

// push appends c; the caller holds l.mu.
func (l *lane) push(c *opCore) {
	l.q = append(l.q, c)
	if len(l.q)-l.head == 1 {
		l.first.Store(c)
	}
}

// lanesEmpty reports whether no lane has a pending operation.
func (s *Scheduler) lanesEmpty() bool {
	for _, l := range *s.lanes.Load() {
		if l.first.Load() != nil {
			return false
		}
	}
	return true
}

// New returns a scheduler for dev with its own copy-in, compute and
// copy-out streams, and starts its loop. The scheduler does not own dev:
// close the scheduler before the device.
func New(dev cuda.Device, opts ...Option) (*Scheduler, error) {
	if dev == nil {
		return nil, errors.New("scheduler: New called with a nil device")
	}
	o := options{spinWindow: 200 * time.Microsecond, maxBackoff: 100 * time.Microsecond}
	for _, opt := range opts {
		opt(&o)
	}
	if o.policy < Adaptive || o.policy > HostCallback {
		return nil, fmt.Errorf("scheduler: unknown policy %v", o.policy)
	}
	if o.spinWindow < 0 || o.maxBackoff <= 0 || o.spans < 0 {
		return nil, errors.New("scheduler: negative spin window or span count, or a back-off that is not positive")
	}
	if o.spans > 0 && !dev.Properties().TimingEvents {
		return nil, fmt.Errorf("scheduler: spans need timing events: %w", ErrUnsupported)
	}
	s := &Scheduler{
		dev:  dev,
		opts: o,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.tr.init(o.spans)
	lanes := make([]*lane, 0, 3)
	for _, dst := range []**lane{&s.in, &s.compute, &s.out} {
		st, err := dev.NewStream(0)
		if err != nil {
			for _, l := range lanes {
				l.st.Close()
			}
			return nil, fmt.Errorf("scheduler: New: %w", err)
		}
		*dst = &lane{s: s, st: st, owned: true}
		lanes = append(lanes, *dst)
	}
	if o.policy == HostCallback {
		if _, ok := s.in.st.(cuda.HostFuncLauncher); !ok {
			for _, l := range lanes {
				l.st.Close()
			}
			return nil, fmt.Errorf("scheduler: host-callback policy: device streams cannot launch host functions: %w", ErrUnsupported)
		}
	}
	s.lanes.Store(&lanes)
	if o.spans > 0 {
		ev, err := dev.NewEvent(0)
		if err == nil {
			err = s.compute.st.RecordEvent(ev)
		}
		if err != nil {
			for _, l := range lanes {
				l.st.Close()
			}
			return nil, fmt.Errorf("scheduler: New: reference event: %w", err)
		}
		s.ref = ev
	}
	s.disp.start()
	go s.loop()
	return s, nil
}

// Device returns the device the scheduler drives.
func (s *Scheduler) Device() cuda.Device { return s.dev }

// laneFor returns the lane of stream st, adding it on first use.
func (s *Scheduler) laneFor(st cuda.Stream) *lane {
	// A program that picks a stream usually picks the same one many times
	// in a row: one comparison instead of a search.
	if l := s.last.Load(); l != nil && l.st == st {
		return l
	}
	for _, l := range *s.lanes.Load() {
		if l.st == st {
			if s.last.Load() != l {
				s.last.Store(l)
			}
			return l
		}
	}
	s.lanesMu.Lock()
	defer s.lanesMu.Unlock()
	old := *s.lanes.Load()
	for _, l := range old {
		if l.st == st {
			return l
		}
	}
	l := &lane{s: s, st: st}
	lanes := append(old[:len(old):len(old)], l)
	s.lanes.Store(&lanes)
	return l
}

// event returns an idle event of lane l, creating one if none is idle.
// The caller holds l.mu.
func (s *Scheduler) event(l *lane) (cuda.Event, error) {
	if n := len(l.idle); n > 0 {
		ev := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return ev, nil
	}
	var flags cuda.EventFlags
	if s.opts.spans == 0 {
		flags = cuda.EventDisableTiming
	}
	return s.dev.NewEvent(flags)
}

// putEvents returns idle events to lane l for reuse.
func (l *lane) putEvents(evs ...cuda.Event) {
	l.mu.Lock()
	for _, ev := range evs {
		if ev != nil {
			l.idle = append(l.idle, ev)
		}
	}
	l.mu.Unlock()
}

// nudge wakes the loop if it is parked.
func (s *Scheduler) nudge() {
	if s.parked.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// loop is the scheduler's event loop; it runs until Close.
func (s *Scheduler) loop() {
	defer close(s.done)
	defer s.disp.stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// awake is when the loop last woke from a park, a sleep or a blocking
	// wait: the time until it blocks again is its busy time, an upper bound
	// of the CPU it used (spinning included).
	awake := time.Now()
	idle := func() { s.m.busy.Add(int64(time.Since(awake))) }
	spins := 0
	active := awake            // last completion, wake or submission, for the spin window
	var spunFrom time.Duration // time.Since(active) when spins was last 0
	seen := s.pending.Load()
	backoff := time.Microsecond
	for {
		// Read closed before pending: a submitter counts itself in pending
		// before it checks closed, so if the loop saw closed and then no
		// pending operation, every later submitter sees closed and fails
		// its operation instead of queueing it behind a loop that is gone.
		closed := s.closed.Load()
		n := s.poll()
		// Read the shared pending count only when the lanes are empty:
		// while work flows the loop reads nothing that submitters write,
		// so it does not slow them down.
		if (s.opts.policy == HostCallback || s.lanesEmpty()) && s.pending.Load() == 0 {
			if closed {
				idle()
				s.release()
				return
			}
			idle()
			s.park()
			awake = time.Now()
			spins, backoff, active = 0, time.Microsecond, awake
			continue
		}
		if n > 0 {
			spins, backoff, active = 0, time.Microsecond, time.Now()
			continue
		}
		switch s.opts.policy {
		case Spin:
			runtime.Gosched()
		case Blocking:
			idle()
			s.blockOnOldest()
			awake = time.Now()
		case HostCallback:
			idle()
			s.park()
			awake = time.Now()
		default:
			// Reading the clock costs about as much as a poll: check the
			// spin window only every eighth poll. It ends when its time
			// is up, or after maxSpinPolls polls during which the clock
			// did not move; on a moving clock the count starts again.
			spin := true
			if spins&7 == 0 {
				d := time.Since(active)
				if spins == 0 {
					spunFrom = d
				}
				spin = d < s.opts.spinWindow && (spins < maxSpinPolls || d != spunFrom)
				if spin && spins == maxSpinPolls {
					spins, spunFrom = 0, d
				}
			}
			if spin {
				spins++
				runtime.Gosched()
				continue
			}
			// The window ran out with nothing done. If pending moved
			// since the loop last looked (operations were submitted, or
			// completed before this window), work is still flowing in:
			// spin on.
			// (Reading pending, which every submission writes, once per
			// window rather than per poll keeps the loop off the
			// submitters' cache line.) Sleeping here instead would make
			// the loop's thread wake every few microseconds, which costs
			// submitters on a 2-core machine about 15% of their speed.
			if p := s.pending.Load(); p != seen && s.opts.spinWindow > 0 {
				seen, spins, active = p, 0, time.Now()
				continue
			}
			s.m.sleeps.Add(1)
			idle()
			timer.Reset(backoff)
			select {
			case <-timer.C:
			case <-s.wake:
				timer.Stop()
				spins = 0
			}
			awake = time.Now()
			if spins == 0 {
				active = awake
			}
			backoff = min(2*backoff, s.opts.maxBackoff)
		}
	}
}

// park blocks the loop until a submission, a host-callback completion or
// Close nudges it.
func (s *Scheduler) park() {
	s.parked.Store(true)
	// Recheck after announcing: a submitter that saw parked == false has
	// already made its work visible, so one of us sees the other.
	if s.hasWork() {
		s.parked.Store(false)
		return
	}
	s.m.parks.Add(1)
	select {
	case <-s.wake:
	case <-s.quit:
	}
	s.parked.Store(false)
}

// hasWork reports whether the loop has something to look at now.
func (s *Scheduler) hasWork() bool {
	if s.opts.policy == HostCallback {
		s.compMu.Lock()
		defer s.compMu.Unlock()
		return len(s.completions) > 0 || (s.closed.Load() && s.pending.Load() == 0)
	}
	return s.pending.Load() > 0 || s.closed.Load()
}

// poll settles every operation that is done and reports how many it
// settled.
func (s *Scheduler) poll() int {
	if s.opts.policy == HostCallback {
		s.compMu.Lock()
		cs := s.completions
		s.completions = nil
		s.compMu.Unlock()
		for _, c := range cs {
			s.settle(c.c, c.err)
		}
		return len(cs)
	}
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
	if l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
		l.first.Store(nil)
	} else {
		l.first.Store(l.q[l.head])
	}
	l.idle = append(l.idle, evs...)
	l.mu.Unlock()
	clear(batch)
	clear(evs)
	s.batch, s.evBuf = batch[:0], evs[:0]
	return n
}

// blockOnOldest waits in the device for the oldest pending operation.
func (s *Scheduler) blockOnOldest() {
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

// settle finishes c's operation with the device's err (nil on success) and
// releases its event.
func (s *Scheduler) settle(c *opCore, err error) {
	s.putEvents(c.lane, s.finishOp(c, err))
}

// putEvents returns the events a settled operation used to lane l.
func (s *Scheduler) putEvents(l *lane, evs [2]cuda.Event) {
	l.putEvents(evs[0], evs[1])
}

// finishOp settles c's operation with the device's err (nil on success)
// and returns the events it used, for reuse.
func (s *Scheduler) finishOp(c *opCore, err error) (evs [2]cuda.Event) {
	if ts, ok := c.ev.(completedAter); ok {
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

// completedAter is implemented by events that know when the device
// finished them (the simulator's), for the completion-to-wake histogram.
type completedAter interface {
	CompletedAt() (time.Time, bool)
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
	for _, l := range *s.lanes.Load() {
		if l.owned {
			l.st.Close()
		}
	}
}

// Close stops the scheduler: operations submitted afterwards fail with
// ErrClosed; operations already submitted run to completion (or fail, if
// the device fails) and settle; then the loop and dispatcher end and the
// scheduler's own streams and events are released. Close returns once all
// of that is done. An operation still waiting for a host dependency when
// Close is called fails with ErrClosed once that dependency settles, and
// Close does not wait for it. Closing twice returns ErrClosed.
func (s *Scheduler) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	close(s.quit)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
	return nil
}

// dispatcher runs continuations off the loop, in the order the loop
// settled their futures.
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
