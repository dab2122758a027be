/* Rank-count independence of the evaluator: 37 images (5 chunks of 8, the last partial, 2 starts each)
 * classified on 2 ranks, statically and dynamically, equal bit for bit what rank 0 computes alone
 * (MPI_COMM_SELF), the trace included; a rank with other options is refused. */
#include <string.h>

#include "gd_test_mpi.h"
#include "gen_linear.h"
#include "gendec/infer.h"

enum { N = 4, K = 2, NPIX = 60, NIMG = 37 };

/* 1 if the two results agree bit for bit (time excluded). */
static int same(const gd_infer_results* a, const gd_infer_results* b) {
    size_t I = (size_t)a->N, n = (size_t)a->n, p = (size_t)a->p, T = (size_t)a->trace_len;
    return !memcmp(a->ystar, b->ystar, I * n * 4) && !memcmp(a->zstar, b->zstar, I * p * 4) &&
           !memcmp(a->ydec, b->ydec, I * n) && !memcmp(a->loss3, b->loss3, I * 4) && !memcmp(a->loss2, b->loss2, I * 4) &&
           !memcmp(a->steps, b->steps, I * 4) && !memcmp(a->noise, b->noise, I) &&
           !memcmp(a->n_ambiguous, b->n_ambiguous, I * 4) && !memcmp(a->n_candidates, b->n_candidates, I * 4) &&
           (!T || !memcmp(a->trace, b->trace, I * T * n * 4));
}

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv);
    gd_error err;
    lin_gen lg;
    gd_generator gen;
    lin_init(&lg, &gen, N, K, NPIX, 16, 0.9f); /* max_batch 16 < 8 images x 2 starts + candidates: pieces */
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.batch = 8;
    o.restarts = 1;
    o.steps = 40;
    o.lr = 0.05f;
    o.l = 0.05f;
    o.yu = 0.8f;
    o.trace = 1;
    gd_infer* s = NULL;
    CHECK_OK(gd_infer_create(&s, &gen, &o, &err), &err);
    float* x = NULL;
    if (rank == 0) {
        x = malloc(sizeof(float) * NIMG * NPIX);
        for (int i = 0; i < NIMG; i++) {
            lin_compose(&lg, (unsigned)(i * 5 + 1) % 16, 0.8f + 0.01f * (float)(i % 9), x + i * NPIX);
            if (i % 11 == 4)
                for (int j = 0; j < NPIX; j++) x[i * NPIX + j] = j % 2 ? 1.0f : 0.0f; /* noise */
        }
    }
    gd_infer_results ref, r2;
    memset(&ref, 0, sizeof ref);
    memset(&r2, 0, sizeof r2);
    if (rank == 0) {
        CHECK_OK(gd_infer_results_alloc(&ref, NIMG, N, N * K, o.steps + 1, &err), &err);
        CHECK_OK(gd_infer_results_alloc(&r2, NIMG, N, N * K, o.steps + 1, &err), &err);
        gd_infer_eval_opts e1 = {0};
        CHECK_OK(gd_infer_eval(s, x, NIMG, 1000, &e1, &ref, MPI_COMM_SELF, &err), &err);
        int noise = 0, multi = 0;
        for (int i = 0; i < NIMG; i++) {
            noise += ref.noise[i];
            multi += ref.n_candidates[i] > 1;
        }
        CHECK_MSG(noise >= 3 && multi >= 1, "the set should hold noise (%d) and ambiguous images (%d)", noise, multi);
    }
    for (int dynamic = 0; dynamic < 2; dynamic++) {
        gd_infer_eval_opts eo = {.dynamic = dynamic};
        CHECK_OK(gd_infer_eval(s, x, NIMG, 1000, &eo, rank == 0 ? &r2 : NULL, MPI_COMM_WORLD, &err), &err);
        if (rank == 0) CHECK_MSG(same(&ref, &r2), "mode %d: 2 ranks differ from 1 rank", dynamic);
        if (rank == 0) memset(r2.ystar, 0, sizeof(float) * NIMG * N);
    }
    /* the alternative rule decided beside the main one equals a run with that rule */
    {
        gd_infer_results alt, top;
        memset(&alt, 0, sizeof alt);
        memset(&top, 0, sizeof top);
        if (rank == 0) {
            CHECK_OK(gd_infer_results_alloc(&alt, NIMG, N, N * K, 0, &err), &err);
            CHECK_OK(gd_infer_results_alloc(&top, NIMG, N, N * K, o.steps + 1, &err), &err);
        }
        gd_infer_eval_opts ea = {.dynamic = 1, .alt_rule = 1, .alt = rank == 0 ? &alt : NULL};
        CHECK_OK(gd_infer_eval(s, x, NIMG, 1000, &ea, rank == 0 ? &r2 : NULL, MPI_COMM_WORLD, &err), &err);
        if (rank == 0) {
            CHECK(same(&ref, &r2));
            gd_infer_opts ot = o;
            ot.rule = GD_INFER_RULE_TOP3;
            CHECK_OK(gd_infer_set_options(s, &ot, &err), &err);
            gd_infer_eval_opts e1 = {0};
            CHECK_OK(gd_infer_eval(s, x, NIMG, 1000, &e1, &top, MPI_COMM_SELF, &err), &err);
            CHECK_OK(gd_infer_set_options(s, &o, &err), &err);
            CHECK(!memcmp(alt.ydec, top.ydec, NIMG * N) && !memcmp(alt.loss2, top.loss2, NIMG * 4) &&
                  !memcmp(alt.steps, top.steps, NIMG * 4) && !memcmp(alt.n_candidates, top.n_candidates, NIMG * 4));
            CHECK(!memcmp(alt.ystar, ref.ystar, NIMG * N * 4));
            CHECK(memcmp(alt.ydec, ref.ydec, NIMG * N) != 0); /* the rules differ somewhere on this set */
            gd_infer_results_free(&alt);
            gd_infer_results_free(&top);
        }
    }
    /* another image-number offset changes the restart streams */
    gd_infer_eval_opts eo = {0};
    CHECK_OK(gd_infer_eval(s, x, NIMG, 5000, &eo, rank == 0 ? &r2 : NULL, MPI_COMM_WORLD, &err), &err);
    if (rank == 0) CHECK(!same(&ref, &r2));
    /* options that differ between ranks are refused on every rank */
    gd_infer_opts o2 = o;
    if (rank == 1) o2.beta = 6.0f;
    CHECK_OK(gd_infer_set_options(s, &o2, &err), &err);
    CHECK(gd_infer_eval(s, x, NIMG, 1000, &eo, rank == 0 ? &r2 : NULL, MPI_COMM_WORLD, &err) == GD_EMPI);

    if (rank == 0) {
        gd_infer_results_free(&ref);
        gd_infer_results_free(&r2);
        free(x);
    }
    gd_infer_free(s);
    lin_free(&lg);
    return gd_test_mpi_done("infer/mpi eval");
}
