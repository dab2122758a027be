/* gendec eval <experiment.yaml>: classifies a split with the trained c-VAE (paper §3.2) over all ranks and writes
 * eval.h5 (per-image results and summary metrics). */
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
#include "gendec/model.h"

static const char* eval_usage =
    "usage: gendec eval <experiment.yaml> [options]\n\n"
    "Classifies the images of a split by optimisation (Eq. 3 of the paper, then the decision rule) with the c-VAE\n"
    "that 'gendec train' wrote, over all MPI ranks, and writes eval.h5: per image y* (relaxed), y† (decision),\n"
    "z*, the Eq. 3 and Eq. 2 losses, steps, the noise flag and time; and the summary metrics (exact match,\n"
    "rejection, argmax of y*, CapsNet top-2, per-component precision/recall, the other rule's exact match).\n\n"
    "options:\n"
    "  --set KEY=VALUE     override a config key (repeatable), e.g. --set infer.rule=top3\n"
    "  --out DIR           the run folder: model.h5 (and sweep.h5) are read from it, eval.h5 written to it\n"
    "                      (default <results>/<experiment>)\n"
    "  --model PATH        the trained model (default <out>/model.h5)\n"
    "  --results DIR       results root (default ./results; also holds the data cache)\n"
    "  --data-dir DIR      where the data set's files are (default $GD_DATA_DIR or ./data)\n"
    "  --no-sweep          keep the infer.* values even when <out>/sweep.h5 holds a best point (by default the\n"
    "                      paper's protocol: the hyperparameters chosen on the validation split are used)\n"
    "  --resume            continue from <out>/eval.partial.h5 (the images a stopped run finished)\n"
    "  --split NAME        split to classify (default test)\n"
    "  --n N               only the first N images of the split\n"
    "  --no-alt            do not also decide with the other rule (top3 beside enumerate, or the reverse)\n"
    "Scheduling: infer.schedule = static (equal blocks, MPI_Scatterv/Gatherv) or dynamic (chunks on request).\n"
    "SIGTERM, SIGUSR1 or SIGUSR2 (Slurm's warning before a time limit or preemption) stop the evaluation after the\n"
    "images in progress: those finished are saved in <out>/eval.partial.h5 and gendec exits with code 75; '--resume'\n"
    "classifies the rest, with the same results as an uninterrupted run.\n";

/* Chunks per rank in one segment: the evaluation runs in segments of whole chunks, and a stop request is
 * honoured at the end of the segment in progress. */
#define SEGMENT_CHUNKS_PER_RANK 2

/* One per-image field of gd_infer_results: its dataset name, type, values per image and row-0 pointer. */
typedef struct {
    const char* name;
    gd_dtype t;
    size_t cols;
    void* base;
} result_field;

/* The fields of r that a partial evaluation keeps (all of them; decision fields only for the alternative). */
static int result_fields(gd_infer_results* r, int decision_only, result_field* f) {
    const size_t n = (size_t)r->n, p = (size_t)r->p, T = (size_t)r->trace_len;
    int k = 0;
    f[k++] = (result_field){"y_dec", GD_U8, n, r->ydec};
    f[k++] = (result_field){"loss2", GD_F32, 1, r->loss2};
    f[k++] = (result_field){"steps", GD_I32, 1, r->steps};
    f[k++] = (result_field){"noise", GD_U8, 1, r->noise};
    f[k++] = (result_field){"n_ambiguous", GD_I32, 1, r->n_ambiguous};
    f[k++] = (result_field){"n_candidates", GD_I32, 1, r->n_candidates};
    if (decision_only) return k;
    f[k++] = (result_field){"y_star", GD_F32, n, r->ystar};
    f[k++] = (result_field){"z_star", GD_F32, p, r->zstar};
    f[k++] = (result_field){"loss3", GD_F32, 1, r->loss3};
    f[k++] = (result_field){"time", GD_F32, 1, r->time};
    if (T) f[k++] = (result_field){"trace", GD_F32, T * n, r->trace};
    return k;
}

