// Linear layers on weights packed once at load: out = x · Wᵀ + b with an AVX2+FMA register-blocked
// micro-kernel (6 rows x 16 columns of output in 12 ymm accumulators), or on AVX-512 a 12 x 16 one
// (12 zmm accumulators) with the same per-output sums. W is constant, so its column panels are laid
// out for the kernel once instead of being packed by sgemm on every call. Swift code in this package
// is compiled for baseline x86-64, so this is C with per-function target attributes, chosen at run
// time (nk_has_avx2_fma, nk_has_avx512).
#include "neural_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Packing (portable)

size_t nk_packed_weight_count(size_t out_features, size_t in_features) {
    return (out_features + NK_PANEL - 1) / NK_PANEL * NK_PANEL * in_features;
}

void nk_pack_weight(const float *w, size_t out_features, size_t in_features, float *packed) {
    nk_pack_weight_strided(w, in_features, out_features, in_features, packed);
}

void nk_pack_weight_strided(const float *w, size_t w_stride, size_t out_features, size_t in_features,
                            float *packed) {
    const size_t panels = (out_features + NK_PANEL - 1) / NK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        float *panel = packed + p * in_features * NK_PANEL;
        for (size_t c = 0; c < NK_PANEL; c++) {
            const size_t o = p * NK_PANEL + c;
            if (o < out_features) {
                const float *row = w + o * w_stride;
                for (size_t k = 0; k < in_features; k++) panel[k * NK_PANEL + c] = row[k];
            } else {
                for (size_t k = 0; k < in_features; k++) panel[k * NK_PANEL + c] = 0.0f;
            }
        }
    }
}

#if defined(__x86_64__)
#include "vector_math.h"

// MARK: - Micro-kernel

// Rows per tile; K block; rows per block (72 x 768 packed floats, 216 KB, stay in L2 while W's
// panels stream by). Measured here (bench/gemm): K blocks of 768 beat 256 by 5-15% (each output
// tile is read and written once per K block), MC 48..120 within noise.
enum { MR = 6, KC = 768, MC = 72 };
// The AVX-512 tile: 12 rows, one 16-lane vector per row (12 accumulator chains hide the FMA latency
// on two pipes); MC holds 6 of them.
enum { MR_WIDE = 12 };

// Accumulators are named scalars (not arrays) so every compiler keeps them in registers; with `mr` a
// constant after inlining, the rows past it drop out.
#define NK_ROW_FMA(i)                                                                 \
    if (mr > i) {                                                                     \
        const __m256 av = _mm256_broadcast_ss(a + i);                              \
        c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);                                   \
        c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);                                   \
    }
#define NK_ROW_STORE(i)                                                               \
    if (mr > i) store_row(c + (size_t)i * ldc, c##i##0, c##i##1, cols, load_c, bias, gelu);

/// Writes one 16-wide output row segment: row (=, +=) r0|r1 (+ bias), then QuickGELU when `gelu`
/// (the last K block of an MLP's first layer: the activation costs no pass of its own over memory);
/// only `cols` of it.
__attribute__((target("avx2,fma"), always_inline))
static inline void store_row(float *row, __m256 r0, __m256 r1, size_t cols, bool load_c,
                             const float *bias, bool gelu) {
    if (cols == NK_PANEL) {
        if (load_c) {
            r0 = _mm256_add_ps(_mm256_loadu_ps(row), r0);
            r1 = _mm256_add_ps(_mm256_loadu_ps(row + 8), r1);
        }
        if (bias) {
            r0 = _mm256_add_ps(r0, _mm256_loadu_ps(bias));
            r1 = _mm256_add_ps(r1, _mm256_loadu_ps(bias + 8));
        }
        if (gelu) {
            r0 = nk_quick_gelu256(r0);
            r1 = nk_quick_gelu256(r1);
        }
        _mm256_storeu_ps(row, r0);
        _mm256_storeu_ps(row + 8, r1);
        return;
    }
    float tmp[NK_PANEL];
    _mm256_storeu_ps(tmp, r0);
    _mm256_storeu_ps(tmp + 8, r1);
    for (size_t j = 0; j < cols; j++) {
        tmp[j] = load_c ? row[j] + tmp[j] : tmp[j];
        if (bias) tmp[j] += bias[j];
    }
    if (gelu) {
        _mm256_storeu_ps(tmp, nk_quick_gelu256(_mm256_loadu_ps(tmp)));
        _mm256_storeu_ps(tmp + 8, nk_quick_gelu256(_mm256_loadu_ps(tmp + 8)));
    }
    for (size_t j = 0; j < cols; j++) row[j] = tmp[j];
}

/// 16 consecutive weights of a panel row as two 8-lane vectors: f32 as stored, or f16 widened with
/// F16C (exact: every f16 is a float), so both formats feed the same FMAs in the same order.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void load_b(const void *b, size_t k, bool half, __m256 *b0, __m256 *b1) {
    if (half) {
        const uint16_t *h = (const uint16_t *)b + k * NK_PANEL;
        *b0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
        *b1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + 8)));
    } else {
        const float *f = (const float *)b + k * NK_PANEL;
        *b0 = _mm256_loadu_ps(f);
        *b1 = _mm256_loadu_ps(f + 8);
    }
}

