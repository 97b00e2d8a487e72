package future

// This file registers the callbacks of a future and runs those that
// settling it released.

// OnDone arranges for fn to be called once f settles, on the goroutine that
// settles f, after f's result is visible. If f has already settled, fn is
// called on the calling goroutine before OnDone returns. fn must be short and
// must not block: it delays whoever settles f (see the package doc).
//
// Calling the returned stop function unregisters fn. stop returns true if it
// stopped fn from being called, and false if fn has already been called or
// started, or stop was called before. stop does not wait for fn to finish.
// This matches [context.AfterFunc].
func (f *Future[T]) OnDone(fn func()) (stop func() bool) {
	if fn == nil {
		panic("future: OnDone called with a nil function")
	}
	c := &funcCallback{fn: fn}
	c.n.cb = c
	if !f.add(&c.n) {
		fn()
		return func() bool { return false }
	}
	return func() bool { return f.remove(&c.n) }
}

// add registers n to run when f settles. It reports false, without
// registering, if f has already settled.
func (f *Future[T]) add(n *node) bool {
	if f.sig.state.Load() == stateDone {
		return false
	}
	f.mu.Lock()
	f.sig.watched.Or(watchList)
	if f.sig.state.Load() == stateDone {
		f.mu.Unlock()
		return false
	}
	n.prev, n.next = nil, f.head
	if f.head != nil {
		f.head.prev = n
	}
	f.head = n
	n.linked = true
	f.mu.Unlock()
	return true
}

// remove unregisters n if it is still registered and reports whether it
// did. Once f settles, its callbacks are detached and remove reports false.
func (f *Future[T]) remove(n *node) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !n.linked {
		return false
	}
	n.linked = false
	if n.prev == nil {
		f.head = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	n.prev, n.next = nil, nil
	return true
}

// drain runs a list of callbacks and every list their runs release, in
// order, iteratively. If a callback panics, the remaining callbacks still
// run (in a deferred drain) before the panic continues.
func drain(list *node) {
	var tail *node
	for t := list; t != nil; t = t.next {
		tail = t
	}
	defer func() {
		if list != nil {
			// A callback panicked: finish the others, then let the
			// panic continue.
			drain(list)
		}
	}()
	for list != nil {
		n := list
		list = n.next
		if list == nil {
			tail = nil
		}
		n.next, n.prev = nil, nil
		more := n.cb.fire()
		if more == nil {
			continue
		}
		// Append the released callbacks to the queue.
		mt := more
		for mt.next != nil {
			mt = mt.next
		}
		if tail == nil {
			list = more
		} else {
			tail.next = more
		}
		tail = mt
	}
}

// Callbacks are the continuations of a future that was settled with
// [Promise.SettleDeferred], still to be run. The zero Callbacks is empty.
type Callbacks struct {
	list *node
}

// Empty reports whether there is nothing to run.
func (c Callbacks) Empty() bool { return c.list == nil }

// Run runs the callbacks, and the continuations they release, on the
// calling goroutine, as settling would have. Run must be called at most
// once for a given Callbacks.
func (c Callbacks) Run() {
	if c.list != nil {
		drain(c.list)
	}
}

// SettleDeferred settles the future like [Promise.Settle] — waiters wake
// and the result is visible at once — but does not run the continuations
// registered on it: it returns them for the caller to run later, on a
// goroutine of its choice, with [Callbacks.Run]. An event loop uses it so
// that user code attached to a future never runs on the loop. The bool
// reports whether this call settled the future.
func (p *Promise[T]) SettleDeferred(v T, err error) (Callbacks, bool) {
	p.check("SettleDeferred")
	if err != nil {
		var zero T
		v = zero
	}
	list, ok := p.f.complete(v, err)
	return Callbacks{list}, ok
}
