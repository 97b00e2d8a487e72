//go:build !cuda

package cuda_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
)

func TestOpenNotBuilt(t *testing.T) {
	dev, err := cuda.Open(0)
	if dev != nil || !errors.Is(err, cuda.ErrNotBuilt) || !strings.Contains(err.Error(), "-tags cuda") || !strings.Contains(err.Error(), "scripts/cuda-toolchain") {
		t.Errorf("Open(0) = %v, %v; want ErrNotBuilt telling how to build", dev, err)
	}
	if n, err := cuda.DeviceCount(); n != 0 || !errors.Is(err, cuda.ErrNotBuilt) {
		t.Errorf("DeviceCount() = %d, %v", n, err)
	}
}

// In the default build there is no GPU backend; Open says how to get one.
func ExampleOpen() {
	_, err := cuda.Open(0)
	fmt.Println(errors.Is(err, cuda.ErrNotBuilt))
	fmt.Println(err)
	// Output:
	// true
	// cuda: Open: this binary was built without the CUDA backend; rebuild with `-tags cuda` (cgo, with the CGO_CFLAGS and CGO_LDFLAGS that scripts/cuda-toolchain prints) and run it on a host with the NVIDIA driver (libcuda.so.1), or use the simulated device in package github.com/coawait/coawait/cuda/sim: not built for CUDA
}
