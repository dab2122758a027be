/* gendec bench layers: forward and backward time of nn's layers at the shapes the MNIST models use. */
#include <cblas.h>
#include <string.h>

#include "cli.h"
#include "gendec/nn.h"

enum { L_DENSE, L_CONV, L_CONVT };

typedef struct {
    const char* what;
    int kind;
    int N, C, H, W, OC, K, stride, pad, out_pad; /* dense: N rows, C in, OC out */
} layer_case;

/* Median seconds of `runs` calls of forward (backward = 0) or backward (= 1). */
static double time_layer(const layer_case* l, const gd_conv_shape* s, float* const* a, int backward,
                         double min_seconds) {
    double t[7];
    for (int r = 0; r < 7; r++) {
        int reps = 0;
        double t0 = gd_now(), dt;
        do {
            if (l->kind == L_DENSE && !backward) gd_dense_forward(a[3], a[0], a[1], a[2], l->N, l->C, l->OC);
            if (l->kind == L_DENSE && backward) gd_dense_backward(a[4], a[5], a[6], a[3], a[0], a[1], l->N, l->C, l->OC);
            if (l->kind == L_CONV && !backward) gd_conv2d_forward(a[3], a[0], a[1], a[2], s, a[7]);
            if (l->kind == L_CONV && backward) gd_conv2d_backward(a[4], a[5], a[6], a[3], a[0], a[1], s, a[7]);
            if (l->kind == L_CONVT && !backward) gd_conv_transpose2d_forward(a[3], a[0], a[1], a[2], s, a[7]);
            if (l->kind == L_CONVT && backward)
                gd_conv_transpose2d_backward(a[4], a[5], a[6], a[3], a[0], a[1], s, a[7]);
            reps++;
        } while ((dt = gd_now() - t0) < min_seconds / 7);
        t[r] = dt / reps;
    }
    for (int i = 1; i < 7; i++)
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1], t[j - 1] = x;
        }
    return t[3];
}

/* Runs one case with `threads` OpenBLAS threads; prints a line. Returns 0, or 1 when memory ran out. */
static int bench_case(const layer_case* l, double secs) {
    gd_conv_shape s = {0};
    gd_error err;
    if (l->kind == L_CONV && gd_conv_shape_init(&s, l->N, l->C, l->H, l->W, l->OC, l->K, l->K, l->stride, l->pad, &err))
        return 1;
    if (l->kind == L_CONVT &&
        gd_convT_shape_init(&s, l->N, l->C, l->H, l->W, l->OC, l->K, l->K, l->stride, l->pad, l->out_pad, &err))
        return 1;
    size_t n_in = l->kind == L_DENSE ? (size_t)l->N * l->C : (size_t)l->N * l->C * l->H * l->W;
    size_t n_w = l->kind == L_DENSE ? (size_t)l->OC * l->C : (size_t)l->OC * l->C * l->K * l->K;
    size_t n_out = l->kind == L_DENSE ? (size_t)l->N * l->OC : (size_t)l->N * l->OC * s.OH * s.OW;
    size_t n_ws = l->kind == L_CONV ? gd_conv2d_workspace_size(&s) : l->kind == L_CONVT ? gd_conv_transpose2d_workspace_size(&s) : 1;
    /* in, w, b, out, din, dw, db, work */
    size_t sz[8] = {n_in, n_w, (size_t)l->OC, n_out, n_in, n_w, (size_t)l->OC, n_ws};
    float* a[8];
    int ok = 1;
    for (int i = 0; i < 8; i++) ok &= (a[i] = gd_alloc(sz[i] * sizeof(float))) != NULL;
    if (ok) {
        for (size_t i = 0; i < n_in; i++) a[0][i] = (float)((i * 7) % 13) * 0.1f;
        for (size_t i = 0; i < n_w; i++) a[1][i] = (float)((i * 5) % 11) * 0.01f;
        /* multiply-adds of the forward: out elements x (inputs per output) */
        double macs = l->kind == L_DENSE ? (double)n_out * l->C
                    : l->kind == L_CONV  ? (double)n_out * l->C * l->K * l->K
                                         : (double)n_in * l->OC * l->K * l->K;
        double g[2][2];
        for (int t = 1; t <= 2; t++) {
            openblas_set_num_threads(t);
            double f = time_layer(l, &s, a, 0, secs), b = time_layer(l, &s, a, 1, secs);
            g[t - 1][0] = f, g[t - 1][1] = b;
            (void)macs;
        }
        printf("%-30s %8.3f %8.3f %6.1f %6.1f   %8.3f %8.3f\n", l->what, 1e3 * g[0][0], 1e3 * g[0][1],
               2 * macs / g[0][0] / 1e9, 4 * macs / g[0][1] / 1e9, 1e3 * g[1][0], 1e3 * g[1][1]);
    }
    for (int i = 0; i < 8; i++) gd_free(a[i]);
    return !ok;
}

int cli_bench_layers(int argc, char** argv) {
    const char* usage = "usage: gendec bench layers [--quick]\n\n"
                        "Times nn's dense, conv2d and conv_transpose2d forward and backward (all gradients) at the\n"
                        "shapes of the MNIST models (batch 32), median of 7 runs, with 1 and 2 OpenBLAS threads.\n"
                        "GF/s counts 2 flops per multiply-add (backward: twice the forward's work).\n"
                        "Compare with `gendec bench gemm`.\n";
    int quick, rc = cli_quick_args("bench layers", usage, argc, argv, &quick);
    if (rc >= 0) return rc;
    const layer_case cases[] = {
        {"dense 32x784->512", L_DENSE, 32, 784, 0, 0, 512, 0, 0, 0, 0},
        {"dense 32x512->784", L_DENSE, 32, 512, 0, 0, 784, 0, 0, 0, 0},
        {"conv 1->16 k3 s2 28x28", L_CONV, 32, 1, 28, 28, 16, 3, 2, 1, 0},
        {"conv 16->32 k3 s2 14x14", L_CONV, 32, 16, 14, 14, 32, 3, 2, 1, 0},
        {"conv 32->64 k3 s2 7x7", L_CONV, 32, 32, 7, 7, 64, 3, 2, 1, 0},
        {"convT 64->64 k3 s2 4x4", L_CONVT, 32, 64, 4, 4, 64, 3, 2, 1, 1},
        {"convT 64->32 k3 s2 8x8", L_CONVT, 32, 64, 8, 8, 32, 3, 2, 1, 1},
        {"convT 32->16 k3 s2 16x16", L_CONVT, 32, 32, 16, 16, 16, 3, 2, 1, 1},
        {"conv 16->1 k5 valid 32x32", L_CONV, 32, 16, 32, 32, 1, 5, 1, 0, 0},
        {"lenet conv 1->6 k5 p2 28x28", L_CONV, 32, 1, 28, 28, 6, 5, 1, 2, 0},
        {"lenet conv 6->16 k5 p2 14x14", L_CONV, 32, 6, 14, 14, 16, 5, 1, 2, 0},
    };
    printf("%-30s %8s %8s %6s %6s   %8s %8s\n", "layer (batch 32)", "fwd ms", "bwd ms", "GF/s", "GF/s", "fwd ms",
           "bwd ms");
    printf("%-30s %31s   %17s\n", "", "---------- 1 thread ----------", "--- 2 threads ---");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (bench_case(&cases[i], quick ? 0.1 : 0.5)) {
            gd_error err;
            gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for benchmark case '%s'", cases[i].what);
            return cli_fail(&err);
        }
    return CLI_EXIT_OK;
}
