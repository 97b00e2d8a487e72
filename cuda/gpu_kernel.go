//go:build cuda

package cuda

import (
	"gorgonia.org/cu"
)

// gpuModule is a loaded PTX module.
type gpuModule struct {
	mod    cu.Module
	specs  map[string]KernelSpec
	checks map[string]launchCheck // from the registry; nil for LoadModule's
}

// gpuKernel is a function of a loaded module, with its own launch limits.
type gpuKernel struct {
	d            *gpuDevice
	spec         KernelSpec
	op           string // "Launch <name>"
	fn           cu.Function
	maxThreads   int         // CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: fewer than the device's if it needs many registers
	staticShared int         // CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES
	check        launchCheck // nil: the kinds and live pointers are all that is checked
}

// Spec is the kernel's module, name and parameters.
func (k *gpuKernel) Spec() KernelSpec { return k.spec }

// validate checks cfg against the device's and the kernel's limits.
func (k *gpuKernel) validate(op string, cfg LaunchConfig) error {
	p := &k.d.props
	if err := cfg.validate(op, p); err != nil {
		return err
	}
	if t := cfg.Block.Size(); t > k.maxThreads {
		return errorf(op, ErrInvalidValue, "%d threads per block exceed this kernel's limit of %d (its register use)", t, k.maxThreads)
	}
	if k.staticShared+cfg.SharedMem > p.MaxSharedMemoryPerBlock {
		return errorf(op, ErrInvalidValue, "%d bytes of dynamic shared memory plus the kernel's %d static bytes exceed %d per block",
			cfg.SharedMem, k.staticShared, p.MaxSharedMemoryPerBlock)
	}
	return nil
}

// Kernel looks up a kernel, loading its module from the registry of
// package cuda/kernels on first use.
func (d *gpuDevice) Kernel(module, name string) (Kernel, error) {
	const op = "Kernel"
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.g.exit()
	d.mu.Lock()
	defer d.mu.Unlock()
	if k := d.kernels[[2]string{module, name}]; k != nil {
		return k, nil
	}
	m := d.modules[module]
	if m == nil {
		ptx, specs, checks, ok := registeredModule(module)
		if !ok {
			return nil, errorf(op, ErrNotFound, "no module %q is loaded (import package cuda/kernels for the "+
				"built-in kernels, or load PTX with the device's LoadModule)", module)
		}
		if err := checkModule(op, module, ptx, specs); err != nil {
			return nil, err
		}
		var err error
		if m, err = d.loadLocked(op, module, ptx, specs); err != nil {
			return nil, err
		}
		m.checks = checks
	}
	spec, ok := m.specs[name]
	if !ok {
		return nil, errorf(op, ErrNotFound, "no kernel %q in module %q", name, module)
	}
	k := &gpuKernel{d: d, spec: spec, op: "Launch " + name, check: m.checks[name]}
	err := d.call(func() error {
		var e error
		if k.fn, e = m.mod.Function(name); e != nil {
			return e
		}
		if k.maxThreads, e = k.fn.Attribute(cu.FnMaxThreadsPerBlock); e != nil {
			return e
		}
		k.staticShared, e = k.fn.Attribute(cu.SharedSizeBytes)
		return e
	})
	if err != nil {
		if resultCode(err) == cuNotFound {
			return nil, errorf(op, ErrNotFound, "module %q declares kernel %q but its PTX has no such entry", module, name)
		}
		return nil, d.fail(op, err)
	}
	d.kernels[[2]string{module, name}] = k
	return k, nil
}

// LoadModule loads a module of the user's kernels from PTX.
func (d *gpuDevice) LoadModule(name string, ptx []byte, kernels []KernelSpec) error {
	const op = "LoadModule"
	if err := checkModule(op, name, ptx, kernels); err != nil {
		return err
	}
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.g.exit()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.modules[name] != nil {
		return errorf(op, ErrInvalidValue, "module %q is already loaded", name)
	}
	_, err := d.loadLocked(op, name, ptx, kernels)
	return err
}

// loadLocked JIT-compiles a module; d.mu must be held.
func (d *gpuDevice) loadLocked(op, name string, ptx []byte, kernels []KernelSpec) (*gpuModule, error) {
	mod, code, log := d.loadModule(ptx)
	if code != cuSuccess {
		err := d.failCode(op, code)
		if e, ok := err.(*Error); ok && !IsSticky(err) {
			e.Err = ErrInvalidValue
			e.Detail = "the driver refused the PTX of module " + name + "; JIT log: " + log
		}
		return nil, err
	}
	m := &gpuModule{mod: mod, specs: make(map[string]KernelSpec, len(kernels))}
	for _, k := range kernels {
		k.Module = name
		m.specs[k.Name] = k
	}
	d.modules[name] = m
	return m, nil
}
