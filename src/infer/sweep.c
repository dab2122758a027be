/* The hyperparameter sweep: one Eq. 3 solve per (beta, b, c) and chunk, pooled refinement, decisions by
 * look-up. See infer.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/dist.h"
#include "gendec/infer.h"
#include "internal.h"

typedef struct {
    gd_infer* s;
    gd_infer_opts base;
    const float* x;         /* rank 0 */
    const uint8_t* labels;  /* rank 0 */
    int64_t N;
    uint64_t index0;
    int batch, n, p, npix;
    size_t n_chunks;
    const double* v[6];
    size_t len[6];
    size_t ng, npairs;      /* groups of this slice, valid (yl, yu) pairs */
    size_t g0;              /* first group of this slice */
    double* pair;           /* (npairs, 2) yl, yu */
    double lmax;
    gd_infer_results local; /* (batch) */
    uint64_t* masks1;       /* (maxc) */
    uint64_t* pool;         /* (batch * npairs * maxc) */
    int32_t* pimg;
    float* ploss;
    int maxc;
    gd_sweep_result* out;   /* rank 0 */
    const gd_infer_eval_opts* eo;
} sweep_ctx;

/* Images in chunk ch. */
static int chunk_b(const sweep_ctx* c, size_t ch) {
    int64_t b = (int64_t)ch * c->batch, e = b + c->batch < c->N ? b + c->batch : c->N;
    return (int)(e - b);
}

/* The options of solve group g. */
static void group_opts(const sweep_ctx* c, size_t g, gd_infer_opts* o) {
    *o = c->base;
    size_t ic = g % c->len[GD_SWEEP_C], ib = g / c->len[GD_SWEEP_C] % c->len[GD_SWEEP_B],
           ia = g / c->len[GD_SWEEP_C] / c->len[GD_SWEEP_B];
    o->beta = (float)c->v[GD_SWEEP_BETA][ia];
    o->b = (float)c->v[GD_SWEEP_B][ib];
    o->c = (float)c->v[GD_SWEEP_C][ic];
}

static size_t result_bytes(const sweep_ctx* c) {
    return 16 + (size_t)c->batch * ((1 + (size_t)c->n) * sizeof(float) + c->npairs * sizeof(uint64_t));
}

