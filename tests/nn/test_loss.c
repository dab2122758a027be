/* Losses, the Gaussian KL, reparameterisation and the gated sum: values against direct double formulas, the
 * documented normalisation, gradients against finite differences, dloss scaling, numerical stability. */
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "nn_check.h"

enum { B = 3, D = 7, K = 4, G = 3, KL_K = 2, P = 5 };

typedef struct {
    int which;
    float *x, *t, *mu, *lv, *gate, *eps, *parts, *r, *z, *out;
    int32_t* labels;
} loss_ctx;

enum { MSE, L1, SXENT, SMXENT, KL, REPARAM, GATED };

static double objective(void* ctx) {
    loss_ctx* c = ctx;
    switch (c->which) {
    case MSE: return gd_mse_loss(NULL, NULL, c->x, c->t, B, D, 1.0f);
    case L1: return gd_l1_loss(NULL, NULL, c->x, c->t, B, D, 1.0f);
    case SXENT: return gd_sigmoid_xent_loss(NULL, NULL, c->x, c->t, B, D, 1.0f);
    case SMXENT: return gd_softmax_xent_loss(NULL, NULL, NULL, c->x, c->labels, B, K, 1.0f);
    case KL: return gd_gauss_kl_loss(NULL, NULL, NULL, c->mu, c->lv, c->gate, B, G, KL_K, 1.0f);
    case REPARAM: gd_reparam_forward(c->z, c->mu, c->lv, c->eps, B * G * KL_K); return nn_dot(c->r, c->z, B * G * KL_K);
    default: gd_gated_sum_forward(c->out, c->parts, c->gate, G, B, P); return nn_dot(c->r, c->out, B * P);
    }
}

/* Row-wise reference of the elementwise losses, in double. */
static double ref_elem(int which, double x, double t) {
    if (which == MSE) return (x - t) * (x - t);
    if (which == L1) return fabs(x - t);
    return fmax(x, 0) - x * t + log(1 + exp(-fabs(x)));
}

/* MSE, L1 and sigmoid cross-entropy share one test: value, row values, gradient, dloss scaling, NULLs. */
static void check_elementwise(int which, const char* name, float h, gd_rng* rng) {
    float x[B * D], t[B * D], g[B * D], g3[B * D], rows[B];
    if (which == L1) {
        nn_fill(rng, t, B * D, 1.0f);
        nn_fill_away(rng, x, B * D, 0.3f, 1.0f); /* x - t kept away from L1's kink below */
        for (int i = 0; i < B * D; i++) x[i] += t[i];
    } else {
        nn_fill(rng, x, B * D, which == SXENT ? 4.0f : 1.0f);
        for (int i = 0; i < B * D; i++) t[i] = gd_rng_uniform(rng);
    }
    float (*fn)(float*, float*, const float*, const float*, int, int, float) =
        which == MSE ? gd_mse_loss : which == L1 ? gd_l1_loss : gd_sigmoid_xent_loss;
    nn_set(g, B * D, 1.0f);
    float v = fn(g, rows, x, t, B, D, 1.0f);
    nn_sub(g, B * D, 1.0f);
    double total = 0, row_err = 0;
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int d = 0; d < D; d++) s += ref_elem(which, x[b * D + d], t[b * D + d]);
        row_err = fmax(row_err, fabs(rows[b] - s / D));
        total += s / D;
    }
    CHECK_MSG(fabs(v - total / B) < 1e-6 && row_err < 1e-6, "%s: value %.9g vs %.9g, rows off %g", name, v,
              total / B, row_err);
    loss_ctx c = {.which = which, .x = x, .t = t};
    NN_CHECK_GRAD(name, x, g, B * D, objective, &c, h, 1e-3);
    memset(g3, 0, sizeof g3);
    CHECK(fn(g3, NULL, x, t, B, D, 3.0f) == v);
    double e = 0;
    for (int i = 0; i < B * D; i++) e = fmax(e, fabs(g3[i] - 3 * g[i]));
    CHECK_MSG(e < 1e-6, "%s: dloss = 3 does not scale the gradient (%g)", name, e);
}

