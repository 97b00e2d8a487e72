package kernels

import (
	"testing"
	"unsafe"
)

// A simulated launch allocates a Call: keep it in the 128-byte size class
// (two slices for mem and sizes once took it to 160 bytes, +48 B on every
// launch in the scheduler's benchmarks).
func TestCallSize(t *testing.T) {
	if n := unsafe.Sizeof(Call{}); n > 128 {
		t.Errorf("Call is %d bytes, want at most 128 (the 128-byte size class)", n)
	}
}
