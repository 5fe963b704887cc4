/* cuda/emu/cuda_runtime.h — the part of the CUDA runtime that ctcd's backend uses, for the
 * emulation build (CTCD_CUDA_EMU=ON, tests only): the kernels of the cuda/ sources run
 * unchanged on the CPU through hip-cpu (each block on a TBB worker thread, each GPU thread a
 * fiber), and this header maps the host API onto plain host memory.
 *
 * What it models and what it does not:
 * - Execution is synchronous: a launch returns when every block has run, copies and memsets
 *   happen at the call, streams and events only keep their handles. Any ordering the real
 *   streams allow includes this one, so results must match; stream races cannot show here.
 * - Launch limits are checked at the launch (block ≤ 1024 threads and its per-dimension
 *   limits, grid y/z ≤ 65535, dynamic shared memory ≤ 48 KiB unless raised with
 *   cudaFuncSetAttribute, never above the 227 KiB opt-in of sm_90) and reported through
 *   cudaGetLastError as on a GPU. Register pressure, static shared memory size and timing
 *   cannot be checked.
 * - Warp operations (__shfl_xor_sync, __syncwarp) synchronise the 32 fibers of a warp; a
 *   block barrier synchronises the block's fibers that have not returned, and every fiber
 *   runs to completion (the hip-cpu copy of the build is patched for this: see
 *   hip-cpu-complete-blocks.patch). Data races between threads are not detected.
 *
 * The device reports itself as "cpu-emu" with compute capability 9.0. */
#ifndef CTCD_EMU_CUDA_RUNTIME_H
#define CTCD_EMU_CUDA_RUNTIME_H

#include <hip/hip_runtime.h>

#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

/* hip-cpu marks device functions as SIMD clones and leaves __forceinline__ empty outside
 * NDEBUG (non-inline definitions in a header then collide at link time): device code here
 * is ordinary inline C++. */
#undef __device__
#define __device__
#undef __global__
#define __global__
#undef __forceinline__
#define __forceinline__ inline

#define CUDART_VERSION 13000

/* ---- errors ---------------------------------------------------------------------------- */

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorMisalignedAddress = 716,
    cudaErrorNotSupported = 801,
} cudaError_t;

static inline const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    }
    return "cudaErrorUnknown";
}

static inline const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorNotSupported: return "operation not supported";
    }
    return "unknown error";
}

namespace ctcd_emu {
/* The "sticky until read" launch error of the calling host thread, as cudaGetLastError. */
inline cudaError_t &last_error() {
    static thread_local cudaError_t e = cudaSuccess;
    return e;
}
inline cudaError_t fail(cudaError_t e) {
    last_error() = e;
    return e;
}
} // namespace ctcd_emu

static inline cudaError_t cudaGetLastError(void) {
    return std::exchange(ctcd_emu::last_error(), cudaSuccess);
}
static inline cudaError_t cudaPeekAtLastError(void) { return ctcd_emu::last_error(); }

/* ---- device ------------------------------------------------------------------------------ */

#define CTCD_EMU_SMEM_DEFAULT (48u * 1024u)
#define CTCD_EMU_SMEM_OPTIN (227u * 1024u) /* sm_90: 227 KiB per block with the opt-in */

typedef struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    size_t sharedMemPerBlockOptin;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int multiProcessorCount;
    int major, minor;
    int l2CacheSize;
    int memoryBusWidth;
    int clockRate;
    int memoryClockRate;
} cudaDeviceProp;

static inline size_t ctcd_emu_total_memory(void) {
    struct sysinfo si;
    return sysinfo(&si) == 0 ? (size_t)si.totalram * si.mem_unit : 0;
}

