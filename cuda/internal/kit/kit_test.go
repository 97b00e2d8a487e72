package kit_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// fakeDevice stands in for the device that owns a host buffer; only its
// identity matters.
type fakeDevice struct{ cuda.Device }

func second[T any](_ T, err error) error { return err }

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
		err := kit.CheckRange("Op", "buf", c.off, c.n, c.size)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckRange(%d, %d, %d) = %v", c.off, c.n, c.size, err)
		case c.want != "" && (err == nil || !errors.Is(err, cuda.ErrInvalidValue) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "cuda: Op: ")):
			t.Errorf("CheckRange(%d, %d, %d) = %v, want %q", c.off, c.n, c.size, err, c.want)
		}
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
		err := kit.CheckArgs("Launch k", spec, c.args)
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

func TestValidateLaunch(t *testing.T) {
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
		err := kit.ValidateLaunch("Launch k", c.cfg, p)
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
}

func TestAlignedBytes(t *testing.T) {
	for _, n := range []int{0, 1, 24, 4096} {
		b := kit.AlignedBytes(n)
		if len(b) != n || cap(b) != n || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%kit.Alignment != 0 {
			t.Errorf("AlignedBytes(%d): len %d cap %d at %p", n, len(b), cap(b), unsafe.SliceData(b))
		}
	}
}

func TestWithOp(t *testing.T) {
	orig := &cuda.Error{Op: "HostBuffer", Detail: "d", Err: cuda.ErrBufferBusy}
	e := kit.WithOp(orig, "FreeHost")
	if e == orig || e.Op != "FreeHost" || e.Detail != "d" || !errors.Is(e, cuda.ErrBufferBusy) || orig.Op != "HostBuffer" {
		t.Errorf("WithOp(*Error) = %#v, original now %#v", e, orig)
	}
	plain := errors.New("plain")
	if e := kit.WithOp(plain, "Op"); e.Op != "Op" || !errors.Is(e, plain) {
		t.Errorf("WithOp(plain) = %#v", e)
	}
}

func TestHostBufferZeroValueAcquire(t *testing.T) {
	var b cuda.HostBuffer
	if _, _, err := kit.Acquire(&b, "Op", nil, false, 0, 0); !errors.Is(err, cuda.ErrInvalidValue) {
		t.Errorf("Acquire on zero HostBuffer: %v", err)
	}
}

func TestHostBufferUses(t *testing.T) {
	owner := new(fakeDevice)
	b := kit.NewHostBuffer(owner, kit.AlignedBytes(100))
	q1, q2 := kit.NewQueue(), kit.NewQueue()
	step := func(name string, err error, want error) {
		t.Helper()
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: got %v, want %v", name, err, want)
		}
	}
	var uses []kit.Use
	acq := func(name string, q *kit.Queue, write bool, off, n int, want error) {
		t.Helper()
		_, u, err := kit.Acquire(b, "op", q, write, off, n)
		step(name, err, want)
		if err == nil {
			uses = append(uses, u)
		}
	}
	acq("q1 reads [0,50)", q1, false, 0, 50, nil)
	acq("q2 reads [25,75)", q2, false, 25, 50, nil)
	acq("q2 writes [40,41) read by q1", q2, true, 40, 1, cuda.ErrBufferBusy)
	acq("q1 writes [40,41) read by q2", q1, true, 40, 1, cuda.ErrBufferBusy)
	acq("q1 writes [10,20), its own reads only", q1, true, 10, 10, nil)
	acq("q2 reads [10,20) written by q1", q2, false, 15, 1, cuda.ErrBufferBusy)
	acq("q2 writes [80,100)", q2, true, 80, 20, nil)
	acq("nil queue reads [0,1) written by q1", nil, false, 12, 1, cuda.ErrBufferBusy)
	acq("empty range", q2, true, 10, 0, nil)
	acq("out of range", q2, true, 90, 11, cuda.ErrInvalidValue)
	step("Bytes while busy", second(b.Bytes()), cuda.ErrBufferBusy)
	step("MarkFreed while busy", second(kit.MarkFreed(b, "FreeHost")), cuda.ErrBufferBusy)
	for _, u := range uses[:len(uses)-2] {
		kit.Release(b, u)
	}
	kit.Release(b, uses[len(uses)-1]) // the empty range: not tracked
	if !b.Busy() {
		t.Fatal("not busy with one use left")
	}
	kit.Release(b, uses[len(uses)-2])
	if b.Busy() {
		t.Fatal("busy after every Release")
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "cuda: ") {
				t.Errorf("unpaired Release: recover() = %v", r)
			}
		}()
		kit.Release(b, uses[0])
	}()
	step("Bytes when idle", second(b.Bytes()), nil)
	m, err := kit.MarkFreed(b, "FreeHost")
	step("MarkFreed", err, nil)
	if len(m) != 100 {
		t.Errorf("MarkFreed returned %d bytes", len(m))
	}
	step("Bytes after free", second(b.Bytes()), cuda.ErrInvalidValue)
	step("MarkFreed twice", second(kit.MarkFreed(b, "FreeHost")), cuda.ErrInvalidValue)
	kit.Invalidate(b) // no effect after free
	step("Err after free", b.Err(), cuda.ErrInvalidValue)
	c := kit.NewHostBuffer(owner, make([]byte, 8))
	kit.Invalidate(c)
	step("Bytes after Invalidate", second(c.Bytes()), cuda.ErrClosed)
	if c.Len() != 8 {
		t.Error("Len changed by Invalidate")
	}
}
