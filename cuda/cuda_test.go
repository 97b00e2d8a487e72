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

func TestCheckRange(t *testing.T) {
	for _, c := range []struct {
		off, n, size int
		want         string // "" for ok
	}{
		{0, 0, 0, ""},
		{0, 64, 64, ""},
		{64, 0, 64, ""},
		{10, 100, 64, "offset 10 + size 100 exceeds buf of 64 bytes"},
		{65, 0, 64, "offset 65 + size 0 exceeds buf of 64 bytes"},
		{-1, 1, 64, "negative offset -1"},
		{0, -1, 64, "negative size -1"},
		{1, math.MaxInt, 64, "exceeds"},
		{math.MaxInt, math.MaxInt, 64, "exceeds"},
	} {
		err := cuda.CheckRange("Op", "buf", c.off, c.n, c.size)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckRange(%d, %d, %d) = %v", c.off, c.n, c.size, err)
		case c.want != "" && (err == nil || !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cuda: Op: ")):
			t.Errorf("CheckRange(%d, %d, %d) = %v, want %q", c.off, c.n, c.size, err, c.want)
		}
	}
}

func TestSliceOf(t *testing.T) {
	b := cuda.AlignedBytes(24)
	if len(b) != 24 || cap(b) != 24 || uintptr(unsafe.Pointer(&b[0]))%cuda.Alignment != 0 {
		t.Fatalf("AlignedBytes(24): len %d cap %d at %p", len(b), cap(b), &b[0])
	}
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
	if a := cuda.AlignedBytes(0); len(a) != 0 {
		t.Error("AlignedBytes(0) not empty")
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

func TestCheckArgs(t *testing.T) {
	spec := cuda.KernelSpec{Module: "m", Name: "k", Params: []cuda.Param{{Name: "y", Kind: cuda.ParamPtr}, {Kind: cuda.ParamInt32}}}
	if got := spec.String(); got != "k(pointer y, int32)" {
		t.Errorf("spec String = %q", got)
	}
	for _, c := range []struct {
		args []cuda.Arg
		want string
	}{
		{[]cuda.Arg{cuda.Ptr(1), cuda.Int32(2)}, ""},
		{nil, "got 0 arguments, kernel k(pointer y, int32) takes 2"},
		{[]cuda.Arg{cuda.Ptr(1), cuda.Int32(2), cuda.Int32(3)}, "got 3 arguments"},
		{[]cuda.Arg{cuda.Int64(1), cuda.Int32(2)}, "argument 0 (y) is int64, kernel k(pointer y, int32) wants pointer"},
		{[]cuda.Arg{cuda.Ptr(1), cuda.Uint32(2)}, "argument 1 is uint32"},
	} {
		err := cuda.CheckArgs("Launch k", spec, c.args)
		if c.want == "" {
			if err != nil {
				t.Errorf("CheckArgs(%v) = %v", c.args, err)
			}
			continue
		}
		if !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cuda: Launch k: ") {
			t.Errorf("CheckArgs(%v) = %v, want %q", c.args, err, c.want)
		}
	}
}

func TestLaunchConfig(t *testing.T) {
	p := &cuda.Properties{
		MaxThreadsPerBlock: 1024, MaxBlock: cuda.Dim3{X: 1024, Y: 1024, Z: 64},
		MaxGrid: cuda.Dim3{X: 1<<31 - 1, Y: 65535, Z: 65535}, MaxSharedMemoryPerBlock: 48 << 10,
	}
	for _, c := range []struct {
		cfg  cuda.LaunchConfig
		want string
	}{
		{cuda.LaunchConfig{}, ""},
		{cuda.LaunchConfig{Grid: cuda.Dim3{X: 10, Y: 2}, Block: cuda.Dim3{X: 32, Y: 32}, SharedMem: 48 << 10}, ""},
		{cuda.LaunchConfig{Block: cuda.Dim3{X: 1025}}, "block size {1025 1 1} exceeds"},
		{cuda.LaunchConfig{Block: cuda.Dim3{X: 32, Y: 32, Z: 2}}, "2048 threads per block"},
		{cuda.LaunchConfig{Block: cuda.Dim3{Z: 65}}, "block size {1 1 65} exceeds"},
		{cuda.LaunchConfig{Grid: cuda.Dim3{Y: 65536}}, "grid size"},
		{cuda.LaunchConfig{Grid: cuda.Dim3{X: -1}}, "negative grid size"},
		{cuda.LaunchConfig{SharedMem: 48<<10 + 1}, "shared memory"},
		{cuda.LaunchConfig{SharedMem: -1}, "shared memory"},
	} {
		err := c.cfg.Validate("Launch k", p)
		if c.want == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v", c.cfg, err)
			}
			continue
		}
		if !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.cfg, err, c.want)
		}
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
	if b.Len() != 0 || b.Busy() || b.Owner() != nil {
		t.Error("zero HostBuffer is not empty")
	}
	for name, err := range map[string]error{
		"Bytes":    second(b.Bytes()),
		"Float32s": second(b.Float32s()),
		"Acquire":  second(b.Acquire("Op", nil, false, 0, 0)),
		"Err":      b.Err(),
	} {
		if !errors.Is(err, cuda.ErrInvalidValue) {
			t.Errorf("%s on zero HostBuffer: %v", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestHostBufferUses(t *testing.T) {
	owner := new(int)
	b := cuda.NewHostBuffer(owner, cuda.AlignedBytes(100))
	q1, q2 := new(int), new(int)
	step := func(name string, err error, want error) {
		t.Helper()
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: got %v, want %v", name, err, want)
		}
	}
	step("q1 reads [0,50)", second(b.Acquire("r", q1, false, 0, 50)), nil)
	step("q2 reads [25,75)", second(b.Acquire("r", q2, false, 25, 50)), nil)
	step("q2 writes [40,41) read by q1", second(b.Acquire("w", q2, true, 40, 1)), cuda.ErrBufferBusy)
	step("q1 writes [40,41) read by q2", second(b.Acquire("w", q1, true, 40, 1)), cuda.ErrBufferBusy)
	step("q1 writes [10,20), its own reads only", second(b.Acquire("w", q1, true, 10, 10)), nil)
	step("q2 reads [10,20) written by q1", second(b.Acquire("r", q2, false, 15, 1)), cuda.ErrBufferBusy)
	step("q2 writes [80,100)", second(b.Acquire("w", q2, true, 80, 20)), nil)
	step("nil queue reads [0,1) written by q1", second(b.Acquire("r", nil, false, 12, 1)), cuda.ErrBufferBusy)
	step("empty range", second(b.Acquire("w", q2, true, 10, 0)), nil)
	step("out of range", second(b.Acquire("w", q2, true, 90, 11)), cuda.ErrInvalidValue)
	step("Bytes while busy", second(b.Bytes()), cuda.ErrBufferBusy)
	step("MarkFreed while busy", second(b.MarkFreed("FreeHost")), cuda.ErrBufferBusy)
	b.Release(q1, false, 0, 50)
	b.Release(q2, false, 25, 50)
	b.Release(q1, true, 10, 10)
	b.Release(q2, true, 10, 0)
	if !b.Busy() {
		t.Fatal("not busy with one use left")
	}
	b.Release(q2, true, 80, 20)
	if b.Busy() {
		t.Fatal("busy after every Release")
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "cuda: ") {
				t.Errorf("unpaired Release: recover() = %v", r)
			}
		}()
		b.Release(q1, false, 0, 50)
	}()
	step("Bytes when idle", second(b.Bytes()), nil)
	m, err := b.MarkFreed("FreeHost")
	step("MarkFreed", err, nil)
	if len(m) != 100 {
		t.Errorf("MarkFreed returned %d bytes", len(m))
	}
	step("Bytes after free", second(b.Bytes()), cuda.ErrInvalidValue)
	step("MarkFreed twice", second(b.MarkFreed("FreeHost")), cuda.ErrInvalidValue)
	b.Invalidate() // no effect after free
	step("Err after free", b.Err(), cuda.ErrInvalidValue)
	c := cuda.NewHostBuffer(owner, make([]byte, 8))
	c.Invalidate()
	step("Bytes after Invalidate", second(c.Bytes()), cuda.ErrClosed)
	if c.Len() != 8 {
		t.Error("Len changed by Invalidate")
	}
}
