package cudatest

import (
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
)

// Module is the kernel module the suite uses: [kernels.Module]. The
// simulator registers it as sim.BuiltinModule; the CUDA backend loads its
// PTX, which package kernels registers, when a test first looks it up.
const Module = kernels.Module

// suiteKernels are the kernels the suite launches, defined in cuda/kernels.
var suiteKernels = []string{"fill_f32", "scale_f32", "saxpy_f32", "spin", "trap"}

// Kernels returns the specs of the kernels the suite uses, from package
// cuda/kernels (where their CUDA C and Go bodies are).
func Kernels() []cuda.KernelSpec {
	out := make([]cuda.KernelSpec, 0, len(suiteKernels))
	for _, name := range suiteKernels {
		if d, ok := kernels.Lookup(name); ok {
			out = append(out, d.Spec)
		}
	}
	return out
}

func kernelSpec(name string) (cuda.KernelSpec, bool) {
	d, ok := kernels.Lookup(name)
	return d.Spec, ok
}
