package cuda

import (
	"errors"
	"sync"
)

// HostPool recycles pinned host buffers of a [Device], keyed by exact size
// (pinning memory is expensive; data loaders reuse buffers of one batch
// size). Its methods are safe for concurrent use. Create it with
// [NewHostPool]; the zero value is not usable.
type HostPool struct {
	dev     Device // written once
	maxIdle int    // written once

	mu     sync.Mutex
	idle   map[int][]*HostBuffer // guarded by mu: free buffers by size
	closed bool                  // guarded by mu
}

// NewHostPool returns a pool of dev's host buffers that keeps at most
// maxIdle free buffers of each size (0 means 8). It panics if dev is nil.
func NewHostPool(dev Device, maxIdle int) *HostPool {
	if dev == nil {
		panic("cuda: NewHostPool with nil Device")
	}
	if maxIdle <= 0 {
		maxIdle = 8
	}
	return &HostPool{dev: dev, maxIdle: maxIdle, idle: make(map[int][]*HostBuffer)}
}

// Get returns a buffer of exactly size bytes, reusing a free one if it can.
// A reused buffer holds whatever its last user left in it.
func (p *HostPool) Get(size int) (*HostBuffer, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errorf("HostPool.Get", ErrClosed, "pool is closed")
	}
	if l := p.idle[size]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.idle[size] = l[:len(l)-1]
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	return p.dev.AllocHost(size)
}

// Put returns b to the pool. While a copy still uses b it returns an error
// matching [ErrBufferBusy] and the caller keeps b; put it back once the
// copy's event is done. A buffer of another device is an error matching
// [ErrForeign], a freed one [ErrInvalidValue]. After Close, Put frees b.
func (p *HostPool) Put(b *HostBuffer) error {
	const op = "HostPool.Put"
	if b == nil {
		return errorf(op, ErrInvalidValue, "nil buffer")
	}
	if b.Device() != p.dev {
		return errorf(op, ErrForeign, "buffer belongs to another device")
	}
	if err := b.Err(); err != nil {
		return withOp(err, op)
	}
	if b.Busy() {
		return errorf(op, ErrBufferBusy, "an asynchronous copy still uses the %d-byte buffer", b.Len())
	}
	p.mu.Lock()
	if !p.closed && len(p.idle[b.Len()]) < p.maxIdle {
		for _, x := range p.idle[b.Len()] {
			if x == b {
				p.mu.Unlock()
				return errorf(op, ErrInvalidValue, "buffer is already in the pool")
			}
		}
		p.idle[b.Len()] = append(p.idle[b.Len()], b)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return p.dev.FreeHost(b)
}

// Close frees the pool's free buffers. Buffers handed out stay valid until
// their owner frees them or puts them back (which then frees them).
// Closing twice returns an error matching [ErrClosed].
func (p *HostPool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errorf("HostPool.Close", ErrClosed, "pool is already closed")
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var errs []error
	for _, l := range idle {
		for _, b := range l {
			if err := p.dev.FreeHost(b); err != nil && !errors.Is(err, ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// MemPool is a stream-ordered device memory pool, in the manner of
// cudaMallocAsync: [MemPool.Free] on a stream returns a block to the pool at
// that point of the stream, and the block is reused only where that is safe.
// A block freed on stream s is reused
//
//   - at once by an Alloc on the same stream s, since stream order puts the
//     new user's work after the old user's, or
//   - by an Alloc on another stream once all of s's work submitted before
//     the Free is done (checked with a non-blocking event query).
//
// Otherwise Alloc allocates a new block; it never blocks and never inserts
// hidden dependencies between streams. Blocks are reused for requests of
// the same size. The methods are safe for concurrent use. Create it with
// [NewMemPool]; the zero value is not usable.
type MemPool struct {
	dev Device // written once

	mu     sync.Mutex
	idle   map[int][]poolBlock // guarded by mu: freed blocks by size
	live   map[DevicePtr]int   // guarded by mu: blocks handed out, with size
	events []Event             // guarded by mu: spare events
	closed bool                // guarded by mu
}

type poolBlock struct {
	ptr    DevicePtr
	stream Stream // the stream it was freed on
	ev     Event  // recorded on stream at the Free
}

// NewMemPool returns an empty pool on dev. It panics if dev is nil.
func NewMemPool(dev Device) *MemPool {
	if dev == nil {
		panic("cuda: NewMemPool with nil Device")
	}
	return &MemPool{dev: dev, idle: make(map[int][]poolBlock), live: make(map[DevicePtr]int)}
}

// Alloc returns a block of size bytes for use on stream s.
func (p *MemPool) Alloc(s Stream, size int) (DevicePtr, error) {
	const op = "MemPool.Alloc"
	if s == nil {
		return 0, errorf(op, ErrInvalidValue, "nil stream")
	}
	if size <= 0 {
		return 0, errorf(op, ErrInvalidValue, "size %d is not positive", size)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errorf(op, ErrClosed, "pool is closed")
	}
	l := p.idle[size]
	for i, b := range l {
		ok := b.stream == s
		if !ok {
			done, err := b.ev.Query()
			if err != nil {
				return 0, err
			}
			ok = done
		}
		if ok {
			p.idle[size] = append(l[:i], l[i+1:]...)
			p.events = append(p.events, b.ev)
			p.live[b.ptr] = size
			return b.ptr, nil
		}
	}
	ptr, err := p.dev.Alloc(size)
	if err != nil {
		return 0, err
	}
	p.live[ptr] = size
	return ptr, nil
}

// Free returns ptr, from Alloc, to the pool at the current point of stream
// s: the work already submitted to s may still use it.
func (p *MemPool) Free(s Stream, ptr DevicePtr) error {
	const op = "MemPool.Free"
	if s == nil {
		return errorf(op, ErrInvalidValue, "nil stream")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errorf(op, ErrClosed, "pool is closed")
	}
	size, ok := p.live[ptr]
	if !ok {
		return errorf(op, ErrInvalidValue, "pointer %v was not allocated by this pool or was already freed", ptr)
	}
	var ev Event
	if n := len(p.events); n > 0 {
		ev = p.events[n-1]
		p.events = p.events[:n-1]
	} else {
		var err error
		if ev, err = p.dev.NewEvent(EventDisableTiming); err != nil {
			return err
		}
	}
	if err := s.RecordEvent(ev); err != nil {
		p.events = append(p.events, ev)
		return err
	}
	delete(p.live, ptr)
	p.idle[size] = append(p.idle[size], poolBlock{ptr: ptr, stream: s, ev: ev})
	return nil
}

// Close waits for the streams' work that may still use freed blocks, then
// frees every block, including those handed out and not yet returned.
// Closing twice returns an error matching [ErrClosed].
func (p *MemPool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errorf("MemPool.Close", ErrClosed, "pool is already closed")
	}
	p.closed = true
	var errs []error
	keep := func(err error) {
		if err == nil || errors.Is(err, ErrClosed) {
			return
		}
		for _, e := range errs {
			if e == err || e.Error() == err.Error() {
				return // a sticky error repeats itself
			}
		}
		errs = append(errs, err)
	}
	for _, l := range p.idle {
		for _, b := range l {
			keep(b.ev.Synchronize())
			keep(p.dev.Free(b.ptr))
			keep(b.ev.Close())
		}
	}
	for ptr := range p.live {
		keep(p.dev.Free(ptr))
	}
	for _, ev := range p.events {
		keep(ev.Close())
	}
	p.idle, p.live, p.events = nil, nil, nil
	return errors.Join(errs...)
}
