// f16 weights for the packed kernel: the lossless check (does every float of a weight survive
// f32 -> f16 -> f32 bit for bit?) and the packing into f16 panels, with F16C when the CPU has it.
#include "neural_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

bool nk_has_f16c(void) {
    __builtin_cpu_init();
    return nk_has_avx2_fma() && __builtin_cpu_supports("f16c");
}

__attribute__((target("avx2,f16c")))
bool nk_is_exact_f16(const float *x, size_t count) {
    size_t i = 0;
    __m256i differ = _mm256_setzero_si256();
    for (; i + 8 <= count; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 back = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        differ = _mm256_or_si256(differ, _mm256_xor_si256(_mm256_castps_si256(v), _mm256_castps_si256(back)));
    }
    if (!_mm256_testz_si256(differ, differ)) return false;
    for (; i < count; i++) {
        const __m128 v = _mm_set_ss(x[i]);
        const __m128 back = _mm_cvtph_ps(_mm_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        if (_mm_cvtsi128_si32(_mm_castps_si128(v)) != _mm_cvtsi128_si32(_mm_castps_si128(back))) return false;
    }
    return true;
}

__attribute__((target("avx2,f16c")))
void nk_f32_to_f16(const float *x, size_t count, uint16_t *out) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < count; i++) {
        out[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 0);
    }
}

#else

bool nk_has_f16c(void) { return false; }
bool nk_is_exact_f16(const float *x, size_t count) { (void)x; (void)count; __builtin_trap(); }
void nk_f32_to_f16(const float *x, size_t count, uint16_t *out) { (void)x; (void)count; (void)out; __builtin_trap(); }

#endif

bool nk_pack_weight_f16(const float *w, size_t out_features, size_t in_features, uint16_t *packed) {
    const size_t count = nk_packed_weight_count(out_features, in_features);
    float *panels = malloc((count ? count : 1) * sizeof(float));
    if (!panels) return false;
    nk_pack_weight(w, out_features, in_features, panels);
    nk_f32_to_f16(panels, count, packed);
    free(panels);
    return true;
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c")))
void nk_f16_to_f32(const uint16_t *x, size_t count, float *out) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < count; i++) out[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(x[i])));
}
#else
void nk_f16_to_f32(const uint16_t *x, size_t count, float *out) { (void)x; (void)count; (void)out; __builtin_trap(); }
#endif
