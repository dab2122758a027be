/* FGM / PGD sweeps: every (eps, chunk of images) pair is a work item spread over ranks by gd_dist_run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/attack.h"
#include "gendec/dist.h"

void gd_fgm_sweep_result_free(gd_fgm_sweep_result* r) {
    free(r->eps);
    gd_free(r->x_adv);
    free(r->pred);
    free(r->p_pred);
    free(r->p_true);
    free(r->bin_pred);
    free(r->bin_p_pred);
    free(r->acc);
    free(r->bin_acc);
    free(r->mean_linf);
    free(r->mean_l2);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const gd_fgm_sweep_opts* o;
    const float* x;
    const int32_t* labels;
    int64_t N;
    int D, C;
    size_t n_chunks;
    const gd_attack_model* m;
    float *grad, *adv, *bin, *probs; /* (chunk, D) x3, (chunk, C) */
    gd_fgm_sweep_result* out;
} sweep_ctx;

/* Result payload of an item: int64 B, x_adv (chunk, D), then pred, p_pred, p_true, bin_pred, bin_p_pred
 * (chunk each). */
static size_t result_bytes(int chunk, int D) { return 8 + (size_t)chunk * D * 4 + (size_t)chunk * 5 * 4; }

static gd_status sw_pack(void* vctx, size_t item, void* task, gd_error* err) {
    (void)vctx, (void)err;
    uint64_t v = item;
    memcpy(task, &v, sizeof v);
    return GD_OK;
}

/* Predictions of the model on x (B, D): argmax, its probability and the true label's probability. */
static gd_status predict(sweep_ctx* c, const float* x, const int32_t* labels, int B, int32_t* pred, float* p_pred,
                         float* p_true, gd_error* err) {
    gd_status s = c->m->classify(c->m->ctx, x, B, c->probs, err);
    if (s) return s;
    for (int b = 0; b < B; b++) {
        const float* pr = c->probs + (size_t)b * c->C;
        int best = 0;
        for (int k = 1; k < c->C; k++)
            if (pr[k] > pr[best]) best = k;
        if (!isfinite(pr[best]))
            return gd_error_set(err, GD_ENUMERIC, NULL, 0, 0, "check the model", "classifier output is not finite");
        pred[b] = best;
        p_pred[b] = pr[best];
        if (p_true) p_true[b] = labels[b] >= 0 && labels[b] < c->C ? pr[labels[b]] : NAN;
    }
    return GD_OK;
}

static gd_status sw_work(void* vctx, size_t item, const void* task, void* result, gd_error* err) {
    (void)task;
    sweep_ctx* c = vctx;
    const gd_fgm_sweep_opts* o = c->o;
    int e = (int)(item / c->n_chunks);
    int64_t first = (int64_t)(item % c->n_chunks) * o->chunk;
    int B = (int)(c->N - first < o->chunk ? c->N - first : o->chunk);
    const float* x = c->x + (size_t)first * c->D;
    const int32_t* lab = c->labels + first;
    gd_status s;
    if (o->pgd_steps > 0) {
        gd_pgd_params pp = {o->norm, o->eps[e], o->pgd_alpha, o->pgd_steps, o->pgd_random_start, o->seed};
        s = gd_attack_pgd(&pp, x, lab, B, c->D, (uint64_t)first, c->m->grad, c->m->ctx, c->grad, c->adv, err);
    } else {
        s = gd_attack_fgm(x, lab, B, c->D, o->eps[e], o->norm, c->m->grad, c->m->ctx, c->grad, c->adv, err);
    }
    if (s) {
        gd_error_prefix(err, "attack at eps %g, images %lld..%lld: ", (double)o->eps[e], (long long)first,
                        (long long)(first + B - 1));
        return s;
    }
    unsigned char* r = result;
    int64_t b64 = B;
    size_t ch = (size_t)o->chunk;
    memcpy(r, &b64, 8);
    float* xa = (float*)(r + 8);
    int32_t* pred = (int32_t*)(xa + ch * c->D);
    float* p_pred = (float*)(pred + ch);
    float* p_true = p_pred + ch;
    int32_t* bpred = (int32_t*)(p_true + ch);
    float* bp = (float*)(bpred + ch);
    memcpy(xa, c->adv, sizeof(float) * (size_t)B * c->D);
    if ((s = predict(c, c->adv, lab, B, pred, p_pred, p_true, err))) return s;
    gd_attack_binarize(c->adv, (size_t)B * c->D, o->binarize, c->bin);
    return predict(c, c->bin, lab, B, bpred, bp, NULL, err);
}

static gd_status sw_store(void* vctx, size_t item, const void* result, gd_error* err) {
    (void)err;
    sweep_ctx* c = vctx;
    gd_fgm_sweep_result* out = c->out;
    size_t e = item / c->n_chunks, ch = (size_t)c->o->chunk;
    int64_t first = (int64_t)(item % c->n_chunks) * c->o->chunk, B;
    const unsigned char* r = result;
    memcpy(&B, r, 8);
    const float* xa = (const float*)(r + 8);
    const int32_t* pred = (const int32_t*)(xa + ch * c->D);
    const float* p_pred = (const float*)(pred + ch);
    const float* p_true = p_pred + ch;
    const int32_t* bpred = (const int32_t*)(p_true + ch);
    const float* bp = (const float*)(bpred + ch);
    size_t row = e * (size_t)c->N + (size_t)first;
    memcpy(out->x_adv + row * c->D, xa, sizeof(float) * (size_t)B * c->D);
    memcpy(out->pred + row, pred, sizeof(int32_t) * (size_t)B);
    memcpy(out->p_pred + row, p_pred, sizeof(float) * (size_t)B);
    memcpy(out->p_true + row, p_true, sizeof(float) * (size_t)B);
    memcpy(out->bin_pred + row, bpred, sizeof(int32_t) * (size_t)B);
    memcpy(out->bin_p_pred + row, bp, sizeof(float) * (size_t)B);
    return GD_OK;
}

