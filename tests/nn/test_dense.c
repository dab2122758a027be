/* Dense, grouped dense (both layouts) and routed dense: forward against a naive double loop, gradients of
 * input, weight and bias against finite differences, accumulation and NULL gradients. */
#include <stdlib.h>

#include "gd_test.h"
#include "nn_check.h"

enum { PLAIN, GROUPED, ROUTED };

typedef struct {
    int mode, G, B, C, OC; /* B = rows per group (GROUPED) or total rows R (ROUTED) */
    gd_group_layout il, ol;
    const int* row_off;
    float *in, *w, *b, *out, *r;
    size_t n_in, n_w, n_b, n_out;
} dense_case;

static void run_forward(dense_case* d) {
    if (d->mode == PLAIN) gd_dense_forward(d->out, d->in, d->w, d->b, d->B, d->C, d->OC);
    if (d->mode == GROUPED)
        gd_dense_grouped_forward(d->out, d->in, d->w, d->b, d->G, d->B, d->C, d->OC, d->il, d->ol);
    if (d->mode == ROUTED) gd_dense_routed_forward(d->out, d->in, d->w, d->b, d->row_off, d->G, d->C, d->OC);
}

static void run_backward(dense_case* d, float* din, float* dw, float* db) {
    if (d->mode == PLAIN) gd_dense_backward(din, dw, db, d->r, d->in, d->w, d->B, d->C, d->OC);
    if (d->mode == GROUPED)
        gd_dense_grouped_backward(din, dw, db, d->r, d->in, d->w, d->G, d->B, d->C, d->OC, d->il, d->ol);
    if (d->mode == ROUTED) gd_dense_routed_backward(din, dw, db, d->r, d->in, d->w, d->row_off, d->G, d->C, d->OC);
}

static double objective(void* ctx) {
    dense_case* d = ctx;
    run_forward(d);
    return nn_dot(d->r, d->out, d->n_out);
}

/* Index of element x of row b of group g in a grouped tensor. */
static size_t at(gd_group_layout l, int g, int b, int x, int G, int B, int X) {
    return l == GD_LAYOUT_BGX ? ((size_t)b * G + g) * X + x : ((size_t)g * B + b) * X + x;
}

/* The output a naive double loop gives, compared entry by entry. */
static double forward_error(dense_case* d) {
    run_forward(d);
    double worst = 0;
    int groups = d->mode == PLAIN ? 1 : d->G;
    for (int g = 0; g < groups; g++) {
        int r0 = d->mode == ROUTED ? d->row_off[g] : 0, r1 = d->mode == ROUTED ? d->row_off[g + 1] : d->B;
        for (int b = r0; b < r1; b++)
            for (int o = 0; o < d->OC; o++) {
                const float* w = d->w + ((size_t)g * d->OC + o) * d->C;
                double s = d->b ? d->b[(size_t)g * d->OC + o] : 0.0;
                size_t io, oo;
                if (d->mode == GROUPED) {
                    io = at(d->il, g, b, 0, d->G, d->B, d->C);
                    oo = at(d->ol, g, b, o, d->G, d->B, d->OC);
                } else {
                    io = (size_t)b * d->C;
                    oo = (size_t)b * d->OC + o;
                }
                for (int c = 0; c < d->C; c++) s += (double)w[c] * d->in[io + c];
                worst = fmax(worst, fabs(s - d->out[oo]));
            }
    }
    return worst;
}

