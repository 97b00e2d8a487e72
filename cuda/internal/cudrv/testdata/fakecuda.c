// fakecuda.c: a stand-in for libcuda.so.1 that emulates, on the host, the
// few driver calls the -tags cuda backend makes, so that the Go side of the
// backend (locking, stream order, buffer release, host callbacks, events,
// sticky errors, Close) can run on a machine without a GPU:
// scripts/fakecuda-check builds it and runs the conformance suite against
// it. It is NOT a GPU and proves nothing about one: device memory is host
// memory, each stream is a host thread, and only the conformance kernels
// (fill_f32, scale_f32, saxpy_f32, spin, trap) do anything; every other
// kernel is a no-op. Calls the backend does not make are absent, so a
// binary that makes one fails to resolve it.
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static CUresult sticky;               // guarded by mu: the context's sticky error
static size_t used;                   // guarded by mu: device bytes allocated
static const size_t total = 4ull << 30;
static int ctxRefs;                   // guarded by mu
static int ctxObject;                 // its address is the primary context

enum { OP_COPY, OP_SET, OP_KERNEL, OP_RECORD, OP_WAIT, OP_CALLBACK };

struct CUevent_st {
	unsigned flags;
	unsigned long long recGen, doneGen; // guarded by mu
	double ms;                          // guarded by mu: completion time
};

struct CUfunc_st {
	char name[64];
	int nparams;
};

struct CUmod_st {
	int n;
	struct CUfunc_st fns[64];
};

struct op {
	int kind;
	void *dst;
	const void *src;
	size_t n;
	unsigned char value;
	struct CUfunc_st *fn;
	uint64_t args[8];
	CUevent ev;
	unsigned long long gen;
	CUstreamCallback cb;
	void *data;
	struct op *next;
};

struct CUstream_st {
	struct op *head, *tail; // guarded by mu
	int pending;            // guarded by mu: ops queued or running
	int closing;            // guarded by mu
	struct CUstream_st *nextStream;
};

static struct CUstream_st *streams; // guarded by mu: every stream ever made

