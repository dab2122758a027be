/* 2-D convolution and transposed convolution through im2col / col2im and cblas_sgemm, one image at a time.
 *
 * Both use the same geometry: a "plane" (C, H, W) seen through a KH x KW window with stride and padding,
 * giving positions (OH, OW) and a column matrix col (C*KH*KW, OH*OW). conv2d reads its input as the plane;
 * conv_transpose2d treats its OUTPUT as the plane and its input as the positions. */
#include <cblas.h>
#include <string.h>

#include "gendec/nn.h"
#include "nn_internal.h"

typedef struct {
    int C, H, W, KH, KW, stride, pad, OH, OW;
} geom;

/* The positions o in [*lo, *hi) whose input coordinate o*stride - pad + k lies in [0, n). */
static void valid_range(int k, int n, int stride, int pad, int count, int* lo, int* hi) {
    int a = pad - k, b = n + pad - k; /* need a <= o*stride < b */
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = b <= 0 ? 0 : (b + stride - 1) / stride;
    if (*hi > count) *hi = count;
    if (*lo > *hi) *lo = *hi;
}

/* row (OW) = src[ow*stride + off] for ow in [lo, hi), 0 elsewhere. */
static inline void gather_row(float* restrict row, const float* restrict src, int off, int stride, int lo, int hi,
                              int OW) {
    for (int ow = 0; ow < lo; ow++) row[ow] = 0.0f;
    if (stride == 1)
        for (int ow = lo; ow < hi; ow++) row[ow] = src[ow + off];
    else if (stride == 2)
        for (int ow = lo; ow < hi; ow++) row[ow] = src[2 * ow + off];
    else
        for (int ow = lo; ow < hi; ow++) row[ow] = src[ow * stride + off];
    for (int ow = hi; ow < OW; ow++) row[ow] = 0.0f;
}

/* dst[ow*stride + off] += row[ow] for ow in [lo, hi). */
static inline void scatter_row(float* restrict dst, const float* restrict row, int off, int stride, int lo, int hi) {
    if (stride == 1)
        for (int ow = lo; ow < hi; ow++) dst[ow + off] += row[ow];
    else if (stride == 2)
        for (int ow = lo; ow < hi; ow++) dst[2 * ow + off] += row[ow];
    else
        for (int ow = lo; ow < hi; ow++) dst[ow * stride + off] += row[ow];
}

/* col (C*KH*KW, OH*OW) = the windows of plane (C,H,W); zero where the window hangs over the padding.
 * The kernel offsets are the outer loops so that the valid ranges are computed KH*KW times, not per channel. */
static void im2col(float* col, const float* plane, const geom* g) {
    const size_t P = (size_t)g->OH * g->OW;
    for (int kh = 0; kh < g->KH; kh++) {
        int oh0, oh1;
        valid_range(kh, g->H, g->stride, g->pad, g->OH, &oh0, &oh1);
        for (int kw = 0; kw < g->KW; kw++) {
            int ow0, ow1;
            valid_range(kw, g->W, g->stride, g->pad, g->OW, &ow0, &ow1);
            const int off = kw - g->pad;
            for (int c = 0; c < g->C; c++) {
                float* row = col + ((size_t)(c * g->KH + kh) * g->KW + kw) * P;
                const float* src = plane + ((size_t)c * g->H + (oh0 * g->stride - g->pad + kh)) * g->W;
                memset(row, 0, sizeof(float) * (size_t)oh0 * g->OW);
                for (int oh = oh0; oh < oh1; oh++, src += (size_t)g->stride * g->W)
                    gather_row(row + (size_t)oh * g->OW, src, off, g->stride, ow0, ow1, g->OW);
                memset(row + (size_t)oh1 * g->OW, 0, sizeof(float) * (size_t)(g->OH - oh1) * g->OW);
            }
        }
    }
}

