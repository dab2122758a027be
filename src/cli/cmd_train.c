/* gendec train <experiment.yaml>: trains the c-VAE (or the CNN baseline) on 1 rank or under mpiexec. */
#include <cblas.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/data.h"
#include "gendec/dist.h"
#include "gendec/train.h"

static const char* train_usage =
    "usage: gendec train <experiment.yaml> [--set key=value]... [--out DIR] [--data-dir DIR] [--resume]\n"
    "                    [--model cvae|cnn] [--check-sync N]\n\n"
    "Trains the decomposing c-VAE (default) or the CNN baseline (--model cnn) on the experiment's training split,\n"
    "on one rank or under mpiexec -n R (the global batch, train.batch / cnn.batch, is split over the ranks).\n"
    "Writes DIR/model.h5 (c-VAE) or DIR/cnn.h5 (CNN): weights, Adam state, step, per-epoch loss terms, the\n"
    "resolved config, code revision, world size, wall time and images/s. DIR defaults to results/<experiment>;\n"
    "the data cache goes to DIR/data-<hash>.h5.\n\n"
    "  --set key=value  override a config key (repeatable; see 'gendec config --help')\n"
    "  --out DIR        output folder\n"
    "  --data-dir DIR   where the data set's files are (default $GD_DATA_DIR or ./data)\n"
    "  --resume         continue from DIR/model.h5 (or cnn.h5) bit-exactly; the config must be the same except\n"
    "                   for the number of epochs / steps (no file yet: start from step 0)\n"
    "  --model cvae|cnn what to train\n"
    "  --check-sync N   debug: compare a checksum of the weights across ranks every N steps\n\n"
    "A checkpoint is written every train.checkpoint_every steps and when the process receives SIGTERM, SIGUSR1\n"
    "or SIGUSR2 (Slurm's warning before a time limit or preemption): then gendec exits with code 75 and\n"
    "'--resume' continues the run. Progress goes to stderr on rank 0: a live bar on a terminal, a plain line\n"
    "every train.log_every steps otherwise.\n";

/* Creates a folder and its parents (like mkdir -p). */
static int make_dirs(const char* path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char* p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

typedef struct {
    cli_progress bar;
    int64_t log_every;
    int rank;
} progress_state;

/* Formats "name value" pairs of the metrics. */
static void metric_text(char* buf, size_t n, const gd_train_progress* p, const double* v) {
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < p->n_metrics && len < n; j++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s %.4g", j ? " " : "", p->metric_names[j], v[j]);
}

static void on_progress(void* user, const gd_train_progress* p) {
    progress_state* s = user;
    if (s->rank != 0) return;
    char m[256], extra[400];
    metric_text(m, sizeof m, p, p->metrics);
    snprintf(extra, sizeof extra, "%s, %.0f img/s", m, p->images_per_second);
    if (p->epoch_end) {
        char e[256];
        metric_text(e, sizeof e, p, p->epoch_metrics);
        if (s->bar.tty) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "epoch %lld: %s (step %lld/%lld, %.0f img/s)%s\n", (long long)p->epoch, e, (long long)p->step,
                (long long)p->total_steps, p->images_per_second, p->checkpointed ? ", checkpoint written" : "");
    } else if (!s->bar.tty && s->log_every > 0 && p->step % s->log_every == 0) {
        fprintf(stderr, "step %lld/%lld: %s\n", (long long)p->step, (long long)p->total_steps, extra);
    }
    if (s->bar.tty) cli_progress_update(&s->bar, (double)p->step, extra);
}

/* Prints the error on rank 0 only (the trainer's errors are collective) and returns the exit code. */
static int fail_collective(const gd_error* err, int rank) {
    if (rank == 0) {
        char buf[2560];
        gd_error_format(err, buf, sizeof buf);
        fprintf(stderr, "gendec: %s\n", buf);
    }
    return err->code == GD_EINTR ? CLI_EXIT_REQUEUE : CLI_EXIT_FAIL;
}

