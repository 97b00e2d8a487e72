// Kernels of the conformance suite (cuda/cudatest). The element-wise ones are
// grid-stride loops, so any launch configuration processes all n elements.

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

// spin busy-waits ns nanoseconds of the device's global timer.
extern "C" __global__ void spin(long long ns) {
	unsigned long long start, now;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
	do {
		asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
	} while (now - start < (unsigned long long)ns);
}

// trap faults: the context is lost (a sticky error).
extern "C" __global__ void trap() {
	__trap();
}
