/* The Eq. 3 solver, the z-only refinement (Eq. 2) and the decision rule of paper §3.2.
 *
 * y ∈ [0, 1]^n is kept feasible by projection: after every Adam step y is clipped to [0, 1]. Chosen over a
 * sigmoid reparameterisation because (1) it is the constraint as the paper writes it, (2) with the L1 penalty
 * a component can reach exactly 0 and stay there (a sigmoid never reaches 0 or 1 and its gradient vanishes near
 * both, so the thresholds yl, yu would act on a squashed scale), (3) y0 = 0.5 and the step size mean the same
 * as in the authors' code, which clips too.
 *
 * Every start of every image is one "row": rows are independent (own Adam moments, own best iterate), so the
 * way rows are cut into generator batches never changes a row's arithmetic beyond BLAS blocking, and the
 * batches of a chunk depend only on the chunk: results do not depend on the number of MPI ranks. Each row
 * keeps its best iterate (lowest objective seen, evaluated on every forward pass, the last one included). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/infer.h"

#define ADAM_B1 0.9f
#define ADAM_B2 0.999f
#define ADAM_EPS 1e-8f

struct gd_infer {
    gd_generator g;
    gd_infer_opts o;
    int n, k, p, npix, cap; /* cap = rows per generator call */
    /* per-call row workspace (cap rows) */
    float *zw, *yw, *xf, *dxf, *dz, *dy, *mz, *vz, *my, *vy;
    /* chunk buffers, sized for (alloc_batch images, alloc_starts starts, alloc_T trace entries) */
    int alloc_batch, alloc_starts, alloc_T;
    float *xin, *tgt; /* (batch, npix) prepared input, Sig(input) */
    float *rz, *ry, *rl, *rtrace; /* (batch*S, p), (batch*S, n), (batch*S), (batch*S, T, n) */
    int32_t* rimg;                /* (batch*S) */
    /* candidate buffers, grown on demand (outside any step loop) */
    size_t cand_cap;
    int32_t* cimg;
    uint64_t* cmask;
    float *cz, *cy, *closs;
    uint64_t* masks1; /* (max candidates of one image) */
    size_t masks1_cap;
};

typedef enum { MODE_EQ3, MODE_EQ2 } row_mode;

/* Frees the chunk buffers. */
static void free_chunk(gd_infer* s) {
    gd_free(s->xin);
    gd_free(s->tgt);
    gd_free(s->rz);
    gd_free(s->ry);
    gd_free(s->rl);
    gd_free(s->rtrace);
    gd_free(s->rimg);
    s->xin = s->tgt = s->rz = s->ry = s->rl = s->rtrace = NULL;
    s->rimg = NULL;
    s->alloc_batch = s->alloc_starts = s->alloc_T = 0;
}

/* Allocates `count` elements of `size` bytes into *p (gd_alloc, zeroed), GD_ENOMEM on overflow/failure. */
static gd_status alloc_n(void** p, size_t count, size_t size, const char* what, gd_error* err) {
    size_t bytes;
    if (gd_mul_overflows(count, size, &bytes) || bytes > ((size_t)1 << 40))
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use a smaller infer.batch", "%s: %zu x %zu bytes is too large",
                            what, count, size);
    if (bytes == 0) bytes = 64;
    *p = gd_alloc(bytes);
    if (!*p)
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use a smaller infer.batch or fewer restarts",
                            "out of memory allocating %zu bytes for %s", bytes, what);
    return GD_OK;
}

