// Run-time CPU check for the AVX2+FMA kernels: Swift code in this package is compiled for baseline
// x86-64 (SSE2, no FMA), so the fast paths are C with per-function target attributes, chosen here.
#include "neural_kernels.h"

#if defined(__x86_64__)

bool nk_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

bool nk_has_avx2_fma(void) { return false; }

#endif

#if defined(__GLIBC__)
#include <malloc.h>
void nk_release_free_memory(void) { malloc_trim(0); }
#else
void nk_release_free_memory(void) {}
#endif
