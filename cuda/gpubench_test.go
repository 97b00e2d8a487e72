//go:build cuda

package cuda_test

import (
	"context"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/cudrv"
	"github.com/coawait/coawait/cuda/internal/modreg"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
	"gorgonia.org/cu"
)

// GPU benchmarks (issue 12, item 6). Each compares the library's path with
// the raw driver call in the same run; scripts/gpu-check prints the ratios.
// The raw side runs on a goroutine locked to its thread with the primary
// context current once, so it pays no bracketing at all.

// rawEnv is the raw driver's view of GPU 0: the same primary context the
// backend uses and a stream of its own. Each raw benchmark locks its
// goroutine to its thread and makes the context current once (bind).
type rawEnv struct {
	ctx cu.CUContext
	st  cu.Stream
}

func newRaw(b *testing.B) *rawEnv {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, err := cu.GetDevice(0)
	if err != nil {
		b.Fatal(err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dev.ReleasePrimaryCtx() })
	if err := cu.SetCurrentContext(ctx); err != nil {
		b.Fatal(err)
	}
	st, err := cu.MakeStream(cu.NonBlocking)
	if err != nil {
		b.Fatal(err)
	}
	r := &rawEnv{ctx: ctx, st: st}
	b.Cleanup(func() {
		defer r.bind()()
		_ = st.Synchronize()
		_ = st.Destroy()
	})
	return r
}

// bind locks the calling goroutine to its thread and makes the context
// current there; the caller defers the returned unlock.
func (r *rawEnv) bind() (unlock func()) {
	runtime.LockOSThread()
	_ = cu.SetCurrentContext(r.ctx)
	return runtime.UnlockOSThread
}

// spinFunction loads the built-in module's spin kernel for raw launches.
func (r *rawEnv) spinFunction(b *testing.B) cu.Function {
	b.Helper()
	m, ok := modreg.Lookup("coawait")
	if !ok {
		b.Skip("no registered module \"coawait\" (package cuda/kernels not linked)")
	}
	defer r.bind()()
	mod, code, log := cudrv.LoadModule(r.ctx, m.PTX)
	if code != cudrv.Success {
		b.Fatalf("loading PTX: %s: %s", cudrv.ErrorName(code), log)
	}
	b.Cleanup(func() {
		defer r.bind()()
		_ = mod.Unload()
	})
	fn, err := mod.Function("spin")
	if err != nil {
		b.Fatal(err)
	}
	return fn
}

func benchDevice(b *testing.B) cuda.Device {
	b.Helper()
	dev, err := cuda.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dev.Close() })
	return dev
}

