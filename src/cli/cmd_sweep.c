/* gendec sweep <experiment.yaml>: the classifier's hyperparameter grid on the validation split (paper §3.2:
 * beta, b, l, yl, yu and c chosen on a validation set), spread over the ranks; writes sweep.h5 and reports the
 * best point. The Eq. 3 optimisation runs once per (beta, b, c) and chunk; l, yl, yu are applied afterwards.
 * With --slice I --slices N (a Slurm job array) each task does a block of the (beta, b, c) groups into
 * sweep.slice-I-of-N.h5; the task that finds all N slices complete merges them into sweep.h5. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/dist.h"
#include "gendec/io.h"

static const char* sweep_usage =
    "usage: gendec sweep <experiment.yaml> [options]\n\n"
    "Evaluates the grid sweep.beta x sweep.b x sweep.c x sweep.l x sweep.yl x sweep.yu (an empty list keeps the\n"
    "infer.* value; points with yl >= yu are skipped) on the validation split with the trained c-VAE, over all\n"
    "MPI ranks, and writes sweep.h5 (every point with its metrics, the best point). The Eq. 3 solve runs once\n"
    "per (beta, b, c); l, yl, yu only change the decision and reuse it. `gendec eval` then uses the best point.\n\n"
    "options:\n"
    "  --grid KEY=V1,V2,...  a grid axis (beta, b, c, l, yl, yu), replacing sweep.KEY (repeatable)\n"
    "  --set KEY=VALUE       override a config key (repeatable)\n"
    "  --out DIR             the run folder: model.h5 is read from it, sweep.h5 written to it\n"
    "                        (default <results>/<experiment>)\n"
    "  --model PATH          the trained model (default <out>/model.h5)\n"
    "  --results DIR         results root (default ./results; also holds the data cache)\n"
    "  --data-dir DIR        where the data set's files are (default $GD_DATA_DIR or ./data)\n"
    "  --split NAME          split to use (default validation)\n"
    "  --n N                 only the first N images (default sweep.n_val, 0 = all)\n"
    "  --slice I --slices N  only block I of N of the (beta, b, c) groups (Slurm job arrays), into\n"
    "                        sweep.slice-I-of-N.h5; the last slice to finish merges all into sweep.h5\n"
    "  --resume              continue from the (beta, b, c) groups a stopped run saved in sweep.partial.h5\n"
    "                        (sweep.partial.slice-I-of-N.h5 with --slice)\n"
    "sweep.metric = accuracy picks the point with the best exact-match accuracy; balanced = the mean of that and\n"
    "the rejection rate on as many uniform-noise images (stream seed/infer, images numbered from 2^40).\n"
    "SIGTERM, SIGUSR1 or SIGUSR2 (Slurm's warning before a time limit or preemption) stop the sweep after the\n"
    "(beta, b, c) groups in progress: those finished are saved in the partial file and gendec exits with code 75;\n"
    "'--resume' does the rest, with the same sweep file as an uninterrupted run.\n";

#define MAX_SETS 64
#define MAX_GRID 256
#define N_COLS 7

static const char* axis_names[6] = {"beta", "b", "c", "l", "yl", "yu"};
static const char* col_names[N_COLS] = {"exact", "rejection", "argmax", "answer", "top2", "noise_rejection", "score"};

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

/* A sweep table in memory: P points. */
typedef struct {
    size_t P, first, total, best;
    double* points;  /* (P, 6) */
    double* cols[N_COLS]; /* (P) each */
    int64_t* counts; /* (P, 4) images, exact, rejected, argmax */
    int64_t images, chunks_solved, refined, asked;
    double seconds, best_score;
} sweep_table;

static void table_free(sweep_table* t) {
    gd_free(t->points);
    for (int c = 0; c < N_COLS; c++) gd_free(t->cols[c]);
    gd_free(t->counts);
    memset(t, 0, sizeof *t);
}

/* Segments of a resumable sweep: about this many chunk solves per rank; a stop request is honoured at the end of
 * the segment in progress. */
#define SEGMENT_CHUNKS_PER_RANK 2

