package mnist_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mnist"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ loader.Dataset = (*mnist.Set)(nil)

// writeSet writes an image file and a label file of n images of 2×3
// pixels (gzipped) into a temporary folder and returns their paths.
func writeSet(t *testing.T, n int, labels []byte, labelMagic ...byte) (string, string) {
	t.Helper()
	dir := t.TempDir()
	im := filepath.Join(dir, "im.gz")
	lb := filepath.Join(dir, "lb")
	if err := os.WriteFile(im, gz(idxBytes(mnist.TypeUint8, []uint32{uint32(n), 2, 3}, seq(6*n))), 0o644); err != nil {
		t.Fatal(err)
	}
	l := idxBytes(mnist.TypeUint8, []uint32{uint32(len(labels))}, labels)
	if len(labelMagic) > 0 {
		l = idxBytes(labelMagic[0], []uint32{uint32(len(labels)), 1, 1}, labels)
	}
	if err := os.WriteFile(lb, l, 0o644); err != nil {
		t.Fatal(err)
	}
	return im, lb
}

func TestSet(t *testing.T) {
	im, lb := writeSet(t, 4, []byte{3, 0, 9, 7})
	s, err := mnist.ReadFiles(im, lb)
	if err != nil {
		t.Fatal(err)
	}
	if f, l := s.Shape(); s.Len() != 4 || f != 6 || l != 1 || s.Rows != 2 || s.Cols != 3 {
		t.Fatalf("set of %d, shape %d %d", s.Len(), f, l)
	}
	x := make([]float32, 6)
	y := make([]int32, 1)
	if err := s.Decode(2, x, y); err != nil {
		t.Fatal(err)
	}
	for k, p := range seq(24)[12:18] {
		if x[k] != float32(p)/255 || x[k] < 0 || x[k] > 1 {
			t.Fatalf("pixel %d = %v, want %v", k, x[k], float32(p)/255)
		}
	}
	if y[0] != 9 {
		t.Fatalf("label %d, want 9", y[0])
	}
	if err := s.Decode(4, x, y); err == nil || !strings.Contains(err.Error(), "sample 4 out of range") {
		t.Fatalf("Decode(4) = %v", err)
	}
	if err := s.Decode(0, x[:5], y); err == nil {
		t.Fatal("Decode into a short view succeeded")
	}
	if sub := s.Subset(2); sub.Len() != 2 || len(sub.Pixels) != 12 {
		t.Fatalf("Subset(2) has %d samples and %d pixels", sub.Len(), len(sub.Pixels))
	}
}

func TestSetErrors(t *testing.T) {
	t.Run("counts disagree", func(t *testing.T) {
		im, lb := writeSet(t, 4, []byte{1, 2, 3})
		_, err := mnist.ReadFiles(im, lb)
		want := "mnist: " + im + ": has 4 images but " + lb + " has 3 labels"
		if !errors.Is(err, mnist.ErrFormat) || err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
	})
	t.Run("label not a digit", func(t *testing.T) {
		im, lb := writeSet(t, 3, []byte{1, 10, 3})
		_, err := mnist.ReadFiles(im, lb)
		if !errors.Is(err, mnist.ErrFormat) || !strings.Contains(err.Error(), lb+": label 10 of sample 1 is not a digit") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("files swapped", func(t *testing.T) {
		im, lb := writeSet(t, 3, []byte{1, 2, 3})
		_, err := mnist.ReadFiles(lb, im)
		if !errors.Is(err, mnist.ErrFormat) || !strings.Contains(err.Error(), lb+": magic number 0x00000801, want 0x00000803") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("labels in 3 dimensions", func(t *testing.T) {
		im, lb := writeSet(t, 3, []byte{1, 2, 3}, mnist.TypeUint8)
		_, err := mnist.ReadFiles(im, lb)
		if !errors.Is(err, mnist.ErrFormat) || !strings.Contains(err.Error(), lb+": magic number 0x00000803, want 0x00000801") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := mnist.ReadFiles(filepath.Join(t.TempDir(), "nope.gz"), "x")
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.gz") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("split", func(t *testing.T) {
		if _, err := mnist.Open(t.TempDir(), "validation"); err == nil || !strings.Contains(err.Error(), `unknown split "validation"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDirEnv(t *testing.T) {
	t.Setenv(mnist.DirEnv, "/some/folder")
	if d, err := mnist.Dir(context.Background()); err != nil || d != "/some/folder" {
		t.Fatalf("Dir = %q, %v", d, err)
	}
}

// moduleDir is mnist.Dir, run once for all tests.
var moduleDir = sync.OnceValues(func() (string, error) { return mnist.Dir(context.Background()) })

// realDir finds the files of the Go module, or skips the test.
func realDir(t *testing.T) string {
	t.Helper()
	dir, err := moduleDir()
	if errors.Is(err, mnist.ErrNotFound) {
		t.Skipf("the MNIST files of %s cannot be found (no go command, or no module proxy): %v", mnist.Module, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// testSet is the real test set, read once for all tests.
var testSet = sync.OnceValues(func() (*mnist.Set, error) {
	dir, err := moduleDir()
	if err != nil {
		return nil, err
	}
	return mnist.Open(dir, "t10k")
})

// realTestSet returns the real test set, or skips the test.
func realTestSet(t *testing.T) *mnist.Set {
	t.Helper()
	realDir(t)
	s, err := testSet()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The real files: 60,000 training and 10,000 test digits of 28×28, with
// every digit well represented.
func TestRealFiles(t *testing.T) {
	dir := realDir(t)
	test := realTestSet(t)
	type split struct {
		s *mnist.Set
		n int
	}
	splits := []split{{test, 10000}}
	if raceEnabled {
		t.Log("race detector: reading the test set only")
	} else {
		train, err := mnist.Open(dir, "train")
		if err != nil {
			t.Fatal(err)
		}
		// The first training digits of the distribution are 5, 0, 4, 1, 9.
		if got := train.Labels[:5]; string(got) != "\x05\x00\x04\x01\x09" {
			t.Fatalf("first training labels %v", got)
		}
		splits = append(splits, split{train, 60000})
	}
	for _, c := range splits {
		if c.s.Len() != c.n || c.s.Rows != 28 || c.s.Cols != 28 || len(c.s.Pixels) != c.n*784 {
			t.Fatalf("set of %d images of %d×%d, want %d of 28×28", c.s.Len(), c.s.Rows, c.s.Cols, c.n)
		}
		var perDigit [mnist.Classes]int
		for _, l := range c.s.Labels {
			perDigit[l]++
		}
		for d, k := range perDigit {
			if k < c.n/20 {
				t.Errorf("digit %d appears %d times in %d samples", d, k, c.n)
			}
		}
	}
	// The first test digits of the distribution are 7, 2, 1, 0, 4.
	if got := test.Labels[:5]; string(got) != "\x07\x02\x01\x00\x04" {
		t.Fatalf("first test labels %v", got)
	}
}

// The version this package names is the one go.mod requires.
func TestModuleVersion(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mnist.Module).Output()
	if err != nil {
		t.Skipf("go list -m %s: %v", mnist.Module, err)
	}
	if v := strings.TrimSpace(string(out)); v != mnist.Version {
		t.Fatalf("go.mod requires %s %s, the package names %s", mnist.Module, v, mnist.Version)
	}
}
