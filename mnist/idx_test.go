package mnist_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/coawait/coawait/mnist"
	"github.com/google/go-cmp/cmp"
)

// idxBytes encodes an IDX file by hand (not with WriteTo, so that the
// reader is checked against an independent writer).
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestReadIDX(t *testing.T) {
	images := idxBytes(mnist.TypeUint8, []uint32{3, 2, 4}, seq(24))
	floats := idxBytes(mnist.TypeFloat64, []uint32{2}, seq(16))
	for _, tt := range []struct {
		name string
		file []byte
		want *mnist.IDX
	}{
		{"images", images, &mnist.IDX{Type: mnist.TypeUint8, Dims: []int{3, 2, 4}, Data: seq(24)}},
		{"images.gz", gz(images), &mnist.IDX{Type: mnist.TypeUint8, Dims: []int{3, 2, 4}, Data: seq(24)}},
		{"floats", floats, &mnist.IDX{Type: mnist.TypeFloat64, Dims: []int{2}, Data: seq(16)}},
		{"empty", idxBytes(mnist.TypeInt32, []uint32{0, 5}, nil), &mnist.IDX{Type: mnist.TypeInt32, Dims: []int{0, 5}, Data: []byte{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mnist.ReadIDX(tt.name, bytes.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

// Every malformed file is a FormatError that names the file and says what
// is wrong.
func TestReadIDXErrors(t *testing.T) {
	good := idxBytes(mnist.TypeUint8, []uint32{4, 3}, seq(12))
	corrupt := gz(good)
	corrupt[len(corrupt)-12] ^= 0xff // inside the deflate data or its checksum
	for _, tt := range []struct {
		name, msg string
		file      []byte
	}{
		{"empty", "truncated: file ends after 0 bytes, inside the 4-byte magic number", nil},
		{"short magic", "truncated: file ends after 3 bytes", good[:3]},
		{"not zero", "magic number 0x01000802 does not start with two zero bytes", []byte{1, 0, 8, 2, 0, 0, 0, 1}},
		{"unknown type", "unknown element type 0x07", idxBytes(7, []uint32{1}, []byte{1})},
		{"no dims", "has no dimensions", idxBytes(mnist.TypeUint8, nil, nil)},
		{"short dims", "truncated: file ends after 6 of the 8 bytes of its dimensions", good[:10]},
		{"short data", "truncated: file ends after 11 of the 12 data bytes its dimensions [4 3] announce", good[:len(good)-1]},
		{"short data gz", "truncated: file ends after 11 of the 12 data bytes", gz(good[:len(good)-1])},
		{"cut gz", "truncated: file ends after 5 of the 8 bytes of its dimensions", gz(good)[:20]},
		{"corrupt gz", "corrupt or truncated gzip stream", corrupt},
		{"trailing", "1 bytes after the data the header announces", append(bytes.Clone(good), 9)},
		{"trailing gz", "1 bytes after the data the header announces", gz(append(bytes.Clone(good), 9))},
		{"after gz", "3 bytes after the end of the gzip stream", append(gz(good), 1, 2, 3)},
		{"huge", "announce more than 4294967296 bytes", idxBytes(mnist.TypeFloat64, []uint32{1 << 20, 1 << 20}, nil)},
		{"too big dim", "dimension 0 has size 4294967295", idxBytes(mnist.TypeUint8, []uint32{1<<32 - 1}, nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			name := "dir/" + strings.ReplaceAll(tt.name, " ", "-") + ".idx"
			x, err := mnist.ReadIDX(name, bytes.NewReader(file))
			var fe *mnist.FormatError
			if x != nil || !errors.Is(err, mnist.ErrFormat) || !errors.As(err, &fe) || fe.File != name {
				t.Fatalf("ReadIDX = %v, %v; want a FormatError naming %s", x, err, name)
			}
			if !strings.HasPrefix(err.Error(), "mnist: "+name+": ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// A reader's own failure is passed on, not reported as a bad format.
func TestReadIDXReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader([]byte{0, 0, 8}), iotest{boom})
	_, err := mnist.ReadIDX("f", r)
	if !errors.Is(err, boom) || errors.Is(err, mnist.ErrFormat) {
		t.Fatalf("err = %v", err)
	}
}

type iotest struct{ err error }

func (r iotest) Read([]byte) (int, error) { return 0, r.err }

func TestWriteTo(t *testing.T) {
	x := &mnist.IDX{Type: mnist.TypeInt16, Dims: []int{2, 3}, Data: seq(12)}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if want := idxBytes(mnist.TypeInt16, []uint32{2, 3}, seq(12)); !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wrote %v, want %v", buf.Bytes(), want)
	}
	for _, bad := range []*mnist.IDX{
		{Type: 0x42, Dims: []int{1}, Data: []byte{1}},
		{Type: mnist.TypeUint8, Data: []byte{}},
		{Type: mnist.TypeUint8, Dims: []int{2}, Data: []byte{1}},
		{Type: mnist.TypeUint8, Dims: []int{-1}},
	} {
		if _, err := bad.WriteTo(io.Discard); err == nil {
			t.Errorf("WriteTo(%+v) succeeded", bad)
		}
	}
}

// FuzzIDX: the reader never panics, every error it returns about the
// contents is a FormatError naming the file, and a file it accepts is
// written back byte for byte (after decompression).
func FuzzIDX(f *testing.F) {
	good := idxBytes(mnist.TypeUint8, []uint32{2, 2, 2}, seq(8))
	f.Add(good)
	f.Add(gz(good))
	f.Add(idxBytes(mnist.TypeUint8, []uint32{3}, []byte{1, 2, 9}))
	f.Add(idxBytes(mnist.TypeFloat32, []uint32{1, 0}, nil))
	f.Add(good[:9])
	f.Add(gz(good)[:15])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, file []byte) {
		x, err := mnist.ReadIDX("fuzz.idx", bytes.NewReader(file))
		if err != nil {
			var fe *mnist.FormatError
			if !errors.As(err, &fe) || fe.File != "fuzz.idx" || !errors.Is(err, mnist.ErrFormat) {
				t.Fatalf("error %v is not a FormatError naming the file", err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			t.Fatalf("accepted file cannot be written back: %v", err)
		}
		raw := file
		if len(file) >= 2 && file[0] == 0x1f && file[1] == 0x8b {
			z, err := gzip.NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			z.Multistream(false)
			if raw, err = io.ReadAll(z); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf.Bytes(), raw) {
			t.Fatalf("written back %x, read %x", buf.Bytes(), raw)
		}
	})
}
