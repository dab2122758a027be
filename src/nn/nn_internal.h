/* nn's private helpers: exp and expm1 in a form the compiler vectorises (libm's calls stay scalar); the direct
 * convolution kernels of conv_direct.c. */
#ifndef GD_NN_INTERNAL_H
#define GD_NN_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* e^x for float x, within 2 ulp of the exact value for x in [-87.3, 88] (Cephes expf: x = n ln2 + r,
 * |r| <= ln2/2, a polynomial for e^r, then the exponent bits of 2^n). Returns 0 below -87.33 (no subnormals),
 * e^88 above 88, NaN for NaN. Branch-free so that loops calling it vectorise. */
static inline float gd_nn_expf(float x) {
    float xc = x < -87.33654f ? -87.33654f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    xc = xc == xc ? xc : 0.0f; /* NaN: any finite value keeps the integer conversion defined */
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (floorf would not vectorise) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23); /* n + 127 in [1, 254] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = x < -87.33654f ? 0.0f : p * scale;
    return x == x ? e : x;
}

/* e^x - 1 without the cancellation near 0: a Taylor polynomial for |x| < 0.25, gd_nn_expf(x) - 1 elsewhere.
 * Within a few ulp (relative) everywhere; branch-free. */
static inline float gd_nn_expm1f(float x) {
    float t = x * (1.0f + x * (0.5f + x * (1.0f / 6 + x * (1.0f / 24 + x * (1.0f / 120 + x * (1.0f / 720))))));
    float e = gd_nn_expf(x) - 1.0f;
    return fabsf(x) < 0.25f ? t : e;
}

#include "gendec/nn.h"

/* conv_direct.c: the register-blocked direct convolution (stride 1), one image. Usable when
 * gd_nn_conv_direct_fast_ok and gd_nn_conv_direct_rows_ok hold; `work` holds gd_nn_conv_direct_workspace(s)
 * floats. forward: y (OC,OH,OW) += conv(x (C,H,W), w); input_grad: dx += ...; weight_grad: dw += ... */
int gd_nn_conv_direct_fast_ok(const gd_conv_shape* s);
int gd_nn_conv_direct_rows_ok(const gd_conv_shape* s);
size_t gd_nn_conv_direct_workspace(const gd_conv_shape* s);
void gd_nn_conv_direct_forward(float* y, const float* x, const float* w, const gd_conv_shape* s, float* work);
void gd_nn_conv_direct_input_grad(float* dx, const float* dy, const float* w, const gd_conv_shape* s, float* work);
void gd_nn_conv_direct_weight_grad(float* dw, const float* dy, const float* x, const gd_conv_shape* s, float* work);

#endif
