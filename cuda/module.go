package cuda

import "github.com/coawait/coawait/cuda/internal/modreg"

// ModuleLoader is an optional interface of a [Device]: backends that run
// compiled GPU code (the CUDA backend does; the simulator runs Go bodies
// registered with it instead) load a module of the user's own kernels from
// PTX, and callers check with a type assertion. The built-in kernels of
// package cuda/kernels need no call: importing that package makes every
// device able to look them up.
type ModuleLoader interface {
	// LoadModule JIT-compiles ptx (the text nvcc -ptx writes) as module
	// name, whose kernels are declared by kernels (their Module field is
	// ignored; each Name must be an entry of the PTX). Afterwards
	// Device.Kernel(name, k) finds each of them. PTX the driver refuses
	// is an error matching ErrInvalidValue whose text holds the JIT's
	// error log; a name already loaded is an ErrInvalidValue error too.
	LoadModule(name string, ptx []byte, kernels []KernelSpec) error
}

// launchCheck checks a launch's arguments beyond their kinds, given per
// argument the bytes from a pointer to the end of its allocation (0 for
// the others); see modreg.Kernel.Check.
type launchCheck = func(op string, spec *KernelSpec, cfg LaunchConfig, args []Arg, sizes []int) error

// registeredModule returns the PTX, kernel specs and launch checks (by
// kernel name; absent where a kernel has none) of a module registered by
// package cuda/kernels, if any.
func registeredModule(name string) (ptx []byte, specs []KernelSpec, checks map[string]launchCheck, ok bool) {
	m, ok := modreg.Lookup(name)
	if !ok {
		return nil, nil, nil, false
	}
	checks = make(map[string]launchCheck)
	specs = make([]KernelSpec, len(m.Kernels))
	for i, k := range m.Kernels {
		ps := make([]Param, len(k.Params))
		for j, p := range k.Params {
			ps[j] = Param{Name: p.Name, Kind: ParamKind(p.Kind)}
		}
		specs[i] = KernelSpec{Module: name, Name: k.Name, Params: ps}
		if c, isCheck := k.Check.(launchCheck); isCheck && c != nil {
			checks[k.Name] = c
		}
	}
	return m.PTX, specs, checks, true
}

// checkModule checks the arguments of a LoadModule call.
func checkModule(op, name string, ptx []byte, kernels []KernelSpec) error {
	if name == "" {
		return errorf(op, ErrInvalidValue, "empty module name")
	}
	if len(ptx) == 0 {
		return errorf(op, ErrInvalidValue, "module %q has no PTX", name)
	}
	seen := make(map[string]bool, len(kernels))
	for _, k := range kernels {
		if k.Name == "" || seen[k.Name] {
			return errorf(op, ErrInvalidValue, "module %q declares an empty or duplicate kernel name %q", name, k.Name)
		}
		seen[k.Name] = true
		if len(k.Params) > maxKernelParams {
			return errorf(op, ErrInvalidValue, "kernel %v has %d parameters; at most %d are supported", k, len(k.Params), maxKernelParams)
		}
		for i, p := range k.Params {
			if p.Kind == ParamInvalid || p.Kind > ParamFloat64 {
				return errorf(op, ErrInvalidValue, "kernel %s parameter %d has invalid kind %v", k.Name, i, p.Kind)
			}
		}
	}
	return nil
}