static gd_status table_alloc(sweep_table* t, size_t P, gd_error* err) {
    memset(t, 0, sizeof *t);
    t->P = P;
    size_t m = P ? P : 1;
    t->points = gd_alloc(m * 6 * sizeof(double));
    t->counts = gd_alloc(m * 4 * sizeof(int64_t));
    int ok = t->points && t->counts;
    for (int c = 0; c < N_COLS; c++) ok &= (t->cols[c] = gd_alloc(m * sizeof(double))) != NULL;
    if (ok) return GD_OK;
    table_free(t);
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for %zu sweep points", P);
}

/* The best point: highest score, first on ties. */
static void table_best(sweep_table* t) {
    t->best = 0;
    t->best_score = -1;
    for (size_t k = 0; k < t->P; k++)
        if (t->cols[6][k] > t->best_score) t->best_score = t->cols[6][k], t->best = k;
}

/* Writes a table as a sweep file (rank 0, serial). */
/* Grows t by `more` rows (their contents undefined), keeping its rows and totals. */
static gd_status table_grow(sweep_table* t, size_t more, gd_error* err) {
    sweep_table g;
    gd_status st = table_alloc(&g, t->P + more, err);
    if (st) return st;
    memcpy(g.points, t->points, t->P * 6 * sizeof(double));
    memcpy(g.counts, t->counts, t->P * 4 * sizeof(int64_t));
    for (int c = 0; c < N_COLS; c++) memcpy(g.cols[c], t->cols[c], t->P * sizeof(double));
    g.first = t->first, g.total = t->total, g.images = t->images, g.chunks_solved = t->chunks_solved;
    g.refined = t->refined, g.asked = t->asked, g.seconds = t->seconds;
    table_free(t);
    *t = g;
    return GD_OK;
}

/* Appends the points of one sweep run (res; noise: the same grid on noise images, when balanced) to t. */
static gd_status table_add(sweep_table* t, const gd_sweep_result* res, const gd_sweep_result* noise, int balanced,
                           gd_error* err) {
    size_t k0 = t->P;
    gd_status st = table_grow(t, res->n_points, err);
    if (st) return st;
    for (size_t k = 0; k < res->n_points; k++) {
        gd_infer_summary sm;
        gd_infer_metrics_summary(&res->metrics[k], &sm);
        double noise_rej = NAN;
        if (balanced) {
            gd_infer_summary sn;
            gd_infer_metrics_summary(&noise->metrics[k], &sn);
            noise_rej = sn.exact;
        }
        memcpy(t->points + 6 * (k0 + k), res->point[k], 6 * sizeof(double));
        double row[N_COLS] = {sm.exact, sm.rejection, sm.argmax, sm.answer, sm.top2, noise_rej,
                              balanced ? 0.5 * (sm.exact + noise_rej) : sm.exact};
        for (int c = 0; c < N_COLS; c++) t->cols[c][k0 + k] = row[c];
        int64_t cnt[4] = {res->metrics[k].count, res->metrics[k].exact, res->metrics[k].rejected,
                          res->metrics[k].argmax_ok};
        memcpy(t->counts + 4 * (k0 + k), cnt, sizeof cnt);
    }
    t->chunks_solved += res->chunks_solved;
    t->refined += res->candidates_refined;
    t->asked += res->candidates_asked;
    return GD_OK;
}

/* Writes a table as a file of `kind` (a sweep file "sweep", or "sweep_partial" with the attribute sweep/key)
 * (rank 0, serial). */