/* (Re)sizes the chunk buffers for the current options when they are too small. */
static gd_status size_chunk(gd_infer* s, gd_error* err) {
    int S = 1 + s->o.restarts, T = s->o.trace ? s->o.steps + 1 : 0;
    if (s->xin && s->o.batch <= s->alloc_batch && S <= s->alloc_starts && T <= s->alloc_T) return GD_OK;
    free_chunk(s);
    size_t B = (size_t)s->o.batch, R = B * (size_t)S;
    gd_status st;
    if ((st = alloc_n((void**)&s->xin, B * s->npix, sizeof(float), "infer input", err)) ||
        (st = alloc_n((void**)&s->tgt, B * s->npix, sizeof(float), "infer target", err)) ||
        (st = alloc_n((void**)&s->rz, R * s->p, sizeof(float), "infer z", err)) ||
        (st = alloc_n((void**)&s->ry, R * s->n, sizeof(float), "infer y", err)) ||
        (st = alloc_n((void**)&s->rl, R, sizeof(float), "infer losses", err)) ||
        (st = alloc_n((void**)&s->rimg, R, sizeof(int32_t), "infer rows", err))) {
        free_chunk(s);
        return st;
    }
    if (T && (st = alloc_n((void**)&s->rtrace, R * (size_t)T * s->n, sizeof(float), "infer trace", err))) {
        free_chunk(s);
        return st;
    }
    s->alloc_batch = s->o.batch;
    s->alloc_starts = S;
    s->alloc_T = T;
    return GD_OK;
}

/* Makes room for m candidate rows. */
static gd_status size_candidates(gd_infer* s, size_t m, gd_error* err) {
    if (m <= s->cand_cap) return GD_OK;
    size_t cap = s->cand_cap ? s->cand_cap : 256;
    while (cap < m) cap *= 2;
    gd_free(s->cimg);
    gd_free(s->cmask);
    gd_free(s->cz);
    gd_free(s->cy);
    gd_free(s->closs);
    s->cimg = NULL;
    s->cmask = NULL;
    s->cz = s->cy = s->closs = NULL;
    s->cand_cap = 0;
    gd_status st;
    if ((st = alloc_n((void**)&s->cimg, cap, sizeof(int32_t), "candidates", err)) ||
        (st = alloc_n((void**)&s->cmask, cap, sizeof(uint64_t), "candidates", err)) ||
        (st = alloc_n((void**)&s->cz, cap * s->p, sizeof(float), "candidate z", err)) ||
        (st = alloc_n((void**)&s->cy, cap * s->n, sizeof(float), "candidate y", err)) ||
        (st = alloc_n((void**)&s->closs, cap, sizeof(float), "candidate losses", err)))
        return st;
    s->cand_cap = cap;
    return GD_OK;
}

void gd_infer_free(gd_infer* s) {
    if (!s) return;
    float* bufs[] = {s->zw, s->yw, s->xf, s->dxf, s->dz, s->dy, s->mz, s->vz, s->my, s->vy, s->cz, s->cy, s->closs};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gd_free(bufs[i]);
    gd_free(s->cimg);
    gd_free(s->cmask);
    gd_free(s->masks1);
    free_chunk(s);
    free(s);
}

gd_status gd_infer_create(gd_infer** out, const gd_generator* gen, const gd_infer_opts* o, gd_error* err) {
    *out = NULL;
    gd_status st = gd_infer_opts_check(o, err);
    if (st) return st;
    if (!gen || !gen->decode || !gen->decode_backward)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "the generator has no decode/decode_backward function");
    if (gen->n < 1 || gen->n > GD_INFER_MAX_COMPONENTS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "the generator has n = %d components; gendec supports 1..%d",
                            gen->n, GD_INFER_MAX_COMPONENTS);
    if (gen->k < 1 || gen->npix < 1 || gen->max_batch < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "the generator has k = %d, npix = %d, max_batch = %d (all must be >= 1)",
                            gen->k, gen->npix, gen->max_batch);
    gd_infer* s = calloc(1, sizeof *s);
    if (!s) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    s->g = *gen;
    s->o = *o;
    s->n = gen->n;
    s->k = gen->k;
    s->p = gen->n * gen->k;
    s->npix = gen->npix;
    s->cap = gen->max_batch;
    size_t C = (size_t)s->cap;
    float** rows_p[] = {&s->zw, &s->dz, &s->mz, &s->vz};
    float** rows_n[] = {&s->yw, &s->dy, &s->my, &s->vy};
    for (size_t i = 0; i < 4 && !st; i++) st = alloc_n((void**)rows_p[i], C * s->p, sizeof(float), "infer workspace", err);
    for (size_t i = 0; i < 4 && !st; i++) st = alloc_n((void**)rows_n[i], C * s->n, sizeof(float), "infer workspace", err);
    if (!st) st = alloc_n((void**)&s->xf, C * s->npix, sizeof(float), "infer workspace", err);
    if (!st) st = alloc_n((void**)&s->dxf, C * s->npix, sizeof(float), "infer workspace", err);
    if (!st) st = size_chunk(s, err);
    if (st) {
        gd_infer_free(s);
        return st;
    }
    *out = s;
    return GD_OK;
}