int cmd_train(int argc, char** argv) {
    const char* exp = NULL;
    const char* out = NULL;
    const char* data_dir = NULL;
    const char* model = "cvae";
    const char* sets[64];
    size_t n_sets = 0;
    int resume = 0;
    long check_sync = 0;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", train_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0) return cli_usage_error("train", "--set needs key=value");
            if (n_sets == 64) return cli_usage_error("train", "too many --set options");
            sets[n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--out", &out))) {
            if (t < 0) return cli_usage_error("train", "--out needs a folder");
        } else if ((t = cli_take(argc, argv, &i, "--data-dir", &data_dir))) {
            if (t < 0) return cli_usage_error("train", "--data-dir needs a folder");
        } else if ((t = cli_take(argc, argv, &i, "--model", &model))) {
            if (t < 0) return cli_usage_error("train", "--model needs cvae or cnn");
        } else if ((t = cli_take(argc, argv, &i, "--check-sync", &v))) {
            if (t < 0) return cli_usage_error("train", "--check-sync needs a number of steps");
            check_sync = strtol(v, NULL, 10);
        } else if (cli_flag(argv, i, "--resume")) {
            resume = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("train", "unknown option '%s'", argv[i]);
        } else if (!exp) {
            exp = argv[i];
        } else {
            return cli_usage_error("train", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!exp) return cli_usage_error("train", "which experiment? (an experiments/*.yaml file)");
    int is_cnn = !strcmp(model, "cnn");
    if (!is_cnn && strcmp(model, "cvae")) return cli_usage_error("train", "--model must be cvae or cnn, not '%s'", model);
    /* a signal from here on is seen by the training loop at its next step boundary */
    volatile sig_atomic_t* stop_requested = cli_stop_signals();
    int rank = cli_rank(), size = cli_world_size();
    MPI_Comm comm = size > 1 ? MPI_COMM_WORLD : MPI_COMM_NULL;
    gd_error err;
    gd_error_clear(&err);

    /* config (every rank parses it: a syntax error is the same everywhere) */
    gd_config* cfg = NULL;
    if (gd_config_load(&cfg, exp, sets, n_sets, &err)) return fail_collective(&err, rank);
    char* yaml = gd_config_emit(cfg);
    char outdir[1024], path[1100], cache[1100], hex[17];
    if (out) snprintf(outdir, sizeof outdir, "%s", out);
    else snprintf(outdir, sizeof outdir, "results/%s", gd_config_string(cfg, "experiment.name"));
    snprintf(path, sizeof path, "%s/%s", outdir, is_cnn ? "cnn.h5" : "model.h5");
    gd_config_hash_hex(gd_config_hash_sections(cfg, "seed,data"), hex);
    snprintf(cache, sizeof cache, "%s/data-%s.h5", outdir, hex);
    int64_t threads = gd_config_int(cfg, "train.threads");
    if (threads > 0) openblas_set_num_threads((int)threads);

    gd_status st = GD_OK;
    if (rank == 0 && make_dirs(outdir) != 0)
        st = gd_error_set(&err, GD_EIO, outdir, 0, 0, "check the path and permissions", "cannot create folder %s",
                          outdir);
    if (size > 1) st = gd_dist_agree(st, comm, &err);
    gd_dataset ds = {0};
    gd_data_opts dopts;
    if (!st) st = gd_data_opts_from_config(cfg, &dopts, &err);
    if (!st && data_dir && *data_dir) snprintf(dopts.root, sizeof dopts.root, "%.1000s", data_dir);
    /* rank 0 builds or reuses the cache; the others read it afterwards */
    int reused = 0;
    if (!st && rank == 0) st = gd_data_prepare(&dopts, yaml, cache, 0, &ds, &reused, NULL, &err);
    if (size > 1) st = gd_dist_agree(st, comm, &err);
    if (!st && rank != 0) st = gd_dataset_load_h5(cache, &ds, NULL, 0, NULL, &err);
    if (size > 1) st = gd_dist_agree(st, comm, &err);
    gd_split train;
    if (!st) st = gd_dataset_split(&ds, "train", &train, &err);
    if (st) {
        gd_dataset_free(&ds);
        gd_config_free(cfg);
        free(yaml);
        return fail_collective(&err, rank);
    }
    gd_train_data td = {ds.images + (size_t)train.start * ds.h * ds.w, ds.labels + (size_t)train.start * ds.n_components,
                        ds.classes + train.start, train.count, ds.h * ds.w, ds.n_components};

    /* A job restarted before its first checkpoint (killed, or requeued by Slurm before it saved anything) runs
     * with --resume but has nothing to resume from: it starts from step 0. */
    if (resume) {
        int absent = rank == 0 && access(path, F_OK) != 0 && errno == ENOENT;
        if (size > 1) MPI_Bcast(&absent, 1, MPI_INT, 0, comm);
        if (absent) {
            resume = 0;
            if (rank == 0) fprintf(stderr, "gendec train: --resume: no checkpoint %s yet, starting from step 0\n", path);
        }
    }
    gd_train_opts o;
    gd_train_opts_default(&o);
    o.global_batch = gd_config_int(cfg, is_cnn ? "cnn.batch" : "train.batch");
    o.epochs = gd_config_int(cfg, is_cnn ? "cnn.epochs" : "train.epochs");
    o.max_steps = gd_config_int(cfg, is_cnn ? "cnn.max_steps" : "train.max_steps");
    o.lr = gd_config_float(cfg, is_cnn ? "cnn.lr" : "train.lr");
    o.beta1 = gd_config_float(cfg, "train.beta1");
    o.beta2 = gd_config_float(cfg, "train.beta2");
    o.eps = gd_config_float(cfg, "train.eps");
    o.seed = (uint64_t)gd_config_int(cfg, "seed");
    o.checkpoint_every = gd_config_int(cfg, "train.checkpoint_every");
    o.check_sync_every = check_sync;
    o.progress_every = 10;
    o.path = path;
    o.kind = is_cnn ? "cnn" : "model";
    o.config_yaml = yaml;
    o.resume = resume;
    o.stop = stop_requested;
    o.comm = comm;
    const char* cm = gd_config_string(cfg, "train.comm");
    o.comm_mode = !strcmp(cm, "shm") ? GD_TRAIN_COMM_SHM : !strcmp(cm, "mpi") ? GD_TRAIN_COMM_MPI : GD_TRAIN_COMM_AUTO;
    char comps[GD_DATA_MAX_COMPONENTS * GD_DATA_NAME_LEN + 16] = "", cls[GD_DATA_MAX_CLASSES * GD_DATA_NAME_LEN + 16] = "";
    for (int i = 0; i < ds.n_components; i++) {
        if (i) strcat(comps, ",");
        strcat(comps, ds.component_names[i]);
    }
    for (int i = 0; i < ds.n_classes; i++) {
        if (i) strcat(cls, ",");
        strcat(cls, ds.class_names[i]);
    }
    const char* an[3] = {"component_names", "class_names", "data_set"};
    const char* av[3] = {comps, cls, ds.name};
    o.extra_attr_names = an, o.extra_attr_values = av, o.n_extra_attrs = 3;
    progress_state ps = {.log_every = gd_config_int(cfg, "train.log_every"), .rank = rank};
    o.progress = on_progress, o.progress_user = &ps;

    size_t b0, b1, local = 0;
    for (int r = 0; r < size; r++) {
        gd_dist_block((size_t)(o.global_batch > 0 ? o.global_batch : 1), r, size, &b0, &b1);
        if (b1 - b0 > local) local = b1 - b0;
    }
    if (local < 1) local = 1;
    gd_cvae* cvae = NULL;
    gd_cnn* cnn = NULL;
    gd_trainable t = {0};
    if (is_cnn) {
        gd_cnn_spec cs;
        st = gd_cnn_spec_from_config(cfg, ds.h, ds.w, ds.n_classes, &cs, &err);
        if (!st && ds.n_classes < 2)
            st = gd_error_set(&err, GD_ECONFIG, exp, 0, 0, "train the CNN on a set with classes",
                              "data set %s has no class labels", ds.name);
        if (!st) st = gd_cnn_create(&cs, (int)local, &cnn, &err);
        if (!st) st = gd_cnn_init_params(cnn, o.seed, &err);
        if (!st) st = gd_trainable_cnn(cnn, (int)local, &t, &err);
    } else {
        gd_cvae_spec cs;
        st = gd_cvae_spec_from_config(cfg, ds.h, ds.w, ds.n_components, &cs, &err);
        int active = gd_train_data_max_active(&td);
        if (!st) st = gd_cvae_create(&cs, (int)local, (int)local * (active > 0 ? active : 1), &cvae, &err);
        if (!st) st = gd_cvae_init_params(cvae, o.seed, &err);
        if (!st) st = gd_trainable_cvae(cvae, o.seed, (int)local, &t, &err);
    }
    if (size > 1) st = gd_dist_agree(st, comm, &err);
    if (!st && rank == 0) {
        char spec[GD_TRAIN_ARCH_MAX];
        snprintf(spec, sizeof spec, "%s", t.arch);
        fprintf(stderr, "gendec train: %s on %s (%lld training images, %s), %d rank%s, global batch %lld, %zu parameters%s\n",
                is_cnn ? "CNN" : "c-VAE", ds.name, (long long)td.n, reused ? "cached" : "prepared", size,
                size > 1 ? "s" : "", (long long)o.global_batch, t.params->total, resume ? ", resuming" : "");
        fprintf(stderr, "  %s\n", spec);
    }
    if (!st) {
        int64_t spe = o.global_batch > 0 ? td.n / o.global_batch : 0;
        int64_t total = o.max_steps > 0 ? o.max_steps : o.epochs * spe;
        cli_progress_start(&ps.bar, is_cnn ? "train cnn" : "train", (double)total);
        gd_train_result res;
        st = gd_train_run(&t, &td, &o, &res, &err);
        if (rank == 0 && ps.bar.tty) fprintf(stderr, "\r\033[K");
        if (!st && rank == 0)
            fprintf(stderr, "gendec train: %lld steps (%lld epochs) in %.1f s this run, %.0f images/s; wrote %s\n",
                    (long long)res.steps, (long long)res.epochs_done, res.wall_seconds, res.images_per_second, path);
        if (st == GD_EINTR && rank == 0)
            fprintf(stderr, "gendec train: stopped at step %lld, checkpoint in %s\n", (long long)res.steps, path);
        gd_train_result_free(&res);
    }
    int rc = st ? fail_collective(&err, rank) : CLI_EXIT_OK;
    if (t.release) t.release(t.self);
    gd_cvae_free(cvae);
    gd_cnn_free(cnn);
    gd_dataset_free(&ds);
    gd_config_free(cfg);
    free(yaml);
    return rc;
}
