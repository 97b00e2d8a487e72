package kernels

import (
	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/modreg"
)

// The CUDA backend (package cuda, built with -tags cuda) cannot import this
// package, which imports cuda. So this init files every module's PTX, with
// its kernels' parameter lists and argument checks, in the registry of
// cuda/internal/modreg, and a GPU device loads a module from there the
// first time cuda.Device.Kernel asks for one of its kernels: a program that
// imports this package (as cuda/sim does) finds the built-in kernels on a
// GPU as on the simulator. Before each launch the backend runs the
// kernel's Check on a NewCheckCall built from the sizes of the
// allocations behind the pointer arguments.
func init() {
	for _, m := range Modules() {
		var ks []modreg.Kernel
		for _, d := range defs {
			if d.Spec.Module != m.Name {
				continue
			}
			k := modreg.Kernel{Name: d.Spec.Name}
			for _, p := range d.Spec.Params {
				k.Params = append(k.Params, modreg.Param{Name: p.Name, Kind: uint8(p.Kind)})
			}
			if check := d.Check; check != nil {
				k.Check = func(op string, spec *cuda.KernelSpec, cfg cuda.LaunchConfig, args []cuda.Arg, sizes []int) error {
					return check(NewCheckCall(op, spec, cfg, args, sizes))
				}
			}
			ks = append(ks, k)
		}
		modreg.Register(modreg.Module{Name: m.Name, PTX: m.PTX, Kernels: ks})
	}
}
