#ifndef NEURAL_KERNELS_H
#define NEURAL_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

/// Whether this CPU has AVX2 and FMA (checked at run time: the binary stays baseline x86-64).
bool nk_has_avx2_fma(void);

/// A spin-wait hint to the CPU (`pause` on x86): lets the sibling hyperthread run and saves power.
static inline void nk_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/// Columns per packed weight panel (the micro-kernel's output tile width).
#define NK_PANEL 16

/// Floats `nk_pack_weight` writes for a (out_features, in_features) weight: out_features rounded up
/// to a whole panel, times in_features.
size_t nk_packed_weight_count(size_t out_features, size_t in_features);

/// Packs w (out_features, in_features), PyTorch's Linear layout, into panels of NK_PANEL output
/// columns: panel p holds packed[(p·in + k)·16 + c] = w[p·16 + c, k], zero past out_features.
void nk_pack_weight(const float *w, size_t out_features, size_t in_features, float *packed);

/// nk_pack_weight for a weight whose rows are `w_stride` floats apart (a strided view, e.g. one head's
/// K inside a fused QKV projection).
void nk_pack_weight_strided(const float *w, size_t w_stride, size_t out_features, size_t in_features,
                            float *packed);

/// An activation applied to a linear layer's output as it is stored.
typedef enum { NK_NONE = 0, NK_QUICK_GELU = 1 } nk_activation;

/// out[r, o] (= or +=) dot(x[r, :], w[o, :]) + bias[o], then `activation`, for row_begin <= r < row_end and the output
/// columns of panels panel_begin..<panel_end, with w packed by nk_pack_weight.
/// x: row stride x_stride; out: row stride out_stride; bias: (out_features) or NULL.
/// Call only when nk_has_avx2_fma() is true.
void nk_packed_linear_avx2(const float *x, size_t x_stride, size_t row_begin, size_t row_end,
                           const float *packed, size_t in_features, size_t out_features,
                           size_t panel_begin, size_t panel_end,
                           const float *bias, float *out, size_t out_stride, bool accumulate,
                           nk_activation activation);

/// Floats of scratch nk_attention_head_avx2 takes for `seq` tokens of a `head_dim`-wide head.
size_t nk_attention_scratch_count(size_t seq, size_t head_dim);

/// One attention head of one sequence: out (seq, head_dim), row stride out_stride, =
/// softmax(scale · Q · Kᵀ, masked to j <= i when causal) · V, with q, k, v (seq, head_dim) each at row
/// stride `stride` (columns of a fused QKV projection). scratch: nk_attention_scratch_count floats.
/// Call only when nk_has_avx2_fma() is true.
void nk_attention_head_avx2(const float *q, const float *k, const float *v, size_t stride,
                            size_t seq, size_t head_dim, float scale, bool causal,
                            float *scratch, float *out, size_t out_stride);

#endif
