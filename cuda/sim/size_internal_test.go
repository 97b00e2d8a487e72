package sim

import (
	"testing"
	"time"
	"unsafe"
)

// Every RecordEvent allocates a mark: keep it in the 64-byte size class
// (a copied vector clock and a time.Time once took it to 96 bytes, +32 B
// on every scheduler operation).
func TestMarkSize(t *testing.T) {
	if n := unsafe.Sizeof(mark{}); n > 64 {
		t.Errorf("mark is %d bytes, want at most 64 (the 64-byte size class)", n)
	}
}

// CompletedAt rebuilds the wall time a mark was reached from the device's
// epoch: it lies between the recording and the return of Synchronize, on
// the monotonic clock.
func TestCompletedAtWallTime(t *testing.T) {
	d := New(Config{})
	defer d.Close()
	st, err := d.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := d.NewEvent(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	before := time.Now()
	if err := st.RecordEvent(ev); err != nil {
		t.Fatal(err)
	}
	if err := ev.Synchronize(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	at, ok := ev.(*Event).CompletedAt()
	if !ok {
		t.Fatal("CompletedAt: not done after Synchronize")
	}
	if at.Before(before) || at.After(after) {
		t.Errorf("CompletedAt = %v, want within [%v, %v]", at, before, after)
	}
}