static gd_status pack(void* ctx, size_t item, void* task, gd_error* err) {
    (void)err;
    sweep_ctx* c = ctx;
    size_t ch = item % c->n_chunks;
    memcpy(task, c->x + ch * (size_t)c->batch * c->npix, (size_t)chunk_b(c, ch) * c->npix * sizeof(float));
    return GD_OK;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static gd_status work(void* ctx, size_t item, const void* task, void* result, gd_error* err) {
    sweep_ctx* c = ctx;
    size_t g = c->g0 + item / c->n_chunks, ch = item % c->n_chunks;
    int B = chunk_b(c, ch);
    const int n = c->n;
    gd_infer_opts o;
    group_opts(c, g, &o);
    gd_status st = gd_infer_set_options(c->s, &o, err);
    if (!st) st = gd_infer_solve(c->s, task, c->index0 + ch * (uint64_t)c->batch, B, &c->local, 0, err);
    if (st) return st;
    /* pool the candidates of every (yl, yu) pair, per image; count what the points would refine */
    int64_t asked = 0;
    size_t M = 0;
    size_t* seg = malloc(sizeof(size_t) * ((size_t)B + 1));
    if (!seg) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (int b = 0; b < B; b++) {
        seg[b] = M;
        float l3 = c->local.loss3[b];
        if (!(l3 <= c->lmax)) continue; /* noise at every l */
        int64_t n_l_ok = 0;
        for (size_t li = 0; li < c->len[GD_SWEEP_L]; li++) n_l_ok += l3 <= c->v[GD_SWEEP_L][li];
        for (size_t q = 0; q < c->npairs; q++) {
            gd_infer_opts op = o;
            op.yl = (float)c->pair[2 * q];
            op.yu = (float)c->pair[2 * q + 1];
            int cnt = gd_infer_candidates(&op, c->local.ystar + (size_t)b * n, n, c->pool + M, NULL);
            M += (size_t)cnt;
            asked += n_l_ok * cnt;
        }
        qsort(c->pool + seg[b], M - seg[b], sizeof(uint64_t), cmp_u64);
        size_t w = seg[b];
        for (size_t i = seg[b]; i < M; i++)
            if (i == seg[b] || c->pool[i] != c->pool[w - 1]) c->pool[w++] = c->pool[i];
        M = w;
        for (size_t i = seg[b]; i < M; i++) c->pimg[i] = b;
    }
    seg[B] = M;
    st = gd_infer_refine(c->s, task, c->local.zstar, B, (int)M, c->pimg, c->pool, c->ploss, NULL, err);
    if (st) {
        free(seg);
        return st;
    }
    unsigned char* d = result;
    int64_t hdr[2] = {(int64_t)M, asked};
    memcpy(d, hdr, 16);
    d += 16;
    memcpy(d, c->local.loss3, (size_t)B * sizeof(float));
    d += (size_t)B * sizeof(float);
    memcpy(d, c->local.ystar, (size_t)B * n * sizeof(float));
    d += (size_t)B * n * sizeof(float);
    for (size_t q = 0; q < c->npairs; q++) {
        gd_infer_opts op = o;
        op.yl = (float)c->pair[2 * q];
        op.yu = (float)c->pair[2 * q + 1];
        for (int b = 0; b < B; b++) {
            uint64_t best = 0;
            if (seg[b + 1] > seg[b]) {
                int cnt = gd_infer_candidates(&op, c->local.ystar + (size_t)b * n, n, c->masks1, NULL);
                float bl = INFINITY;
                for (int k = 0; k < cnt; k++) {
                    const uint64_t* hit = bsearch(&c->masks1[k], c->pool + seg[b], seg[b + 1] - seg[b],
                                                  sizeof(uint64_t), cmp_u64);
                    float lk = c->ploss[hit - c->pool];
                    if (k == 0 || lk < bl) {
                        bl = lk;
                        best = c->masks1[k];
                    }
                }
            }
            memcpy(d, &best, sizeof best);
            d += sizeof best;
        }
    }
    free(seg);
    return GD_OK;
}

static gd_status store(void* ctx, size_t item, const void* result, gd_error* err) {
    (void)err;
    sweep_ctx* c = ctx;
    size_t g = item / c->n_chunks, ch = item % c->n_chunks; /* g: group within the slice */
    int B = chunk_b(c, ch);
    const int n = c->n;
    const unsigned char* d = result;
    int64_t hdr[2];
    memcpy(hdr, d, 16);
    c->out->candidates_refined += hdr[0];
    c->out->candidates_asked += hdr[1];
    c->out->chunks_solved++;
    const float* loss3 = (const float*)(d + 16);
    const float* ystar = loss3 + B;
    const unsigned char* masks = (const unsigned char*)(ystar + (size_t)B * n);
    const uint8_t* lab = c->labels + ch * (size_t)c->batch * n;
    uint8_t ydec[GD_INFER_MAX_COMPONENTS];
    for (size_t li = 0; li < c->len[GD_SWEEP_L]; li++)
        for (size_t q = 0; q < c->npairs; q++) {
            gd_infer_metrics* m = &c->out->metrics[(g * c->len[GD_SWEEP_L] + li) * c->npairs + q];
            for (int b = 0; b < B; b++) {
                uint8_t noise = !(loss3[b] <= c->v[GD_SWEEP_L][li]);
                uint64_t mk;
                memcpy(&mk, masks + ((size_t)q * B + b) * sizeof(uint64_t), sizeof mk);
                for (int i = 0; i < n; i++) ydec[i] = noise ? 0 : (uint8_t)(mk >> i & 1);
                gd_infer_metrics_add(m, lab + (size_t)b * n, ystar + (size_t)b * n, ydec, &noise, 1);
            }
        }
    return GD_OK;
}

/* Rank 0: progress in grid items (chunk solves). */
static void progress(void* ctx, size_t done, size_t total) {
    sweep_ctx* c = ctx;
    if (c->eo && c->eo->progress) c->eo->progress(c->eo->progress_ctx, (int64_t)done, (int64_t)total);
}

void gd_sweep_result_free(gd_sweep_result* r) {
    free(r->point);
    free(r->metrics);
    memset(r, 0, sizeof *r);
}

gd_status gd_infer_sweep(gd_infer* s, const gd_sweep_grid* grid, const float* x, const uint8_t* labels, int64_t N,
                         uint64_t index0, const gd_infer_eval_opts* eo, gd_sweep_result* out, MPI_Comm comm,
                         gd_error* err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    double t0 = gd_now();
    int64_t hdr[3] = {N, (int64_t)index0, eo ? eo->dynamic : 0};
    MPI_Bcast(hdr, 3, MPI_INT64_T, 0, comm);
    gd_status st = gd_infer_check_same_options(s, comm, err);
    if (st) return st;
    sweep_ctx c;
    memset(&c, 0, sizeof c);
    c.eo = eo;
    c.s = s;
    c.base = *gd_infer_options(s);
    c.x = x;
    c.labels = labels;
    c.N = hdr[0];
    c.index0 = (uint64_t)hdr[1];
    c.batch = c.base.batch;
    c.n = gd_infer_n(s);
    c.p = gd_infer_p(s);
    c.npix = gd_infer_npix(s);
    c.n_chunks = (size_t)((c.N + c.batch - 1) / c.batch);
    const float cur[6] = {c.base.beta, c.base.b, c.base.c, c.base.l, c.base.yl, c.base.yu};
    double defaults[6];
    for (int a = 0; a < 6; a++) {
        defaults[a] = cur[a];
        if (grid && grid->v[a] && grid->len[a]) {
            c.v[a] = grid->v[a];
            c.len[a] = grid->len[a];
        } else {
            c.v[a] = &defaults[a];
            c.len[a] = 1;
        }
    }
    size_t all_groups = c.len[0] * c.len[1] * c.len[2], g1 = all_groups;
    if (grid && grid->slices > 1) {
        if (grid->slice >= grid->slices)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "sweep slice %zu of %zu", grid->slice, grid->slices);
        gd_dist_block(all_groups, (int)grid->slice, (int)grid->slices, &c.g0, &g1);
    }
    if (grid && grid->group_count) {
        if (grid->group_first > all_groups || grid->group_count > all_groups - grid->group_first)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "sweep groups [%zu, %zu) of %zu", grid->group_first,
                                grid->group_first + grid->group_count, all_groups);
        c.g0 = grid->group_first;
        g1 = c.g0 + grid->group_count;
    }
    c.ng = g1 - c.g0;
    c.pair = malloc(sizeof(double) * 2 * c.len[GD_SWEEP_YL] * c.len[GD_SWEEP_YU]);
    if (!c.pair) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < c.len[GD_SWEEP_YL]; i++)
        for (size_t j = 0; j < c.len[GD_SWEEP_YU]; j++)
            if (c.v[GD_SWEEP_YL][i] < c.v[GD_SWEEP_YU][j]) {
                c.pair[2 * c.npairs] = c.v[GD_SWEEP_YL][i];
                c.pair[2 * c.npairs + 1] = c.v[GD_SWEEP_YU][j];
                c.npairs++;
            }
    c.lmax = -INFINITY;
    for (size_t i = 0; i < c.len[GD_SWEEP_L]; i++) c.lmax = c.v[GD_SWEEP_L][i] > c.lmax ? c.v[GD_SWEEP_L][i] : c.lmax;
    if (!c.npairs)
        st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, "give sweep.yl values below some sweep.yu value",
                          "the sweep grid has no point with yl < yu");
    /* every point must be a valid setting */
    for (size_t g = c.g0; g < c.g0 + c.ng && !st; g++)
        for (size_t li = 0; li < c.len[GD_SWEEP_L] && !st; li++)
            for (size_t q = 0; q < c.npairs && !st; q++) {
                gd_infer_opts o;
                group_opts(&c, g, &o);
                o.l = (float)c.v[GD_SWEEP_L][li];
                o.yl = (float)c.pair[2 * q];
                o.yu = (float)c.pair[2 * q + 1];
                if ((st = gd_infer_opts_check(&o, err))) gd_error_prefix(err, "sweep grid point");
            }
    size_t n_points = c.ng * c.len[GD_SWEEP_L] * c.npairs;
    c.maxc = gd_infer_max_candidates(&c.base, c.n);
    if (!st) st = gd_infer_results_alloc(&c.local, c.batch, c.n, c.p, c.base.trace ? c.base.steps + 1 : 0, err);
    if (!st) {
        size_t pool = (size_t)c.batch * c.npairs * (size_t)c.maxc;
        c.masks1 = malloc(sizeof(uint64_t) * (size_t)c.maxc);
        c.pool = malloc(sizeof(uint64_t) * pool);
        c.pimg = malloc(sizeof(int32_t) * pool);
        c.ploss = malloc(sizeof(float) * pool);
        if (!c.masks1 || !c.pool || !c.pimg || !c.ploss)
            st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "lower infer.max_ambiguous, infer.batch or the yl/yu grid",
                              "out of memory for %zu pooled candidates", pool);
    }
    if (!st && rank == 0) {
        memset(out, 0, sizeof *out);
        out->n_points = n_points;
        out->n_solve_groups = c.ng;
        out->point = malloc(sizeof(double[6]) * (n_points ? n_points : 1));
        out->metrics = malloc(sizeof(gd_infer_metrics) * (n_points ? n_points : 1));
        if (!out->point || !out->metrics) st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        out->first_point = c.g0 * c.len[GD_SWEEP_L] * c.npairs;
        out->total_points = all_groups * c.len[GD_SWEEP_L] * c.npairs;
        for (size_t g = c.g0, k = 0; g < c.g0 + c.ng && !st; g++)
            for (size_t li = 0; li < c.len[GD_SWEEP_L]; li++)
                for (size_t q = 0; q < c.npairs; q++, k++) {
                    gd_infer_opts o;
                    group_opts(&c, g, &o);
                    double* pt = out->point[k];
                    pt[0] = c.v[GD_SWEEP_BETA][g / c.len[GD_SWEEP_C] / c.len[GD_SWEEP_B]];
                    pt[1] = c.v[GD_SWEEP_B][g / c.len[GD_SWEEP_C] % c.len[GD_SWEEP_B]];
                    pt[2] = c.v[GD_SWEEP_C][g % c.len[GD_SWEEP_C]];
                    pt[3] = c.v[GD_SWEEP_L][li];
                    pt[4] = c.pair[2 * q];
                    pt[5] = c.pair[2 * q + 1];
                    gd_infer_metrics_init(&out->metrics[k], c.n);
                }
        c.out = out;
    }
    st = gd_dist_agree(st, comm, err);
    if (!st) {
        gd_dist_work w = {.n_items = c.ng * c.n_chunks,
                          .task_bytes = (size_t)c.batch * c.npix * sizeof(float),
                          .result_bytes = result_bytes(&c),
                          .ctx = &c,
                          .pack = pack,
                          .work = work,
                          .store = store,
                          .progress = progress};
        st = gd_dist_run(&w, (int)hdr[2], comm, err);
    }
    /* the solver gets its options back */
    gd_error e2;
    gd_infer_set_options(s, &c.base, &e2);
    if (!st && rank == 0) {
        for (size_t k = 1; k < out->n_points; k++)
            if (out->metrics[k].exact > out->metrics[out->best].exact) out->best = k;
        out->seconds = gd_now() - t0;
    }
    if (st && rank == 0 && c.out) gd_sweep_result_free(out);
    gd_infer_results_free(&c.local);
    free(c.pair);
    free(c.masks1);
    free(c.pool);
    free(c.pimg);
    free(c.ploss);
    return st;
}