static inline cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
static inline cudaError_t cudaGetDevice(int *d) {
    *d = 0;
    return cudaSuccess;
}
static inline cudaError_t cudaSetDevice(int d) {
    return d == 0 ? cudaSuccess : ctcd_emu::fail(cudaErrorInvalidDevice);
}
static inline cudaError_t cudaDriverGetVersion(int *v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
static inline cudaError_t cudaRuntimeGetVersion(int *v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
static inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d != 0) return ctcd_emu::fail(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cpu-emu");
    p->totalGlobalMem = ctcd_emu_total_memory();
    p->sharedMemPerBlock = CTCD_EMU_SMEM_DEFAULT;
    p->sharedMemPerBlockOptin = CTCD_EMU_SMEM_OPTIN;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    const unsigned hw = std::thread::hardware_concurrency();
    p->multiProcessorCount = hw ? (int)hw : 1;
    p->major = 9;
    p->minor = 0;
    return cudaSuccess;
}
static inline cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
static inline cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
    struct sysinfo si;
    if (sysinfo(&si) != 0) return ctcd_emu::fail(cudaErrorInvalidValue);
    *free_b = (size_t)si.freeram * si.mem_unit;
    *total_b = (size_t)si.totalram * si.mem_unit;
    return cudaSuccess;
}

/* ---- memory: host memory, 256-byte aligned as cudaMalloc's ---------------------------------- */

namespace ctcd_emu {
/* cudaMalloc calls so far in this process (tests check that a step allocates nothing). */
inline std::atomic<long> &malloc_calls() {
    static std::atomic<long> n{0};
    return n;
}
} // namespace ctcd_emu

static inline cudaError_t cudaMalloc(void **p, size_t bytes) {
    ctcd_emu::malloc_calls()++;
    *p = NULL;
    const size_t n = (bytes + 255) & ~(size_t)255;
    void *m = std::aligned_alloc(256, n ? n : 256);
    if (!m) return ctcd_emu::fail(cudaErrorMemoryAllocation);
    *p = m;
    return cudaSuccess;
}
template <typename T> static inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc((void **)p, bytes);
}
static inline cudaError_t cudaFree(void *p) {
    std::free(p);
    return cudaSuccess;
}

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

/* ---- streams and events: handles only (execution is synchronous) ------------------------- */

struct CUstream_st {
    int live;
};
struct CUevent_st {
    int live;
};
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

#define cudaStreamDefault 0x0
#define cudaStreamNonBlocking 0x1
#define cudaEventDefault 0x0
#define cudaEventDisableTiming 0x2

static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    (void)flags;
    *s = new CUstream_st{1};
    return cudaSuccess;
}
static inline cudaError_t cudaStreamCreate(cudaStream_t *s) {
    return cudaStreamCreateWithFlags(s, cudaStreamDefault);
}
static inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
static inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    (void)s;
    return cudaSuccess;
}
static inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags) {
    (void)flags;
    *e = new CUevent_st{1};
    return cudaSuccess;
}
static inline cudaError_t cudaEventCreate(cudaEvent_t *e) {
    return cudaEventCreateWithFlags(e, cudaEventDefault);
}
static inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
static inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = NULL) {
    (void)s;
    return e ? cudaSuccess : ctcd_emu::fail(cudaErrorInvalidResourceHandle);
}
static inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    return e ? cudaSuccess : ctcd_emu::fail(cudaErrorInvalidResourceHandle);
}
static inline cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    (void)a;
    (void)b;
    *ms = 0.0f; /* no device timing in the emulation */
    return cudaSuccess;
}
static inline cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags) {
    (void)s;
    (void)flags;
    return e ? cudaSuccess : ctcd_emu::fail(cudaErrorInvalidResourceHandle);
}

static inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                                          cudaMemcpyKind kind, cudaStream_t s = NULL) {
    (void)kind;
    (void)s;
    if (bytes && (!dst || !src)) return ctcd_emu::fail(cudaErrorInvalidValue);
    if (bytes) memmove(dst, src, bytes);
    return cudaSuccess;
}
static inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                                     cudaMemcpyKind kind) {
    return cudaMemcpyAsync(dst, src, bytes, kind, NULL);
}
static inline cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s = NULL) {
    (void)s;
    if (bytes && !p) return ctcd_emu::fail(cudaErrorInvalidValue);
    if (bytes) memset(p, v, bytes);
    return cudaSuccess;
}
static inline cudaError_t cudaMemset(void *p, int v, size_t bytes) {
    return cudaMemsetAsync(p, v, bytes, NULL);
}

/* ---- kernel attributes and launches -------------------------------------------------------- */

typedef enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
} cudaFuncAttribute;

