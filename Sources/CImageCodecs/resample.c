// Pillow's resize passes (Resample.c: ImagingResampleHorizontal_8bpc, ImagingResampleVertical_8bpc)
// over RGB bytes, scalar and AVX2. Swift here is compiled for baseline x86-64, so the AVX2 code is
// C with a per-function target attribute, chosen at run time.
#include "resample.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { PRECISION = CLIP_RESAMPLE_PRECISION_BITS };

static inline uint8_t clip8(int32_t v) {
    v >>= PRECISION;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// MARK: - Scalar

static void horizontal_scalar(const uint8_t *src, size_t src_width, size_t row0, size_t rows,
                              const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                              size_t outputs, uint8_t *dst, size_t dst_stride) {
    const int32_t half = 1 << (PRECISION - 1);
    for (size_t i = 0; i < rows; i++) {
        const uint8_t *row = src + (row0 + i) * src_width * 3;
        uint8_t *out = dst + i * dst_stride;
        for (size_t o = 0; o < outputs; o++) {
            const uint8_t *p = row + (size_t)starts[o] * 3;
            const int32_t *w = weights + o * max_taps;
            int32_t r = half, g = half, b = half;
            for (int32_t t = 0; t < counts[o]; t++) {
                r += p[3 * t] * w[t];
                g += p[3 * t + 1] * w[t];
                b += p[3 * t + 2] * w[t];
            }
            out[3 * o] = clip8(r);
            out[3 * o + 1] = clip8(g);
            out[3 * o + 2] = clip8(b);
        }
    }
}

static void vertical_scalar(const uint8_t *src, size_t src_stride, size_t row_bytes,
                            const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                            size_t outputs, uint8_t *dst) {
    const int32_t half = 1 << (PRECISION - 1);
    for (size_t o = 0; o < outputs; o++) {
        const uint8_t *first = src + (size_t)starts[o] * src_stride;
        const int32_t *w = weights + o * max_taps;
        for (size_t x = 0; x < row_bytes; x++) {
            int32_t sum = half;
            for (int32_t t = 0; t < counts[o]; t++) sum += first[(size_t)t * src_stride + x] * w[t];
            dst[o * row_bytes + x] = clip8(sum);
        }
    }
}

// MARK: - AVX2

#if defined(__x86_64__)

int clip_resample_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

// Two taps per step: 8 bytes loaded from the first tap's pixel (pixels t and t+1, then 2 bytes that
// are weighted 0) widened to 8 int32 lanes, times (w_t w_t w_t w_t+1 w_t+1 w_t+1 0 0). Lanes 0-2
// and 3-5 hold partial R, G, B sums. A load may reach 5 bytes past the row's last pixel, so the last
// image row is read from a padded copy.
__attribute__((target("avx2")))
static void horizontal_avx2(const uint8_t *src, size_t src_width, size_t src_height, size_t row0, size_t rows,
                            const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                            size_t outputs, uint8_t *dst, size_t dst_stride) {
    const size_t pairs = (max_taps + 1) / 2;
    const size_t row_bytes = src_width * 3;
    int32_t *expanded = aligned_alloc(32, ((outputs * pairs * 8 * sizeof(int32_t)) + 31) / 32 * 32);
    uint8_t *padded = malloc(row_bytes + 16);
    if (expanded == NULL || padded == NULL) {
        free(expanded);
        free(padded);
        horizontal_scalar(src, src_width, row0, rows, starts, counts, weights, max_taps, outputs, dst, dst_stride);
        return;
    }
    for (size_t o = 0; o < outputs; o++) {
        for (size_t k = 0; k < pairs; k++) {
            int32_t *e = expanded + (o * pairs + k) * 8;
            const size_t t = 2 * k;
            const int32_t w0 = (int32_t)t < counts[o] ? weights[o * max_taps + t] : 0;
            const int32_t w1 = (int32_t)t + 1 < counts[o] ? weights[o * max_taps + t + 1] : 0;
            e[0] = e[1] = e[2] = w0;
            e[3] = e[4] = e[5] = w1;
            e[6] = e[7] = 0;
        }
    }
    const int32_t half = 1 << (PRECISION - 1);
    for (size_t i = 0; i < rows; i++) {
        const size_t y = row0 + i;
        const uint8_t *row = src + y * row_bytes;
        if (y + 1 == src_height) {
            memcpy(padded, row, row_bytes);
            memset(padded + row_bytes, 0, 16);
            row = padded;
        }
        uint8_t *out = dst + i * dst_stride;
        for (size_t o = 0; o < outputs; o++) {
            const uint8_t *p = row + (size_t)starts[o] * 3;
            const int32_t *e = expanded + o * pairs * 8;
            const size_t steps = ((size_t)counts[o] + 1) / 2;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
            size_t k = 0;
            for (; k + 1 < steps; k += 2) {
                __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 6 * k)));
                __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 6 * k + 6)));
                acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(a, _mm256_load_si256((const __m256i *)(e + 8 * k))));
                acc1 = _mm256_add_epi32(acc1, _mm256_mullo_epi32(b, _mm256_load_si256((const __m256i *)(e + 8 * k + 8))));
            }
            if (k < steps) {
                __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 6 * k)));
                acc0 = _mm256_add_epi32(acc0, _mm256_mullo_epi32(a, _mm256_load_si256((const __m256i *)(e + 8 * k))));
            }
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi32(acc0, acc1));
            out[3 * o] = clip8(half + lanes[0] + lanes[3]);
            out[3 * o + 1] = clip8(half + lanes[1] + lanes[4]);
            out[3 * o + 2] = clip8(half + lanes[2] + lanes[5]);
        }
    }
    free(expanded);
    free(padded);
}

