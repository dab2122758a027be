/* A hand-made generator for the infer tests: component i decodes to Dec_i(z_i) = P_i + A_i z_i (P_i a fixed
 * pattern (npix), A_i (npix, k)), x_f = Σ_i y_i Dec_i(z_i). Linear in z, so optimum and gradients are known.
 * Counts the sub-network evaluations it skipped (want_dy = 0 and y_i = 0). */
#ifndef GD_TEST_GEN_LINEAR_H
#define GD_TEST_GEN_LINEAR_H

#include <stdlib.h>
#include <string.h>

#include "gendec/infer.h"

typedef struct {
    int n, k, npix, max_batch;
    float* P;      /* (n, npix) */
    float* A;      /* (n, npix, k) */
    float* D;      /* (max_batch, n, npix) saved Dec_i(z_i) */
    float* y;      /* (max_batch, n) saved y */
    uint8_t* ran;  /* (max_batch, n) whether Dec_i ran */
    float z0;      /* encode_mean returns z0 everywhere */
    long skipped, evaluated, decodes, encodes;
} lin_gen;

static gd_status lin_decode(void* ctx, const float* z, const float* y, float* xf, int B, int want_dy, gd_error* err) {
    lin_gen* g = ctx;
    if (B > g->max_batch) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "batch %d > %d", B, g->max_batch);
    g->decodes++;
    memset(xf, 0, sizeof(float) * (size_t)B * g->npix);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < g->n; i++) {
            float yi = y[b * g->n + i];
            g->y[b * g->n + i] = yi;
            float* D = g->D + ((size_t)b * g->n + i) * g->npix;
            if (!want_dy && yi == 0.0f) {
                g->ran[b * g->n + i] = 0;
                g->skipped++;
                continue;
            }
            g->ran[b * g->n + i] = 1;
            g->evaluated++;
            const float* zi = z + (size_t)b * g->n * g->k + (size_t)i * g->k;
            for (int j = 0; j < g->npix; j++) {
                float v = g->P[i * g->npix + j];
                for (int q = 0; q < g->k; q++) v += g->A[((size_t)i * g->npix + j) * g->k + q] * zi[q];
                D[j] = v;
                xf[(size_t)b * g->npix + j] += yi * v;
            }
        }
    return GD_OK;
}

static gd_status lin_backward(void* ctx, const float* dxf, float* dz, float* dy, int B, gd_error* err) {
    lin_gen* g = ctx;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < g->n; i++) {
            const float* d = dxf + (size_t)b * g->npix;
            float yi = g->y[b * g->n + i];
            float* dzi = dz + (size_t)b * g->n * g->k + (size_t)i * g->k;
            for (int q = 0; q < g->k; q++) {
                double s = 0;
                for (int j = 0; j < g->npix; j++) s += (double)g->A[((size_t)i * g->npix + j) * g->k + q] * d[j];
                dzi[q] = (float)(yi * s);
            }
            if (dy) {
                if (!g->ran[b * g->n + i])
                    return gd_error_set(err, GD_ESTATE, NULL, 0, 0, NULL, "dy asked after a decode with want_dy = 0");
                double s = 0;
                const float* D = g->D + ((size_t)b * g->n + i) * g->npix;
                for (int j = 0; j < g->npix; j++) s += (double)D[j] * d[j];
                dy[b * g->n + i] = (float)s;
            }
        }
    return GD_OK;
}

static gd_status lin_encode(void* ctx, const float* x, float* z, int B, gd_error* err) {
    (void)x;
    (void)err;
    lin_gen* g = ctx;
    g->encodes++;
    for (size_t i = 0; i < (size_t)B * g->n * g->k; i++) z[i] = g->z0;
    return GD_OK;
}

/* Patterns: component i lights the pixels j with j % (n + 1) == i at `level`; A_i = 0.1 * P_i on the first latent
 * (z scales the intensity), small seeded values on the others. */
static void lin_init(lin_gen* g, gd_generator* gen, int n, int k, int npix, int max_batch, float level) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->k = k;
    g->npix = npix;
    g->max_batch = max_batch;
    g->P = calloc((size_t)n * npix, sizeof(float));
    g->A = calloc((size_t)n * npix * k, sizeof(float));
    g->D = calloc((size_t)max_batch * n * npix, sizeof(float));
    g->y = calloc((size_t)max_batch * n, sizeof(float));
    g->ran = calloc((size_t)max_batch * n, 1);
    unsigned seed = 12345;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < npix; j++) {
            float p = j % (n + 1) == i ? level : 0.0f; /* pixels j % (n+1) == n: no component */
            g->P[i * npix + j] = p;
            for (int q = 0; q < k; q++) {
                seed = seed * 1103515245u + 12345u;
                float r = ((float)(seed >> 8 & 0xffff) / 65536.0f - 0.5f) * 0.02f;
                g->A[((size_t)i * npix + j) * k + q] = q == 0 ? 0.1f * p : (p > 0 ? r : 0.0f);
            }
        }
    gen->ctx = g;
    gen->n = n;
    gen->k = k;
    gen->npix = npix;
    gen->max_batch = max_batch;
    gen->decode = lin_decode;
    gen->decode_backward = lin_backward;
    gen->encode_mean = lin_encode;
}

static void lin_free(lin_gen* g) {
    free(g->P);
    free(g->A);
    free(g->D);
    free(g->y);
    free(g->ran);
}

/* x (npix) = Σ_{i in mask} P_i * scale. */
static void lin_compose(const lin_gen* g, unsigned mask, float scale, float* x) {
    for (int j = 0; j < g->npix; j++) {
        float v = 0;
        for (int i = 0; i < g->n; i++)
            if (mask >> i & 1) v += g->P[i * g->npix + j] * scale;
        x[j] = v;
    }
}

#endif