const gd_infer_opts* gd_infer_options(const gd_infer* s) { return &s->o; }
int gd_infer_n(const gd_infer* s) { return s->n; }
int gd_infer_p(const gd_infer* s) { return s->p; }
int gd_infer_npix(const gd_infer* s) { return s->npix; }

gd_status gd_infer_set_options(gd_infer* s, const gd_infer_opts* o, gd_error* err) {
    gd_status st = gd_infer_opts_check(o, err);
    if (st) return st;
    gd_infer_opts old = s->o;
    s->o = *o;
    if ((st = size_chunk(s, err))) s->o = old;
    return st;
}

gd_status gd_infer_check_data(const gd_infer* s, int n_components, int npix, const char* what, gd_error* err) {
    if (n_components != s->n)
        return gd_error_set(err, GD_EINVAL, what, 0, 0, "use the model trained on this dataset",
                            "the dataset has %d components but the model has n = %d", n_components, s->n);
    if (npix != s->npix)
        return gd_error_set(err, GD_EINVAL, what, 0, 0, "use the model trained on this dataset (same image size)",
                            "the dataset's images have %d pixels but the model makes %d", npix, s->npix);
    return GD_OK;
}

/* The sigmoid. */
static inline float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

/* Copies B images into s->xin (binarised when asked) and, for Eq. 3, s->tgt = Sig(xin). */
static void prepare_input(gd_infer* s, const float* x, int B, int with_target) {
    size_t m = (size_t)B * s->npix;
    if (s->o.binarize_input)
        for (size_t j = 0; j < m; j++) s->xin[j] = x[j] > 0.5f ? 1.0f : 0.0f;
    else
        memcpy(s->xin, x, m * sizeof(float));
    if (with_target)
        for (size_t j = 0; j < m; j++) s->tgt[j] = sigm(s->o.beta * s->xin[j] + s->o.b);
}

/* The objective of one row and dF/dx_f (npix) into dxf. EQ3: tgt = Sig(x), F = D(Sig(xf), tgt) + c·Σ|y|.
 * EQ2: tgt = x, F = Σ (xf − x)² (mean or sum). */
static float row_loss(const gd_infer* s, row_mode mode, const float* xf, const float* tgt, const float* y,
                      float* dxf) {
    const int P = s->npix;
    const float sc = s->o.scale == GD_INFER_SCALE_MEAN ? 1.0f / (float)P : 1.0f;
    double acc = 0.0;
    if (mode == MODE_EQ2) {
        for (int j = 0; j < P; j++) {
            float d = xf[j] - tgt[j];
            acc += (double)d * d;
            dxf[j] = 2.0f * sc * d;
        }
        return (float)(acc * sc);
    }
    const float beta = s->o.beta, b = s->o.b;
    if (s->o.norm == GD_INFER_NORM_L2) {
        for (int j = 0; j < P; j++) {
            float sg = sigm(beta * xf[j] + b), d = sg - tgt[j];
            acc += (double)d * d;
            dxf[j] = 2.0f * sc * d * sg * (1.0f - sg) * beta;
        }
    } else {
        for (int j = 0; j < P; j++) {
            float sg = sigm(beta * xf[j] + b), d = sg - tgt[j];
            acc += fabs((double)d);
            float sign = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
            dxf[j] = sc * sign * sg * (1.0f - sg) * beta;
        }
    }
    double l1 = 0.0;
    for (int i = 0; i < s->n; i++) l1 += fabs((double)y[i]);
    return (float)(acc * sc + s->o.c * l1);
}

/* One Adam step on w (m) with gradient g; b1t, b2t = beta1^t, beta2^t. */
static void adam(float* w, const float* g, float* mo, float* vo, size_t m, float lr, float b1t, float b2t) {
    const float c1 = 1.0f / (1.0f - b1t), c2 = 1.0f / (1.0f - b2t);
    for (size_t i = 0; i < m; i++) {
        mo[i] = ADAM_B1 * mo[i] + (1.0f - ADAM_B1) * g[i];
        vo[i] = ADAM_B2 * vo[i] + (1.0f - ADAM_B2) * g[i] * g[i];
        w[i] -= lr * (mo[i] * c1) / (sqrtf(vo[i] * c2) + ADAM_EPS);
    }
}

