/* The direct stride-1 convolution of conv.c for few output channels (the conv decoders' final k x k convolution
 * to one channel), register-blocked: each output (or input-gradient) row is built in up to four 8-float vector
 * accumulators over all channels and kernel taps and stored once, and the weight gradient keeps one accumulator
 * per kernel column. Zero margins are copied into the workspace where a tap would read outside a plane (padding of
 * the input; the full-correlation borders of the input gradient), so the inner loops have no bounds tests.
 * GCC vector extensions: AVX2 code under -march=x86-64-v3, plain SSE elsewhere. */
#include <string.h>

#include "nn_internal.h"

typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias)); /* unaligned view of 8 floats */

/* Macros rather than functions: passing 32-byte vectors by value would change the ABI without AVX. */
#define ld8(p) (*(const v8u*)(p))
#define hsum8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

int gd_nn_conv_direct_fast_ok(const gd_conv_shape* s) {
    return s->KW <= 8 && s->pad <= s->KH - 1 && s->pad <= s->KW - 1;
}

size_t gd_nn_conv_direct_workspace(const gd_conv_shape* s) {
    size_t xin = s->pad > 0 ? (size_t)s->C * (s->H + 2 * s->pad) * (s->W + 2 * s->pad) : 0;
    size_t dyp = (size_t)s->OC * (s->H + s->KH - 1) * (s->W + s->KW - 1);
    return (xin > dyp ? xin : dyp) + 1;
}

/* dst (C, h + 2*mh, w + 2*mw) = src (C, h, w) inside zero margins. */
static void pad_planes(float* dst, const float* src, int C, int h, int w, int mh, int mw) {
    const int H2 = h + 2 * mh, W2 = w + 2 * mw;
    memset(dst, 0, sizeof(float) * (size_t)C * H2 * W2);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++)
            memcpy(dst + ((size_t)c * H2 + i + mh) * W2 + mw, src + ((size_t)c * h + i) * w, sizeof(float) * w);
}

/* out[i] += Σ_r Σ_k wrow[r][k'] rows[r][k + i] for i < 8*NV + tail, k < KW, k' = k (kdir > 0) or KW-1-k
 * (kdir < 0, the flipped kernel). NV is a compile-time constant after inlining: the accumulators stay in registers. */
static inline __attribute__((always_inline)) void row_acc(float* out, const float* const* rows, const float* const* wrow,
                                                           int nrows, int KW, int kdir, const int NV, int tail) {
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    float t[8] = {0};
    for (int r = 0; r < nrows; r++) {
        const float* xr = rows[r];
        const float* wr = wrow[r];
        for (int k = 0; k < KW; k++) {
            const float wk = wr[kdir > 0 ? k : KW - 1 - k];
            const v8f wv = {wk, wk, wk, wk, wk, wk, wk, wk};
            const float* p = xr + k;
            a0 += wv * ld8(p);
            if (NV > 1) a1 += wv * ld8(p + 8);
            if (NV > 2) a2 += wv * ld8(p + 16);
            if (NV > 3) a3 += wv * ld8(p + 24);
            for (int j = 0; j < tail; j++) t[j] += wk * p[8 * NV + j];
        }
    }
    for (int j = 0; j < 8; j++) {
        out[j] += a0[j];
        if (NV > 1) out[8 + j] += a1[j];
        if (NV > 2) out[16 + j] += a2[j];
        if (NV > 3) out[24 + j] += a3[j];
    }
    for (int j = 0; j < tail; j++) out[8 * NV + j] += t[j];
}

/* A row of n <= 32 outputs from nrows input rows (see row_acc); n < 8 goes through the tail alone. */
static void row_any(float* out, const float* const* rows, const float* const* wrow, int nrows, int KW, int kdir, int n) {
    const int nv = n / 8, tail = n % 8;
    switch (nv) {
    case 0: {
        float t[8] = {0};
        for (int r = 0; r < nrows; r++)
            for (int k = 0; k < KW; k++) {
                const float wk = wrow[r][kdir > 0 ? k : KW - 1 - k];
                for (int j = 0; j < tail; j++) t[j] += wk * rows[r][k + j];
            }
        for (int j = 0; j < tail; j++) out[j] += t[j];
        break;
    }
    case 1: row_acc(out, rows, wrow, nrows, KW, kdir, 1, tail); break;
    case 2: row_acc(out, rows, wrow, nrows, KW, kdir, 2, tail); break;
    case 3: row_acc(out, rows, wrow, nrows, KW, kdir, 3, tail); break;
    default: row_acc(out, rows, wrow, nrows, KW, kdir, 4, tail); break;
    }
}

#define MAX_ROWS 4096 /* channels x kernel rows gathered per output row (larger shapes use conv.c's loops) */

int gd_nn_conv_direct_rows_ok(const gd_conv_shape* s) {
    return (size_t)s->C * s->KH <= MAX_ROWS && (size_t)s->OC * s->KH <= MAX_ROWS;
}

