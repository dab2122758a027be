/* Activations: values against libm in double, backward (from the output) against finite differences,
 * in-place forward, extreme inputs; row softmax. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "nn_check.h"

enum { RELU, ELU, SIGMOID, TANH, N_ACT };
static const char* names[N_ACT] = {"relu", "elu", "sigmoid", "tanh"};

typedef struct {
    int act;
    size_t n;
    float *in, *out, *r;
} act_case;

static void forward(int act, float* out, const float* in, size_t n) {
    if (act == RELU) gd_relu_forward(out, in, n);
    if (act == ELU) gd_elu_forward(out, in, n);
    if (act == SIGMOID) gd_sigmoid_forward(out, in, n);
    if (act == TANH) gd_tanh_forward(out, in, n);
}

static void backward(int act, float* din, const float* dout, const float* out, size_t n) {
    if (act == RELU) gd_relu_backward(din, dout, out, n);
    if (act == ELU) gd_elu_backward(din, dout, out, n);
    if (act == SIGMOID) gd_sigmoid_backward(din, dout, out, n);
    if (act == TANH) gd_tanh_backward(din, dout, out, n);
}

static double reference(int act, double x) {
    switch (act) {
    case RELU: return x > 0 ? x : 0;
    case ELU: return x > 0 ? x : expm1(x);
    case SIGMOID: return 1 / (1 + exp(-x));
    default: return tanh(x);
    }
}

static double objective(void* ctx) {
    act_case* a = ctx;
    forward(a->act, a->out, a->in, a->n);
    return nn_dot(a->r, a->out, a->n);
}

int main(void) {
    enum { N = 60 };
    float in[N], out[N], r[N], din[N], copy[N];
    gd_rng rng;
    gd_rng_init(&rng, 3, GD_STREAM_USER, 3);
    for (int act = 0; act < N_ACT; act++) {
        nn_fill_away(&rng, in, N, 0.05f, 4.0f); /* no input within 0.05 of ReLU's and ELU's kink */
        nn_fill(&rng, r, N, 1.0f);
        forward(act, out, in, N);
        double worst = 0;
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(out[i] - reference(act, in[i])));
        CHECK_MSG(worst < 1e-6, "%s: value off by %g", names[act], worst);
        memcpy(copy, in, sizeof in);
        forward(act, copy, copy, N); /* in place */
        CHECK_MSG(memcmp(copy, out, sizeof out) == 0, "%s: in-place forward differs", names[act]);
        nn_set(din, N, -0.25f);
        backward(act, din, r, out, N);
        nn_sub(din, N, -0.25f);
        act_case a = {act, N, in, out, r};
        NN_CHECK_GRAD(names[act], in, din, N, objective, &a, 1e-3f, 2e-3);
    }
    /* Derivative at and around the kinks, from the output: ReLU'(0) = 0, ELU'(0) = 1 (PyTorch's choices). */
    float k_in[3] = {0.0f, -1e-30f, 1e-30f}, k_out[3], k_d[3] = {0, 0, 0}, ones[3] = {1, 1, 1};
    gd_relu_forward(k_out, k_in, 3);
    gd_relu_backward(k_d, ones, k_out, 3);
    CHECK(k_d[0] == 0 && k_d[1] == 0 && k_d[2] == 1);
    k_d[0] = k_d[1] = k_d[2] = 0;
    gd_elu_forward(k_out, k_in, 3);
    gd_elu_backward(k_d, ones, k_out, 3);
    CHECK(k_d[0] == 1 && k_d[1] == 1 && k_d[2] == 1);

    /* Extremes: no NaN or Inf, saturated values. */
    float big[4] = {-1000.0f, 1000.0f, -90.0f, 90.0f}, s[4];
    gd_sigmoid_forward(s, big, 4);
    CHECK(s[0] == 0.0f && s[1] == 1.0f && s[2] >= 0.0f && s[2] < 1e-38f && s[3] == 1.0f);
    float nan_in[2] = {NAN, -NAN}, nan_out[2];
    gd_sigmoid_forward(nan_out, nan_in, 2);
    CHECK(isnan(nan_out[0]) && isnan(nan_out[1]));
    gd_elu_forward(nan_out, nan_in, 2);
    CHECK(isnan(nan_out[0]) && isnan(nan_out[1]));
    gd_tanh_forward(s, big, 4);
    CHECK(s[0] == -1.0f && s[1] == 1.0f);
    gd_elu_forward(s, big, 4);
    CHECK(s[0] == -1.0f && s[1] == 1000.0f);

    /* Accuracy over a dense sweep of [-30, 30] (nn uses its own vectorisable exp): relative error of ELU
     * and sigmoid against double precision, in units of float epsilon. */
    enum { SWEEP = 60001 };
    float* xs = malloc(SWEEP * sizeof(float));
    float* ys = malloc(SWEEP * sizeof(float));
    for (int i = 0; i < SWEEP; i++) xs[i] = -30.0f + 0.001f * (float)i;
    xs[30000] = -1e-6f; /* near 0 from below: expm1 must not cancel */
    double worst_elu = 0, worst_sig = 0;
    gd_elu_forward(ys, xs, SWEEP);
    for (int i = 0; i < SWEEP; i++) {
        double ref = reference(ELU, xs[i]);
        worst_elu = fmax(worst_elu, fabs(ys[i] - ref) / fabs(ref) / FLT_EPSILON);
    }
    gd_sigmoid_forward(ys, xs, SWEEP);
    for (int i = 0; i < SWEEP; i++) {
        double ref = reference(SIGMOID, xs[i]);
        worst_sig = fmax(worst_sig, fabs(ys[i] - ref) / ref / FLT_EPSILON);
    }
    CHECK_MSG(worst_elu < 4, "ELU relative error %.2f eps", worst_elu);
    CHECK_MSG(worst_sig < 4, "sigmoid relative error %.2f eps", worst_sig);
    printf("max relative error over [-30, 30]: ELU %.2f eps, sigmoid %.2f eps\n", worst_elu, worst_sig);
    free(xs), free(ys);

    /* Softmax: rows sum to 1, match double, stable with huge logits, in place. */
    float lg[2 * 5] = {1, 2, 3, 4, 5, 1000, 1000, -1000, 0, 999}, p[10];
    gd_softmax_forward(p, lg, 2, 5);
    double z = 0, e = 0;
    for (int k = 0; k < 5; k++) z += exp(lg[k] - 5.0);
    for (int k = 0; k < 5; k++) e = fmax(e, fabs(p[k] - exp(lg[k] - 5.0) / z));
    CHECK_MSG(e < 1e-7, "softmax off by %g", e);
    double zz = 2 + exp(-1.0);
    CHECK_NEAR(p[5], 1 / zz, 1e-7);
    CHECK_NEAR(p[9], exp(-1.0) / zz, 1e-7);
    CHECK(p[7] == 0.0f);
    gd_softmax_forward(lg, lg, 2, 5);
    CHECK(memcmp(lg, p, sizeof p) == 0);
    return gd_test_done("test_activation");
}
