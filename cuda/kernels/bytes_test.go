package kernels_test

import (
	"unsafe"

	"github.com/coawait/coawait/cuda"
)

// bytesOf views v's memory as bytes.
func bytesOf[T cuda.Scalar](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(zero)))
}
