#ifndef NEURAL_KERNELS_H
#define NEURAL_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/// nk_packed_linear_avx2 on f16 panels (nk_pack_weight_f16): each weight widened with F16C as it is
/// loaded, then the same FMAs in the same order, so on weights that are exact f16 values the output
/// is bit-identical to nk_packed_linear_avx2's. Call only when nk_has_f16c() is true.
void nk_packed_linear_f16_avx2(const float *x, size_t x_stride, size_t row_begin, size_t row_end,
                               const uint16_t *packed, size_t in_features, size_t out_features,
                               size_t panel_begin, size_t panel_end,
                               const float *bias, float *out, size_t out_stride, bool accumulate,
                               nk_activation activation);

/// Whether this CPU has AVX-512 F and BW (and F16C): the packed kernels (f32, f16, int8) then run
/// 12-row tiles of 16-lane vectors, with outputs bit-identical to the AVX2 tiles'.
bool nk_has_avx512(void);

/// Runs the packed kernels' (f32, f16 and int8) AVX-512 tiles (when the CPU has them) or the AVX2
/// ones: for tests that compare the two. The default is the CPU's answer.
void nk_set_avx512(bool on);

/// Whether the AVX-512 tiles run now (nk_has_avx512, unless nk_set_avx512 or CLIP_KERNELS=avx2 said otherwise).
bool nk_avx512_enabled(void);

// MARK: - f16 weights

/// Whether this CPU has AVX2, FMA and F16C (the f16 weight kernels).
bool nk_has_f16c(void);

/// Whether every x[i] round-trips f32 -> f16 (nearest even) -> f32 bit for bit. Needs nk_has_f16c().
bool nk_is_exact_f16(const float *x, size_t count);

/// out[i] = x[i] rounded to f16 (nearest even), as bits. Needs nk_has_f16c().
void nk_f32_to_f16(const float *x, size_t count, uint16_t *out);

/// out[i] = x[i] (f16 bits) as a float (exact). Needs nk_has_f16c().
void nk_f16_to_f32(const uint16_t *x, size_t count, float *out);

/// nk_pack_weight's panels, rounded to f16 (nk_packed_weight_count values); false when out of memory.
/// Needs nk_has_f16c().
bool nk_pack_weight_f16(const float *w, size_t out_features, size_t in_features, uint16_t *packed);

/// Hands the heap's free pages back to the system (glibc malloc_trim), e.g. after loading weights,
/// whose temporary copies would otherwise stay resident.
void nk_release_free_memory(void);

// MARK: - int8 weights (int8_linear.c)

/// Bytes nk_pack_weight_int8 writes: out_features rounded up to a panel, times in_features rounded
/// up to even.
size_t nk_int8_weight_bytes(size_t out_features, size_t in_features);

/// Scales nk_pack_weight_int8 writes (out_features rounded up to a panel).
size_t nk_int8_scale_count(size_t out_features);

/// Quantizes w (out_features, in_features) per output channel: scales[o] = max|w[o, :]| / 127 (1 for
/// an all-zero row), q = nearbyint(w / scale) in [-127, 127], packed in panels of 16 columns, each
/// k pair as 32 bytes (columns 0..7 then 8..15, each column's two weights).
void nk_pack_weight_int8(const float *w, size_t out_features, size_t in_features, int8_t *packed,
                         float *scales);

/// 32-bit words of nk_quantize_rows_int8's output for `rows` rows, in either format:
/// nk_int8_row_scales_count(rows) times (k pairs + 1).
size_t nk_int8_rows_count(size_t rows, size_t in_features);

/// Row scales nk_quantize_rows_int8 writes: rows rounded up to the kernel's tile height.
size_t nk_int8_row_scales_count(size_t rows);

/// Quantizes x (rows, in_features; row stride x_stride) per row: row_scales[r] = max|x[r, :]| / 127
/// (1 for an all-zero row), q = nearbyint(x / scale), in tiles of the kernel's height: as s16, two
/// per word (k even in the low half); or, for the VNNI kernel (`vnni`), as s8, four per word (the
/// lowest k in the low byte), followed by each row's Σ q. row_scales: nk_int8_row_scales_count(rows)
/// (0 past rows). Needs nk_has_avx2_fma().
void nk_quantize_rows_int8(const float *x, size_t x_stride, size_t rows, size_t in_features,
                           int32_t *packed_rows, float *row_scales, bool vnni);

/// out[r, o] (= or +=) row_scales[r] · scales[o] · Σ_k qx[r, k] · qw[o, k] + bias[o], then `activation`,
/// for every row and the columns of panels panel_begin..<panel_end; packed_rows as quantized with
/// the same `vnni`. Every kernel (AVX2, AVX-512, VNNI) computes the same integer sums, so the same
/// bits. Needs nk_has_avx2_fma(), and for `vnni` nk_int8_vnni_enabled().
void nk_int8_linear_avx2(const int32_t *packed_rows, const float *row_scales, size_t rows,
                         const int8_t *packed, const float *scales, size_t in_features, size_t out_features,
                         size_t panel_begin, size_t panel_end, const float *bias, float *out,
                         size_t out_stride, bool accumulate, nk_activation activation, bool vnni);

/// Whether the CPU has AVX-512 VNNI (and what nk_has_avx512 asks).
bool nk_has_avx512_vnni(void);

/// Whether int8 layers should take the VNNI kernel: the CPU has it and the AVX-512 tiles are on
/// (CLIP_KERNELS=avx2 turns both off), unless nk_set_int8_vnni(false) said otherwise. Read once
/// per call, for both the quantization and the kernel.
bool nk_int8_vnni_enabled(void);

/// Tests: the VNNI kernel on (if the CPU has it) or off (the AVX-512 vpmaddwd tile then runs).
void nk_set_int8_vnni(bool on);

/// Floats of scratch nk_attention_head_avx2 takes for `seq` tokens of a `head_dim`-wide head.
size_t nk_attention_scratch_count(size_t seq, size_t head_dim);

/// One attention head of one sequence of `seq` positions, for the `queries` of them from position
/// `first_query` on: out (queries, head_dim), row stride out_stride, = softmax(scale · Q · Kᵀ,
/// masked to keys j <= first_query + i when causal) · V, with q (queries, head_dim) and k, v (seq,
/// head_dim) each at row stride `stride` (columns of a fused QKV projection). A query row's output
/// does not depend on which other query rows are asked for. scratch: nk_attention_scratch_count(seq,
/// head_dim) floats. Call only when nk_has_avx2_fma() is true.
void nk_attention_head_avx2(const float *q, const float *k, const float *v, size_t stride,
                            size_t seq, size_t queries, size_t first_query, size_t head_dim, float scale,
                            bool causal, float *scratch, float *out, size_t out_stride);

#endif
