/* The register-blocked direct convolution (conv_direct.c, conv.c's stride-1 few-output-channel case) against naive
 * double loops: forward, input and weight gradients accumulated onto non-zero buffers, for the conv decoders'
 * final convolutions (MNIST 16->1 k5 valid 32->28; traffic signs 16->1 k5 "same" 64->64, two row chunks) and
 * edge shapes: rows shorter than one vector, rows of 8*m + tail, k3/k7, padding 1..KW-1, OC 2..4, C = 1,
 * non-square kernels, a kernel the fast path declines (k9).
 * Then the callers' call patterns on ONE shared workspace (the c-VAE's m->work): batches of several images, the
 * Eq. 3 solver's input-gradient-only backward (dw = NULL), weight-gradient-only, repeated calls accumulating into
 * the same buffers, and the batch size and the shape changing between calls, the workspace starting as NaN so
 * that a kernel reading a margin it did not write (or a stale one) shows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/nn.h"

/* y (N,OC,OH,OW) = conv(x); dx (N,C,H,W) += conv^T(dy); dw (OC,C,KH,KW) += Σ_n dy ⋆ x; in double. */
static void naive(const gd_conv_shape* s, const float* x, const float* w, const float* dy, double* y, double* dx,
                  double* dw) {
    const size_t nx = (size_t)s->C * s->H * s->W, ny = (size_t)s->OC * s->OH * s->OW;
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (int c = 0; c < s->C; c++)
                for (int kh = 0; kh < s->KH; kh++)
                    for (int kw = 0; kw < s->KW; kw++) {
                        size_t wi = ((size_t)(o * s->C + c) * s->KH + kh) * s->KW + kw;
                        for (int oh = 0; oh < s->OH; oh++)
                            for (int ow = 0; ow < s->OW; ow++) {
                                int ih = oh - s->pad + kh, iw = ow - s->pad + kw;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                size_t xi = n * nx + ((size_t)c * s->H + ih) * s->W + iw;
                                size_t yi = n * ny + ((size_t)o * s->OH + oh) * s->OW + ow;
                                y[yi] += (double)w[wi] * x[xi];
                                dx[xi] += (double)w[wi] * dy[yi];
                                dw[wi] += (double)dy[yi] * x[xi];
                            }
                    }
}

/* max |got - before - reps*want| / max |reps*want| over n numbers. */
static double err_of(const float* got, const float* before, const double* want, int reps, size_t n) {
    double e = 0, m = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - before[i] - reps * want[i]);
        if (!(d <= e)) e = d; /* NaN wins */
        if (fabs(reps * want[i]) > m) m = fabs(reps * want[i]);
    }
    return e / m;
}

/* One call pattern: N images, forward then `reps` backward calls with din (want_dx) and / or dw (want_dw) onto
 * buffers holding non-zero values; work = NULL: a workspace of its own, else the caller's shared one. */
static void check(int N, int C, int H, int W, int OC, int KH, int KW, int pad, int want_dx, int want_dw, int reps,
                  float* work, uint64_t seed) {
    gd_conv_shape s;
    gd_error err;
    CHECK_OK(gd_conv_shape_init(&s, N, C, H, W, OC, KH, KW, 1, pad, &err), &err);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * OC * s.OH * s.OW, nw = (size_t)OC * C * KH * KW;
    float *x = gd_alloc(4 * nx), *w = gd_alloc(4 * nw), *dy = gd_alloc(4 * ny), *y = gd_alloc(4 * ny);
    float *dx = gd_alloc(4 * nx), *dw = gd_alloc(4 * nw), *dx0 = gd_alloc(4 * nx), *dw0 = gd_alloc(4 * nw);
    float* own = work ? NULL : gd_alloc(4 * gd_conv2d_workspace_size(&s));
    if (own) work = own;
    double *ry = calloc(ny, 8), *rdx = calloc(nx, 8), *rdw = calloc(nw, 8);
    float* zero = gd_alloc(4 * ny);
    gd_rng r;
    gd_rng_init(&r, seed, GD_STREAM_USER, 0);
    for (size_t i = 0; i < nx; i++) x[i] = 2 * gd_rng_uniform(&r) - 1, dx[i] = dx0[i] = 0.5f + (float)(i % 7);
    for (size_t i = 0; i < nw; i++) w[i] = 2 * gd_rng_uniform(&r) - 1, dw[i] = dw0[i] = -1.0f - (float)(i % 5);
    for (size_t i = 0; i < ny; i++) dy[i] = 2 * gd_rng_uniform(&r) - 1, y[i] = NAN, zero[i] = 0.0f;
    naive(&s, x, w, dy, ry, rdx, rdw);
    gd_conv2d_forward(y, x, w, NULL, &s, work);
    for (int t = 0; t < reps; t++) gd_conv2d_backward(want_dx ? dx : NULL, want_dw ? dw : NULL, NULL, dy, x, w, &s, work);
    double e[3] = {err_of(y, zero, ry, 1, ny), err_of(dx, dx0, rdx, want_dx ? reps : 0, nx),
                   err_of(dw, dw0, rdw, want_dw ? reps : 0, nw)};
    const char* what[3] = {"output", "din", "dw"};
    for (int i = 0; i < 3; i++)
        CHECK_MSG(e[i] < 2e-6, "N%d C%d %dx%d OC%d k%dx%d pad %d (din %d dw %d, %d calls, %s workspace): %s relative "
                  "error %.3g", N, C, H, W, OC, KH, KW, pad, want_dx, want_dw, reps, own ? "own" : "shared", what[i],
                  e[i]);
    gd_free(x), gd_free(w), gd_free(dy), gd_free(y), gd_free(dx), gd_free(dw), gd_free(dx0), gd_free(dw0);
    gd_free(own), gd_free(zero);
    free(ry), free(rdx), free(rdw);
}

