/* Finite-difference checks of the whole c-VAE loss (Eq. 1) gradient for every architecture / loss option,
 * and of the generator's dz, dy; routed vs dense decoding; parts vs x_f. */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/model.h"

static uint32_t lcg = 12345;
static float frand(void) {
    lcg = lcg * 1664525u + 1013904223u;
    return (float)(lcg >> 8) / 16777216.0f;
}

/* Σ_b loss_b at the current parameters (no backward). */
static double loss_at(gd_cvae* m, const float* x, const float* y, const float* eps, int B) {
    gd_cvae_sums s = {0};
    gd_error err;
    CHECK_OK(gd_cvae_loss(m, x, y, eps, B, 0, 1.0f, &s, &err), &err);
    return s.loss;
}

/* Compares the analytic gradient of Σ_b loss_b with central differences over every parameter. With ELU the
 * loss is smooth and every entry must agree. With ReLU a ±h step can cross a kink: an entry then passes when it
 * matches one of the one-sided differences, and such entries must stay rare (< 3%). */
static void check_spec(const char* what, gd_cvae_spec* s, int B, int fractional_y) {
    gd_error err;
    gd_cvae* m = NULL;
    CHECK_OK(gd_cvae_create(s, B, 0, &m, &err), &err);
    if (!m) return;
    CHECK_OK(gd_cvae_init_params(m, 7, &err), &err);
    int D = s->h * s->w, n = s->n, nk = s->n * s->k;
    float x[B * D], y[B * n], eps[B * nk];
    for (int i = 0; i < B * D; i++) x[i] = frand();
    for (int i = 0; i < B * n; i++) y[i] = frand() < 0.5f ? 0.0f : (fractional_y ? 0.3f + 0.7f * frand() : 1.0f);
    for (int b = 0; b < B; b++) y[b * n + b % n] = 1.0f; /* at least one active component per image */
    for (int i = 0; i < B * nk; i++) eps[i] = 2.0f * frand() - 1.0f;
    gd_params* p = gd_cvae_params(m);
    gd_params_zero_grad(p);
    gd_cvae_sums sums = {0};
    CHECK_OK(gd_cvae_loss(m, x, y, eps, B, 1, 1.0f, &sums, &err), &err);
    CHECK_NEAR(sums.loss, sums.recon + s->C * sums.kl, 1e-4 * fabs(sums.loss));
    CHECK_NEAR(sums.loss, loss_at(m, x, y, eps, B), 1e-6 * fabs(sums.loss));
    double worst = 0, l0 = loss_at(m, x, y, eps, B);
    int bad = 0, kinks = 0;
    const float h = s->act == GD_ACT_RELU ? 2e-3f : 1e-2f; /* smaller steps cross fewer ReLU kinks */
    for (size_t i = 0; i < p->total; i++) {
        float keep = p->data[i];
        p->data[i] = keep + h;
        double lp = loss_at(m, x, y, eps, B);
        p->data[i] = keep - h;
        double lm = loss_at(m, x, y, eps, B);
        p->data[i] = keep;
        double fd = (lp - lm) / (2.0 * h), an = p->grad[i], sc = fmax(1.0, fabs(an));
        double e = fabs(fd - an) / sc;
        if (e > 2e-2 && s->act == GD_ACT_RELU) {
            double e1 = fabs((lp - l0) / h - an) / sc, e2 = fabs((l0 - lm) / h - an) / sc;
            if (fmin(e1, e2) < 5e-2) {
                kinks++;
                continue;
            }
        }
        if (e > worst) worst = e;
        if (e > 2e-2) {
            if (bad < 5) fprintf(stderr, "%s: param %zu: analytic %.6g, finite difference %.6g\n", what, i, an, fd);
            bad++;
        }
    }
    printf("%-44s %5zu params, worst relative error %.2e, %d above 2e-2, %d at ReLU kinks\n", what, p->total,
           worst, bad, kinks);
    CHECK_MSG(bad == 0, "%s: %d gradient entries disagree with finite differences", what, bad);
    CHECK_MSG(kinks * 33 < (int)p->total, "%s: %d entries only match one-sided differences", what, kinks);
    gd_cvae_free(m);
}