/// C[0..<mr, 0..<cols] (= or +=) A[0..<mr, 0..<kc] · B (kc, 16) (+ bias).
/// a: packed rows, element (i, k) at a[k·MR + i]; b: a packed sub-panel (kc x 16, row-major), floats or
/// (`half`) f16 bits; c: row stride ldc.
/// `load_c`: add what C holds (a later K block, or accumulate); `bias`: 16 values or NULL; `gelu`:
/// QuickGELU on the result; `pf`: the next panel's weights at this k block, prefetched as this one's
/// are read (see the driver).
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void tile(const int mr, size_t kc, const float *a, const void *b, bool half,
                        float *c, size_t ldc, size_t cols, bool load_c, const float *bias, bool gelu,
                        const char *pf) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    // The output tile is read back at the end (a far-apart line per row): start fetching it now.
    for (int i = 0; i < mr; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + 15), _MM_HINT_T0);
    }
    for (size_t k = 0; k < kc; k++) {
        __m256 b0, b1;
        _mm_prefetch(pf + k * (half ? 32 : 64), _MM_HINT_T0);
        load_b(b, k, half, &b0, &b1);
        NK_ROW_FMA(0) NK_ROW_FMA(1) NK_ROW_FMA(2) NK_ROW_FMA(3) NK_ROW_FMA(4) NK_ROW_FMA(5)
        a += MR;
    }
    NK_ROW_STORE(0) NK_ROW_STORE(1) NK_ROW_STORE(2) NK_ROW_STORE(3) NK_ROW_STORE(4) NK_ROW_STORE(5)
}

// `name(mr, ...)`: `tile_fn` with `mr` a constant, for every mr from 1 to the tile's height.
#define NK_TILE_CASE(tile_fn, half, n) case n: tile_fn(n, kc, a, b, half, c, ldc, cols, load_c, bias, gelu, pf); break;
#define NK_TILE_CASES_6(tile_fn, half)                                                              \
    NK_TILE_CASE(tile_fn, half, 6) NK_TILE_CASE(tile_fn, half, 5) NK_TILE_CASE(tile_fn, half, 4)    \
    NK_TILE_CASE(tile_fn, half, 3) NK_TILE_CASE(tile_fn, half, 2)
#define NK_TILE_CASES_12(tile_fn, half)                                                             \
    NK_TILE_CASE(tile_fn, half, 12) NK_TILE_CASE(tile_fn, half, 11) NK_TILE_CASE(tile_fn, half, 10) \
    NK_TILE_CASE(tile_fn, half, 9) NK_TILE_CASE(tile_fn, half, 8) NK_TILE_CASE(tile_fn, half, 7)    \
    NK_TILE_CASES_6(tile_fn, half)
#define NK_TILE_ANY(name, tile_fn, half, cases, isa)                                             \
    __attribute__((target(isa)))                                                                    \
    static void name(size_t mr, size_t kc, const float *a, const void *b, float *c, size_t ldc,     \
                     size_t cols, bool load_c, const float *bias, bool gelu, const char *pf) {      \
        switch (mr) {                                                                               \
        cases(tile_fn, half)                                                                        \
        default: tile_fn(1, kc, a, b, half, c, ldc, cols, load_c, bias, gelu, pf); break;           \
        }                                                                                           \
    }
