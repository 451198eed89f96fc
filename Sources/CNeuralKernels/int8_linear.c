// int8 Linear layers (`--precision int8`): weights quantized once per output channel (symmetric, 8
// bits), activations per row at each call (dynamic, symmetric, 8 bits), integer dot products on AVX2.
// AVX2 has no int8 dot product that cannot saturate: vpmaddubsw (u8 x s8, pairs summed into s16)
// overflows at 2·255·127, so this uses vpmaddwd on s16: weights stored as int8 (half of f16's bytes,
// a quarter of f32's) are sign-extended to s16 as they are loaded (vpmovsxbw), activations are s16
// holding int8 values, and vpmaddwd sums pairs of products exactly into s32 (no saturation: |sum| <=
// 127·127·K < 2^31 for K < 133,000). On Zen 3 vpmaddwd issues on two pipes, as FMA does, but does 16
// multiply-adds per instruction where FMA does 8.
#include "neural_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// 4-row tiles: 8 s32 accumulators, the two widened weight vectors, a broadcast and a product fit
// the 16 ymm registers; with 6 rows (as the f32 kernel) the compiler spills accumulators, and the
// kernel ran at 63 GMAC/s per thread here against 89 with 4 (bench/gemm/precision_bench.c's shape).
enum { I8_MR = 4, I8_MC = 48 };

static size_t kpairs(size_t in_features) { return (in_features + 1) / 2; }

size_t nk_int8_weight_bytes(size_t out_features, size_t in_features) {
    return (out_features + NK_PANEL - 1) / NK_PANEL * NK_PANEL * 2 * kpairs(in_features);
}

size_t nk_int8_scale_count(size_t out_features) {
    return (out_features + NK_PANEL - 1) / NK_PANEL * NK_PANEL;
}

void nk_pack_weight_int8(const float *w, size_t out_features, size_t in_features, int8_t *packed,
                         float *scales) {
    const size_t panels = (out_features + NK_PANEL - 1) / NK_PANEL, kp = kpairs(in_features);
    for (size_t o = 0; o < panels * NK_PANEL; o++) {
        float amax = 0.0f;
        if (o < out_features) {
            for (size_t k = 0; k < in_features; k++) amax = fmaxf(amax, fabsf(w[o * in_features + k]));
        }
        scales[o] = amax > 0.0f ? amax / 127.0f : 1.0f;
    }
    // Panel p, k pair j: 32 bytes, columns 0..7 then 8..15, each column's (w[c, 2j], w[c, 2j+1]).
    for (size_t p = 0; p < panels; p++) {
        for (size_t j = 0; j < kp; j++) {
            int8_t *dst = packed + (p * kp + j) * 2 * NK_PANEL;
            for (size_t c = 0; c < NK_PANEL; c++) {
                const size_t o = p * NK_PANEL + c;
                for (size_t h = 0; h < 2; h++) {
                    const size_t k = 2 * j + h;
                    float q = 0.0f;
                    if (o < out_features && k < in_features) {
                        q = nearbyintf(w[o * in_features + k] / scales[o]);
                        q = fminf(fmaxf(q, -127.0f), 127.0f);
                    }
                    dst[2 * c + h] = (int8_t)q;
                }
            }
        }
    }
}

static size_t kquads(size_t in_features) { return (in_features + 3) / 4; }

size_t nk_int8_rows_count(size_t rows, size_t in_features) {
    // k pairs per row, or (VNNI) k quads and the row's sum, which is never more.
    return nk_int8_row_scales_count(rows) * (kpairs(in_features) + 1);
}

