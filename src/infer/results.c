/* Per-image result arrays and the accuracy definitions. */
#include <math.h>
#include <string.h>

#include "gendec/infer.h"

gd_status gd_infer_results_alloc(gd_infer_results* r, int64_t N, int n, int p, int trace_len, gd_error* err) {
    memset(r, 0, sizeof *r);
    if (N < 0 || n < 1 || n > GD_INFER_MAX_COMPONENTS || p < 1 || trace_len < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "results of %lld images, n = %d, p = %d, trace %d",
                            (long long)N, n, p, trace_len);
    r->N = N;
    r->n = n;
    r->p = p;
    r->trace_len = trace_len;
    size_t M = (size_t)(N ? N : 1), bytes;
    if (gd_mul_overflows(M, (size_t)(trace_len ? trace_len : 1) * (size_t)n * sizeof(float), &bytes) ||
        gd_mul_overflows(M, (size_t)p * sizeof(float), &bytes))
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "results of %lld images are too large", (long long)N);
    r->ystar = gd_alloc(M * n * sizeof(float));
    r->zstar = gd_alloc(M * p * sizeof(float));
    r->ydec = gd_alloc(M * n);
    r->loss3 = gd_alloc(M * sizeof(float));
    r->loss2 = gd_alloc(M * sizeof(float));
    r->steps = gd_alloc(M * sizeof(int32_t));
    r->noise = gd_alloc(M);
    r->n_ambiguous = gd_alloc(M * sizeof(int32_t));
    r->n_candidates = gd_alloc(M * sizeof(int32_t));
    r->time = gd_alloc(M * sizeof(float));
    if (trace_len) r->trace = gd_alloc(M * (size_t)trace_len * n * sizeof(float));
    if (!r->ystar || !r->zstar || !r->ydec || !r->loss3 || !r->loss2 || !r->steps || !r->noise || !r->n_ambiguous ||
        !r->n_candidates || !r->time || (trace_len && !r->trace)) {
        gd_infer_results_free(r);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for the results of %lld images",
                            (long long)N);
    }
    return GD_OK;
}

void gd_infer_results_free(gd_infer_results* r) {
    gd_free(r->ystar);
    gd_free(r->zstar);
    gd_free(r->ydec);
    gd_free(r->loss3);
    gd_free(r->loss2);
    gd_free(r->steps);
    gd_free(r->noise);
    gd_free(r->n_ambiguous);
    gd_free(r->n_candidates);
    gd_free(r->time);
    gd_free(r->trace);
    memset(r, 0, sizeof *r);
}

void gd_infer_metrics_init(gd_infer_metrics* m, int n) {
    memset(m, 0, sizeof *m);
    m->n = n;
}

void gd_infer_metrics_add(gd_infer_metrics* m, const uint8_t* label, const float* ystar, const uint8_t* ydec,
                          const uint8_t* noise, int64_t B) {
    const int n = m->n;
    for (int64_t b = 0; b < B; b++) {
        const uint8_t* lab = label + b * n;
        const uint8_t* dec = ydec + b * n;
        const float* y = ystar + b * n;
        int rej = noise[b] != 0, bits = 0, same = 1, first = -1, second = -1;
        m->count++;
        m->rejected += rej;
        for (int i = 0; i < n; i++) {
            int t = lab[i] != 0, d = !rej && dec[i] != 0;
            if (t) {
                bits++;
                if (first < 0) first = i;
                else if (second < 0) second = i;
            }
            same &= t == d;
            m->tp[i] += t && d;
            m->fp[i] += !t && d;
            m->fn[i] += t && !d;
        }
        m->exact += same;
        /* the largest and second largest y* (ties: lower index) */
        int a1 = 0, a2 = -1;
        for (int i = 1; i < n; i++)
            if (y[i] > y[a1]) a1 = i;
        for (int i = 0; i < n; i++)
            if (i != a1 && (a2 < 0 || y[i] > y[a2])) a2 = i;
        if (bits == 1) {
            m->single++;
            m->argmax_ok += a1 == first;
            m->answer_ok += same;
        } else if (bits == 2) {
            m->pairs++;
            m->top2_ok += (a1 == first && a2 == second) || (a1 == second && a2 == first);
        }
    }
}

/* a / b, NaN when b = 0. */
static double frac(int64_t a, int64_t b) { return b ? (double)a / (double)b : NAN; }

void gd_infer_metrics_summary(const gd_infer_metrics* m, gd_infer_summary* s) {
    memset(s, 0, sizeof *s);
    s->exact = frac(m->exact, m->count);
    s->rejection = frac(m->rejected, m->count);
    s->argmax = frac(m->argmax_ok, m->single);
    s->answer = frac(m->answer_ok, m->single);
    s->top2 = frac(m->top2_ok, m->pairs);
    for (int i = 0; i < m->n && i < GD_INFER_MAX_COMPONENTS; i++) {
        s->precision[i] = frac(m->tp[i], m->tp[i] + m->fp[i]);
        s->recall[i] = frac(m->tp[i], m->tp[i] + m->fn[i]);
    }
}
