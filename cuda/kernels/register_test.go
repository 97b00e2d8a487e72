package kernels_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/modreg"
	"github.com/coawait/coawait/cuda/kernels"
)

// TestRegistry checks what the CUDA backend finds in the registry: the
// module's PTX, every kernel's parameters, and checks that refuse what the
// simulator refuses (here a buffer one element short).
func TestRegistry(t *testing.T) {
	m, ok := modreg.Lookup(kernels.Module)
	if !ok {
		t.Fatalf("module %q is not registered", kernels.Module)
	}
	if !bytes.Equal(m.PTX, kernels.Modules()[0].PTX) {
		t.Error("the registered PTX is not the embedded one")
	}
	all := kernels.All()
	if len(m.Kernels) != len(all) {
		t.Fatalf("%d kernels registered, want %d", len(m.Kernels), len(all))
	}
	type check = func(string, *cuda.KernelSpec, cuda.LaunchConfig, []cuda.Arg, []int) error
	for i, k := range m.Kernels {
		spec := all[i].Spec
		if k.Name != spec.Name || len(k.Params) != len(spec.Params) {
			t.Fatalf("kernel %d: registered %s with %d parameters, want %v", i, k.Name, len(k.Params), spec)
		}
		for j, p := range k.Params {
			if cuda.ParamKind(p.Kind) != spec.Params[j].Kind || p.Name != spec.Params[j].Name {
				t.Errorf("%s parameter %d: %+v, want %+v", k.Name, j, p, spec.Params[j])
			}
		}
		if (k.Check != nil) != (all[i].Check != nil) {
			t.Errorf("%s: registered check %v, want one: %v", k.Name, k.Check != nil, all[i].Check != nil)
		}
		if k.Check != nil {
			if _, isCheck := k.Check.(check); !isCheck {
				t.Errorf("%s: check of type %T, which package cuda ignores", k.Name, k.Check)
			}
		}
	}
	saxpy, _ := kernels.Lookup("saxpy_f32")
	var c check
	for _, k := range m.Kernels {
		if k.Name == "saxpy_f32" {
			c = k.Check.(check)
		}
	}
	const n = 100
	l, err := kernels.Saxpy(1<<20, 2, 2<<20, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := c("Launch saxpy_f32", &saxpy.Spec, l.Config, l.Args, []int{4 * n, 0, 4 * n, 0}); err != nil {
		t.Errorf("check with buffers of n elements: %v", err)
	}
	if err := c("Launch saxpy_f32", &saxpy.Spec, l.Config, l.Args, []int{4 * n, 0, 4*n - 4, 0}); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("check with x one element short: %v, want ErrInvalidValue", err)
	}
}
