/* The LeNet-like CNN baseline: conv-ReLU-pool x2, dense-ReLU, dense, softmax cross-entropy; its input
 * gradient for FGM. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/model.h"
#include "model_internal.h"

struct gd_cnn {
    gd_cnn_spec s;
    int D, max_batch;
    int h2, w2, h4, w4, F; /* after pool 1, after pool 2, features entering fc1 */
    gd_params p;
    int fan_in[8];
    size_t c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b;
    gd_conv_shape sh1, sh2;
    float *a1, *p1, *a2, *p2, *h, *logits, *probs; /* activations (max_batch, ...) */
    int32_t *i1, *i2;                               /* pooling argmax */
    float *dlogits, *dh, *dhp, *dp2, *da2, *da2p, *dp1, *da1, *da1p;
    float *rowloss, *work;
};

#define CNN_FAIL(...) gd_error_set(err, GD_ECONFIG, NULL, 0, 0, NULL, __VA_ARGS__)

gd_status gd_cnn_spec_check(const gd_cnn_spec* s, gd_error* err) {
    if (s->h < 4 || s->w < 4 || s->h > 4096 || s->w > 4096)
        return CNN_FAIL("CNN image size %dx%d outside 4..4096 (two 2x2 poolings need at least 4x4)", s->h, s->w);
    if (s->n_classes < 2 || s->n_classes > 4096) return CNN_FAIL("CNN with %d classes (2..4096 allowed)", s->n_classes);
    if (s->conv1 < 1 || s->conv1 > 4096) return CNN_FAIL("cnn.conv1 = %d outside 1..4096", s->conv1);
    if (s->conv2 < 1 || s->conv2 > 4096) return CNN_FAIL("cnn.conv2 = %d outside 1..4096", s->conv2);
    if (s->fc < 1 || s->fc > 65536) return CNN_FAIL("cnn.fc = %d outside 1..65536", s->fc);
    return GD_OK;
}

int gd_cnn_spec_format(const gd_cnn_spec* s, char* buf, size_t n) {
    return snprintf(buf, n, "h=%d w=%d classes=%d conv1=%d conv2=%d fc=%d", s->h, s->w, s->n_classes, s->conv1,
                    s->conv2, s->fc);
}

gd_status gd_cnn_spec_parse(const char* text, gd_cnn_spec* s, gd_error* err) {
    memset(s, 0, sizeof *s);
    char tail;
    if (sscanf(text, "h=%d w=%d classes=%d conv1=%d conv2=%d fc=%d%c", &s->h, &s->w, &s->n_classes, &s->conv1,
               &s->conv2, &s->fc, &tail) != 6)
        return gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "'%s' is not a CNN architecture signature", text);
    gd_error e2;
    gd_error_clear(&e2);
    if (gd_cnn_spec_check(s, &e2))
        return gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "CNN signature '%s' is not valid: %s", text, e2.msg);
    return GD_OK;
}

static gd_status cnn_view(gd_cnn* m, const char* name, int ndim, int a, int b, int c, int d, int fan_in,
                          size_t* off, gd_error* err) {
    int shape[4] = {a, b, c, d};
    m->fan_in[m->p.n_views] = fan_in;
    return gd_params_add(&m->p, name, ndim, shape, off, err);
}

static float* cnn_alloc(size_t a, size_t b, size_t elem, gd_error* err) {
    size_t n;
    if (gd_mul_overflows(a, b, &n) || gd_mul_overflows(n, elem, &n) || n > ((size_t)1 << 36)) {
        gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use a smaller batch", "CNN buffer of %zu x %zu is too large", a, b);
        return NULL;
    }
    void* p = gd_alloc(n ? n : 64);
    if (!p) gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (%zu bytes)", n);
    return p;
}