namespace ctcd_emu {
/* Dynamic shared memory limit raised per kernel by cudaFuncSetAttribute. */
struct smem_limits {
    std::mutex mu;
    std::map<const void *, unsigned> bytes;
};
inline smem_limits &smem_limit_table() {
    static smem_limits t;
    return t;
}
inline unsigned smem_limit(const void *kernel) {
    smem_limits &t = smem_limit_table();
    std::lock_guard<std::mutex> lock(t.mu);
    auto it = t.bytes.find(kernel);
    return it == t.bytes.end() ? CTCD_EMU_SMEM_DEFAULT : it->second;
}

/* The launch checks of the CUDA runtime that do not need a GPU. */
inline cudaError_t check_launch(const dim3 &grid, const dim3 &block, size_t smem,
                                const void *kernel) {
    const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
        return cudaErrorInvalidConfiguration;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu ||
        grid.y > 65535 || grid.z > 65535)
        return cudaErrorInvalidConfiguration;
    if (smem > smem_limit(kernel)) return cudaErrorInvalidValue;
    return cudaSuccess;
}

/* kernel<<<grid, block, smem, stream>>>(args...): CTCD_LAUNCH (cuda_common.cuh) builds one of
 * these and calls it with the arguments, which are converted to the kernel's parameter types
 * first, as a real launch does. Runs every block before it returns. */
template <typename... P> struct launcher {
    dim3 grid, block;
    size_t smem;
    void (*kernel)(P...);

    template <typename... A> void operator()(A &&...a) const {
        const cudaError_t e = check_launch(grid, block, smem, (const void *)kernel);
        if (e != cudaSuccess) {
            fail(e);
            return;
        }
        const std::tuple<P...> args(std::forward<A>(a)...);
        struct body {
            void (*k)(P...);
            const std::tuple<P...> *args;
            void operator()() const { std::apply(k, *args); }
        } b{kernel, &args};
        hip::detail::Tiled_domain domain{block, grid, (std::uint32_t)smem, b};
        for_each_tile(domain, kernel, args);
    }
};

template <typename... P>
inline launcher<P...> launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s,
                             void (*kernel)(P...)) {
    (void)s;
    return launcher<P...>{grid, block, smem, kernel};
}
} // namespace ctcd_emu

template <typename... P>
static inline cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr,
                                               int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
    if (value < 0 || (unsigned)value > CTCD_EMU_SMEM_OPTIN)
        return ctcd_emu::fail(cudaErrorInvalidValue);
    ctcd_emu::smem_limits &t = ctcd_emu::smem_limit_table();
    std::lock_guard<std::mutex> lock(t.mu);
    t.bytes[(const void *)kernel] = (unsigned)value;
    return cudaSuccess;
}

/* ---- device intrinsics ---------------------------------------------------------------------- */

namespace ctcd_emu {
inline unsigned fiber_id() { return id(hip::detail::Fiber::this_fiber()); }

/* A barrier among the live threads of the calling thread's warp (32 consecutive linear
 * thread ids), not the whole block. */
inline void warp_barrier() { hip::detail::Tile::this_tile().warp_barrier(); }

/* __shfl_xor_sync over a 32-wide warp: every lane publishes its value, the warp meets, each
 * lane reads its partner's, the warp meets again before the slot can be reused. */
template <typename T> inline T shfl_xor(T v, int lane_mask) {
    static thread_local T slot[1024];
    const unsigned me = fiber_id();
    slot[me] = v;
    warp_barrier();
    const unsigned n = count(hip::detail::Tile::this_tile().dimensions());
    const unsigned src = (me & ~31u) | ((me & 31u) ^ ((unsigned)lane_mask & 31u));
    const T r = src < n ? slot[src] : v;
    warp_barrier();
    return r;
}
} // namespace ctcd_emu

#define __shfl_xor_sync(mask, v, lane_mask) ctcd_emu::shfl_xor((v), (lane_mask))
#define __syncwarp(...) ctcd_emu::warp_barrier()

/* IEEE single operations with round-to-nearest: plain C++ on the CPU (no FMA contraction is
 * done for these by the host compiler without -mfma; the build also passes -ffp-contract=off). */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline float __frcp_rn(float a) { return 1.0f / a; }
static inline unsigned __float_as_uint(float f) {
    unsigned u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline float __uint_as_float(unsigned u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
static inline float __int_as_float(int i) { return __uint_as_float((unsigned)i); }

using std::max;
using std::min;

#endif
