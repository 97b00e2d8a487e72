package cuda

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda/internal/modreg"
	"pgregory.net/rapid"
)

// The parts of the CUDA backend that need no driver are tested here, in the
// default build; the rest runs only on a GPU host (scripts/gpu-check).

func TestStickyCodes(t *testing.T) {
	for _, code := range []int{700, 702, 710, 714, 715, 716, 717, 718, 719, 214, 220, 999} {
		if !isStickyCode(code) {
			t.Errorf("isStickyCode(%d) = false", code)
		}
	}
	for code, want := range map[int]error{
		1: ErrInvalidValue, 2: ErrOutOfMemory, 100: ErrNoDevice, 34: ErrNoDevice, 500: ErrNotFound,
		600: ErrNotReady, 709: ErrClosed, 701: ErrInvalidValue, 218: ErrInvalidValue, 400: ErrInvalidValue,
	} {
		if isStickyCode(code) {
			t.Errorf("isStickyCode(%d) = true", code)
		}
		if got := sentinelFor(code); got != want {
			t.Errorf("sentinelFor(%d) = %v, want %v", code, got, want)
		}
	}
	de := &DriverError{Code: 700, Name: "CUDA_ERROR_ILLEGAL_ADDRESS", Text: "an illegal memory access was encountered"}
	err := error(&Error{Op: "Launch k", Err: ErrDeviceLost, Cause: de})
	var got *DriverError
	if !errors.As(err, &got) || got.Code != 700 || !errors.Is(err, ErrDeviceLost) {
		t.Errorf("errors.As/Is on %v", err)
	}
	if want := "cuda: Launch k: CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered: device lost"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// TestAllocTable compares the table with a plain model on random
// operations: inserts of disjoint spans, removes (good and bad) and range
// checks.
func TestAllocTable(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var tab allocTable
		model := map[uintptr]int{} // base -> size
		inModel := func(p uintptr) (uintptr, int, bool) {
			for b, s := range model {
				if p >= b && p < b+uintptr(s) {
					return b, s, true
				}
			}
			return 0, 0, false
		}
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0: // insert a span in a free 4 KiB slot
				slot := uintptr(rapid.IntRange(1, 40).Draw(rt, "slot")) << 12
				if _, _, used := inModel(slot); used {
					continue
				}
				size := rapid.IntRange(1, 4096).Draw(rt, "size")
				tab.insert(slot, size)
				model[slot] = size
			case 1: // remove at a pointer that may be a base, interior or stray
				p := uintptr(rapid.IntRange(0, 41<<12).Draw(rt, "p"))
				err := tab.remove("Free", DevicePtr(p))
				_, isBase := model[p]
				if isBase != (err == nil) {
					rt.Fatalf("remove(%#x) = %v, model base %v", p, err, isBase)
				}
				if err != nil && !errors.Is(err, ErrInvalidValue) {
					rt.Fatalf("remove error %v is not ErrInvalidValue", err)
				}
				delete(model, p)
			case 2: // check a range
				p := uintptr(rapid.IntRange(0, 41<<12).Draw(rt, "p"))
				off := rapid.IntRange(-2, 5000).Draw(rt, "off")
				n := rapid.IntRange(-2, 5000).Draw(rt, "n")
				err := tab.check("Copy", "destination", DevicePtr(p), off, n)
				b, s, ok := inModel(p)
				inner := int(p - b)
				want := ok && off >= 0 && n >= 0 && inner+off+n <= s
				if want != (err == nil) {
					rt.Fatalf("check(%#x, %d, %d) = %v, want ok %v (alloc %#x+%d)", p, off, n, err, want, b, s)
				}
			}
			var used int64
			for _, s := range model {
				used += int64(s)
			}
			if tab.bytesUsed() != used {
				rt.Fatalf("bytesUsed %d, model %d", tab.bytesUsed(), used)
			}
		}
		if got := tab.takeAll(); len(got) != len(model) || tab.bytesUsed() != 0 {
			rt.Fatalf("takeAll returned %d bases, model has %d", len(got), len(model))
		}
	})
}

// TestForeignPointers checks that a pointer of another open device's
// table is ErrForeign, and one of no table ErrInvalidValue.
func TestForeignPointers(t *testing.T) {
	var mine, other allocTable
	mine.register()
	other.register()
	defer mine.unregister()
	defer other.unregister()
	mine.insert(1<<30, 64)
	other.insert(2<<30, 64)
	for _, c := range []struct {
		p    DevicePtr
		want error
	}{{2<<30 + 8, ErrForeign}, {3 << 30, ErrInvalidValue}, {0, ErrInvalidValue}} {
		if err := mine.check("Memset", "destination", c.p, 0, 1); !errors.Is(err, c.want) {
			t.Errorf("check(%v) = %v, want %v", c.p, err, c.want)
		}
		if err := mine.remove("Free", c.p); !errors.Is(err, c.want) {
			t.Errorf("remove(%v) = %v, want %v", c.p, err, c.want)
		}
	}
	other.unregister()
	if err := mine.check("Memset", "destination", 2<<30, 0, 1); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("pointer of a closed device: %v, want ErrInvalidValue", err)
	}
}

