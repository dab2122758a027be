/* conv2d and conv_transpose2d: forward against naive direct loops (double), gradients of input, weight and
 * bias against finite differences, the adjoint identity <conv(x), y> = <x, convT(y)>, accumulation, NULL
 * gradients and the shape rules. Small random shapes: stride 1-3, padding, non-square kernels, N, C > 1. */
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "nn_check.h"

typedef struct {
    gd_conv_shape s;
    int transposed;
    float *in, *w, *b, *out, *r, *work;
    size_t n_in, n_w, n_out;
} conv_case;

static void run_forward(conv_case* c) {
    if (c->transposed)
        gd_conv_transpose2d_forward(c->out, c->in, c->w, c->b, &c->s, c->work);
    else
        gd_conv2d_forward(c->out, c->in, c->w, c->b, &c->s, c->work);
}

static void run_backward(conv_case* c, float* din, float* dw, float* db) {
    if (c->transposed)
        gd_conv_transpose2d_backward(din, dw, db, c->r, c->in, c->w, &c->s, c->work);
    else
        gd_conv2d_backward(din, dw, db, c->r, c->in, c->w, &c->s, c->work);
}

static double objective(void* ctx) {
    conv_case* c = ctx;
    run_forward(c);
    return nn_dot(c->r, c->out, c->n_out);
}

/* The direct definitions, in double: conv gathers, transposed conv scatters (as PyTorch documents them). */
static void naive(const conv_case* c, double* out) {
    const gd_conv_shape* s = &c->s;
    const size_t OP = (size_t)s->OH * s->OW;
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (size_t p = 0; p < OP; p++) out[((size_t)n * s->OC + o) * OP + p] = c->b ? c->b[o] : 0.0;
    for (int n = 0; n < s->N; n++)
        for (int ci = 0; ci < s->C; ci++)
            for (int o = 0; o < s->OC; o++)
                for (int kh = 0; kh < s->KH; kh++)
                    for (int kw = 0; kw < s->KW; kw++) {
                        if (!c->transposed) {
                            double w = c->w[((o * s->C + ci) * s->KH + kh) * s->KW + kw];
                            for (int oh = 0; oh < s->OH; oh++)
                                for (int ow = 0; ow < s->OW; ow++) {
                                    int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                                    if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                                    out[(((size_t)n * s->OC + o) * s->OH + oh) * s->OW + ow] +=
                                        w * c->in[(((size_t)n * s->C + ci) * s->H + ih) * s->W + iw];
                                }
                        } else {
                            double w = c->w[((ci * s->OC + o) * s->KH + kh) * s->KW + kw];
                            for (int ih = 0; ih < s->H; ih++)
                                for (int iw = 0; iw < s->W; iw++) {
                                    int oh = ih * s->stride - s->pad + kh, ow = iw * s->stride - s->pad + kw;
                                    if (oh < 0 || oh >= s->OH || ow < 0 || ow >= s->OW) continue;
                                    out[(((size_t)n * s->OC + o) * s->OH + oh) * s->OW + ow] +=
                                        w * c->in[(((size_t)n * s->C + ci) * s->H + ih) * s->W + iw];
                                }
                        }
                    }
}

/* Allocates the arrays of a case whose shape is set, with random contents; NaN-filled workspace. */
static void setup(conv_case* c, uint64_t seed) {
    const gd_conv_shape* s = &c->s;
    gd_rng rng;
    gd_rng_init(&rng, seed, GD_STREAM_USER, 1);
    c->n_in = (size_t)s->N * s->C * s->H * s->W;
    c->n_w = (size_t)s->OC * s->C * s->KH * s->KW;
    c->n_out = (size_t)s->N * s->OC * s->OH * s->OW;
    size_t nwork = c->transposed ? gd_conv_transpose2d_workspace_size(s) : gd_conv2d_workspace_size(s);
    c->in = malloc(c->n_in * sizeof(float));
    c->w = malloc(c->n_w * sizeof(float));
    c->b = malloc(s->OC * sizeof(float));
    c->out = malloc(c->n_out * sizeof(float));
    c->r = malloc(c->n_out * sizeof(float));
    c->work = malloc((nwork ? nwork : 1) * sizeof(float));
    for (size_t i = 0; i < nwork; i++) c->work[i] = NAN; /* the layers must not read stale workspace */
    nn_fill(&rng, c->in, c->n_in, 1.0f);
    nn_fill(&rng, c->w, c->n_w, 1.0f);
    nn_fill(&rng, c->b, s->OC, 1.0f);
    nn_fill(&rng, c->r, c->n_out, 1.0f);
}

static void teardown(conv_case* c) {
    free(c->in), free(c->w), free(c->b), free(c->out), free(c->r), free(c->work);
}

