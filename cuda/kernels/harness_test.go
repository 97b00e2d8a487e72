package kernels_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
)

// env is a simulated device with one stream and the kernels bound.
type env struct {
	t     tb
	dev   *sim.Device
	st    cuda.Stream
	set   *kernels.Set
	alloc *[]cuda.DevicePtr // freed by freeAll
}

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Errorf(format string, args ...any)
}

// with returns e reporting to t (a *rapid.T inside a property).
func (e *env) with(t tb) *env {
	c := *e
	c.t = t
	return &c
}

// freeAll frees what upload allocated.
func (e *env) freeAll() {
	e.t.Helper()
	for _, p := range *e.alloc {
		ok(e.t, e.dev.Free(p))
	}
	*e.alloc = (*e.alloc)[:0]
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dev := sim.New(sim.Config{})
	t.Cleanup(func() { _ = dev.Close() })
	st, err := dev.NewStream(0)
	ok(t, err)
	set, err := kernels.Bind(dev)
	ok(t, err)
	return &env{t: t, dev: dev, st: st, set: set, alloc: new([]cuda.DevicePtr)}
}

func ok(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// upload copies v to a new device allocation; an empty v is the null
// pointer.
func upload[T cuda.Scalar](e *env, v []T) cuda.DevicePtr {
	e.t.Helper()
	raw := bytesOf(v)
	if len(raw) == 0 {
		return 0
	}
	p, err := e.dev.Alloc(len(raw))
	ok(e.t, err)
	*e.alloc = append(*e.alloc, p)
	hb, err := e.dev.AllocHost(len(raw))
	ok(e.t, err)
	b, err := hb.Bytes()
	ok(e.t, err)
	copy(b, raw)
	ok(e.t, e.st.CopyHtoD(p, 0, hb, 0, len(raw)))
	ok(e.t, e.st.Synchronize())
	ok(e.t, e.dev.FreeHost(hb))
	return p
}

// download returns n elements of type T at p.
func download[T cuda.Scalar](e *env, p cuda.DevicePtr, n int) []T {
	e.t.Helper()
	out := make([]T, n)
	raw := bytesOf(out)
	if len(raw) == 0 {
		return out
	}
	hb, err := e.dev.AllocHost(len(raw))
	ok(e.t, err)
	ok(e.t, e.st.CopyDtoH(hb, 0, p, 0, len(raw)))
	ok(e.t, e.st.Synchronize())
	b, err := hb.Bytes()
	ok(e.t, err)
	copy(raw, b)
	ok(e.t, e.dev.FreeHost(hb))
	return out
}

// run launches l (built without error) and waits for it.
func (e *env) run(l kernels.Launch, err error) {
	e.t.Helper()
	ok(e.t, err)
	ok(e.t, e.set.On(e.st, l))
	ok(e.t, e.st.Synchronize())
}

// launchErr launches l and returns the launch's error (nil if it ran).
func (e *env) launchErr(l kernels.Launch) error {
	if err := e.set.On(e.st, l); err != nil {
		return err
	}
	return e.st.Synchronize()
}

func wantInvalid(t tb, what string, err error) {
	t.Helper()
	if !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("%s: err = %v, want cuda.ErrInvalidValue", what, err)
	}
}

// randF32 returns n values uniform in [-scale, scale).
func randF32(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}