// 32 bytes of a row per step (four 8-lane accumulators), the same weight down the taps; rows are
// padded to a multiple of 8 bytes, so only the stores need a tail.
__attribute__((target("avx2")))
static void vertical_avx2(const uint8_t *src, size_t src_stride, size_t row_bytes,
                          const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                          size_t outputs, uint8_t *dst) {
    const __m256i half = _mm256_set1_epi32(1 << (PRECISION - 1));
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
    for (size_t o = 0; o < outputs; o++) {
        const uint8_t *first = src + (size_t)starts[o] * src_stride;
        const int32_t *w = weights + o * max_taps;
        uint8_t *out = dst + o * row_bytes;
        for (size_t x = 0; x < row_bytes; x += 8) {
            __m256i acc = half;
            for (int32_t t = 0; t < counts[o]; t++) {
                __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(first + (size_t)t * src_stride + x)));
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(v, _mm256_set1_epi32(w[t])));
            }
            acc = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc, PRECISION), zero), top);
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, acc);
            const size_t n = row_bytes - x < 8 ? row_bytes - x : 8;
            for (size_t l = 0; l < n; l++) out[x + l] = (uint8_t)lanes[l];
        }
    }
}

#else

int clip_resample_has_avx2(void) { return 0; }

#endif

// MARK: - Entry points

void clip_resample_horizontal(const uint8_t *src, size_t src_width, size_t src_height, size_t row0, size_t rows,
                              const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                              size_t outputs, uint8_t *dst, size_t dst_stride, int use_avx2) {
#if defined(__x86_64__)
    if (use_avx2) {
        horizontal_avx2(src, src_width, src_height, row0, rows, starts, counts, weights, max_taps, outputs, dst, dst_stride);
        return;
    }
#endif
    (void)src_height;
    (void)use_avx2;
    horizontal_scalar(src, src_width, row0, rows, starts, counts, weights, max_taps, outputs, dst, dst_stride);
}

void clip_resample_vertical(const uint8_t *src, size_t src_stride, size_t row_bytes,
                            const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                            size_t outputs, uint8_t *dst, int use_avx2) {
#if defined(__x86_64__)
    if (use_avx2) {
        vertical_avx2(src, src_stride, row_bytes, starts, counts, weights, max_taps, outputs, dst);
        return;
    }
#endif
    (void)use_avx2;
    vertical_scalar(src, src_stride, row_bytes, starts, counts, weights, max_taps, outputs, dst);
}