gd_status gd_cnn_create(const gd_cnn_spec* s, int max_batch, gd_cnn** out, gd_error* err) {
    *out = NULL;
    gd_status st = gd_cnn_spec_check(s, err);
    if (st) return st;
    if (max_batch < 1 || max_batch > (1 << 20))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "max_batch %d outside 1..2^20", max_batch);
    gd_cnn* m = calloc(1, sizeof *m);
    if (!m) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    m->s = *s;
    m->D = s->h * s->w, m->max_batch = max_batch;
    m->h2 = s->h / 2, m->w2 = s->w / 2, m->h4 = m->h2 / 2, m->w4 = m->w2 / 2;
    m->F = s->conv2 * m->h4 * m->w4;
    gd_params_init(&m->p);
    int c1 = s->conv1, c2 = s->conv2, K = s->n_classes;
    if ((st = gd_conv_shape_init(&m->sh1, 1, 1, s->h, s->w, c1, 5, 5, 1, 2, err)) ||
        (st = gd_conv_shape_init(&m->sh2, 1, c1, m->h2, m->w2, c2, 5, 5, 1, 2, err)) ||
        (st = cnn_view(m, "cnn.conv1.w", 4, c1, 1, 5, 5, 25, &m->c1w, err)) ||
        (st = cnn_view(m, "cnn.conv1.b", 1, c1, 1, 1, 1, 25, &m->c1b, err)) ||
        (st = cnn_view(m, "cnn.conv2.w", 4, c2, c1, 5, 5, c1 * 25, &m->c2w, err)) ||
        (st = cnn_view(m, "cnn.conv2.b", 1, c2, 1, 1, 1, c1 * 25, &m->c2b, err)) ||
        (st = cnn_view(m, "cnn.fc1.w", 2, s->fc, m->F, 1, 1, m->F, &m->f1w, err)) ||
        (st = cnn_view(m, "cnn.fc1.b", 1, s->fc, 1, 1, 1, m->F, &m->f1b, err)) ||
        (st = cnn_view(m, "cnn.fc2.w", 2, K, s->fc, 1, 1, s->fc, &m->f2w, err)) ||
        (st = cnn_view(m, "cnn.fc2.b", 1, K, 1, 1, 1, s->fc, &m->f2b, err)) || (st = gd_params_alloc(&m->p, err)))
        goto fail;
    size_t B = (size_t)max_batch, n1 = (size_t)c1 * m->D, q1 = (size_t)c1 * m->h2 * m->w2,
           n2 = (size_t)c2 * m->h2 * m->w2, q2 = (size_t)m->F;
    size_t ws1 = gd_conv2d_workspace_size(&m->sh1), ws2 = gd_conv2d_workspace_size(&m->sh2);
    st = GD_ENOMEM;
    if (!(m->a1 = cnn_alloc(B, n1, 4, err)) || !(m->p1 = cnn_alloc(B, q1, 4, err)) ||
        !(m->a2 = cnn_alloc(B, n2, 4, err)) || !(m->p2 = cnn_alloc(B, q2, 4, err)) ||
        !(m->h = cnn_alloc(B, s->fc, 4, err)) || !(m->logits = cnn_alloc(B, K, 4, err)) ||
        !(m->probs = cnn_alloc(B, K, 4, err)) || !(m->i1 = (int32_t*)cnn_alloc(B, q1, 4, err)) ||
        !(m->i2 = (int32_t*)cnn_alloc(B, q2, 4, err)) || !(m->dlogits = cnn_alloc(B, K, 4, err)) ||
        !(m->dh = cnn_alloc(B, s->fc, 4, err)) || !(m->dhp = cnn_alloc(B, s->fc, 4, err)) ||
        !(m->dp2 = cnn_alloc(B, q2, 4, err)) || !(m->da2 = cnn_alloc(B, n2, 4, err)) ||
        !(m->da2p = cnn_alloc(B, n2, 4, err)) || !(m->dp1 = cnn_alloc(B, q1, 4, err)) ||
        !(m->da1 = cnn_alloc(B, n1, 4, err)) || !(m->da1p = cnn_alloc(B, n1, 4, err)) ||
        !(m->rowloss = cnn_alloc(B, 1, 4, err)) || !(m->work = cnn_alloc(ws1 > ws2 ? ws1 : ws2, 1, 4, err)))
        goto fail;
    *out = m;
    return GD_OK;
fail:
    gd_cnn_free(m);
    return st;
}

