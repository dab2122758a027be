/* gendec run: an experiment's stages in order (data -> train -> cnn -> sweep -> eval -> fgm -> neat -> report),
 * each by the same code as its own command (called in-process), each skipped when its output file exists, is
 * complete and was made from the same values of the config sections it depends on. */
#include <errno.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/data.h"
#include "gendec/io.h"

static const char* run_usage =
    "usage: gendec run <experiment.yaml> [--set key=value ...] [--out DIR] [--data-dir DIR] [--dry-run]\n"
    "\n"
    "Runs the experiment's stages in order, each through the code of its own command:\n"
    "  data    gendec data prepare     -> results/<experiment>/data-<hash>.h5 (shared by the runs)\n"
    "  train   gendec train            -> <run>/model.h5   (the c-VAE)\n"
    "  cnn     gendec train --model cnn -> <run>/cnn.h5    (the baseline, when the experiment compares)\n"
    "  sweep   gendec sweep            -> <run>/sweep.h5   (when the config has a sweep grid)\n"
    "  eval    gendec eval             -> <run>/eval.h5    (the test images; at sweep.h5's best point if any)\n"
    "  fgm     gendec attack fgm       -> <run>/fgm.h5\n"
    "  neat    gendec attack neat      -> <run>/neat.h5\n"
    "  report  gendec report <run>     -> <run>/report.md, tables.tex, fig*.png (always rebuilt)\n"
    "experiment.stages lists the stages (default: derived from data.set and the sweep grid, see docs/config.md).\n"
    "A stage is skipped when its output exists, is complete and its config_yaml gives the same hash of the\n"
    "sections the stage depends on (GD_CONFIG_SECTIONS_* in include/gendec/config.h); otherwise it runs and\n"
    "replaces the file atomically.\n"
    "\n"
    "  --set key=value   override a config key (repeatable)\n"
    "  --out DIR         the run folder (default results/<experiment.name>/<run-id>, run-id = hash of every\n"
    "                    section results depend on, so the same config reuses its folder)\n"
    "  --data-dir DIR    data root (MNIST in DIR/mnist, ...; default $GD_DATA_DIR, else ./data)\n"
    "  --dry-run         check the config and print the plan (stages, commands, outputs, skip or run) only\n"
    "\n"
    "Under mpiexec every rank runs the MPI stages (train, eval, sweep, attacks) together; data preparation and\n"
    "the report run on rank 0. The resolved config is written to <run>/config.yaml and given to every stage.\n";

enum { ST_DATA = 0, ST_TRAIN, ST_CNN, ST_SWEEP, ST_EVAL, ST_FGM, ST_NEAT, ST_REPORT, ST_N };

typedef struct {
    const char* name;     /* experiment.stages name */
    const char* command;  /* the gendec command whose code runs it */
    const char* kind;     /* kind attribute of its output (NULL: not an HDF5 output) */
    const char* sections; /* config sections the output depends on */
    const char* file;     /* output file in the run folder (NULL: the data cache) */
    int mpi;              /* runs on every rank */
    unsigned deps;        /* bit d: reads the output of stage d */
} stage_def;

static const stage_def stages[ST_N] = {
#define B(s) (1u << (s))
    {"data", "data", "data", GD_CONFIG_SECTIONS_DATA, NULL, 0, 0},
    {"train", "train", "model", GD_CONFIG_SECTIONS_MODEL, "model.h5", 1, B(ST_DATA)},
    {"cnn", "train", "cnn", GD_CONFIG_SECTIONS_CNN, "cnn.h5", 1, B(ST_DATA)},
    /* eval and the attacks take the hyper-parameters of sweep.h5's best point when it exists */
    {"sweep", "sweep", "sweep", GD_CONFIG_SECTIONS_SWEEP, "sweep.h5", 1, B(ST_DATA) | B(ST_TRAIN)},
    {"eval", "eval", "eval", GD_CONFIG_SECTIONS_EVAL, "eval.h5", 1, B(ST_DATA) | B(ST_TRAIN) | B(ST_SWEEP)},
    {"fgm", "attack", "fgm", GD_CONFIG_SECTIONS_FGM, "fgm.h5", 1, B(ST_DATA) | B(ST_TRAIN) | B(ST_CNN) | B(ST_SWEEP)},
    {"neat", "attack", "neat", GD_CONFIG_SECTIONS_NEAT, "neat.h5", 1, B(ST_TRAIN) | B(ST_CNN) | B(ST_SWEEP)},
    {"report", "report", NULL, NULL, "report.md", 0, 0},
#undef B
};

/* What the plan says about one stage. */
typedef struct {
    int wanted;         /* in this experiment */
    int skip;           /* output up to date */
    char output[1200];
    char why[1600];     /* why it runs or is skipped */
    char hash[17];      /* hash of its sections in the current config */
} stage_plan;

