/* 2x2 max pooling: forward and argmax against a direct search, gradient against finite differences,
 * odd sizes, ties, NaN. */
#include <stdlib.h>

#include "gd_test.h"
#include "nn_check.h"

typedef struct {
    int N, C, H, W;
    float *in, *out, *r;
    int32_t* idx;
} pool_case;

static double objective(void* ctx) {
    pool_case* p = ctx;
    gd_maxpool2_forward(p->out, p->idx, p->in, p->N, p->C, p->H, p->W);
    return nn_dot(p->r, p->out, (size_t)p->N * p->C * (p->H / 2) * (p->W / 2));
}

static void check_shape(int N, int C, int H, int W, uint64_t seed) {
    pool_case p = {N, C, H, W, NULL, NULL, NULL, NULL};
    const size_t n_in = (size_t)N * C * H * W, n_out = (size_t)N * C * (H / 2) * (W / 2);
    p.in = malloc(n_in * sizeof(float));
    p.out = malloc(n_out * sizeof(float));
    p.r = malloc(n_out * sizeof(float));
    p.idx = malloc(n_out * sizeof(int32_t));
    float* din = malloc(n_in * sizeof(float));
    gd_rng rng;
    gd_rng_init(&rng, seed, GD_STREAM_USER, 2);
    /* Distinct values at least 0.01 apart (a permutation), so finite differences never cross a tie. */
    for (size_t i = 0; i < n_in; i++) p.in[i] = 0.01f * (float)i;
    for (size_t i = n_in - 1; i > 0; i--) {
        size_t j = gd_rng_below(&rng, (uint32_t)(i + 1));
        float t = p.in[i];
        p.in[i] = p.in[j], p.in[j] = t;
    }
    nn_fill(&rng, p.r, n_out, 1.0f);
    gd_maxpool2_forward(p.out, p.idx, p.in, N, C, H, W);
    int ok = 1;
    for (int q = 0; q < N * C; q++)
        for (int oh = 0; oh < H / 2; oh++)
            for (int ow = 0; ow < W / 2; ow++) {
                const float* x = p.in + (size_t)q * H * W;
                int best = 2 * oh * W + 2 * ow;
                for (int dh = 0; dh < 2; dh++)
                    for (int dw = 0; dw < 2; dw++)
                        if (x[(2 * oh + dh) * W + 2 * ow + dw] > x[best]) best = (2 * oh + dh) * W + 2 * ow + dw;
                size_t o = ((size_t)q * (H / 2) + oh) * (W / 2) + ow;
                ok &= p.idx[o] == best && p.out[o] == x[best];
            }
    CHECK_MSG(ok, "maxpool %dx%d: forward or argmax wrong", H, W);
    nn_set(din, n_in, 0.75f);
    gd_maxpool2_backward(din, p.r, p.idx, N, C, H, W);
    nn_sub(din, n_in, 0.75f);
    NN_CHECK_GRAD("maxpool d_in", p.in, din, n_in, objective, &p, 0.001f, 1e-3);
    free(p.in), free(p.out), free(p.r), free(p.idx), free(din);
}

int main(void) {
    check_shape(2, 3, 4, 6, 1);
    check_shape(1, 2, 5, 7, 2); /* odd: last row and column dropped */
    check_shape(3, 1, 2, 2, 3);

    /* Ties take the first maximum; NaN propagates (PyTorch's rule). */
    float in[8] = {1, 1, 2, NAN, 1, 0, 2, 3}, out[2]; /* rows [1 1 2 NaN] [1 0 2 3] */
    int32_t idx[2];
    gd_maxpool2_forward(out, idx, in, 1, 1, 2, 4);
    CHECK(out[0] == 1 && idx[0] == 0);
    CHECK(isnan(out[1]) && idx[1] == 3);
    return gd_test_done("test_pool");
}