func check(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGPUBracket measures what making the context current around one
// driver call costs: the lock, set-current and unlock the backend does for
// each call of gorgonia.org/cu (target ≤ 0.2µs), next to a full backend
// call (Event.Query, bracketed) and the same query raw.
func BenchmarkGPUBracket(b *testing.B) {
	dev := benchDevice(b)
	ev, err := dev.NewEvent(0)
	check(b, err)
	r := newRaw(b)
	var rawEv cu.Event
	func() {
		defer r.bind()()
		rawEv, err = cu.MakeEvent(cu.DefaultEvent)
	}()
	check(b, err)
	b.Run("lock+set+unlock", func(b *testing.B) {
		for b.Loop() {
			runtime.LockOSThread()
			defer r.bind()()
			runtime.UnlockOSThread()
		}
	})
	b.Run("backend-query", func(b *testing.B) {
		for b.Loop() {
			_, _ = ev.Query()
		}
	})
	b.Run("raw-query", func(b *testing.B) {
		defer r.bind()()
		for b.Loop() {
			_ = rawEv.Query()
		}
	})
}

const copySize = 64 << 20

// BenchmarkGPUCopy measures host↔device bandwidth (MB/s) through the
// scheduler against raw cuMemcpy*Async on the same buffers, pinned and
// pageable. Pageable through the scheduler means what a program with Go
// memory does: copy it into a pinned staging buffer, then copy that.
func BenchmarkGPUCopy(b *testing.B) {
	dev := benchDevice(b)
	pinned, err := dev.AllocHost(copySize)
	check(b, err)
	pinnedMem, err := pinned.Bytes()
	check(b, err)
	pinnedPtr := unsafe.Pointer(unsafe.SliceData(pinnedMem))
	pageable := make([]byte, copySize)
	d, err := dev.Alloc(copySize)
	check(b, err)
	s, err := scheduler.New(dev)
	check(b, err)
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	r := newRaw(b)
	for _, dir := range []string{"HtoD", "DtoH"} {
		// The copies are asynchronous: each loop ends with a wait for the
		// last one, inside the timed region (a b.N loop, not b.Loop, so
		// that the wait is timed; see rawCopies).
		b.Run(dir+"/pinned/raw", func(b *testing.B) { rawCopies(b, r, dir, d, pinnedPtr) })
		b.Run(dir+"/pinned/scheduler", func(b *testing.B) {
			b.SetBytes(copySize)
			var last interface {
				Await(context.Context) (struct{}, error)
			}
			b.ResetTimer()
			for range b.N {
				if dir == "HtoD" {
					last = s.CopyHtoD(d, 0, pinned, 0, copySize)
				} else {
					op := s.CopyDtoH(pinned, 0, d, 0, copySize)
					last = discard(op)
				}
			}
			_, err := last.Await(ctx)
			check(b, err)
		})
		b.Run(dir+"/pageable/raw", func(b *testing.B) {
			// With pageable memory the driver has finished with the Go
			// memory when the call returns (it stages it), so cgo's
			// pointer rules hold.
			rawCopies(b, r, dir, d, unsafe.Pointer(unsafe.SliceData(pageable)))
		})
		b.Run(dir+"/pageable/scheduler", func(b *testing.B) {
			b.SetBytes(copySize)
			for b.Loop() {
				if dir == "HtoD" {
					copy(pinnedMem, pageable)
					_, err := s.CopyHtoD(d, 0, pinned, 0, copySize).Await(ctx)
					check(b, err)
				} else {
					_, err := s.CopyDtoH(pinned, 0, d, 0, copySize).Await(ctx)
					check(b, err)
					m, err := pinned.Bytes()
					check(b, err)
					copy(pageable, m)
				}
			}
		})
	}
}

// rawCopies times b.N raw asynchronous copies (dir "HtoD" or "DtoH") of
// copySize bytes between host memory at h and d, and the wait for the last.
func rawCopies(b *testing.B, r *rawEnv, dir string, d cuda.DevicePtr, h unsafe.Pointer) {
	b.SetBytes(copySize)
	defer r.bind()()
	b.ResetTimer()
	for range b.N {
		if dir == "HtoD" {
			check(b, cu.MemcpyHtoDAsync(cu.DevicePtr(d), h, copySize, r.st))
		} else {
			check(b, cu.MemcpyDtoHAsync(h, cu.DevicePtr(d), copySize, r.st))
		}
	}
	check(b, r.st.Synchronize())
}

// discard adapts a future of another type to the one the loop awaits.
func discard[T any](f interface {
	Await(context.Context) (T, error)
}) interface {
	Await(context.Context) (struct{}, error)
} {
	return awaitFunc(func(ctx context.Context) (struct{}, error) {
		_, err := f.Await(ctx)
		return struct{}{}, err
	})
}

type awaitFunc func(context.Context) (struct{}, error)

func (f awaitFunc) Await(ctx context.Context) (struct{}, error) { return f(ctx) }

// launchBatch bounds the launches in flight in the launch benchmark, so the
// driver's queue never fills (a full queue blocks the launch call).
const launchBatch = 512

// BenchmarkGPULaunch measures the host time per launch of an empty kernel:
// raw cuLaunchKernel plus cuEventRecord (what the scheduler does per
// operation), the backend's Stream.Launch plus RecordEvent, and the
// scheduler's Launch (target ≤ 1.5× raw). The waits for the device every
// launchBatch launches are not timed.
func BenchmarkGPULaunch(b *testing.B) {
	dev := benchDevice(b)
	k, err := dev.Kernel("coawait", "spin")
	if err != nil {
		b.Skipf("no spin kernel: %v", err)
	}
	one := cuda.LaunchConfig{}
	r := newRaw(b)
	fn := r.spinFunction(b)
	b.Run("raw", func(b *testing.B) {
		defer r.bind()()
		ev, err := cu.MakeEvent(cu.DisableTiming)
		check(b, err)
		var bits [cudrv.MaxParams]uint64
		i := 0
		for b.Loop() {
			if c := cudrv.Launch(cu.CUContext{}, fn, [3]uint32{1, 1, 1}, [3]uint32{1, 1, 1}, 0, r.st, &bits, 1); c != cudrv.Success {
				b.Fatal(cudrv.ErrorName(c))
			}
			check(b, ev.Record(r.st))
			if i++; i%launchBatch == 0 {
				b.StopTimer()
				check(b, r.st.Synchronize())
				b.StartTimer()
			}
		}
		check(b, r.st.Synchronize())
	})
	b.Run("backend", func(b *testing.B) {
		st, err := dev.NewStream(0)
		check(b, err)
		ev, err := dev.NewEvent(cuda.EventDisableTiming)
		check(b, err)
		i := 0
		for b.Loop() {
			check(b, st.Launch(k, one, cuda.Int64(0)))
			check(b, st.RecordEvent(ev))
			if i++; i%launchBatch == 0 {
				b.StopTimer()
				check(b, st.Synchronize())
				b.StartTimer()
			}
		}
		check(b, st.Synchronize())
	})
	b.Run("scheduler", func(b *testing.B) {
		s, err := scheduler.New(dev)
		check(b, err)
		defer s.Close()
		args := []cuda.Arg{cuda.Int64(0)}
		var last *scheduler.Op[struct{}]
		i := 0
		for b.Loop() {
			last = s.Launch(k, one, args)
			if i++; i%launchBatch == 0 {
				b.StopTimer()
				_, err := last.Await(context.Background())
				check(b, err)
				b.StartTimer()
			}
		}
		_, err = last.Await(context.Background())
		check(b, err)
	})
}

// BenchmarkGPUWake measures a launch-and-wait round trip of an empty
// kernel: through the scheduler under each policy, and raw with a spinning
// cuEventSynchronize (default event flags) and a blocking-sync one. The
// difference to the spinning raw round trip is the completion-to-wake cost
// (target: adaptive ≤ 1.5× raw spin).
func BenchmarkGPUWake(b *testing.B) {
	dev := benchDevice(b)
	k, err := dev.Kernel("coawait", "spin")
	if err != nil {
		b.Skipf("no spin kernel: %v", err)
	}
	r := newRaw(b)
	fn := r.spinFunction(b)
	for _, flags := range []cu.EventFlags{cu.DisableTiming, cu.DisableTiming | cu.BlockingSyncEvent} {
		name := "raw-spin"
		if flags&cu.BlockingSyncEvent != 0 {
			name = "raw-blocking"
		}
		b.Run(name, func(b *testing.B) {
			defer r.bind()()
			ev, err := cu.MakeEvent(flags)
			check(b, err)
			var bits [cudrv.MaxParams]uint64
			for b.Loop() {
				if c := cudrv.Launch(cu.CUContext{}, fn, [3]uint32{1, 1, 1}, [3]uint32{1, 1, 1}, 0, r.st, &bits, 1); c != cudrv.Success {
					b.Fatal(cudrv.ErrorName(c))
				}
				check(b, ev.Record(r.st))
				check(b, ev.Synchronize())
			}
		})
	}
	args := []cuda.Arg{cuda.Int64(0)}
	for _, p := range []scheduler.Policy{scheduler.Adaptive, scheduler.Spin, scheduler.Blocking, scheduler.HostCallback} {
		b.Run("scheduler-"+p.String(), func(b *testing.B) {
			s, err := scheduler.New(dev, scheduler.WithPolicy(p))
			check(b, err)
			defer s.Close()
			for b.Loop() {
				_, err := s.Launch(k, cuda.LaunchConfig{}, args).Await(context.Background())
				check(b, err)
			}
		})
	}
}

// overlapProgram runs a 64 MiB host-to-device copy on one stream and a spin
// kernel of about the copy's duration on another, both after one origin
// event, and returns the span from the origin to the later end, from event
// timestamps.
func overlapProgram(dev cuda.Device, h *cuda.HostBuffer, d cuda.DevicePtr, spin cuda.Kernel, kernelTime time.Duration) (time.Duration, error) {
	s0, err := dev.NewStream(0)
	if err != nil {
		return 0, err
	}
	defer s0.Close()
	s1, err := dev.NewStream(0)
	if err != nil {
		return 0, err
	}
	defer s1.Close()
	var evs [3]cuda.Event
	for i := range evs {
		if evs[i], err = dev.NewEvent(0); err != nil {
			return 0, err
		}
		defer evs[i].Close()
	}
	for _, err := range []error{
		s0.RecordEvent(evs[0]), s1.WaitEvent(evs[0]),
		s0.CopyHtoD(d, 0, h, 0, h.Len()), s1.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(int64(kernelTime))),
		s0.RecordEvent(evs[1]), s1.RecordEvent(evs[2]), dev.Synchronize(),
	} {
		if err != nil {
			return 0, err
		}
	}
	t0, err := dev.ElapsedTime(evs[0], evs[1])
	if err != nil {
		return 0, err
	}
	t1, err := dev.ElapsedTime(evs[0], evs[2])
	return max(t0, t1), err
}