static void sw_progress(void* vctx, size_t done, size_t total) {
    sweep_ctx* c = vctx;
    if (c->o->progress) c->o->progress(c->o->progress_ctx, done, total);
}

gd_status gd_fgm_sweep(const gd_fgm_sweep_opts* o, const float* x, const int32_t* labels, int64_t N, int D,
                       const gd_attack_model* m, gd_fgm_sweep_result* out, MPI_Comm comm, gd_error* err) {
    memset(out, 0, sizeof *out);
    int rank;
    MPI_Comm_rank(comm, &rank);
    gd_status s = GD_OK;
    if (o->n_eps < 1 || o->chunk < 1 || N < 1 || D < 1 || m->classes < 2 || (size_t)o->chunk * D > (1u << 28))
        s = gd_error_set(err, GD_EINVAL, NULL, 0, 0, "give at least one eps, image and class",
                         "FGM sweep of %d eps over %lld images of %d pixels, chunk %d, %d classes", o->n_eps,
                         (long long)N, D, o->chunk, m->classes);
    for (int e = 0; e < o->n_eps && !s; e++) s = gd_attack_check_eps(o->eps[e], o->norm, D, err);
    if (!s && o->pgd_steps > 0 && !(o->pgd_alpha > 0.0f))
        s = gd_error_set(err, GD_EINVAL, NULL, 0, 0, "set attack.fgm.pgd_alpha > 0", "PGD step size %g",
                         (double)o->pgd_alpha);
    for (int64_t i = 0; i < N && !s; i++)
        if (labels[i] < 0 || labels[i] >= m->classes)
            s = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "image %lld has label %d outside [0, %d)",
                             (long long)i, labels[i], m->classes);
    if ((s = gd_dist_agree(s, comm, err))) return s;
    sweep_ctx c = {o, x, labels, N, D, m->classes, (size_t)((N + o->chunk - 1) / o->chunk), m, NULL, NULL, NULL, NULL,
                   out};
    size_t ch = (size_t)o->chunk;
    c.grad = gd_alloc(sizeof(float) * ch * D);
    c.adv = gd_alloc(sizeof(float) * ch * D);
    c.bin = gd_alloc(sizeof(float) * ch * D);
    c.probs = gd_alloc(sizeof(float) * ch * m->classes);
    int ok = c.grad && c.adv && c.bin && c.probs;
    size_t EN = (size_t)o->n_eps * (size_t)N;
    if (rank == 0 && ok) {
        out->n_eps = o->n_eps, out->N = N, out->D = D, out->classes = m->classes;
        out->eps = malloc(sizeof(float) * (size_t)o->n_eps);
        out->x_adv = gd_alloc(sizeof(float) * EN * D);
        out->pred = malloc(sizeof(int32_t) * EN);
        out->p_pred = malloc(sizeof(float) * EN);
        out->p_true = malloc(sizeof(float) * EN);
        out->bin_pred = malloc(sizeof(int32_t) * EN);
        out->bin_p_pred = malloc(sizeof(float) * EN);
        out->acc = calloc((size_t)o->n_eps, sizeof(double));
        out->bin_acc = calloc((size_t)o->n_eps, sizeof(double));
        out->mean_linf = calloc((size_t)o->n_eps, sizeof(double));
        out->mean_l2 = calloc((size_t)o->n_eps, sizeof(double));
        ok = out->eps && out->x_adv && out->pred && out->p_pred && out->p_true && out->bin_pred && out->bin_p_pred &&
             out->acc && out->bin_acc && out->mean_linf && out->mean_l2;
    }
    if (!ok) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "attack fewer images at once (attack.fgm.n_images)",
                              "out of memory (FGM sweep of %zu images)", EN);
    if (!(s = gd_dist_agree(s, comm, err))) {
        gd_dist_work w = {c.n_chunks * (size_t)o->n_eps, 8, result_bytes(o->chunk, D), &c, sw_pack, sw_work, sw_store,
                          sw_progress};
        s = gd_dist_run(&w, o->dynamic, comm, err);
    }
    gd_free(c.grad), gd_free(c.adv), gd_free(c.bin), gd_free(c.probs);
    if (s || rank != 0) {
        gd_fgm_sweep_result_free(out);
        return s;
    }
    for (int e = 0; e < o->n_eps; e++) {
        out->eps[e] = o->eps[e];
        int64_t ok1 = 0, ok2 = 0;
        double linf = 0, l2 = 0;
        for (int64_t i = 0; i < N; i++) {
            size_t row = (size_t)e * N + (size_t)i;
            ok1 += out->pred[row] == labels[i];
            ok2 += out->bin_pred[row] == labels[i];
            double mx = 0, s2 = 0;
            const float *a = out->x_adv + row * D, *b = x + (size_t)i * D;
            for (int k = 0; k < D; k++) {
                double d = fabs((double)a[k] - b[k]);
                mx = d > mx ? d : mx;
                s2 += d * d;
            }
            linf += mx, l2 += sqrt(s2);
        }
        out->acc[e] = (double)ok1 / N;
        out->bin_acc[e] = (double)ok2 / N;
        out->mean_linf[e] = linf / N;
        out->mean_l2[e] = l2 / N;
    }
    return GD_OK;
}
