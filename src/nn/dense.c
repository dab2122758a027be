/* Dense (linear) layers: plain, grouped (G independent layers, same rows) and routed (variable rows). */
#include <cblas.h>
#include <string.h>

#include "gendec/nn.h"

/* out rows r (stride ldo) = in rows r (stride ldi) · wᵀ + b for R rows; w (OC,C), b (OC) or NULL. */
static void dense_rows_forward(float* out, int ldo, const float* in, int ldi, const float* w, const float* b,
                               int R, int C, int OC) {
    if (R <= 0) return;
    if (b)
        for (int r = 0; r < R; r++) memcpy(out + (size_t)r * ldo, b, sizeof(float) * (size_t)OC);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, OC, C, 1.0f, in, ldi, w, C, b ? 1.0f : 0.0f, out, ldo);
}

/* Backward of dense_rows_forward: din (rows, stride ldi), dw (OC,C), db (OC) accumulate; each may be NULL. */
static void dense_rows_backward(float* din, float* dw, float* db, const float* dout, int ldo, const float* in,
                                int ldi, const float* w, int R, int C, int OC) {
    if (R <= 0) return;
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, C, OC, 1.0f, dout, ldo, w, C, 1.0f, din, ldi);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, R, 1.0f, dout, ldo, in, ldi, 1.0f, dw, C);
    if (db)
        for (int r = 0; r < R; r++) {
            const float* d = dout + (size_t)r * ldo;
            for (int o = 0; o < OC; o++) db[o] += d[o];
        }
}

void gd_dense_forward(float* out, const float* in, const float* w, const float* b, int B, int C, int OC) {
    dense_rows_forward(out, OC, in, C, w, b, B, C, OC);
}

void gd_dense_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                       int B, int C, int OC) {
    dense_rows_backward(din, dw, db, dout, OC, in, C, w, B, C, OC);
}

/* Offset of group g's first row and the row stride in a grouped tensor of X numbers per row. */
static size_t group_offset(gd_group_layout layout, int g, int G, int B, int X, int* ld) {
    *ld = layout == GD_LAYOUT_BGX ? G * X : X;
    return layout == GD_LAYOUT_BGX ? (size_t)g * X : (size_t)g * B * X;
}

void gd_dense_grouped_forward(float* out, const float* in, const float* w, const float* b, int G, int B,
                              int C, int OC, gd_group_layout in_layout, gd_group_layout out_layout) {
    for (int g = 0; g < G; g++) {
        int ldi, ldo;
        size_t io = group_offset(in_layout, g, G, B, C, &ldi), oo = group_offset(out_layout, g, G, B, OC, &ldo);
        dense_rows_forward(out + oo, ldo, in + io, ldi, w + (size_t)g * OC * C, b ? b + (size_t)g * OC : NULL, B,
                           C, OC);
    }
}

void gd_dense_grouped_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                               const float* w, int G, int B, int C, int OC, gd_group_layout in_layout,
                               gd_group_layout out_layout) {
    for (int g = 0; g < G; g++) {
        int ldi, ldo;
        size_t io = group_offset(in_layout, g, G, B, C, &ldi), oo = group_offset(out_layout, g, G, B, OC, &ldo);
        dense_rows_backward(din ? din + io : NULL, dw ? dw + (size_t)g * OC * C : NULL, db ? db + (size_t)g * OC : NULL,
                            dout + oo, ldo, in + io, ldi, w + (size_t)g * OC * C, B, C, OC);
    }
}

void gd_dense_routed_forward(float* out, const float* in, const float* w, const float* b, const int* row_off,
                             int G, int C, int OC) {
    for (int g = 0; g < G; g++) {
        size_t r0 = (size_t)row_off[g];
        dense_rows_forward(out + r0 * OC, OC, in + r0 * C, C, w + (size_t)g * OC * C, b ? b + (size_t)g * OC : NULL,
                           row_off[g + 1] - row_off[g], C, OC);
    }
}

void gd_dense_routed_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                              const float* w, const int* row_off, int G, int C, int OC) {
    for (int g = 0; g < G; g++) {
        size_t r0 = (size_t)row_off[g];
        dense_rows_backward(din ? din + r0 * C : NULL, dw ? dw + (size_t)g * OC * C : NULL,
                            db ? db + (size_t)g * OC : NULL, dout + r0 * OC, OC, in + r0 * C, C,
                            w + (size_t)g * OC * C, row_off[g + 1] - row_off[g], C, OC);
    }
}
