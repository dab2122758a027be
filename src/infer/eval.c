/* Evaluation of a set of images over MPI: chunks of infer.batch images are the work items of gd_dist_run. */
#include <string.h>

#include "gendec/dist.h"
#include "gendec/infer.h"
#include "internal.h"

typedef struct {
    gd_infer* s;
    const float* x;          /* rank 0: (N, npix) */
    int64_t N;
    uint64_t index0;
    int batch, n, p, npix, T;
    gd_infer_results local;  /* (batch) rows for the chunk being computed */
    gd_infer_results* out;   /* rank 0 */
    const gd_infer_eval_opts* eo;
    int alt;                 /* decide with alt_o too */
    gd_infer_opts main_o, alt_o;
    gd_infer_results alt_local; /* (batch) */
} eval_ctx;

/* Per-image bytes of a packed result. */
static size_t image_bytes(const eval_ctx* c) {
    size_t one = sizeof(float) + sizeof(int32_t) * 3 + (size_t)c->n + 1; /* loss2, steps, n_amb, n_cand, ydec, noise */
    return sizeof(float) * ((size_t)c->n + c->p + 2 + (size_t)c->T * c->n) + one + (c->alt ? one : 0);
}

/* Packs the decision fields of B rows of r. */
static void put_decision(unsigned char** d, const gd_infer_results* r, size_t B, size_t n);
static void get_decision(const unsigned char** s, gd_infer_results* r, size_t i0, size_t B, size_t n);

/* Images of chunk `item`. */
static int chunk_size(const eval_ctx* c, size_t item) {
    int64_t b = (int64_t)item * c->batch, e = b + c->batch < c->N ? b + c->batch : c->N;
    return (int)(e - b);
}

static gd_status pack_task(void* ctx, size_t item, void* task, gd_error* err) {
    (void)err;
    eval_ctx* c = ctx;
    size_t off = item * (size_t)c->batch * c->npix;
    memcpy(task, c->x + off, (size_t)chunk_size(c, item) * c->npix * sizeof(float));
    return GD_OK;
}

/* Appends m bytes of src at *dst. */
static void put(unsigned char** dst, const void* src, size_t m) {
    memcpy(*dst, src, m);
    *dst += m;
}

static void get(const unsigned char** src, void* dst, size_t m) {
    memcpy(dst, *src, m);
    *src += m;
}

static gd_status work(void* ctx, size_t item, const void* task, void* result, gd_error* err) {
    eval_ctx* c = ctx;
    int B = chunk_size(c, item);
    gd_status st = gd_infer_classify(c->s, task, c->index0 + item * (uint64_t)c->batch, B, &c->local, 0, err);
    if (st) {
        gd_error_prefix(err, "images %lld..%lld", (long long)item * c->batch, (long long)item * c->batch + B - 1);
        return st;
    }
    gd_infer_results* r = &c->local;
    unsigned char* d = result;
    const size_t n = (size_t)c->n, p = (size_t)c->p, Bz = (size_t)B, T = (size_t)c->T;
    put(&d, r->ystar, Bz * n * sizeof(float));
    put(&d, r->zstar, Bz * p * sizeof(float));
    put(&d, r->loss3, Bz * sizeof(float));
    put(&d, r->time, Bz * sizeof(float));
    if (T) put(&d, r->trace, Bz * T * n * sizeof(float));
    put_decision(&d, r, Bz, n);
    if (c->alt) {
        gd_infer_results* a = &c->alt_local;
        memcpy(a->ystar, r->ystar, Bz * n * sizeof(float));
        memcpy(a->zstar, r->zstar, Bz * p * sizeof(float));
        memcpy(a->loss3, r->loss3, Bz * sizeof(float));
        for (size_t b = 0; b < Bz; b++) a->steps[b] = r->steps[b] - r->n_candidates[b] * c->main_o.refine_steps;
        st = gd_infer_set_options(c->s, &c->alt_o, err);
        if (!st) st = gd_infer_decide(c->s, task, B, a, 0, err);
        gd_status st2 = gd_infer_set_options(c->s, &c->main_o, err);
        if (st || st2) return st ? st : st2;
        put_decision(&d, a, Bz, n);
    }
    return GD_OK;
}

static void put_decision(unsigned char** d, const gd_infer_results* r, size_t B, size_t n) {
    put(d, r->loss2, B * sizeof(float));
    put(d, r->steps, B * sizeof(int32_t));
    put(d, r->n_ambiguous, B * sizeof(int32_t));
    put(d, r->n_candidates, B * sizeof(int32_t));
    put(d, r->ydec, B * n);
    put(d, r->noise, B);
}

static void get_decision(const unsigned char** s, gd_infer_results* r, size_t i0, size_t B, size_t n) {
    get(s, r->loss2 + i0, B * sizeof(float));
    get(s, r->steps + i0, B * sizeof(int32_t));
    get(s, r->n_ambiguous + i0, B * sizeof(int32_t));
    get(s, r->n_candidates + i0, B * sizeof(int32_t));
    get(s, r->ydec + i0 * n, B * n);
    get(s, r->noise + i0, B);
}