/* dz, dy of F = <c, x_f(z, y)> against finite differences; routed decode equals the dense one; parts add up. */
static void check_generator(const char* what, gd_cvae_spec* s, int B) {
    gd_error err;
    gd_cvae* m = NULL;
    CHECK_OK(gd_cvae_create(s, B, 0, &m, &err), &err);
    if (!m) return;
    CHECK_OK(gd_cvae_init_params(m, 11, &err), &err);
    int D = s->h * s->w, n = s->n, nk = s->n * s->k;
    float z[B * nk], y[B * n], c[B * D], xf[B * D], xf2[B * D], dz[B * nk], dy[B * n], parts[B * n * D];
    for (int i = 0; i < B * nk; i++) z[i] = 2.0f * frand() - 1.0f;
    for (int i = 0; i < B * n; i++) y[i] = frand() < 0.4f ? 0.0f : frand();
    for (int i = 0; i < B * D; i++) c[i] = 2.0f * frand() - 1.0f;
    CHECK_OK(gd_cvae_decode(m, z, y, xf, B, 1, &err), &err);
    CHECK_OK(gd_cvae_decode_backward(m, c, dz, dy, B, &err), &err);
    /* F(z, y) in double */
#define FVAL(out)                                                                          \
    do {                                                                                   \
        CHECK_OK(gd_cvae_decode(m, z, y, xf2, B, 1, &err), &err);                          \
        double f_ = 0;                                                                     \
        for (int j = 0; j < B * D; j++) f_ += (double)c[j] * xf2[j];                       \
        out = f_;                                                                          \
    } while (0)
    int bad = 0;
    const float h = 1e-2f;
    for (int i = 0; i < B * nk; i++) {
        double fp, fm;
        float keep = z[i];
        z[i] = keep + h;
        FVAL(fp);
        z[i] = keep - h;
        FVAL(fm);
        z[i] = keep;
        double fd = (fp - fm) / (2 * h);
        if (fabs(fd - dz[i]) > 2e-2 * fmax(1.0, fabs(dz[i]))) {
            if (bad++ < 5) fprintf(stderr, "%s: dz[%d] analytic %.6g fd %.6g\n", what, i, dz[i], fd);
        }
    }
    for (int i = 0; i < B * n; i++) {
        double fp, fm;
        float keep = y[i];
        y[i] = keep + h;
        FVAL(fp);
        y[i] = keep - h;
        FVAL(fm);
        y[i] = keep;
        double fd = (fp - fm) / (2 * h);
        if (fabs(fd - dy[i]) > 2e-2 * fmax(1.0, fabs(dy[i]))) {
            if (bad++ < 5) fprintf(stderr, "%s: dy[%d] analytic %.6g fd %.6g\n", what, i, dy[i], fd);
        }
    }
    CHECK_MSG(bad == 0, "%s: %d generator gradient entries disagree", what, bad);
    /* routed (all = 0) decoding gives the same x_f; its dz equals the dense one */
    float dz2[B * nk];
    CHECK_OK(gd_cvae_decode(m, z, y, xf2, B, 0, &err), &err);
    double md = 0;
    for (int i = 0; i < B * D; i++) md = fmax(md, fabs(xf[i] - xf2[i]));
    CHECK_MSG(md < 1e-5, "%s: routed decode differs from dense by %g", what, md);
    CHECK(gd_cvae_decode_backward(m, c, dz2, dy, B, &err) == GD_ESTATE); /* dy after a routed decode */
    CHECK_OK(gd_cvae_decode(m, z, y, xf2, B, 0, &err), &err);
    CHECK_OK(gd_cvae_decode_backward(m, c, dz2, NULL, B, &err), &err);
    md = 0;
    for (int i = 0; i < B * nk; i++) md = fmax(md, fabs(dz[i] - dz2[i]));
    CHECK_MSG(md < 1e-4, "%s: routed dz differs from dense by %g", what, md);
    /* parts: x_f = Σ y_i part_i (mse, mse_sigmoid: parts in (0,1)) or sigmoid(Σ y_i logit(part_i)) (bce) */
    CHECK_OK(gd_cvae_decode_parts(m, z, parts, B, &err), &err);
    md = 0;
    for (int b = 0; b < B; b++)
        for (int pix = 0; pix < D; pix++) {
            double acc = 0;
            for (int i = 0; i < n; i++) {
                double v = parts[((size_t)b * n + i) * D + pix];
                if (s->recon == GD_RECON_BCE_LOGITS) v = log(v / (1 - v));
                acc += y[b * n + i] * v;
            }
            if (s->recon == GD_RECON_BCE_LOGITS) acc = 1 / (1 + exp(-acc));
            md = fmax(md, fabs(acc - xf[b * D + pix]));
        }
    CHECK_MSG(md < 1e-4, "%s: parts do not add up to x_f (max diff %g)", what, md);
    if (s->recon == GD_RECON_MSE_SIGMOID) {
        int inside = 1;
        for (int i = 0; i < B * n * D; i++) inside &= parts[i] > 0 && parts[i] < 1;
        CHECK_MSG(inside, "%s: a sigmoid component image outside (0, 1)", what);
    }
    /* encode: the mean the training step samples around (eps = 0 -> z = mu) */
    float x[B * D], mu[B * nk], lv[B * nk];
    for (int i = 0; i < B * D; i++) x[i] = frand();
    CHECK_OK(gd_cvae_encode(m, x, mu, lv, B, &err), &err);
    int finite = 1;
    for (int i = 0; i < B * nk; i++) finite &= isfinite(mu[i]) && isfinite(lv[i]);
    CHECK(finite);
    gd_cvae_free(m);
}