/* Rows [row, row + count) of r as results of count images (pointers into r's arrays). */
static gd_infer_results results_view(const gd_infer_results* r, int64_t row, int64_t count) {
    gd_infer_results v = *r;
    const size_t i = (size_t)row, n = (size_t)r->n, p = (size_t)r->p, T = (size_t)r->trace_len;
    v.N = count;
    v.ystar += i * n, v.zstar += i * p, v.ydec += i * n, v.loss3 += i, v.loss2 += i, v.steps += i;
    v.noise += i, v.n_ambiguous += i, v.n_candidates += i, v.time += i;
    if (v.trace) v.trace += i * T * n;
    return v;
}

/* Writes the first `done` images of r (and of the alternative decision a, may be NULL) to path (rank 0). */
static gd_status save_partial(const char* path, const cli_infer_session* s, const char* key, gd_infer_results* r,
                              gd_infer_results* a, int64_t done, double seconds, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_create(path, "eval_partial", s->yaml, MPI_COMM_NULL, &f, err);
    if (st) return st;
    result_field fl[12];
    char name[64];
    for (int pass = 0; pass < (a ? 2 : 1) && !st; pass++) {
        int k = result_fields(pass ? a : r, pass, fl);
        for (int j = 0; j < k && !st; j++) {
            size_t dims[2] = {(size_t)done, fl[j].cols};
            snprintf(name, sizeof name, "%s/%s", pass ? "partial_alt" : "partial", fl[j].name);
            st = gd_h5_write(f, name, fl[j].t, 2, dims, fl[j].base, 0, err);
        }
    }
    if (!st) st = gd_h5_attr_set_str(f, "partial", "key", key, err);
    if (!st) st = gd_h5_attr_set_i64(f, "partial", "done", done, err);
    if (!st) st = gd_h5_attr_set_i64(f, "partial", "count", r->N, err);
    if (!st) st = gd_h5_attr_set_f64(f, "partial", "seconds", seconds, err);
    if (st) {
        gd_h5_abort(f);
        return st;
    }
    return gd_h5_commit(f, err);
}

/* Reads a partial evaluation from path into the first rows of r (and a) (rank 0): *done images (whole chunks of
 * `batch`), *seconds spent. GD_ESTATE when it belongs to another evaluation (other key). */
static gd_status load_partial(const char* path, const char* key, int batch, gd_infer_results* r, gd_infer_results* a,
                              int64_t* done, double* seconds, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(path, "eval_partial", MPI_COMM_NULL, &f, err);
    if (st) return st;
    char* saved = NULL;
    int64_t count = 0;
    st = gd_h5_attr_get_str_alloc(f, "partial", "key", &saved, err);
    if (!st && strcmp(saved, key) != 0)
        st = gd_error_set(err, GD_ESTATE, path, 0, 0,
                          "delete it, or run without --resume to start the evaluation again",
                          "a partial evaluation of other images, another model or other options (saved: '%s'; now: "
                          "'%s')", saved, key);
    if (!st) st = gd_h5_attr_get_i64(f, "partial", "done", done, err);
    if (!st) st = gd_h5_attr_get_i64(f, "partial", "count", &count, err);
    if (!st) st = gd_h5_attr_get_f64(f, "partial", "seconds", seconds, err);
    if (!st && (count != r->N || *done < 1 || *done > count || (*done % batch && *done != count)))
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete it and run again", "%lld of %lld images done?",
                          (long long)*done, (long long)count);
    result_field fl[12];
    char name[64];
    for (int pass = 0; pass < (a ? 2 : 1) && !st; pass++) {
        int k = result_fields(pass ? a : r, pass, fl);
        for (int j = 0; j < k && !st; j++) {
            size_t dims[2] = {(size_t)*done, fl[j].cols};
            snprintf(name, sizeof name, "%s/%s", pass ? "partial_alt" : "partial", fl[j].name);
            st = gd_h5_read(f, name, fl[j].t, 2, dims, fl[j].base, err);
        }
    }
    free(saved);
    gd_h5_close(f);
    return st;
}

