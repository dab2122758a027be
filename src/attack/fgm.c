/* FGM (L-infinity and L2), PGD and the binarization defense over a loss-gradient callback. */
#include <math.h>
#include <string.h>

#include "gendec/attack.h"

gd_status gd_attack_check_eps(float eps, gd_attack_norm norm, int D, gd_error* err) {
    if (norm == GD_ATTACK_LINF) {
        if (!(eps >= 0.0f && eps <= 1.0f))
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "choose eps in [0, 1], e.g. 0 0.1 0.2 0.3 0.4",
                                "attack eps = %g is outside [0, 1] (pixels lie in [0, 1])", (double)eps);
        return GD_OK;
    }
    if (norm == GD_ATTACK_L2) {
        double maxe = sqrt((double)(D > 0 ? D : 0));
        if (!(eps >= 0.0f && eps <= maxe))
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "choose eps between 0 and sqrt(pixels)",
                                "L2 attack eps = %g is outside [0, %.4g] (the diameter of the image space)",
                                (double)eps, maxe);
        return GD_OK;
    }
    return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use linf or l2", "unknown attack norm %d", (int)norm);
}

static gd_status check_shape(int B, int D, gd_error* err) {
    if (B < 0 || D < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "attack batch of %d images of %d pixels", B, D);
    return GD_OK;
}

/* Row b of x_adv += scale * step(g_b). */
static void step_rows(const float* grad, int B, int D, float scale, gd_attack_norm norm, float* x_adv) {
    for (int b = 0; b < B; b++) {
        const float* g = grad + (size_t)b * D;
        float* xa = x_adv + (size_t)b * D;
        if (norm == GD_ATTACK_LINF) {
            for (int i = 0; i < D; i++) xa[i] += g[i] > 0.0f ? scale : g[i] < 0.0f ? -scale : 0.0f;
        } else {
            double n2 = 0.0;
            for (int i = 0; i < D; i++) n2 += (double)g[i] * g[i];
            if (n2 <= 0.0) continue;
            float f = (float)(scale / sqrt(n2));
            for (int i = 0; i < D; i++) xa[i] += f * g[i];
        }
    }
}

static gd_status check_grad(const float* grad, size_t n, gd_error* err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(grad[i]))
            return gd_error_set(err, GD_ENUMERIC, NULL, 0, 0, "check the model", "attack gradient is not finite at %zu",
                                i);
    return GD_OK;
}

void gd_attack_project(const float* x, int B, int D, float eps, gd_attack_norm norm, float* x_adv) {
    for (int b = 0; b < B; b++) {
        const float* x0 = x + (size_t)b * D;
        float* xa = x_adv + (size_t)b * D;
        if (norm == GD_ATTACK_LINF) {
            for (int i = 0; i < D; i++) {
                float lo = x0[i] - eps, hi = x0[i] + eps;
                xa[i] = xa[i] < lo ? lo : xa[i] > hi ? hi : xa[i];
            }
        } else {
            double n2 = 0.0;
            for (int i = 0; i < D; i++) n2 += (double)(xa[i] - x0[i]) * (xa[i] - x0[i]);
            if (n2 > (double)eps * eps) {
                float f = (float)(eps / sqrt(n2));
                for (int i = 0; i < D; i++) xa[i] = x0[i] + f * (xa[i] - x0[i]);
            }
        }
        /* Clipping to the box moves every pixel towards x0's (which is inside it): still in the ball. */
        for (int i = 0; i < D; i++) xa[i] = xa[i] < 0.0f ? 0.0f : xa[i] > 1.0f ? 1.0f : xa[i];
    }
}

gd_status gd_attack_fgm(const float* x, const int32_t* labels, int B, int D, float eps, gd_attack_norm norm,
                        gd_attack_grad_fn grad_fn, void* ctx, float* grad, float* x_adv, gd_error* err) {
    gd_status s;
    if ((s = check_shape(B, D, err)) || (s = gd_attack_check_eps(eps, norm, D, err))) return s;
    if (!B) return GD_OK;
    if ((s = grad_fn(ctx, x, labels, B, grad, err))) return s;
    if ((s = check_grad(grad, (size_t)B * D, err))) return s;
    if (x_adv != x) memcpy(x_adv, x, sizeof(float) * (size_t)B * D);
    step_rows(grad, B, D, eps, norm, x_adv);
    for (size_t i = 0; i < (size_t)B * D; i++) x_adv[i] = x_adv[i] < 0.0f ? 0.0f : x_adv[i] > 1.0f ? 1.0f : x_adv[i];
    return GD_OK;
}

gd_status gd_attack_pgd(const gd_pgd_params* p, const float* x, const int32_t* labels, int B, int D,
                        uint64_t first_index, gd_attack_grad_fn grad_fn, void* ctx, float* grad, float* x_adv,
                        gd_error* err) {
    gd_status s;
    if ((s = check_shape(B, D, err)) || (s = gd_attack_check_eps(p->eps, p->norm, D, err))) return s;
    if (!(p->alpha > 0.0f && isfinite(p->alpha)) || p->steps < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use alpha > 0 and at least one step",
                            "PGD alpha = %g, steps = %d", (double)p->alpha, p->steps);
    if (x_adv == x)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "PGD output must not alias its input");
    if (!B) return GD_OK;
    memcpy(x_adv, x, sizeof(float) * (size_t)B * D);
    if (p->random_start && p->eps > 0.0f) {
        for (int b = 0; b < B; b++) {
            gd_rng rng;
            gd_rng_init(&rng, p->seed, GD_STREAM_ATTACK, first_index + (uint64_t)b);
            float* xa = x_adv + (size_t)b * D;
            if (p->norm == GD_ATTACK_LINF) {
                for (int i = 0; i < D; i++) xa[i] += p->eps * (2.0f * gd_rng_uniform(&rng) - 1.0f);
            } else {
                /* Uniform in the L2 ball: a normal direction, radius eps * u^(1/D). */
                double n2 = 0.0;
                float* d = grad + (size_t)b * D; /* scratch */
                for (int i = 0; i < D; i++) d[i] = gd_rng_normal(&rng), n2 += (double)d[i] * d[i];
                double r = p->eps * pow((double)gd_rng_uniform(&rng), 1.0 / D) / (n2 > 0 ? sqrt(n2) : 1.0);
                for (int i = 0; i < D; i++) xa[i] += (float)(r * d[i]);
            }
        }
        gd_attack_project(x, B, D, p->eps, p->norm, x_adv);
    }
    for (int k = 0; k < p->steps; k++) {
        if ((s = grad_fn(ctx, x_adv, labels, B, grad, err))) return s;
        if ((s = check_grad(grad, (size_t)B * D, err))) return s;
        step_rows(grad, B, D, p->alpha, p->norm, x_adv);
        gd_attack_project(x, B, D, p->eps, p->norm, x_adv);
    }
    return GD_OK;
}

void gd_attack_binarize(const float* x, size_t n, float threshold, float* out) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > threshold ? 1.0f : 0.0f;
}