size_t nk_int8_row_scales_count(size_t rows) {
    return (rows + I8_MR - 1) / I8_MR * I8_MR;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "vector_math.h"

__attribute__((target("avx2,fma")))
void nk_quantize_rows_int8(const float *x, size_t x_stride, size_t rows, size_t in_features,
                           int32_t *packed_rows, float *row_scales, bool vnni) {
    // Words per row: k pairs of s16, or (VNNI) k quads of s8.
    const size_t words = vnni ? kquads(in_features) : kpairs(in_features);
    const size_t padded = (rows + I8_MR - 1) / I8_MR * I8_MR;
    int32_t *row_sums = packed_rows + padded * words;
    int16_t *q = malloc((4 * words + 16) * sizeof(int16_t));
    if (!q) __builtin_trap();  // out of memory
    for (size_t r = 0; r < padded; r++) {
        int32_t *dst = packed_rows + r / I8_MR * I8_MR * words + r % I8_MR;
        if (r >= rows) {
            for (size_t j = 0; j < words; j++) dst[j * I8_MR] = 0;
            row_scales[r] = 0.0f;
            if (vnni) row_sums[r] = 0;
            continue;
        }
        const float *src = x + r * x_stride;
        __m256 vmax = _mm256_setzero_ps();
        const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
        size_t k = 0;
        for (; k + 8 <= in_features; k += 8) vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(src + k), abs_mask));
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        float amax = 0.0f;
        for (int i = 0; i < 8; i++) amax = fmaxf(amax, lanes[i]);
        for (; k < in_features; k++) amax = fmaxf(amax, fabsf(src[k]));
        const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
        row_scales[r] = scale;
        // x / scale rounded to nearest even (as nearbyintf), in [-127, 127] by construction.
        const __m256 vscale = _mm256_set1_ps(scale);
        k = 0;
        for (; k + 8 <= in_features; k += 8) {
            const __m256i v = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(src + k), vscale));
            const __m128i packed16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            _mm_storeu_si128((__m128i *)(q + k), packed16);
        }
        for (; k < in_features; k++) q[k] = (int16_t)nearbyintf(src[k] / scale);
        for (k = in_features; k < 4 * words; k++) q[k] = 0;
        if (vnni) {
            int32_t sum = 0;
            for (size_t j = 0; j < words; j++) {
                uint32_t word = 0;
                for (size_t b = 0; b < 4; b++) {
                    word |= (uint32_t)(uint8_t)(int8_t)q[4 * j + b] << (8 * b);
                    sum += q[4 * j + b];
                }
                dst[j * I8_MR] = (int32_t)word;
            }
            row_sums[r] = sum;
            continue;
        }
        for (size_t j = 0; j < words; j++) {
            dst[j * I8_MR] = (int32_t)(((uint32_t)(uint16_t)q[2 * j + 1] << 16) | (uint16_t)q[2 * j]);
        }
    }
    free(q);
}

/// One output row segment: acc · row_scale · col_scales (+ bias) (+ what the row holds), then GELU.
__attribute__((target("avx2,fma"), always_inline))
static inline void i8_store(float *row, __m256i a0, __m256i a1, float row_scale, const float *col_scales,
                            size_t cols, bool accumulate, const float *bias, bool gelu) {
    const __m256 rs = _mm256_set1_ps(row_scale);
    __m256 r0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), _mm256_mul_ps(rs, _mm256_loadu_ps(col_scales)));
    __m256 r1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), _mm256_mul_ps(rs, _mm256_loadu_ps(col_scales + 8)));
    float tmp[NK_PANEL];
    if (bias && cols == NK_PANEL) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(bias));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(bias + 8));
    }
    if (cols == NK_PANEL) {
        if (accumulate) {
            r0 = _mm256_add_ps(_mm256_loadu_ps(row), r0);
            r1 = _mm256_add_ps(_mm256_loadu_ps(row + 8), r1);
        }
        if (gelu) { r0 = nk_quick_gelu256(r0); r1 = nk_quick_gelu256(r1); }
        _mm256_storeu_ps(row, r0);
        _mm256_storeu_ps(row + 8, r1);
        return;
    }
    _mm256_storeu_ps(tmp, r0);
    _mm256_storeu_ps(tmp + 8, r1);
    for (size_t j = 0; j < cols; j++) {
        if (bias) tmp[j] += bias[j];
        if (accumulate) tmp[j] = row[j] + tmp[j];
    }
    if (gelu) {
        _mm256_storeu_ps(tmp, nk_quick_gelu256(_mm256_loadu_ps(tmp)));
        _mm256_storeu_ps(tmp + 8, nk_quick_gelu256(_mm256_loadu_ps(tmp + 8)));
    }
    for (size_t j = 0; j < cols; j++) row[j] = tmp[j];
}

#define I8_ROW(i)                                                                          \
    if (mr > i) {                                                                          \
        const __m256i av = _mm256_set1_epi32(a[j * I8_MR + i]);                            \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(av, b0));                    \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(av, b1));                    \
    }
#define I8_STORE(i)                                                                        \
    if (mr > i) i8_store(c + (size_t)i * ldc, c##i##0, c##i##1, row_scales[i], col_scales, cols, \
                         accumulate, bias, gelu);

