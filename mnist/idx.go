package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Element types of an IDX file: the third byte of its magic number.
const (
	TypeUint8   byte = 0x08
	TypeInt8    byte = 0x09
	TypeInt16   byte = 0x0B
	TypeInt32   byte = 0x0C
	TypeFloat32 byte = 0x0D
	TypeFloat64 byte = 0x0E
)

// elemSize is the size in bytes of each element type; 0 for unknown codes.
func elemSize(t byte) int {
	switch t {
	case TypeUint8, TypeInt8:
		return 1
	case TypeInt16:
		return 2
	case TypeInt32, TypeFloat32:
		return 4
	case TypeFloat64:
		return 8
	}
	return 0
}

// MaxBytes bounds the data of an IDX file that ReadIDX accepts (4 GiB):
// a header that announces more is an error, before any data is read.
const MaxBytes = 4 << 30

// ErrFormat is matched by every error about the contents of a file: a
// wrong magic number, bad dimensions, a truncated file, trailing bytes,
// a corrupt gzip stream, a label out of range or counts that disagree.
var ErrFormat = errors.New("mnist: not a valid IDX file")

// A FormatError says what is wrong with a file, and names it.
type FormatError struct {
	File   string // the file's name, as the caller gave it
	Detail string
	Err    error // the underlying error, such as a gzip error; may be nil
}

// Error formats the error as "mnist: FILE: what is wrong[: cause]".
func (e *FormatError) Error() string {
	s := "mnist: " + e.File + ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrFormat and the underlying error.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}

func formatErr(file string, err error, format string, args ...any) error {
	return &FormatError{File: file, Detail: fmt.Sprintf(format, args...), Err: err}
}

// IDX is the contents of an IDX file: a magic number (two zero bytes, the
// element type, the number of dimensions), the size of each dimension as a
// big-endian uint32, then the elements, big-endian, in row-major order.
type IDX struct {
	Type byte   // the element type, one of the Type constants
	Dims []int  // the size of each dimension; at least one
	Data []byte // the elements as stored: product(Dims) × element size bytes
}

// Magic is the file's magic number.
func (x *IDX) Magic() uint32 { return uint32(x.Type)<<8 | uint32(len(x.Dims)) }

// ReadIDX reads and validates an IDX file from r, decompressing it first
// if it is gzipped (as the MNIST distribution files are). name is the
// file's name for errors. Every problem with the contents is a
// *FormatError matching ErrFormat that names the file; an error of r
// itself is wrapped.
func ReadIDX(name string, r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, formatErr(name, err, "corrupt gzip header")
		}
		z.Multistream(false)
		x, err := parseIDX(name, z, true)
		if err != nil {
			return nil, err
		}
		// The data ended where the header said; the stream must end too,
		// with a good checksum, and nothing may follow it.
		if n, err := io.Copy(io.Discard, z); err != nil || n > 0 {
			return nil, trailing(name, n, err, true)
		}
		if n, _ := io.Copy(io.Discard, br); n > 0 {
			return nil, formatErr(name, nil, "%d bytes after the end of the gzip stream", n)
		}
		return x, nil
	}
	x, err := parseIDX(name, br, false)
	if err != nil {
		return nil, err
	}
	if n, err := io.Copy(io.Discard, br); err != nil || n > 0 {
		return nil, trailing(name, n, err, false)
	}
	return x, nil
}

func trailing(name string, n int64, err error, gz bool) error {
	if err != nil {
		return readErr(name, err, gz)
	}
	return formatErr(name, nil, "%d bytes after the data the header announces", n)
}

// readErr wraps an error of reading: from a gzip stream it is a
// FormatError (the stream is corrupt or truncated); otherwise an error of
// the reader, which is not about the format.
func readErr(name string, err error, gz bool) error {
	if gz || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return formatErr(name, err, "corrupt or truncated gzip stream")
	}
	return fmt.Errorf("mnist: reading %s: %w", name, err)
}