static gd_status table_write(const sweep_table* t, const char* path, const char* kind, const char* key,
                             const cli_infer_session* s, const char* split, int balanced, size_t slice, size_t slices,
                             gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_create(path, kind, s->yaml, MPI_COMM_NULL, &f, err);
    if (st) return st;
    size_t d2[2] = {t->P, 6}, d1[1] = {t->P}, dc[2] = {t->P, 4};
    st = gd_h5_write(f, "sweep/points", GD_F64, 2, d2, t->points, 0, err);
    for (int c = 0; c < N_COLS && !st; c++) {
        char nm[64];
        snprintf(nm, sizeof nm, "sweep/%s", col_names[c]);
        st = gd_h5_write(f, nm, GD_F64, 1, d1, t->cols[c], 0, err);
    }
    if (!st) st = gd_h5_write(f, "sweep/counts", GD_I64, 2, dc, t->counts, 0, err);
    if (!st) st = gd_h5_attr_set_str(f, "sweep/points", "columns", "beta,b,c,l,yl,yu", err);
    if (!st) st = gd_h5_attr_set_str(f, "sweep/counts", "columns", "images,exact,rejected,argmax", err);
    if (!st && t->P) st = gd_h5_attr_set_i64(f, "sweep", "best_index", (int64_t)t->best, err);
    if (!st && t->P) st = gd_h5_attr_set_f64s(f, "sweep", "best_point", t->points + 6 * t->best, 6, err);
    if (!st) st = gd_h5_attr_set_f64(f, "sweep", "best_score", t->best_score, err);
    if (!st) st = gd_h5_attr_set_str(f, "sweep", "metric", balanced ? "balanced" : "accuracy", err);
    if (!st) st = gd_h5_attr_set_str(f, "sweep", "split", split, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "images", t->images, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "first_point", (int64_t)t->first, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "total_points", (int64_t)t->total, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "slice", (int64_t)slice, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "slices", (int64_t)slices, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "chunks_solved", t->chunks_solved, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "candidates_refined", t->refined, err);
    if (!st) st = gd_h5_attr_set_i64(f, "sweep", "candidates_asked", t->asked, err);
    if (!st) st = gd_h5_attr_set_f64(f, "sweep", "seconds", t->seconds, err);
    if (!st) st = gd_h5_attr_set_str(f, "sweep", "model", s->model_path, err);
    if (!st && key) st = gd_h5_attr_set_str(f, "sweep", "key", key, err);
    if (st) {
        gd_h5_abort(f);
        return st;
    }
    return gd_h5_commit(f, err);
}

/* Appends the rows of the file of `kind` at path to t (grown); checks that they continue t and, when key is not
 * NULL, that the file's sweep/key is the same (GD_ESTATE otherwise). */
static gd_status table_append(sweep_table* t, const char* path, const char* kind, const char* key, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(path, kind, MPI_COMM_NULL, &f, err);
    if (st) return st;
    int64_t first = 0, images = 0, chunks = 0, refined = 0, asked = 0;
    double secs = 0;
    size_t dims[2] = {0, 0};
    void* pts = NULL;
    char* saved = NULL;
    if (key) {
        st = gd_h5_attr_get_str_alloc(f, "sweep", "key", &saved, err);
        if (!st && strcmp(saved, key) != 0)
            st = gd_error_set(err, GD_ESTATE, path, 0, 0, "delete it, or run without --resume to start the sweep again",
                              "a partial sweep of other images, another model, grid or options (saved: '%s'; now: "
                              "'%s')", saved, key);
        free(saved);
    }
    if (!st) st = gd_h5_attr_get_i64(f, "sweep", "first_point", &first, err);
    if (!st) st = gd_h5_attr_get_i64(f, "sweep", "images", &images, err);
    if (!st) st = gd_h5_attr_get_i64(f, "sweep", "chunks_solved", &chunks, err);
    if (!st) st = gd_h5_attr_get_i64(f, "sweep", "candidates_refined", &refined, err);
    if (!st) st = gd_h5_attr_get_i64(f, "sweep", "candidates_asked", &asked, err);
    if (!st) st = gd_h5_attr_get_f64(f, "sweep", "seconds", &secs, err);
    if (!st) st = gd_h5_read_alloc(f, "sweep/points", GD_F64, 2, dims, (size_t)1 << 28, &pts, err);
    size_t n = dims[0], k0 = t->P;
    if (!st && (dims[1] != 6 || (size_t)first != t->first + t->P))
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete the sweep.slice-*.h5 files and re-run the sweep",
                          "slice starts at point %lld, expected %zu", (long long)first, t->first + t->P);
    if (!st) st = table_grow(t, n, err);
    if (!st) {
        memcpy(t->points + 6 * k0, pts, n * 6 * sizeof(double));
        size_t dc[2] = {n, 4}, d1[1] = {n};
        if (n) st = gd_h5_read(f, "sweep/counts", GD_I64, 2, dc, t->counts + 4 * k0, err);
        for (int c = 0; c < N_COLS && !st; c++) {
            char nm[64];
            snprintf(nm, sizeof nm, "sweep/%s", col_names[c]);
            if (n) st = gd_h5_read(f, nm, GD_F64, 1, d1, t->cols[c] + k0, err);
        }
    }
    gd_free(pts);
    gd_h5_close(f);
    if (st) return st;
    t->images = images;
    t->chunks_solved += chunks;
    t->refined += refined;
    t->asked += asked;
    t->seconds += secs;
    return GD_OK;
}

