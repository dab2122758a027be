/* The register-blocked direct convolution (conv_direct.c, conv.c's stride-1 few-output-channel case) against naive
 * double loops: forward, input and weight gradients accumulated onto non-zero buffers, for the conv decoders'
 * final convolutions (MNIST 16->1 k5 valid 32->28; traffic signs 16->1 k5 "same" 64->64, two row chunks) and
 * edge shapes: rows shorter than one vector, rows of 8*m + tail, k3/k7, padding 1..KW-1, OC 2..4, C = 1. */
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/nn.h"

static void naive(const gd_conv_shape* s, const float* x, const float* w, const float* dy, double* y, double* dx,
                  double* dw) {
    for (int o = 0; o < s->OC; o++)
        for (int c = 0; c < s->C; c++)
            for (int kh = 0; kh < s->KH; kh++)
                for (int kw = 0; kw < s->KW; kw++) {
                    size_t wi = ((size_t)(o * s->C + c) * s->KH + kh) * s->KW + kw;
                    for (int oh = 0; oh < s->OH; oh++)
                        for (int ow = 0; ow < s->OW; ow++) {
                            int ih = oh - s->pad + kh, iw = ow - s->pad + kw;
                            if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                            size_t xi = ((size_t)c * s->H + ih) * s->W + iw, yi = ((size_t)o * s->OH + oh) * s->OW + ow;
                            y[yi] += (double)w[wi] * x[xi];
                            dx[xi] += (double)w[wi] * dy[yi];
                            dw[wi] += (double)dy[yi] * x[xi];
                        }
                }
}

static double err_of(const float* got, const float* before, const double* want, size_t n) {
    double e = 0, m = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - before[i] - want[i]);
        if (d > e) e = d;
        if (fabs(want[i]) > m) m = fabs(want[i]);
    }
    return e / m;
}

static void check(int C, int H, int W, int OC, int K, int pad, uint64_t seed) {
    gd_conv_shape s;
    gd_error err;
    CHECK_OK(gd_conv_shape_init(&s, 1, C, H, W, OC, K, K, 1, pad, &err), &err);
    size_t nx = (size_t)C * H * W, ny = (size_t)OC * s.OH * s.OW, nw = (size_t)OC * C * K * K;
    float *x = gd_alloc(4 * nx), *w = gd_alloc(4 * nw), *dy = gd_alloc(4 * ny), *y = gd_alloc(4 * ny);
    float *dx = gd_alloc(4 * nx), *dw = gd_alloc(4 * nw), *dx0 = gd_alloc(4 * nx), *dw0 = gd_alloc(4 * nw);
    float* work = gd_alloc(4 * gd_conv2d_workspace_size(&s));
    double *ry = calloc(ny, 8), *rdx = calloc(nx, 8), *rdw = calloc(nw, 8);
    float* zero = gd_alloc(4 * ny);
    gd_rng r;
    gd_rng_init(&r, seed, GD_STREAM_USER, 0);
    for (size_t i = 0; i < nx; i++) x[i] = 2 * gd_rng_uniform(&r) - 1, dx[i] = dx0[i] = 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = 2 * gd_rng_uniform(&r) - 1, dw[i] = dw0[i] = -1.0f;
    for (size_t i = 0; i < ny; i++) dy[i] = 2 * gd_rng_uniform(&r) - 1;
    naive(&s, x, w, dy, ry, rdx, rdw);
    gd_conv2d_forward(y, x, w, NULL, &s, work);
    gd_conv2d_backward(dx, dw, NULL, dy, x, w, &s, work);
    double e[3] = {err_of(y, zero, ry, ny), err_of(dx, dx0, rdx, nx), err_of(dw, dw0, rdw, nw)};
    const char* what[3] = {"output", "din", "dw"};
    for (int i = 0; i < 3; i++)
        CHECK_MSG(e[i] < 2e-6, "C%d %dx%d OC%d k%d pad %d: %s relative error %.3g", C, H, W, OC, K, pad, what[i], e[i]);
    gd_free(x), gd_free(w), gd_free(dy), gd_free(y), gd_free(dx), gd_free(dw), gd_free(dx0), gd_free(dw0);
    gd_free(work), gd_free(zero);
    free(ry), free(rdx), free(rdw);
}

int main(void) {
    check(16, 32, 32, 1, 5, 0, 1); /* MNIST conv decoder output */
    check(16, 64, 64, 1, 5, 2, 2); /* traffic signs: same padding, rows of 64 = two chunks of 32 */
    check(16, 40, 40, 1, 5, 0, 3); /* multiMNIST 36 */
    check(3, 6, 6, 2, 3, 1, 4);    /* rows shorter than a vector */
    check(2, 12, 13, 3, 3, 2, 5);  /* 13 columns: 8 + tail; pad = KW - 1 */
    check(1, 20, 45, 4, 7, 3, 6);  /* k7, rows of 45 = 32 + 13 */
    check(5, 9, 9, 1, 2, 1, 7);    /* even kernel */
    return gd_test_done("test_conv_direct");
}
