package async

import (
	"sync/atomic"
	"unsafe"
)

// This file starts goroutines without allocating a closure for each one.
//
// A go statement whose function takes arguments or captures variables
// allocates a closure to carry them to the new goroutine; `go f()` with a
// plain func value does not. So instead of `go run(task)`, start pushes the
// task's job on a lock-free stack and starts a goroutine with a fixed
// function that pops one job and runs it. Every push is followed by exactly
// one goroutine that pops from the same stack, so each new goroutine finds a
// job (not necessarily the one its starter pushed: jobs are
// interchangeable), and every job runs on a goroutine of its own, started
// for it. The stack is sharded to spread contention on machines with many
// cores.
//
// Nodes are never pushed twice, so the classic ABA problem of lock-free
// stacks cannot occur: a popped node's address never reappears at the top
// while a concurrent pop still holds it (the garbage collector keeps it
// alive).

// A job is a unit of work for a new goroutine: r.runJob is called once, on
// a goroutine started for it. r is usually the struct that embeds the job
// (a pointer in an interface costs no allocation, unlike a func value of a
// generic function, which captures its dictionary).
type job struct {
	next atomic.Pointer[job] // cleared by the popper so a finished job pins nothing
	r    jobRunner
}

type jobRunner interface {
	runJob()
}

const shardBits = 3

type shard struct {
	head atomic.Pointer[job]
	_    [120]byte // keep shards on separate cache lines
}

var shards [1 << shardBits]shard

// runners[k] pops and runs one job of shards[k]. They are plain func values,
// so `go runners[k]()` allocates nothing.
var runners = [1 << shardBits]func(){
	func() { runShard(&shards[0]) },
	func() { runShard(&shards[1]) },
	func() { runShard(&shards[2]) },
	func() { runShard(&shards[3]) },
	func() { runShard(&shards[4]) },
	func() { runShard(&shards[5]) },
	func() { runShard(&shards[6]) },
	func() { runShard(&shards[7]) },
}

// start runs j.r.runJob() on a new goroutine.
func start(j *job) {
	// Spread jobs over the shards by address (Fibonacci hashing).
	k := (uint64(uintptr(unsafe.Pointer(j))>>4) * 0x9E3779B97F4A7C15) >> (64 - shardBits)
	sh := &shards[k]
	for {
		h := sh.head.Load()
		if h != nil || j.next.Load() != nil {
			j.next.Store(h) // a fresh job's next is nil: skip the store then
		}
		if sh.head.CompareAndSwap(h, j) {
			break
		}
	}
	go runners[k]()
}

func runShard(sh *shard) {
	for {
		h := sh.head.Load()
		if h == nil {
			// Impossible: every runner is started after a push to its
			// shard, and each runner pops once.
			panic("async: internal error: a task goroutine found no task")
		}
		next := h.next.Load()
		if sh.head.CompareAndSwap(h, next) {
			if next != nil {
				h.next.Store(nil)
			}
			h.r.runJob()
			return
		}
	}
}
