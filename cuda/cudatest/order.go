package cudatest

import (
	"testing"

	"github.com/coawait/coawait/cuda"
)

// testBufferOrder checks that the busy rule of host buffers follows the
// device's ordering: a copy ordered after every copy that holds a buffer
// (on the same stream, or on a stream that waited, directly or through
// other streams, for an event recorded after them) may use it at once;
// an unordered copy that overlaps a write, or a write that overlaps a
// read, is still refused.
func testBufferOrder(t *testing.T, nd NewDevice) {
	const n = 1024
	dev := open(t, nd)
	s1, s2, s3, s4 := stream(t, dev), stream(t, dev), stream(t, dev), stream(t, dev)
	d1, d2, d3, d4 := alloc(t, dev, n), alloc(t, dev, n), alloc(t, dev, n), alloc(t, dev, n)
	h := host(t, dev, n)
	src := host(t, dev, n)
	want1, want3 := pattern(n, 1), pattern(n, 3)
	copy(hostBytes(t, src), want1)
	ok(t, s1.CopyHtoD(d1, 0, src, 0, n))
	copy3 := host(t, dev, n)
	copy(hostBytes(t, copy3), want3)
	ok(t, s3.CopyHtoD(d3, 0, copy3, 0, n))
	ok(t, dev.Synchronize())

	release := hold(t, dev, s1) // every copy below stays in flight until release
	early := event(t, dev)
	ok(t, s1.RecordEvent(early)) // before the download: orders nothing
	ok(t, s1.CopyDtoH(h, 0, d1, 0, n))
	down := event(t, dev)
	ok(t, s1.RecordEvent(down))

	// A stream that waited for an event recorded before the download is
	// not ordered after it, nor is a stream that waited for nothing.
	ok(t, s4.WaitEvent(early))
	wantErr(t, "CopyHtoD after an event recorded before the write", s4.CopyHtoD(d4, 0, h, 0, n), cuda.ErrBufferBusy, "CopyHtoD")
	wantErr(t, "unordered CopyHtoD from a buffer being written", s3.CopyHtoD(d4, 0, h, 0, 16), cuda.ErrBufferBusy, "CopyHtoD")

	// Ordered after the download: may read the buffer at once.
	ok(t, s2.WaitEvent(down))
	ok(t, s2.CopyHtoD(d2, 0, h, 0, n))
	up := event(t, dev)
	ok(t, s2.RecordEvent(up))
	wantErr(t, "unordered CopyDtoH into a buffer being read and written", s3.CopyDtoH(h, 0, d3, 0, 16), cuda.ErrBufferBusy, "CopyDtoH")
	// Transitively ordered after both (s4 waits for s2, which waited for
	// s1): may write the buffer again.
	ok(t, s4.WaitEvent(up))
	ok(t, s4.CopyDtoH(h, 0, d3, 0, n))

	release()
	ok(t, dev.Synchronize())
	if h.Busy() {
		t.Error("buffer still busy after Synchronize")
	}
	checkBytes(t, "upload ordered after the download", readDevice(t, dev, d2, n), want1)
	checkBytes(t, "download ordered after the upload", hostBytes(t, h), want3)
}

// readDevice returns n bytes at p, read through a stream of its own.
func readDevice(t *testing.T, dev cuda.Device, p cuda.DevicePtr, n int) []byte {
	t.Helper()
	s := stream(t, dev)
	b := host(t, dev, n)
	ok(t, s.CopyDtoH(b, 0, p, 0, n))
	ok(t, s.Synchronize())
	return append([]byte(nil), hostBytes(t, b)...)
}
