/* gendec attack fgm|neat: adversarial images against the CNN baseline (FGM/PGD sweep, NEAT/CPPN fooling
 * images), judged by the CNN, the binarized CNN and the generative classifier; writes fgm.h5 / neat.h5 and a
 * PNG grid. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/attack.h"
#include "gendec/config.h"
#include "gendec/data.h"
#include "gendec/dist.h"
#include "gendec/io.h"
#include "gendec/model.h"
#include "gendec/neat.h"

static const char* attack_usage =
    "usage: gendec attack <fgm|neat> <experiment.yaml> [options]\n\n"
    "  fgm   the fast gradient method (attack.fgm.*: eps list, linf|l2, PGD steps) on the CNN's cross-entropy,\n"
    "        every (eps, chunk of test images) a work item over the MPI ranks; the adversarial images are given\n"
    "        to the CNN, the binarized CNN (threshold 0.5) and the generative classifier. Writes <out>/fgm.h5\n"
    "        and <out>/fgm.png (Table 1 of the paper).\n"
    "  neat  NEAT-evolved CPPN images that the CNN assigns to a target class with confidence above\n"
    "        attack.neat.threshold, one population per (target, seed) over the ranks (attack.neat.*); the\n"
    "        fooling images go to the binarized CNN and the generative classifier (fraction identified as\n"
    "        noise; paper: 90.6%%). Writes <out>/neat.h5 and <out>/neat.png (Fig. 5 of the paper).\n\n"
    "options:\n"
    "  --set KEY=VALUE     override a config key (repeatable), e.g. --set attack.neat.generations=50\n"
    "  --out DIR           the run folder: cnn.h5, model.h5 (and sweep.h5) are read from it, the outputs\n"
    "                      written to it (default <results>/<experiment>)\n"
    "  --cnn PATH          the CNN baseline (default <out>/cnn.h5; 'gendec train --model cnn')\n"
    "  --model PATH        the c-VAE of the generative classifier (default <out>/model.h5)\n"
    "  --no-generative     skip the generative classifier (no model needed)\n"
    "  --no-sweep          keep the infer.* values even when <out>/sweep.h5 holds a best point\n"
    "  --results DIR       results root (default ./results; also holds the data cache)\n"
    "  --data-dir DIR      where the data set's files are (default $GD_DATA_DIR or ./data)\n"
    "  --resume            accepted for requeued jobs (the attack is recomputed)\n";

#define MAX_SETS 64

typedef struct {
    const char* what; /* "fgm" or "neat" */
    const char* yaml;
    const char* sets[MAX_SETS];
    size_t n_sets;
    const char *out, *cnn, *model, *results, *data_dir;
    int generative, use_sweep;
} attack_args;

