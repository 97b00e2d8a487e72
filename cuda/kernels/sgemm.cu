// sgemm_f32: C = alpha*op(A)*op(B) + beta*C, row-major, C m×n, op(A) m×k,
// op(B) k×n. A is stored m×k, or k×m when transA; B k×n, or n×k when transB.
// C is not read when beta is 0 (so NaNs in it do not propagate), as in BLAS.
//
// Shared-memory tiling, TILE×TILE threads per block, one output per thread.
// Tiles are zero-padded at the edges, so any m, n, k work; the tile loops
// are grid-stride in both directions, so any grid covers C. Loads are
// coalesced for both layouts: a transposed operand is read along its stored
// rows and written transposed into the (padded, conflict-free) tile. The
// inner product uses __fmaf_rn explicitly, which -fmad=false leaves alone.

#define TILE 16

extern "C" __global__ void sgemm_f32(float *c, const float *a, const float *b, int m, int n, int k,
                                     int transA, int transB, float alpha, float beta) {
	__shared__ float As[TILE][TILE + 1]; // As[row of C tile][k]
	__shared__ float Bs[TILE][TILE + 1]; // Bs[k][column of C tile]
	const int tx = threadIdx.x, ty = threadIdx.y;
	const int tilesM = (m + TILE - 1) / TILE, tilesN = (n + TILE - 1) / TILE;
	for (int bm = blockIdx.y; bm < tilesM; bm += gridDim.y) {
		for (int bn = blockIdx.x; bn < tilesN; bn += gridDim.x) {
			const int row = bm * TILE + ty, col = bn * TILE + tx;
			float acc = 0.0f;
			for (int t = 0; t < k; t += TILE) {
				if (transA) { // stored k×m: element (r, kk) at a[kk*m + r]
					const int r = bm * TILE + tx, kk = t + ty;
					As[tx][ty] = (r < m && kk < k) ? a[(size_t)kk * m + r] : 0.0f;
				} else { // stored m×k
					const int kk = t + tx;
					As[ty][tx] = (row < m && kk < k) ? a[(size_t)row * k + kk] : 0.0f;
				}
				if (transB) { // stored n×k: element (kk, cc) at b[cc*k + kk]
					const int cc = bn * TILE + ty, kk = t + tx;
					Bs[tx][ty] = (cc < n && kk < k) ? b[(size_t)cc * k + kk] : 0.0f;
				} else { // stored k×n
					const int kk = t + ty;
					Bs[ty][tx] = (kk < k && col < n) ? b[(size_t)kk * n + col] : 0.0f;
				}
				__syncthreads();
#pragma unroll
				for (int i = 0; i < TILE; i++)
					acc = __fmaf_rn(As[ty][i], Bs[i][tx], acc);
				__syncthreads();
			}
			if (row < m && col < n) {
				const size_t idx = (size_t)row * n + col;
				c[idx] = beta == 0.0f ? alpha * acc : alpha * acc + beta * c[idx];
			}
		}
	}
}