static double nowMs(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void runKernel(struct op *o) {
	const char *k = o->fn->name;
	float f;
	int n;
	if (!strcmp(k, "fill_f32") || !strcmp(k, "scale_f32")) {
		float *y = (float *)(uintptr_t)o->args[0];
		memcpy(&f, &o->args[1], 4);
		memcpy(&n, &o->args[2], 4);
		for (int i = 0; i < n; i++) y[i] = k[0] == 'f' ? f : y[i] * f;
	} else if (!strcmp(k, "saxpy_f32")) {
		float *y = (float *)(uintptr_t)o->args[0];
		const float *x = (const float *)(uintptr_t)o->args[2];
		memcpy(&f, &o->args[1], 4);
		memcpy(&n, &o->args[3], 4);
		for (int i = 0; i < n; i++) y[i] += f * x[i];
	} else if (!strcmp(k, "spin")) {
		long long ns;
		memcpy(&ns, &o->args[0], 8);
		struct timespec ts = {ns / 1000000000, ns % 1000000000};
		nanosleep(&ts, NULL);
	} else if (!strcmp(k, "trap")) {
		pthread_mutex_lock(&mu);
		if (!sticky) sticky = CUDA_ERROR_LAUNCH_FAILED;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void *worker(void *arg) {
	CUstream s = arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!s->head && !s->closing) pthread_cond_wait(&cv, &mu);
		if (!s->head) break;
		struct op *o = s->head;
		if (o->kind == OP_WAIT) {
			while (o->ev->doneGen < o->gen && !sticky) pthread_cond_wait(&cv, &mu);
		}
		CUresult st = sticky;
		pthread_mutex_unlock(&mu);
		if (!st) {
			if (o->kind == OP_COPY) memmove(o->dst, o->src, o->n);
			if (o->kind == OP_SET) memset(o->dst, o->value, o->n);
			if (o->kind == OP_KERNEL) runKernel(o);
		}
		if (o->kind == OP_CALLBACK) o->cb(s, st, o->data);
		pthread_mutex_lock(&mu);
		if (o->kind == OP_RECORD && o->ev->doneGen < o->gen) {
			o->ev->doneGen = o->gen;
			o->ev->ms = nowMs();
		}
		s->head = o->next;
		if (!s->head) s->tail = NULL;
		s->pending--;
		free(o);
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

// enqueue adds o to s, or frees it and returns the sticky error.
static CUresult enqueue(CUstream s, struct op *o) {
	pthread_mutex_lock(&mu);
	CUresult r = sticky;
	if (!r && !s) r = CUDA_ERROR_INVALID_HANDLE;
	if (r) {
		pthread_mutex_unlock(&mu);
		free(o);
		return r;
	}
	if (o->kind == OP_RECORD) o->gen = ++o->ev->recGen;
	if (o->kind == OP_WAIT) o->gen = o->ev->recGen;
	if (s->tail) s->tail->next = o; else s->head = o;
	s->tail = o;
	s->pending++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}

static struct op *newOp(int kind) {
	struct op *o = calloc(1, sizeof(struct op));
	o->kind = kind;
	return o;
}

#define STICKY() do { pthread_mutex_lock(&mu); CUresult r_ = sticky; pthread_mutex_unlock(&mu); if (r_) return r_; } while (0)

CUresult CUDAAPI cuInit(unsigned int flags) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuDriverGetVersion(int *v) { *v = 11080; return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGetCount(int *n) { *n = 1; return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGet(CUdevice *d, int ordinal) {
	if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
	*d = 0;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice d) {
	strncpy(name, "Fake GPU (host memory, scripts/fakecuda-check)", len);
	name[len - 1] = 0;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDeviceTotalMem(size_t *b, CUdevice d) { *b = total; return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
	switch (a) {
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *v = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *v = 64; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *v = 2147483647; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *v = 65535; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *v = 49152; break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
	case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *v = 3; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
	default: *v = 0;
	}
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
	pthread_mutex_lock(&mu);
	ctxRefs++;
	pthread_mutex_unlock(&mu);
	*c = (CUcontext)&ctxObject;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice d) {
	pthread_mutex_lock(&mu);
	ctxRefs--;
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuCtxSetCurrent(CUcontext c) { return c == (CUcontext)&ctxObject ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }
CUresult CUDAAPI cuCtxGetStreamPriorityRange(int *least, int *greatest) { *least = 0; *greatest = -5; return CUDA_SUCCESS; }
CUresult CUDAAPI cuCtxSynchronize(void) {
	pthread_mutex_lock(&mu);
	for (;;) {
		int busy = 0;
		for (CUstream s = streams; s; s = s->nextStream) busy |= s->pending > 0;
		if (!busy || sticky) break;
		pthread_cond_wait(&cv, &mu);
	}
	CUresult r = sticky;
	pthread_mutex_unlock(&mu);
	return r;
}

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *p, size_t n) {
	STICKY();
	pthread_mutex_lock(&mu);
	if (n == 0 || n > total - used) {
		pthread_mutex_unlock(&mu);
		return n == 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_OUT_OF_MEMORY;
	}
	used += n;
	pthread_mutex_unlock(&mu);
	// The size is kept in front of the block, 512 bytes before the pointer.
	void *base;
	if (posix_memalign(&base, 512, n + 512)) return CUDA_ERROR_OUT_OF_MEMORY;
	*(size_t *)base = n;
	*p = (CUdeviceptr)(uintptr_t)((char *)base + 512);
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemFree(CUdeviceptr p) {
	CUresult r = cuCtxSynchronize(); // as the driver: work using it finishes first
	if (r) return r;
	char *base = (char *)(uintptr_t)p - 512;
	pthread_mutex_lock(&mu);
	used -= *(size_t *)base;
	pthread_mutex_unlock(&mu);
	free(base);
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemHostAlloc(void **p, size_t n, unsigned int flags) {
	STICKY();
	return posix_memalign(p, 4096, n) ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemFreeHost(void *p) {
	CUresult r = cuCtxSynchronize();
	if (r) return r;
	free(p);
	return CUDA_SUCCESS;
}

static CUresult copyAsync(void *dst, const void *src, size_t n, CUstream s) {
	struct op *o = newOp(OP_COPY);
	o->kind = OP_COPY, o->dst = dst, o->src = src, o->n = n;
	return enqueue(s, o);
}
CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n, CUstream s) { return copyAsync((void *)(uintptr_t)d, h, n, s); }
CUresult CUDAAPI cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n, CUstream s) { return copyAsync(h, (void *)(uintptr_t)d, n, s); }
CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr d, CUdeviceptr src, size_t n, CUstream s) {
	return copyAsync((void *)(uintptr_t)d, (void *)(uintptr_t)src, n, s);
}
CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) {
	struct op *o = newOp(OP_SET);
	o->kind = OP_SET, o->dst = (void *)(uintptr_t)d, o->value = v, o->n = n;
	return enqueue(s, o);
}

CUresult CUDAAPI cuStreamCreateWithPriority(CUstream *ps, unsigned int flags, int prio) {
	STICKY();
	CUstream s = calloc(1, sizeof(*s));
	pthread_t t;
	pthread_mutex_lock(&mu);
	s->nextStream = streams;
	streams = s;
	pthread_mutex_unlock(&mu);
	pthread_create(&t, NULL, worker, s);
	pthread_detach(t);
	*ps = s;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuStreamCreate(CUstream *ps, unsigned int flags) { return cuStreamCreateWithPriority(ps, flags, 0); }
CUresult CUDAAPI cuStreamDestroy(CUstream s) {
	pthread_mutex_lock(&mu);
	s->closing = 1; // the worker drains the queue, then ends; s is never freed
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuStreamQuery(CUstream s) {
	pthread_mutex_lock(&mu);
	CUresult r = sticky ? sticky : s->pending ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
	pthread_mutex_unlock(&mu);
	return r;
}
CUresult CUDAAPI cuStreamSynchronize(CUstream s) {
	pthread_mutex_lock(&mu);
	while (s->pending && !sticky) pthread_cond_wait(&cv, &mu);
	CUresult r = sticky;
	pthread_mutex_unlock(&mu);
	return r;
}
CUresult CUDAAPI cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
	struct op *o = newOp(OP_WAIT);
	o->kind = OP_WAIT, o->ev = e;
	return enqueue(s, o);
}
CUresult CUDAAPI cuStreamAddCallback(CUstream s, CUstreamCallback cb, void *data, unsigned int flags) {
	struct op *o = newOp(OP_CALLBACK);
	o->kind = OP_CALLBACK, o->cb = cb, o->data = data;
	pthread_mutex_lock(&mu);
	if (s->tail) s->tail->next = o; else s->head = o; // queued even when sticky: called with the error
	s->tail = o;
	s->pending++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventCreate(CUevent *pe, unsigned int flags) {
	STICKY();
	if (flags & ~(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING)) return CUDA_ERROR_INVALID_VALUE;
	*pe = calloc(1, sizeof(struct CUevent_st));
	(*pe)->flags = flags;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuEventDestroy(CUevent e) { return CUDA_SUCCESS; } // kept: a stream may still wait for it
CUresult CUDAAPI cuEventRecord(CUevent e, CUstream s) {
	struct op *o = newOp(OP_RECORD);
	o->kind = OP_RECORD, o->ev = e;
	return enqueue(s, o);
}
CUresult CUDAAPI cuEventQuery(CUevent e) {
	pthread_mutex_lock(&mu);
	CUresult r = sticky ? sticky : e->doneGen < e->recGen ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
	pthread_mutex_unlock(&mu);
	return r;
}
CUresult CUDAAPI cuEventSynchronize(CUevent e) {
	pthread_mutex_lock(&mu);
	unsigned long long target = e->recGen;
	while (e->doneGen < target && !sticky) pthread_cond_wait(&cv, &mu);
	CUresult r = sticky;
	pthread_mutex_unlock(&mu);
	return r;
}
CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent a, CUevent b) {
	pthread_mutex_lock(&mu);
	CUresult r = sticky;
	if (!r && ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING || !a->recGen || !b->recGen)) r = CUDA_ERROR_INVALID_HANDLE;
	if (!r && (a->doneGen < a->recGen || b->doneGen < b->recGen)) r = CUDA_ERROR_NOT_READY;
	if (!r) *ms = (float)(b->ms - a->ms);
	pthread_mutex_unlock(&mu);
	return r;
}

CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n, CUjit_option *opts, void **vals) {
	const char *p = image;
	struct CUmod_st *mod = calloc(1, sizeof(*mod));
	char *log = NULL;
	for (unsigned i = 0; i < n; i++)
		if (opts[i] == CU_JIT_ERROR_LOG_BUFFER) log = vals[i];
	for (const char *e = strstr(p, ".entry "); e && mod->n < 64; e = strstr(e + 1, ".entry ")) {
		e += 7;
		size_t len = strcspn(e, "( \n");
		if (len >= sizeof(mod->fns[0].name)) len = sizeof(mod->fns[0].name) - 1;
		memcpy(mod->fns[mod->n].name, e, len);
		mod->n++;
	}
	if (mod->n == 0 || strstr(p, "this is not ptx")) {
		free(mod);
		if (log) strcpy(log, "fakecuda: ptxas application ptx input, line 4; fatal: syntax error");
		return CUDA_ERROR_INVALID_PTX;
	}
	*m = mod;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuModuleUnload(CUmodule m) { return CUDA_SUCCESS; } // kept: functions may outlive it here
CUresult CUDAAPI cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->fns[i].name, name)) {
			*f = &m->fns[i];
			return CUDA_SUCCESS;
		}
	return CUDA_ERROR_NOT_FOUND;
}
CUresult CUDAAPI cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f) {
	*v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024 : 0;
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
		unsigned bz, unsigned shared, CUstream s, void **params, void **extra) {
	static const struct { const char *name; int sizes[4]; } sigs[] = {
		{"fill_f32", {8, 4, 4}}, {"scale_f32", {8, 4, 4}}, {"saxpy_f32", {8, 4, 8, 4}}, {"spin", {8}}, {"trap", {0}},
	};
	struct op *o = newOp(OP_KERNEL);
	o->kind = OP_KERNEL, o->fn = f;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!strcmp(sigs[i].name, f->name))
			for (int j = 0; j < 4 && sigs[i].sizes[j]; j++) memcpy(&o->args[j], params[j], sigs[i].sizes[j]);
	return enqueue(s, o);
}

CUresult CUDAAPI cuGetErrorName(CUresult r, const char **s) {
	switch (r) {
	case CUDA_SUCCESS: *s = "CUDA_SUCCESS"; break;
	case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
	case CUDA_ERROR_OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
	case CUDA_ERROR_INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; break;
	case CUDA_ERROR_INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; break;
	case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
	case CUDA_ERROR_NOT_READY: *s = "CUDA_ERROR_NOT_READY"; break;
	case CUDA_ERROR_LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
	default: return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}
CUresult CUDAAPI cuGetErrorString(CUresult r, const char **s) {
	*s = r == CUDA_ERROR_LAUNCH_FAILED ? "unspecified launch failure" : "fake driver error";
	return CUDA_SUCCESS;
}
