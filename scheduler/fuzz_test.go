package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
)

// FuzzScheduler drives the scheduler with random programs — operations on
// random streams, with random device and host dependencies, good and bad
// arguments, awaits with cancelled contexts, and Close at a random point —
// and checks its invariants: every operation settles, every failure is an
// *OpError, Close drains, the counters add up, and no goroutine is left
// (goleak, in TestMain).
func FuzzScheduler(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{5, 5, 5, 1, 1, 0x80, 2, 0x41, 9, 3})
	f.Add([]byte{7, 0x17, 0x27, 0x37, 8, 0xff, 0x10})
	// Found by the fuzzer: the dispatcher could stop with a callback
	// still queued (it checked for the stop request after taking the
	// queue), so an operation waiting for a deferred operation and a host
	// future was never submitted.
	f.Add([]byte("TT6TZA\xe8"))
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 48 {
			prog = prog[:48]
		}
		runProgram(t, prog)
	})
}

// fuzzDevice opens the device a program runs on: the simulator, or, with
// -tags cuda and COAWAIT_GPU=1, GPU 0 (see gpu_test.go).
var fuzzDevice = func(t *testing.T) cuda.Device { return sim.New(sim.Config{}) }

func runProgram(t *testing.T, prog []byte) {
	dev := fuzzDevice(t)
	defer dev.Close()
	policy := policies[0]
	if len(prog) > 0 {
		policy = policies[int(prog[0])%len(policies)]
	}
	s, err := scheduler.New(dev, scheduler.WithPolicy(policy))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := dev.NewStream(0)
	defer st.Close()
	x, _ := dev.Alloc(256)
	y, _ := dev.Alloc(256)
	hb, _ := dev.AllocHost(256)
	spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
	one := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1, Z: 1}, Block: cuda.Dim3{X: 1, Y: 1, Z: 1}}

	var ops []future.Awaitable
	var hostGates []*future.Promise[int]
	closed := false
	for i, b := range prog {
		var opts []scheduler.OpOption
		if b&0x10 != 0 && len(ops) > 0 {
			opts = append(opts, scheduler.After(ops[int(b>>5)%len(ops)]))
		}
		if b&0x20 != 0 {
			opts = append(opts, scheduler.OnStream(st))
		}
		if b&0x40 != 0 {
			g, p := future.New[int]()
			hostGates = append(hostGates, p)
			opts = append(opts, scheduler.After(g))
		}
		var op future.Awaitable
		// Streams are not ordered with each other unless a dependency says
		// so: each stream writes its own half of x, and y is only read.
		switch b % 10 {
		case 0:
			off := int(b) % 48
			if b&0x20 != 0 {
				off += 128
			}
			op = s.Memset(x, off, 16, b, opts...)
		case 1:
			op = s.Launch(spin, one, []cuda.Arg{cuda.Int64(int64(b) * 100)}, opts...)
		case 2:
			op = s.Memset(x, 250, 16, 0, opts...) // out of range
		case 3:
			op = s.Launch(spin, one, []cuda.Arg{cuda.Int32(1)}, opts...) // wrong argument type
		case 4:
			op = s.Alloc(int(b)+1, opts...)
		case 5:
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			o := s.Launch(spin, one, []cuda.Arg{cuda.Int64(1000)}, opts...)
			if _, err := o.Await(ctx); err == nil && !o.IsDone() {
				t.Fatal("Await with a cancelled context returned no error for a pending op")
			}
			op = o
		case 6:
			if len(hostGates) > 0 {
				hostGates[int(b>>4)%len(hostGates)].Resolve(int(b))
			}
			continue
		case 7:
			if len(hostGates) > 0 {
				hostGates[int(b>>4)%len(hostGates)].Reject(errors.New("load failed"))
			}
			continue
		case 8:
			if !closed && i > len(prog)/2 {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				closed = true
			}
			continue
		default:
			op = s.CopyDtoH(hb, 0, y, 0, 64, opts...)
		}
		ops = append(ops, op)
	}
	// Settle every host gate, then close: everything must settle.
	for _, g := range hostGates {
		g.Resolve(0)
	}
	s.Close()
	for i, op := range ops {
		select {
		case <-op.Done():
		case <-time.After(3 * time.Second):
			done := make([]bool, len(ops))
			for j, o := range ops {
				done[j] = o.IsDone()
			}
			m := s.Metrics()
			t.Fatalf("op %d never settled (policy %v, program %v); done %v; submitted %d completed %d failed %d rejected %d pending %d",
				i, policy, prog, done, m.Submitted, m.Completed, m.Failed, m.Rejected, m.Pending)
		}
		if err := op.Err(); err != nil {
			var oe *scheduler.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("op %d failed with %v (%T), not an *OpError", i, err, err)
			}
		}
	}
	m := s.Metrics()
	if m.Pending != 0 {
		t.Fatalf("pending %d after Close", m.Pending)
	}
	if m.Completed+m.Failed+m.Rejected != int64(len(ops)) {
		t.Fatalf("completed %d + failed %d + rejected %d != %d ops", m.Completed, m.Failed, m.Rejected, len(ops))
	}
}
