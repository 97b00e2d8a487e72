package async

import (
	"testing"
	"unsafe"
)

// The groups of Scope's fields must stay a cache line apart (see Scope);
// reordering or resizing fields can silently undo that.
func TestScopeLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) < 8 {
		t.Skip("the layout is tuned for 64-bit platforms")
	}
	var s Scope
	t.Logf("a Scope is %d bytes", unsafe.Sizeof(s))
	gap := func(aEnd, b uintptr) uintptr { return b - aEnd }
	shared := unsafe.Offsetof(s.waited) + unsafe.Sizeof(s.waited)
	launched := unsafe.Offsetof(s.launched)
	if g := gap(shared, launched); g < cacheLine {
		t.Errorf("%d bytes between the shared fields and launched, want at least %d", g, cacheLine)
	}
	if g := gap(launched+unsafe.Sizeof(s.launched), unsafe.Offsetof(s.ended)); g < cacheLine {
		t.Errorf("%d bytes between launched and ended, want at least %d", g, cacheLine)
	}
}
