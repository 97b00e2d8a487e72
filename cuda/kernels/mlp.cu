// Kernels of the MNIST training job besides sgemm: bias add, ReLU and its
// gradient, softmax cross-entropy with its gradient, column sums, SGD with
// momentum, and the argmax-correct count. Row-major float32 matrices; labels
// and the count are int32. Element-wise kernels are grid-stride loops.

// bias_add_f32: y[r][c] += b[c] for a rows×cols y.
extern "C" __global__ void bias_add_f32(float *y, const float *b, int rows, int cols) {
	const int n = rows * cols; // the check keeps rows*cols within int32
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		y[i] += b[i % cols];
}

// relu_f32: y = x > 0 ? x : 0 (a NaN gives 0); y may be x.
extern "C" __global__ void relu_f32(float *y, const float *x, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
		const float v = x[i];
		y[i] = v > 0.0f ? v : 0.0f;
	}
}

// relu_grad_f32: dx = y > 0 ? dy : 0, masked by the forward activation y;
// dx may be dy.
extern "C" __global__ void relu_grad_f32(float *dx, const float *dy, const float *y, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
		dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// softmax_xent_f32: per row r of the rows×cols logits, with p = softmax(row),
// loss[r] = -log p[label] and dlogits[r] = (p - onehot(label)) / rows.
// One warp per row, blocks of 32×8 (8 rows per block, grid-stride over
// rows); lanes stride over columns and reduce with shuffles. dlogits may be
// logits: every element is read before it is written, by the same lane. A
// label outside [0, cols) gives a NaN loss and no one-hot term.
extern "C" __global__ void softmax_xent_f32(float *loss, float *dlogits, const float *logits,
                                            const int *labels, int rows, int cols) {
	const int lane = threadIdx.x;
	for (int r = blockIdx.x * blockDim.y + threadIdx.y; r < rows; r += gridDim.x * blockDim.y) {
		const float *x = logits + (size_t)r * cols;
		float *d = dlogits + (size_t)r * cols;
		float mx = -INFINITY;
		for (int j = lane; j < cols; j += 32)
			mx = fmaxf(mx, x[j]);
		for (int o = 16; o > 0; o >>= 1)
			mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
		float s = 0.0f;
		for (int j = lane; j < cols; j += 32)
			s += expf(x[j] - mx);
		for (int o = 16; o > 0; o >>= 1)
			s += __shfl_xor_sync(0xffffffffu, s, o);
		const int lab = labels[r];
		const bool ok = lab >= 0 && lab < cols;
		const float xl = ok ? x[lab] : 0.0f;
		__syncwarp(); // every lane has read x[lab] before any lane writes d
		if (lane == 0)
			loss[r] = ok ? logf(s) + mx - xl : __int_as_float(0x7fc00000);
		const float batch = (float)rows;
		for (int j = lane; j < cols; j += 32) {
			float pj = expf(x[j] - mx) / s;
			if (j == lab)
				pj -= 1.0f;
			d[j] = pj / batch;
		}
	}
}

// colsum_f32: y[c] = sum over r of x[r][c] for a rows×cols x (y is
// overwritten). Blocks of 32×8: 32 columns, each summed in 8 row slices that
// a shared-memory step adds up; grid-stride over column groups.
extern "C" __global__ void colsum_f32(float *y, const float *x, int rows, int cols) {
	__shared__ float part[8][33];
	const int tx = threadIdx.x, ty = threadIdx.y;
	for (int c0 = blockIdx.x * 32; c0 < cols; c0 += gridDim.x * 32) {
		const int c = c0 + tx;
		float s = 0.0f;
		if (c < cols)
			for (int r = ty; r < rows; r += 8)
				s += x[(size_t)r * cols + c];
		part[ty][tx] = s;
		__syncthreads();
		if (ty == 0 && c < cols) {
			float t = 0.0f;
			for (int i = 0; i < 8; i++)
				t += part[i][tx];
			y[c] = t;
		}
		__syncthreads();
	}
}

// sgd_momentum_f32: v = mu*v - lr*g; w += v (the "classic" momentum form:
// the velocity holds the step, lr inside).
extern "C" __global__ void sgd_momentum_f32(float *w, float *v, const float *g, float lr, float mu, int n) {
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
		const float nv = mu * v[i] - lr * g[i];
		v[i] = nv;
		w[i] += nv;
	}
}

// argmax_correct_f32: *count += the number of rows of the rows×cols logits
// whose first maximum is at labels[r]. One thread per row, grid-stride.
extern "C" __global__ void argmax_correct_f32(int *count, const float *logits, const int *labels,
                                              int rows, int cols) {
	for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += blockDim.x * gridDim.x) {
		const float *x = logits + (size_t)r * cols;
		int best = 0;
		for (int j = 1; j < cols; j++)
			if (x[j] > x[best])
				best = j;
		if (best == labels[r])
			atomicAdd(count, 1);
	}
}