static void check_case(conv_case* c, const char* name) {
    const gd_conv_shape* s = &c->s;
    /* Forward against the direct loops, with and without bias. */
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        float* keep = c->b;
        if (!with_bias) c->b = NULL;
        double* ref = malloc(c->n_out * sizeof(double));
        naive(c, ref);
        run_forward(c);
        double worst = 0;
        for (size_t i = 0; i < c->n_out; i++) worst = fmax(worst, fabs(ref[i] - c->out[i]));
        CHECK_MSG(worst < 1e-5, "%s: forward (bias %d) differs from the direct loop by %g", name, with_bias, worst);
        free(ref);
        c->b = keep;
    }
    /* Gradients, accumulated on top of a constant. */
    float* din = malloc(c->n_in * sizeof(float));
    float* dw = malloc(c->n_w * sizeof(float));
    float* db = malloc(s->OC * sizeof(float));
    nn_set(din, c->n_in, 0.5f), nn_set(dw, c->n_w, -1.0f), nn_set(db, s->OC, 2.0f);
    run_backward(c, din, dw, db);
    nn_sub(din, c->n_in, 0.5f), nn_sub(dw, c->n_w, -1.0f), nn_sub(db, s->OC, 2.0f);
    char what[160];
    snprintf(what, sizeof what, "%s d_in", name);
    NN_CHECK_GRAD(what, c->in, din, c->n_in, objective, c, 0.0625f, 1e-4);
    snprintf(what, sizeof what, "%s d_w", name);
    NN_CHECK_GRAD(what, c->w, dw, c->n_w, objective, c, 0.0625f, 1e-4);
    snprintf(what, sizeof what, "%s d_b", name);
    NN_CHECK_GRAD(what, c->b, db, s->OC, objective, c, 0.0625f, 1e-4);
    /* Each gradient alone gives the same numbers (NULL skips work without side effects). */
    float* din2 = calloc(c->n_in, sizeof(float));
    float* dw2 = calloc(c->n_w, sizeof(float));
    run_backward(c, din2, NULL, NULL);
    run_backward(c, NULL, dw2, NULL);
    double e = 0;
    for (size_t i = 0; i < c->n_in; i++) e = fmax(e, fabs(din2[i] - din[i]));
    for (size_t i = 0; i < c->n_w; i++) e = fmax(e, fabs(dw2[i] - dw[i]));
    CHECK_MSG(e < 1e-5, "%s: separate backward calls differ by %g", name, e);
    free(din), free(dw), free(db), free(din2), free(dw2);
}

/* <conv(x), y> = <x, convT(y)>: the transposed conv with the same weight memory is conv's adjoint. */
static void check_adjoint(int N, int C, int H, int W, int OC, int KH, int KW, int stride, int pad) {
    gd_error err;
    conv_case f = {0}, t = {0};
    CHECK_OK(gd_conv_shape_init(&f.s, N, C, H, W, OC, KH, KW, stride, pad, &err), &err);
    int op = H - ((f.s.OH - 1) * stride - 2 * pad + KH);
    CHECK(op == W - ((f.s.OW - 1) * stride - 2 * pad + KW)); /* the test shapes are chosen so */
    t.transposed = 1;
    CHECK_OK(gd_convT_shape_init(&t.s, N, OC, f.s.OH, f.s.OW, C, KH, KW, stride, pad, op, &err), &err);
    CHECK(t.s.OH == H && t.s.OW == W);
    setup(&f, 100 + H);
    setup(&t, 200 + H);
    memcpy(t.w, f.w, f.n_w * sizeof(float)); /* (OC,C,KH,KW) read as convT's (in=OC, out=C, KH, KW) */
    float *fb = f.b, *tb = t.b;
    f.b = t.b = NULL; /* no bias: both maps linear */
    run_forward(&f);
    run_forward(&t); /* convT of y = t.in */
    double lhs = nn_dot(f.out, t.in, f.n_out), rhs = nn_dot(f.in, t.out, f.n_in);
    CHECK_MSG(fabs(lhs - rhs) <= 1e-5 * (fabs(lhs) + 1), "adjoint %dx%d k%dx%d s%d p%d: %.9g vs %.9g", H, W, KH, KW,
              stride, pad, lhs, rhs);
    /* And conv's input gradient is convT applied to dout. */
    float* din = calloc(f.n_in, sizeof(float));
    gd_conv2d_backward(din, NULL, NULL, t.in, f.in, f.w, &f.s, f.work);
    double e = 0;
    for (size_t i = 0; i < f.n_in; i++) e = fmax(e, fabs(din[i] - t.out[i]));
    CHECK_MSG(e < 1e-5, "conv input gradient vs convT: %g", e);
    free(din);
    f.b = fb, t.b = tb;
    teardown(&f), teardown(&t);
}

