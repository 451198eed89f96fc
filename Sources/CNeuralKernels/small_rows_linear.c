// AVX2+FMA kernel for `smallRowsLinear` (a few rows times a weight matrix, memory-bound on W).
// Swift code in this package is compiled for baseline x86-64 (SSE2, no FMA), so this one hot loop is
// C with a per-function target attribute, chosen at run time.
#include "neural_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

bool nk_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
void nk_small_rows_linear_avx2(const float *x, size_t rows, size_t x_stride,
                               const float *w, size_t in_features, size_t out_features,
                               size_t first, size_t last,
                               const float *bias, float *out, bool accumulate) {
    const size_t vec_end = in_features & ~(size_t)7;
    // Two weight rows by four input rows per pass: 8 accumulators, 6 loads per 8 FMAs.
    for (size_t o = first; o < last; o += 2) {
        const int pair = o + 1 < last;
        const float *w0 = w + o * in_features;
        const float *w1 = pair ? w0 + in_features : w0;
        for (size_t tile = 0; tile < rows; tile += 4) {
            const size_t count = rows - tile < 4 ? rows - tile : 4;
            const float *r[4];
            for (size_t j = 0; j < 4; j++) {
                size_t row = tile + j < rows ? tile + j : rows - 1;
                r[j] = x + row * x_stride;
            }
            __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
            __m256 a02 = _mm256_setzero_ps(), a03 = _mm256_setzero_ps();
            __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
            __m256 a12 = _mm256_setzero_ps(), a13 = _mm256_setzero_ps();
            size_t i = 0;
            for (; i < vec_end; i += 8) {
                __m256 v0 = _mm256_loadu_ps(w0 + i), v1 = _mm256_loadu_ps(w1 + i);
                __m256 x0 = _mm256_loadu_ps(r[0] + i);
                a00 = _mm256_fmadd_ps(v0, x0, a00); a10 = _mm256_fmadd_ps(v1, x0, a10);
                __m256 x1 = _mm256_loadu_ps(r[1] + i);
                a01 = _mm256_fmadd_ps(v0, x1, a01); a11 = _mm256_fmadd_ps(v1, x1, a11);
                __m256 x2 = _mm256_loadu_ps(r[2] + i);
                a02 = _mm256_fmadd_ps(v0, x2, a02); a12 = _mm256_fmadd_ps(v1, x2, a12);
                __m256 x3 = _mm256_loadu_ps(r[3] + i);
                a03 = _mm256_fmadd_ps(v0, x3, a03); a13 = _mm256_fmadd_ps(v1, x3, a13);
            }
            float s[2][4] = {{hsum(a00), hsum(a01), hsum(a02), hsum(a03)},
                             {hsum(a10), hsum(a11), hsum(a12), hsum(a13)}};
            for (; i < in_features; i++) {
                for (size_t j = 0; j < 4; j++) {
                    s[0][j] += w0[i] * r[j][i];
                    s[1][j] += w1[i] * r[j][i];
                }
            }
            for (int p = 0; p <= pair; p++) {
                const float b = bias ? bias[o + p] : 0.0f;
                for (size_t j = 0; j < count; j++) {
                    float *dst = out + (tile + j) * out_features + o + p;
                    *dst = (accumulate ? *dst : 0.0f) + s[p][j] + b;
                }
            }
        }
    }
}

#else

bool nk_has_avx2_fma(void) { return false; }

void nk_small_rows_linear_avx2(const float *x, size_t rows, size_t x_stride,
                               const float *w, size_t in_features, size_t out_features,
                               size_t first, size_t last,
                               const float *bias, float *out, bool accumulate) {
    (void)x; (void)rows; (void)x_stride; (void)w; (void)in_features; (void)out_features;
    (void)first; (void)last; (void)bias; (void)out; (void)accumulate;
    __builtin_trap();
}

#endif
