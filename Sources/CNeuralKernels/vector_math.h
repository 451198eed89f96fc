// AVX2 helpers shared by the kernels (private to CNeuralKernels: not in include/).
#ifndef NK_VECTOR_MATH_H
#define NK_VECTOR_MATH_H

#include <immintrin.h>

/// exp on 8 lanes: the Cephes expf scheme NeuralOps' Swift `exp` uses (range reduction by ln 2 in two
/// parts, degree-5 polynomial, 2^n through the exponent bits); inputs clamped to [-87.3, 88.3].
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 nk_exp256(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3f)), _mm256_set1_ps(-87.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

/// QuickGELU `x · sigmoid(1.702 x) = x / (1 + exp(-1.702 x))` on 8 lanes.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 nk_quick_gelu256(__m256 x) {
    const __m256 e = nk_exp256(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

#endif