// parseIDX reads the header and exactly the data it announces.
func parseIDX(name string, r io.Reader, gz bool) (*IDX, error) {
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, short(name, err, gz, "file ends after %d bytes, inside the 4-byte magic number", n)
	}
	m := binary.BigEndian.Uint32(magic[:])
	if magic[0] != 0 || magic[1] != 0 {
		return nil, formatErr(name, nil, "magic number 0x%08x does not start with two zero bytes", m)
	}
	size := elemSize(magic[2])
	if size == 0 {
		return nil, formatErr(name, nil, "magic number 0x%08x has unknown element type 0x%02x", m, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, formatErr(name, nil, "magic number 0x%08x has no dimensions", m)
	}
	hdr := make([]byte, 4*nd)
	if n, err := io.ReadFull(r, hdr); err != nil {
		return nil, short(name, err, gz, "file ends after %d of the %d bytes of its dimensions", n, len(hdr))
	}
	x := &IDX{Type: magic[2], Dims: make([]int, nd)}
	total := uint64(size)
	for i := range x.Dims {
		d := binary.BigEndian.Uint32(hdr[4*i:])
		if d > math.MaxInt32 {
			return nil, formatErr(name, nil, "dimension %d has size %d, more than 2^31-1", i, d)
		}
		x.Dims[i] = int(d)
		if total != 0 && uint64(d) > MaxBytes/total {
			return nil, formatErr(name, nil, "dimensions %v announce more than %d bytes of data", dims(hdr, nd), uint64(MaxBytes))
		}
		total *= uint64(d)
	}
	// Read what is there rather than allocating what the header claims,
	// so that a short file with a huge header costs little memory.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, int64(total)))
	if err == nil && uint64(n) < total {
		err = io.EOF
	}
	if err != nil {
		return nil, short(name, err, gz, "file ends after %d of the %d data bytes its dimensions %v announce", n, total, x.Dims)
	}
	x.Data = buf.Bytes()
	if x.Data == nil {
		x.Data = []byte{}
	}
	return x, nil
}

// short is the error of a read that ended early: a truncated file if the
// data ran out, else the reader's error.
func short(name string, err error, gz bool, format string, args ...any) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return formatErr(name, nil, "truncated: "+format, args...)
	}
	return readErr(name, err, gz)
}

// dims formats the first nd sizes of a header for an error.
func dims(hdr []byte, nd int) string {
	s := "["
	for i := range nd {
		if i > 0 {
			s += " "
		}
		s += strconv.FormatUint(uint64(binary.BigEndian.Uint32(hdr[4*i:])), 10)
	}
	return s + "]"
}

// WriteTo writes x as an uncompressed IDX file. It returns an error if x
// is inconsistent: an unknown type, no dimensions or more than 255, or data
// whose length does not match the dimensions.
func (x *IDX) WriteTo(w io.Writer) (int64, error) {
	size := elemSize(x.Type)
	if size == 0 || len(x.Dims) == 0 || len(x.Dims) > 255 {
		return 0, fmt.Errorf("mnist: IDX with type 0x%02x and %d dimensions cannot be written", x.Type, len(x.Dims))
	}
	want := size
	hdr := []byte{0, 0, x.Type, byte(len(x.Dims))}
	for _, d := range x.Dims {
		if d < 0 || d > math.MaxInt32 {
			return 0, fmt.Errorf("mnist: IDX dimension %d out of range", d)
		}
		if d > 0 && want > math.MaxInt/d {
			return 0, fmt.Errorf("mnist: IDX dimensions %v are too large", x.Dims)
		}
		want *= d
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if want != len(x.Data) {
		return 0, fmt.Errorf("mnist: IDX dimensions %v need %d data bytes, have %d", x.Dims, want, len(x.Data))
	}
	n, err := w.Write(hdr)
	if err != nil {
		return int64(n), err
	}
	m, err := w.Write(x.Data)
	return int64(n + m), err
}