/* Parses the options after the subcommand; returns CLI_EXIT_OK or a usage error. */
static int parse_args(int argc, char** argv, attack_args* a) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "attack %s", a->what);
    a->generative = 1;
    a->use_sweep = 1;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--set needs KEY=VALUE");
            if (a->n_sets == MAX_SETS) return cli_usage_error(cmd, "too many --set options (at most %d)", MAX_SETS);
            a->sets[a->n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--out", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--out needs a folder");
            a->out = v;
        } else if ((t = cli_take(argc, argv, &i, "--cnn", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--cnn needs a file");
            a->cnn = v;
        } else if ((t = cli_take(argc, argv, &i, "--model", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--model needs a file");
            a->model = v;
        } else if ((t = cli_take(argc, argv, &i, "--results", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--results needs a folder");
            a->results = v;
        } else if ((t = cli_take(argc, argv, &i, "--data-dir", &v))) {
            if (t < 0) return cli_usage_error(cmd, "--data-dir needs a folder");
            a->data_dir = v;
        } else if (cli_flag(argv, i, "--no-generative")) {
            a->generative = 0;
        } else if (cli_flag(argv, i, "--no-sweep")) {
            a->use_sweep = 0;
        } else if (cli_flag(argv, i, "--resume")) {
            /* the attack is recomputed */
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (a->yaml) {
            return cli_usage_error(cmd, "one experiment file at a time ('%s' and '%s')", a->yaml, argv[i]);
        } else {
            a->yaml = argv[i];
        }
    }
    if (!a->yaml) return cli_usage_error(cmd, "name an experiment file (experiments/*.yaml)");
    return CLI_EXIT_OK;
}

/* What both attacks load: the config, the run folder, the CNN (every rank) and optionally the generative
 * classifier (every rank, with the sweep's best point). */
typedef struct {
    gd_config* cfg;
    char* yaml;
    char dir[1024];
    char cnn_path[1100];
    gd_cnn* cnn;
    int have_gen;
    cli_infer_session gen;
    int sweep_point;
} attack_env;

static void env_close(attack_env* e) {
    gd_cnn_free(e->cnn);
    if (e->have_gen) cli_infer_close(&e->gen);
    gd_config_free(e->cfg);
    free(e->yaml);
    memset(e, 0, sizeof *e);
}

/* Collective. max_batch: the CNN's batch. */
static gd_status env_open(attack_env* e, const attack_args* a, int max_batch, gd_error* err) {
    memset(e, 0, sizeof *e);
    int rank = cli_rank();
    gd_status st = gd_config_load(&e->cfg, a->yaml, a->sets, a->n_sets, err);
    if (!st && !(e->yaml = gd_config_emit(e->cfg))) st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    if (st) return st;
    const char* root = a->results && *a->results ? a->results : "results";
    if (a->out && *a->out)
        snprintf(e->dir, sizeof e->dir, "%s", a->out);
    else
        snprintf(e->dir, sizeof e->dir, "%s/%s", root, gd_config_string(e->cfg, "experiment.name"));
    if (a->cnn && *a->cnn)
        snprintf(e->cnn_path, sizeof e->cnn_path, "%s", a->cnn);
    else
        snprintf(e->cnn_path, sizeof e->cnn_path, "%s/cnn.h5", e->dir);
    st = gd_cnn_load(e->cnn_path, max_batch, &e->cnn, err);
    if (st && err->file[0] == '\0') snprintf(err->file, sizeof err->file, "%.500s", e->cnn_path);
    if ((st = gd_dist_agree(st, MPI_COMM_WORLD, err))) return st;
    if (!a->generative) return GD_OK;
    st = cli_infer_open(&e->gen, a->yaml, a->sets, a->n_sets, a->model, e->dir, root, a->data_dir, 0, err);
    e->have_gen = 1;
    if (st) return st;
    if (a->use_sweep) {
        double point[6];
        int found = 0;
        if (rank == 0) st = cli_sweep_best(e->dir, point, &found, err);
        st = gd_dist_agree(st, MPI_COMM_WORLD, err);
        MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Bcast(point, 6, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (!st && found) st = gd_dist_agree(cli_infer_apply_point(&e->gen, point, err), MPI_COMM_WORLD, err);
        if (!st && found && rank == 0)
            printf("gendec attack: the generative classifier uses the best point of %s/sweep.h5: beta %g b %g c %g "
                   "l %g yl %g yu %g (--no-sweep keeps the infer.* values)\n",
                   e->dir, point[0], point[1], point[2], point[3], point[4], point[5]);
        e->sweep_point = found;
    }
    const gd_cnn_spec* cs = gd_cnn_get_spec(e->cnn);
    const gd_cvae_spec* ms = gd_cvae_get_spec(e->gen.model);
    if (!st && (cs->h != ms->h || cs->w != ms->w))
        st = gd_error_set(err, GD_EINVAL, e->gen.model_path, 0, 0, "use the c-VAE and CNN of the same run",
                          "the c-VAE makes %d x %d images, the CNN %s takes %d x %d", ms->h, ms->w, e->cnn_path, cs->h,
                          cs->w);
    return st;
}

/* A view of rows [r0, r0 + n) of infer results (no copy). */
static gd_infer_results rows_view(const gd_infer_results* r, int64_t r0, int64_t n) {
    gd_infer_results v = *r;
    v.N = n;
    v.ystar = r->ystar + r0 * r->n;
    v.zstar = r->zstar + r0 * r->p;
    v.ydec = r->ydec + r0 * r->n;
    v.loss3 = r->loss3 + r0;
    v.loss2 = r->loss2 + r0;
    v.steps = r->steps + r0;
    v.noise = r->noise + r0;
    v.n_ambiguous = r->n_ambiguous + r0;
    v.n_candidates = r->n_candidates + r0;
    v.time = r->time + r0;
    v.trace = NULL;
    v.trace_len = 0;
    return v;
}

/* The generative classifier's verdicts on N images x (rank 0) over every rank. */
static gd_status classify_gen(attack_env* e, const float* x, int64_t N, uint64_t index0, const char* label,
                              gd_infer_results* r, gd_infer_results* alt, gd_error* err) {
    int rank = cli_rank();
    memset(r, 0, sizeof *r);
    memset(alt, 0, sizeof *alt);
    gd_status st = GD_OK;
    int n = e->gen.n ? e->gen.n : gd_infer_n(e->gen.solver), p = gd_infer_p(e->gen.solver);
    if (rank == 0) {
        st = gd_infer_results_alloc(r, N, n, p, 0, err);
        if (!st) st = gd_infer_results_alloc(alt, N, n, p, 0, err);
    }
    if ((st = gd_dist_agree(st, MPI_COMM_WORLD, err))) return st;
    cli_progress prog;
    cli_progress_start(&prog, label, (double)N);
    gd_infer_eval_opts eo = {.dynamic = gd_config_is(e->cfg, "infer.schedule", "dynamic"),
                             .progress = cli_infer_progress,
                             .progress_ctx = &prog,
                             .alt_rule = 1,
                             .alt = rank == 0 ? alt : NULL};
    st = gd_infer_eval(e->gen.solver, rank == 0 ? x : NULL, N, index0, &eo, rank == 0 ? r : NULL, MPI_COMM_WORLD, err);
    cli_progress_end(&prog, NULL);
    return st;
}

/* Writes the options of the generative classifier as attributes of `group`. */
static gd_status gen_attrs(gd_h5* f, const char* group, const attack_env* e, gd_error* err) {
    const gd_infer_opts* o = &e->gen.opts;
    gd_status st;
    if ((st = gd_h5_attr_set_str(f, group, "rule", gd_infer_rule_name(o->rule), err)) ||
        (st = gd_h5_attr_set_str(f, group, "alt_rule",
                                 o->rule == GD_INFER_RULE_TOP3 ? "enumerate" : "top3", err)) ||
        (st = gd_h5_attr_set_i64(f, group, "binarize_input", o->binarize_input, err)) ||
        (st = gd_h5_attr_set_f64(f, group, "l", o->l, err)) ||
        (st = gd_h5_attr_set_i64(f, group, "from_sweep", e->sweep_point, err)) ||
        (st = gd_h5_attr_set_str(f, group, "model", e->gen.model_path, err)))
        return st;
    return GD_OK;
}

/* Scaled copies of a grid of 28x28-ish images with labels, written as PNG (rank 0). */
static gd_status write_grid(const char* path, const float* imgs, int n, int h, int w, int cols, char (*labels)[24],
                            gd_error* err) {
    const char* lab[512];
    if (n > 512) n = 512;
    for (int i = 0; i < n; i++) lab[i] = labels[i];
    gd_png_grid g = {.rows = (n + cols - 1) / cols, .cols = cols, .pad = 4, .scale = h <= 32 ? 3 : 1,
                     .labels = lab, .background = 0.25f};
    return gd_png_write_grid(path, imgs, n, 1, h, w, &g, err);
}

/* ==== fgm ==================================================================================================== */

static void sweep_progress(void* ctx, size_t done, size_t total) {
    (void)total;
    cli_progress_update(ctx, (double)done, NULL);
}

static int attack_fgm(int argc, char** argv) {
    attack_args a = {.what = "fgm"};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_EXIT_OK) return rc;
    int rank = cli_rank();
    gd_error err;
    gd_error_clear(&err);
    enum { CHUNK = 100 };
    attack_env e;
    gd_dataset ds;
    memset(&ds, 0, sizeof ds);
    float* x = NULL;
    int32_t* labels = NULL;
    gd_fgm_sweep_result sw;
    memset(&sw, 0, sizeof sw);
    gd_infer_results* vr = NULL;
    gd_status st = env_open(&e, &a, CHUNK, &err);
    /* The test images: rank 0 reads them (through the data cache), every rank gets a copy. */
    int64_t info[5] = {0, 0, 0, 0, 0}; /* N, h, w, n_components, start */
    if (!st && rank == 0) {
        gd_data_opts dop;
        st = gd_data_opts_from_config(e.cfg, &dop, &err);
        if (!st && a.data_dir && *a.data_dir) snprintf(dop.root, sizeof dop.root, "%.1000s", a.data_dir);
        const char* root = a.results && *a.results ? a.results : "results";
        char rdir[1100], cache[1200];
        snprintf(rdir, sizeof rdir, "%s/%s", root, gd_config_string(e.cfg, "experiment.name"));
        if (!st) st = cli_mkdirs(rdir, &err);
        if (!st) {
            gd_data_cache_path(e.cfg, root, cache, sizeof cache);
            int reused = 0;
            st = gd_data_prepare(&dop, e.yaml, cache, 0, &ds, &reused, NULL, &err);
        }
        gd_split sp;
        if (!st) st = gd_dataset_split(&ds, "test", &sp, &err);
        if (!st) {
            int64_t n = gd_config_int(e.cfg, "attack.fgm.n_images");
            info[0] = n > 0 && n < sp.count ? n : sp.count;
            info[1] = ds.h, info[2] = ds.w, info[3] = ds.n_components, info[4] = sp.start;
            const gd_cnn_spec* cs = gd_cnn_get_spec(e.cnn);
            if (cs->h != ds.h || cs->w != ds.w || cs->n_classes != ds.n_classes)
                st = gd_error_set(&err, GD_EINVAL, e.cnn_path, 0, 0, "use the CNN trained on this data set",
                                  "the CNN takes %d x %d images of %d classes, the data set has %d x %d of %d", cs->h,
                                  cs->w, cs->n_classes, ds.h, ds.w, ds.n_classes);
            for (int64_t i = 0; i < info[0] && !st; i++)
                if (ds.classes[sp.start + i] < 0)
                    st = gd_error_set(&err, GD_EINVAL, NULL, 0, 0, "FGM needs single-class test images",
                                      "test image %lld has no class", (long long)i);
        }
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    MPI_Bcast(info, 5, MPI_INT64_T, 0, MPI_COMM_WORLD);
    const int64_t N = info[0];
    const int H = (int)info[1], W = (int)info[2], D = H * W;
    if (!st) {
        x = malloc(sizeof(float) * (size_t)N * D + 1);
        labels = malloc(sizeof(int32_t) * (size_t)N + 1);
        if (!x || !labels) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (%lld images)", (long long)N);
        if (!st && rank == 0) {
            memcpy(x, ds.images + info[4] * D, sizeof(float) * (size_t)N * D);
            memcpy(labels, ds.classes + info[4], sizeof(int32_t) * (size_t)N);
        }
        st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    }
    if (!st) {
        for (int64_t off = 0; off < (int64_t)N * D; off += 1 << 28) {
            int64_t cnt = (int64_t)N * D - off < (1 << 28) ? (int64_t)N * D - off : (1 << 28);
            MPI_Bcast(x + off, (int)cnt, MPI_FLOAT, 0, MPI_COMM_WORLD);
        }
        MPI_Bcast(labels, (int)N, MPI_INT32_T, 0, MPI_COMM_WORLD);
    }
    /* The sweep. */
    size_t n_eps = 0;
    const double* eps_d = st ? NULL : gd_config_floats(e.cfg, "attack.fgm.eps", &n_eps);
    float eps[64];
    if (!st && n_eps > 64) st = gd_config_error(e.cfg, "attack.fgm.eps", &err, NULL, "at most 64 eps values");
    for (size_t i = 0; i < n_eps && i < 64; i++) eps[i] = (float)eps_d[i];
    cli_progress prog;
    double t0 = gd_now(), t_sweep = 0;
    gd_attack_model m;
    if (!st) {
        gd_attack_model_cnn(&m, e.cnn);
        gd_fgm_sweep_opts o = {.eps = eps,
                               .n_eps = (int)n_eps,
                               .norm = gd_config_is(e.cfg, "attack.fgm.norm", "l2") ? GD_ATTACK_L2 : GD_ATTACK_LINF,
                               .pgd_steps = (int)gd_config_int(e.cfg, "attack.fgm.pgd_steps"),
                               .pgd_alpha = (float)gd_config_float(e.cfg, "attack.fgm.pgd_alpha"),
                               .pgd_random_start = gd_config_bool(e.cfg, "attack.fgm.random_start") == 1,
                               .seed = (uint64_t)gd_config_int(e.cfg, "seed"),
                               .chunk = CHUNK,
                               .binarize = 0.5f,
                               .dynamic = 1,
                               .progress = sweep_progress,
                               .progress_ctx = &prog};
        cli_progress_start(&prog, "fgm", (double)((N + CHUNK - 1) / CHUNK * (int64_t)n_eps));
        st = gd_fgm_sweep(&o, x, labels, N, D, &m, &sw, MPI_COMM_WORLD, &err);
        cli_progress_end(&prog, NULL);
        t_sweep = gd_now() - t0;
        if (st == GD_EINVAL && strstr(err.msg, "eps")) {
            gd_error e2 = err;
            st = gd_config_error(e.cfg, "attack.fgm.eps", &err, e2.hint, "%s", e2.msg);
        }
    }
    /* The generative classifier on every eps. */
    double gen_acc[64], gen_rej[64], gen_alt[64];
    if (!st && a.generative) {
        vr = calloc(2 * n_eps, sizeof *vr);
        if (!vr) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        for (size_t k = 0; k < n_eps && !st; k++) {
            char label[64];
            snprintf(label, sizeof label, "generative eps %g", (double)eps[k]);
            st = classify_gen(&e, rank == 0 ? sw.x_adv + k * (size_t)N * D : NULL, N, (uint64_t)info[4], label,
                              &vr[2 * k], &vr[2 * k + 1], &err);
            if (!st && rank == 0) {
                int n = (int)info[3];
                gd_infer_metrics mm, ma;
                gd_infer_summary sm, sa;
                gd_infer_metrics_init(&mm, n);
                gd_infer_metrics_init(&ma, n);
                gd_infer_metrics_add(&mm, ds.labels + info[4] * n, vr[2 * k].ystar, vr[2 * k].ydec, vr[2 * k].noise, N);
                gd_infer_metrics_add(&ma, ds.labels + info[4] * n, vr[2 * k + 1].ystar, vr[2 * k + 1].ydec,
                                     vr[2 * k + 1].noise, N);
                gd_infer_metrics_summary(&mm, &sm);
                gd_infer_metrics_summary(&ma, &sa);
                gen_acc[k] = sm.exact, gen_rej[k] = sm.rejection, gen_alt[k] = sa.exact;
            }
        }
    }
    double t_all = gd_now() - t0;
    /* fgm.h5, fgm.png and the table (rank 0). */
    if (!st && rank == 0) {
        char path[1200];
        snprintf(path, sizeof path, "%s/fgm.h5", e.dir);
        gd_h5* f = NULL;
        st = cli_mkdirs(e.dir, &err);
        if (!st) st = gd_h5_create(path, "fgm", e.yaml, MPI_COMM_NULL, &f, &err);
        if (!st) st = gd_fgm_sweep_write(f, &sw, labels, H, W, &err);
        int64_t* index = malloc(sizeof(int64_t) * (size_t)N + 1);
        if (!index && !st) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        for (int64_t i = 0; index && i < N; i++) index[i] = info[4] + i;
        if (!st) st = gd_h5_write(f, "index", GD_I64, 1, (size_t[]){(size_t)N}, index, 0, &err);
        free(index);
        if (!st) st = gd_h5_attr_set_str(f, "/", "norm", gd_config_string(e.cfg, "attack.fgm.norm"), &err);
        if (!st) st = gd_h5_attr_set_i64(f, "/", "pgd_steps", gd_config_int(e.cfg, "attack.fgm.pgd_steps"), &err);
        if (!st) st = gd_h5_attr_set_i64(f, "/", "pgd_random_start", gd_config_bool(e.cfg, "attack.fgm.random_start") == 1, &err);
        if (!st) st = gd_h5_attr_set_str(f, "/", "cnn", e.cnn_path, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "binarized_cnn", "threshold", 0.5, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "/", "seconds_attack", t_sweep, &err);
        if (!st && a.generative) {
            for (size_t k = 0; k < n_eps && !st; k++) {
                st = gd_attack_write_verdicts(f, "generative", (int)k, (int)n_eps, &vr[2 * k], &err);
                if (!st) st = gd_attack_write_verdicts(f, "generative_alt", (int)k, (int)n_eps, &vr[2 * k + 1], &err);
            }
            if (!st) st = gd_h5_write(f, "generative/accuracy", GD_F64, 1, (size_t[]){n_eps}, gen_acc, 0, &err);
            if (!st) st = gd_h5_write(f, "generative/rejected", GD_F64, 1, (size_t[]){n_eps}, gen_rej, 0, &err);
            if (!st) st = gd_h5_write(f, "generative_alt/accuracy", GD_F64, 1, (size_t[]){n_eps}, gen_alt, 0, &err);
            if (!st) st = gen_attrs(f, "generative", &e, &err);
        }
        if (!st) st = gd_h5_commit(f, &err);
        else gd_h5_abort(f);
        if (!st) {
            /* PNG: the first 10 images at every eps, labelled with the CNN / binarized CNN / generative answers. */
            int cols = N < 10 ? (int)N : 10, n_img = cols * (int)n_eps;
            float* im = malloc(sizeof(float) * (size_t)n_img * D + 1);
            char(*lab)[24] = calloc((size_t)n_img + 1, 24);
            if (im && lab) {
                int n = (int)info[3];
                for (size_t k = 0; k < n_eps; k++)
                    for (int i = 0; i < cols; i++) {
                        size_t row = k * (size_t)N + (size_t)i, cell = k * (size_t)cols + (size_t)i;
                        memcpy(im + cell * D, sw.x_adv + row * D, sizeof(float) * D);
                        char g[8] = "";
                        if (a.generative) {
                            const gd_infer_results* r = &vr[2 * k];
                            int c = -1, ones = 0;
                            for (int j = 0; j < n; j++)
                                if (r->ydec[(size_t)i * n + j]) c = j, ones++;
                            if (r->noise[i]) snprintf(g, sizeof g, " N");
                            else if (ones == 1) snprintf(g, sizeof g, " %d", c);
                            else snprintf(g, sizeof g, " ?");
                        }
                        snprintf(lab[cell], 24, "%d %d%s", sw.pred[row], sw.bin_pred[row], g);
                    }
                snprintf(path, sizeof path, "%s/fgm.png", e.dir);
                st = write_grid(path, im, n_img, H, W, cols, lab, &err);
            }
            free(im);
            free(lab);
        }
        if (!st) {
            printf("gendec attack fgm: %lld test images, %s, %s in %.1f s on %d rank%s (attack + CNNs %.1f s, "
                   "%.0f images/s)\n",
                   (long long)N, gd_config_string(e.cfg, "attack.fgm.norm"),
                   gd_config_int(e.cfg, "attack.fgm.pgd_steps") > 0 ? "PGD" : "FGM", t_all, cli_world_size(), cli_world_size() > 1 ? "s" : "", t_sweep,
                   t_sweep > 0 ? (double)N * n_eps / t_sweep : 0.0);
            printf("  %-6s %-8s %-14s", "eps", "CNN", "binarized CNN");
            if (a.generative)
                printf(" %-20s %-9s %s rule", "generative", "rejected",
                       e.gen.opts.rule == GD_INFER_RULE_TOP3 ? "enumerate" : "top3");
            printf("\n");
            for (size_t k = 0; k < n_eps; k++) {
                printf("  %-6.3g %-8.4f %-14.4f", (double)eps[k], sw.acc[k], sw.bin_acc[k]);
                if (a.generative) printf(" %-20.4f %-9.4f %.4f", gen_acc[k], gen_rej[k], gen_alt[k]);
                printf("\n");
            }
            if (a.generative)
                printf("  generative: %s rule, %s input, l %g (accuracy = exact match, rejected counts as wrong)\n",
                       gd_infer_rule_name(e.gen.opts.rule), e.gen.opts.binarize_input ? "binarized" : "raw",
                       (double)e.gen.opts.l);
            printf("  wrote %s/fgm.h5 and %s/fgm.png\n", e.dir, e.dir);
        }
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    for (size_t k = 0; vr && k < 2 * n_eps; k++) gd_infer_results_free(&vr[k]);
    free(vr);
    gd_fgm_sweep_result_free(&sw);
    free(x);
    free(labels);
    gd_dataset_free(&ds);
    env_close(&e);
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}

/* ==== neat =================================================================================================== */

typedef struct {
    cli_progress* prog;
    int done_before; /* generations of earlier runs of this rank */
} neat_progress_ctx;

static void neat_progress(void* ctx, int generation, float best_conf, int n_kept) {
    neat_progress_ctx* c = ctx;
    char extra[96];
    snprintf(extra, sizeof extra, "best %.4f kept %d", (double)best_conf, n_kept);
    cli_progress_update(c->prog, (double)(c->done_before + generation + 1), extra);
}

/* Per run progress on rank 0: gd_neat_campaign calls gd_neat_run per run with cfg->run.progress; the
 * generation counter restarts at 0 for every run, so the context counts runs finished before. */
typedef struct {
    neat_progress_ctx base;
    int generations, last_gen;
} neat_prog_state;

static void neat_progress_runs(void* ctx, int generation, float best_conf, int n_kept) {
    neat_prog_state* s = ctx;
    if (generation < s->last_gen) s->base.done_before += s->last_gen + 1;
    s->last_gen = generation;
    neat_progress(&s->base, generation, best_conf, n_kept);
}

static int attack_neat(int argc, char** argv) {
    attack_args a = {.what = "neat"};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_EXIT_OK) return rc;
    int rank = cli_rank(), size = cli_world_size();
    gd_error err;
    gd_error_clear(&err);
    attack_env e;
    gd_neat_run_result* runs = NULL;
    float *X = NULL, *bx = NULL, *probs = NULL;
    gd_infer_results vr, va;
    memset(&vr, 0, sizeof vr);
    memset(&va, 0, sizeof va);
    /* The CNN takes a whole population per call. */
    gd_config* pre = NULL;
    gd_status st = gd_config_load(&pre, a.yaml, a.sets, a.n_sets, &err);
    int pop = st ? 2 : (int)gd_config_int(pre, "attack.neat.population");
    gd_config_free(pre);
    if (!st) st = env_open(&e, &a, pop > 1024 ? 1024 : pop, &err);
    else memset(&e, 0, sizeof e);
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    gd_neat_params np;
    if (!st) st = gd_dist_agree(gd_neat_params_from_config(e.cfg, &np, &err), MPI_COMM_WORLD, &err);
    const gd_cnn_spec* cs = e.cnn ? gd_cnn_get_spec(e.cnn) : NULL;
    const int H = cs ? cs->h : 0, W = cs ? cs->w : 0, D = H * W, C = cs ? cs->n_classes : 0;
    size_t n_t = 0, n_s = 0;
    const int64_t* targets64 = st ? NULL : gd_config_ints(e.cfg, "attack.neat.targets", &n_t);
    const int64_t* seeds64 = st ? NULL : gd_config_ints(e.cfg, "attack.neat.seeds", &n_s);
    int32_t targets[64];
    uint64_t seeds[256];
    if (!st && (n_t > 64 || n_s > 256))
        st = gd_config_error(e.cfg, n_t > 64 ? "attack.neat.targets" : "attack.neat.seeds", &err, NULL,
                             "at most 64 targets and 256 seeds");
    for (size_t i = 0; i < n_t && !st; i++) {
        targets[i] = (int32_t)targets64[i];
        if (targets[i] < 0 || targets[i] >= C)
            st = gd_config_error(e.cfg, "attack.neat.targets", &err, "list classes of the CNN",
                                 "target class %d: the CNN %s has %d classes", targets[i], e.cnn_path, C);
    }
    for (size_t i = 0; i < n_s; i++) seeds[i] = (uint64_t)seeds64[i];
    const float threshold = st ? 0 : (float)gd_config_float(e.cfg, "attack.neat.threshold");
    const int G = st ? 0 : (int)gd_config_int(e.cfg, "attack.neat.generations");
    /* The campaign. */
    cli_progress prog;
    neat_prog_state ps = {{&prog, 0}, G, -1};
    double t0 = gd_now(), t_evolve = 0;
    if (!st) {
        gd_neat_campaign_config cc = {
            .run = {.height = H, .width = W, .classes = C, .generations = G, .threshold = threshold,
                    .max_keep = (int)gd_config_int(e.cfg, "attack.neat.max_keep"),
                    .keep_per_generation = (int)gd_config_int(e.cfg, "attack.neat.keep_per_generation"),
                    .progress = neat_progress_runs, .progress_ctx = &ps},
            .targets = targets, .n_targets = (int)n_t, .seeds = seeds, .n_seeds = (int)n_s};
        size_t begin, end;
        gd_dist_block(n_t * n_s, 0, size, &begin, &end);
        cli_progress_start(&prog, "neat (rank 0's runs)", (double)(end - begin) * G);
        st = gd_neat_campaign(&np, &cc, gd_attack_cnn_classify, e.cnn, &runs, MPI_COMM_WORLD, &err);
        cli_progress_end(&prog, NULL);
        t_evolve = gd_now() - t0;
    }
    /* The fooling images and uniform-noise images for comparison, on rank 0. */
    int64_t K = 0, M = st ? 0 : gd_config_int(e.cfg, "attack.neat.n_noise_test");
    int R = (int)(n_t * n_s);
    if (!st && rank == 0) {
        for (int r = 0; r < R; r++) K += runs[r].n_kept;
        X = malloc(sizeof(float) * (size_t)(K + M) * D + 1);
        bx = malloc(sizeof(float) * (size_t)(K + M) * D + 1);
        probs = malloc(sizeof(float) * (size_t)(K + M) * C + 1);
        if (!X || !bx || !probs) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        int64_t k = 0;
        for (int r = 0; r < R && !st; r++)
            for (int j = 0; j < runs[r].n_kept; j++, k++)
                memcpy(X + k * D, runs[r].images + (size_t)j * D, sizeof(float) * D);
        /* Noise image j: pixels from the stream (seed, GD_STREAM_NEAT, GD_NEAT_NOISE_INDEX + j). */
        for (int64_t j = 0; j < M && !st; j++) {
            gd_rng rng;
            gd_rng_init(&rng, (uint64_t)gd_config_int(e.cfg, "seed"), GD_STREAM_NEAT, (uint64_t)1000000 + (uint64_t)j);
            for (int i = 0; i < D; i++) X[(K + j) * D + i] = gd_rng_uniform(&rng);
        }
        /* The binarized CNN on everything (and the raw CNN on the noise images). */
        if (!st) {
            gd_attack_binarize(X, (size_t)(K + M) * D, 0.5f, bx);
            st = gd_attack_cnn_classify(e.cnn, bx, (int)(K + M), probs, &err);
        }
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    int64_t KM[2] = {K, M};
    MPI_Bcast(KM, 2, MPI_INT64_T, 0, MPI_COMM_WORLD);
    K = KM[0];
    if (!st && a.generative && K + M > 0)
        st = classify_gen(&e, X, K + M, 0, "generative", &vr, &va, &err);
    double t_all = gd_now() - t0;
    if (!st && rank == 0) {
        int32_t* bpred = malloc(sizeof(int32_t) * (size_t)(K + M) + 1);
        float* bpt = malloc(sizeof(float) * (size_t)(K + M) + 1); /* binarized: target probability */
        float* raw = malloc(sizeof(float) * (size_t)M * C + 1);
        int32_t* npred = malloc(sizeof(int32_t) * (size_t)M + 1);
        float* nconf = malloc(sizeof(float) * (size_t)M + 1);
        if (!bpred || !bpt || !raw || !npred || !nconf) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        int64_t bin_fooled = 0, noise_flag = 0, noise_flag_alt = 0, k = 0;
        for (int r = 0; r < R && !st; r++)
            for (int j = 0; j < runs[r].n_kept; j++, k++) {
                const float* pr = probs + k * C;
                int best = 0;
                for (int c = 1; c < C; c++) best = pr[c] > pr[best] ? c : best;
                bpred[k] = best;
                bpt[k] = pr[runs[r].target];
                bin_fooled += pr[runs[r].target] > threshold;
                if (a.generative) noise_flag += vr.noise[k], noise_flag_alt += va.noise[k];
            }
        for (int64_t j = 0; j < M && !st; j++) {
            const float* pr = probs + (K + j) * C;
            int best = 0;
            for (int c = 1; c < C; c++) best = pr[c] > pr[best] ? c : best;
            bpred[K + j] = best, bpt[K + j] = pr[best];
        }
        if (!st && M > 0) st = gd_attack_cnn_classify(e.cnn, X + K * D, (int)M, raw, &err);
        int64_t noise_noise = 0;
        for (int64_t j = 0; j < M && !st; j++) {
            int best = 0;
            for (int c = 1; c < C; c++) best = raw[j * C + c] > raw[j * C + best] ? c : best;
            npred[j] = best, nconf[j] = raw[j * C + best];
            if (a.generative) noise_noise += vr.noise[K + j];
        }
        /* neat.h5 */
        char path[1200];
        snprintf(path, sizeof path, "%s/neat.h5", e.dir);
        gd_h5* f = NULL;
        if (!st) st = cli_mkdirs(e.dir, &err);
        if (!st) st = gd_h5_create(path, "neat", e.yaml, MPI_COMM_NULL, &f, &err);
        if (!st) st = gd_neat_runs_write(f, runs, R, &err);
        if (!st) st = gd_h5_write(f, "fooling/binarized_cnn/pred", GD_I32, 1, (size_t[]){(size_t)K}, bpred, 0, &err);
        if (!st) st = gd_h5_write(f, "fooling/binarized_cnn/p_target", GD_F32, 1, (size_t[]){(size_t)K}, bpt, 0, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "fooling", "threshold", threshold, &err);
        if (!st) st = gd_h5_attr_set_i64(f, "fooling", "count", K, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "fooling", "binarized_cnn_fooled", K ? (double)bin_fooled / K : NAN, &err);
        if (!st) st = gd_h5_attr_set_str(f, "/", "cnn", e.cnn_path, &err);
        if (!st) st = gd_h5_attr_set_f64(f, "/", "seconds_evolve", t_evolve, &err);
        if (!st && a.generative) {
            gd_infer_results v = rows_view(&vr, 0, K), w = rows_view(&va, 0, K);
            st = gd_attack_write_verdicts(f, "fooling/generative", 0, 0, &v, &err);
            if (!st) st = gd_attack_write_verdicts(f, "fooling/generative_alt", 0, 0, &w, &err);
            if (!st) st = gen_attrs(f, "fooling/generative", &e, &err);
            if (!st) st = gd_h5_attr_set_f64(f, "fooling", "generative_noise", K ? (double)noise_flag / K : NAN, &err);
            if (!st)
                st = gd_h5_attr_set_f64(f, "fooling", "generative_alt_noise", K ? (double)noise_flag_alt / K : NAN, &err);
        }
        if (!st && M > 0) {
            st = gd_h5_write(f, "noise/images", GD_F32, 3, (size_t[]){(size_t)M, (size_t)H, (size_t)W}, X + K * D, 1, &err);
            if (!st) st = gd_h5_write(f, "noise/cnn/pred", GD_I32, 1, (size_t[]){(size_t)M}, npred, 0, &err);
            if (!st) st = gd_h5_write(f, "noise/cnn/p_pred", GD_F32, 1, (size_t[]){(size_t)M}, nconf, 0, &err);
            if (!st) st = gd_h5_write(f, "noise/binarized_cnn/pred", GD_I32, 1, (size_t[]){(size_t)M}, bpred + K, 0, &err);
            if (!st && a.generative) {
                gd_infer_results v = rows_view(&vr, K, M);
                st = gd_attack_write_verdicts(f, "noise/generative", 0, 0, &v, &err);
                if (!st) st = gd_h5_attr_set_f64(f, "noise", "generative_noise", (double)noise_noise / M, &err);
            }
        }
        if (!st) st = gd_h5_commit(f, &err);
        else gd_h5_abort(f);
        /* neat.png (Fig. 5): per run its first fooling image (else its best image), over the generative
         * classifier's reconstruction x_f(z*, y*) of it. */
        if (!st && R > 0) {
            int cols = R < 10 ? R : 10, rows_img = (R + cols - 1) / cols, per = a.generative ? 2 : 1;
            int n_img = rows_img * cols * per;
            float* im = calloc((size_t)n_img * D + 1, sizeof(float));
            char(*lab)[24] = calloc((size_t)n_img + 1, 24);
            float* xf = a.generative ? malloc(sizeof(float) * (size_t)D) : NULL;
            if (!im || !lab || (a.generative && !xf)) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
            int64_t first = 0;
            for (int r = 0; r < R && !st; r++) {
                int gr = r / cols, gc = r % cols;
                size_t top = ((size_t)gr * per) * cols + gc, bottom = top + (size_t)cols;
                if (runs[r].n_kept > 0) {
                    memcpy(im + top * D, runs[r].images, sizeof(float) * D);
                    snprintf(lab[top], 24, "%d %.3f", runs[r].target, (double)runs[r].confidence[0]);
                    if (a.generative) {
                        int n = vr.n, c = -1, ones = 0;
                        st = gd_cvae_decode(e.gen.model, vr.zstar + first * vr.p, vr.ystar + first * n, xf, 1, 0, &err);
                        if (!st) memcpy(im + bottom * D, xf, sizeof(float) * D);
                        for (int j = 0; j < n; j++)
                            if (vr.ydec[first * n + j]) c = j, ones++;
                        if (vr.noise[first]) snprintf(lab[bottom], 24, "NOISE");
                        else if (ones == 1) snprintf(lab[bottom], 24, "AS %d", c);
                        else snprintf(lab[bottom], 24, "AS ?");
                    }
                } else {
                    memcpy(im + top * D, runs[r].best_image, sizeof(float) * D);
                    snprintf(lab[top], 24, "%d (%.2f)", runs[r].target, (double)runs[r].best_conf);
                }
                first += runs[r].n_kept;
            }
            snprintf(path, sizeof path, "%s/neat.png", e.dir);
            if (!st) st = write_grid(path, im, n_img, H, W, cols, lab, &err);
            free(im), free(lab), free(xf);
        }
        if (!st) {
            long evals = 0;
            for (int r = 0; r < R; r++) evals += runs[r].evaluations;
            printf("gendec attack neat: %d population%s (targets x seeds) of %d, up to %d generations, in %.1f s on %d "
                   "rank%s (evolution %.1f s, %.0f genome evaluations/s)\n",
                   R, R > 1 ? "s" : "", np.pop_size, G, t_all, size, size > 1 ? "s" : "", t_evolve,
                   t_evolve > 0 ? evals / t_evolve : 0.0);
            printf("  %-7s %-6s %-10s %-8s %-9s %s\n", "target", "seed", "best conf", "kept", "first at", "generations");
            for (int r = 0; r < R; r++) {
                char at[16] = "-";
                if (runs[r].n_kept) snprintf(at, sizeof at, "%d", runs[r].generation[0]);
                printf("  %-7d %-6llu %-10.4f %-8d %-9s %d\n", runs[r].target, (unsigned long long)runs[r].seed,
                       (double)runs[r].best_conf, runs[r].n_kept, at, runs[r].n_generations);
            }
            printf("  fooling images (CNN target confidence > %g): %lld", (double)threshold, (long long)K);
            if (K) printf("; binarized CNN still fooled: %.4f", (double)bin_fooled / K);
            printf("\n");
            if (a.generative && K)
                printf("  generative classifier (%s rule, %s input): identified as noise %.4f (%s rule %.4f); "
                       "paper: 0.906\n",
                       gd_infer_rule_name(e.gen.opts.rule), e.gen.opts.binarize_input ? "binarized" : "raw",
                       K ? (double)noise_flag / K : NAN, e.gen.opts.rule == GD_INFER_RULE_TOP3 ? "enumerate" : "top3",
                       K ? (double)noise_flag_alt / K : NAN);
            if (M > 0 && a.generative)
                printf("  uniform noise images: %lld, identified as noise %.4f\n", (long long)M, (double)noise_noise / M);
            printf("  wrote %s/neat.h5 and %s/neat.png\n", e.dir, e.dir);
        }
        free(bpred), free(bpt), free(raw), free(npred), free(nconf);
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    if (runs)
        for (int r = 0; r < R; r++) gd_neat_run_result_free(&runs[r]);
    free(runs);
    free(X), free(bx), free(probs);
    gd_infer_results_free(&vr);
    gd_infer_results_free(&va);
    env_close(&e);
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}

int cmd_attack(int argc, char** argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s", attack_usage);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (cli_wants_help(argc, argv)) {
        printf("%s", attack_usage);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "fgm")) return attack_fgm(argc - 1, argv + 1);
    if (!strcmp(argv[1], "neat")) return attack_neat(argc - 1, argv + 1);
    return cli_usage_error("attack", "unknown attack '%s' (fgm or neat)", argv[1]);
}
