package kernels_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
)

// shapes builds, per kernel, a launch over given pointers with small sizes
// that are not multiples of any tile, and the bytes each pointer needs.
var shapes = []struct {
	name  string
	bytes []int // per pointer argument, in order
	mk    func(p []cuda.DevicePtr) (kernels.Launch, error)
}{
	{"fill_f32", []int{4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.Fill(p[0], 1, 37) }},
	{"scale_f32", []int{4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.Scale(p[0], 2, 37) }},
	{"saxpy_f32", []int{4 * 37, 4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.Saxpy(p[0], 2, p[1], 37) }},
	{"sgemm_f32", []int{4 * 5 * 7, 4 * 5 * 3, 4 * 3 * 7}, func(p []cuda.DevicePtr) (kernels.Launch, error) {
		return kernels.Sgemm(kernels.Gemm{C: p[0], A: p[1], B: p[2], M: 5, N: 7, K: 3, TransA: true, Alpha: 1})
	}},
	{"bias_add_f32", []int{4 * 5 * 7, 4 * 7}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.BiasAdd(p[0], p[1], 5, 7) }},
	{"relu_f32", []int{4 * 37, 4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.ReLU(p[0], p[1], 37) }},
	{"relu_grad_f32", []int{4 * 37, 4 * 37, 4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.ReLUGrad(p[0], p[1], p[2], 37) }},
	{"softmax_xent_f32", []int{4 * 5, 4 * 5 * 7, 4 * 5 * 7, 4 * 5}, func(p []cuda.DevicePtr) (kernels.Launch, error) {
		return kernels.SoftmaxXent(p[0], p[1], p[2], p[3], 5, 7)
	}},
	{"colsum_f32", []int{4 * 7, 4 * 5 * 7}, func(p []cuda.DevicePtr) (kernels.Launch, error) { return kernels.ColSum(p[0], p[1], 5, 7) }},
	{"sgd_momentum_f32", []int{4 * 37, 4 * 37, 4 * 37}, func(p []cuda.DevicePtr) (kernels.Launch, error) {
		return kernels.SGDMomentum(p[0], p[1], p[2], 0.1, 0.9, 37)
	}},
	{"argmax_correct_f32", []int{4, 4 * 5 * 7, 4 * 5}, func(p []cuda.DevicePtr) (kernels.Launch, error) {
		return kernels.ArgmaxCorrect(p[0], p[1], p[2], 5, 7)
	}},
}

// TestShortBuffers launches every kernel with exact buffers (it runs), then
// with each pointer one element short in turn, and null (each is an
// ErrInvalidValue naming the argument, and nothing runs).
func TestShortBuffers(t *testing.T) {
	e := newEnv(t)
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			alloc := func(short int) []cuda.DevicePtr {
				ps := make([]cuda.DevicePtr, len(sh.bytes))
				for i, n := range sh.bytes {
					if i == short {
						n -= 4
					}
					if n == 0 {
						continue // null
					}
					p, err := e.dev.Alloc(n)
					ok(t, err)
					t.Cleanup(func() { _ = e.dev.Free(p) })
					ps[i] = p
				}
				return ps
			}
			l, err := sh.mk(alloc(-1))
			ok(t, err)
			if l.Name != sh.name {
				t.Fatalf("wrapper made %q", l.Name)
			}
			ok(t, e.launchErr(l))
			for i := range sh.bytes {
				l, err := sh.mk(alloc(i))
				ok(t, err)
				err = e.set.On(e.st, l)
				wantInvalid(t, fmt.Sprintf("pointer %d one element short", i), err)
				if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("argument %d", pointerArg(l, i))) {
					t.Errorf("error %q does not name the argument", err)
				}
			}
		})
	}
	ok(t, e.dev.Synchronize())
}

// pointerArg returns the index in l.Args of the i-th pointer argument.
func pointerArg(l kernels.Launch, i int) int {
	for j, a := range l.Args {
		if a.Kind() == cuda.ParamPtr {
			if i == 0 {
				return j
			}
			i--
		}
	}
	return -1
}