int main(void) {
    gd_cvae_spec s;
    const gd_recon_kind recons[3] = {GD_RECON_MSE, GD_RECON_BCE_LOGITS, GD_RECON_MSE_SIGMOID};
    const char* rname[3] = {"mse", "bce_logits", "mse_sigmoid"};
    const gd_kl_kind kls[2] = {GD_KL_GATED, GD_KL_MEAN};
    char what[128];
    for (int act = 0; act < 2; act++)
    for (int r = 0; r < 3; r++)
        for (int q = 0; q < 2; q++) {
            /* MLP: 5x5 images, n 3, k 2, encoder [6, 5], decoder [4] */
            gd_cvae_spec_default(&s, 5, 5, 3);
            s.k = 2, s.n_enc = 2, s.enc[0] = 6, s.enc[1] = 5, s.n_dec = 1, s.dec[0] = 4;
            s.recon = recons[r], s.kl = kls[q], s.C = 0.7f, s.act = act ? GD_ACT_RELU : GD_ACT_ELU;
            snprintf(what, sizeof what, "mlp %s %s %s", rname[r], q ? "mean" : "gated", act ? "relu" : "elu");
            check_spec(what, &s, 3, 0);
            /* conv: 6x6 images, channels [2, 3], kernel 3, dec_start 2 -> 8 -> valid 3x3 -> 6 */
            gd_cvae_spec_default(&s, 6, 6, 3);
            s.arch = GD_CVAE_CONV, s.k = 2, s.n_ch = 2, s.ch[0] = 2, s.ch[1] = 3, s.kernel = 3, s.dec_start = 2;
            s.out_kernel = 3, s.recon = recons[r], s.kl = kls[q], s.C = 1.3f, s.act = act ? GD_ACT_RELU : GD_ACT_ELU;
            snprintf(what, sizeof what, "conv %s %s %s", rname[r], q ? "mean" : "gated", act ? "relu" : "elu");
            check_spec(what, &s, 3, 0);
        }
    /* ELU, fractional gates, a "same"-padded final conv (8x8 from dec_start 2) */
    gd_cvae_spec_default(&s, 8, 8, 2);
    s.arch = GD_CVAE_CONV, s.k = 3, s.n_ch = 2, s.ch[0] = 3, s.ch[1] = 2, s.kernel = 3, s.dec_start = 2;
    s.out_kernel = 3, s.act = GD_ACT_ELU;
    check_spec("conv mse gated elu same-pad fractional y", &s, 2, 1);
    gd_cvae_spec_default(&s, 4, 4, 3);
    s.k = 2, s.n_enc = 1, s.enc[0] = 5, s.n_dec = 2, s.dec[0] = 3, s.dec[1] = 4, s.act = GD_ACT_ELU;
    check_spec("mlp mse gated elu fractional y", &s, 4, 1);
    /* generator gradients */
    gd_cvae_spec_default(&s, 5, 5, 3);
    s.k = 2, s.n_enc = 1, s.enc[0] = 6, s.n_dec = 1, s.dec[0] = 4, s.act = GD_ACT_ELU;
    check_generator("generator mlp mse", &s, 3);
    s.recon = GD_RECON_BCE_LOGITS;
    check_generator("generator mlp bce", &s, 3);
    s.recon = GD_RECON_MSE_SIGMOID;
    check_generator("generator mlp mse_sigmoid", &s, 3);
    gd_cvae_spec_default(&s, 6, 6, 3);
    s.arch = GD_CVAE_CONV, s.k = 2, s.n_ch = 2, s.ch[0] = 2, s.ch[1] = 3, s.kernel = 3, s.dec_start = 2;
    s.out_kernel = 3, s.act = GD_ACT_ELU;
    check_generator("generator conv mse", &s, 3);
    s.recon = GD_RECON_BCE_LOGITS;
    check_generator("generator conv bce", &s, 3);
    s.recon = GD_RECON_MSE_SIGMOID;
    check_generator("generator conv mse_sigmoid", &s, 3);
    return gd_test_done("test_cvae_grad");
}