/* Runs all checks on one case; sizes are set, arrays are allocated here. */
static void check_case(dense_case* d, const char* name, uint64_t seed) {
    gd_rng rng;
    gd_rng_init(&rng, seed, GD_STREAM_USER, 0);
    float* buf[8];
    size_t sz[8] = {d->n_in, d->n_w, d->n_b, d->n_out, d->n_out, d->n_in, d->n_w, d->n_b};
    for (int i = 0; i < 8; i++) buf[i] = calloc(sz[i] ? sz[i] : 1, sizeof(float));
    d->in = buf[0], d->w = buf[1], d->b = buf[2], d->out = buf[3], d->r = buf[4];
    float *din = buf[5], *dw = buf[6], *db = buf[7];
    nn_fill(&rng, d->in, d->n_in, 1.0f);
    nn_fill(&rng, d->w, d->n_w, 1.0f);
    nn_fill(&rng, d->b, d->n_b, 1.0f);
    nn_fill(&rng, d->r, d->n_out, 1.0f);

    CHECK_MSG(forward_error(d) < 1e-5, "%s: forward differs from the naive loop", name);
    nn_set(din, d->n_in, 0.25f), nn_set(dw, d->n_w, -0.5f), nn_set(db, d->n_b, 1.0f);
    run_backward(d, din, dw, db);
    nn_sub(din, d->n_in, 0.25f), nn_sub(dw, d->n_w, -0.5f), nn_sub(db, d->n_b, 1.0f);
    char what[128];
    snprintf(what, sizeof what, "%s d_in", name);
    NN_CHECK_GRAD(what, d->in, din, d->n_in, objective, d, 0.0625f, 1e-4);
    snprintf(what, sizeof what, "%s d_w", name);
    NN_CHECK_GRAD(what, d->w, dw, d->n_w, objective, d, 0.0625f, 1e-4);
    snprintf(what, sizeof what, "%s d_b", name);
    NN_CHECK_GRAD(what, d->b, db, d->n_b, objective, d, 0.0625f, 1e-4);

    /* NULL gradients are skipped and leave the others unchanged. */
    float* dw2 = calloc(d->n_w, sizeof(float));
    run_backward(d, NULL, dw2, NULL);
    double diff = 0;
    for (size_t i = 0; i < d->n_w; i++) diff = fmax(diff, fabs(dw2[i] - dw[i]));
    CHECK_MSG(diff < 1e-5, "%s: dw alone differs by %g", name, diff);
    free(dw2);

    /* Without bias. */
    float* keep_b = d->b;
    d->b = NULL;
    CHECK_MSG(forward_error(d) < 1e-5, "%s: forward without bias differs", name);
    d->b = keep_b;
    for (int i = 0; i < 8; i++) free(buf[i]);
}

int main(void) {
    dense_case d = {.mode = PLAIN, .B = 5, .C = 7, .OC = 3};
    d.n_in = 35, d.n_w = 21, d.n_b = 3, d.n_out = 15;
    check_case(&d, "dense", 1);
    dense_case one = {.mode = PLAIN, .B = 1, .C = 1, .OC = 4, .n_in = 1, .n_w = 4, .n_b = 4, .n_out = 4};
    check_case(&one, "dense 1x1", 2);

    const char* names[4] = {"grouped GBX->GBX", "grouped GBX->BGX", "grouped BGX->GBX", "grouped BGX->BGX"};
    for (int k = 0; k < 4; k++) {
        dense_case g = {.mode = GROUPED, .G = 3, .B = 4, .C = 5, .OC = 6};
        g.il = k / 2 ? GD_LAYOUT_BGX : GD_LAYOUT_GBX;
        g.ol = k % 2 ? GD_LAYOUT_BGX : GD_LAYOUT_GBX;
        g.n_in = 3 * 4 * 5, g.n_w = 3 * 6 * 5, g.n_b = 3 * 6, g.n_out = 3 * 4 * 6;
        check_case(&g, names[k], 10 + k);
    }

    /* Routed: 4 groups with 2, 0, 3, 1 rows. */
    const int row_off[5] = {0, 2, 2, 5, 6};
    dense_case r = {.mode = ROUTED, .G = 4, .C = 3, .OC = 5, .row_off = row_off};
    r.n_in = 6 * 3, r.n_w = 4 * 5 * 3, r.n_b = 4 * 5, r.n_out = 6 * 5;
    check_case(&r, "routed", 20);
    return gd_test_done("test_dense");
}
