/* emu_selftest.h — the emulation's self-test kernels (emu_selftest.cu), callable from C tests.
 * Pointers are host memory (device memory is host memory in the emulation). Each returns the
 * launch's cudaError_t as an int (0 = success). */
#ifndef CTCD_EMU_SELFTEST_H
#define CTCD_EMU_SELFTEST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out[b] = Σ in[b·threads .. +threads) by a tree sum whose threads return as they go idle;
 * entries[i] += 1 for each thread start; rounds[i] = barriers thread i passed in the loop
 * (−1: it left at once). skip_first_warp: warp 0 returns before any barrier and the sum is
 * over threads 32.. only (threads − 32 must then be a power of two, else threads itself). */
int ctcd_emu_selftest_tree_sum(const float *in, float *out, int *entries, int *rounds,
                               int blocks, int threads, int skip_first_warp);
/* out[b] = Σ in[b·threads .. +threads) by warp shuffles, the second stage in warp 0 alone. */
int ctcd_emu_selftest_lone_warp(const float *in, float *out, int blocks, int threads);
/* Launches an empty kernel with this configuration (smem_attr > 0: raise its dynamic shared
 * memory limit first); returns cudaGetLastError(). */
int ctcd_emu_selftest_launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                             unsigned bz, size_t smem, size_t smem_attr);
/* cudaMalloc calls made so far by this process. */
long ctcd_emu_malloc_calls(void);

#ifdef __cplusplus
}
#endif

#endif
