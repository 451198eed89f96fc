// One attention head on the packed micro-kernel: the two small products of a head (50x50x64 for an
// image, up to 77x77x64 for a text) cost OpenBLAS its packing and dispatch on every call; here K and
// V are laid out as the kernel's weight panels in a scratch buffer and the scores' softmax is AVX2.
#include "neural_kernels.h"

#include <math.h>
#include <string.h>

size_t nk_attention_scratch_count(size_t seq, size_t head_dim) {
    return seq * seq                                            // scores (seq, seq)
        + nk_packed_weight_count(seq, head_dim)                 // K as a (seq, head_dim) weight
        + nk_packed_weight_count(head_dim, seq);                // Vᵀ as a (head_dim, seq) weight
}

#if defined(__x86_64__)
#include "vector_math.h"

/// Packs Vᵀ without transposing: as a (head_dim, seq) weight, panel p holds
/// dst[(p·seq + k)·16 + c] = V[k, p·16 + c], i.e. 16-wide pieces of V's rows.
static void pack_transposed(const float *v, size_t stride, size_t seq, size_t head_dim, float *dst) {
    const size_t panels = (head_dim + NK_PANEL - 1) / NK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        const size_t col = p * NK_PANEL;
        const size_t cols = head_dim - col < NK_PANEL ? head_dim - col : NK_PANEL;
        float *panel = dst + p * seq * NK_PANEL;
        for (size_t k = 0; k < seq; k++) {
            memcpy(panel + k * NK_PANEL, v + k * stride + col, cols * sizeof(float));
            for (size_t c = cols; c < NK_PANEL; c++) panel[k * NK_PANEL + c] = 0.0f;
        }
    }
}

/// Horizontal max / sum of 8 lanes.
__attribute__((target("avx2,fma"), always_inline))
static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"), always_inline))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// softmax(scale · row[0..<valid]) in place, zero from `valid` to `count` (a causal mask without -inf).
__attribute__((target("avx2,fma")))
static void scaled_softmax_row(float *row, size_t count, size_t valid, float scale) {
    const __m256 s = _mm256_set1_ps(scale);
    __m256 mv = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= valid; i += 8) {
        const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(row + i), s);
        _mm256_storeu_ps(row + i, x);
        mv = _mm256_max_ps(mv, x);
    }
    float m = hmax256(mv);
    for (; i < valid; i++) {
        row[i] *= scale;
        m = row[i] > m ? row[i] : m;
    }
    const __m256 mb = _mm256_set1_ps(m);
    __m256 sv = _mm256_setzero_ps();
    for (i = 0; i + 8 <= valid; i += 8) {
        const __m256 e = nk_exp256(_mm256_sub_ps(_mm256_loadu_ps(row + i), mb));
        _mm256_storeu_ps(row + i, e);
        sv = _mm256_add_ps(sv, e);
    }
    float total = hsum256(sv);
    for (; i < valid; i++) {
        row[i] = expf(row[i] - m);
        total += row[i];
    }
    const float inverse = 1.0f / total;
    const __m256 ib = _mm256_set1_ps(inverse);
    for (i = 0; i + 8 <= valid; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), ib));
    for (; i < valid; i++) row[i] *= inverse;
    for (i = valid; i < count; i++) row[i] = 0.0f;
}

__attribute__((target("avx2,fma")))
void nk_attention_head_avx2(const float *q, const float *k, const float *v, size_t stride,
                            size_t seq, size_t queries, size_t first_query, size_t head_dim, float scale,
                            bool causal, float *scratch, float *out, size_t out_stride) {
    if (seq == 0 || queries == 0) return;
    float *scores = scratch;                                        // (queries, seq)
    float *k_packed = scores + seq * seq;                           // K as a (seq, head_dim) weight
    float *v_packed = k_packed + nk_packed_weight_count(seq, head_dim);  // Vᵀ as a (head_dim, seq) weight
    nk_pack_weight_strided(k, stride, seq, head_dim, k_packed);
    pack_transposed(v, stride, seq, head_dim, v_packed);
    // (queries, seq) = Q (queries, head_dim) · Kᵀ
    nk_packed_linear_avx2(q, stride, 0, queries, k_packed, head_dim, seq, 0, (seq + NK_PANEL - 1) / NK_PANEL,
                          NULL, scores, seq, false, NK_NONE);
    for (size_t i = 0; i < queries; i++) {
        scaled_softmax_row(scores + i * seq, seq, causal ? first_query + i + 1 : seq, scale);
    }
    // (queries, head_dim) = P (queries, seq) · V
    nk_packed_linear_avx2(scores, seq, 0, queries, v_packed, seq, head_dim, 0, (head_dim + NK_PANEL - 1) / NK_PANEL,
                          NULL, out, out_stride, false, NK_NONE);
}

#else

void nk_attention_head_avx2(const float *q, const float *k, const float *v, size_t stride,
                            size_t seq, size_t queries, size_t first_query, size_t head_dim, float scale,
                            bool causal, float *scratch, float *out, size_t out_stride) {
    (void)q; (void)k; (void)v; (void)stride; (void)seq; (void)queries; (void)first_query; (void)head_dim;
    (void)scale; (void)causal;
    (void)scratch; (void)out; (void)out_stride;
    __builtin_trap();
}

#endif
