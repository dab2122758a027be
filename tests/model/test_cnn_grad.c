/* Finite-difference checks of the CNN: parameter gradient of Σ_b CE_b, and ∇ₓ of each image's CE (FGM). */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/model.h"

static uint32_t lcg = 777;
static float frand(void) {
    lcg = lcg * 1664525u + 1013904223u;
    return (float)(lcg >> 8) / 16777216.0f;
}

static double loss_at(gd_cnn* m, const float* x, const int32_t* lab, int B) {
    double l = 0;
    gd_error err;
    CHECK_OK(gd_cnn_loss(m, x, lab, B, 0, 1.0f, &l, NULL, &err), &err);
    return l;
}

/* An entry passes when it matches the central difference, or (at a ReLU / max-pool kink crossed by the step)
 * one of the one-sided differences; kinks must stay rare. */
static int agrees(double an, double lp, double l0, double lm, double h, int* kinks) {
    double sc = fmax(1.0, fabs(an));
    if (fabs((lp - lm) / (2 * h) - an) / sc <= 2e-2) return 1;
    if (fmin(fabs((lp - l0) / h - an), fabs((l0 - lm) / h - an)) / sc <= 5e-2) {
        (*kinks)++;
        return 1;
    }
    return 0;
}

int main(void) {
    gd_error err;
    gd_cnn_spec s = {.h = 9, .w = 8, .n_classes = 3, .conv1 = 2, .conv2 = 3, .fc = 5};
    enum { B = 3 };
    gd_cnn* m = NULL;
    CHECK_OK(gd_cnn_create(&s, B, &m, &err), &err);
    if (!m) return gd_test_done("test_cnn_grad");
    CHECK_OK(gd_cnn_init_params(m, 3, &err), &err);
    int D = s.h * s.w;
    float x[B * D];
    int32_t lab[B] = {0, 2, 1};
    for (int i = 0; i < B * D; i++) x[i] = frand();
    gd_params* p = gd_cnn_params(m);
    /* parameter gradient */
    gd_params_zero_grad(p);
    double l0 = 0;
    int64_t correct = 0;
    CHECK_OK(gd_cnn_loss(m, x, lab, B, 1, 1.0f, &l0, &correct, &err), &err);
    CHECK(correct >= 0 && correct <= B);
    int bad = 0, kinks = 0;
    const float h = 2e-3f;
    for (size_t i = 0; i < p->total; i++) {
        float keep = p->data[i];
        p->data[i] = keep + h;
        double lp = loss_at(m, x, lab, B);
        p->data[i] = keep - h;
        double lm = loss_at(m, x, lab, B);
        p->data[i] = keep;
        if (!agrees(p->grad[i], lp, l0, lm, h, &kinks) && bad++ < 5)
            fprintf(stderr, "param %zu: analytic %.6g fd %.6g\n", i, p->grad[i], (lp - lm) / (2 * h));
    }
    printf("CNN parameters: %zu, %d disagree, %d at kinks\n", p->total, bad, kinks);
    CHECK(bad == 0);
    CHECK(kinks * 33 < (int)p->total);
    /* the step must not depend on grad_scale beyond scaling */
    float* g1 = malloc(sizeof(float) * p->total);
    memcpy(g1, p->grad, sizeof(float) * p->total);
    gd_params_zero_grad(p);
    CHECK_OK(gd_cnn_loss(m, x, lab, B, 1, 0.25f, NULL, NULL, &err), &err);
    double md = 0;
    for (size_t i = 0; i < p->total; i++) md = fmax(md, fabs(p->grad[i] - 0.25f * g1[i]));
    CHECK_NEAR(md, 0, 1e-5);
    free(g1);
    /* input gradient: ∂CE_b/∂x_b, parameter gradient untouched */
    gd_params_zero_grad(p);
    float dx[B * D], rl[B], probs[B * 3], probs2[B * 3];
    CHECK_OK(gd_cnn_input_grad(m, x, lab, dx, rl, probs, B, &err), &err);
    double gsum = 0;
    for (size_t i = 0; i < p->total; i++) gsum += fabs(p->grad[i]);
    CHECK(gsum == 0);
    double rsum = 0;
    for (int b = 0; b < B; b++) rsum += rl[b];
    CHECK_NEAR(rsum, l0, 1e-4);
    bad = kinks = 0;
    for (int i = 0; i < B * D; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = loss_at(m, x, lab, B);
        x[i] = keep - h;
        double lm = loss_at(m, x, lab, B);
        x[i] = keep;
        if (!agrees(dx[i], lp, l0, lm, h, &kinks) && bad++ < 5)
            fprintf(stderr, "dx[%d]: analytic %.6g fd %.6g\n", i, dx[i], (lp - lm) / (2 * h));
    }
    printf("CNN input gradient: %d entries, %d disagree, %d at kinks\n", B * D, bad, kinks);
    CHECK(bad == 0);
    CHECK(kinks * 20 < B * D);
    /* predict = the softmax the loss used; rows sum to 1 */
    CHECK_OK(gd_cnn_predict(m, x, probs2, B, &err), &err);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int c = 0; c < 3; c++) {
            sum += probs2[b * 3 + c];
            CHECK_NEAR(probs2[b * 3 + c], probs[b * 3 + c], 1e-6);
        }
        CHECK_NEAR(sum, 1.0, 1e-5);
        CHECK_NEAR(rl[b], -log(probs[b * 3 + lab[b]]), 1e-4);
    }
    /* bad labels and batches */
    int32_t badlab[B] = {0, 3, 1};
    CHECK(gd_cnn_loss(m, x, badlab, B, 0, 1.0f, NULL, NULL, &err) == GD_EINVAL);
    CHECK(gd_cnn_predict(m, x, probs2, B + 1, &err) == GD_EINVAL);
    gd_cnn_free(m);
    /* spec checks and signatures */
    gd_cnn_spec t = s, u;
    char sig[256];
    gd_cnn_spec_format(&t, sig, sizeof sig);
    CHECK_OK(gd_cnn_spec_parse(sig, &u, &err), &err);
    CHECK(memcmp(&t, &u, sizeof t) == 0);
    CHECK(gd_cnn_spec_parse("h=28 w=28 classes=10", &u, &err) == GD_EFORMAT);
    t.h = 3;
    CHECK(gd_cnn_spec_check(&t, &err) == GD_ECONFIG);
    return gd_test_done("test_cnn_grad");
}