/// C[0..<mr, 0..<cols] (= or +=) dequantized A (mr rows of kp k pairs) · B (a panel, kp x 32 bytes).
__attribute__((target("avx2,fma"), always_inline))
static inline void i8_tile(const int mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                           const float *col_scales, float *c, size_t ldc, size_t cols, bool accumulate,
                           const float *bias, bool gelu) {
    __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();
    __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();
    __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();
    __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
    for (size_t j = 0; j < kp; j++) {
        _mm_prefetch((const char *)b + 32 * (kp + j), _MM_HINT_T0);  // the next panel: see packed_linear.c's driver
        const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 32 * j)));
        const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 32 * j + 16)));
        I8_ROW(0) I8_ROW(1) I8_ROW(2) I8_ROW(3)
    }
    I8_STORE(0) I8_STORE(1) I8_STORE(2) I8_STORE(3)
}

__attribute__((target("avx2,fma")))
static void i8_tile_any(size_t mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                        const float *col_scales, float *c, size_t ldc, size_t cols, bool accumulate,
                        const float *bias, bool gelu) {
    switch (mr) {
    case 4: i8_tile(4, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    case 3: i8_tile(3, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    case 2: i8_tile(2, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    default: i8_tile(1, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    }
}

// MARK: - AVX-512

// The same integer sums 16 columns at a time: one 32-lane s16 widening of a k pair's 32 weights
// (columns 0..15 in order), then per row a broadcast pair and vpmaddwd into 16 s32 lanes; up to
// three 4-row groups (12 rows) at once. Integer sums are exact in any width, and the store is
// `i8_store` on the two 8-lane halves, so the outputs are the AVX2 kernel's bits.
// The start of a 12-row tile over packed rows of `words` words: a0..a11 point at each row's group
// (rows 4g..4g+3 are group g, `words` x 4 words each), c0..c11 are its zeroed s32 accumulators.
#define I8_TILE12_START(words)                                                             \
    const int32_t *a0 = a, *a1 = a, *a2 = a, *a3 = a, *a4 = a + I8_MR * (words), *a5 = a4, *a6 = a4, *a7 = a4; \
    const int32_t *a8 = a + 2 * I8_MR * (words), *a9 = a8, *a10 = a8, *a11 = a8;          \
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;      \
    __m512i c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
#define I8_ROW512(i)                                                                       \
    if (mr > i) c##i = _mm512_add_epi32(c##i, _mm512_madd_epi16(                          \
        _mm512_set1_epi32(a##i[j * I8_MR + (i % I8_MR)]), bv));
#define I8_STORE512(i)                                                                     \
    if (mr > i) i8_store(c + (size_t)i * ldc, _mm512_castsi512_si256(c##i),                \
                         _mm512_extracti64x4_epi64(c##i, 1), row_scales[i], col_scales, cols, \
                         accumulate, bias, gelu);

__attribute__((target("avx512f,avx512bw,avx2,fma"), always_inline))
static inline void i8_tile512(const int mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                              const float *col_scales, float *c, size_t ldc, size_t cols, bool accumulate,
                              const float *bias, bool gelu) {
    I8_TILE12_START(kp)
    for (size_t j = 0; j < kp; j++) {
        _mm_prefetch((const char *)b + 32 * (kp + j), _MM_HINT_T0);
        const __m512i bv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + 32 * j)));
        I8_ROW512(0) I8_ROW512(1) I8_ROW512(2) I8_ROW512(3) I8_ROW512(4) I8_ROW512(5)
        I8_ROW512(6) I8_ROW512(7) I8_ROW512(8) I8_ROW512(9) I8_ROW512(10) I8_ROW512(11)
    }
    I8_STORE512(0) I8_STORE512(1) I8_STORE512(2) I8_STORE512(3) I8_STORE512(4) I8_STORE512(5)
    I8_STORE512(6) I8_STORE512(7) I8_STORE512(8) I8_STORE512(9) I8_STORE512(10) I8_STORE512(11)
}

// `switch (mr)` cases 12 down to 2 of the 12-row tiles, each I8_CASE(n) as its caller defines it.
#define I8_CASES_12 I8_CASE(12) I8_CASE(11) I8_CASE(10) I8_CASE(9) I8_CASE(8) I8_CASE(7) \
                    I8_CASE(6) I8_CASE(5) I8_CASE(4) I8_CASE(3) I8_CASE(2)

__attribute__((target("avx512f,avx512bw,avx2,fma")))
static void i8_tile512_any(size_t mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                           const float *col_scales, float *c, size_t ldc, size_t cols, bool accumulate,
                           const float *bias, bool gelu) {
    switch (mr) {
#define I8_CASE(n) case n: i8_tile512(n, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    I8_CASES_12
#undef I8_CASE
    default: i8_tile512(1, kp, a, b, row_scales, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    }
}

// MARK: - AVX-512 VNNI

// vpdpbusd does 4 u8 x s8 products per s32 lane and sums them without saturation (|each| <= 255·128):
// 64 multiply-adds per instruction, twice vpmaddwd's. Its unsigned operand is the weights here: each
// k quad's 64 bytes (the panel's two k pairs, columns in order) are interleaved to 4 weights per
// column (vpermw) and offset by 128 (sign bit flipped: w + 128 in 1..255); the broadcast signed
// operand is 4 of a row's s8 activations. Σ (w + 128)·x = Σ w·x + 128·Σ x, so subtracting 128 times
// the row's sum (from nk_quantize_rows_int8) leaves the integer sums of the kernels above exactly,
// and so their bits.
#define I8_ROW_VNNI(i)                                                                     \
    if (mr > i) c##i = _mm512_dpbusd_epi32(c##i, wv, _mm512_set1_epi32(a##i[j * I8_MR + (i % I8_MR)]));
#define I8_STORE_VNNI(i)                                                                   \
    if (mr > i) {                                                                          \
        const __m512i s = _mm512_sub_epi32(c##i, _mm512_set1_epi32(128 * row_sums[i]));    \
        i8_store(c + (size_t)i * ldc, _mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1), \
                 row_scales[i], col_scales, cols, accumulate, bias, gelu);                 \
    }

__attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma"), always_inline))
static inline void i8_tile_vnni(const int mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                                const int32_t *row_sums, const float *col_scales, float *c, size_t ldc, size_t cols,
                                bool accumulate, const float *bias, bool gelu) {
    const size_t kq = (kp + 1) / 2;
    I8_TILE12_START(kq)
    // Word 2c of a quad takes column c's first pair (word c of the 64 bytes), word 2c + 1 its second
    // (word 16 + c).
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    for (size_t j = 0; j < kq; j++) {
        _mm_prefetch((const char *)b + 32 * kp + 64 * j, _MM_HINT_T0);  // the next panel: see packed_linear.c's driver
        // An odd last pair ends the panel: the quad's upper half (k past in_features, activations
        // zero) is zero too, not the next panel's bytes.
        const __m512i raw = 2 * j + 1 < kp
            ? _mm512_loadu_si512((const void *)(b + 64 * j))
            : _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i *)(b + 64 * j)), 0);
        const __m512i wv = _mm512_xor_si512(_mm512_permutexvar_epi16(interleave, raw), offset);
        I8_ROW_VNNI(0) I8_ROW_VNNI(1) I8_ROW_VNNI(2) I8_ROW_VNNI(3) I8_ROW_VNNI(4) I8_ROW_VNNI(5)
        I8_ROW_VNNI(6) I8_ROW_VNNI(7) I8_ROW_VNNI(8) I8_ROW_VNNI(9) I8_ROW_VNNI(10) I8_ROW_VNNI(11)
    }
    I8_STORE_VNNI(0) I8_STORE_VNNI(1) I8_STORE_VNNI(2) I8_STORE_VNNI(3) I8_STORE_VNNI(4) I8_STORE_VNNI(5)
    I8_STORE_VNNI(6) I8_STORE_VNNI(7) I8_STORE_VNNI(8) I8_STORE_VNNI(9) I8_STORE_VNNI(10) I8_STORE_VNNI(11)
}

__attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma")))
static void i8_tile_vnni_any(size_t mr, size_t kp, const int32_t *a, const int8_t *b, const float *row_scales,
                             const int32_t *row_sums, const float *col_scales, float *c, size_t ldc, size_t cols,
                             bool accumulate, const float *bias, bool gelu) {
    switch (mr) {
#define I8_CASE(n) case n: i8_tile_vnni(n, kp, a, b, row_scales, row_sums, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    I8_CASES_12
#undef I8_CASE
    default: i8_tile_vnni(1, kp, a, b, row_scales, row_sums, col_scales, c, ldc, cols, accumulate, bias, gelu); break;
    }
}

// Whether nk_int8_vnni_enabled says yes: the CPU's answer (with the AVX-512 tiles on), unless a test
// chose (-1: not yet asked).
static _Atomic int use_vnni = -1;

bool nk_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return nk_has_avx512() && __builtin_cpu_supports("avx512vnni");
}

void nk_set_int8_vnni(bool on) { use_vnni = on && nk_has_avx512_vnni(); }

bool nk_int8_vnni_enabled(void) {
    int now = use_vnni;
    if (now < 0) use_vnni = now = nk_has_avx512_vnni();
    return now && nk_avx512_enabled();
}

__attribute__((target("avx2,fma")))
void nk_int8_linear_avx2(const int32_t *packed_rows, const float *row_scales, size_t rows,
                         const int8_t *packed, const float *scales, size_t in_features, size_t out_features,
                         size_t panel_begin, size_t panel_end, const float *bias, float *out,
                         size_t out_stride, bool accumulate, nk_activation activation, bool vnni) {
    const size_t kp = kpairs(in_features);
    const bool gelu = activation == NK_QUICK_GELU;
    // VNNI needs the AVX-512 tiles on (nk_int8_vnni_enabled); else AVX-512 F and BW
    // (nk_has_avx512), unless turned off.
    const bool wide = vnni || nk_avx512_enabled();
    const size_t tile_rows = wide ? 3 * I8_MR : I8_MR;
    // Words per packed row (k quads for VNNI, else k pairs); the VNNI rows' sums follow them.
    const size_t words = vnni ? kquads(in_features) : kp;
    const int32_t *row_sums = packed_rows + nk_int8_row_scales_count(rows) * words;
    // Blocks of I8_MC rows (48 x 768 pairs of s16: 144 KB, in L2 while the panels stream by).
    for (size_t m0 = 0; m0 < rows; m0 += I8_MC) {
        const size_t m1 = rows - m0 < I8_MC ? rows : m0 + I8_MC;
        for (size_t p = panel_begin; p < panel_end; p++) {
            const size_t col = p * NK_PANEL;
            const size_t cols = out_features - col < NK_PANEL ? out_features - col : NK_PANEL;
            const int8_t *b = packed + p * kp * 2 * NK_PANEL;
            const float *bias_p = bias ? bias + col : NULL;
            for (size_t m = m0; m < m1; m += tile_rows) {
                const size_t mr = m1 - m < tile_rows ? m1 - m : tile_rows;
                const int32_t *a = packed_rows + m * words;
                float *c = out + m * out_stride + col;
                if (vnni) {
                    i8_tile_vnni_any(mr, kp, a, b, row_scales + m, row_sums + m, scales + col, c, out_stride, cols,
                                     accumulate, bias_p, gelu);
                } else if (wide) {
                    i8_tile512_any(mr, kp, a, b, row_scales + m, scales + col, c, out_stride, cols, accumulate, bias_p, gelu);
                } else {
                    i8_tile_any(mr, kp, a, b, row_scales + m, scales + col, c, out_stride, cols, accumulate, bias_p, gelu);
                }
            }
        }
    }
}

#else

void nk_quantize_rows_int8(const float *x, size_t x_stride, size_t rows, size_t in_features,
                           int32_t *packed_rows, float *row_scales, bool vnni) {
    (void)x; (void)x_stride; (void)rows; (void)in_features; (void)packed_rows; (void)row_scales; (void)vnni;
    __builtin_trap();
}

bool nk_has_avx512_vnni(void) { return false; }
void nk_set_int8_vnni(bool on) { (void)on; }
bool nk_int8_vnni_enabled(void) { return false; }

void nk_int8_linear_avx2(const int32_t *packed_rows, const float *row_scales, size_t rows,
                         const int8_t *packed, const float *scales, size_t in_features, size_t out_features,
                         size_t panel_begin, size_t panel_end, const float *bias, float *out,
                         size_t out_stride, bool accumulate, nk_activation activation, bool vnni) {
    (void)packed_rows; (void)row_scales; (void)rows; (void)packed; (void)scales; (void)in_features;
    (void)out_features; (void)panel_begin; (void)panel_end; (void)bias; (void)out; (void)out_stride;
    (void)accumulate; (void)activation; (void)vnni;
    __builtin_trap();
}

#endif