// TestBadArguments covers the other launch-time checks.
func TestBadArguments(t *testing.T) {
	e := newEnv(t)
	buf, err := e.dev.Alloc(1 << 12)
	ok(t, err)
	k := func(name string) cuda.Kernel { return e.set.Kernel(kernels.Launch{Name: name}) }
	i32, f32, ptr := cuda.Int32, cuda.Float32, cuda.Ptr(buf)
	cfg := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1}, Block: cuda.Dim3{X: 256}}
	sq := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1, Y: 1}, Block: cuda.Dim3{X: 16, Y: 16}}
	warp := cuda.LaunchConfig{Grid: cuda.Dim3{X: 1}, Block: cuda.Dim3{X: 32, Y: 8}}
	for what, l := range map[string]struct {
		k    cuda.Kernel
		cfg  cuda.LaunchConfig
		args []cuda.Arg
	}{
		"too few arguments":   {k("saxpy_f32"), cfg, []cuda.Arg{ptr, f32(1), ptr}},
		"too many arguments":  {k("fill_f32"), cfg, []cuda.Arg{ptr, f32(1), i32(1), i32(1)}},
		"wrong kind":          {k("fill_f32"), cfg, []cuda.Arg{ptr, cuda.Float64(1), i32(1)}},
		"negative n":          {k("relu_f32"), cfg, []cuda.Arg{ptr, ptr, i32(-1)}},
		"negative spin":       {k("spin"), cfg, []cuda.Arg{cuda.Int64(-5)}},
		"null pointer":        {k("scale_f32"), cfg, []cuda.Arg{cuda.Ptr(0), f32(1), i32(3)}},
		"sgemm block":         {k("sgemm_f32"), cfg, []cuda.Arg{ptr, ptr, ptr, i32(2), i32(2), i32(2), i32(0), i32(0), f32(1), f32(0)}},
		"sgemm transA=2":      {k("sgemm_f32"), sq, []cuda.Arg{ptr, ptr, ptr, i32(2), i32(2), i32(2), i32(2), i32(0), f32(1), f32(0)}},
		"sgemm negative k":    {k("sgemm_f32"), sq, []cuda.Arg{ptr, ptr, ptr, i32(2), i32(2), i32(-2), i32(0), i32(0), f32(1), f32(0)}},
		"sgemm huge":          {k("sgemm_f32"), sq, []cuda.Arg{ptr, ptr, ptr, i32(1 << 16), i32(1 << 16), i32(1), i32(0), i32(0), f32(1), f32(0)}},
		"softmax block":       {k("softmax_xent_f32"), cfg, []cuda.Arg{ptr, ptr, ptr, ptr, i32(2), i32(3)}},
		"softmax zero cols":   {k("softmax_xent_f32"), warp, []cuda.Arg{ptr, ptr, ptr, ptr, i32(2), i32(0)}},
		"colsum block":        {k("colsum_f32"), sq, []cuda.Arg{ptr, ptr, i32(2), i32(3)}},
		"argmax zero cols":    {k("argmax_correct_f32"), cfg, []cuda.Arg{ptr, ptr, ptr, i32(2), i32(0)}},
		"bias negative cols":  {k("bias_add_f32"), cfg, []cuda.Arg{ptr, ptr, i32(2), i32(-3)}},
		"sgd short gradients": {k("sgd_momentum_f32"), cfg, []cuda.Arg{ptr, ptr, ptr, f32(1), f32(1), i32(1025)}},
	} {
		wantInvalid(t, what, e.st.Launch(l.k, l.cfg, l.args...))
	}
	ok(t, e.dev.Synchronize()) // nothing bad ran

	for what, err := range map[string]error{
		"Fill negative":     second(kernels.Fill(buf, 1, -1)),
		"Saxpy huge":        second(kernels.Saxpy(buf, 1, buf, math.MaxInt32+1)),
		"Spin negative":     second(kernels.Spin(-1)),
		"Sgemm negative":    second(kernels.Sgemm(kernels.Gemm{M: -1})),
		"Sgemm huge":        second(kernels.Sgemm(kernels.Gemm{M: 1 << 16, N: 1, K: 1 << 16})),
		"BiasAdd huge":      second(kernels.BiasAdd(buf, buf, 1<<16, 1<<16)),
		"SoftmaxXent neg":   second(kernels.SoftmaxXent(buf, buf, buf, buf, -1, 3)),
		"ColSum neg":        second(kernels.ColSum(buf, buf, 3, -1)),
		"ArgmaxCorrect neg": second(kernels.ArgmaxCorrect(buf, buf, buf, -1, 3)),
	} {
		wantInvalid(t, what, err)
	}

	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "kernels: ") {
			t.Errorf("Set.Kernel of an unknown launch: recover() = %v, want a kernels: panic", r)
		}
	}()
	e.set.Kernel(kernels.Launch{Name: "nope"})
}