#define MAX_SETS 64

/* Writes one dataset of rank 1 or 2. */
static gd_status put(gd_h5* f, const char* name, gd_dtype t, size_t d0, size_t d1, size_t d2, const void* data,
                     gd_error* err) {
    size_t dims[3] = {d0, d1, d2};
    int rank = d2 ? 3 : (d1 ? 2 : 1);
    return gd_h5_write(f, name, t, rank, dims, data, 0, err);
}

/* Writes eval.h5 (rank 0). */
static gd_status write_eval(const char* path, const cli_infer_session* s, const gd_split* sp, const char* split,
                            int from_sweep,
                            const gd_infer_results* r, const gd_infer_results* alt, const gd_infer_summary* sm,
                            const gd_infer_metrics* m, const gd_infer_summary* sa, double seconds, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_create(path, "eval", s->yaml, MPI_COMM_NULL, &f, err);
    if (st) return st;
    const size_t N = (size_t)r->N, n = (size_t)r->n, p = (size_t)r->p;
    int64_t* index = malloc(sizeof(int64_t) * (N ? N : 1));
    if (!index) {
        gd_h5_abort(f);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < N; i++) index[i] = sp->start + (int64_t)i;
    const gd_infer_opts* o = &s->opts;
    if (!st) st = put(f, "eval/index", GD_I64, N, 0, 0, index, err);
    if (!st) st = put(f, "eval/labels", GD_U8, N, n, 0, s->ds.labels + sp->start * n, err);
    if (!st) st = put(f, "eval/classes", GD_I32, N, 0, 0, s->ds.classes + sp->start, err);
    if (!st) st = put(f, "eval/y_star", GD_F32, N, n, 0, r->ystar, err);
    if (!st) st = put(f, "eval/z_star", GD_F32, N, p, 0, r->zstar, err);
    if (!st) st = put(f, "eval/y_dec", GD_U8, N, n, 0, r->ydec, err);
    if (!st) st = put(f, "eval/loss3", GD_F32, N, 0, 0, r->loss3, err);
    if (!st) st = put(f, "eval/loss2", GD_F32, N, 0, 0, r->loss2, err);
    if (!st) st = put(f, "eval/steps", GD_I32, N, 0, 0, r->steps, err);
    if (!st) st = put(f, "eval/noise", GD_U8, N, 0, 0, r->noise, err);
    if (!st) st = put(f, "eval/n_ambiguous", GD_I32, N, 0, 0, r->n_ambiguous, err);
    if (!st) st = put(f, "eval/n_candidates", GD_I32, N, 0, 0, r->n_candidates, err);
    if (!st) st = put(f, "eval/time", GD_F32, N, 0, 0, r->time, err);
    if (!st && r->trace) st = put(f, "eval/trace", GD_F32, N, (size_t)r->trace_len, n, r->trace, err);
    if (!st) st = put(f, "eval/precision", GD_F64, n, 0, 0, sm->precision, err);
    if (!st) st = put(f, "eval/recall", GD_F64, n, 0, 0, sm->recall, err);
    if (!st && alt) {
        if (!st) st = put(f, "eval_alt/y_dec", GD_U8, N, n, 0, alt->ydec, err);
        if (!st) st = put(f, "eval_alt/loss2", GD_F32, N, 0, 0, alt->loss2, err);
        if (!st) st = put(f, "eval_alt/noise", GD_U8, N, 0, 0, alt->noise, err);
        if (!st) st = put(f, "eval_alt/n_candidates", GD_I32, N, 0, 0, alt->n_candidates, err);
        if (!st) st = put(f, "eval_alt/steps", GD_I32, N, 0, 0, alt->steps, err);
        gd_infer_rule ar = o->rule == GD_INFER_RULE_TOP3 ? GD_INFER_RULE_ENUMERATE : GD_INFER_RULE_TOP3;
        if (!st) st = gd_h5_attr_set_str(f, "eval_alt", "rule", gd_infer_rule_name(ar), err);
        if (!st) st = gd_h5_attr_set_f64(f, "eval_alt", "exact", sa->exact, err);
        if (!st) st = gd_h5_attr_set_f64(f, "eval_alt", "rejection", sa->rejection, err);
    }
    struct {
        const char* k;
        double v;
    } nums[] = {{"exact", sm->exact}, {"rejection", sm->rejection}, {"argmax", sm->argmax}, {"answer", sm->answer},
                {"top2", sm->top2}, {"seconds", seconds}, {"images_per_second", seconds > 0 ? (double)N / seconds : 0},
                {"steps", o->steps}, {"lr", o->lr}, {"y0", o->y0}, {"restarts", o->restarts}, {"beta", o->beta},
                {"b", o->b}, {"c", o->c}, {"l", o->l}, {"yl", o->yl}, {"yu", o->yu},
                {"max_ambiguous", o->max_ambiguous}, {"refine_steps", o->refine_steps},
                {"binarize_input", o->binarize_input}, {"batch", o->batch}, {"from_sweep", from_sweep}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && !st; i++) st = gd_h5_attr_set_f64(f, "eval", nums[i].k, nums[i].v, err);
    struct {
        const char* k;
        int64_t v;
    } ints[] = {{"count", m->count}, {"exact_count", m->exact}, {"rejected_count", m->rejected},
                {"single_count", m->single}, {"argmax_count", m->argmax_ok}, {"pairs_count", m->pairs},
                {"top2_count", m->top2_ok}, {"first_image", sp->start}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && !st; i++) st = gd_h5_attr_set_i64(f, "eval", ints[i].k, ints[i].v, err);
    const char* strs[][2] = {{"rule", gd_infer_rule_name(o->rule)}, {"norm", gd_infer_norm_name(o->norm)},
                             {"scale", gd_infer_scale_name(o->scale)}, {"split", split}, {"model", s->model_path},
                             {"data", s->data_path}, {"data_source", s->ds.source},
                             {"schedule", gd_config_string(s->cfg, "infer.schedule")}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !st; i++) st = gd_h5_attr_set_str(f, "eval", strs[i][0], strs[i][1], err);
    free(index);
    if (st) {
        gd_h5_abort(f);
        return st;
    }
    return gd_h5_commit(f, err);
}

