/* Elementwise activations; backward from the forward output. Also the row softmax. */
#include <math.h>

#include "gendec/nn.h"
#include "nn_internal.h"

void gd_relu_forward(float* out, const float* in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void gd_relu_backward(float* din, const float* dout, const float* out, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

void gd_elu_forward(float* out, const float* in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = in[i], e = gd_nn_expm1f(x);
        out[i] = x > 0.0f ? x : e;
    }
}

void gd_elu_backward(float* din, const float* dout, const float* out, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += out[i] > 0.0f ? dout[i] : dout[i] * (out[i] + 1.0f);
}

/* σ(x) without overflow: exp is only ever taken of a non-positive number. Branch-free (vectorises). */
static inline float sigmoidf(float x) {
    float e = gd_nn_expf(-fabsf(x)), s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

void gd_sigmoid_forward(float* out, const float* in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sigmoidf(in[i]);
}

void gd_sigmoid_backward(float* din, const float* dout, const float* out, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void gd_tanh_forward(float* out, const float* in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = tanhf(in[i]);
}

void gd_tanh_backward(float* din, const float* dout, const float* out, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void gd_softmax_forward(float* probs, const float* logits, int B, int K) {
    for (int b = 0; b < B; b++) {
        const float* x = logits + (size_t)b * K;
        float* p = probs + (size_t)b * K;
        float mx = x[0];
        for (int k = 1; k < K; k++) mx = x[k] > mx ? x[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += (p[k] = expf(x[k] - mx));
        const float inv = (float)(1.0 / sum);
        for (int k = 0; k < K; k++) p[k] *= inv;
    }
}