/* Runs `steps` Adam steps on R rows. Row r uses image rimg[r] of tgt (B, npix), starts from z (R, p) and
 * y (R, n), and gets back its best iterate in z (and y for EQ3) with the objective in loss (R). trace
 * (R, steps + 1, n) or NULL receives y at every evaluated iterate. Rows go through the generator in pieces of
 * at most cap. */
static gd_status run_rows(gd_infer* s, row_mode mode, const float* tgt, int R, const int32_t* rimg, float* z,
                          float* y, float* loss, float* trace, int steps, gd_error* err) {
    const int n = s->n, p = s->p, P = s->npix, T = steps + 1;
    const int eq3 = mode == MODE_EQ3;
    gd_status st;
    for (int r0 = 0; r0 < R; r0 += s->cap) {
        int Bp = R - r0 < s->cap ? R - r0 : s->cap;
        memcpy(s->zw, z + (size_t)r0 * p, (size_t)Bp * p * sizeof(float));
        memcpy(s->yw, y + (size_t)r0 * n, (size_t)Bp * n * sizeof(float));
        memset(s->mz, 0, (size_t)Bp * p * sizeof(float));
        memset(s->vz, 0, (size_t)Bp * p * sizeof(float));
        memset(s->my, 0, (size_t)Bp * n * sizeof(float));
        memset(s->vy, 0, (size_t)Bp * n * sizeof(float));
        for (int r = 0; r < Bp; r++) loss[r0 + r] = INFINITY;
        float b1t = 1.0f, b2t = 1.0f;
        for (int t = 0; t <= steps; t++) {
            if ((st = s->g.decode(s->g.ctx, s->zw, s->yw, s->xf, Bp, eq3, err))) return st;
            for (int r = 0; r < Bp; r++) {
                const float* yr = s->yw + (size_t)r * n;
                float F = row_loss(s, mode, s->xf + (size_t)r * P, tgt + (size_t)rimg[r0 + r] * P, yr,
                                   s->dxf + (size_t)r * P);
                if (F < loss[r0 + r]) {
                    loss[r0 + r] = F;
                    memcpy(z + (size_t)(r0 + r) * p, s->zw + (size_t)r * p, (size_t)p * sizeof(float));
                    if (eq3) memcpy(y + (size_t)(r0 + r) * n, yr, (size_t)n * sizeof(float));
                }
                if (trace) memcpy(trace + ((size_t)(r0 + r) * T + t) * n, yr, (size_t)n * sizeof(float));
            }
            if (t == steps) break;
            if ((st = s->g.decode_backward(s->g.ctx, s->dxf, s->dz, eq3 ? s->dy : NULL, Bp, err))) return st;
            b1t *= ADAM_B1;
            b2t *= ADAM_B2;
            adam(s->zw, s->dz, s->mz, s->vz, (size_t)Bp * p, s->o.lr, b1t, b2t);
            if (eq3) {
                size_t m = (size_t)Bp * n;
                for (size_t i = 0; i < m; i++) s->dy[i] += s->yw[i] >= 0.0f ? s->o.c : -s->o.c;
                adam(s->yw, s->dy, s->my, s->vy, m, s->o.lr, b1t, b2t);
                for (size_t i = 0; i < m; i++) s->yw[i] = s->yw[i] < 0.0f ? 0.0f : (s->yw[i] > 1.0f ? 1.0f : s->yw[i]);
            }
        }
        for (int r = 0; r < Bp; r++)
            if (!(loss[r0 + r] < INFINITY))
                return gd_error_set(err, GD_ENUMERIC, NULL, 0, 0,
                                    "check the model's weights and the input images (values in [0, 1]?)",
                                    "the %s objective is not finite for image %d of the chunk",
                                    eq3 ? "Eq. 3" : "Eq. 2", rimg[r0 + r]);
    }
    return GD_OK;
}

