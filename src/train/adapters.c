/* gd_trainable adapters: the c-VAE and the CNN as the training loop sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/train.h"

typedef struct {
    gd_cvae* m;
    uint64_t seed;
    int max_rows, n, nk;
    float* y;   /* (max_rows, n) */
    float* eps; /* (max_rows, nk) */
} cvae_adapter;

/* Labels -> float gates, noise from each row's global sample number, Eq. 1 loss and gradient. */
static gd_status cvae_step(void* self, const float* x, const uint8_t* labels, const int32_t* classes, int b,
                           uint64_t row0, float grad_scale, double* sums, gd_error* err) {
    (void)classes;
    cvae_adapter* a = self;
    if (b > a->max_rows) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "shard of %d rows > %d", b, a->max_rows);
    for (size_t i = 0; i < (size_t)b * a->n; i++) a->y[i] = labels[i] ? 1.0f : 0.0f;
    gd_cvae_fill_noise(a->eps, b, a->nk, a->seed, row0);
    gd_cvae_sums s = {0};
    gd_status st = gd_cvae_loss(a->m, x, a->y, a->eps, b, 1, grad_scale, &s, err);
    sums[0] += s.loss, sums[1] += s.recon, sums[2] += s.kl;
    return st;
}

static void cvae_release(void* self) {
    cvae_adapter* a = self;
    if (!a) return;
    gd_free(a->y);
    gd_free(a->eps);
    free(a);
}

gd_status gd_trainable_cvae(gd_cvae* m, uint64_t seed, int max_rows, gd_trainable* t, gd_error* err) {
    memset(t, 0, sizeof *t);
    const gd_cvae_spec* s = gd_cvae_get_spec(m);
    if (max_rows < 1 || max_rows > gd_cvae_max_batch(m))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "adapter rows %d outside 1..%d (the model's max_batch)",
                            max_rows, gd_cvae_max_batch(m));
    cvae_adapter* a = calloc(1, sizeof *a);
    if (!a) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    a->m = m, a->seed = seed, a->max_rows = max_rows, a->n = s->n, a->nk = s->n * s->k;
    a->y = gd_alloc(sizeof(float) * (size_t)max_rows * a->n);
    a->eps = gd_alloc(sizeof(float) * (size_t)max_rows * a->nk);
    if (!a->y || !a->eps) {
        cvae_release(a);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    t->self = a;
    int len = snprintf(t->arch, sizeof t->arch, "cvae ");
    gd_cvae_spec_format(s, t->arch + len, sizeof t->arch - (size_t)len);
    t->params = gd_cvae_params(m);
    t->max_rows = max_rows;
    t->label_cols = s->n;
    t->n_metrics = 3;
    t->metric_names[0] = "loss", t->metric_names[1] = "recon", t->metric_names[2] = "kl";
    t->step = cvae_step;
    t->release = cvae_release;
    return GD_OK;
}

/* Cross-entropy on the class ids; metrics loss and accuracy (correct predictions per image). */
static gd_status cnn_step(void* self, const float* x, const uint8_t* labels, const int32_t* classes, int b,
                          uint64_t row0, float grad_scale, double* sums, gd_error* err) {
    (void)labels, (void)row0;
    double loss = 0;
    int64_t correct = 0;
    gd_status st = gd_cnn_loss(self, x, classes, b, 1, grad_scale, &loss, &correct, err);
    sums[0] += loss, sums[1] += (double)correct;
    return st;
}

gd_status gd_trainable_cnn(gd_cnn* m, int max_rows, gd_trainable* t, gd_error* err) {
    memset(t, 0, sizeof *t);
    if (max_rows < 1 || max_rows > gd_cnn_max_batch(m))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "adapter rows %d outside 1..%d (the model's max_batch)",
                            max_rows, gd_cnn_max_batch(m));
    t->self = m;
    int len = snprintf(t->arch, sizeof t->arch, "cnn ");
    gd_cnn_spec_format(gd_cnn_get_spec(m), t->arch + len, sizeof t->arch - (size_t)len);
    t->params = gd_cnn_params(m);
    t->max_rows = max_rows;
    t->needs_classes = 1;
    t->n_metrics = 2;
    t->metric_names[0] = "loss", t->metric_names[1] = "accuracy";
    t->step = cnn_step;
    t->release = NULL;
    return GD_OK;
}
