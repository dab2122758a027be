/* Adam against three steps worked out by hand, then against the textbook formula over many random steps. */
#include <string.h>

#include "gendec/nn.h"
#include "gd_test.h"

int main(void) {
    gd_error err;
    gd_adam a;
    CHECK_OK(gd_adam_init(&a, 3, 0.1, &err), &err);
    CHECK(a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8 && a.t == 0 && a.m == a.state && a.v == a.state + 3);
    float th[3] = {1.0f, -2.0f, 0.5f};
    /* Step 1, g = (0.5, 0, -3): m = 0.1 g = (0.05, 0, -0.3); v = 0.001 g² = (0.00025, 0, 0.009);
     * bc1 = 0.1, bc2 = 0.001: m̂ = (0.5, 0, -3), v̂ = (0.25, 0, 9); θ -= 0.1 m̂/(sqrt(v̂) + 1e-8)
     * = (1 - 0.1 * 0.99999998, -2 - 0, 0.5 + 0.1 * 0.9999999967) = (0.900000002, -2, 0.5999999997). */
    gd_adam_step(&a, th, (float[]){0.5f, 0.0f, -3.0f}, 3);
    CHECK(a.t == 1);
    CHECK_NEAR(a.m[0], 0.05, 1e-8);
    CHECK_NEAR(a.m[2], -0.3, 1e-7);
    CHECK_NEAR(a.v[0], 0.00025, 1e-10);
    CHECK_NEAR(a.v[2], 0.009, 1e-9);
    CHECK_NEAR(th[0], 0.900000002, 1e-7);
    CHECK(th[1] == -2.0f);
    CHECK_NEAR(th[2], 0.5999999997, 1e-7);
    /* Step 2, g = (-1, 2, -3): m = 0.9 m + 0.1 g = (-0.055, 0.2, -0.57); v = 0.999 v + 0.001 g²
     * = (0.00124975, 0.004, 0.017991); bc1 = 0.19, bc2 = 0.001999;
     * θ0: m̂ = -0.2894737, v̂ = 0.6251876, sqrt 0.7906880 -> θ0 = 0.9 + 0.1 * 0.3661035 = 0.9366104;
     * θ1: m̂ = 1.0526316, v̂ = 2.0010005, sqrt 1.4145673 -> θ1 = -2 - 0.1 * 0.7441369 = -2.0744137;
     * θ2: m̂ = -3, v̂ = 9 -> θ2 = 0.7. */
    gd_adam_step(&a, th, (float[]){-1.0f, 2.0f, -3.0f}, 3);
    CHECK_NEAR(a.m[0], -0.055, 1e-8);
    CHECK_NEAR(a.v[1], 0.004, 1e-9);
    CHECK_NEAR(th[0], 0.93661035424, 2e-7);
    CHECK_NEAR(th[1], -2.07441368183, 2e-7);
    CHECK_NEAR(th[2], 0.69999999933, 2e-7);
    /* Step 3, g = (0.25, 0, 1): m = (-0.0245, 0.18, -0.413); v = (0.00131100025, 0.003996, 0.018973009);
     * bc1 = 0.271, bc2 = 0.002997001 -> θ = (0.9502794, -2.1319357, 0.7605698). */
    gd_adam_step(&a, th, (float[]){0.25f, 0.0f, 1.0f}, 3);
    CHECK(a.t == 3);
    CHECK_NEAR(a.m[1], 0.18, 1e-7);
    CHECK_NEAR(a.v[2], 0.018973009, 1e-8);
    CHECK_NEAR(th[0], 0.95027942034, 3e-7);
    CHECK_NEAR(th[1], -2.13193567347, 3e-7);
    CHECK_NEAR(th[2], 0.76056979333, 3e-7);

    /* Reset: a fresh optimiser repeats step 1 exactly. */
    gd_adam_reset(&a);
    CHECK(a.t == 0 && a.m[0] == 0 && a.v[2] == 0);
    float r[3] = {1.0f, -2.0f, 0.5f};
    gd_adam_step(&a, r, (float[]){0.5f, 0.0f, -3.0f}, 3);
    CHECK_NEAR(r[0], 0.900000002, 1e-7);
    gd_adam_free(&a);
    gd_adam_free(&a);
    CHECK(a.state == NULL);

    /* 200 random steps against the textbook form θ -= lr m̂ / (sqrt(v̂) + ε), in double. */
    enum { N = 64, STEPS = 200 };
    CHECK_OK(gd_adam_init(&a, N, 1e-3, &err), &err);
    float x[N];
    double xd[N], md[N] = {0}, vd[N] = {0};
    gd_rng rng;
    gd_rng_init(&rng, 9, GD_STREAM_USER, 0);
    for (int i = 0; i < N; i++) xd[i] = x[i] = gd_rng_normal(&rng);
    double worst = 0;
    for (int t = 1; t <= STEPS; t++) {
        float g[N];
        for (int i = 0; i < N; i++) g[i] = gd_rng_normal(&rng) * (i % 4 == 0 ? 1e-3f : 1.0f);
        gd_adam_step(&a, x, g, N);
        for (int i = 0; i < N; i++) {
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
            double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.999, t));
            xd[i] -= 1e-3 * mh / (sqrt(vh) + 1e-8);
            worst = fmax(worst, fabs(x[i] - xd[i]));
        }
    }
    CHECK_MSG(worst < 2e-6, "max |float - double| after %d steps: %g", STEPS, worst);
    gd_adam_free(&a);
    CHECK(gd_adam_init(&a, 0, 1e-3, &err) == GD_EINVAL);

    /* gd_adam_step_sum (1, 2 and 3 gradients, a length that crosses its chunks) is bitwise gd_adam_step on the
     * gradient summed in order and scaled; with zero_grads it leaves the gradients at 0. */
    enum { L = 2500 };
    static float g3[3][L], w_ref[L], w_sum[L], m_sum[L], v_sum[L], gref[L];
    for (int ng = 1; ng <= 3; ng++)
        for (int zero = 0; zero < 2; zero++) {
            gd_adam ref, fused;
            CHECK_OK(gd_adam_init(&ref, L, 1e-2, &err), &err);
            CHECK_OK(gd_adam_init(&fused, L, 1e-2, &err), &err);
            memset(m_sum, 0, sizeof m_sum);
            memset(v_sum, 0, sizeof v_sum);
            for (int i = 0; i < L; i++) w_ref[i] = w_sum[i] = gd_rng_normal(&rng);
            const float scale = 0.3f / (float)ng; /* not a power of two: order of sum and scale matters */
            int same = 1, zeroed = 1;
            for (int t = 0; t < 3; t++) {
                for (int k = 0; k < ng; k++)
                    for (int i = 0; i < L; i++) g3[k][i] = gd_rng_normal(&rng);
                for (int i = 0; i < L; i++) {
                    float acc = g3[0][i];
                    for (int k = 1; k < ng; k++) acc += g3[k][i];
                    gref[i] = acc * scale;
                }
                gd_adam_step(&ref, w_ref, gref, L);
                float* gp[3] = {g3[0], g3[1], g3[2]};
                gd_adam_step_sum(&fused, w_sum, m_sum, v_sum, gp, ng, scale, zero, L);
                same &= !memcmp(w_ref, w_sum, sizeof w_ref) && !memcmp(ref.m, m_sum, sizeof m_sum) &&
                        !memcmp(ref.v, v_sum, sizeof v_sum);
                for (int k = 0; k < ng; k++)
                    for (int i = 0; i < L; i++) zeroed &= zero ? g3[k][i] == 0.0f : g3[k][i] != 0.0f;
            }
            CHECK_MSG(same, "gd_adam_step_sum with %d gradients differs from gd_adam_step", ng);
            CHECK_MSG(zeroed, "gd_adam_step_sum with %d gradients, zero_grads %d: gradients wrong after", ng, zero);
            CHECK(fused.t == 3);
            gd_adam_free(&ref);
            gd_adam_free(&fused);
        }
    return gd_test_done("test_adam");
}
