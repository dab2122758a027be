/* The alpha-beta least-squares fit recovers known latency and bandwidth from synthetic timings. */
#include <math.h>

#include "gendec/dist.h"
#include "gd_test.h"

int main(void) {
    gd_error err;
    double n[13], t[13], a, b, rms;
    const double alpha = 5e-6, beta = 1.0 / 10e9; /* 5 us, 10 GB/s */
    for (int i = 0; i < 13; i++) n[i] = 4.0 * pow(4.0, i), t[i] = alpha + beta * n[i]; /* 4 B .. 64 MiB */

    /* exact points: both weightings give the line back */
    for (int rel = 0; rel <= 1; rel++) {
        CHECK_OK(gd_dist_fit_alpha_beta(n, t, 13, rel, &a, &b, &rms, &err), &err);
        CHECK_NEAR(a / alpha, 1.0, 1e-6);
        CHECK_NEAR(b / beta, 1.0, 1e-9);
        CHECK(rms < 1e-9);
    }

    /* +-3 % multiplicative noise (fixed pattern): the relative fit keeps alpha within 10 %, beta within 5 %;
     * the absolute fit gets beta but not alpha (the 64 MiB point's noise is 6.7 ms, alpha is 5 us) */
    const double noise[13] = {0.03, -0.03, 0.02, -0.01, 0.03, -0.02, 0.01, -0.03, 0.02, 0.0, -0.02, 0.03, -0.01};
    double tn[13];
    for (int i = 0; i < 13; i++) tn[i] = t[i] * (1.0 + noise[i]);
    CHECK_OK(gd_dist_fit_alpha_beta(n, tn, 13, 1, &a, &b, &rms, &err), &err);
    CHECK_NEAR(a / alpha, 1.0, 0.10);
    CHECK_NEAR(b / beta, 1.0, 0.05);
    CHECK(rms > 0.005 && rms < 0.03);
    CHECK_OK(gd_dist_fit_alpha_beta(n, tn, 13, 0, &a, &b, &rms, &err), &err);
    CHECK_NEAR(b / beta, 1.0, 0.05);

    /* a pure-latency regime (tiny messages) and a pure-bandwidth one */
    double n2[3] = {4, 8, 16}, t2[3] = {2e-6, 2e-6, 2e-6};
    CHECK_OK(gd_dist_fit_alpha_beta(n2, t2, 3, 1, &a, &b, &rms, &err), &err);
    CHECK_NEAR(a, 2e-6, 1e-15);
    CHECK_NEAR(b, 0.0, 1e-18);
    double t3[3] = {4e-9, 8e-9, 16e-9};
    CHECK_OK(gd_dist_fit_alpha_beta(n2, t3, 3, 0, &a, &b, &rms, &err), &err);
    CHECK_NEAR(a, 0.0, 1e-18);
    CHECK_NEAR(b, 1e-9, 1e-18);

    /* degenerate inputs are refused */
    CHECK(gd_dist_fit_alpha_beta(n, t, 1, 1, &a, &b, &rms, &err) == GD_EINVAL);
    double same[3] = {64, 64, 64};
    CHECK(gd_dist_fit_alpha_beta(same, t, 3, 1, &a, &b, &rms, &err) == GD_EINVAL);
    double zero[3] = {1e-6, 0, 2e-6};
    CHECK(gd_dist_fit_alpha_beta(n, zero, 3, 1, &a, &b, &rms, &err) == GD_EINVAL);
    CHECK_OK(gd_dist_fit_alpha_beta(n, zero, 3, 0, &a, &b, &rms, &err), &err);
    return gd_test_done("alpha_beta");
}
