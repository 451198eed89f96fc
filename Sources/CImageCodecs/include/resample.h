#ifndef CLIP_RESAMPLE_H
#define CLIP_RESAMPLE_H
// The two passes of Pillow's antialiased resize (Resample.c, 8 bits per channel) over interleaved
// RGB bytes, with the taps computed by the caller (BicubicResampler.Kernel: fixed point with
// CLIP_RESAMPLE_PRECISION_BITS fraction bits). The arithmetic is Pillow's: 32-bit integer sums of
// byte x weight, so any order of summation gives its result to the bit; the AVX2 paths reorder it.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLIP_RESAMPLE_PRECISION_BITS 22

/// Whether this CPU runs the AVX2 passes (otherwise the scalar ones run).
int clip_resample_has_avx2(void);

/// Rows `row0 ..< row0 + rows` of `src` (`src_width` RGB pixels per row, `src_height` rows in all),
/// each to `outputs` pixels: output o reads `counts[o]` pixels from `starts[o]` with the weights
/// `weights[o * max_taps ...]`. Row i of the result goes to `dst + i * dst_stride`.
void clip_resample_horizontal(const uint8_t *src, size_t src_width, size_t src_height, size_t row0, size_t rows,
                              const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                              size_t outputs, uint8_t *dst, size_t dst_stride, int use_avx2);

/// Output row o is the sum over t < counts[o] of row `starts[o] + t` of `src` (rows `src_stride`
/// apart, `row_bytes` used, `src_stride` a multiple of 8) times `weights[o * max_taps + t]`,
/// written to `dst + o * row_bytes`.
void clip_resample_vertical(const uint8_t *src, size_t src_stride, size_t row_bytes,
                            const int32_t *starts, const int32_t *counts, const int32_t *weights, size_t max_taps,
                            size_t outputs, uint8_t *dst, int use_avx2);

#ifdef __cplusplus
}
#endif

#endif