func second(_ kernels.Launch, err error) error { return err }

// TestLabelOutOfRange: a bad label only the device sees is a NaN loss, not
// a fault.
func TestLabelOutOfRange(t *testing.T) {
	e := newEnv(t)
	pl := upload(e, []float32{0, 0})
	pd := upload(e, make([]float32, 6))
	e.run(kernels.SoftmaxXent(pl, pd, upload(e, []float32{1, 2, 3, 1, 2, 3}), upload(e, []int32{-1, 2}), 2, 3))
	loss := download[float32](e, pl, 2)
	if !math.IsNaN(float64(loss[0])) || math.IsNaN(float64(loss[1])) {
		t.Errorf("loss = %v, want [NaN, finite]", loss)
	}
}

// TestCheckCall: a backend without host-visible memory can still check.
func TestCheckCall(t *testing.T) {
	d, found := kernels.Lookup("saxpy_f32")
	if !found {
		t.Fatal("no saxpy_f32")
	}
	args := []cuda.Arg{cuda.Ptr(1 << 20), cuda.Float32(2), cuda.Ptr(2 << 20), cuda.Int32(10)}
	c := kernels.NewCheckCall("Launch saxpy_f32", &d.Spec, cuda.LaunchConfig{}, args, []int{40, 0, 40, 0})
	ok(t, d.Check(c))
	c = kernels.NewCheckCall("Launch saxpy_f32", &d.Spec, cuda.LaunchConfig{}, args, []int{40, 0, 39, 0})
	err := d.Check(c)
	wantInvalid(t, "short x", err)
	if err != nil && !strings.Contains(err.Error(), "argument 2 (x)") {
		t.Errorf("error %q does not name x", err)
	}
	_, err = kernels.View[float32](c, 0, 10)
	wantInvalid(t, "View on a check call", err)
}

// TestPTXMatchesSpecs: the committed PTX has an entry for every kernel,
// with parameters of the spec's kinds, and each kernel's .cu file defines it.
func TestPTXMatchesSpecs(t *testing.T) {
	mods := kernels.Modules()
	if len(mods) != 1 || mods[0].Name != kernels.Module {
		t.Fatalf("Modules() = %d modules, want one named %q", len(mods), kernels.Module)
	}
	ptx := string(mods[0].PTX)
	if !strings.Contains(ptx, ".target sm_80") || bytes.IndexByte(mods[0].PTX, 0) >= 0 {
		t.Errorf("PTX is not NUL-free compute_80 PTX")
	}
	ptxType := map[cuda.ParamKind]string{
		cuda.ParamPtr: "u64", cuda.ParamInt32: "u32", cuda.ParamUint32: "u32",
		cuda.ParamInt64: "u64", cuda.ParamFloat32: "f32", cuda.ParamFloat64: "f64",
	}
	all := kernels.All()
	if len(all) != 13 {
		t.Errorf("%d kernels, want 13", len(all))
	}
	for _, d := range all {
		if d.Spec.Module != kernels.Module || d.Work == nil || d.Run == nil {
			t.Errorf("%v: incomplete definition", d.Spec)
		}
		entry := regexp.MustCompile(`(?s)\.entry ` + d.Spec.Name + `\((.*?)\)`).FindStringSubmatch(ptx)
		if entry == nil {
			t.Errorf("no PTX entry for %s", d.Spec.Name)
			continue
		}
		params := regexp.MustCompile(`\.param \.(\w+) `).FindAllStringSubmatch(entry[1], -1)
		if len(params) != len(d.Spec.Params) {
			t.Errorf("%s: PTX has %d parameters, spec %v has %d", d.Spec.Name, len(params), d.Spec, len(d.Spec.Params))
			continue
		}
		for i, pm := range params {
			if want := ptxType[d.Spec.Params[i].Kind]; pm[1] != want {
				t.Errorf("%s parameter %d: PTX .%s, spec wants .%s", d.Spec.Name, i, pm[1], want)
			}
		}
		src, err := fs.ReadFile(kernels.Sources(), d.File)
		if err != nil || !strings.Contains(string(src), "void "+d.Spec.Name+"(") {
			t.Errorf("%s: not defined in %s (%v)", d.Spec.Name, d.File, err)
		}
	}
}

