package async

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/coawait/coawait/future"
)

// A Scope runs tasks under structured concurrency: every task started in
// it ends before [Scope.Wait] returns, the first task to fail cancels the
// scope's context for all the others (with the error as its cause, so
// context.Cause tells why), and Wait reports that first error.
//
// Make a Scope with [NewScope]. The zero Scope is also valid: its tasks get
// context.Background(), it has no limit, and a failure cancels nothing
// (like the zero errgroup.Group). A Scope is used once: starting a task
// after Wait has returned panics. Tasks may start further tasks in the same
// scope while Wait is running; other goroutines must not start tasks
// concurrently with Wait.
//
// Without a limit every task runs on a goroutine of its own, started by Go.
// With a limit (see [Scope.SetLimit]) the scope runs its tasks on at most
// that many worker goroutines, each of which runs queued tasks one after
// another, so a fan-out of many small tasks costs a queue operation per
// task rather than a goroutine.
type Scope struct {
	// Three groups of fields, kept a cache line apart so that the
	// goroutine starting tasks and the goroutines running them do not
	// pass a cache line back and forth on every task: what both read
	// (first), what only the starter writes (launched), what the tasks
	// write (ended). Fields touched only on errors, by Wait or with a
	// limit fill the gaps instead of padding; TestScopeLayout checks the
	// distances.

	// ctx is the context every task receives. Storing it is the point of
	// a scope: it lives exactly as long as the scope's tasks.
	ctx     context.Context
	cancel  context.CancelCauseFunc
	limit   int         // 0: no limit; set by SetLimit before the first task
	started atomic.Bool // a task has been started; SetLimit is too late
	waited  atomic.Bool // Wait has returned; starting a task panics

	errOnce sync.Once
	err     error // written once in errOnce, read by Wait after all goroutines ended

	mu      sync.Mutex
	allDone sync.Cond // broadcast when the last goroutine ends while Wait blocks; L is &mu

	// launched and ended count the goroutines the scope started and
	// those that have ended: one per task without a limit, one per worker
	// with a limit. They are two counters, rather than a WaitGroup's one,
	// so that starting a task and ending one write different cache lines;
	// see exit and quiet.
	launched atomic.Int64

	// With a limit: the worker pool. All fields are guarded by mu.
	notFull  sync.Cond // signalled when queue has room; L is &mu
	running  int       // workers alive
	queue    []func(context.Context) error
	head     int // queue[head:] are waiting
	queueCap int // Go blocks while len(queue)-head == queueCap

	ended   atomic.Int64
	waiting atomic.Bool // Wait is blocked: exit must wake it after the last goroutine
}

// cacheLine is the size of a cache line on common processors: two fields
// with this many bytes between them never share one.
const cacheLine = 64