void gd_cnn_free(gd_cnn* m) {
    if (!m) return;
    gd_params_free(&m->p);
    void* bufs[] = {m->a1, m->p1, m->a2, m->p2, m->h, m->logits, m->probs, m->i1, m->i2, m->dlogits, m->dh, m->dhp,
                    m->dp2, m->da2, m->da2p, m->dp1, m->da1, m->da1p, m->rowloss, m->work};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gd_free(bufs[i]);
    free(m);
}

const gd_cnn_spec* gd_cnn_get_spec(const gd_cnn* m) { return &m->s; }
gd_params* gd_cnn_params(gd_cnn* m) { return &m->p; }
int gd_cnn_max_batch(const gd_cnn* m) { return m->max_batch; }

gd_status gd_cnn_init_params(gd_cnn* m, uint64_t seed, gd_error* err) {
    for (int i = 0; i < m->p.n_views; i++) {
        gd_status st = gd_params_fill(&m->p, i, GD_INIT_TORCH_DEFAULT, m->fan_in[i], 0, 1.0f, seed, err);
        if (st) return st;
    }
    return GD_OK;
}

#define W(off) (m->p.data + (off))
#define G(off) (m->p.grad + (off))

/* Logits (B, K) of x (B, D), keeping the activations. */
static void cnn_forward(gd_cnn* m, const float* x, int B) {
    const gd_cnn_spec* s = &m->s;
    gd_conv_shape sh1 = m->sh1, sh2 = m->sh2;
    sh1.N = sh2.N = B;
    gd_conv2d_forward(m->a1, x, W(m->c1w), W(m->c1b), &sh1, m->work);
    gd_relu_forward(m->a1, m->a1, (size_t)B * s->conv1 * m->D);
    gd_maxpool2_forward(m->p1, m->i1, m->a1, B, s->conv1, s->h, s->w);
    gd_conv2d_forward(m->a2, m->p1, W(m->c2w), W(m->c2b), &sh2, m->work);
    gd_relu_forward(m->a2, m->a2, (size_t)B * s->conv2 * m->h2 * m->w2);
    gd_maxpool2_forward(m->p2, m->i2, m->a2, B, s->conv2, m->h2, m->w2);
    gd_dense_forward(m->h, m->p2, W(m->f1w), W(m->f1b), B, m->F, s->fc);
    gd_relu_forward(m->h, m->h, (size_t)B * s->fc);
    gd_dense_forward(m->logits, m->h, W(m->f2w), W(m->f2b), B, s->fc, s->n_classes);
}

/* Backward from m->dlogits: parameter gradients when params != 0, dx (B, D) += input gradient when not NULL. */
static void cnn_backward(gd_cnn* m, const float* x, float* dx, int params, int B) {
    const gd_cnn_spec* s = &m->s;
    size_t nh = (size_t)B * s->fc, nq2 = (size_t)B * m->F, n2 = (size_t)B * s->conv2 * m->h2 * m->w2,
           nq1 = (size_t)B * s->conv1 * m->h2 * m->w2, n1 = (size_t)B * s->conv1 * m->D;
    gd_conv_shape sh1 = m->sh1, sh2 = m->sh2;
    sh1.N = sh2.N = B;
    memset(m->dh, 0, sizeof(float) * nh);
    gd_dense_backward(m->dh, params ? G(m->f2w) : NULL, params ? G(m->f2b) : NULL, m->dlogits, m->h, W(m->f2w), B,
                      s->fc, s->n_classes);
    memset(m->dhp, 0, sizeof(float) * nh);
    gd_relu_backward(m->dhp, m->dh, m->h, nh);
    memset(m->dp2, 0, sizeof(float) * nq2);
    gd_dense_backward(m->dp2, params ? G(m->f1w) : NULL, params ? G(m->f1b) : NULL, m->dhp, m->p2, W(m->f1w), B, m->F,
                      s->fc);
    memset(m->da2, 0, sizeof(float) * n2);
    gd_maxpool2_backward(m->da2, m->dp2, m->i2, B, s->conv2, m->h2, m->w2);
    memset(m->da2p, 0, sizeof(float) * n2);
    gd_relu_backward(m->da2p, m->da2, m->a2, n2);
    memset(m->dp1, 0, sizeof(float) * nq1);
    gd_conv2d_backward(m->dp1, params ? G(m->c2w) : NULL, params ? G(m->c2b) : NULL, m->da2p, m->p1, W(m->c2w), &sh2,
                       m->work);
    memset(m->da1, 0, sizeof(float) * n1);
    gd_maxpool2_backward(m->da1, m->dp1, m->i1, B, s->conv1, s->h, s->w);
    memset(m->da1p, 0, sizeof(float) * n1);
    gd_relu_backward(m->da1p, m->da1, m->a1, n1);
    if (params || dx)
        gd_conv2d_backward(dx, params ? G(m->c1w) : NULL, params ? G(m->c1b) : NULL, m->da1p, x, W(m->c1w), &sh1,
                           m->work);
}