/* Rank 0: when every slice file of `slices` is complete in dir, merges them into dir/sweep.h5. *merged = 1 then. */
static gd_status merge_slices(const char* dir, size_t slices, size_t total, const cli_infer_session* s,
                              const char* split, int balanced, int* merged, gd_error* err) {
    *merged = 0;
    char path[1200];
    for (size_t i = 0; i < slices; i++) {
        snprintf(path, sizeof path, "%s/sweep.slice-%zu-of-%zu.h5", dir, i, slices);
        gd_h5* f = NULL;
        gd_error e2;
        if (gd_h5_open(path, "sweep", MPI_COMM_NULL, &f, &e2) != GD_OK) return GD_OK; /* not all there yet */
        gd_h5_close(f);
    }
    sweep_table t;
    gd_status st = table_alloc(&t, 0, err);
    t.total = total;
    for (size_t i = 0; i < slices && !st; i++) {
        snprintf(path, sizeof path, "%s/sweep.slice-%zu-of-%zu.h5", dir, i, slices);
        st = table_append(&t, path, "sweep", NULL, err);
    }
    if (!st && t.P != total)
        st = gd_error_set(err, GD_EFORMAT, dir, 0, 0, "delete the sweep.slice-*.h5 files and re-run the sweep",
                          "the slices hold %zu points of %zu", t.P, total);
    if (!st) {
        table_best(&t);
        snprintf(path, sizeof path, "%s/sweep.h5", dir);
        st = table_write(&t, path, "sweep", NULL, s, split, balanced, 0, 1, err);
        if (!st) *merged = 1;
    }
    table_free(&t);
    return st;
}

