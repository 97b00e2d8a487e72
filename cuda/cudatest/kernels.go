package cudatest

import "github.com/coawait/coawait/cuda"

// Module is the kernel module the suite uses. The simulator registers it as
// sim.BuiltinModule; the real backend loads it from the PTX of [Source].
const Module = "coawait"

func param(name string, k cuda.ParamKind) cuda.Param { return cuda.Param{Name: name, Kind: k} }

// Kernels returns the specs of the kernels the suite uses.
func Kernels() []cuda.KernelSpec {
	return []cuda.KernelSpec{
		{Module: Module, Name: "fill_f32", Params: []cuda.Param{param("y", cuda.ParamPtr), param("value", cuda.ParamFloat32), param("n", cuda.ParamInt32)}},
		{Module: Module, Name: "scale_f32", Params: []cuda.Param{param("y", cuda.ParamPtr), param("a", cuda.ParamFloat32), param("n", cuda.ParamInt32)}},
		{Module: Module, Name: "saxpy_f32", Params: []cuda.Param{param("y", cuda.ParamPtr), param("a", cuda.ParamFloat32), param("x", cuda.ParamPtr), param("n", cuda.ParamInt32)}},
		{Module: Module, Name: "spin", Params: []cuda.Param{param("ns", cuda.ParamInt64)}},
		{Module: Module, Name: "trap"},
	}
}

func kernelSpec(name string) (cuda.KernelSpec, bool) {
	for _, k := range Kernels() {
		if k.Name == name {
			return k, true
		}
	}
	return cuda.KernelSpec{}, false
}

// Source is the CUDA C source of the suite's kernels, for backends that
// compile them (nvcc -ptx). Every kernel is a grid-stride loop, so any
// launch configuration processes all n elements.
const Source = `
extern "C" __global__ void fill_f32(float *y, float value, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		y[i] = value;
}

extern "C" __global__ void scale_f32(float *y, float a, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		y[i] *= a;
}

extern "C" __global__ void saxpy_f32(float *y, float a, const float *x, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		y[i] += a * x[i];
}

extern "C" __global__ void spin(long long ns) {
	unsigned long long start, now;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
	do {
		asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
	} while (now - start < (unsigned long long)ns);
}

extern "C" __global__ void trap() {
	__trap();
}
`
