#ifndef SEARCH_KERNELS_H
#define SEARCH_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has AVX2 and FMA (checked at run time: the binary stays baseline x86-64).
bool sk_has_avx2_fma(void);

/// Symmetric int8 quantization of one row: codes[i] = round(x[i] / scale), scale = max|x| / 127
/// (0 for an all-zero row). Returns scale; *error_norm = ||x - scale * codes||_2 (computed in double),
/// the Cauchy-Schwarz bound on how far `scale * dot(codes, q)` can be from `dot(x, q)` for a unit q.
/// x: (dim), codes: (dim).
float sk_quantize_i8(const float *x, size_t dim, int8_t *codes, float *error_norm);

/// out[r] = scales[r] * dot(codes[r, :], q) for r < rows, in float.
/// codes: (rows, dim) row-major, scales: (rows), q: (dim), out: (rows). Picks AVX2+FMA when present.
void sk_scores_i8(const int8_t *codes, const float *scales, size_t rows, size_t dim, const float *q, float *out);

/// out[r] = scales[r] * q_scale * dot(codes[r, :], q_codes) for r < rows, the dot exact in int32:
/// the exact scan's kernel (a query quantized like the rows). codes: (rows, dim) row-major, scales:
/// (rows), q_codes: (dim), out: (rows). Picks AVX2 when present.
void sk_scores_i8_i8(const int8_t *codes, const float *scales, size_t rows, size_t dim,
                     const int8_t *q_codes, float q_scale, float *out);

/// dot(codes, q) (codes: (dim) int8, q: (dim) float), unscaled. Picks AVX2+FMA when present.
float sk_dot_i8_f32(const int8_t *codes, const float *q, size_t dim);

/// dot(a, b) of two int8 rows (dim), exact in int32 (|dim| < 2^17).
int32_t sk_dot_i8_i8(const int8_t *a, const int8_t *b, size_t dim);

/// dot(a, b) of two float rows (dim), summed in double: the exact re-rank.
double sk_dot_f32_f64(const float *a, const float *b, size_t dim);

/// Hints the cache to fetch `bytes` from `p` (a node about to be scored).
void sk_prefetch(const void *p, size_t bytes);

/// A 64-bit checksum of `bytes` bytes at `data` (XXH64; not cryptographic), chained by
/// passing one section's result as the next one's `seed`: the vector file's integrity check.
uint64_t sk_checksum64(const void *data, size_t bytes, uint64_t seed);

#endif