/* Checks that rows [row, row + B) exist in r and that r matches the solver. */
static gd_status check_rows(const gd_infer* s, int B, const gd_infer_results* r, int64_t row, gd_error* err) {
    if (B < 0 || B > s->o.batch)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "chunk of %d images; infer.batch is %d", B, s->o.batch);
    if (row < 0 || row + B > r->N)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "rows [%lld, %lld) are outside the %lld results",
                            (long long)row, (long long)(row + B), (long long)r->N);
    if (r->n != s->n || r->p != s->p)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "results for n = %d, p = %d; the model has n = %d, p = %d",
                            r->n, r->p, s->n, s->p);
    return GD_OK;
}

gd_status gd_infer_solve(gd_infer* s, const float* x, uint64_t index0, int B, gd_infer_results* r, int64_t row,
                         gd_error* err) {
    gd_status st = check_rows(s, B, r, row, err);
    if (st) return st;
    const int n = s->n, p = s->p, S = 1 + s->o.restarts, T = s->o.steps + 1;
    if (s->o.trace && r->trace_len != T)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "results hold a trace of %d entries; infer.steps + 1 = %d",
                            r->trace_len, T);
    if (B == 0) return GD_OK;
    prepare_input(s, x, B, 1);
    const int R = B * S;
    /* z0 = encoder mean (start 0), z ~ N(0, I) for the restarts, from the image's own stream. */
    for (int b0 = 0; b0 < B; b0 += s->cap) {
        int Bp = B - b0 < s->cap ? B - b0 : s->cap;
        if (s->g.encode_mean) {
            if ((st = s->g.encode_mean(s->g.ctx, s->xin + (size_t)b0 * s->npix, s->zw, Bp, err))) return st;
        } else
            memset(s->zw, 0, (size_t)Bp * p * sizeof(float));
        for (int b = 0; b < Bp; b++)
            memcpy(s->rz + (size_t)(b0 + b) * S * p, s->zw + (size_t)b * p, (size_t)p * sizeof(float));
    }
    for (int b = 0; b < B; b++) {
        if (S > 1) {
            gd_rng rng;
            gd_rng_init(&rng, s->o.seed, GD_STREAM_INFER, index0 + (uint64_t)b);
            for (int k = 1; k < S; k++) gd_rng_fill_normal(&rng, s->rz + ((size_t)b * S + k) * p, (size_t)p, 1.0f);
        }
        for (int k = 0; k < S; k++) s->rimg[b * S + k] = b;
    }
    for (size_t i = 0; i < (size_t)R * n; i++) s->ry[i] = s->o.y0;
    if ((st = run_rows(s, MODE_EQ3, s->tgt, R, s->rimg, s->rz, s->ry, s->rl, s->o.trace ? s->rtrace : NULL,
                       s->o.steps, err)))
        return st;
    for (int b = 0; b < B; b++) {
        int best = b * S;
        for (int k = 1; k < S; k++)
            if (s->rl[b * S + k] < s->rl[best]) best = b * S + k;
        int64_t i = row + b;
        memcpy(r->ystar + i * n, s->ry + (size_t)best * n, (size_t)n * sizeof(float));
        memcpy(r->zstar + i * p, s->rz + (size_t)best * p, (size_t)p * sizeof(float));
        r->loss3[i] = s->rl[best];
        r->steps[i] = S * s->o.steps;
        if (s->o.trace && r->trace)
            memcpy(r->trace + i * T * n, s->rtrace + (size_t)best * T * n, (size_t)T * n * sizeof(float));
    }
    return GD_OK;
}

int gd_infer_max_candidates(const gd_infer_opts* o, int n) {
    if (o->rule == GD_INFER_RULE_TOP3) return n < 3 ? n : 3;
    int m = n < o->max_ambiguous ? n : o->max_ambiguous;
    return 1 << m;
}

