/* Adam, operation for operation as torch.optim.Adam's single-tensor CPU path with default options. */
#include <math.h>
#include <string.h>

#include "gendec/nn.h"

gd_status gd_adam_init(gd_adam* a, size_t n, double lr, gd_error* err) {
    memset(a, 0, sizeof *a);
    size_t bytes;
    if (n == 0 || gd_mul_overflows(2 * sizeof(float), n, &bytes))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "Adam needs 1.. parameters, got %zu", n);
    a->state = gd_alloc(bytes);
    if (!a->state) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for Adam state (%zu)", n);
    a->n = n;
    a->m = a->state;
    a->v = a->state + n;
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    return GD_OK;
}

void gd_adam_reset(gd_adam* a) {
    if (a->state) memset(a->state, 0, 2 * a->n * sizeof(float));
    a->t = 0;
}

/* The step's constants: PyTorch's Python-float scalars are double; the tensor ops run in float with the
 * scalars rounded to float. */
typedef struct {
    float w1, b2, w2, neg_step, bc2_sqrt, eps;
} adam_consts;

/* Advances the step count and returns the constants of this step. */
static adam_consts adam_begin(gd_adam* a) {
    a->t++;
    double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    adam_consts k = {(float)(1.0 - a->beta1), (float)a->beta2, (float)(1.0 - a->beta2), (float)(-(a->lr / bc1)),
                     (float)sqrt(bc2), (float)a->eps};
    return k;
}

/* The update of n parameters, operation for operation as PyTorch: exp_avg.lerp_(g, 1-β1);
 * exp_avg_sq.mul_(β2).addcmul_(g, g, value=1-β2); denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps);
 * param.addcdiv_(exp_avg, denom, value=-lr/bc1). The arrays must not overlap. */
static inline void adam_update(const adam_consts* k, float* restrict params, float* restrict m, float* restrict v,
                               const float* restrict grad, size_t n) {
    const float w1 = k->w1, b2 = k->b2, w2 = k->w2, neg_step = k->neg_step, bc2_sqrt = k->bc2_sqrt, eps = k->eps;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = m[i] + w1 * (g - m[i]); /* lerp with weight < 0.5 */
        v[i] = v[i] * b2 + w2 * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        params[i] = params[i] + neg_step * m[i] / denom;
    }
}

void gd_adam_step(gd_adam* a, float* params, const float* grad, size_t n) {
    adam_consts k = adam_begin(a);
    adam_update(&k, params, a->m, a->v, grad, n);
}

/* Chunks of GD_ADAM_CHUNK floats: the summed gradient stays in L1 between the sum and the update. */
#define GD_ADAM_CHUNK 1024

void gd_adam_step_sum(gd_adam* a, float* params, float* m, float* v, float* const* grads, int n_grads, float scale,
                      int zero_grads, size_t n) {
    adam_consts k = adam_begin(a);
    float gs[GD_ADAM_CHUNK] __attribute__((aligned(64)));
    for (size_t c0 = 0; c0 < n; c0 += GD_ADAM_CHUNK) {
        const size_t len = n - c0 < GD_ADAM_CHUNK ? n - c0 : GD_ADAM_CHUNK;
        const float* restrict g0 = grads[0] + c0;
        if (n_grads == 2) {
            const float* restrict g1 = grads[1] + c0;
            for (size_t i = 0; i < len; i++) gs[i] = (g0[i] + g1[i]) * scale;
        } else {
            for (size_t i = 0; i < len; i++) gs[i] = g0[i];
            for (int j = 1; j < n_grads; j++) {
                const float* restrict gj = grads[j] + c0;
                for (size_t i = 0; i < len; i++) gs[i] += gj[i];
            }
            for (size_t i = 0; i < len; i++) gs[i] *= scale;
        }
        if (zero_grads)
            for (int j = 0; j < n_grads; j++) memset(grads[j] + c0, 0, sizeof(float) * len);
        adam_update(&k, params + c0, m + c0, v + c0, gs, len);
    }
}

void gd_adam_free(gd_adam* a) {
    gd_free(a->state);
    a->state = a->m = a->v = NULL;
    a->n = 0;
    a->t = 0;
}
