/* FGM / PGD over a hand-written differentiable loss: gradient sign against finite differences, step
 * direction, clipping and projection invariants, per-image random starts, bad eps, binarization. */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/attack.h"

static gd_error err;

enum { B = 4, D = 24 };

/* loss_b(x) = sum_i a_i sin(3 x_i + b) + 0.5 (v . x)^2 - label_b * x_0 x_1 (smooth, non-separable). */
static double loss(const float* x, int label, int b) {
    double s = 0, vx = 0;
    for (int i = 0; i < D; i++) {
        double a = 0.7 * cos(1.3 * i + b), v = sin(0.9 * i) - 0.2;
        s += a * sin(3 * x[i] + b);
        vx += v * x[i];
    }
    return s + 0.5 * vx * vx - label * (double)x[0] * x[1];
}

static gd_status grad_fn(void* ctx, const float* x, const int32_t* labels, int n, float* grad, gd_error* e) {
    (void)e;
    int* calls = ctx;
    (*calls)++;
    for (int b = 0; b < n; b++) {
        const float* xb = x + b * D;
        double vx = 0;
        for (int i = 0; i < D; i++) vx += (sin(0.9 * i) - 0.2) * xb[i];
        for (int i = 0; i < D; i++) {
            double a = 0.7 * cos(1.3 * i + b % B), v = sin(0.9 * i) - 0.2;
            double g = 3 * a * cos(3 * xb[i] + b % B) + vx * v;
            if (i == 0) g -= labels[b] * xb[1];
            if (i == 1) g -= labels[b] * xb[0];
            grad[b * D + i] = (float)g;
        }
    }
    return GD_OK;
}

static void inputs(float* x, int32_t* labels) {
    for (int b = 0; b < B; b++) {
        labels[b] = b;
        for (int i = 0; i < D; i++) x[b * D + i] = (float)(0.5 + 0.45 * sin(2.1 * i + 0.7 * b));
    }
    x[0] = 0.0f, x[1] = 1.0f; /* pixels on the box boundary */
}

static void test_gradient_and_fgm(void) {
    float x[B * D], g[B * D], adv[B * D];
    int32_t labels[B];
    int calls = 0;
    inputs(x, labels);
    CHECK_OK(grad_fn(&calls, x, labels, B, g, &err), &err);
    /* The callback's gradient against central finite differences (in double on a float copy). */
    int signs_checked = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < D; i++) {
            float xp[D], xm[D];
            memcpy(xp, x + b * D, sizeof xp);
            memcpy(xm, x + b * D, sizeof xm);
            const float h = 1e-3f;
            xp[i] += h, xm[i] -= h;
            double fd = (loss(xp, labels[b], b) - loss(xm, labels[b], b)) / ((double)xp[i] - xm[i]);
            CHECK_NEAR(g[b * D + i], fd, 1e-3 * (1 + fabs(fd)));
            if (fabs(fd) > 1e-2) {
                CHECK((fd > 0) == (g[b * D + i] > 0));
                signs_checked++;
            }
        }
    CHECK(signs_checked > B * D / 2);
    /* FGM L-infinity: each pixel moves by eps in the direction of the gradient's sign, clipped to [0, 1]. */
    const float eps = 0.1f;
    CHECK_OK(gd_attack_fgm(x, labels, B, D, eps, GD_ATTACK_LINF, grad_fn, &calls, g, adv, &err), &err);
    for (int k = 0; k < B * D; k++) {
        float want = x[k] + (g[k] > 0 ? eps : g[k] < 0 ? -eps : 0);
        want = want < 0 ? 0 : want > 1 ? 1 : want;
        CHECK_NEAR(adv[k], want, 1e-7);
        CHECK(adv[k] >= 0.0f && adv[k] <= 1.0f);
        CHECK(fabsf(adv[k] - x[k]) <= eps + 1e-6f);
    }
    /* The loss goes up for a small step (first-order increase eps * ||g||_1 dominates). */
    float small[B * D];
    CHECK_OK(gd_attack_fgm(x, labels, B, D, 0.01f, GD_ATTACK_LINF, grad_fn, &calls, g, small, &err), &err);
    for (int b = 0; b < B; b++) CHECK(loss(small + b * D, labels[b], b) > loss(x + b * D, labels[b], b));
    /* eps = 0 returns x; in-place works. */
    float same[B * D];
    memcpy(same, x, sizeof x);
    CHECK_OK(gd_attack_fgm(same, labels, B, D, 0.0f, GD_ATTACK_LINF, grad_fn, &calls, g, same, &err), &err);
    CHECK(!memcmp(same, x, sizeof x));
    /* L2: the step is eps * g / ||g|| before clipping; after clipping the distance is at most eps. */
    const float e2 = 0.5f;
    CHECK_OK(gd_attack_fgm(x, labels, B, D, e2, GD_ATTACK_L2, grad_fn, &calls, g, adv, &err), &err);
    for (int b = 0; b < B; b++) {
        double n2 = 0, d2 = 0;
        for (int i = 0; i < D; i++) n2 += (double)g[b * D + i] * g[b * D + i];
        for (int i = 0; i < D; i++) {
            double want = x[b * D + i] + e2 * g[b * D + i] / sqrt(n2);
            want = fmin(1, fmax(0, want));
            CHECK_NEAR(adv[b * D + i], want, 1e-6);
            d2 += ((double)adv[b * D + i] - x[b * D + i]) * (adv[b * D + i] - x[b * D + i]);
        }
        CHECK(sqrt(d2) <= e2 + 1e-5);
    }
}

