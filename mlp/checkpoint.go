package mlp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// ErrCheckpoint reports a checkpoint file that is not one, is of an
// unknown version, is truncated or fails its checksum.
var ErrCheckpoint = errors.New("mlp: bad checkpoint")

// Checkpoint is the state of a training run between epochs: enough to
// resume it exactly where it stopped. The zero value is not a valid
// checkpoint (its shape is zero).
type Checkpoint struct {
	// Shape is the model's shape; Params and Velocity are the parameters
	// and the SGD momentum in NewLayout(Shape)'s layout.
	Shape            Shape
	Params, Velocity []float32
	// Seed is the run's seed (initialisation and shuffling); Epoch the
	// number of epochs completed.
	Seed  uint64
	Epoch int
	// Hyper are the hyperparameters the run used, for the record; a resumed
	// run may choose others.
	Hyper Hyper
}

// File format, little-endian:
//
//	magic "coawMLP\x00", version uint32
//	in, hidden, out uint32; seed uint64; epoch uint32; rate, momentum float32
//	n uint32; params [n]float32; velocity [n]float32
//	crc32 (Castagnoli) of everything before it
var ckptMagic = [8]byte{'c', 'o', 'a', 'w', 'M', 'L', 'P', 0}

const (
	ckptVersion = 1
	headerLen   = 8 + 4 + 3*4 + 8 + 4 + 2*4 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// validate checks that c's vectors have its shape's layout.
func (c *Checkpoint) validate() (Layout, error) {
	l, err := NewLayout(c.Shape)
	if err != nil {
		return l, err
	}
	if len(c.Params) != l.Len || len(c.Velocity) != l.Len {
		return l, fmt.Errorf("mlp: checkpoint: parameter vectors of length %d and %d for a %s model (layout length %d)",
			len(c.Params), len(c.Velocity), c.Shape, l.Len)
	}
	if c.Epoch < 0 || c.Epoch > math.MaxUint32 {
		return l, fmt.Errorf("mlp: checkpoint: epoch %d out of range", c.Epoch)
	}
	return l, nil
}

// WriteTo writes c to w in the checkpoint format. It returns the bytes
// written; an invalid c is an error and writes nothing.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	l, err := c.validate()
	if err != nil {
		return 0, err
	}
	h := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
	var hdr [headerLen]byte
	b := append(hdr[:0], ckptMagic[:]...)
	b = binary.LittleEndian.AppendUint32(b, ckptVersion)
	for _, v := range []int{c.Shape.In, c.Shape.Hidden, c.Shape.Out} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	b = binary.LittleEndian.AppendUint64(b, c.Seed)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.Epoch))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.Hyper.Rate))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.Hyper.Momentum))
	b = binary.LittleEndian.AppendUint32(b, uint32(l.Len))
	bw.Write(b) // errors are sticky in bufio.Writer; checked at Flush
	var buf [4]byte
	for _, vec := range [][]float32{c.Params, c.Velocity} {
		for _, v := range vec {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			bw.Write(buf[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(buf[:], h.Sum32())
	if _, err := w.Write(buf[:]); err != nil {
		return 0, err
	}
	return int64(headerLen + 8*l.Len + 4), nil
}

// ReadCheckpoint reads a checkpoint written by WriteTo. A stream that is not
// a checkpoint, is truncated, has trailing bytes or fails its checksum is an
// error matching ErrCheckpoint.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	h := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 1<<16)
	tr := io.TeeReader(br, h)
	var hdr [headerLen]byte
	if _, err := io.ReadFull(tr, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCheckpoint, short(err))
	}
	if [8]byte(hdr[:8]) != ckptMagic {
		return nil, fmt.Errorf("%w: not a coawait MLP checkpoint (magic %q)", ErrCheckpoint, hdr[:8])
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(hdr[i:]) }
	if v := u32(8); v != ckptVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrCheckpoint, v, ckptVersion)
	}
	c := &Checkpoint{
		Shape: Shape{In: int(u32(12)), Hidden: int(u32(16)), Out: int(u32(20))},
		Seed:  binary.LittleEndian.Uint64(hdr[24:]),
		Epoch: int(u32(32)),
		Hyper: Hyper{Rate: math.Float32frombits(u32(36)), Momentum: math.Float32frombits(u32(40))},
	}
	l, err := NewLayout(c.Shape)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if n := int(u32(44)); n != l.Len {
		return nil, fmt.Errorf("%w: %d parameters for a %s model, which has %d", ErrCheckpoint, n, c.Shape, l.Len)
	}
	// Read in chunks rather than allocating what the header claims: a
	// corrupted header must not make us allocate gigabytes.
	vec := make([]float32, 0, min(2*l.Len, 1<<16))
	var chunk [1 << 14]byte
	for len(vec) < 2*l.Len {
		b := chunk[:min(len(chunk), 4*(2*l.Len-len(vec)))]
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("%w: parameters: %v", ErrCheckpoint, short(err))
		}
		for i := 0; i < len(b); i += 4 {
			vec = append(vec, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		}
	}
	c.Params, c.Velocity = vec[:l.Len:l.Len], vec[l.Len:]
	sum := h.Sum32()
	var tail [5]byte
	n, err := io.ReadFull(br, tail[:])
	switch {
	case n < 4:
		return nil, fmt.Errorf("%w: checksum: %v", ErrCheckpoint, short(err))
	case n > 4:
		return nil, fmt.Errorf("%w: trailing bytes after the checksum", ErrCheckpoint)
	case binary.LittleEndian.Uint32(tail[:]) != sum:
		return nil, fmt.Errorf("%w: checksum mismatch (the file is corrupted)", ErrCheckpoint)
	}
	return c, nil
}

func short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file is truncated")
	}
	return err
}

// Save writes c to path atomically: it writes a temporary file in the same
// directory, syncs it to disk, renames it over path and syncs the directory.
// Whatever fails, path is either its old contents or the complete new
// checkpoint, and the temporary file is removed.
func (c *Checkpoint) Save(path string) error {
	if _, err := c.validate(); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}

// writeAtomic writes path with write, atomically (see Save).
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("mlp: saving checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("mlp: saving checkpoint %s: %w", path, err)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadCheckpoint reads the checkpoint at path. An error reading the file is
// returned as it is (so errors.Is(err, fs.ErrNotExist) tells a missing file);
// a bad file matches ErrCheckpoint.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Resume checks that c is a checkpoint of a model of shape want and returns
// an error matching ErrShape, naming both shapes, if it is not.
func (c *Checkpoint) Resume(want Shape) error {
	if c.Shape != want {
		return fmt.Errorf("%w: the checkpoint is of a %s model and this run trains a %s model; "+
			"use its hidden size or another checkpoint path", ErrShape, c.Shape, want)
	}
	return nil
}

// Fresh returns the checkpoint a new run starts from: the parameters of
// NewLayout(s).Init(seed), zero momentum, epoch 0.
func Fresh(s Shape, seed uint64, h Hyper) (*Checkpoint, error) {
	l, err := NewLayout(s)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Shape: s, Params: l.Init(seed), Velocity: make([]float32, l.Len), Seed: seed, Hyper: h}, nil
}
