#ifndef NEURAL_KERNELS_H
#define NEURAL_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

/// Whether this CPU has AVX2 and FMA (checked at run time: the binary stays baseline x86-64).
bool nk_has_avx2_fma(void);

/// out[r, o] (= or +=) dot(x[r, :], w[o, :]) + bias[o] for r < rows, first <= o < last.
/// x: (rows, in) with row stride x_stride; w: (out_features, in); bias: (out_features) or NULL;
/// out: (rows, out_features). Call only when nk_has_avx2_fma() is true.
void nk_small_rows_linear_avx2(const float *x, size_t rows, size_t x_stride,
                               const float *w, size_t in_features, size_t out_features,
                               size_t first, size_t last,
                               const float *bias, float *out, bool accumulate);

#endif