int cmd_sweep(int argc, char** argv) {
    const char* yaml = NULL;
    const char* model = NULL;
    const char* out = NULL;
    const char* root = NULL;
    const char* data_dir = NULL;
    const char* split = "validation";
    const char* nstr = NULL;
    const char* slice_s = NULL;
    const char* slices_s = NULL;
    const char* sets[MAX_SETS];
    const char* grids[16];
    size_t n_sets = 0, n_grids = 0;
    int resume = 0;
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
                   (t = cli_take(argc, argv, &i, "--data-dir", &data_dir)) ||
                   (t = cli_take(argc, argv, &i, "--split", &split)) || (t = cli_take(argc, argv, &i, "--n", &nstr)) ||
                   (t = cli_take(argc, argv, &i, "--slices", &slices_s)) ||
                   (t = cli_take(argc, argv, &i, "--slice", &slice_s))) {
            if (t < 0) return cli_usage_error("sweep", "%s needs a value", argv[i]);
        } else if (cli_flag(argv, i, "--resume")) {
            resume = 1;
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
    long slice = 0, slices = 1;
    if (!slice_s != !slices_s) return cli_usage_error("sweep", "--slice and --slices go together");
    if (slices_s) {
        char *e1, *e2;
        slice = strtol(slice_s, &e1, 10);
        slices = strtol(slices_s, &e2, 10);
        if (*e1 || *e2 || slices < 1 || slice < 0 || slice >= slices)
            return cli_usage_error("sweep", "--slice I --slices N needs 0 <= I < N, got %s of %s", slice_s, slices_s);
    }
    static double vals[6][MAX_GRID], gvals[6][MAX_GRID];
    size_t len[6] = {0}, glen[6] = {0};
    for (size_t g = 0; g < n_grids; g++)
        if (parse_grid(grids[g], gvals, glen))
            return cli_usage_error("sweep", "--grid '%s': use KEY=V1,V2,... with KEY one of beta, b, c, l, yl, yu",
                                   grids[g]);
    gd_error err;
    gd_error_clear(&err);
    volatile sig_atomic_t* stop_flag = cli_stop_signals();
    cli_infer_session s;
    int rank = cli_rank();
    if (cli_infer_open(&s, yaml, sets, n_sets, model, out, root, data_dir, 1, &err)) {
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
    memset(&grid, 0, sizeof grid);
    for (int a = 0; a < 6; a++) {
        grid.v[a] = vals[a];
        grid.len[a] = len[a];
    }
    grid.slice = (size_t)slice;
    grid.slices = (size_t)slices;
    /* the slice's (beta, b, c) groups [g0, g1), each of per_group points (l x the (yl, yu) pairs with yl < yu) */
    size_t groups = len[0] * len[1] * len[2], g0, g1, per_group = 0;
    gd_dist_block(groups, (int)slice, (int)slices, &g0, &g1);
    for (size_t i = 0; i < len[4]; i++)
        for (size_t j = 0; j < len[5]; j++) per_group += vals[4][i] < vals[5][j];
    per_group *= len[3];
    const size_t ng = g1 - g0;
    char dir[1024], path[1200], partial[1200], key[1024] = "";
    snprintf(dir, sizeof dir, "%s", out && *out ? out : s.results_dir);
    if (slices > 1) {
        snprintf(path, sizeof path, "%s/sweep.slice-%ld-of-%ld.h5", dir, slice, slices);
        snprintf(partial, sizeof partial, "%s/sweep.partial.slice-%ld-of-%ld.h5", dir, slice, slices);
    } else {
        snprintf(path, sizeof path, "%s/sweep.h5", dir);
        snprintf(partial, sizeof partial, "%s/sweep.partial.h5", dir);
    }
    /* rank 0: the table of the slice's points so far (those of a stopped run, with --resume) */
    sweep_table t;
    memset(&t, 0, sizeof t);
    size_t gdone = 0;
    if (!st && rank == 0) {
        double gv[6 * (MAX_GRID + 1)];
        size_t m = 0;
        for (int a = 0; a < 6; a++) {
            gv[m++] = (double)len[a];
            for (size_t i = 0; i < len[a]; i++) gv[m++] = vals[a][i];
        }
        char what[160];
        snprintf(what, sizeof what, "sweep slice %ld of %ld metric %s grid %016llx", slice, slices,
                 balanced ? "balanced" : "accuracy", (unsigned long long)gd_checksum64(gv, m * sizeof(double)));
        cli_infer_key(&s, split, &sp, what, key, sizeof key);
        st = table_alloc(&t, 0, &err);
        t.first = g0 * per_group;
        t.total = groups * per_group;
        t.images = sp.count;
        if (!st && resume && access(partial, F_OK) == 0) {
            st = table_append(&t, partial, "sweep_partial", key, &err);
            if (!st && (!per_group || t.P % per_group || t.P / per_group >= (ng ? ng : 1)))
                st = gd_error_set(&err, GD_EFORMAT, partial, 0, 0, "delete it and run again",
                                  "%zu points saved: not whole (beta, b, c) groups of %zu points short of %zu groups",
                                  t.P, per_group, ng);
            if (!st) {
                gdone = t.P / per_group;
                printf("gendec sweep: resuming after %zu of %zu (beta, b, c) groups (%s)\n", gdone, ng, partial);
            }
        }
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    uint64_t gdone64 = gdone;
    MPI_Bcast(&gdone64, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    gdone = (size_t)gdone64;
    float* noise_x = NULL;
    uint8_t* noise_lab = NULL;
    if (!st && balanced && rank == 0) {
        /* as many uniform-noise images, labelled all-zero: their exact match is the rejection rate */
        int64_t npix = (int64_t)s.h * s.w;
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
    cli_progress prog;
    double t0 = gd_now();
    int stopped = 0;
    if (!st) {
        /* segments of whole groups: a group's points are the same whether it runs alone or with others */
        const size_t chunks = (size_t)((sp.count + s.opts.batch - 1) / s.opts.batch), passes = balanced ? 2 : 1;
        size_t seg = chunks ? ((size_t)SEGMENT_CHUNKS_PER_RANK * (size_t)cli_world_size() + chunks - 1) / chunks : 1;
        cli_progress_start(&prog, "sweep", (double)((ng - gdone) * chunks * passes));
        cli_segment_progress sprog = {&prog, 0};
        gd_infer_eval_opts eo = {.dynamic = gd_config_is(s.cfg, "infer.schedule", "dynamic"),
                                 .progress = cli_infer_segment_progress,
                                 .progress_ctx = &sprog};
        for (size_t done0 = gdone;;) {
            /* count 0 only for an empty slice: gd_infer_sweep then runs the (empty) slice */
            size_t cnt = ng - gdone < seg ? ng - gdone : seg;
            grid.group_first = g0 + gdone;
            grid.group_count = cnt;
            gd_sweep_result res, noise_res;
            memset(&res, 0, sizeof res);
            memset(&noise_res, 0, sizeof noise_res);
            sprog.offset = (int64_t)((gdone - done0) * chunks * passes);
            st = gd_infer_sweep(s.solver, &grid, rank == 0 ? s.ds.images + sp.start * s.h * s.w : NULL,
                                rank == 0 ? s.ds.labels + sp.start * s.n : NULL, sp.count, (uint64_t)sp.start, &eo,
                                &res, MPI_COMM_WORLD, &err);
            sprog.offset += (int64_t)(cnt * chunks);
            if (!st && balanced)
                st = gd_infer_sweep(s.solver, &grid, noise_x, noise_lab, sp.count, ((uint64_t)1 << 40), &eo,
                                    &noise_res, MPI_COMM_WORLD, &err);
            if (!st && rank == 0) st = table_add(&t, &res, &noise_res, balanced, &err);
            if (rank == 0) {
                gd_sweep_result_free(&res);
                gd_sweep_result_free(&noise_res);
            }
            st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
            gdone += cnt;
            if (st || gdone >= ng) break;
            int stop = *stop_flag;
            MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            if (stop) {
                stopped = 1;
                break;
            }
        }
        cli_progress_end(&prog, NULL);
    }
    double dt = gd_now() - t0;
    if (!st && rank == 0) {
        t.seconds += dt;
        table_best(&t);
        st = cli_mkdirs(dir, &err);
        if (!st && stopped) st = table_write(&t, partial, "sweep_partial", key, &s, split, balanced, (size_t)slice,
                                             (size_t)slices, &err);
        if (!st && !stopped) st = table_write(&t, path, "sweep", NULL, &s, split, balanced, (size_t)slice,
                                              (size_t)slices, &err);
        int merged = 0;
        if (!st && !stopped && slices > 1)
            st = merge_slices(dir, (size_t)slices, t.total, &s, split, balanced, &merged, &err);
        if (!st && !stopped && unlink(partial) != 0 && errno != ENOENT)
            fprintf(stderr, "gendec sweep: warning: cannot remove %s: %s\n", partial, strerror(errno));
        if (!st && !stopped) {
            printf("gendec sweep: %zu points (%zu Eq. 3 solve groups) on %lld %s images in %.1f s on %d rank%s; "
                   "%lld candidates refined for %lld asked\n",
                   t.P, ng, (long long)sp.count, split, t.seconds, cli_world_size(), cli_world_size() > 1 ? "s" : "",
                   (long long)t.refined, (long long)t.asked);
            if (slices > 1) printf("  slice %ld of %ld: points [%zu, %zu) of %zu\n", slice, slices, t.first, t.first + t.P, t.total);
            if (t.P) {
                const double* b = t.points + 6 * t.best;
                printf("  best%s (%s): beta %g b %g c %g l %g yl %g yu %g: exact %.4f rejected %.4f argmax %.4f",
                       slices > 1 ? " of this slice" : "", balanced ? "balanced" : "accuracy", b[0], b[1], b[2], b[3],
                       b[4], b[5], t.cols[0][t.best], t.cols[1][t.best], t.cols[2][t.best]);
                if (balanced) printf(" noise rejected %.4f", t.cols[5][t.best]);
                printf("\n");
            }
            printf("  wrote %s\n", path);
            if (merged) printf("  all %ld slices done: merged into %s/sweep.h5\n", slices, dir);
        }
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    if (!st && stopped)
        st = gd_error_set(&err, GD_EINTR, partial, 0, 0, "run again with --resume",
                          "sweep stopped by a signal after %zu of %zu (beta, b, c) groups", gdone, ng);
    free(noise_x);
    free(noise_lab);
    table_free(&t);
    cli_infer_close(&s);
    if (st == GD_EINTR && rank != 0) return CLI_EXIT_REQUEUE; /* rank 0 says it */
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}