int gd_infer_candidates(const gd_infer_opts* o, const float* y, int n, uint64_t* masks, int* n_ambiguous) {
    int order[GD_INFER_MAX_COMPONENTS];
    if (o->rule == GD_INFER_RULE_TOP3) {
        /* the 3 largest y_i, ties to the lower index (insertion sort, stable) */
        for (int i = 0; i < n; i++) {
            int j = i;
            while (j > 0 && y[order[j - 1]] < y[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        int m = n < 3 ? n : 3;
        for (int j = 0; j < m; j++) masks[j] = (uint64_t)1 << order[j];
        if (n_ambiguous) *n_ambiguous = 0;
        return m;
    }
    uint64_t ones = 0;
    int na = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] > o->yu)
            ones |= (uint64_t)1 << i;
        else if (!(y[i] < o->yl))
            order[na++] = i;
    }
    if (n_ambiguous) *n_ambiguous = na;
    if (na > o->max_ambiguous) {
        /* keep the max_ambiguous largest y (ties: lower index), the rest go to 0 */
        int sorted[GD_INFER_MAX_COMPONENTS];
        for (int a = 0; a < na; a++) {
            int j = a, i = order[a];
            while (j > 0 && y[sorted[j - 1]] < y[i]) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = i;
        }
        uint64_t keep = 0;
        for (int a = 0; a < o->max_ambiguous; a++) keep |= (uint64_t)1 << sorted[a];
        na = 0;
        for (int i = 0; i < n; i++)
            if (keep >> i & 1) order[na++] = i;
    }
    int count = 1 << na;
    for (int c = 0; c < count; c++) {
        uint64_t m = ones;
        for (int a = 0; a < na; a++)
            if (c >> a & 1) m |= (uint64_t)1 << order[a];
        masks[c] = m;
    }
    return count;
}

/* Refines (steps > 0) or just evaluates (steps = 0) Eq. 2 on M candidate rows already in s->cimg, s->cmask,
 * with start z in s->cz; losses into s->closs, best z back into s->cz. s->xin holds the images. */
static gd_status refine_rows(gd_infer* s, size_t first, int M, int steps, gd_error* err) {
    if (M == 0) return GD_OK;
    for (int m = 0; m < M; m++)
        for (int i = 0; i < s->n; i++) s->cy[(first + m) * s->n + i] = (float)(s->cmask[first + m] >> i & 1);
    return run_rows(s, MODE_EQ2, s->xin, M, s->cimg + first, s->cz + first * s->p, s->cy + first * s->n,
                    s->closs + first, NULL, steps, err);
}

gd_status gd_infer_refine(gd_infer* s, const float* x, const float* zstart, int B, int M, const int32_t* img,
                          const uint64_t* mask, float* loss, float* zout, gd_error* err) {
    if (B < 0 || B > s->o.batch || M < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "refine: %d images (infer.batch %d), %d candidates", B,
                            s->o.batch, M);
    gd_status st = size_candidates(s, (size_t)M, err);
    if (st) return st;
    for (int m = 0; m < M; m++) {
        if (img[m] < 0 || img[m] >= B)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "refine: candidate %d names image %d of %d", m,
                                img[m], B);
        if (s->n < 64 && mask[m] >> s->n)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "refine: candidate %d has bits beyond n = %d", m, s->n);
        s->cimg[m] = img[m];
        s->cmask[m] = mask[m];
        memcpy(s->cz + (size_t)m * s->p, zstart + (size_t)img[m] * s->p, (size_t)s->p * sizeof(float));
    }
    prepare_input(s, x, B, 0);
    if ((st = refine_rows(s, 0, M, s->o.refine_steps, err))) return st;
    memcpy(loss, s->closs, (size_t)M * sizeof(float));
    if (zout) memcpy(zout, s->cz, (size_t)M * s->p * sizeof(float));
    return GD_OK;
}

