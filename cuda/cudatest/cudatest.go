// Package cudatest is the conformance suite for cuda.Device implementations:
// one set of tests that the simulator (package cuda/sim) passes in CI and the
// real driver backend runs unchanged on a GPU host.
//
// Use it from a test:
//
//	func TestConformance(t *testing.T) {
//		cudatest.Run(t, func(t *testing.T) cuda.Device { return sim.New(sim.Config{}) })
//	}
//
// Each test opens a fresh device with the given function and closes it when
// done. The tests use only the cuda API, the kernels of [Module] (see
// [Kernels]; tests needing a kernel the device lacks are skipped), and
// wall-clock bounds loose enough for a real GPU. A stream that implements
// cuda.HostFuncLauncher is used to hold a stream still while the test looks
// at pending work; otherwise a long spin kernel does that.
//
// [Tests] lists the tests individually, so a backend can run each one in its
// own environment, for example inside a testing/synctest bubble (where
// T.Run is not allowed).
package cudatest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coawait/coawait/cuda"
)

// NewDevice opens a fresh device for one test. The suite closes it.
type NewDevice func(t *testing.T) cuda.Device

// Test is one conformance test.
type Test struct {
	Name string
	F    func(t *testing.T, newDevice NewDevice)
}

// Tests returns the conformance tests in a fixed order.
func Tests() []Test {
	return []Test{
		{"Properties", testProperties},
		{"AllocErrors", testAllocErrors},
		{"HostViews", testHostViews},
		{"CopyRoundTrip", testCopyRoundTrip},
		{"CopyBounds", testCopyBounds},
		{"Memset", testMemset},
		{"StreamOrder", testStreamOrder},
		{"CrossStreamWait", testCrossStreamWait},
		{"EventQuery", testEventQuery},
		{"ElapsedTime", testElapsedTime},
		{"KernelArgs", testKernelArgs},
		{"KernelResults", testKernelResults},
		{"Overlap", testOverlap},
		{"StickyError", testStickyError},
		{"CloseWithPendingWork", testCloseWithPendingWork},
		{"UseAfterFreeOrClose", testUseAfterFreeOrClose},
		{"BufferBusy", testBufferBusy},
		{"BufferOrder", testBufferOrder},
		{"HostFunc", testHostFunc},
		{"Pools", testPools},
		{"ConcurrentStreams", testConcurrentStreams},
	}
}

// Run runs every test of [Tests] as a subtest of t.
func Run(t *testing.T, newDevice NewDevice) {
	t.Helper()
	for _, tc := range Tests() {
		t.Run(tc.Name, func(t *testing.T) { tc.F(t, newDevice) })
	}
}

// open opens a device that is closed when the test ends.
func open(t *testing.T, newDevice NewDevice) cuda.Device {
	t.Helper()
	dev := newDevice(t)
	if dev == nil {
		t.Fatal("newDevice returned nil")
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil && !errors.Is(err, cuda.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return dev
}

// must returns a function that fails the test if err is not nil and
// returns v otherwise: must(dev.Alloc(n))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err matches target and names op.
func wantErr(t *testing.T, what string, err, target error, op string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil error, want %v", what, target)
		return
	}
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want an error matching %v", what, err, target)
	}
	if op != "" && !strings.Contains(err.Error(), op) {
		t.Errorf("%s: error %q does not name the operation %q", what, err, op)
	}
	if !strings.HasPrefix(err.Error(), "cuda: ") {
		t.Errorf("%s: error %q lacks the \"cuda: \" prefix", what, err)
	}
}

func stream(t *testing.T, dev cuda.Device) cuda.Stream {
	t.Helper()
	return must(dev.NewStream(0))(t)
}

func event(t *testing.T, dev cuda.Device) cuda.Event {
	t.Helper()
	return must(dev.NewEvent(0))(t)
}

func alloc(t *testing.T, dev cuda.Device, n int) cuda.DevicePtr {
	t.Helper()
	return must(dev.Alloc(n))(t)
}

func host(t *testing.T, dev cuda.Device, n int) *cuda.HostBuffer {
	t.Helper()
	return must(dev.AllocHost(n))(t)
}

func hostBytes(t *testing.T, b *cuda.HostBuffer) []byte {
	t.Helper()
	return must(b.Bytes())(t)
}

// kernel looks up a kernel of Module, skipping the test if the device lacks
// it, and checks its parameter list.
func kernel(t *testing.T, dev cuda.Device, name string) cuda.Kernel {
	t.Helper()
	k, err := dev.Kernel(Module, name)
	if errors.Is(err, cuda.ErrNotFound) {
		t.Skipf("device has no kernel %s.%s", Module, name)
	}
	ok(t, err)
	want, found := kernelSpec(name)
	if !found {
		t.Fatalf("cudatest has no spec for %s", name)
	}
	got := k.Spec()
	if got.Module != want.Module || got.Name != want.Name || len(got.Params) != len(want.Params) {
		t.Fatalf("kernel spec %v, want %v", got, want)
	}
	for i := range got.Params {
		if got.Params[i].Kind != want.Params[i].Kind {
			t.Fatalf("kernel spec %v, want %v", got, want)
		}
	}
	return k
}

// hold keeps stream s busy until the returned release function is called
// (also at the end of the test). With a HostFuncLauncher it blocks the
// stream in a host function; otherwise it launches a long spin kernel and
// release does nothing.
func hold(t *testing.T, dev cuda.Device, s cuda.Stream) (release func()) {
	t.Helper()
	if hl, isHL := s.(cuda.HostFuncLauncher); isHL {
		ch := make(chan struct{})
		var once sync.Once
		release = func() { once.Do(func() { close(ch) }) }
		ok(t, hl.LaunchHostFunc(func(err error) {
			if err == nil {
				<-ch
			}
		}))
		t.Cleanup(release)
		return release
	}
	k := kernel(t, dev, "spin")
	ok(t, s.Launch(k, cuda.LaunchConfig{}, cuda.Int64(int64(time.Second))))
	return func() {}
}

// pattern returns n pseudo-random bytes from seed.
func pattern(n int, seed uint64) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: %d bytes differ; first at %d: got %#x, want %#x", what, countDiff(got, want), i, got[i], want[i])
		}
	}
	t.Fatalf("%s: got %d bytes, want %d", what, len(got), len(want))
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func repeat(v byte, n int) []byte { return bytes.Repeat([]byte{v}, n) }

func f32s(t *testing.T, b *cuda.HostBuffer) []float32 {
	t.Helper()
	return must(b.Float32s())(t)
}

func sprint(a ...any) string { return fmt.Sprint(a...) }
