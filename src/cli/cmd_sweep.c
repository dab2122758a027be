/* gendec sweep <experiment.yaml>: the classifier's hyperparameter grid on the validation split (paper §3.2:
 * beta, b, l, yl, yu and c chosen on a validation set), spread over the ranks; writes sweep.h5 and reports the
 * best point. The Eq. 3 optimisation runs once per (beta, b, c) and chunk; l, yl, yu are applied afterwards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/dist.h"
#include "gendec/io.h"

static const char* sweep_usage =
    "usage: gendec sweep <experiment.yaml> [options]\n\n"
    "Evaluates the grid sweep.beta x sweep.b x sweep.c x sweep.l x sweep.yl x sweep.yu (an empty list keeps the\n"
    "infer.* value; points with yl >= yu are skipped) on the validation split with the trained c-VAE, over all\n"
    "MPI ranks, and writes sweep.h5 (every point with its metrics, the best point). The Eq. 3 solve runs once\n"
    "per (beta, b, c); l, yl, yu only change the decision and reuse it.\n\n"
    "options:\n"
    "  --grid KEY=V1,V2,...  a grid axis (beta, b, c, l, yl, yu), replacing sweep.KEY (repeatable)\n"
    "  --set KEY=VALUE       override a config key (repeatable)\n"
    "  --model PATH          the trained model (default <results>/<experiment>/model.h5)\n"
    "  --out DIR             where sweep.h5 goes (default <results>/<experiment>)\n"
    "  --results DIR         results root (default ./results)\n"
    "  --split NAME          split to use (default validation)\n"
    "  --n N                 only the first N images (default sweep.n_val, 0 = all)\n"
    "sweep.metric = accuracy picks the point with the best exact-match accuracy; balanced = the mean of that and\n"
    "the rejection rate on as many uniform-noise images (stream seed/infer, images numbered from 2^40).\n";

#define MAX_SETS 64
#define MAX_GRID 256

static const char* axis_names[6] = {"beta", "b", "c", "l", "yl", "yu"};

/* Parses "key=v1,v2,..." into the axis values. */
static int parse_grid(const char* s, double vals[6][MAX_GRID], size_t len[6]) {
    const char* eq = strchr(s, '=');
    if (!eq) return -1;
    int a = -1;
    for (int k = 0; k < 6; k++)
        if ((size_t)(eq - s) == strlen(axis_names[k]) && !strncmp(s, axis_names[k], (size_t)(eq - s))) a = k;
    if (a < 0) return -1;
    len[a] = 0;
    const char* p = eq + 1;
    while (*p) {
        char* end;
        double v = strtod(p, &end);
        if (end == p || len[a] >= MAX_GRID || !isfinite(v)) return -1;
        vals[a][len[a]++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return len[a] ? 0 : -1;
}

int cmd_sweep(int argc, char** argv) {
    const char* yaml = NULL;
    const char* model = NULL;
    const char* out = NULL;
    const char* root = NULL;
    const char* split = "validation";
    const char* nstr = NULL;
    const char* sets[MAX_SETS];
    const char* grids[16];
    size_t n_sets = 0, n_grids = 0;
    for (int i = 1; i < argc; i++) {
        int t;
        const char* v = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            if (cli_rank() == 0) printf("%s", sweep_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0 || n_sets >= MAX_SETS) return cli_usage_error("sweep", "--set needs KEY=VALUE");
            sets[n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--grid", &v))) {
            if (t < 0 || n_grids >= 16) return cli_usage_error("sweep", "--grid needs KEY=V1,V2,...");
            grids[n_grids++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--model", &model)) || (t = cli_take(argc, argv, &i, "--out", &out)) ||
                   (t = cli_take(argc, argv, &i, "--results", &root)) ||
                   (t = cli_take(argc, argv, &i, "--split", &split)) || (t = cli_take(argc, argv, &i, "--n", &nstr))) {
            if (t < 0) return cli_usage_error("sweep", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-')
            return cli_usage_error("sweep", "unknown option '%s'", argv[i]);
        else if (!yaml)
            yaml = argv[i];
        else
            return cli_usage_error("sweep", "unexpected argument '%s'", argv[i]);
    }
    if (!yaml) return cli_usage_error("sweep", "which experiment? (an experiment YAML file)");
    int64_t max_n = -1;
    if (nstr) {
        char* end;
        max_n = strtoll(nstr, &end, 10);
        if (*end || max_n < 0) return cli_usage_error("sweep", "--n needs a number >= 0, got '%s'", nstr);
    }
    static double vals[6][MAX_GRID], gvals[6][MAX_GRID];
    size_t len[6] = {0}, glen[6] = {0};
    for (size_t g = 0; g < n_grids; g++)
        if (parse_grid(grids[g], gvals, glen))
            return cli_usage_error("sweep", "--grid '%s': use KEY=V1,V2,... with KEY one of beta, b, c, l, yl, yu",
                                   grids[g]);
    gd_error err;
    gd_error_clear(&err);
    cli_infer_session s;
    int rank = cli_rank();
    if (cli_infer_open(&s, yaml, sets, n_sets, model, root, 1, &err)) {
        cli_infer_close(&s);
        return cli_fail(&err);
    }
    /* each axis: --grid, else sweep.<axis>, else the single value infer.<axis> */
    for (int a = 0; a < 6; a++) {
        char key[32];
        size_t m = 0;
        const double* v = NULL;
        if (glen[a]) {
            v = gvals[a];
            m = glen[a];
        } else {
            snprintf(key, sizeof key, "sweep.%s", axis_names[a]);
            v = gd_config_floats(s.cfg, key, &m);
        }
        for (size_t i = 0; i < m && i < MAX_GRID; i++) vals[a][i] = v[i];
        len[a] = m < MAX_GRID ? m : MAX_GRID;
        if (!len[a]) {
            snprintf(key, sizeof key, "infer.%s", axis_names[a]);
            vals[a][0] = gd_config_float(s.cfg, key);
            len[a] = 1;
        }
    }
    if (max_n < 0) max_n = gd_config_int(s.cfg, "sweep.n_val");
    int balanced = gd_config_is(s.cfg, "sweep.metric", "balanced");
    gd_split sp;
    gd_status st = cli_infer_split(&s, split, max_n, &sp, &err);
    gd_sweep_grid grid;
    for (int a = 0; a < 6; a++) {
        grid.v[a] = vals[a];
        grid.len[a] = len[a];
    }
    gd_sweep_result res, noise_res;
    memset(&res, 0, sizeof res);
    memset(&noise_res, 0, sizeof noise_res);
    float* noise_x = NULL;
    uint8_t* noise_lab = NULL;
    cli_progress prog;
    double t0 = gd_now();
    if (!st) {
        gd_infer_eval_opts eo = {.dynamic = gd_config_is(s.cfg, "infer.schedule", "dynamic"),
                                 .progress = cli_infer_progress,
                                 .progress_ctx = &prog};
        size_t groups = len[0] * len[1] * len[2];
        size_t chunks = (size_t)((sp.count + s.opts.batch - 1) / s.opts.batch);
        cli_progress_start(&prog, "sweep", (double)(groups * chunks));
        st = gd_infer_sweep(s.solver, &grid, rank == 0 ? s.ds.images + sp.start * s.h * s.w : NULL,
                            rank == 0 ? s.ds.labels + sp.start * s.n : NULL, sp.count, (uint64_t)sp.start, &eo, &res,
                            MPI_COMM_WORLD, &err);
        cli_progress_end(&prog, NULL);
        if (!st && balanced) {
            /* as many uniform-noise images, labelled all-zero: their exact match is the rejection rate */
            int64_t npix = (int64_t)s.h * s.w;
            if (rank == 0) {
                noise_x = malloc(sizeof(float) * (size_t)(sp.count * npix + 1));
                noise_lab = calloc((size_t)(sp.count * s.n + 1), 1);
                if (!noise_x || !noise_lab) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
                for (int64_t i = 0; i < sp.count && !st; i++) {
                    gd_rng r;
                    gd_rng_init(&r, s.opts.seed, GD_STREAM_INFER, ((uint64_t)1 << 40) + (uint64_t)i);
                    for (int64_t j = 0; j < npix; j++) noise_x[i * npix + j] = gd_rng_uniform(&r);
                }
            }
            st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
            cli_progress_start(&prog, "sweep noise", (double)(groups * chunks));
            if (!st)
                st = gd_infer_sweep(s.solver, &grid, noise_x, noise_lab, sp.count, ((uint64_t)1 << 40) + 1, &eo,
                                    &noise_res, MPI_COMM_WORLD, &err);
            cli_progress_end(&prog, NULL);
        }
    }
    double dt = gd_now() - t0;
    if (!st && rank == 0) {
        size_t P = res.n_points, best = 0;
        double* cols[8];
        for (int c = 0; c < 8; c++) cols[c] = calloc(P ? P : 1, sizeof(double));
        int64_t* counts = calloc((P ? P : 1) * 4, sizeof(int64_t));
        double best_score = -1;
        for (size_t k = 0; k < P; k++) {
            gd_infer_summary sm;
            gd_infer_metrics_summary(&res.metrics[k], &sm);
            double noise_rej = NAN;
            if (balanced) {
                gd_infer_summary sn;
                gd_infer_metrics_summary(&noise_res.metrics[k], &sn);
                noise_rej = sn.exact;
            }
            double score = balanced ? 0.5 * (sm.exact + noise_rej) : sm.exact;
            cols[0][k] = sm.exact, cols[1][k] = sm.rejection, cols[2][k] = sm.argmax, cols[3][k] = sm.answer;
            cols[4][k] = sm.top2, cols[5][k] = noise_rej, cols[6][k] = score;
            counts[k * 4 + 0] = res.metrics[k].count, counts[k * 4 + 1] = res.metrics[k].exact;
            counts[k * 4 + 2] = res.metrics[k].rejected, counts[k * 4 + 3] = res.metrics[k].argmax_ok;
            if (score > best_score) best_score = score, best = k;
        }
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s", out && *out ? out : s.results_dir);
        snprintf(path, sizeof path, "%s/sweep.h5", dir);
        gd_h5* f = NULL;
        st = cli_mkdirs(dir, &err);
        if (!st) st = gd_h5_create(path, "sweep", s.yaml, MPI_COMM_NULL, &f, &err);
        size_t d2[2] = {P, 6}, d1[1] = {P}, dc[2] = {P, 4};
        if (!st) st = gd_h5_write(f, "sweep/points", GD_F64, 2, d2, res.point, 0, &err);
        const char* names[7] = {"exact", "rejection", "argmax", "answer", "top2", "noise_rejection", "score"};
        for (int c = 0; c < 7 && !st; c++) {
            char nm[64];
            snprintf(nm, sizeof nm, "sweep/%s", names[c]);
            st = gd_h5_write(f, nm, GD_F64, 1, d1, cols[c], 0, &err);
        }
        if (!st) st = gd_h5_write(f, "sweep/counts", GD_I64, 2, dc, counts, 0, &err);
        if (!st) st = gd_h5_attr_set_str(f, "sweep/points", "columns", "beta,b,c,l,yl,yu", &err);
        if (!st) st = gd_h5_attr_set_str(f, "sweep/counts", "columns", "images,exact,rejected,argmax", &err);
        if (!st) st = gd_h5_attr_set_i64(f, "sweep", "best_index", (int64_t)best, &err);
        if (!st) st = gd_h5_attr_set_f64s(f, "sweep", "best_point", res.point[best], 6, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "sweep", "best_score", best_score, &err);
        if (!st) st = gd_h5_attr_set_str(f, "sweep", "metric", balanced ? "balanced" : "accuracy", &err);
        if (!st) st = gd_h5_attr_set_str(f, "sweep", "split", split, &err);
        if (!st) st = gd_h5_attr_set_i64(f, "sweep", "images", sp.count, &err);
        if (!st) st = gd_h5_attr_set_i64(f, "sweep", "chunks_solved", res.chunks_solved, &err);
        if (!st) st = gd_h5_attr_set_i64(f, "sweep", "candidates_refined", res.candidates_refined, &err);
        if (!st) st = gd_h5_attr_set_i64(f, "sweep", "candidates_asked", res.candidates_asked, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "sweep", "seconds", dt, &err);
        if (!st) st = gd_h5_attr_set_str(f, "sweep", "model", s.model_path, &err);
        if (!st) st = gd_h5_commit(f, &err);
        else gd_h5_abort(f);
        if (!st) {
            printf("gendec sweep: %zu points (%zu Eq. 3 solve groups) on %lld %s images in %.1f s on %d rank%s; "
                   "%lld candidates refined for %lld asked\n",
                   P, res.n_solve_groups, (long long)sp.count, split, dt, cli_world_size(), cli_world_size() > 1 ? "s" : "",
                   (long long)res.candidates_refined, (long long)res.candidates_asked);
            const double* b = res.point[best];
            printf("  best (%s): beta %g b %g c %g l %g yl %g yu %g: exact %.4f rejected %.4f argmax %.4f",
                   balanced ? "balanced" : "accuracy", b[0], b[1], b[2], b[3], b[4], b[5], cols[0][best], cols[1][best],
                   cols[2][best]);
            if (balanced) printf(" noise rejected %.4f", cols[5][best]);
            printf("\n  wrote %s\n", path);
        }
        for (int c = 0; c < 8; c++) free(cols[c]);
        free(counts);
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    free(noise_x);
    free(noise_lab);
    if (rank == 0) {
        gd_sweep_result_free(&res);
        gd_sweep_result_free(&noise_res);
    }
    cli_infer_close(&s);
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}