func TestPackArgs(t *testing.T) {
	var tab allocTable
	tab.insert(1<<20, 1024)
	spec := KernelSpec{Module: "m", Name: "k", Params: []Param{{"y", ParamPtr}, {"a", ParamFloat32}, {"n", ParamInt32}}}
	var bits argBits
	sizes := make([]int, 3)
	if err := packArgs("Launch k", &spec, []Arg{Ptr(1<<20 + 8), Float32(1.5), Int32(-2)}, &tab, &bits, sizes); err != nil {
		t.Fatal(err)
	}
	if bits[0] != 1<<20+8 || uint32(bits[1]) != math.Float32bits(1.5) || int32(uint32(bits[2])) != -2 {
		t.Errorf("bits = %#x", bits[:3])
	}
	if sizes[0] != 1024-8 || sizes[1] != 0 || sizes[2] != 0 {
		t.Errorf("sizes = %v, want [1016 0 0]", sizes)
	}
	args := []Arg{Ptr(1<<20 + 8), Float32(1.5), Int32(-2)}
	if n := testing.AllocsPerRun(100, func() { _ = packArgs("Launch k", &spec, args, &tab, &bits, nil) }); n != 0 {
		t.Errorf("packArgs allocates %v times per launch, want 0", n)
	}
	for name, args := range map[string][]Arg{ // bad arguments
		"count":   {Ptr(1 << 20)},
		"kind":    {Ptr(1 << 20), Float64(1), Int32(1)},
		"null":    {Ptr(0), Float32(1), Int32(1)},
		"stray":   {Ptr(1<<20 + 1024), Float32(1), Int32(1)},
		"invalid": {Ptr(1 << 20), {}, Int32(1)},
	} {
		err := packArgs("Launch k", &spec, args, &tab, &bits, nil)
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "Launch k") {
			t.Errorf("%s: packArgs = %v, want ErrInvalidValue naming the launch", name, err)
		}
	}
	many := KernelSpec{Name: "wide", Params: make([]Param, maxKernelParams+1)}
	args = make([]Arg, maxKernelParams+1)
	for i := range many.Params {
		many.Params[i].Kind = ParamInt32
		args[i] = Int32(int32(i))
	}
	if err := packArgs("Launch wide", &many, args, &tab, &bits, nil); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("too many parameters: %v", err)
	}
}

// TestGuard checks that wait returns only after every call that entered
// before close has exited, and that no call enters after close.
func TestGuard(t *testing.T) {
	for range 50 {
		g := newGuard()
		var inside, after sync.WaitGroup
		var mu sync.Mutex
		active, entered := 0, 0
		stop := make(chan struct{})
		for range 4 {
			inside.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if !g.enter() {
						return
					}
					mu.Lock()
					active++
					entered++
					mu.Unlock()
					time.Sleep(time.Microsecond)
					mu.Lock()
					active--
					mu.Unlock()
					g.exit()
				}
			})
		}
		time.Sleep(time.Millisecond)
		if !g.close() || g.close() {
			t.Fatal("close: want true once, then false")
		}
		g.wait()
		mu.Lock()
		if active != 0 {
			t.Fatalf("wait returned with %d calls inside", active)
		}
		mu.Unlock()
		after.Go(func() {
			if g.enter() {
				t.Error("enter succeeded after close")
			}
		})
		after.Wait()
		close(stop)
		inside.Wait()
		if !g.closed() {
			t.Fatal("closed() = false")
		}
	}
}

func TestModuleRegistryAndChecks(t *testing.T) {
	if _, _, _, ok := registeredModule("driver_test_absent"); ok {
		t.Fatal("found a module never registered")
	}
	var checked []int
	check := func(op string, spec *KernelSpec, cfg LaunchConfig, args []Arg, sizes []int) error {
		checked = sizes
		return nil
	}
	modreg.Register(modreg.Module{Name: "driver_test", PTX: []byte(".version 7.8"), Kernels: []modreg.Kernel{
		{Name: "k", Params: []modreg.Param{{Name: "y", Kind: uint8(ParamPtr)}, {Name: "n", Kind: uint8(ParamInt32)}}, Check: check},
		{Name: "unchecked", Check: func() {}}, // a Check of another type is ignored
	}})
	ptx, specs, checks, ok := registeredModule("driver_test")
	if !ok || string(ptx) != ".version 7.8" || len(specs) != 2 || specs[0].String() != "k(pointer y, int32 n)" || specs[0].Module != "driver_test" {
		t.Fatalf("registeredModule = %q, %v, %v", ptx, specs, ok)
	}
	if len(checks) != 1 || checks["k"] == nil {
		t.Fatalf("checks = %v, want one for k", checks)
	}
	_ = checks["k"]("Launch k", &specs[0], LaunchConfig{}, nil, []int{7})
	if len(checked) != 1 || checked[0] != 7 {
		t.Errorf("the registered check was not the one called: %v", checked)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(r.(string), "modreg: ") {
				t.Errorf("duplicate Register: recover() = %v", r)
			}
		}()
		modreg.Register(modreg.Module{Name: "driver_test", PTX: []byte("x")})
	}()
	good := []KernelSpec{{Name: "k", Params: []Param{{"y", ParamPtr}}}}
	if err := checkModule("LoadModule", "m", []byte("ptx"), good); err != nil {
		t.Errorf("checkModule(good) = %v", err)
	}
	for name, c := range map[string]struct {
		mod string
		ptx []byte
		ks  []KernelSpec
	}{
		"no name":    {"", []byte("ptx"), good},
		"no ptx":     {"m", nil, good},
		"dup kernel": {"m", []byte("ptx"), append(good, good[0])},
		"bad kind":   {"m", []byte("ptx"), []KernelSpec{{Name: "k", Params: []Param{{"x", ParamKind(9)}}}}},
	} {
		if err := checkModule("LoadModule", c.mod, c.ptx, c.ks); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: checkModule = %v, want ErrInvalidValue", name, err)
		}
	}
}
