/* `gendec eval` and `gendec sweep` end to end on a tiny generated set (traffic signs, 16 x 16) and a tiny
 * untrained c-VAE written in the checkpoint layout: outputs exist with the right shapes, 2 ranks (static and
 * dynamic) give the same bits as 1 rank, the sweep grid and best point, and the bad inputs (model and data
 * disagree, yl >= yu, missing model) fail with clear messages. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gd_test_cli.h"

static int have_mpiexec;

int main(void) {
    if (cli_test_setup()) return GD_TEST_SKIP;
    have_mpiexec = system("command -v mpiexec >/dev/null 2>&1") == 0;
    FILE* f = fopen(yaml, "w");
    fprintf(f, "experiment: {name: tiny}\nseed: 3\n"
               "data:\n  set: traffic_signs\n  ts: {size: 16, n_train: 8, n_val: 12, n_test: 20, n_test_seen: 4,"
               " supersample: 1}\n"
               "infer: {steps: 8, refine_steps: 4, batch: 8, restarts: 1, l: 0.3, yl: 0.3, yu: 0.6, trace: true}\n");
    fclose(f);
    char mdir[800], model[900], model5[900];
    snprintf(mdir, sizeof mdir, "%s/tiny", results);
    mkdir(results, 0777);
    mkdir(mdir, 0777);
    snprintf(model, sizeof model, "%s/model.h5", mdir);
    snprintf(model5, sizeof model5, "%s/model5.h5", dir);
    write_cvae(model, 4);
    write_cvae(model5, 5);

    /* 1 rank */
    char line[4096], e1[1000], e2[1000], e3[1000];
    snprintf(line, sizeof line, "%s eval %s --results %s", bin, yaml, results);
    CHECK_MSG(run(line) == 0, "%s", line);
    snprintf(e1, sizeof e1, "%s/eval.h5", mdir);
    size_t d[8] = {0};
    uint8_t* ydec = read_all(e1, "eval/y_dec", GD_U8, 2, d);
    CHECK(ydec && d[0] == 20 && d[1] == 4);
    gd_free(ydec);
    float* tr = read_all(e1, "eval/trace", GD_F32, 3, d);
    CHECK(tr && d[0] == 20 && d[1] == 9 && d[2] == 4 && tr[0] == 0.5f);
    gd_free(tr);
    {
        gd_error err;
        gd_h5* h = NULL;
        double exact = -1, alt = -1;
        int64_t count = 0;
        CHECK_OK(gd_h5_open(e1, "eval", MPI_COMM_NULL, &h, &err), &err);
        if (h) {
            CHECK_OK(gd_h5_attr_get_f64(h, "eval", "exact", &exact, &err), &err);
            CHECK_OK(gd_h5_attr_get_i64(h, "eval", "count", &count, &err), &err);
            CHECK_OK(gd_h5_attr_get_f64(h, "eval_alt", "exact", &alt, &err), &err);
            gd_h5_close(h);
        }
        CHECK(exact >= 0 && exact <= 1 && count == 20 && alt >= 0 && alt <= 1);
    }

    /* 2 ranks, static and dynamic: the same bits */
    if (have_mpiexec) {
        const char* modes[2] = {"static", "dynamic"};
        for (int k = 0; k < 2; k++) {
            snprintf(line, sizeof line,
                     "mpiexec --allow-run-as-root --oversubscribe -n 2 %s eval %s --results %s --out %s/two%d "
                     "--model %s --set infer.schedule=%s",
                     bin, yaml, results, dir, k, model, modes[k]);
            CHECK_MSG(run(line) == 0, "%s", line);
            snprintf(e2, sizeof e2, "%s/two%d/eval.h5", dir, k);
            CHECK(same_ds(e1, e2, "eval/y_star", GD_F32, 2));
            CHECK(same_ds(e1, e2, "eval/z_star", GD_F32, 2));
            CHECK(same_ds(e1, e2, "eval/y_dec", GD_U8, 2));
            CHECK(same_ds(e1, e2, "eval/loss3", GD_F32, 1));
            CHECK(same_ds(e1, e2, "eval/loss2", GD_F32, 1));
            CHECK(same_ds(e1, e2, "eval/noise", GD_U8, 1));
            CHECK(same_ds(e1, e2, "eval/trace", GD_F32, 3));
            CHECK(same_ds(e1, e2, "eval_alt/y_dec", GD_U8, 2));
        }
    } else
        fprintf(stderr, "note: no mpiexec on PATH; the 2-rank comparison was skipped\n");

    /* sweep: 2 x 2 points, 2 solve groups */
    snprintf(line, sizeof line, "%s sweep %s --results %s --grid beta=3,5 --grid l=0.05,10", bin, yaml, results);
    CHECK_MSG(run(line) == 0, "%s", line);
    snprintf(e3, sizeof e3, "%s/sweep.h5", mdir);
    double* pts = read_all(e3, "sweep/points", GD_F64, 2, d);
    CHECK(pts && d[0] == 4 && d[1] == 6);
    if (pts) CHECK(pts[0] == 3 && pts[3] == 0.05 && pts[4] == 0.3 && pts[5] == 0.6 && pts[6 * 3] == 5 && pts[6 * 3 + 3] == 10);
    gd_free(pts);
    double* ex = read_all(e3, "sweep/exact", GD_F64, 1, d);
    CHECK(ex && d[0] == 4);
    gd_free(ex);
    if (have_mpiexec) {
        snprintf(line, sizeof line,
                 "mpiexec --allow-run-as-root --oversubscribe -n 2 %s sweep %s --results %s --out %s/sw2 "
                 "--grid beta=3,5 --grid l=0.05,10 --set infer.schedule=dynamic --model %s",
                 bin, yaml, results, dir, model);
        CHECK_MSG(run(line) == 0, "%s", line);
        snprintf(e2, sizeof e2, "%s/sw2/sweep.h5", dir);
        CHECK(same_ds(e3, e2, "sweep/exact", GD_F64, 1));
        CHECK(same_ds(e3, e2, "sweep/counts", GD_I64, 2));
    }

    /* slices: two array tasks, the second merges; the merged file equals the one-piece sweep */
    for (int k = 0; k < 2; k++) {
        snprintf(line, sizeof line, "%s sweep %s --results %s --out %s/sl --model %s --grid beta=3,5 --grid l=0.05,10 "
                 "--slice %d --slices 2", bin, yaml, results, dir, model, k);
        CHECK_MSG(run(line) == 0, "%s", line);
        snprintf(e2, sizeof e2, "%s/sl/sweep.h5", dir);
        struct stat stt;
        CHECK((stat(e2, &stt) == 0) == (k == 1)); /* merged only when both slices are there */
    }
    CHECK(same_ds(e3, e2, "sweep/exact", GD_F64, 1));
    CHECK(same_ds(e3, e2, "sweep/points", GD_F64, 2));
    snprintf(line, sizeof line, "%s sweep %s --slice 2 --slices 2", bin, yaml);
    CHECK(run(line) == 2);

    /* eval takes the sweep's best point from the run folder, unless --no-sweep */
    {
        gd_error err;
        gd_h5* h = NULL;
        double best[6] = {0}, beta = 0, from = -1;
        CHECK_OK(gd_h5_open(e3, "sweep", MPI_COMM_NULL, &h, &err), &err);
        if (h) {
            CHECK_OK(gd_h5_attr_get_f64s(h, "sweep", "best_point", best, 6, &err), &err);
            gd_h5_close(h);
        }
        snprintf(line, sizeof line, "%s eval %s --results %s --n 4", bin, yaml, results);
        CHECK_MSG(run(line) == 0, "%s", line);
        CHECK_OK(gd_h5_open(e1, "eval", MPI_COMM_NULL, &h, &err), &err);
        if (h) {
            CHECK_OK(gd_h5_attr_get_f64(h, "eval", "beta", &beta, &err), &err);
            CHECK_OK(gd_h5_attr_get_f64(h, "eval", "from_sweep", &from, &err), &err);
            gd_h5_close(h);
        }
        CHECK(from == 1 && beta == best[0]);
        snprintf(line, sizeof line, "%s eval %s --results %s --n 4 --no-sweep --set infer.beta=4", bin, yaml, results);
        CHECK_MSG(run(line) == 0, "%s", line);
        CHECK_OK(gd_h5_open(e1, "eval", MPI_COMM_NULL, &h, &err), &err);
        if (h) {
            CHECK_OK(gd_h5_attr_get_f64(h, "eval", "beta", &beta, &err), &err);
            CHECK_OK(gd_h5_attr_get_f64(h, "eval", "from_sweep", &from, &err), &err);
            gd_h5_close(h);
        }
        CHECK(from == 0 && beta == 4);
    }

    /* bad inputs */
    snprintf(line, sizeof line, "%s eval %s --results %s --model %s", bin, yaml, results, model5);
    CHECK(run(line) == 1 && err_has("components"));
    snprintf(line, sizeof line, "%s eval %s --results %s --set infer.yl=0.7", bin, yaml, results);
    CHECK(run(line) != 0 && err_has("infer.yl"));
    snprintf(line, sizeof line, "%s eval %s --results %s --model %s/none.h5", bin, yaml, results, dir);
    CHECK(run(line) == 1 && err_has("none.h5"));
    snprintf(line, sizeof line, "%s sweep %s --results %s --grid yl=0.7 --grid yu=0.6", bin, yaml, results);
    CHECK(run(line) == 1 && err_has("yl < yu"));
    snprintf(line, sizeof line, "%s sweep %s --grid gamma=1", bin, yaml);
    CHECK(run(line) == 2);
    return gd_test_done("infer/cli_eval");
}
