/* The α-β (latency-bandwidth) model of a collective, fitted to measured times. */
#include <math.h>

#include "gendec/dist.h"

gd_status gd_dist_fit_alpha_beta(const double* n, const double* t, size_t m, int relative, double* alpha,
                                 double* beta, double* rms, gd_error* err) {
    if (m < 2) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "an alpha-beta fit needs 2 points, got %zu", m);
    /* weighted means, then the centred normal equation (stable when n spans 4 B .. 64 MiB) */
    double sw = 0, sn = 0, st = 0;
    for (size_t i = 0; i < m; i++) {
        if (relative && !(t[i] > 0))
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "a relative alpha-beta fit needs times > 0 (point %zu: %g)",
                                i, t[i]);
        double w = relative ? 1.0 / (t[i] * t[i]) : 1.0;
        sw += w, sn += w * n[i], st += w * t[i];
    }
    double nbar = sn / sw, tbar = st / sw, sxx = 0, sxy = 0;
    for (size_t i = 0; i < m; i++) {
        double w = relative ? 1.0 / (t[i] * t[i]) : 1.0, dx = n[i] - nbar;
        sxx += w * dx * dx, sxy += w * dx * (t[i] - tbar);
    }
    if (!(sxx > 0))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "an alpha-beta fit needs two different message sizes");
    *beta = sxy / sxx;
    *alpha = tbar - *beta * nbar;
    double ss = 0;
    for (size_t i = 0; i < m; i++) {
        double r = t[i] - *alpha - *beta * n[i];
        if (relative) r /= t[i];
        ss += r * r;
    }
    if (rms) *rms = sqrt(ss / (double)m);
    return GD_OK;
}
