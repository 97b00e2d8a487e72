package sim

import (
	"math"
	"time"
)

// TimeMode selects whether the simulator waits for modeled time.
type TimeMode int

const (
	// Instant runs every operation as soon as its stream reaches it, with
	// no modeled delay. Event timestamps still follow the timing model, so
	// ElapsedTime reports modeled durations; the host simply sees work
	// finish early. This is the mode for fast tests (the zero Config).
	Instant TimeMode = iota
	// Modeled makes each operation take its modeled time: a stream sleeps
	// (time.Sleep-like timers) until the operation's modeled start and end.
	// Under testing/synctest the fake clock makes this exact and instant;
	// outside it the device runs in real time, which keeps demos honest.
	Modeled
)

// String names the mode.
func (m TimeMode) String() string {
	switch m {
	case Instant:
		return "instant"
	case Modeled:
		return "modeled"
	}
	return "TimeMode(?)"
}

// Timing is the simulator's timing model. Zero fields take the defaults of
// [DefaultTiming], which models one H100 PCIe on a PCIe Gen5 x16 link.
//
// All durations are computed by the methods below, rounded up to whole
// nanoseconds, so tests can predict timestamps exactly.
type Timing struct {
	// HtoD and DtoH are the bandwidths of one host-to-device and one
	// device-to-host copy, in bytes per second.
	HtoD, DtoH float64
	// Memory is the device memory bandwidth in bytes per second. A memset
	// of n bytes moves n bytes, a device-to-device copy 2n (read and
	// write); the built-in kernels move what they read plus what they write.
	Memory float64
	// Compute is the device's effective single-precision rate in
	// floating-point operations per second, for compute-bound kernels
	// (sgemm_f32 does 2*m*n*k). The default, 50e12, is what a well-tuned
	// SGEMM reaches on an H100 PCIe (51 TFLOP/s fp32 peak without tensor
	// cores); the simple tiled kernel of cuda/kernels reaches less.
	Compute float64
	// LaunchLatency is the time from the host's submission of an operation
	// to the earliest moment the device can start it. It is hidden when the
	// stream is still busy with earlier work.
	LaunchLatency time.Duration
	// CopyEngines is 1 or 2. With 2, host-to-device and device-to-host
	// copies use separate engines and run at the same time; with 1 they
	// share one engine.
	CopyEngines int
}

// DefaultTiming returns the default model: an H100 PCIe (2.0 TB/s HBM2e,
// 50 TFLOP/s effective fp32) on a PCIe Gen5 x16 link (50 GB/s each way), 2
// copy engines, 3 µs launch latency.
func DefaultTiming() Timing {
	return Timing{
		HtoD:          50e9,
		DtoH:          50e9,
		Memory:        2.0e12,
		Compute:       50e12,
		LaunchLatency: 3 * time.Microsecond,
		CopyEngines:   2,
	}
}

// withDefaults fills zero fields from DefaultTiming and panics on invalid
// values (misuse of Config).
func (t Timing) withDefaults() Timing {
	def := DefaultTiming()
	if t.HtoD == 0 {
		t.HtoD = def.HtoD
	}
	if t.DtoH == 0 {
		t.DtoH = def.DtoH
	}
	if t.Memory == 0 {
		t.Memory = def.Memory
	}
	if t.Compute == 0 {
		t.Compute = def.Compute
	}
	if t.CopyEngines == 0 {
		t.CopyEngines = def.CopyEngines
	}
	if t.LaunchLatency == 0 {
		t.LaunchLatency = def.LaunchLatency
	}
	if sum := t.HtoD + t.DtoH + t.Memory + t.Compute; t.HtoD < 0 || t.DtoH < 0 || t.Memory < 0 || t.Compute < 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		panic("sim: Timing bandwidths and rates must be positive and finite")
	}
	if t.CopyEngines < 1 || t.CopyEngines > 2 {
		panic("sim: Timing.CopyEngines must be 1 or 2")
	}
	if t.LaunchLatency < 0 {
		t.LaunchLatency = 0 // negative means "none"
	}
	return t
}

// Transfer returns the time to move n bytes at bw bytes per second, rounded
// up to a whole nanosecond.
func Transfer(n int64, bw float64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(n) * 1e9 / bw))
}

// CopyHtoD returns the modeled duration of an n-byte host-to-device copy.
func (t Timing) CopyHtoD(n int) time.Duration { return Transfer(int64(n), t.HtoD) }

// CopyDtoH returns the modeled duration of an n-byte device-to-host copy.
func (t Timing) CopyDtoH(n int) time.Duration { return Transfer(int64(n), t.DtoH) }

// CopyDtoD returns the modeled duration of an n-byte device-to-device copy.
func (t Timing) CopyDtoD(n int) time.Duration { return Transfer(2*int64(n), t.Memory) }

// Memset returns the modeled duration of an n-byte memset.
func (t Timing) Memset(n int) time.Duration { return Transfer(int64(n), t.Memory) }

// engine is a copy engine: it runs one copy at a time. Busy intervals are
// kept sorted; a copy takes the earliest gap at or after its ready time that
// fits it, so a copy held back by a stream wait does not block later copies
// of other streams that are ready earlier. To bound memory only the last
// maxIntervals intervals are kept; time before floor counts as busy.
type engine struct {
	floor time.Duration
	busy  []interval
}

type interval struct{ start, end time.Duration }

const maxIntervals = 64

// reserve books the engine for dur starting at or after ready and returns
// the start.
func (e *engine) reserve(ready, dur time.Duration) time.Duration {
	t := max(ready, e.floor)
	i := 0
	for ; i < len(e.busy); i++ {
		iv := e.busy[i]
		if t+dur <= iv.start {
			break
		}
		t = max(t, iv.end)
	}
	e.busy = append(e.busy, interval{})
	copy(e.busy[i+1:], e.busy[i:])
	e.busy[i] = interval{t, t + dur}
	if len(e.busy) > maxIntervals {
		e.floor = e.busy[0].end
		e.busy = append(e.busy[:0], e.busy[1:]...)
	}
	return t
}