// BenchmarkGPUOverlap runs the same two-stream copy/compute program on the
// GPU and on the simulator (its default timing model: H100 PCIe on Gen5
// x16) and reports both spans, from event timestamps, as measured-µs and
// modeled-µs (target: within 15%).
func BenchmarkGPUOverlap(b *testing.B) {
	dev := benchDevice(b)
	spin, err := dev.Kernel("coawait", "spin")
	if err != nil {
		b.Skipf("no spin kernel: %v", err)
	}
	h, err := dev.AllocHost(copySize)
	check(b, err)
	d, err := dev.Alloc(copySize)
	check(b, err)
	simDev := sim.New(sim.Config{})
	defer simDev.Close()
	sh, err := simDev.AllocHost(copySize)
	check(b, err)
	sd, err := simDev.Alloc(copySize)
	check(b, err)
	simSpin, err := simDev.Kernel(sim.BuiltinModule, "spin")
	check(b, err)
	kernelTime := time.Duration(float64(copySize) / sim.DefaultTiming().HtoD * 1e9)
	var measured, modeled time.Duration
	for b.Loop() {
		m, err := overlapProgram(dev, h, d, spin, kernelTime)
		check(b, err)
		measured += m
	}
	modeled, err = overlapProgram(simDev, sh, sd, simSpin, kernelTime)
	check(b, err)
	b.ReportMetric(float64(measured.Microseconds())/float64(b.N), "measured-µs")
	b.ReportMetric(float64(modeled.Microseconds()), "modeled-µs")
}
