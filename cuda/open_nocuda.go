//go:build !cuda

package cuda

// notBuilt is the detail of the errors returned by Open and DeviceCount in
// the default build.
const notBuilt = "this binary was built without the CUDA backend; rebuild with " +
	"`-tags cuda` (cgo, with the CGO_CFLAGS and CGO_LDFLAGS that scripts/cuda-toolchain prints) " +
	"and run it on a host with the NVIDIA driver (libcuda.so.1), " +
	"or use the simulated device in package github.com/coawait/coawait/cuda/sim"

// Open opens the GPU with the given ordinal. In this build (without -tags
// cuda) it always returns an error matching [ErrNotBuilt] whose text says
// how to build for a GPU.
func Open(ordinal int) (Device, error) {
	return nil, &Error{Op: "Open", Detail: notBuilt, Err: ErrNotBuilt}
}

// DeviceCount returns the number of GPUs. In this build (without -tags
// cuda) it always returns an error matching [ErrNotBuilt].
func DeviceCount() (int, error) {
	return 0, &Error{Op: "DeviceCount", Detail: notBuilt, Err: ErrNotBuilt}
}