int main(void) {
    gd_error err;
    struct {
        int N, C, H, W, OC, KH, KW, stride, pad;
    } convs[] = {
        {2, 3, 7, 6, 4, 3, 2, 2, 1}, /* stride 2, padding, non-square kernel */
        {1, 2, 5, 5, 3, 3, 3, 1, 0}, /* valid */
        {2, 1, 8, 7, 2, 5, 3, 3, 2}, /* stride 3, pad 2 */
        {2, 3, 4, 5, 2, 1, 1, 1, 0}, /* pointwise (no im2col) */
        {3, 2, 6, 6, 3, 4, 4, 2, 1}, /* k4 s2 p1 */
        {2, 2, 2, 3, 2, 3, 3, 1, 1}, /* kernel larger than the unpadded input */
        {1, 2, 5, 4, 3, 1, 1, 2, 0}, /* 1x1 with stride 2 (im2col path) */
        {2, 2, 9, 9, 2, 3, 3, 2, 1}, /* odd size, stride 2 (like 28 -> 14 -> 7) */
        {2, 2, 5, 6, 5, 3, 2, 1, 1}, /* stride 1 with OC > 4 (im2col, not the direct loops) */
        {2, 3, 8, 8, 1, 5, 5, 1, 0}, /* OC = 1, k5 valid: the direct loops */
    };
    for (size_t k = 0; k < sizeof convs / sizeof convs[0]; k++) {
        conv_case c = {0};
        CHECK_OK(gd_conv_shape_init(&c.s, convs[k].N, convs[k].C, convs[k].H, convs[k].W, convs[k].OC, convs[k].KH,
                                    convs[k].KW, convs[k].stride, convs[k].pad, &err), &err);
        char name[96];
        snprintf(name, sizeof name, "conv %zu (%dx%d k%dx%d s%d p%d)", k, c.s.H, c.s.W, c.s.KH, c.s.KW, c.s.stride,
                 c.s.pad);
        setup(&c, k);
        check_case(&c, name);
        teardown(&c);
    }
    struct {
        int N, C, H, W, OC, KH, KW, stride, pad, op;
    } tconvs[] = {
        {2, 3, 4, 3, 2, 3, 3, 2, 1, 1}, /* doubles the size (TF 'SAME' k3 s2) */
        {1, 2, 3, 4, 3, 3, 2, 1, 0, 0}, /* stride 1, non-square kernel */
        {2, 2, 3, 3, 2, 5, 4, 3, 2, 2}, /* stride 3, out_pad 2 */
        {2, 4, 2, 2, 1, 4, 4, 2, 1, 0}, /* k4 s2 p1 */
        {1, 3, 3, 2, 2, 1, 1, 2, 0, 1}, /* 1x1 kernel, stride 2: holes between the inputs */
    };
    for (size_t k = 0; k < sizeof tconvs / sizeof tconvs[0]; k++) {
        conv_case c = {.transposed = 1};
        CHECK_OK(gd_convT_shape_init(&c.s, tconvs[k].N, tconvs[k].C, tconvs[k].H, tconvs[k].W, tconvs[k].OC,
                                     tconvs[k].KH, tconvs[k].KW, tconvs[k].stride, tconvs[k].pad, tconvs[k].op, &err),
                 &err);
        char name[96];
        snprintf(name, sizeof name, "convT %zu (%dx%d k%dx%d s%d p%d op%d)", k, c.s.H, c.s.W, c.s.KH, c.s.KW,
                 c.s.stride, c.s.pad, c.s.out_pad);
        setup(&c, 50 + k);
        check_case(&c, name);
        teardown(&c);
    }
    check_adjoint(2, 3, 7, 8, 4, 3, 2, 2, 1); /* out_pad 0 */
    check_adjoint(1, 2, 8, 8, 3, 3, 3, 2, 1); /* out_pad 1 */
    check_adjoint(2, 2, 8, 7, 2, 5, 4, 3, 2); /* stride 3, out_pad 1 */
    check_adjoint(1, 1, 5, 6, 2, 2, 3, 1, 0);

    /* Shape rules (PyTorch's formulas) and refusals. */
    gd_conv_shape s;
    CHECK_OK(gd_conv_shape_init(&s, 1, 1, 28, 28, 16, 3, 3, 2, 1, &err), &err);
    CHECK(s.OH == 14 && s.OW == 14);
    CHECK_OK(gd_conv_shape_init(&s, 1, 1, 12, 12, 1, 5, 5, 1, 0, &err), &err);
    CHECK(s.OH == 8 && s.OW == 8);
    CHECK_OK(gd_convT_shape_init(&s, 1, 64, 4, 4, 32, 3, 3, 2, 1, 1, &err), &err);
    CHECK(s.OH == 8 && s.OW == 8);
    CHECK_OK(gd_convT_shape_init(&s, 1, 64, 7, 7, 32, 4, 4, 2, 1, 0, &err), &err);
    CHECK(s.OH == 14 && s.OW == 14);
    CHECK(gd_conv_shape_init(&s, 1, 1, 2, 2, 1, 5, 5, 1, 0, &err) == GD_EINVAL);
    CHECK(gd_conv_shape_init(&s, 1, 1, 8, 8, 1, 3, 3, 0, 0, &err) == GD_EINVAL);
    CHECK(gd_conv_shape_init(&s, 0, 1, 8, 8, 1, 3, 3, 1, 0, &err) == GD_EINVAL);
    CHECK(gd_convT_shape_init(&s, 1, 1, 4, 4, 1, 3, 3, 2, 1, 2, &err) == GD_EINVAL); /* out_pad >= stride */
    CHECK(gd_convT_shape_init(&s, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, &err) == GD_EINVAL); /* empty output */
    return gd_test_done("test_conv");
}
