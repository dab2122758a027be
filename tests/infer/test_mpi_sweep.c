/* The sweep on 2 ranks: every grid point's metrics equal a direct classification with that point's options
 * (computed on rank 0 alone), the Eq. 3 solve runs once per (beta, b, c) and chunk, pooled refinement asks
 * fewer candidates than the points, static and dynamic agree, a grid without yl < yu is refused. */
#include <string.h>

#include "gd_test_mpi.h"
#include "gen_linear.h"
#include "gendec/infer.h"

enum { N = 4, K = 2, NPIX = 60, NIMG = 29 };

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv);
    gd_error err;
    lin_gen lg;
    gd_generator gen;
    lin_init(&lg, &gen, N, K, NPIX, 64, 0.9f);
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.batch = 8;
    o.steps = 30;
    o.refine_steps = 10;
    o.lr = 0.05f;
    gd_infer* s = NULL;
    CHECK_OK(gd_infer_create(&s, &gen, &o, &err), &err);
    float* x = NULL;
    uint8_t* lab = NULL;
    if (rank == 0) {
        x = malloc(sizeof(float) * NIMG * NPIX);
        lab = calloc(NIMG * N, 1);
        for (int i = 0; i < NIMG; i++) {
            unsigned m = (unsigned)(i * 7 + 3) % 16;
            lin_compose(&lg, m, 0.7f + 0.02f * (float)(i % 13), x + i * NPIX);
            for (int c = 0; c < N; c++) lab[i * N + c] = m >> c & 1;
            if (i % 9 == 5) {
                for (int j = 0; j < NPIX; j++) x[i * NPIX + j] = (float)((j * 37 + i) % 11) / 10.0f;
                memset(lab + i * N, 0, N);
            }
        }
    }
    const double beta[] = {4, 6}, bb[] = {-2}, cc[] = {0.005, 0.05}, ll[] = {0.01, 0.05, 1}, yl[] = {0.2, 0.4, 0.7},
                 yu[] = {0.6, 0.8};
    gd_sweep_grid grid = {{beta, bb, cc, ll, yl, yu}, {2, 1, 2, 3, 3, 2}, 0, 0, 0, 0};
    gd_sweep_result res[2];
    memset(res, 0, sizeof res);
    long enc0 = lg.encodes;
    for (int dynamic = 0; dynamic < 2; dynamic++) {
        gd_infer_eval_opts eo = {.dynamic = dynamic};
        CHECK_OK(gd_infer_sweep(s, &grid, x, lab, NIMG, 300, &eo, &res[dynamic], MPI_COMM_WORLD, &err), &err);
    }
    long enc = lg.encodes - enc0, all_enc = 0;
    MPI_Allreduce(&enc, &all_enc, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    CHECK_MSG(all_enc == 2 * 4 * 4, "Eq. 3 solves: %ld, want 2 runs x 4 (beta, c) groups x 4 chunks", all_enc);
    CHECK(gd_infer_options(s)->beta == o.beta && gd_infer_options(s)->yl == o.yl); /* options restored */
    if (rank == 0) {
        gd_sweep_result* r = &res[0];
        CHECK(r->n_points == 4 * 3 * 5 && r->n_solve_groups == 4 && r->chunks_solved == 16);
        CHECK_MSG(r->candidates_refined < r->candidates_asked, "refined %lld, asked %lld",
                  (long long)r->candidates_refined, (long long)r->candidates_asked);
        CHECK(res[1].n_points == r->n_points && res[1].candidates_refined == r->candidates_refined);
        int varied = 0;
        gd_infer_results d;
        CHECK_OK(gd_infer_results_alloc(&d, NIMG, N, N * K, 0, &err), &err);
        for (size_t k = 0; k < r->n_points; k++) {
            const double* pt = r->point[k];
            gd_infer_opts op = o;
            op.beta = (float)pt[0];
            op.b = (float)pt[1];
            op.c = (float)pt[2];
            op.l = (float)pt[3];
            op.yl = (float)pt[4];
            op.yu = (float)pt[5];
            CHECK_OK(gd_infer_set_options(s, &op, &err), &err);
            for (int c0 = 0; c0 < NIMG; c0 += o.batch) {
                int B = NIMG - c0 < o.batch ? NIMG - c0 : o.batch;
                CHECK_OK(gd_infer_classify(s, x + c0 * NPIX, 300 + (uint64_t)c0, B, &d, c0, &err), &err);
            }
            gd_infer_metrics m;
            gd_infer_metrics_init(&m, N);
            gd_infer_metrics_add(&m, lab, d.ystar, d.ydec, d.noise, NIMG);
            for (int dyn = 0; dyn < 2; dyn++) {
                const gd_infer_metrics* q = &res[dyn].metrics[k];
                CHECK_MSG(q->exact == m.exact && q->rejected == m.rejected && q->argmax_ok == m.argmax_ok &&
                              !memcmp(q->tp, m.tp, sizeof m.tp) && !memcmp(q->fp, m.fp, sizeof m.fp),
                          "point %zu (mode %d): sweep exact %lld rejected %lld, direct %lld %lld", k, dyn,
                          (long long)q->exact, (long long)q->rejected, (long long)m.exact, (long long)m.rejected);
            }
            varied |= m.exact != r->metrics[0].exact;
            CHECK(r->metrics[r->best].exact >= m.exact);
        }
        CHECK_MSG(varied, "the grid should change the accuracy somewhere");
        gd_infer_results_free(&d);
        CHECK_OK(gd_infer_set_options(s, &o, &err), &err);
    }
    /* slices: 3 slices of the 4 (beta, c) groups give consecutive ranges of the same points */
    size_t covered = 0;
    for (size_t sl = 0; sl < 3; sl++) {
        gd_sweep_grid gs = grid;
        gs.slice = sl;
        gs.slices = 3;
        gd_sweep_result rs;
        gd_infer_eval_opts eo = {.dynamic = 1};
        CHECK_OK(gd_infer_sweep(s, &gs, x, lab, NIMG, 300, &eo, &rs, MPI_COMM_WORLD, &err), &err);
        if (rank == 0) {
            CHECK(rs.first_point == covered && rs.total_points == res[0].n_points);
            for (size_t k = 0; k < rs.n_points; k++) {
                CHECK(!memcmp(rs.point[k], res[0].point[rs.first_point + k], sizeof rs.point[k]));
                CHECK(rs.metrics[k].exact == res[0].metrics[rs.first_point + k].exact &&
                      rs.metrics[k].rejected == res[0].metrics[rs.first_point + k].rejected);
            }
            covered += rs.n_points;
            gd_sweep_result_free(&rs);
        }
    }
    /* a range of groups (a segment of a resumable sweep): groups [1, 3) give the same points as in the whole grid;
     * a range past the grid is refused */
    {
        gd_sweep_grid gs = grid;
        gs.group_first = 1;
        gs.group_count = 2;
        gd_sweep_result rs;
        gd_infer_eval_opts eo = {.dynamic = 0};
        CHECK_OK(gd_infer_sweep(s, &gs, x, lab, NIMG, 300, &eo, &rs, MPI_COMM_WORLD, &err), &err);
        if (rank == 0) {
            size_t per_group = res[0].n_points / 4;
            CHECK(rs.n_solve_groups == 2 && rs.n_points == 2 * per_group && rs.first_point == per_group &&
                  rs.chunks_solved == 2 * 4);
            for (size_t k = 0; k < rs.n_points; k++)
                CHECK(!memcmp(rs.point[k], res[0].point[per_group + k], sizeof rs.point[k]) &&
                      !memcmp(&rs.metrics[k], &res[0].metrics[per_group + k], sizeof rs.metrics[k]));
            gd_sweep_result_free(&rs);
        }
        gs.group_first = 3;
        CHECK(gd_infer_sweep(s, &gs, x, lab, NIMG, 300, &eo, &rs, MPI_COMM_WORLD, &err) == GD_EINVAL);
    }
    if (rank == 0) {
        CHECK(covered == res[0].n_points);
        gd_sweep_result_free(&res[0]);
        gd_sweep_result_free(&res[1]);
    }
    /* no point with yl < yu */
    const double yl2[] = {0.7}, yu2[] = {0.6};
    gd_sweep_grid bad = {{NULL, NULL, NULL, NULL, yl2, yu2}, {0, 0, 0, 0, 1, 1}, 0, 0, 0, 0};
    gd_sweep_result rb;
    gd_infer_eval_opts eo = {0};
    CHECK(gd_infer_sweep(s, &bad, x, lab, NIMG, 300, &eo, &rb, MPI_COMM_WORLD, &err) == GD_EINVAL);
    if (rank == 0) {
        free(x);
        free(lab);
    }
    gd_infer_free(s);
    lin_free(&lg);
    return gd_test_mpi_done("infer/mpi sweep");
}
