package sim_test

import (
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
	"github.com/coawait/coawait/cuda/sim"
)

// BenchmarkCopy64MiB compares a simulated 64 MiB host-to-device copy in
// Instant mode (submit, run on the stream goroutine, synchronize) with
// copy() on the same bytes; the ratio of the two MB/s figures is the
// simulator's copy efficiency.
//
//	go test -run '^$' -bench Copy64MiB -benchtime 2s ./cuda/sim
func BenchmarkCopy64MiB(b *testing.B) {
	const size = 64 << 20
	dev := sim.New(sim.Config{})
	defer dev.Close()
	h, _ := dev.AllocHost(size)
	d, _ := dev.Alloc(size)
	src, _ := h.Bytes()
	for i := range src {
		src[i] = byte(i)
	}
	b.Run("copy", func(b *testing.B) {
		dst := kit.AlignedBytes(size)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			copy(dst, src)
		}
	})
	b.Run("sim-HtoD", func(b *testing.B) {
		s, _ := dev.NewStream(0)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.CopyHtoD(d, 0, h, 0, size); err != nil {
				b.Fatal(err)
			}
			if err := s.Synchronize(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sim-DtoH", func(b *testing.B) {
		s, _ := dev.NewStream(0)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.CopyDtoH(h, 0, d, 0, size); err != nil {
				b.Fatal(err)
			}
			if err := s.Synchronize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSubmit measures the host-side cost of submitting work, in
// Instant mode, synchronizing every 256 operations.
func BenchmarkSubmit(b *testing.B) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	spin, _ := dev.Kernel(sim.BuiltinModule, "spin")
	d, _ := dev.Alloc(256)
	ev, _ := dev.NewEvent(cuda.EventDisableTiming)
	run := func(b *testing.B, op func(s cuda.Stream) error) {
		s, _ := dev.NewStream(0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := op(s); err != nil {
				b.Fatal(err)
			}
			if i++; i%256 == 0 {
				_ = s.Synchronize()
			}
		}
		_ = s.Synchronize()
	}
	b.Run("Launch", func(b *testing.B) {
		run(b, func(s cuda.Stream) error { return s.Launch(spin, cuda.LaunchConfig{}, cuda.Int64(0)) })
	})
	b.Run("Memset", func(b *testing.B) {
		run(b, func(s cuda.Stream) error { return s.Memset(d, 0, 256, 1) })
	})
	b.Run("RecordEvent", func(b *testing.B) {
		run(b, func(s cuda.Stream) error { return s.RecordEvent(ev) })
	})
	b.Run("Query", func(b *testing.B) {
		s, _ := dev.NewStream(0)
		_ = s.RecordEvent(ev)
		_ = s.Synchronize()
		b.ReportAllocs()
		for b.Loop() {
			if done, err := ev.Query(); !done || err != nil {
				b.Fatal(done, err)
			}
		}
	})
	b.Run("RoundTrip", func(b *testing.B) {
		// Submit one operation and wait for it: the latency of a
		// stream goroutine wake-up and completion.
		s, _ := dev.NewStream(0)
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Memset(d, 0, 256, 1)
			if err := s.Synchronize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
