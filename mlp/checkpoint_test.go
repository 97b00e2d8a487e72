package mlp

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testCheckpoint(t testing.TB, s Shape) *Checkpoint {
	t.Helper()
	l, err := NewLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	v := l.Init(99)
	return &Checkpoint{Shape: s, Params: l.Init(7), Velocity: v, Seed: 7, Epoch: 3, Hyper: DefaultHyper()}
}

func equalCheckpoints(a, b *Checkpoint) bool {
	return a.Shape == b.Shape && a.Seed == b.Seed && a.Epoch == b.Epoch && a.Hyper == b.Hyper &&
		slices.Equal(a.Params, b.Params) && slices.Equal(a.Velocity, b.Velocity)
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := testCheckpoint(t, MNIST(30))
	path := filepath.Join(t.TempDir(), "ckpt")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equalCheckpoints(c, got) {
		t.Fatal("the loaded checkpoint differs from the saved one")
	}
	if err := got.Resume(MNIST(30)); err != nil {
		t.Fatal(err)
	}
	// Saving again replaces the file.
	c.Epoch = 4
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if got, err = LoadCheckpoint(path); err != nil || got.Epoch != 4 {
		t.Fatalf("after a second save: epoch %v, %v", got, err)
	}
	if _, err := LoadCheckpoint(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCheckpointWrongShape(t *testing.T) {
	c := testCheckpoint(t, MNIST(30))
	err := c.Resume(MNIST(300))
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "784-30-10") || !strings.Contains(err.Error(), "784-300-10") {
		t.Fatalf("Resume with another shape: %v", err)
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	c := testCheckpoint(t, Shape{In: 5, Hidden: 3, Out: 2})
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	// Every truncation is an error.
	for n := range len(good) {
		if _, err := ReadCheckpoint(bytes.NewReader(good[:n])); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(good), err)
		}
	}
	// Every flipped bit is an error.
	for i := range good {
		bad := slices.Clone(good)
		bad[i] ^= 0x10
		if _, err := ReadCheckpoint(bytes.NewReader(bad)); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := ReadCheckpoint(bytes.NewReader(append(slices.Clone(good), 0))); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("trailing byte: %v", err)
	}
	if _, err := ReadCheckpoint(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointInvalid(t *testing.T) {
	c := testCheckpoint(t, MNIST(10))
	c.Velocity = c.Velocity[:5]
	dir := t.TempDir()
	if err := c.Save(filepath.Join(dir, "c")); err == nil {
		t.Fatal("a checkpoint with a short velocity vector was saved")
	}
	assertOnly(t, dir)
}

// TestSaveLeavesNoPartialFile makes a save fail after part of the file is
// written, and when the final rename fails, and checks that the old
// checkpoint is intact and no temporary file is left behind.
func TestSaveLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt")
	old := testCheckpoint(t, MNIST(20))
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write(make([]byte, 1000))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("writeAtomic: %v", err)
	}
	assertOnly(t, dir, "ckpt")
	if got, err := LoadCheckpoint(path); err != nil || !equalCheckpoints(got, old) {
		t.Fatalf("the old checkpoint was damaged: %v", err)
	}

	// The rename fails: the target is a non-empty directory.
	target := filepath.Join(dir, "isdir")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := old.Save(target); err == nil {
		t.Fatal("Save over a directory succeeded")
	}
	assertOnly(t, dir, "ckpt", "isdir")

	// The directory does not exist.
	if err := old.Save(filepath.Join(dir, "nope", "ckpt")); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("directory holds %q, want %q", got, names)
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	var buf bytes.Buffer
	testCheckpoint(f, Shape{In: 2, Hidden: 2, Out: 2}).WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte("coawMLP\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadCheckpoint(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error not matching ErrCheckpoint: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if _, err := c.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), b) {
			t.Fatalf("a checkpoint that reads does not write back the same bytes: %v", err)
		}
	})
}