/* plane (C,H,W) += the windows in col (C*KH*KW, OH*OW) summed back to their positions (adjoint of im2col). */
static void col2im(float* plane, const float* col, const geom* g) {
    const size_t P = (size_t)g->OH * g->OW;
    for (int kh = 0; kh < g->KH; kh++) {
        int oh0, oh1;
        valid_range(kh, g->H, g->stride, g->pad, g->OH, &oh0, &oh1);
        for (int kw = 0; kw < g->KW; kw++) {
            int ow0, ow1;
            valid_range(kw, g->W, g->stride, g->pad, g->OW, &ow0, &ow1);
            const int off = kw - g->pad;
            for (int c = 0; c < g->C; c++) {
                const float* row = col + ((size_t)(c * g->KH + kh) * g->KW + kw) * P;
                float* dst = plane + ((size_t)c * g->H + (oh0 * g->stride - g->pad + kh)) * g->W;
                for (int oh = oh0; oh < oh1; oh++, dst += (size_t)g->stride * g->W)
                    scatter_row(dst, row + (size_t)oh * g->OW, off, g->stride, ow0, ow1);
            }
        }
    }
}

/* plane (C, HW) = bias[c] everywhere, or 0 when bias is NULL. */
static void fill_bias(float* plane, const float* bias, int C, size_t HW) {
    if (!bias) {
        memset(plane, 0, sizeof(float) * C * HW);
        return;
    }
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < HW; i++) plane[c * HW + i] = bias[c];
}

/* db (C) += Σ over the N images and HW positions of d (N, C, HW). */
static void bias_backward(float* db, const float* d, int N, int C, size_t HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float* x = d + ((size_t)n * C + c) * HW;
            float s = 0.0f;
            for (size_t i = 0; i < HW; i++) s += x[i];
            db[c] += s;
        }
}

gd_status gd_conv_shape_init(gd_conv_shape* s, int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                             int pad, gd_error* err) {
    *s = (gd_conv_shape){N, C, H, W, OC, KH, KW, stride, pad, 0, 0, 0};
    if (N < 1 || C < 1 || H < 1 || W < 1 || OC < 1 || KH < 1 || KW < 1 || stride < 1 || pad < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "check the layer's configuration",
                            "impossible convolution N=%d C=%d H=%d W=%d OC=%d kernel %dx%d stride %d pad %d", N,
                            C, H, W, OC, KH, KW, stride, pad);
    if (H + 2 * pad < KH || W + 2 * pad < KW)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use a smaller kernel or more padding",
                            "convolution kernel %dx%d is larger than the padded input %dx%d", KH, KW, H + 2 * pad,
                            W + 2 * pad);
    s->OH = (H + 2 * pad - KH) / stride + 1;
    s->OW = (W + 2 * pad - KW) / stride + 1;
    return GD_OK;
}

gd_status gd_convT_shape_init(gd_conv_shape* s, int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                              int pad, int out_pad, gd_error* err) {
    *s = (gd_conv_shape){N, C, H, W, OC, KH, KW, stride, pad, out_pad, 0, 0};
    if (N < 1 || C < 1 || H < 1 || W < 1 || OC < 1 || KH < 1 || KW < 1 || stride < 1 || pad < 0 || out_pad < 0 ||
        out_pad >= stride)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "check the layer's configuration (0 <= out_pad < stride)",
                            "impossible transposed convolution N=%d C=%d H=%d W=%d OC=%d kernel %dx%d stride %d "
                            "pad %d out_pad %d", N, C, H, W, OC, KH, KW, stride, pad, out_pad);
    s->OH = (H - 1) * stride - 2 * pad + KH + out_pad;
    s->OW = (W - 1) * stride - 2 * pad + KW + out_pad;
    if (s->OH < 1 || s->OW < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use less padding",
                            "transposed convolution output would be %dx%d", s->OH, s->OW);
    return GD_OK;
}

/* ---- conv2d: plane = input (C,H,W), positions = output (OH,OW) ---- */

