package cuda_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/coawait/coawait/cuda"
)

func TestErrorFormatAndMatch(t *testing.T) {
	cause := errors.New("ECC error")
	for _, c := range []struct {
		err  *cuda.Error
		text string
		is   []error
	}{
		{&cuda.Error{Op: "CopyHtoD", Detail: "offset 10 + size 100 exceeds device allocation of 64 bytes", Err: cuda.ErrInvalidValue},
			"cuda: CopyHtoD: offset 10 + size 100 exceeds device allocation of 64 bytes: invalid value", []error{cuda.ErrInvalidValue}},
		{&cuda.Error{Op: "Launch k", Err: cuda.ErrDeviceLost, Cause: cause},
			"cuda: Launch k: ECC error: device lost", []error{cuda.ErrDeviceLost, cause}},
		{&cuda.Error{Op: "Alloc", Detail: "injected fault", Err: cause},
			"cuda: Alloc: injected fault: ECC error", []error{cause}},
		{&cuda.Error{Op: "Close"}, "cuda: Close", nil},
	} {
		if got := c.err.Error(); got != c.text {
			t.Errorf("Error() = %q, want %q", got, c.text)
		}
		for _, target := range c.is {
			if !errors.Is(c.err, target) {
				t.Errorf("%v does not match %v", c.err, target)
			}
		}
		if errors.Is(c.err, cuda.ErrClosed) {
			t.Errorf("%v matches ErrClosed", c.err)
		}
	}
	sentinels := []error{cuda.ErrNoDevice, cuda.ErrNotBuilt, cuda.ErrInvalidValue, cuda.ErrOutOfMemory,
		cuda.ErrDeviceLost, cuda.ErrClosed, cuda.ErrBufferBusy, cuda.ErrNotFound, cuda.ErrNotReady}
	for i, a := range sentinels {
		if !strings.HasPrefix(a.Error(), "cuda: ") {
			t.Errorf("sentinel %q lacks the prefix", a)
		}
		for j, b := range sentinels {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, i != j)
			}
		}
	}
	if !cuda.IsSticky(fmt.Errorf("wrapped: %w", &cuda.Error{Op: "x", Err: cuda.ErrDeviceLost})) {
		t.Error("IsSticky of a wrapped lost error is false")
	}
}

func TestSliceOf(t *testing.T) {
	words := make([]uint64, 3) // 8-byte aligned
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 24)
	f, err := cuda.SliceOf[float32](b)
	if err != nil || len(f) != 6 {
		t.Fatalf("SliceOf[float32] = %d, %v", len(f), err)
	}
	f[0] = 1
	if b[3] != 0x3f || b[2] != 0x80 {
		t.Errorf("view does not alias the bytes: % x", b[:4])
	}
	if _, err := cuda.SliceOf[float64](b[:12]); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("SliceOf[float64] on 12 bytes: %v", err)
	}
	if _, err := cuda.SliceOf[uint32](b[2:6]); !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), "aligned") {
		t.Errorf("SliceOf[uint32] on a misaligned slice: %v", err)
	}
	if e, err := cuda.SliceOf[int64](nil); err != nil || e == nil || len(e) != 0 {
		t.Errorf("SliceOf(nil) = %v, %v", e, err)
	}
}

func TestArgs(t *testing.T) {
	for _, c := range []struct {
		a    cuda.Arg
		kind cuda.ParamKind
		str  string
		i    int64
		f    float64
		ptr  cuda.DevicePtr
	}{
		{cuda.Ptr(0x1000), cuda.ParamPtr, "pointer(0x1000)", 0, 0, 0x1000},
		{cuda.Int32(-5), cuda.ParamInt32, "int32(-5)", -5, 0, 0},
		{cuda.Uint32(math.MaxUint32), cuda.ParamUint32, "uint32(4294967295)", math.MaxUint32, 0, 0},
		{cuda.Int64(math.MinInt64), cuda.ParamInt64, "int64(-9223372036854775808)", math.MinInt64, 0, 0},
		{cuda.Float32(1.5), cuda.ParamFloat32, "float32(1.5)", 0, 1.5, 0},
		{cuda.Float64(-0.25), cuda.ParamFloat64, "float64(-0.25)", 0, -0.25, 0},
		{cuda.Arg{}, cuda.ParamInvalid, "invalid", 0, 0, 0},
	} {
		if c.a.Kind() != c.kind || c.a.String() != c.str || c.a.Int() != c.i || c.a.Float() != c.f || c.a.Ptr() != c.ptr {
			t.Errorf("%v: kind %v int %d float %v ptr %v", c.str, c.a.Kind(), c.a.Int(), c.a.Float(), c.a.Ptr())
		}
	}
	if s := cuda.ParamKind(42).String(); s != "ParamKind(42)" {
		t.Errorf("unknown kind String = %q", s)
	}
}

func TestLaunchConfig(t *testing.T) {
	p := &cuda.Properties{
		MaxThreadsPerBlock: 1024, MaxBlock: cuda.Dim3{X: 1024, Y: 1024, Z: 64},
		MaxGrid: cuda.Dim3{X: 1<<31 - 1, Y: 65535, Z: 65535}, MaxSharedMemoryPerBlock: 48 << 10,
	}
	for _, c := range []struct {
		n, block  int
		p         *cuda.Properties
		grid, blk int
	}{
		{1000, 256, nil, 4, 256},
		{0, 128, nil, 1, 128},
		{1, 0, nil, 1, 256},
		{math.MaxInt, 256, p, 1<<31 - 1, 256},
	} {
		cfg := cuda.Linear(c.n, c.block, c.p)
		if cfg.Grid.X != c.grid || cfg.Block.X != c.blk || cfg.Grid.Size() != c.grid {
			t.Errorf("Linear(%d, %d) = %+v", c.n, c.block, cfg)
		}
	}
	pr := cuda.Properties{LeastPriority: 0, GreatestPriority: -5}
	for in, want := range map[int]int{-10: -5, -3: -3, 0: 0, 7: 0} {
		if got := pr.ClampPriority(in); got != want {
			t.Errorf("ClampPriority(%d) = %d, want %d", in, got, want)
		}
	}
	if s := (cuda.Capability{Major: 9}).String(); s != "9.0" {
		t.Errorf("Capability String = %q", s)
	}
	if s := cuda.DevicePtr(255).Add(1).String(); s != "0x100" {
		t.Errorf("DevicePtr String = %q", s)
	}
}

func TestHostBufferZeroValue(t *testing.T) {
	var b cuda.HostBuffer
	if b.Len() != 0 || b.Busy() || b.Device() != nil {
		t.Error("zero HostBuffer is not empty")
	}
	for name, err := range map[string]error{
		"Bytes":    second(b.Bytes()),
		"Float32s": second(b.Float32s()),
		"Err":      b.Err(),
	} {
		if !errors.Is(err, cuda.ErrInvalidValue) {
			t.Errorf("%s on zero HostBuffer: %v", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
