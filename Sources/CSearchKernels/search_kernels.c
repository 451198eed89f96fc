// Kernels of the vector search: int8 rows scored against a float query (the compact exact scan and
// the graph's distances), and the double-precision re-rank. Swift in this package is compiled for
// baseline x86-64, so the fast paths are C with per-function target attributes, chosen at run time
// (the same scheme as CNeuralKernels).
#include "search_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// MARK: - CPU check

static int avx2_state = -1;   // -1 unknown, 0 no, 1 yes (a benign race: every writer stores the same value)

bool sk_has_avx2_fma(void) {
#if defined(__x86_64__)
    if (avx2_state < 0) {
        __builtin_cpu_init();
        avx2_state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return avx2_state == 1;
#else
    return false;
#endif
}

static int vnni_state = -1;

/// AVX-512 with VNNI (vpdpbusd): the scan's int8 dots 64 bytes per instruction.
static bool has_avx512_vnni(void) {
#if defined(__x86_64__)
    if (vnni_state < 0) {
        __builtin_cpu_init();
        vnni_state = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vnni");
    }
    return vnni_state == 1;
#else
    return false;
#endif
}

// MARK: - Quantization (portable)

float sk_quantize_i8(const float *x, size_t dim, int8_t *codes, float *error_norm) {
    float max_abs = 0;
    for (size_t i = 0; i < dim; i++) {
        const float a = fabsf(x[i]);
        if (a > max_abs) max_abs = a;
    }
    if (max_abs == 0) {
        for (size_t i = 0; i < dim; i++) codes[i] = 0;
        *error_norm = 0;
        return 0;
    }
    const float scale = max_abs / 127.0f;
    double err = 0;
    for (size_t i = 0; i < dim; i++) {
        long c = lrintf(x[i] / scale);
        if (c > 127) c = 127;
        if (c < -127) c = -127;
        codes[i] = (int8_t)c;
        const double e = (double)x[i] - (double)scale * (double)c;
        err += e * e;
    }
    *error_norm = (float)sqrt(err);
    return scale;
}

// MARK: - Portable fallbacks

static float dot_i8_f32_portable(const int8_t *codes, const float *q, size_t dim) {
    float sum = 0;
    for (size_t i = 0; i < dim; i++) sum += (float)codes[i] * q[i];
    return sum;
}

double sk_dot_f32_f64(const float *a, const float *b, size_t dim) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i + 1] * b[i + 1];
        s2 += (double)a[i + 2] * b[i + 2];
        s3 += (double)a[i + 3] * b[i + 3];
    }
    for (; i < dim; i++) s0 += (double)a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

void sk_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
}

#if defined(__x86_64__)

// MARK: - AVX2 + FMA

__attribute__((target("avx2,fma"), always_inline))
static inline float hsum256(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}

/// Eight int8 codes at p as eight floats.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 load8_i8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

__attribute__((target("avx2,fma")))
static float dot_i8_f32_avx2(const int8_t *codes, const float *q, size_t dim) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        a0 = _mm256_fmadd_ps(load8_i8(codes + i), _mm256_loadu_ps(q + i), a0);
        a1 = _mm256_fmadd_ps(load8_i8(codes + i + 8), _mm256_loadu_ps(q + i + 8), a1);
        a2 = _mm256_fmadd_ps(load8_i8(codes + i + 16), _mm256_loadu_ps(q + i + 16), a2);
        a3 = _mm256_fmadd_ps(load8_i8(codes + i + 24), _mm256_loadu_ps(q + i + 24), a3);
    }
    for (; i + 8 <= dim; i += 8) a0 = _mm256_fmadd_ps(load8_i8(codes + i), _mm256_loadu_ps(q + i), a0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < dim; i++) sum += (float)codes[i] * q[i];
    return sum;
}