gd_status gd_infer_decide(gd_infer* s, const float* x, int B, gd_infer_results* r, int64_t row, gd_error* err) {
    gd_status st = check_rows(s, B, r, row, err);
    if (st) return st;
    const int n = s->n, p = s->p, maxc = gd_infer_max_candidates(&s->o, n);
    if (s->masks1_cap < (size_t)maxc) {
        gd_free(s->masks1);
        s->masks1_cap = 0;
        if ((st = alloc_n((void**)&s->masks1, (size_t)maxc, sizeof(uint64_t), "candidates", err))) return st;
        s->masks1_cap = (size_t)maxc;
    }
    /* Candidates of all images, in image order. */
    size_t total = 0;
    for (int b = 0; b < B; b++) {
        int64_t i = row + b;
        r->noise[i] = !(r->loss3[i] <= s->o.l);
        memset(r->ydec + i * n, 0, (size_t)n);
        r->loss2[i] = NAN;
        r->n_ambiguous[i] = 0;
        r->n_candidates[i] = 0;
        if (r->noise[i]) continue;
        int na = 0;
        r->n_candidates[i] = gd_infer_candidates(&s->o, r->ystar + i * n, n, s->masks1, &na);
        r->n_ambiguous[i] = na;
        total += (size_t)r->n_candidates[i];
    }
    if (total > (size_t)INT32_MAX)
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "lower infer.max_ambiguous or infer.batch",
                            "%zu candidates in one chunk", total);
    if ((st = size_candidates(s, total, err))) return st;
    size_t m = 0;
    for (int b = 0; b < B; b++) {
        int64_t i = row + b;
        if (!r->n_candidates[i]) continue;
        gd_infer_candidates(&s->o, r->ystar + i * n, n, s->masks1, NULL);
        for (int c = 0; c < r->n_candidates[i]; c++, m++) {
            s->cimg[m] = b;
            s->cmask[m] = s->masks1[c];
            memcpy(s->cz + m * p, r->zstar + i * p, (size_t)p * sizeof(float));
        }
    }
    /* Every candidate is refined (the paper's rule: z†(y) for each y in Y, a single candidate included, so that
     * the reported Eq. 2 value belongs to z†(y†)), all candidates of all images in shared generator batches. */
    prepare_input(s, x, B, 0);
    if ((st = refine_rows(s, 0, (int)total, s->o.refine_steps, err))) return st;
    /* answer: lowest Eq. 2 value, first candidate on ties */
    m = 0;
    for (int b = 0; b < B; b++) {
        int64_t i = row + b;
        int cnt = r->n_candidates[i];
        if (!cnt) continue;
        size_t best = m;
        for (int c = 1; c < cnt; c++)
            if (s->closs[m + c] < s->closs[best]) best = m + c;
        for (int j = 0; j < n; j++) r->ydec[i * n + j] = (uint8_t)(s->cmask[best] >> j & 1);
        r->loss2[i] = s->closs[best];
        r->steps[i] += cnt * s->o.refine_steps;
        m += (size_t)cnt;
    }
    return GD_OK;
}

gd_status gd_infer_classify(gd_infer* s, const float* x, uint64_t index0, int B, gd_infer_results* r, int64_t row,
                            gd_error* err) {
    double t0 = gd_now();
    gd_status st = gd_infer_solve(s, x, index0, B, r, row, err);
    if (!st) st = gd_infer_decide(s, x, B, r, row, err);
    if (st) return st;
    float per = B ? (float)((gd_now() - t0) / B) : 0.0f;
    for (int b = 0; b < B; b++) r->time[row + b] = per;
    return GD_OK;
}

gd_status gd_infer_eq3_eval(gd_infer* s, const float* x, const float* z, const float* y, int B, float* F,
                            float* dz, float* dy, gd_error* err) {
    if (B < 0 || B > s->o.batch || B > s->cap)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "eq3_eval: %d rows (limit %d)", B,
                            s->o.batch < s->cap ? s->o.batch : s->cap);
    if (B == 0) return GD_OK;
    prepare_input(s, x, B, 1);
    gd_status st = s->g.decode(s->g.ctx, z, y, s->xf, B, 1, err);
    if (st) return st;
    for (int b = 0; b < B; b++)
        F[b] = row_loss(s, MODE_EQ3, s->xf + (size_t)b * s->npix, s->tgt + (size_t)b * s->npix, y + (size_t)b * s->n,
                        s->dxf + (size_t)b * s->npix);
    if (!dz && !dy) return GD_OK;
    if ((st = s->g.decode_backward(s->g.ctx, s->dxf, s->dz, s->dy, B, err))) return st;
    if (dz) memcpy(dz, s->dz, (size_t)B * s->p * sizeof(float));
    if (dy)
        for (size_t i = 0; i < (size_t)B * s->n; i++) dy[i] = s->dy[i] + (y[i] >= 0.0f ? s->o.c : -s->o.c);
    return GD_OK;
}
