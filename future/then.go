package future

// link is one continuation: it waits for src and settles dst (which it
// embeds, so that one allocation holds the whole link) with the result of
// exactly one of its functions.
type link[T, U any] struct {
	dst Future[U]
	n   node
	src *Future[T] // cleared once fired, so a chain's tail does not pin its head

	then   func(T) (U, error)
	mapf   func(T) U
	handle func(T, error) (U, error)
	flat   func(T) *Future[U]
}

func newLink[T, U any](op string, src *Future[T], fnNil bool) *link[T, U] {
	if src == nil {
		panic("future: " + op + " called with a nil future")
	}
	if fnNil {
		panic("future: " + op + " called with a nil function")
	}
	l := &link[T, U]{src: src}
	l.n.cb = l
	return l
}

// start registers l on its source, or fires it at once if the source has
// already settled, and returns the future l settles.
func (l *link[T, U]) start() *Future[U] {
	if !l.src.add(&l.n) {
		if list := l.fire(); list != nil {
			drain(list)
		}
	}
	return &l.dst
}

// fire runs the continuation function and settles dst, converting a panic
// into a *PanicError and a runtime.Goexit into ErrGoexit.
func (l *link[T, U]) fire() (list *node) {
	src := l.src
	l.src = nil
	var zero U
	normal := false
	defer func() {
		l.then, l.mapf, l.handle, l.flat = nil, nil, nil, nil
		if normal {
			return
		}
		r := recover()
		if r == nil {
			// runtime.Goexit: this goroutine is exiting, so settle
			// and run dst's callbacks now rather than return them.
			if more, _ := l.dst.complete(zero, ErrGoexit); more != nil {
				drain(more)
			}
			return
		}
		list, _ = l.dst.complete(zero, NewPanicError(r))
	}()
	v, err := src.val, src.err
	var u U
	var uerr error
	switch {
	case l.handle != nil:
		u, uerr = l.handle(v, err)
	case err != nil:
		uerr = err
	case l.then != nil:
		u, uerr = l.then(v)
	case l.mapf != nil:
		u = l.mapf(v)
	default:
		inner := l.flat(v)
		normal = true
		if inner == nil {
			list, _ = l.dst.complete(zero, errNilFlat)
			return list
		}
		return forward(inner, &l.dst)
	}
	normal = true
	if uerr != nil {
		u = zero
	}
	list, _ = l.dst.complete(u, uerr)
	return list
}

var errNilFlat = &PanicError{Value: "future: FlatMap function returned a nil future"}

// forwarder settles dst with the result of src.
type forwarder[U any] struct {
	n   node
	src *Future[U]
	dst *Future[U]
}

func (w *forwarder[U]) fire() *node {
	list, _ := w.dst.complete(w.src.val, w.src.err)
	return list
}

// forward arranges for dst to settle with src's result; if src has already
// settled it settles dst now and returns dst's released callbacks.
func forward[U any](src, dst *Future[U]) *node {
	w := &forwarder[U]{src: src, dst: dst}
	w.n.cb = w
	if src.add(&w.n) {
		return nil
	}
	return w.fire()
}

// Then returns a future that settles with fn(v) once f settles with value v,
// or with f's error, without calling fn, if f fails. fn runs on the
// goroutine that settles f (see the package doc); a panic in fn settles the
// result with a *PanicError.
func Then[T, U any](f *Future[T], fn func(T) (U, error)) *Future[U] {
	l := newLink[T, U]("Then", f, fn == nil)
	l.then = fn
	return l.start()
}

// Map returns a future that settles with fn(v) once f settles with value v,
// or with f's error, without calling fn, if f fails. It is [Then] for
// functions that cannot fail.
func Map[T, U any](f *Future[T], fn func(T) U) *Future[U] {
	l := newLink[T, U]("Map", f, fn == nil)
	l.mapf = fn
	return l.start()
}

// Handle returns a future that settles with fn(v, err) once f settles with
// (v, err), whether f succeeded or failed: use it to recover from or wrap
// errors.
func Handle[T, U any](f *Future[T], fn func(T, error) (U, error)) *Future[U] {
	l := newLink[T, U]("Handle", f, fn == nil)
	l.handle = fn
	return l.start()
}

// FlatMap returns a future that settles like the future fn(v) returns, once
// f settles with value v, or with f's error if f fails. Use it to chain
// asynchronous steps without blocking a goroutine between them. If fn
// returns nil the result fails with a *PanicError.
func FlatMap[T, U any](f *Future[T], fn func(T) *Future[U]) *Future[U] {
	l := newLink[T, U]("FlatMap", f, fn == nil)
	l.flat = fn
	return l.start()
}