/// Two rows at once share each load of the query.
__attribute__((target("avx2,fma")))
static void scores_i8_avx2(const int8_t *codes, const float *scales, size_t rows, size_t dim, const float *q, float *out) {
    size_t r = 0;
    const size_t body = dim / 16 * 16;
    for (; r + 2 <= rows; r += 2) {
        const int8_t *x0 = codes + r * dim;
        const int8_t *x1 = x0 + dim;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        for (size_t i = 0; i < body; i += 16) {
            const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
            a0 = _mm256_fmadd_ps(load8_i8(x0 + i), q0, a0);
            a1 = _mm256_fmadd_ps(load8_i8(x0 + i + 8), q1, a1);
            b0 = _mm256_fmadd_ps(load8_i8(x1 + i), q0, b0);
            b1 = _mm256_fmadd_ps(load8_i8(x1 + i + 8), q1, b1);
        }
        float s0 = hsum256(_mm256_add_ps(a0, a1)), s1 = hsum256(_mm256_add_ps(b0, b1));
        for (size_t i = body; i < dim; i++) {
            s0 += (float)x0[i] * q[i];
            s1 += (float)x1[i] * q[i];
        }
        out[r] = scales[r] * s0;
        out[r + 1] = scales[r + 1] * s1;
    }
    for (; r < rows; r++) out[r] = scales[r] * dot_i8_f32_avx2(codes + r * dim, q, dim);
}

__attribute__((target("avx2,fma")))
static int32_t dot_i8_i8_avx2(const int8_t *a, const int8_t *b, size_t dim) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        const __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    int32_t sum = _mm_cvtsi128_si32(s);
    for (; i < dim; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

/// |x| · sign(q, x) = x · q per byte pair, summed in pairs to int16 (at most 2 · 127 · 127, no
/// saturation), then to int32.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256i dot32_i8(__m256i x, __m256i q, __m256i acc) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(q, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

__attribute__((target("avx2,fma"), always_inline))
static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Two rows at once share each load of the query.
__attribute__((target("avx2,fma")))
static void scores_i8_i8_avx2(const int8_t *codes, const float *scales, size_t rows, size_t dim,
                              const int8_t *q, float q_scale, float *out) {
    const size_t body = dim / 32 * 32;
    size_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const int8_t *x0 = codes + r * dim;
        const int8_t *x1 = x0 + dim;
        __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
        for (size_t i = 0; i < body; i += 32) {
            const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + i));
            a = dot32_i8(_mm256_loadu_si256((const __m256i *)(x0 + i)), qv, a);
            b = dot32_i8(_mm256_loadu_si256((const __m256i *)(x1 + i)), qv, b);
        }
        int32_t s0 = hsum_epi32(a), s1 = hsum_epi32(b);
        for (size_t i = body; i < dim; i++) {
            s0 += (int32_t)x0[i] * q[i];
            s1 += (int32_t)x1[i] * q[i];
        }
        out[r] = scales[r] * q_scale * (float)s0;
        out[r + 1] = scales[r + 1] * q_scale * (float)s1;
    }
    for (; r < rows; r++) out[r] = scales[r] * q_scale * (float)dot_i8_i8_avx2(codes + r * dim, q, dim);
}

/// The same integer dots with vpdpbusd, which multiplies unsigned by signed bytes: each row byte is
/// offset by 128 (x XOR 0x80 as u8 is x + 128), so a row's sum is x·q + 128·Σq, and 128·Σq is taken
/// off once per query. Integer sums are exact, so the scores are the AVX2 kernel's bits. Four rows
/// at a time share each query load.
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void scores_i8_i8_vnni(const int8_t *codes, const float *scales, size_t rows, size_t dim,
                              const int8_t *q, float q_scale, float *out) {
    const size_t body = dim / 64 * 64;
    int32_t q_sum = 0;
    for (size_t i = 0; i < body; i++) q_sum += q[i];
    const int32_t offset = 128 * q_sum;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *x0 = codes + r * dim, *x1 = x0 + dim, *x2 = x1 + dim, *x3 = x2 + dim;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t i = 0; i < body; i += 64) {
            const __m512i qv = _mm512_loadu_si512(q + i);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_xor_si512(_mm512_loadu_si512(x0 + i), flip), qv);
            a1 = _mm512_dpbusd_epi32(a1, _mm512_xor_si512(_mm512_loadu_si512(x1 + i), flip), qv);
            a2 = _mm512_dpbusd_epi32(a2, _mm512_xor_si512(_mm512_loadu_si512(x2 + i), flip), qv);
            a3 = _mm512_dpbusd_epi32(a3, _mm512_xor_si512(_mm512_loadu_si512(x3 + i), flip), qv);
        }
        int32_t s[4] = {_mm512_reduce_add_epi32(a0) - offset, _mm512_reduce_add_epi32(a1) - offset,
                        _mm512_reduce_add_epi32(a2) - offset, _mm512_reduce_add_epi32(a3) - offset};
        for (size_t i = body; i < dim; i++) {
            s[0] += (int32_t)x0[i] * q[i];
            s[1] += (int32_t)x1[i] * q[i];
            s[2] += (int32_t)x2[i] * q[i];
            s[3] += (int32_t)x3[i] * q[i];
        }
        for (int j = 0; j < 4; j++) out[r + j] = scales[r + j] * q_scale * (float)s[j];
    }
    for (; r < rows; r++) out[r] = scales[r] * q_scale * (float)dot_i8_i8_avx2(codes + r * dim, q, dim);
}