int cmd_eval(int argc, char** argv) {
    const char* yaml = NULL;
    const char* model = NULL;
    const char* out = NULL;
    const char* root = NULL;
    const char* split = "test";
    const char* nstr = NULL;
    const char* data_dir = NULL;
    const char* sets[MAX_SETS];
    size_t n_sets = 0;
    int alt = 1, use_sweep = 1, resume = 0;
    for (int i = 1; i < argc; i++) {
        int t;
        const char* v = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            if (cli_rank() == 0) printf("%s", eval_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0 || n_sets >= MAX_SETS) return cli_usage_error("eval", "--set needs KEY=VALUE (at most %d)", MAX_SETS);
            sets[n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--model", &model)) || (t = cli_take(argc, argv, &i, "--out", &out)) ||
                   (t = cli_take(argc, argv, &i, "--results", &root)) ||
                   (t = cli_take(argc, argv, &i, "--data-dir", &data_dir)) ||
                   (t = cli_take(argc, argv, &i, "--split", &split)) || (t = cli_take(argc, argv, &i, "--n", &nstr))) {
            if (t < 0) return cli_usage_error("eval", "%s needs a value", argv[i]);
        } else if (cli_flag(argv, i, "--no-alt"))
            alt = 0;
        else if (cli_flag(argv, i, "--no-sweep"))
            use_sweep = 0;
        else if (cli_flag(argv, i, "--resume"))
            resume = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("eval", "unknown option '%s'", argv[i]);
        else if (!yaml)
            yaml = argv[i];
        else
            return cli_usage_error("eval", "unexpected argument '%s'", argv[i]);
    }
    if (!yaml) return cli_usage_error("eval", "which experiment? (an experiment YAML file)");
    int64_t max_n = 0;
    if (nstr) {
        char* end;
        max_n = strtoll(nstr, &end, 10);
        if (*end || max_n < 1) return cli_usage_error("eval", "--n needs a positive number, got '%s'", nstr);
    }
    gd_error err;
    gd_error_clear(&err);
    /* SIGTERM / SIGUSR1 / SIGUSR2: save the finished images and stop (checked between segments) */
    volatile sig_atomic_t* eval_stop = cli_stop_signals();
    cli_infer_session s;
    int rank = cli_rank();
    if (cli_infer_open(&s, yaml, sets, n_sets, model, out, root, data_dir, 1, &err)) {
        cli_infer_close(&s);
        return cli_fail(&err);
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", out && *out ? out : s.results_dir);
    /* the hyperparameters chosen on the validation split, when a sweep has run */
    double point[6];
    int found = 0;
    gd_status st = GD_OK;
    if (use_sweep) {
        if (rank == 0) st = cli_sweep_best(dir, point, &found, &err);
        st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
        MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Bcast(point, 6, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (!st && found) st = gd_dist_agree(cli_infer_apply_point(&s, point, &err), MPI_COMM_WORLD, &err);
        if (!st && found && rank == 0)
            printf("gendec eval: using the best point of %s/sweep.h5: beta %g b %g c %g l %g yl %g yu %g "
                   "(--no-sweep keeps the infer.* values)\n", dir, point[0], point[1], point[2], point[3], point[4],
                   point[5]);
    }
    gd_split sp;
    if (!st) st = cli_infer_split(&s, split, max_n, &sp, &err);
    gd_infer_results r, a;
    memset(&r, 0, sizeof r);
    memset(&a, 0, sizeof a);
    const int n = s.n, p = gd_infer_p(s.solver), T = s.opts.trace ? s.opts.steps + 1 : 0;
    if (!st && rank == 0) {
        st = gd_infer_results_alloc(&r, sp.count, n, p, T, &err);
        if (!st && alt) st = gd_infer_results_alloc(&a, sp.count, n, p, 0, &err);
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    cli_progress prog;
    char partial[1100], key[1024] = "";
    snprintf(partial, sizeof partial, "%s/eval.partial.h5", dir);
    int64_t done = 0;
    double dt = 0;
    int stopped = 0;
    if (!st && rank == 0) {
        char what[16];
        snprintf(what, sizeof what, "alt %d", alt);
        cli_infer_key(&s, split, &sp, what, key, sizeof key);
    }
    if (!st && rank == 0 && resume && access(partial, F_OK) == 0) {
        st = load_partial(partial, key, s.opts.batch, &r, alt ? &a : NULL, &done, &dt, &err);
        if (!st)
            printf("gendec eval: resuming after %lld of %lld images (%s)\n", (long long)done, (long long)sp.count,
                   partial);
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    MPI_Bcast(&done, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (!st) {
        cli_progress_start(&prog, "eval", (double)sp.count);
        cli_segment_progress sprog = {&prog, done};
        gd_infer_eval_opts eo = {.dynamic = gd_config_is(s.cfg, "infer.schedule", "dynamic"),
                                 .progress = cli_infer_segment_progress,
                                 .progress_ctx = &sprog,
                                 .alt_rule = alt};
        /* segments of whole chunks: chunk c is the same images with the same random streams as in one call */
        const int64_t seg = (int64_t)s.opts.batch * SEGMENT_CHUNKS_PER_RANK * cli_world_size();
        const size_t npix = (size_t)s.h * s.w;
        double t0 = gd_now();
        while (!st && done < sp.count) {
            int64_t cnt = sp.count - done < seg ? sp.count - done : seg;
            gd_infer_results rv = {0}, av = {0};
            if (rank == 0) rv = results_view(&r, done, cnt);
            if (rank == 0 && alt) av = results_view(&a, done, cnt);
            eo.alt = rank == 0 && alt ? &av : NULL;
            sprog.offset = done;
            st = gd_infer_eval(s.solver, rank == 0 ? s.ds.images + (size_t)(sp.start + done) * npix : NULL, cnt,
                               (uint64_t)(sp.start + done), &eo, rank == 0 ? &rv : NULL, MPI_COMM_WORLD, &err);
            if (st) break;
            done += cnt;
            int stop = *eval_stop;
            MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            if (stop && done < sp.count) stopped = 1;
            if (stopped) break;
        }
        dt += gd_now() - t0;
        cli_progress_end(&prog, NULL);
        if (stopped) {
            if (rank == 0) {
                st = cli_mkdirs(dir, &err);
                if (!st) st = save_partial(partial, &s, key, &r, alt ? &a : NULL, done, dt, &err);
            }
            st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
            if (!st)
                st = gd_error_set(&err, GD_EINTR, partial, 0, 0, "run again with --resume",
                                  "evaluation stopped by a signal after %lld of %lld images", (long long)done,
                                  (long long)sp.count);
        }
        if (!st && rank == 0) {
            gd_infer_metrics m, ma;
            gd_infer_summary sm, sa;
            gd_infer_metrics_init(&m, n);
            gd_infer_metrics_add(&m, s.ds.labels + sp.start * n, r.ystar, r.ydec, r.noise, sp.count);
            gd_infer_metrics_summary(&m, &sm);
            if (alt) {
                gd_infer_metrics_init(&ma, n);
                gd_infer_metrics_add(&ma, s.ds.labels + sp.start * n, a.ystar, a.ydec, a.noise, sp.count);
                gd_infer_metrics_summary(&ma, &sa);
            }
            char path[1100];
            snprintf(path, sizeof path, "%s/eval.h5", dir);
            st = cli_mkdirs(dir, &err);
            if (!st) st = write_eval(path, &s, &sp, split, found, &r, alt ? &a : NULL, &sm, &m, alt ? &sa : NULL, dt, &err);
            if (!st && unlink(partial) != 0 && errno != ENOENT)
                fprintf(stderr, "gendec eval: warning: cannot remove %s: %s\n", partial, strerror(errno));
            if (!st) {
                const gd_infer_opts* o = &s.opts;
                printf("gendec eval: %lld images of %s %s [%lld, %lld) in %.1f s (%.2f images/s) on %d rank%s\n",
                       (long long)sp.count, s.ds.name, split, (long long)sp.start, (long long)(sp.start + sp.count), dt,
                       dt > 0 ? (double)sp.count / dt : 0.0, cli_world_size(), cli_world_size() > 1 ? "s" : "");
                printf("  rule %s, %s norm, per-pixel %s, %s input, beta %g b %g c %g l %g yl %g yu %g, %d+%d steps\n",
                       gd_infer_rule_name(o->rule), gd_infer_norm_name(o->norm),
                       o->scale == GD_INFER_SCALE_MEAN ? "mean" : "sum (not mean)",
                       o->binarize_input ? "binarized" : "raw", o->beta, o->b, o->c, o->l, o->yl, o->yu, o->steps,
                       o->refine_steps);
                printf("  exact match %.4f  rejected %.4f", sm.exact, sm.rejection);
                if (m.single) printf("  argmax y* %.4f", sm.argmax);
                if (m.pairs) printf("  top-2 of y* (CapsNet) %.4f", sm.top2);
                if (alt) printf("  %s rule %.4f", o->rule == GD_INFER_RULE_TOP3 ? "enumerate" : "top3", sa.exact);
                printf("\n  wrote %s\n", path);
            }
        }
        st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    }
    gd_infer_results_free(&r);
    gd_infer_results_free(&a);
    cli_infer_close(&s);
    if (st == GD_EINTR && rank != 0) return CLI_EXIT_REQUEUE; /* rank 0 says it */
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}