/* 1 when any sweep grid list of cfg is non-empty. */
static int has_sweep_grid(const gd_config* cfg) {
    static const char* keys[] = {"sweep.beta", "sweep.b", "sweep.c", "sweep.l", "sweep.yl", "sweep.yu"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t n = 0;
        gd_config_floats(cfg, keys[i], &n);
        if (n) return 1;
    }
    return 0;
}

/* Which stages the experiment runs: experiment.stages, or the default derived from the data set. */
static void wanted_stages(const gd_config* cfg, int wanted[ST_N]) {
    size_t n = 0;
    const char* const* list = gd_config_strings(cfg, "experiment.stages", &n);
    memset(wanted, 0, ST_N * sizeof(int));
    if (n) {
        for (size_t i = 0; i < n; i++)
            for (int s = 0; s < ST_N; s++)
                if (!strcmp(list[i], stages[s].name)) wanted[s] = 1;
        return;
    }
    wanted[ST_DATA] = wanted[ST_TRAIN] = wanted[ST_EVAL] = wanted[ST_REPORT] = 1;
    wanted[ST_SWEEP] = has_sweep_grid(cfg);
    wanted[ST_FGM] = gd_config_is(cfg, "data.set", "mnist") || gd_config_is(cfg, "data.set", "fashion_mnist") ||
                     gd_config_is(cfg, "data.set", "norb");
    wanted[ST_CNN] = gd_config_is(cfg, "data.set", "traffic_signs") || wanted[ST_FGM];
}

/* Decides whether the output of stage s is up to date: complete, of the right kind, and with the same
 * hash of the stage's sections in its stored config. Fills p->skip and p->why. */
static void check_output(int s, stage_plan* p) {
    const stage_def* d = &stages[s];
    struct stat st;
    p->skip = 0;
    if (!d->kind) {
        snprintf(p->why, sizeof p->why, "always rebuilt");
        return;
    }
    if (stat(p->output, &st) != 0) {
        snprintf(p->why, sizeof p->why, "no output yet");
        return;
    }
    gd_error err;
    gd_error_clear(&err);
    gd_h5* f = NULL;
    if (gd_h5_open(p->output, d->kind, MPI_COMM_NULL, &f, &err)) {
        char msg[1024];
        gd_error_format(&err, msg, sizeof msg);
        snprintf(p->why, sizeof p->why, "existing file unusable, rebuilt: %s", msg);
        return;
    }
    char* yaml = NULL;
    gd_status rc = gd_h5_config_yaml(f, &yaml, &err);
    gd_h5_close(f);
    gd_config* old = NULL;
    if (!rc) rc = gd_config_parse(&old, yaml, strlen(yaml), p->output, NULL, 0, &err);
    free(yaml);
    if (rc) {
        snprintf(p->why, sizeof p->why, "its stored config cannot be read (%s), rebuilt", err.msg);
        return;
    }
    char old_hash[17];
    gd_config_hash_hex(gd_config_hash_sections(old, d->sections), old_hash);
    gd_config_free(old);
    if (strcmp(old_hash, p->hash) != 0) {
        snprintf(p->why, sizeof p->why, "made from other values of %s (hash %s, now %s), rebuilt", d->sections,
                 old_hash, p->hash);
        return;
    }
    p->skip = 1;
    snprintf(p->why, sizeof p->why, "complete, same %s (hash %s)", d->sections, p->hash);
}

/* Builds the argument vector of stage s into args (pointers to constants, into the paths given, or to a
 * thread-local buffer valid until the next call); returns argc. Every stage reads the run's resolved config and
 * writes into the run folder; eval and sweep take the run's model.h5 explicitly; only data prepare takes
 * --data-dir (the other stages find the data root in $GD_DATA_DIR, which gendec run sets from --data-dir). */
static int stage_argv(int s, const char* cfg_path, const char* run_dir, const char* data_dir, const char* out,
                      const char** args) {
    static _Thread_local char model[1200];
    snprintf(model, sizeof model, "%s/model.h5", run_dir);
    int a = 0;
    switch (s) {
    case ST_DATA:
        args[a++] = "data";
        args[a++] = "prepare";
        args[a++] = cfg_path;
        args[a++] = "-o";
        args[a++] = out;
        if (data_dir) {
            args[a++] = "--data-dir";
            args[a++] = data_dir;
        }
        return a;
    case ST_TRAIN:
    case ST_CNN:
        args[a++] = "train";
        args[a++] = cfg_path;
        if (s == ST_CNN) {
            args[a++] = "--model";
            args[a++] = "cnn";
        }
        break;
    case ST_EVAL:
    case ST_SWEEP:
        args[a++] = stages[s].command;
        args[a++] = cfg_path;
        args[a++] = "--model";
        args[a++] = model;
        break;
    case ST_FGM:
    case ST_NEAT:
        args[a++] = "attack";
        args[a++] = stages[s].name;
        args[a++] = cfg_path;
        break;
    case ST_REPORT:
        args[a++] = "report";
        args[a++] = run_dir;
        return a;
    }
    args[a++] = "--out";
    args[a++] = run_dir;
    return a;
}