// NewScope returns a scope whose tasks run under a context derived from
// ctx, and that context. The context is cancelled, with the error as its
// cause, when a task fails, and with context.Canceled when Wait returns,
// whichever comes first.
func NewScope(ctx context.Context) (*Scope, context.Context) {
	if ctx == nil {
		panic("async: NewScope called with a nil Context")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	return &Scope{ctx: ctx, cancel: cancel}, ctx
}

// SetLimit limits the number of the scope's tasks that run at once to n.
// The scope then runs its tasks on at most n worker goroutines. Unlike
// errgroup.Group.Go, which blocks as soon as n tasks run, [Scope.Go] and
// [Spawn] also queue up to n more tasks for the workers and block only once
// that queue is full, until a task ends; so a task they return for may not
// have started yet. [Scope.TryGo] never queues, as errgroup's does not.
// Tasks must not wait for tasks started after them, or the scope can
// deadlock (as with errgroup.SetLimit). A negative n means no limit, as in
// errgroup. SetLimit must be called before the first task starts; n == 0
// panics, because no task could ever run.
func (s *Scope) SetLimit(n int) {
	if n == 0 {
		panic("async: Scope.SetLimit(0) would never run a task")
	}
	if s.started.Load() {
		panic("async: Scope.SetLimit called after a task started")
	}
	if n < 0 {
		s.limit = 0
		return
	}
	s.limit, s.queueCap = n, n
	s.notFull.L = &s.mu
}

// Go starts fn in the scope, passing it the scope's context. If fn returns
// an error or panics, that becomes the scope's error (if it is the first)
// and cancels the scope's context. Without a limit, Go starts a goroutine
// for fn and never blocks; with a limit it may block (see
// [Scope.SetLimit]).
func (s *Scope) Go(fn func(ctx context.Context) error) {
	s.enter("Go", fn == nil)
	s.submit(fn, true)
}

// TryGo starts fn like [Scope.Go] only if it can run at once, that is if
// fewer tasks than the limit are running, and reports whether it did; it
// never blocks and never queues fn (these are errgroup.Group.TryGo's
// semantics). Without a limit it always starts fn.
func (s *Scope) TryGo(fn func(ctx context.Context) error) bool {
	s.enter("TryGo", fn == nil)
	return s.submit(fn, false)
}

// enter checks a task start.
func (s *Scope) enter(op string, nilFn bool) {
	if nilFn {
		panic("async: Scope." + op + " called with a nil function")
	}
	if s.waited.Load() {
		panic("async: Scope." + op + " called after Wait returned")
	}
	if !s.started.Load() {
		s.started.Store(true)
	}
}

// submit starts fn on a goroutine of its own (no limit) or hands it to the
// worker pool, blocking for room in the queue if block is set. It reports
// whether fn was accepted.
func (s *Scope) submit(fn func(context.Context) error, block bool) bool {
	if s.limit == 0 {
		s.launched.Add(1)
		go s.runOne(fn)
		return true
	}
	s.mu.Lock()
	for {
		if s.running < s.limit {
			s.running++
			s.mu.Unlock()
			s.launched.Add(1)
			go s.worker(fn)
			return true
		}
		// Queue only while all workers run: a worker leaves only when it
		// finds the queue empty (under mu), so a queued task always has
		// a worker that will see it. After a wait, the workers may have
		// left, hence the loop back to the first check.
		if !block {
			// TryGo: like errgroup's, it starts fn only if fn can run
			// now, and never queues it.
			s.mu.Unlock()
			return false
		}
		if len(s.queue)-s.head < s.queueCap {
			s.queue = append(s.queue, fn)
			s.mu.Unlock()
			return true
		}
		s.notFull.Wait()
	}
}

func (s *Scope) runOne(fn func(context.Context) error) {
	defer s.exit()
	s.call(fn)
}

// worker runs fn (if not nil), then queued tasks until the queue is empty.
func (s *Scope) worker(fn func(context.Context) error) {
	clean := false
	defer func() {
		if !clean {
			// A task called runtime.Goexit, which ends this goroutine
			// whatever we do: hand its slot to a new worker so that the
			// queue still drains.
			s.launched.Add(1)
			go s.worker(nil)
		}
		s.exit()
	}()
	for {
		if fn != nil {
			s.call(fn)
		}
		s.mu.Lock()
		if s.head == len(s.queue) {
			s.running--
			s.mu.Unlock()
			clean = true
			return
		}
		fn = s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		if s.head == len(s.queue) {
			s.queue, s.head = s.queue[:0], 0
		}
		s.mu.Unlock()
		s.notFull.Signal()
	}
}

func (s *Scope) context() context.Context {
	if s.ctx == nil {
		return context.Background()
	}
	return s.ctx
}

// call runs one task and records its failure.
func (s *Scope) call(fn func(context.Context) error) {
	normal := false
	defer func() {
		if !normal {
			s.fail(recovered(recover()))
		}
	}()
	err := fn(s.context())
	normal = true
	if err != nil {
		s.fail(err)
	}
}

// fail records err if it is the scope's first error and cancels the
// scope's context with it.
func (s *Scope) fail(err error) {
	s.errOnce.Do(func() {
		s.err = err
		if s.cancel != nil {
			s.cancel(err)
		}
	})
}

// Wait blocks until every task of the scope has returned and every
// goroutine the scope started has ended, then cancels the scope's context
// and returns the first error a task returned (or the *future.PanicError
// of the first task that panicked), or nil.
func (s *Scope) Wait() error {
	if !s.quiet() {
		s.mu.Lock()
		if s.allDone.L == nil {
			s.allDone.L = &s.mu
		}
		s.waiting.Store(true)
		for !s.quiet() {
			s.allDone.Wait()
		}
		s.mu.Unlock()
	}
	s.waited.Store(true)
	if s.cancel != nil {
		s.cancel(s.err)
	}
	return s.err
}

// exit is the last thing each goroutine of the scope does. Wait sets
// waiting before it checks the counters, and exit reads waiting after it
// counts itself out (both sequentially consistent), so one of the two sees
// the other: either Wait sees this goroutine ended, or this goroutine sees
// Wait and, if it is the last, wakes it. Only while Wait runs does exit
// read launched, whose cache line the starting goroutine owns.
func (s *Scope) exit() {
	e := s.ended.Add(1)
	if s.waiting.Load() && e == s.launched.Load() {
		s.mu.Lock()
		s.allDone.Broadcast()
		s.mu.Unlock()
	}
}

// quiet reports whether every goroutine the scope started has ended. It
// reads ended before launched: if they are then equal, there was a moment
// when no goroutine of the scope was running, and only a running task (or
// the caller of Wait) may start another.
func (s *Scope) quiet() bool {
	e := s.ended.Load()
	return e == s.launched.Load()
}

// Spawn starts fn in scope s like [Scope.Go] and returns a future of its
// result. An error or panic of fn both settles the future and becomes the
// scope's error, cancelling the other tasks.
func Spawn[T any](s *Scope, fn func(ctx context.Context) (T, error)) *future.Future[T] {
	if s == nil {
		panic("async: Spawn called with a nil Scope")
	}
	s.enter("Spawn", fn == nil)
	p := new(future.Promise[T])
	s.submit(func(ctx context.Context) (err error) {
		normal := false
		defer func() {
			if !normal {
				// A panic is recovered here, so that its stack is the
				// panicking one, and returned to call as the task's
				// error; a Goexit goes on to call, which records it.
				err = recovered(recover())
				p.Reject(err)
			}
		}()
		v, err := fn(ctx)
		normal = true
		p.Settle(v, err)
		return err
	}, true)
	return p.Future()
}