NK_TILE_ANY(tile_any_f32, tile, false, NK_TILE_CASES_6, "avx2,fma,f16c")
NK_TILE_ANY(tile_any_f16, tile, true, NK_TILE_CASES_6, "avx2,fma,f16c")

// MARK: - AVX-512 micro-kernel

// The same sums as `tile`, 16 lanes at a time: lane j of row i's vector is output column j, its
// FMAs in the same k order with the same operands, so every output is bit-identical to the AVX2
// kernel's (and an f16 weight's to its f32 one). The result goes out through `store_row` as two
// 8-lane halves, so bias, accumulation and QuickGELU are the AVX2 code's own.
#define NK_ROW_FMA512(i)                                                              \
    if (mr > i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), bv, c##i);
#define NK_ROW_STORE512(i)                                                            \
    if (mr > i) store_row(c + (size_t)i * ldc, _mm512_castps512_ps256(c##i),           \
                          _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c##i), 1)), \
                          cols, load_c, bias, gelu);

/// As `tile`, for up to MR_WIDE rows; a: element (i, k) at a[k·MR_WIDE + i].
__attribute__((target("avx512f,avx2,fma,f16c"), always_inline))
static inline void tile512(const int mr, size_t kc, const float *a, const void *b, bool half,
                           float *c, size_t ldc, size_t cols, bool load_c, const float *bias, bool gelu,
                           const char *pf) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
    __m512 c3 = _mm512_setzero_ps(), c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps();
    __m512 c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps(), c8 = _mm512_setzero_ps();
    __m512 c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
    for (size_t k = 0; k < kc; k++) {
        _mm_prefetch(pf + k * (half ? 32 : 64), _MM_HINT_T0);
        const __m512 bv = half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)b + k * NK_PANEL)))
                               : _mm512_loadu_ps((const float *)b + k * NK_PANEL);
        NK_ROW_FMA512(0) NK_ROW_FMA512(1) NK_ROW_FMA512(2) NK_ROW_FMA512(3) NK_ROW_FMA512(4) NK_ROW_FMA512(5)
        NK_ROW_FMA512(6) NK_ROW_FMA512(7) NK_ROW_FMA512(8) NK_ROW_FMA512(9) NK_ROW_FMA512(10) NK_ROW_FMA512(11)
        a += MR_WIDE;
    }
    NK_ROW_STORE512(0) NK_ROW_STORE512(1) NK_ROW_STORE512(2) NK_ROW_STORE512(3) NK_ROW_STORE512(4)
    NK_ROW_STORE512(5) NK_ROW_STORE512(6) NK_ROW_STORE512(7) NK_ROW_STORE512(8) NK_ROW_STORE512(9)
    NK_ROW_STORE512(10) NK_ROW_STORE512(11)
}

NK_TILE_ANY(tile512_any_f32, tile512, false, NK_TILE_CASES_12, "avx512f,avx2,fma,f16c")
NK_TILE_ANY(tile512_any_f16, tile512, true, NK_TILE_CASES_12, "avx512f,avx2,fma,f16c")

// MARK: - Blocked driver

/// Rows are split into tiles of `mr` rows (MR, or MR_WIDE for AVX-512), except that a last tile
/// too short to hide the FMA latency (4 cycles, two pipes: under 4 rows of two vectors, under 8 of
/// one) shares rows with the one before it: so 7 rows run as 4 + 3 rather than 6 + 1 on AVX2 (8
/// cycles per k instead of 10), 13 as 7 + 6 rather than 12 + 1 on AVX-512. Every row's sum keeps the
/// same order whatever tile it lands in, so results do not depend on the split (nor on the batch).
static inline size_t tile_count(size_t rows, size_t mr) { return (rows + mr - 1) / mr; }

/// The first row of tile t of `rows` in tiles of `mr` (t == tile_count gives rows).
static inline size_t tile_start(size_t rows, size_t t, size_t mr) {
    const size_t tiles = tile_count(rows, mr), rest = rows % mr, short_tile = mr == MR ? 4 : 8;
    if (t >= tiles) return rows;
    if (t == tiles - 1 && tiles >= 2 && rest != 0 && rest < short_tile) return rows - (mr + rest) / 2;
    return t * mr;
}