#endif

// MARK: - Dispatch

void sk_scores_i8_i8(const int8_t *codes, const float *scales, size_t rows, size_t dim,
                     const int8_t *q_codes, float q_scale, float *out) {
#if defined(__x86_64__)
    if (has_avx512_vnni()) {
        scores_i8_i8_vnni(codes, scales, rows, dim, q_codes, q_scale, out);
        return;
    }
    if (sk_has_avx2_fma()) {
        scores_i8_i8_avx2(codes, scales, rows, dim, q_codes, q_scale, out);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) out[r] = scales[r] * q_scale * (float)sk_dot_i8_i8(codes + r * dim, q_codes, dim);
}

float sk_dot_i8_f32(const int8_t *codes, const float *q, size_t dim) {
#if defined(__x86_64__)
    if (sk_has_avx2_fma()) return dot_i8_f32_avx2(codes, q, dim);
#endif
    return dot_i8_f32_portable(codes, q, dim);
}

void sk_scores_i8(const int8_t *codes, const float *scales, size_t rows, size_t dim, const float *q, float *out) {
#if defined(__x86_64__)
    if (sk_has_avx2_fma()) {
        scores_i8_avx2(codes, scales, rows, dim, q, out);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) out[r] = scales[r] * dot_i8_f32_portable(codes + r * dim, q, dim);
}

int32_t sk_dot_i8_i8(const int8_t *a, const int8_t *b, size_t dim) {
#if defined(__x86_64__)
    if (sk_has_avx2_fma()) return dot_i8_i8_avx2(a, b, dim);
#endif
    int32_t sum = 0;
    for (size_t i = 0; i < dim; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

// XXH64 (Yann Collet's xxHash, 64-bit): four lanes over 32-byte blocks, then the tail and the avalanche.
static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL, P3 = 0x165667B19E3779F9ULL,
                      P4 = 0x85EBCA77C2B2AE63ULL, P5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t xx_round(uint64_t acc, uint64_t lane) { return rotl64(acc + lane * P2, 31) * P1; }
static inline uint64_t xx_merge(uint64_t acc, uint64_t lane) { return (acc ^ xx_round(0, lane)) * P1 + P4; }
static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

uint64_t sk_checksum64(const void *data, size_t bytes, uint64_t seed) {
    const uint8_t *p = (const uint8_t *)data;
    const uint8_t *end = p + bytes;
    uint64_t h;
    if (bytes >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; p + 32 <= end; p += 32) {
            v1 = xx_round(v1, load64(p));
            v2 = xx_round(v2, load64(p + 8));
            v3 = xx_round(v3, load64(p + 16));
            v4 = xx_round(v4, load64(p + 24));
        }
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(xx_merge(xx_merge(xx_merge(h, v1), v2), v3), v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)bytes;
    for (; p + 8 <= end; p += 8) h = rotl64(h ^ xx_round(0, load64(p)), 27) * P1 + P4;
    if (p + 4 <= end) {
        uint32_t v;
        memcpy(&v, p, 4);
        h = rotl64(h ^ ((uint64_t)v * P1), 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) h = rotl64(h ^ ((uint64_t)*p * P5), 11) * P1;
    h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
    return h;
}