static gd_status store(void* ctx, size_t item, const void* result, gd_error* err) {
    (void)err;
    eval_ctx* c = ctx;
    int B = chunk_size(c, item);
    gd_infer_results* r = c->out;
    const size_t n = (size_t)c->n, p = (size_t)c->p, Bz = (size_t)B, T = (size_t)c->T, i0 = item * (size_t)c->batch;
    const unsigned char* s = result;
    get(&s, r->ystar + i0 * n, Bz * n * sizeof(float));
    get(&s, r->zstar + i0 * p, Bz * p * sizeof(float));
    get(&s, r->loss3 + i0, Bz * sizeof(float));
    get(&s, r->time + i0, Bz * sizeof(float));
    if (T) get(&s, r->trace + i0 * T * n, Bz * T * n * sizeof(float));
    get_decision(&s, r, i0, Bz, n);
    if (c->alt) {
        gd_infer_results* a = c->eo->alt;
        memcpy(a->ystar + i0 * n, r->ystar + i0 * n, Bz * n * sizeof(float));
        memcpy(a->zstar + i0 * p, r->zstar + i0 * p, Bz * p * sizeof(float));
        memcpy(a->loss3 + i0, r->loss3 + i0, Bz * sizeof(float));
        memcpy(a->time + i0, r->time + i0, Bz * sizeof(float));
        get_decision(&s, a, i0, Bz, n);
    }
    return GD_OK;
}

static void progress(void* ctx, size_t done, size_t total) {
    eval_ctx* c = ctx;
    (void)total;
    int64_t imgs = (int64_t)done * c->batch;
    if (c->eo && c->eo->progress) c->eo->progress(c->eo->progress_ctx, imgs < c->N ? imgs : c->N, c->N);
}

gd_status gd_infer_check_same_options(const gd_infer* s, MPI_Comm comm, gd_error* err) {
    const gd_infer_opts* o = gd_infer_options(s);
    /* field by field (no padding bytes in the comparison) */
    double ov[23] = {o->steps, o->lr, o->y0, o->restarts, o->beta, o->b, o->c, o->l, o->yl, o->yu, o->norm, o->scale,
                     o->rule, o->max_ambiguous, o->refine_steps, o->binarize_input, o->batch, o->trace,
                     (double)(o->seed >> 32), (double)(o->seed & 0xffffffffu), gd_infer_n(s), gd_infer_p(s),
                     gd_infer_npix(s)};
    return gd_dist_check_same(ov, sizeof ov, "the classifier options (infer.*) or the model shape", comm, err);
}

gd_status gd_infer_eval(gd_infer* s, const float* x, int64_t N, uint64_t index0, const gd_infer_eval_opts* eo,
                        gd_infer_results* out, MPI_Comm comm, gd_error* err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    const gd_infer_opts* o = gd_infer_options(s);
    /* rank 0's N, index0 and mode are the truth; the options must agree */
    int64_t hdr[4] = {N, (int64_t)index0, eo ? eo->dynamic : 0, eo ? eo->alt_rule : 0};
    MPI_Bcast(hdr, 4, MPI_INT64_T, 0, comm);
    N = hdr[0];
    index0 = (uint64_t)hdr[1];
    gd_status st = gd_infer_check_same_options(s, comm, err);
    if (st) return st;
    eval_ctx c = {.s = s, .x = x, .N = N, .index0 = index0, .batch = o->batch, .out = out, .eo = eo};
    st = GD_OK;
    if (rank == 0) {
        if (!out || out->N != N)
            st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "eval: results for %lld images, %lld to classify",
                              out ? (long long)out->N : -1LL, (long long)N);
        else if (out->n != gd_infer_n(s) || out->p != gd_infer_p(s))
            st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "eval: results for n = %d, p = %d; the model has %d, %d",
                              out->n, out->p, gd_infer_n(s), gd_infer_p(s));
        else if (hdr[3] && (!eo->alt || eo->alt->N != N || eo->alt->n != out->n || eo->alt->p != out->p))
            st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "eval: alt_rule without results of the same shape");
        else if (o->trace && out->trace_len != o->steps + 1)
            st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "eval: results without the trace infer.trace asks for");
    }
    if ((st = gd_dist_agree(st, comm, err))) return st;
    c.n = gd_infer_n(s);
    c.p = gd_infer_p(s);
    c.npix = gd_infer_npix(s);
    c.T = o->trace ? o->steps + 1 : 0;
    c.alt = hdr[3] != 0;
    c.main_o = *o;
    c.alt_o = *o;
    c.alt_o.rule = o->rule == GD_INFER_RULE_TOP3 ? GD_INFER_RULE_ENUMERATE : GD_INFER_RULE_TOP3;
    st = gd_infer_results_alloc(&c.local, o->batch, c.n, c.p, c.T, err);
    if (!st && c.alt) st = gd_infer_results_alloc(&c.alt_local, o->batch, c.n, c.p, 0, err);
    if ((st = gd_dist_agree(st, comm, err))) {
        gd_infer_results_free(&c.local);
        gd_infer_results_free(&c.alt_local);
        return st;
    }
    gd_dist_work w = {.n_items = (size_t)((N + o->batch - 1) / o->batch),
                      .task_bytes = (size_t)o->batch * c.npix * sizeof(float),
                      .result_bytes = (size_t)o->batch * image_bytes(&c),
                      .ctx = &c,
                      .pack = pack_task,
                      .work = work,
                      .store = store,
                      .progress = progress};
    st = gd_dist_run(&w, (int)hdr[2], comm, err);
    gd_infer_results_free(&c.local);
    gd_infer_results_free(&c.alt_local);
    return st;
}
