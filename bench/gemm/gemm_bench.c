// Per-shape timing of the packed AVX2 linear kernel (Sources/CNeuralKernels/packed_linear.c) against
// OpenBLAS sgemm on CLIP ViT-B/32's Linear shapes, one thread and two (split as NeuralOps splits).
// Measures, asserts only that both agree. Build and run (from the repository root):
//   cc -O2 -pthread -ISources/CNeuralKernels/include bench/gemm/gemm_bench.c \
//      Sources/CNeuralKernels/packed_linear.c Sources/CNeuralKernels/cpu_features.c \
//      $(pkg-config --cflags --libs openblas) -lm -o /tmp/gemm_bench && /tmp/gemm_bench
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include "neural_kernels.h"

// One thread: this thread's CPU time (the machine is shared; time spent descheduled is not the
// kernel's). Two threads: wall time.
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec t;
    clock_gettime(clock_id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    int which;  // 0 = OpenBLAS, 1 = packed split by columns, 2 = packed split by rows
    size_t m, n, k, worker, workers;
    const float *x, *w, *packed, *bias;
    float *out;
} Job;

// Split over workers by 16-column panels, as NeuralOps' linear does (or by rows).
static void run(const Job *j) {
    size_t panels = (j->n + 15) / 16;
    size_t p0 = panels * j->worker / j->workers, p1 = panels * (j->worker + 1) / j->workers;
    if (j->which == 2) {
        size_t tiles = (j->m + 5) / 6;
        size_t r0 = tiles * j->worker / j->workers * 6, r1 = tiles * (j->worker + 1) / j->workers * 6;
        if (r1 > j->m) r1 = j->m;
        nk_packed_linear_avx2(j->x, j->k, r0, r1, j->packed, j->k, j->n, 0, panels, j->bias, j->out, j->n, false, NK_NONE);
    } else if (j->which == 1) {
        nk_packed_linear_avx2(j->x, j->k, 0, j->m, j->packed, j->k, j->n, p0, p1, j->bias, j->out, j->n, false, NK_NONE);
    } else {
        size_t c0 = p0 * 16, c1 = p1 * 16 < j->n ? p1 * 16 : j->n;
        for (size_t r = 0; r < j->m; r++) memcpy(j->out + r * j->n + c0, j->bias + c0, (c1 - c0) * 4);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, c1 - c0, j->k, 1, j->x, j->k,
                    j->w + c0 * j->k, j->k, 1, j->out + c0, j->n);
    }
}

static void *thread_main(void *arg) { run(arg); return NULL; }

static void run_threads(Job base, size_t workers) {
    pthread_t t[8];
    Job jobs[8];
    for (size_t i = 0; i < workers; i++) {
        jobs[i] = base; jobs[i].worker = i; jobs[i].workers = workers;
        if (i > 0) pthread_create(&t[i], NULL, thread_main, &jobs[i]);
    }
    run(&jobs[0]);
    for (size_t i = 1; i < workers; i++) pthread_join(t[i], NULL);
}

static float rnd(void) { return (float)((double)rand() / RAND_MAX) - 0.5f; }

int main(int argc, char **argv) {
    openblas_set_num_threads(1);
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    size_t shapes[][3] = {  // m, n, k
        {50, 2304, 768}, {50, 768, 768}, {50, 3072, 768}, {50, 768, 3072}, {49, 768, 3072},
        {1600, 2304, 768}, {1600, 768, 768}, {1600, 3072, 768}, {1600, 768, 3072},
        {7, 1536, 512}, {7, 512, 512}, {7, 2048, 512}, {7, 512, 2048},
        {77, 1536, 512}, {77, 512, 512}, {77, 2048, 512}, {77, 512, 2048},
        {200, 2304, 768}, {400, 2304, 768}, {800, 2304, 768}, {400, 768, 3072}, {800, 768, 3072},
    };
    printf("%-18s %8s %8s %8s %8s %8s  (GFLOP/s, best of %d)\n", "m x n x k", "blas1", "ours1", "blas2",
           "ours2", "ours2row", reps);
    const char *only = argc > 2 ? argv[2] : NULL;  // e.g. "0,5,9": shape indices to run
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        if (only) {
            char key[8];
            snprintf(key, sizeof key, "%zu", s);
            char list[64];
            snprintf(list, sizeof list, ",%s,", only);
            char needle[12];
            snprintf(needle, sizeof needle, ",%s,", key);
            if (!strstr(list, needle)) continue;
        }
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *x = malloc(m * k * 4), *w = malloc(n * k * 4), *bias = malloc(n * 4);
        float *packed = aligned_alloc(64, (nk_packed_weight_count(n, k) * 4 + 63) / 64 * 64);  // as LinearWeight
        float *o1 = malloc(m * n * 4), *o2 = malloc(m * n * 4), *o3 = malloc(m * n * 4);
        for (size_t i = 0; i < m * k; i++) x[i] = rnd();
        for (size_t i = 0; i < n * k; i++) w[i] = rnd();
        for (size_t i = 0; i < n; i++) bias[i] = rnd();
        nk_pack_weight(w, n, k, packed);
        double best[3][2] = {{1e9, 1e9}, {1e9, 1e9}, {1e9, 1e9}};
        for (int r = 0; r < reps; r++) {
            for (int th = 0; th < 2; th++) {
                for (int which = 0; which < 3; which++) {  // interleaved, back to back
                    if (which == 2 && th == 0) continue;
                    clock_id = th == 0 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
                    Job j = {which, m, n, k, 0, 1, x, w, packed, bias, which == 0 ? o1 : which == 1 ? o2 : o3};
                    double t0 = now();
                    int inner = 0;
                    do { run_threads(j, th + 1); inner++; } while (now() - t0 < 0.05);
                    double t = (now() - t0) / inner;
                    if (t < best[which][th]) best[which][th] = t;
                }
            }
        }
        double maxdiff = 0;
        for (size_t i = 0; i < m * n; i++) {
            double d = fmax(fabs(o1[i] - o2[i]), fabs(o1[i] - o3[i]));
            if (d > maxdiff) maxdiff = d;
        }
        double flop = 2.0 * m * n * k;
        char name[32];
        snprintf(name, sizeof name, "%zux%zux%zu", m, n, k);
        printf("%-18s %8.1f %8.1f %8.1f %8.1f %8.1f  maxdiff %.2g\n", name, flop / best[0][0] * 1e-9,
               flop / best[1][0] * 1e-9, flop / best[0][1] * 1e-9, flop / best[1][1] * 1e-9,
               flop / best[2][1] * 1e-9, maxdiff);
        free(x); free(w); free(bias); free(packed); free(o1); free(o2); free(o3);
    }
    return 0;
}