void gd_nn_conv_direct_forward(float* y, const float* x, const float* w, const gd_conv_shape* s, float* work) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad;
    const float* xp = x;
    if (s->pad > 0) {
        pad_planes(work, x, s->C, s->H, s->W, s->pad, s->pad);
        xp = work;
    }
    const float* rows[MAX_ROWS];
    const float* wrow[MAX_ROWS];
    for (int oc = 0; oc < s->OC; oc++)
        for (int oh = 0; oh < s->OH; oh++) {
            int nr = 0;
            for (int c = 0; c < s->C; c++)
                for (int kh = 0; kh < s->KH; kh++, nr++) {
                    rows[nr] = xp + ((size_t)c * Hp + oh + kh) * Wp;
                    wrow[nr] = w + ((size_t)(oc * s->C + c) * s->KH + kh) * s->KW;
                }
            float* yr = y + ((size_t)oc * s->OH + oh) * s->OW;
            for (int ow0 = 0; ow0 < s->OW; ow0 += 32) {
                const int n = s->OW - ow0 < 32 ? s->OW - ow0 : 32;
                if (ow0)
                    for (int r = 0; r < nr; r++) rows[r] += 32;
                row_any(yr + ow0, rows, wrow, nr, s->KW, 1, n);
            }
        }
}

void gd_nn_conv_direct_input_grad(float* dx, const float* dy, const float* w, const gd_conv_shape* s, float* work) {
    /* dx[c][ih][iw] += Σ_oc,kh,kw w[oc][c][kh][kw] dy[oc][ih - kh + pad][iw - kw + pad]: a full correlation with
     * the flipped kernel over dy padded by KH-1-pad rows and KW-1-pad columns on each side */
    const int mh = s->KH - 1 - s->pad, mw = s->KW - 1 - s->pad;
    const int Hq = s->OH + 2 * mh, Wq = s->OW + 2 * mw;
    pad_planes(work, dy, s->OC, s->OH, s->OW, mh, mw);
    const float* rows[MAX_ROWS];
    const float* wrow[MAX_ROWS];
    for (int c = 0; c < s->C; c++)
        for (int ih = 0; ih < s->H; ih++) {
            int nr = 0;
            for (int oc = 0; oc < s->OC; oc++)
                for (int kh = 0; kh < s->KH; kh++, nr++) {
                    rows[nr] = work + ((size_t)oc * Hq + ih + s->KH - 1 - kh) * Wq;
                    wrow[nr] = w + ((size_t)(oc * s->C + c) * s->KH + kh) * s->KW;
                }
            float* xr = dx + ((size_t)c * s->H + ih) * s->W;
            for (int iw0 = 0; iw0 < s->W; iw0 += 32) {
                const int n = s->W - iw0 < 32 ? s->W - iw0 : 32;
                if (iw0)
                    for (int r = 0; r < nr; r++) rows[r] += 32;
                row_any(xr + iw0, rows, wrow, nr, s->KW, -1, n);
            }
        }
}

/* dw[k] += Σ_oh Σ_ow dy[oh][ow] x[oh][ow + k] for k < KW (one kernel row), x rows of stride ldx. */
static inline __attribute__((always_inline)) void wgrad_row(float* dw, const float* dy, const float* x, int OH, int OW,
                                                             size_t ldx, const int KW) {
    v8f acc[8] = {{0}};
    float tail[8] = {0};
    const int nv = OW / 8;
    for (int oh = 0; oh < OH; oh++) {
        const float* d = dy + (size_t)oh * OW;
        const float* xr = x + (size_t)oh * ldx;
        for (int v = 0; v < nv; v++) {
            const v8f dv = ld8(d + 8 * v);
            for (int k = 0; k < KW; k++) acc[k] += dv * ld8(xr + 8 * v + k);
        }
        for (int ow = 8 * nv; ow < OW; ow++)
            for (int k = 0; k < KW; k++) tail[k] += d[ow] * xr[ow + k];
    }
    for (int k = 0; k < KW; k++) dw[k] += hsum8(acc[k]) + tail[k];
}

void gd_nn_conv_direct_weight_grad(float* dw, const float* dy, const float* x, const gd_conv_shape* s, float* work) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad;
    const float* xp = x;
    if (s->pad > 0) {
        pad_planes(work, x, s->C, s->H, s->W, s->pad, s->pad);
        xp = work;
    }
    for (int oc = 0; oc < s->OC; oc++)
        for (int c = 0; c < s->C; c++)
            for (int kh = 0; kh < s->KH; kh++) {
                float* d = dw + ((size_t)(oc * s->C + c) * s->KH + kh) * s->KW;
                const float* dyp = dy + (size_t)oc * s->OH * s->OW;
                const float* xr = xp + ((size_t)c * Hp + kh) * Wp;
                switch (s->KW) {
                case 3: wgrad_row(d, dyp, xr, s->OH, s->OW, (size_t)Wp, 3); break;
                case 5: wgrad_row(d, dyp, xr, s->OH, s->OW, (size_t)Wp, 5); break;
                case 7: wgrad_row(d, dyp, xr, s->OH, s->OW, (size_t)Wp, 7); break;
                default: wgrad_row(d, dyp, xr, s->OH, s->OW, (size_t)Wp, s->KW); break;
                }
            }
}
