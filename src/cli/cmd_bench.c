/* gendec bench <what>: benchmarks that print measured figures (never timed tests). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

double cli_median(double* v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double cli_bench_sgemm_gflops(int m, int n, int k, double min_seconds) {
    float* a = malloc(sizeof(float) * (size_t)m * k);
    float* b = malloc(sizeof(float) * (size_t)k * n);
    float* c = malloc(sizeof(float) * (size_t)m * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7) % 13) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 5) % 11) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n); /* warm-up */
    double flop = 2.0 * m * n * k, runs[7];
    for (int r = 0; r < 7; r++) {
        int reps = 0;
        double t0 = gd_now(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            reps++;
            t = gd_now() - t0;
        } while (t < min_seconds / 7);
        runs[r] = flop * reps / t / 1e9;
    }
    free(a), free(b), free(c);
    return cli_median(runs, 7);
}

static int bench_gemm(int argc, char** argv) {
    const char* usage = "usage: gendec bench gemm [--quick]\n\n"
                        "Measures cblas_sgemm GFLOP/s (median of 7 runs) for square sizes and the shapes of the\n"
                        "MNIST models (batch x in x out), with 1 and 2 OpenBLAS threads. Other benchmarks quote\n"
                        "their speed as a fraction of the best figure here.\n";
    int quick, rc = cli_quick_args("bench gemm", usage, argc, argv, &quick);
    if (rc >= 0) return rc;
    struct {
        const char* what;
        int m, n, k;
    } shapes[] = {
        {"square 512", 512, 512, 512},         {"square 1024", 1024, 1024, 1024},
        {"enc fc 32x784->512", 32, 512, 784},  {"enc fc 256x784->512", 256, 512, 784},
        {"dec fc 256x512->784", 256, 784, 512}, {"dec fc 32x512->784", 32, 784, 512},
        {"dec fc 256x256->512", 256, 512, 256}, {"conv im2col 64x(16*9)->196*256", 64, 196 * 256 / 8, 144},
    };
    int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    double secs = quick ? 0.2 : 1.0;
    printf("%-34s %12s %12s\n", "sgemm shape (M x K -> N)", "1 thread", "2 threads");
    for (int s = 0; s < n_shapes; s++) {
        double g[2];
        for (int t = 1; t <= 2; t++) {
            openblas_set_num_threads(t);
            g[t - 1] = cli_bench_sgemm_gflops(shapes[s].m, shapes[s].n, shapes[s].k, secs);
        }
        printf("%-34s %8.1f GF/s %8.1f GF/s\n", shapes[s].what, g[0], g[1]);
    }
    return CLI_EXIT_OK;
}

static const struct {
    const char* name;
    const char* summary;
    int (*run)(int, char**);
} benches[] = {
    {"gemm", "cblas_sgemm GFLOP/s for the model shapes, 1 and 2 threads", bench_gemm},
    {"layers", "nn dense/conv/convT forward and backward times at the model shapes", cli_bench_layers},
    {"attack", "FGM images/s, NEAT genome evaluations/s and generations/s against the CNN", cli_bench_attack},
    {"classify", "generative classifier images/s, decoder GFLOP/s vs sgemm roof, 1 vs 2 ranks", cli_bench_classify},
    {"data", "preparing MNIST, 128k multiMNIST, 30k traffic signs (s, images/s)", cli_bench_data},
    {"train", "training images/s, GFLOP/s and fraction of the sgemm roof (MNIST models, 1 and 2 ranks)", cli_bench_train},
    {"comm", "allreduce / reduce-scatter / allgather times, 4 B..64 MiB, alpha-beta fits (mpiexec -n 2)", cli_bench_comm},
    {"dump", "fixed batch, noise, loss, gradients, Adam and Eq. 3 steps for bench/reference.py", cli_bench_dump},
    {"measure", "one training or classification measurement as a JSON line (for bench/run)", cli_bench_measure},
};

int cmd_bench(int argc, char** argv) {
    size_t n = sizeof benches / sizeof benches[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: gendec bench <what> [options]\n\nbenchmarks (each prints measured figures):\n");
        for (size_t i = 0; i < n; i++) printf("  %-10s %s\n", benches[i].name, benches[i].summary);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], benches[i].name)) return benches[i].run(argc - 1, argv + 1);
    return cli_usage_error("bench", "unknown benchmark '%s'", argv[1]);
}
