/* Helpers for the nn tests: random fills, double dot products and central finite-difference gradient checks. */
#ifndef GD_NN_CHECK_H
#define GD_NN_CHECK_H

#include <math.h>
#include <stddef.h>

#include "gendec/core.h"
#include "gendec/nn.h"
#include "gd_test.h"

/* A scalar objective of the current contents of the arrays named in ctx, in double (runs a forward). */
typedef double (*nn_objective)(void* ctx);

/* x (n) = uniform in [-scale, scale]. */
static inline void nn_fill(gd_rng* rng, float* x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * gd_rng_uniform(rng) - 1.0f);
}

/* x (n) = uniform in ±[lo, hi]: magnitudes kept away from 0 (kinks of ReLU, ELU, L1). */
static inline void nn_fill_away(gd_rng* rng, float* x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float m = lo + (hi - lo) * gd_rng_uniform(rng);
        x[i] = gd_rng_uniform(rng) < 0.5f ? -m : m;
    }
}

static inline double nn_dot(const float* a, const float* b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Fills x (n) with c (to check that a backward accumulates). */
static inline void nn_set(float* x, size_t n, float c) {
    for (size_t i = 0; i < n; i++) x[i] = c;
}

/* g (n) -= c: undoes nn_set after an accumulating backward. */
static inline void nn_sub(float* g, size_t n, float c) {
    for (size_t i = 0; i < n; i++) g[i] -= c;
}

/* The largest |analytic - numeric| over x's entries, divided by the largest |numeric| (scale-free, so a wrong
 * index shows as an error of order 1). Numeric = (f(x + h e_i) - f(x - h e_i)) / 2h; x is restored. */
static inline double nn_grad_error(float* x, const float* analytic, size_t n, nn_objective f, void* ctx,
                                   float h) {
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double fp = f(ctx);
        x[i] = keep - h;
        double fm = f(ctx);
        x[i] = keep;
        double num = (fp - fm) / ((double)(keep + h) - (double)(keep - h));
        worst = fmax(worst, fabs(num - analytic[i]));
        scale = fmax(scale, fabs(num));
    }
    return worst / scale;
}

/* CHECKs that the analytic gradient matches finite differences within tol (relative to the largest). */
#define NN_CHECK_GRAD(what, x, analytic, n, f, ctx, h, tol)                                          \
    do {                                                                                         \
        double nn_e_ = nn_grad_error((x), (analytic), (n), (f), (ctx), (h));                     \
        CHECK_MSG(nn_e_ <= (tol), "%s: gradient error %.3g > %.3g", (what), nn_e_, (double)(tol)); \
    } while (0)

#endif