/* mkdir -p of `dir`; 0 or -1 with errno. */
static int make_dirs(const char* dir) {
    char p[1200];
    snprintf(p, sizeof p, "%s", dir);
    for (char* c = p + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(p, 0755) && errno != EEXIST) return -1;
            *c = '/';
        }
    return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* The data cache lives at results/<experiment>/data-<hash>.h5 (gd_data_cache_path, where eval and the attacks
 * look); gendec train looks for the same name in its --out folder. A hard link puts it there without a copy;
 * when linking is impossible (another file system) train builds its own. */
static void link_data(const char* cache, const char* run_dir) {
    const char* base = strrchr(cache, '/');
    char there[2400];
    snprintf(there, sizeof there, "%s/%s", run_dir, base ? base + 1 : cache);
    struct stat st;
    if (stat(there, &st) == 0 || stat(cache, &st) != 0) return;
    if (link(cache, there) != 0)
        fprintf(stderr, "gendec run: cannot link %s into %s (%s): gendec train makes its own copy\n", cache, run_dir,
                strerror(errno));
}

/* Prints the argument vector as a command line. */
static void print_command(FILE* f, int argc, const char** args) {
    fprintf(f, "gendec");
    for (int i = 0; i < argc; i++) fprintf(f, " %s", args[i]);
}