static gd_status check_labels(const gd_cnn* m, const int32_t* labels, int B, gd_error* err) {
    if (B < 0 || B > m->max_batch)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "batch of %d images outside 0..%d (max_batch)", B,
                            m->max_batch);
    for (int b = 0; labels && b < B; b++)
        if (labels[b] < 0 || labels[b] >= m->s.n_classes)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "train the CNN on a set with class labels",
                                "label %d of image %d outside 0..%d", labels[b], b, m->s.n_classes - 1);
    return GD_OK;
}

gd_status gd_cnn_loss(gd_cnn* m, const float* x, const int32_t* labels, int B, int backward, float grad_scale,
                      double* loss_sum, int64_t* correct, gd_error* err) {
    gd_status st = check_labels(m, labels, B, err);
    if (st || B == 0) return st;
    int K = m->s.n_classes;
    cnn_forward(m, x, B);
    if (backward) memset(m->dlogits, 0, sizeof(float) * (size_t)B * K);
    gd_softmax_xent_loss(backward ? m->dlogits : NULL, m->rowloss, m->probs, m->logits, labels, B, K,
                         (float)((double)B * grad_scale));
    for (int b = 0; b < B; b++) {
        if (loss_sum) *loss_sum += m->rowloss[b];
        const float* l = m->logits + (size_t)b * K;
        int best = 0;
        for (int c = 1; c < K; c++)
            if (l[c] > l[best]) best = c;
        if (correct && best == labels[b]) (*correct)++;
    }
    if (backward) cnn_backward(m, x, NULL, 1, B);
    return GD_OK;
}

gd_status gd_cnn_predict(gd_cnn* m, const float* x, float* probs, int B, gd_error* err) {
    gd_status st = check_labels(m, NULL, B, err);
    if (st || B == 0) return st;
    cnn_forward(m, x, B);
    gd_softmax_forward(probs, m->logits, B, m->s.n_classes);
    return GD_OK;
}

gd_status gd_cnn_input_grad(gd_cnn* m, const float* x, const int32_t* labels, float* dx, float* row_loss,
                            float* probs, int B, gd_error* err) {
    gd_status st = check_labels(m, labels, B, err);
    if (st || B == 0) return st;
    int K = m->s.n_classes;
    cnn_forward(m, x, B);
    memset(m->dlogits, 0, sizeof(float) * (size_t)B * K);
    gd_softmax_xent_loss(m->dlogits, row_loss, probs, m->logits, labels, B, K, (float)B);
    memset(dx, 0, sizeof(float) * (size_t)B * m->D);
    cnn_backward(m, x, dx, 0, B);
    return GD_OK;
}

double gd_cnn_train_flops(const gd_cnn_spec* s) {
    int h2 = s->h / 2, w2 = s->w / 2, h4 = h2 / 2, w4 = w2 / 2;
    double c1 = (double)s->conv1 * s->h * s->w * 25, c2 = (double)s->conv2 * h2 * w2 * s->conv1 * 25;
    double f1 = (double)s->conv2 * h4 * w4 * s->fc, f2 = (double)s->fc * s->n_classes;
    double fwd = c1 + c2 + f1 + f2;
    return 2.0 * (3.0 * fwd - c1);
}