static geom conv_geom(const gd_conv_shape* s) {
    return (geom){s->C, s->H, s->W, s->KH, s->KW, s->stride, s->pad, s->OH, s->OW};
}

/* A 1x1 kernel with stride 1 and no padding needs no column matrix: the input is already one. */
static int conv_is_pointwise(const gd_conv_shape* s) {
    return s->KH == 1 && s->KW == 1 && s->stride == 1 && s->pad == 0;
}

/* Few output channels at stride 1: a direct loop beats im2col + a GEMM with M = OC (which is a GEMV
 * streaming a column matrix larger than the input by KH*KW). */
static int conv_is_direct(const gd_conv_shape* s) { return s->stride == 1 && s->OC <= 4 && s->KH * s->KW > 1; }

/* ... and then the register-blocked kernels of conv_direct.c when the kernel and padding suit them. */
static int conv_direct_fast(const gd_conv_shape* s) {
    return gd_nn_conv_direct_fast_ok(s) && gd_nn_conv_direct_rows_ok(s);
}

/* Σ a[i] b[i] over n numbers with 8 independent partial sums (vectorisable without -ffast-math). */
static inline float dot8(const float* restrict a, const float* restrict b, int n, float acc[8]) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * b[i];
    return tail;
}

/* The direct loops of one image at stride 1. For every weight w[oc,c,kh,kw] and every output row oh that
 * the kernel row kh reaches, `mode` 0: y[oc,oh,ow] += w x[c,ih,iw] (forward); 1: dx[c,ih,iw] += w dy[oc,oh,ow]
 * (input gradient); 2: dw += Σ dy[oc,oh,ow] x[c,ih,iw] (weight gradient); ih = oh + kh - pad, iw = ow + kw - pad. */
static void conv_direct(int mode, float* restrict y, float* restrict x, float* restrict w, const gd_conv_shape* s) {
    for (int kh = 0; kh < s->KH; kh++) {
        int oh0, oh1;
        valid_range(kh, s->H, 1, s->pad, s->OH, &oh0, &oh1);
        for (int kw = 0; kw < s->KW; kw++) {
            int ow0, ow1;
            valid_range(kw, s->W, 1, s->pad, s->OW, &ow0, &ow1);
            const int off = kw - s->pad, n = ow1 - ow0;
            for (int oc = 0; oc < s->OC; oc++)
                for (int c = 0; c < s->C; c++) {
                    float* wv = w + ((size_t)(oc * s->C + c) * s->KH + kh) * s->KW + kw;
                    const float wk = *wv;
                    float acc[8] = {0}, tail = 0.0f;
                    for (int oh = oh0; oh < oh1; oh++) {
                        float* yr = y + ((size_t)oc * s->OH + oh) * s->OW + ow0;
                        float* xr = x + ((size_t)c * s->H + oh + kh - s->pad) * s->W + ow0 + off;
                        if (mode == 0)
                            for (int i = 0; i < n; i++) yr[i] += wk * xr[i];
                        else if (mode == 1)
                            for (int i = 0; i < n; i++) xr[i] += wk * yr[i];
                        else
                            tail += dot8(yr, xr, n, acc);
                    }
                    if (mode == 2) {
                        for (int j = 0; j < 8; j++) tail += acc[j];
                        *wv += tail;
                    }
                }
        }
    }
}

size_t gd_conv2d_workspace_size(const gd_conv_shape* s) {
    if (conv_is_direct(s)) return conv_direct_fast(s) ? gd_nn_conv_direct_workspace(s) : 1;
    return (size_t)s->C * s->KH * s->KW * s->OH * s->OW;
}