int main(void) {
    gd_rng rng;
    gd_rng_init(&rng, 5, GD_STREAM_USER, 5);
    check_elementwise(MSE, "mse", 0.25f, &rng); /* quadratic: central differences are exact */
    check_elementwise(L1, "l1", 0.1f, &rng);    /* linear between the kinks */
    check_elementwise(SXENT, "sigmoid xent", 0.01f, &rng);

    /* Hand values: MSE of (1,2) vs (0,0) = 2.5; L1 = 1.5; sigmoid xent of logit 0 = log 2 whatever t. */
    float a2[2] = {1, 2}, z2[2] = {0, 0}, h2[2] = {0.5f, 1.0f};
    CHECK_NEAR(gd_mse_loss(NULL, NULL, a2, z2, 1, 2, 1), 2.5, 1e-7);
    CHECK_NEAR(gd_mse_loss(NULL, NULL, a2, z2, 2, 1, 1), 2.5, 1e-7);
    CHECK_NEAR(gd_l1_loss(NULL, NULL, a2, z2, 1, 2, 1), 1.5, 1e-7);
    CHECK_NEAR(gd_sigmoid_xent_loss(NULL, NULL, z2, h2, 1, 2, 1), log(2.0), 1e-7);
    /* Stable for huge logits: loss ≈ |x| where the target disagrees, 0 where it agrees; gradient finite. */
    float big[4] = {100, -100, 100, -100}, bt[4] = {0, 1, 1, 0}, bg[4] = {0};
    float row[2];
    gd_sigmoid_xent_loss(bg, row, big, bt, 2, 2, 1);
    CHECK_NEAR(row[0], 100, 1e-4);
    CHECK_NEAR(row[1], 0, 1e-6);
    CHECK(bg[0] == 0.25f && bg[1] == -0.25f && bg[2] == 0.0f && fabsf(bg[3]) < 1e-30f);

    /* Softmax cross-entropy. */
    float lg[B * K], dl[B * K], pr[B * K], rw[B];
    int32_t lab[B] = {2, 0, 3};
    nn_fill(&rng, lg, B * K, 3.0f);
    nn_set(dl, B * K, 0.5f);
    float v = gd_softmax_xent_loss(dl, rw, pr, lg, lab, B, K, 1.0f);
    nn_sub(dl, B * K, 0.5f);
    double tot = 0, perr = 0;
    for (int b = 0; b < B; b++) {
        double z = 0;
        for (int k = 0; k < K; k++) z += exp(lg[b * K + k]);
        for (int k = 0; k < K; k++) perr = fmax(perr, fabs(pr[b * K + k] - exp(lg[b * K + k]) / z));
        double l = log(z) - lg[b * K + lab[b]];
        perr = fmax(perr, fabs(rw[b] - l));
        tot += l;
    }
    CHECK_MSG(perr < 1e-6, "softmax xent probabilities/rows off by %g", perr);
    CHECK_NEAR(v, tot / B, 1e-6);
    loss_ctx c = {.which = SMXENT, .x = lg, .labels = lab};
    NN_CHECK_GRAD("softmax xent", lg, dl, B * K, objective, &c, 0.01f, 1e-3);
    float huge[3] = {1000, 0, -1000};
    int32_t l0 = 1;
    CHECK_NEAR(gd_softmax_xent_loss(NULL, NULL, NULL, huge, &l0, 1, 3, 1), 1000, 1e-3);
    int32_t bad = 7;
    CHECK(isnan(gd_softmax_xent_loss(NULL, NULL, NULL, huge, &bad, 1, 3, 1)));

    /* Gaussian KL per segment, gated. */
    float mu[B * G * KL_K], lv[B * G * KL_K], gate[B * G], dmu[B * G * KL_K], dlv[B * G * KL_K], seg[B * G],
        dgate[B * G];
    nn_fill(&rng, mu, B * G * KL_K, 1.5f);
    nn_fill(&rng, lv, B * G * KL_K, 1.5f);
    for (int i = 0; i < B * G; i++) gate[i] = gd_rng_uniform(&rng);
    gate[1] = 0.0f, gate[5] = 1.0f;
    nn_set(dmu, B * G * KL_K, 0.1f), nn_set(dlv, B * G * KL_K, 0.2f), nn_set(dgate, B * G, 0.3f);
    v = gd_gauss_kl_loss(dmu, dlv, seg, mu, lv, gate, B, G, KL_K, 1.0f);
    gd_gauss_kl_gate_backward(dgate, seg, B, G, 1.0f);
    nn_sub(dmu, B * G * KL_K, 0.1f), nn_sub(dlv, B * G * KL_K, 0.2f), nn_sub(dgate, B * G, 0.3f);
    tot = 0, perr = 0;
    for (int i = 0; i < B * G; i++) {
        double s = 0;
        for (int j = 0; j < KL_K; j++) {
            double m = mu[i * KL_K + j], l = lv[i * KL_K + j];
            s += 0.5 * (m * m + exp(l) - 1 - l);
        }
        perr = fmax(perr, fabs(seg[i] - s));
        tot += gate[i] * s;
    }
    CHECK_MSG(perr < 1e-5, "KL per segment off by %g", perr);
    CHECK_NEAR(v, tot / B, 1e-5);
    c = (loss_ctx){.which = KL, .mu = mu, .lv = lv, .gate = gate};
    NN_CHECK_GRAD("kl d_mu", mu, dmu, B * G * KL_K, objective, &c, 0.25f, 1e-4);
    NN_CHECK_GRAD("kl d_logvar", lv, dlv, B * G * KL_K, objective, &c, 0.01f, 1e-3);
    NN_CHECK_GRAD("kl d_gate", gate, dgate, B * G, objective, &c, 0.25f, 1e-4);
    CHECK(dmu[2] == 0.0f && dmu[3] == 0.0f); /* gate 0: no gradient */
    float ungated = gd_gauss_kl_loss(NULL, NULL, NULL, mu, lv, NULL, B, G, KL_K, 1.0f);
    double sum_seg = 0;
    for (int i = 0; i < B * G; i++) sum_seg += seg[i];
    CHECK_NEAR(ungated, sum_seg / B, 1e-5);
    float zero_mu[2] = {0, 0};
    CHECK(gd_gauss_kl_loss(NULL, NULL, NULL, zero_mu, zero_mu, NULL, 1, 1, 2, 1) == 0.0f);

    /* Reparameterisation. */
    float eps[B * G * KL_K], z[B * G * KL_K], r[B * G * KL_K];
    gd_rng_fill_normal(&rng, eps, B * G * KL_K, 1.0f);
    nn_fill(&rng, r, B * G * KL_K, 1.0f);
    gd_reparam_forward(z, mu, lv, eps, B * G * KL_K);
    perr = 0;
    for (int i = 0; i < B * G * KL_K; i++) perr = fmax(perr, fabs(z[i] - (mu[i] + exp(0.5 * lv[i]) * eps[i])));
    CHECK_MSG(perr < 1e-6, "reparam value off by %g", perr);
    nn_set(dmu, B * G * KL_K, -1.0f), nn_set(dlv, B * G * KL_K, 1.0f);
    gd_reparam_backward(dmu, dlv, r, lv, eps, B * G * KL_K);
    nn_sub(dmu, B * G * KL_K, -1.0f), nn_sub(dlv, B * G * KL_K, 1.0f);
    c = (loss_ctx){.which = REPARAM, .mu = mu, .lv = lv, .eps = eps, .r = r, .z = z};
    NN_CHECK_GRAD("reparam d_mu", mu, dmu, B * G * KL_K, objective, &c, 0.25f, 1e-4);
    NN_CHECK_GRAD("reparam d_logvar", lv, dlv, B * G * KL_K, objective, &c, 0.01f, 1e-3);

    /* Gated sum x_f = Σ_g y_g part_g. */
    float parts[G * B * P], dparts[G * B * P], out[B * P], ro[B * P];
    nn_fill(&rng, parts, G * B * P, 1.0f);
    nn_fill(&rng, ro, B * P, 1.0f);
    for (int i = 0; i < B * G; i++) gate[i] = gd_rng_uniform(&rng);
    gd_gated_sum_forward(out, parts, gate, G, B, P);
    perr = 0;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < P; p++) {
            double s = 0;
            for (int g = 0; g < G; g++) s += (double)gate[b * G + g] * parts[(g * B + b) * P + p];
            perr = fmax(perr, fabs(out[b * P + p] - s));
        }
    CHECK_MSG(perr < 1e-6, "gated sum off by %g", perr);
    nn_set(dparts, G * B * P, 0.5f), nn_set(dgate, B * G, 0.5f);
    gd_gated_sum_backward(dparts, dgate, ro, parts, gate, G, B, P);
    nn_sub(dparts, G * B * P, 0.5f), nn_sub(dgate, B * G, 0.5f);
    c = (loss_ctx){.which = GATED, .parts = parts, .gate = gate, .r = ro, .out = out};
    NN_CHECK_GRAD("gated sum d_parts", parts, dparts, G * B * P, objective, &c, 0.25f, 1e-4);
    NN_CHECK_GRAD("gated sum d_gate", gate, dgate, B * G, objective, &c, 0.25f, 1e-4);
    /* A component whose gate is exactly 0 is not read (it may not have been computed). */
    gate[0] = 0.0f;
    for (int p = 0; p < P; p++) parts[p] = NAN; /* g = 0, b = 0 */
    gd_gated_sum_forward(out, parts, gate, G, B, P);
    int finite = 1;
    for (int i = 0; i < B * P; i++) finite &= isfinite(out[i]);
    CHECK(finite);
    return gd_test_done("test_loss");
}