/// Copies x[m0..<m1, k0..<k0+kc] into the tiles above, element (i, k) of tile t at
/// dst[t·mr·kc + k·mr + i]; a tile's rows past its size are zero.
__attribute__((target("avx2,fma")))
static void pack_rows(const float *x, size_t x_stride, size_t m0, size_t m1, size_t k0, size_t kc,
                      size_t tile_rows, float *dst) {
    const size_t tiles = tile_count(m1 - m0, tile_rows);
    for (size_t t = 0; t < tiles; t++) {
        const size_t m = m0 + tile_start(m1 - m0, t, tile_rows);
        const size_t mr = m0 + tile_start(m1 - m0, t + 1, tile_rows) - m;
        for (size_t i = 0; i < tile_rows; i++) {
            if (i < mr) {
                const float *src = x + (m + i) * x_stride + k0;
                for (size_t k = 0; k < kc; k++) dst[k * tile_rows + i] = src[k];
            } else {
                for (size_t k = 0; k < kc; k++) dst[k * tile_rows + i] = 0.0f;
            }
        }
        dst += tile_rows * kc;
    }
}

/// The blocked driver for either weight format (`half`: f16 panels) and either tile (`wide`: the
/// AVX-512 one); the two entry points below are its only callers, each with `half` a constant.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void packed_linear(const float *x, size_t x_stride, size_t row_begin, size_t row_end,
                           const void *packed, bool half, bool wide, size_t in_features, size_t out_features,
                           size_t panel_begin, size_t panel_end,
                           const float *bias, float *out, size_t out_stride, bool accumulate,
                           nk_activation activation) {
    if (row_begin >= row_end || panel_begin >= panel_end) return;
    if (in_features == 0) {  // an empty sum: out (=, +=) bias
        for (size_t r = row_begin; r < row_end; r++) {
            for (size_t o = panel_begin * NK_PANEL; o < out_features && o < panel_end * NK_PANEL; o++) {
                float *dst = out + r * out_stride + o;
                const float v = (accumulate ? *dst : 0.0f) + (bias ? bias[o] : 0.0f);
                *dst = activation == NK_QUICK_GELU ? v / (1.0f + expf(-1.702f * v)) : v;
            }
        }
        return;
    }
    // One block of packed rows (at most MC x KC floats, 216 KB: stays in L2 while the panels stream
    // by), per call: heap, not thread-local or stack, as callers' threads are not ours. glibc serves
    // repeated sizes from its heap after the first free, so this costs no page faults per call.
    const size_t tile_rows = wide ? MR_WIDE : MR;
    const size_t block_rows = (row_end - row_begin < MC ? tile_count(row_end - row_begin, tile_rows) * tile_rows : MC);
    const size_t block_k = in_features < KC ? in_features : KC;
    float *rows = aligned_alloc(64, (block_rows * block_k * sizeof(float) + 63) / 64 * 64);
    if (!rows) __builtin_trap();  // out of memory
    for (size_t k0 = 0; k0 < in_features; k0 += KC) {
        const size_t kc = in_features - k0 < KC ? in_features - k0 : KC;
        const bool first_k = k0 == 0;
        const bool gelu = activation == NK_QUICK_GELU && k0 + kc == in_features;
        for (size_t m0 = row_begin; m0 < row_end; m0 += MC) {
            const size_t m1 = row_end - m0 < MC ? row_end : m0 + MC;
            const size_t tiles = tile_count(m1 - m0, tile_rows);
            pack_rows(x, x_stride, m0, m1, k0, kc, tile_rows, rows);
            for (size_t p = panel_begin; p < panel_end; p++) {
                const size_t col = p * NK_PANEL;
                const size_t cols = out_features - col < NK_PANEL ? out_features - col : NK_PANEL;
                const size_t offset = (p * in_features + k0) * NK_PANEL;
                const void *b = half ? (const void *)((const uint16_t *)packed + offset)
                                     : (const void *)((const float *)packed + offset);
                const float *bias_p = (first_k && bias) ? bias + col : NULL;
                const bool load_c = !first_k || accumulate;
                const float *a = rows;
                // A few rows (a text query) make one tile per panel, and each k step waits on its
                // weights from memory: the hardware prefetcher did not run far enough ahead (10 GB/s
                // of f16 on one core). Prefetching the next panel one panel ahead keeps enough lines
                // in flight: the 7-row text linears ran 9.1 -> 6.0 ms (f32) and 7.8 -> 3.4 ms (f16)
                // on one core here (bench/gemm/precision_bench.c). Past the last panel it points past
                // the weights, harmlessly: a prefetch does not fault.
                const char *pf = (const char *)b + in_features * NK_PANEL * (half ? 2 : 4);
                for (size_t t = 0; t < tiles; t++) {
                    const size_t m = m0 + tile_start(m1 - m0, t, tile_rows);
                    const size_t mr = m0 + tile_start(m1 - m0, t + 1, tile_rows) - m;
                    float *c = out + m * out_stride + col;
                    if (wide) {
                        if (half) tile512_any_f16(mr, kc, a, b, c, out_stride, cols, load_c, bias_p, gelu, pf);
                        else tile512_any_f32(mr, kc, a, b, c, out_stride, cols, load_c, bias_p, gelu, pf);
                    } else {
                        if (half) tile_any_f16(mr, kc, a, b, c, out_stride, cols, load_c, bias_p, gelu, pf);
                        else tile_any_f32(mr, kc, a, b, c, out_stride, cols, load_c, bias_p, gelu, pf);
                    }
                    a += tile_rows * kc;
                }
            }
        }
    }
    free(rows);
}