// TestCost: a launch costs the timing model's roofline of its Work, as
// ElapsedTime between events around it shows.
func TestCost(t *testing.T) {
	tm := sim.DefaultTiming()
	if got, want := tm.KernelTime(kernels.Work{FLOPs: 2 * 256 * 128 * 784}), time.Duration(math.Ceil(2*256*128*784*1e9/tm.Compute)); got != want {
		t.Errorf("compute-bound KernelTime = %v, want %v", got, want)
	}
	if got, want := tm.KernelTime(kernels.Work{Bytes: 1 << 30, FLOPs: 1, Time: 5}), sim.Transfer(1<<30, tm.Memory)+5; got != want {
		t.Errorf("memory-bound KernelTime = %v, want %v", got, want)
	}
	e := newEnv(t)
	m, n, k := 256, 512, 784
	pa, pb, pc := upload(e, make([]float32, m*k)), upload(e, make([]float32, k*n)), upload(e, make([]float32, m*n))
	l, err := kernels.Sgemm(kernels.Gemm{C: pc, A: pa, B: pb, M: m, N: n, K: k, Alpha: 1})
	ok(t, err)
	start, err := e.dev.NewEvent(0)
	ok(t, err)
	end, err := e.dev.NewEvent(0)
	ok(t, err)
	e.run(kernels.Spin(int64(time.Millisecond))) // the stream is busy: no launch latency shows
	spin, err := kernels.Spin(int64(time.Millisecond))
	ok(t, err)
	ok(t, e.set.On(e.st, spin))
	ok(t, e.st.RecordEvent(start))
	ok(t, e.set.On(e.st, l))
	ok(t, e.st.RecordEvent(end))
	ok(t, e.st.Synchronize())
	got, err := e.dev.ElapsedTime(start, end)
	ok(t, err)
	d, _ := kernels.Lookup("sgemm_f32")
	if want := tm.KernelTime(d.Work(l.Args)); got != want || want != time.Duration(math.Ceil(float64(2*m*n*k)*1e9/tm.Compute)) {
		t.Errorf("sgemm %d×%d×%d took %v modeled, want %v (compute-bound)", m, n, k, got, want)
	}
}

// loader is a device that has no kernels until it is handed the PTX, as a
// real backend would be.
type loader struct {
	*sim.Device
	loaded []string
}

func (l *loader) Kernel(module, name string) (cuda.Kernel, error) {
	if len(l.loaded) == 0 {
		return nil, kit.Errorf("Kernel", cuda.ErrNotFound, "no module %q", module)
	}
	return l.Device.Kernel(module, name)
}

func (l *loader) LoadModule(name string, ptx []byte, specs []cuda.KernelSpec) error {
	if !bytes.Contains(ptx, []byte(".entry sgemm_f32(")) {
		return kit.Errorf("LoadModule", cuda.ErrInvalidValue, "not the PTX")
	}
	if len(specs) != len(kernels.All()) {
		return kit.Errorf("LoadModule", cuda.ErrInvalidValue, "%d specs, want %d", len(specs), len(kernels.All()))
	}
	l.loaded = append(l.loaded, name)
	return nil
}

func TestBindLoadsModules(t *testing.T) {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	l := &loader{Device: dev}
	set, err := kernels.Bind(l)
	ok(t, err)
	if len(l.loaded) != 1 || l.loaded[0] != kernels.Module {
		t.Errorf("loaded %v, want [%s]", l.loaded, kernels.Module)
	}
	if set.Kernel(kernels.Launch{Name: "trap"}) == nil {
		t.Error("no trap kernel")
	}
	// A device that cannot load and lacks the kernels is ErrNotFound.
	if _, err := kernels.Bind(&struct{ cuda.Device }{&loader{Device: dev}}); !errors.Is(err, cuda.ErrNotFound) {
		t.Errorf("Bind without a loader = %v, want ErrNotFound", err)
	}
}
