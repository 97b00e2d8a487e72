package sim

import (
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
)

// BuiltinModule is the module of the kernels every simulated device has:
// those of package cuda/kernels ([kernels.All]), whose Go bodies the
// simulator runs. See that package for the list (the conformance kernels
// fill_f32, scale_f32, saxpy_f32, spin, trap, and the MLP kernels).
//
// A built-in kernel costs, in the timing model, the larger of the bytes it
// moves divided by Timing.Memory and the floating-point operations it does
// divided by Timing.Compute, plus its fixed time (spin's).
const BuiltinModule = kernels.Module

// KernelTime returns the modeled duration of a kernel doing w: the larger
// of the memory and the compute time (a roofline), plus w.Time.
func (t Timing) KernelTime(w kernels.Work) time.Duration {
	return max(Transfer(w.Bytes, t.Memory), Transfer(w.FLOPs, t.Compute)) + max(w.Time, 0)
}

func (d *Device) builtins() []KernelDef {
	all := kernels.All()
	defs := make([]KernelDef, len(all))
	for i, k := range all {
		work := k.Work
		defs[i] = KernelDef{
			Spec:  k.Spec,
			Cost:  func(_ cuda.LaunchConfig, a []cuda.Arg) time.Duration { return d.cfg.Timing.KernelTime(work(a)) },
			Check: k.Check,
			Run:   k.Run,
		}
	}
	return defs
}