#endif

// MARK: - Entry points

#if defined(__x86_64__)
#define NK_F16C_TARGET __attribute__((target("avx2,fma,f16c")))
#else
#define NK_F16C_TARGET
#endif

// Whether the entry points run the AVX-512 tile: the CPU's answer, unless a test chose (-1: not yet
// asked). Both tiles give the same bits, so a change while other calls run is harmless.
static _Atomic int use_avx512 = -1;

bool nk_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && nk_has_f16c();
#else
    return false;
#endif
}

void nk_set_avx512(bool on) { use_avx512 = on && nk_has_avx512(); }

bool nk_avx512_enabled(void) {
    int now = use_avx512;
    if (now < 0) {
        // CLIP_KERNELS=avx2 keeps the AVX2 tiles (to check a result, or a test run, as on a CPU
        // without AVX-512).
        const char *asked = getenv("CLIP_KERNELS");
        use_avx512 = now = nk_has_avx512() && !(asked && strcmp(asked, "avx2") == 0);
    }
    return now;
}

NK_F16C_TARGET  // F16C: the f32 entry shares the driver, and uses none of it
void nk_packed_linear_avx2(const float *x, size_t x_stride, size_t row_begin, size_t row_end,
                           const float *packed, size_t in_features, size_t out_features,
                           size_t panel_begin, size_t panel_end,
                           const float *bias, float *out, size_t out_stride, bool accumulate,
                           nk_activation activation) {
#if defined(__x86_64__)
    packed_linear(x, x_stride, row_begin, row_end, packed, false, nk_avx512_enabled(), in_features, out_features, panel_begin,
                  panel_end, bias, out, out_stride, accumulate, activation);
#else
    __builtin_trap();  // callers check nk_has_avx2_fma / nk_has_f16c first
#endif
}

NK_F16C_TARGET
void nk_packed_linear_f16_avx2(const float *x, size_t x_stride, size_t row_begin, size_t row_end,
                               const uint16_t *packed, size_t in_features, size_t out_features,
                               size_t panel_begin, size_t panel_end,
                               const float *bias, float *out, size_t out_stride, bool accumulate,
                               nk_activation activation) {
#if defined(__x86_64__)
    packed_linear(x, x_stride, row_begin, row_end, packed, true, nk_avx512_enabled(), in_features, out_features, panel_begin,
                  panel_end, bias, out, out_stride, accumulate, activation);
#else
    __builtin_trap();  // callers check nk_has_avx2_fma / nk_has_f16c first
#endif
}