int cmd_run(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s", run_usage);
        return CLI_EXIT_OK;
    }
    const char* file = NULL;
    const char* out = NULL;
    const char* data_dir = NULL;
    int dry = 0;
    const char** sets = calloc((size_t)argc + 1, sizeof(char*));
    size_t n_sets = 0;
    if (!sets) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0) rc = cli_usage_error("run", "--set needs key=value");
            else sets[n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--out", &v))) {
            if (t < 0) rc = cli_usage_error("run", "--out needs a folder");
            else out = v;
        } else if ((t = cli_take(argc, argv, &i, "--data-dir", &v))) {
            if (t < 0) rc = cli_usage_error("run", "--data-dir needs a folder");
            else data_dir = v;
        } else if (cli_flag(argv, i, "--dry-run")) {
            dry = 1;
        } else {
            rc = cli_experiment_file("run", argv, i, &file);
        }
    }
    if (rc == CLI_EXIT_OK && !file) rc = cli_usage_error("run", "name an experiment file (experiments/*.yaml)");
    if (rc != CLI_EXIT_OK) {
        free(sets);
        return rc;
    }

    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    gd_status s = gd_config_load(&cfg, file, sets, n_sets, &err);
    free(sets);
    if (s) return cli_fail(&err);
    int rank = cli_rank();

    char run_dir[1024], cfg_path[1200];
    cli_run_dir(cfg, out, run_dir, sizeof run_dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yaml", run_dir);

    /* The plan. */
    stage_plan plan[ST_N];
    int wanted[ST_N];
    wanted_stages(cfg, wanted);
    for (int k = 0; k < ST_N; k++) {
        stage_plan* p = &plan[k];
        memset(p, 0, sizeof *p);
        p->wanted = wanted[k];
        if (stages[k].sections) gd_config_hash_hex(gd_config_hash_sections(cfg, stages[k].sections), p->hash);
        if (stages[k].file)
            snprintf(p->output, sizeof p->output, "%s/%s", run_dir, stages[k].file);
        else
            gd_data_cache_path(cfg, "results", p->output, sizeof p->output);
        if (p->wanted) check_output(k, p);
    }
    /* A stage whose model input is rebuilt runs again too (the data set is a pure function of its hash, so a
     * rebuilt cache does not make the models stale). */
    for (int k = 0; k < ST_N; k++) {
        stage_plan* p = &plan[k];
        if (!p->wanted || !p->skip) continue;
        for (int d = ST_TRAIN; d < k; d++)
            if ((stages[k].deps >> d & 1) && plan[d].wanted && !plan[d].skip) {
                p->skip = 0;
                snprintf(p->why, sizeof p->why, "rebuilt because its input %s is rebuilt", stages[d].file);
                break;
            }
    }

    char hex[17];
    gd_config_hash_hex(gd_config_hash(cfg), hex);
    if (rank == 0) {
        printf("experiment %s (scale %s, set %s, config hash %s)\nrun folder %s\n",
               gd_config_string(cfg, "experiment.name"), gd_config_string(cfg, "scale"),
               gd_config_string(cfg, "data.set"), hex, run_dir);
        int step = 0;
        for (int k = 0; k < ST_N; k++) {
            if (!plan[k].wanted) continue;
            const char* args[16];
            int na = stage_argv(k, cfg_path, run_dir, data_dir, plan[k].output, args);
            printf("  %d. %-6s %s  ", ++step, stages[k].name, plan[k].skip ? "skip" : "run ");
            print_command(stdout, na, args);
            printf("\n            -> %s: %s\n", plan[k].output, plan[k].why);
            if (!cli_find_command(stages[k].command))
                printf("            (the '%s' command is not part of this build)\n", stages[k].command);
        }
        fflush(stdout);
    }
    if (dry) {
        gd_config_free(cfg);
        return CLI_EXIT_OK;
    }

    /* The run folder and its resolved config. */
    if (rank == 0) {
        char* yaml = gd_config_emit(cfg);
        if (!yaml)
            gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        else if (make_dirs(run_dir))
            gd_error_set(&err, GD_EIO, run_dir, 0, 0, "check the permissions or give --out DIR",
                         "cannot create the run folder: %s", strerror(errno));
        else
            gd_file_write_atomic(cfg_path, yaml, strlen(yaml), &err);
        free(yaml);
    }
    gd_config_free(cfg);
    int bad = err.code != GD_OK;
    if (cli_world_size() > 1) MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (bad) return rank == 0 ? cli_fail(&err) : CLI_EXIT_FAIL;

    /* --data-dir reaches every stage (and the data module's search) through the environment. */
    if (data_dir && setenv("GD_DATA_DIR", data_dir, 1) != 0) {
        gd_error_set(&err, GD_EINVAL, data_dir, 0, 0, NULL, "cannot set GD_DATA_DIR: %s", strerror(errno));
        return cli_fail(&err);
    }
    double t_start = gd_now();
    for (int k = 0; k < ST_N; k++) {
        if (k == ST_DATA + 1 && rank == 0 && plan[ST_DATA].wanted) link_data(plan[ST_DATA].output, run_dir);
        if (!plan[k].wanted || plan[k].skip) continue;
        const cli_command* c = cli_find_command(stages[k].command);
        if (!c) {
            gd_error_set(&err, GD_ESTATE, NULL, 0, 0,
                         "build a gendec that has it, or leave the stage out with --set experiment.stages=[...]",
                         "stage '%s' needs 'gendec %s', which is not part of this build", stages[k].name,
                         stages[k].command);
            return rank == 0 ? cli_fail(&err) : CLI_EXIT_FAIL;
        }
        const char* args[16];
        int na = stage_argv(k, cfg_path, run_dir, data_dir, plan[k].output, args);
        char* argv_copy[16];
        for (int a = 0; a < na; a++) argv_copy[a] = (char*)args[a];
        argv_copy[na] = NULL;
        if (rank == 0) {
            fprintf(stderr, "== gendec run: stage %s: ", stages[k].name);
            print_command(stderr, na, args);
            fprintf(stderr, "\n");
            fflush(stderr);
        }
        double t0 = gd_now();
        int src = CLI_EXIT_OK;
        if (stages[k].mpi || rank == 0) src = c->run(na, argv_copy);
        fflush(stdout); /* the stage's own lines before the next stage's */
        if (!stages[k].mpi && cli_world_size() > 1) MPI_Bcast(&src, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (src != CLI_EXIT_OK) {
            if (rank == 0)
                fprintf(stderr, "gendec run: stage %s failed (exit %d); the stages before it are kept, re-run the "
                                "same command to continue\n",
                        stages[k].name, src);
            return src;
        }
        if (rank == 0) fprintf(stderr, "== gendec run: stage %s done in %.1f s\n", stages[k].name, gd_now() - t0);
    }
    if (rank == 0) {
        printf("done in %.1f s: %s/report.md\n", gd_now() - t_start, run_dir);
        fflush(stdout);
    }
    return CLI_EXIT_OK;
}

/* ---- the pipeline, shared with gendec submit (declared in cli.h) ---------------------------------------- */

int cli_pipeline_size(void) { return ST_N; }

const char* cli_pipeline_stage(int s, int* mpi, unsigned* deps) {
    if (s < 0 || s >= ST_N) return NULL;
    if (mpi) *mpi = stages[s].mpi;
    if (deps) *deps = stages[s].deps;
    return stages[s].name;
}

void cli_pipeline_wanted(const gd_config* cfg, int* wanted) { wanted_stages(cfg, wanted); }

int cli_pipeline_argv(int s, const char* cfg_path, const char* run_dir, const char* data_dir, const char* out,
                      const char** args) {
    return stage_argv(s, cfg_path, run_dir, data_dir, out, args);
}