static void test_pgd(void) {
    float x[B * D], g[B * D], adv[B * D], adv2[B * D];
    int32_t labels[B];
    int calls = 0;
    inputs(x, labels);
    for (int norm = 0; norm < 2; norm++) {
        gd_pgd_params p = {.norm = (gd_attack_norm)norm, .eps = norm ? 0.8f : 0.15f, .alpha = norm ? 0.2f : 0.04f,
                           .steps = 10, .random_start = 1, .seed = 9};
        calls = 0;
        CHECK_OK(gd_attack_pgd(&p, x, labels, B, D, 100, grad_fn, &calls, g, adv, &err), &err);
        CHECK(calls == 10);
        for (int b = 0; b < B; b++) {
            double d2 = 0, dinf = 0;
            for (int i = 0; i < D; i++) {
                float a = adv[b * D + i], o = x[b * D + i];
                CHECK(a >= 0.0f && a <= 1.0f);
                d2 += ((double)a - o) * (a - o);
                dinf = fmax(dinf, fabs((double)a - o));
            }
            if (norm == GD_ATTACK_LINF) CHECK(dinf <= p.eps + 1e-6);
            else CHECK(sqrt(d2) <= p.eps + 1e-5);
            /* PGD ascends the loss. */
            CHECK(loss(adv + b * D, labels[b], b) > loss(x + b * D, labels[b], b));
        }
        /* Random starts come from per-image streams: two half batches give the same result. */
        CHECK_OK(gd_attack_pgd(&p, x, labels, 2, D, 100, grad_fn, &calls, g, adv2, &err), &err);
        CHECK_OK(gd_attack_pgd(&p, x + 2 * D, labels + 2, 2, D, 102, grad_fn, &calls, g, adv2 + 2 * D, &err), &err);
        /* grad_fn's loss depends on the row position b % B, so compare only the first half exactly. */
        CHECK(!memcmp(adv, adv2, sizeof(float) * 2 * D));
        /* Another seed, another start. */
        p.seed = 10;
        p.steps = 1;
        float adv3[B * D];
        CHECK_OK(gd_attack_pgd(&p, x, labels, B, D, 100, grad_fn, &calls, g, adv3, &err), &err);
        p.seed = 9;
        CHECK_OK(gd_attack_pgd(&p, x, labels, B, D, 100, grad_fn, &calls, g, adv2, &err), &err);
        CHECK(memcmp(adv2, adv3, sizeof adv3) != 0);
    }
    /* Projection by itself. */
    float far[B * D];
    for (int k = 0; k < B * D; k++) far[k] = x[k] + ((k % 3) - 1) * 0.9f;
    gd_attack_project(x, B, D, 0.2f, GD_ATTACK_LINF, far);
    for (int k = 0; k < B * D; k++) CHECK(fabsf(far[k] - x[k]) <= 0.2f + 1e-6f && far[k] >= 0 && far[k] <= 1);
    /* Bad PGD settings. */
    gd_pgd_params bad = {.norm = GD_ATTACK_LINF, .eps = 0.1f, .alpha = 0, .steps = 3};
    CHECK(gd_attack_pgd(&bad, x, labels, B, D, 0, grad_fn, &calls, g, adv, &err) == GD_EINVAL);
    bad.alpha = 0.01f;
    CHECK(gd_attack_pgd(&bad, x, labels, B, D, 0, grad_fn, &calls, g, (float*)x, &err) == GD_EINVAL);
}

static void test_bad_eps_and_binarize(void) {
    float x[B * D], g[B * D], adv[B * D];
    int32_t labels[B];
    int calls = 0;
    inputs(x, labels);
    const float bad[] = {-0.1f, 1.5f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        CHECK(gd_attack_fgm(x, labels, B, D, bad[i], GD_ATTACK_LINF, grad_fn, &calls, g, adv, &err) == GD_EINVAL);
        CHECK(strstr(err.msg, "[0, 1]") != NULL);
    }
    CHECK(calls == 0); /* rejected before any work */
    CHECK_OK(gd_attack_check_eps(1.0f, GD_ATTACK_LINF, D, &err), &err);
    CHECK_OK(gd_attack_check_eps(3.0f, GD_ATTACK_L2, D, &err), &err);         /* sqrt(24) = 4.9 */
    CHECK(gd_attack_check_eps(5.0f, GD_ATTACK_L2, D, &err) == GD_EINVAL);
    CHECK(gd_attack_check_eps(0.1f, (gd_attack_norm)7, D, &err) == GD_EINVAL);
    float v[6] = {0.0f, 0.49f, 0.5f, 0.51f, 1.0f, 0.7f}, out[6];
    gd_attack_binarize(v, 6, 0.5f, out);
    const float want[6] = {0, 0, 0, 1, 1, 1};
    CHECK(!memcmp(out, want, sizeof want));
    gd_attack_binarize(v, 6, 0.5f, v); /* in place */
    CHECK(!memcmp(v, want, sizeof want));
}

int main(void) {
    test_gradient_and_fgm();
    test_pgd();
    test_bad_eps_and_binarize();
    return gd_test_done("test_fgm");
}