void gd_conv2d_forward(float* out, const float* in, const float* w, const float* b, const gd_conv_shape* s,
                       float* work) {
    const geom g = conv_geom(s);
    const int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    for (int n = 0; n < s->N; n++) {
        const float* x = in + (size_t)n * s->C * s->H * s->W;
        float* y = out + (size_t)n * s->OC * P;
        fill_bias(y, b, s->OC, (size_t)P);
        if (conv_is_direct(s)) {
            if (conv_direct_fast(s)) gd_nn_conv_direct_forward(y, x, w, s, work);
            else conv_direct(0, y, (float*)x, (float*)w, s);
            continue;
        }
        const float* col = x;
        if (!conv_is_pointwise(s)) {
            im2col(work, x, &g);
            col = work;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, P, K, 1.0f, w, K, col, P, b ? 1.0f : 0.0f, y,
                    P);
    }
}

void gd_conv2d_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                        const gd_conv_shape* s, float* work) {
    const geom g = conv_geom(s);
    const int K = s->C * s->KH * s->KW, P = s->OH * s->OW;
    const int pointwise = conv_is_pointwise(s), direct = conv_is_direct(s);
    for (int n = 0; n < s->N; n++) {
        const float* x = in + (size_t)n * s->C * s->H * s->W;
        const float* dy = dout + (size_t)n * s->OC * P;
        float* dx = din ? din + (size_t)n * s->C * s->H * s->W : NULL;
        if (direct) {
            if (conv_direct_fast(s)) {
                if (dw) gd_nn_conv_direct_weight_grad(dw, dy, x, s, work);
                if (dx) gd_nn_conv_direct_input_grad(dx, dy, w, s, work);
            } else {
                if (dw) conv_direct(2, (float*)dy, (float*)x, dw, s);
                if (dx) conv_direct(1, (float*)dy, dx, (float*)w, s);
            }
            continue;
        }
        if (dw) {
            const float* col = x;
            if (!pointwise) {
                im2col(work, x, &g);
                col = work;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, K, P, 1.0f, dy, P, col, P, 1.0f, dw, K);
        }
        if (dx) {
            if (pointwise) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dy, P, 1.0f, dx, P);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->OC, 1.0f, w, K, dy, P, 0.0f, work, P);
                col2im(dx, work, &g);
            }
        }
    }
    if (db) bias_backward(db, dout, s->N, s->OC, (size_t)P);
}

/* ---- conv_transpose2d: plane = output (OC,OH,OW), positions = input (H,W) ---- */

static geom convT_geom(const gd_conv_shape* s) {
    return (geom){s->OC, s->OH, s->OW, s->KH, s->KW, s->stride, s->pad, s->H, s->W};
}

size_t gd_conv_transpose2d_workspace_size(const gd_conv_shape* s) {
    return (size_t)s->OC * s->KH * s->KW * s->H * s->W;
}

void gd_conv_transpose2d_forward(float* out, const float* in, const float* w, const float* b,
                                 const gd_conv_shape* s, float* work) {
    const geom g = convT_geom(s);
    const int K = s->OC * s->KH * s->KW, P = s->H * s->W;
    const size_t OP = (size_t)s->OH * s->OW;
    for (int n = 0; n < s->N; n++) {
        const float* x = in + (size_t)n * s->C * P;
        float* y = out + (size_t)n * s->OC * OP;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->C, 1.0f, w, K, x, P, 0.0f, work, P);
        fill_bias(y, b, s->OC, OP);
        col2im(y, work, &g);
    }
}

void gd_conv_transpose2d_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                                  const float* w, const gd_conv_shape* s, float* work) {
    const geom g = convT_geom(s);
    const int K = s->OC * s->KH * s->KW, P = s->H * s->W;
    const size_t OP = (size_t)s->OH * s->OW;
    if (din || dw)
        for (int n = 0; n < s->N; n++) {
            im2col(work, dout + (size_t)n * s->OC * OP, &g);
            if (din)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->C, P, K, 1.0f, w, K, work, P, 1.0f,
                            din + (size_t)n * s->C * P, P);
            if (dw)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->C, K, P, 1.0f, in + (size_t)n * s->C * P, P,
                            work, P, 1.0f, dw, K);
        }
    if (db) bias_backward(db, dout, s->N, s->OC, OP);
}
