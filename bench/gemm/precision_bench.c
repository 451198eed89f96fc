// The linear layers of one short text query (7 rows through ViT-B/32's 12 text layers: qkv 512->1536,
// out 512->512, fc1 512->2048, fc2 2048->512; every layer's weights distinct, 151 MB in f32, so they
// stream from memory as in the model) and of one batch-32 image pass's first vision layer shapes
// (1600 rows), in each weight format of the packed kernels: f32, f16 (F16C), int8 (VNNI where the
// CPU has it, and vpmaddwd).
// One thread, this thread's CPU time (the machine is shared: time spent descheduled is not the
// kernel's; time stalled on memory is). Measures, asserts nothing. Build and run (repository root):
//   cc -O2 -pthread -ISources/CNeuralKernels/include bench/gemm/precision_bench.c \
//      Sources/CNeuralKernels/packed_linear.c Sources/CNeuralKernels/half_weights.c \
//      Sources/CNeuralKernels/int8_linear.c Sources/CNeuralKernels/cpu_features.c -lm -o /tmp/precision_bench \
//      && /tmp/precision_bench [reps]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "neural_kernels.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { size_t out, in; float *f32; uint16_t *f16; int8_t *i8; float *scales; } layer;

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / RAND_MAX * 0.07f - 0.035f;
    return p;
}

static void prepare(layer *l, unsigned *seed) {
    float *w = random_floats(l->out * l->in, seed);
    l->f32 = malloc(nk_packed_weight_count(l->out, l->in) * sizeof(float));
    nk_pack_weight(w, l->out, l->in, l->f32);
    l->f16 = malloc(nk_packed_weight_count(l->out, l->in) * sizeof(uint16_t));
    nk_pack_weight_f16(w, l->out, l->in, l->f16);
    l->i8 = malloc(nk_int8_weight_bytes(l->out, l->in));
    l->scales = malloc(nk_int8_scale_count(l->out) * sizeof(float));
    nk_pack_weight_int8(w, l->out, l->in, l->i8, l->scales);
    free(w);
}

/// One pass of `rows` rows through every layer in format `f` (0 f32, 1 f16, 2 int8); CPU seconds.
static double pass(layer *layers, size_t count, size_t rows, const float *x, float *y, int f) {
    int32_t *q = malloc(nk_int8_rows_count(rows, 4096) * sizeof(int32_t));
    float *qs = malloc((rows + 6) * sizeof(float));
    const double start = cpu_now();
    for (size_t i = 0; i < count; i++) {
        const layer *l = &layers[i];
        const size_t panels = (l->out + NK_PANEL - 1) / NK_PANEL;
        if (f == 0) nk_packed_linear_avx2(x, l->in, 0, rows, l->f32, l->in, l->out, 0, panels, NULL, y, l->out, false, NK_NONE);
        if (f == 1) nk_packed_linear_f16_avx2(x, l->in, 0, rows, l->f16, l->in, l->out, 0, panels, NULL, y, l->out, false, NK_NONE);
        if (f >= 2) {  // 2: the int8 kernel this CPU runs (VNNI when it has it), 3: without VNNI
            const bool vnni = f == 2 && nk_int8_vnni_enabled();
            nk_quantize_rows_int8(x, l->in, rows, l->in, q, qs, vnni);
            nk_int8_linear_avx2(q, qs, rows, l->i8, l->scales, l->in, l->out, 0, panels, NULL, y, l->out, false, NK_NONE, vnni);
        }
    }
    const double seconds = cpu_now() - start;
    free(q);
    free(qs);
    return seconds;
}

static int cmp(const void *a, const void *b) { double d = *(const double *)a - *(const double *)b; return (d > 0) - (d < 0); }

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 9;
    unsigned seed = 1;
    const size_t text_shapes[4][2] = {{1536, 512}, {512, 512}, {2048, 512}, {512, 2048}};
    const size_t vision_shapes[4][2] = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}};
    layer text[48], vision[4];
    for (size_t i = 0; i < 48; i++) { text[i] = (layer){text_shapes[i % 4][0], text_shapes[i % 4][1]}; prepare(&text[i], &seed); }
    for (size_t i = 0; i < 4; i++) { vision[i] = (layer){vision_shapes[i][0], vision_shapes[i][1]}; prepare(&vision[i], &seed); }
    float *x = random_floats(1600 * 3072, &seed), *y = malloc(1600 * 3072 * sizeof(float));
    printf("| one thread, CPU ms (median of %d) | f32 | f16 | int8 (%s) | int8 (vpmaddwd) |\n| --- | --- | --- | --- | --- |\n",
           reps, nk_int8_vnni_enabled() ? "VNNI" : "vpmaddwd");
    for (int which = 0; which < 2; which++) {
        double median[4];
        for (int f = 0; f < 4; f++) {
            double t[64];
            for (int r = 0; r < reps; r++) {
                t[r] = which == 0 ? pass(text, 48, 7, x, y, f) : pass(vision, 4, 1600, x, y, f);
            }
            qsort(t, reps, sizeof(double), cmp);
            median[f] = t[reps / 2];
        }
        printf("| %s | %.2f | %.2f (%.2fx) | %.2f (%.2fx) | %.2f (%.2fx) |\n",
               which == 0 ? "text tower linears, 7 rows (151 MB of f32 weights)" : "one vision layer's linears, 1600 rows",
               1000 * median[0], 1000 * median[1], median[1] / median[0], 1000 * median[2], median[2] / median[0],
               1000 * median[3], median[3] / median[0]);
    }
    return 0;
}