/* gd_conv2d_workspace_size of a stride-1 convolution. */
static size_t ws_of(int C, int H, int W, int OC, int K, int pad) {
    gd_conv_shape s;
    gd_error err;
    CHECK_OK(gd_conv_shape_init(&s, 1, C, H, W, OC, K, K, 1, pad, &err), &err);
    return gd_conv2d_workspace_size(&s);
}

int main(void) {
    /* shapes, one image, both gradients, own workspace */
    check(1, 16, 32, 32, 1, 5, 5, 0, 1, 1, 1, NULL, 1); /* MNIST conv decoder output */
    check(1, 16, 64, 64, 1, 5, 5, 2, 1, 1, 1, NULL, 2); /* traffic signs: same padding, rows of 64 = two chunks */
    check(1, 16, 40, 40, 1, 5, 5, 0, 1, 1, 1, NULL, 3); /* multiMNIST 36 */
    check(1, 3, 6, 6, 2, 3, 3, 1, 1, 1, 1, NULL, 4);    /* rows shorter than a vector */
    check(1, 2, 12, 13, 3, 3, 3, 2, 1, 1, 1, NULL, 5);  /* 13 columns: 8 + tail; pad = KW - 1 */
    check(1, 1, 20, 45, 4, 7, 7, 3, 1, 1, 1, NULL, 6);  /* k7, rows of 45 = 32 + 13 */
    check(1, 5, 9, 9, 1, 2, 2, 1, 1, 1, 1, NULL, 7);    /* even kernel */
    check(1, 2, 5, 33, 1, 5, 5, 2, 1, 1, 1, NULL, 8);   /* rows of 33 = 32 + 1 */
    check(1, 4, 7, 40, 3, 5, 5, 1, 1, 1, 1, NULL, 9);   /* rows of 40 = 32 + one full vector, no tail */
    check(1, 1, 3, 2, 1, 3, 3, 1, 1, 1, 1, NULL, 10);   /* plane narrower than the kernel */
    check(1, 3, 8, 8, 2, 3, 3, 0, 1, 1, 1, NULL, 11);   /* 6 outputs, 8 input-gradient columns */
    check(1, 2, 9, 17, 2, 3, 5, 1, 1, 1, 1, NULL, 12);  /* KH != KW */
    check(1, 2, 6, 11, 1, 1, 3, 0, 1, 1, 1, NULL, 13);  /* 1x3 */
    check(1, 2, 12, 12, 1, 9, 9, 4, 1, 1, 1, NULL, 14); /* k9: conv.c's own loops */

    /* the callers' patterns on one shared workspace, NaN to start with */
    size_t nws = ws_of(16, 64, 64, 1, 5, 2), a = ws_of(16, 32, 32, 1, 5, 0), b = ws_of(3, 6, 6, 2, 3, 1);
    if (a > nws) nws = a;
    if (b > nws) nws = b;
    float* work = gd_alloc(4 * nws);
    for (size_t i = 0; i < nws; i++) work[i] = NAN;
    check(8, 16, 32, 32, 1, 5, 5, 0, 1, 0, 1, work, 21);  /* Eq. 3: a decoder's rows, din only */
    check(1, 16, 32, 32, 1, 5, 5, 0, 1, 0, 1, work, 22);  /* the next decoder with one row */
    check(5, 16, 32, 32, 1, 5, 5, 0, 1, 0, 2, work, 23);  /* din accumulated over two calls */
    check(3, 16, 64, 64, 1, 5, 5, 2, 1, 1, 1, work, 24);  /* training: both gradients, padded */
    check(2, 16, 32, 32, 1, 5, 5, 0, 1, 1, 3, work, 25);  /* back to valid after a padded shape */
    check(2, 3, 6, 6, 2, 3, 3, 1, 0, 1, 2, work, 26);     /* dw only, accumulated */
    check(7, 16, 32, 32, 1, 5, 5, 0, 1, 0, 1, work, 27);  /* a larger batch after smaller ones */
    check(4, 3, 6, 6, 2, 3, 3, 1, 1, 1, 1, work, 28);
    gd_free(work);
    return gd_test_done("test_conv_direct");
}
