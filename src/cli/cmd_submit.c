/* gendec submit: an experiment's stages as Slurm batch jobs (the jobs/ templates) chained by dependencies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/data.h"

static const char* submit_usage =
    "usage: gendec submit <experiment.yaml> [--set key=value ...] [--out DIR] [--data-dir DIR] [--dry-run]\n"
    "                     [--only STAGES] [--skip STAGES] [--gendec PATH] [--templates DIR]\n"
    "\n"
    "Writes the experiment's stages as Slurm batch scripts into the run folder and submits them with sbatch,\n"
    "each waiting for the stages whose output it reads, then prints the plan. The stages and their command\n"
    "lines are those of `gendec run` (see `gendec run --help`; experiment.stages chooses them), preceded by\n"
    "a pre-flight check:\n"
    "  check    `gendec version --mpi` as an MPI step of the training geometry (5 minutes): gendec and MPI\n"
    "           start on the compute nodes\n"
    "  data     gendec data prepare <run>/config.yaml -o results/<experiment>/data-<hash>.h5   (one process)\n"
    "  train    gendec train <run>/config.yaml --out <run>                 <- check, data\n"
    "  cnn      gendec train <run>/config.yaml --model cnn --out <run>     <- check, data\n"
    "  eval     gendec eval <run>/config.yaml --out <run>                  <- check, data, train, cnn\n"
    "  sweep    gendec sweep <run>/config.yaml --out <run> --slice I --slices N   <- check, data, train\n"
    "           a job array: one task per (sweep.beta, sweep.b, sweep.c) point, at most 1000, when the\n"
    "           executable's `gendec sweep --help` offers --slice; otherwise one MPI job for the whole grid\n"
    "  fgm      gendec attack fgm <run>/config.yaml --out <run>            <- check, data, train, cnn\n"
    "  neat     gendec attack neat <run>/config.yaml --out <run>           <- check, train, cnn\n"
    "  report   gendec report <run>             <- every other job, afterany (it reports what is missing)\n"
    "A job whose dependency failed is cancelled (--kill-on-invalid-dep=yes).\n"
    "\n"
    "  --set key=value   override a key of the experiment (repeatable)\n"
    "  --out DIR         the run folder (default results/<experiment.name>/<run-id>, as gendec run)\n"
    "  --data-dir DIR    data root given to the stages (default $GD_DATA_DIR, else ./data)\n"
    "  --dry-run         print the plan and the scripts; write and submit nothing\n"
    "  --only STAGES     submit only these stages (comma-separated); the others are taken as done\n"
    "  --skip STAGES     leave these stages out (e.g. --skip check)\n"
    "  --gendec PATH     the gendec executable the jobs run (default: this one)\n"
    "  --templates DIR   take job templates from DIR when it has them (default: the jobs/ templates built in)\n"
    "\n"
    "<run>/config.yaml is the resolved configuration (the file, its quick: mapping, the --set overrides),\n"
    "frozen at submission. The jobs run in the current folder. MPI stages run slurm.tasks ranks on\n"
    "slurm.nodes nodes with slurm.cpus_per_task cores each, started by slurm.launcher (srun\n"
    "--mpi=$SLURM_MPI_TYPE, default pmix; or mpiexec); data and report one process. Every job has\n"
    "slurm.time, slurm.partition, slurm.account, slurm.mem and slurm.extra_args; --signal=B:USR1@<slurm.\n"
    "signal_seconds> warns the program before the time limit, and a program that saves its state and exits\n"
    "with 75 is requeued (slurm.requeue) and resumed with --resume. Scripts go to <run>/jobs/<stage>.sbatch,\n"
    "logs to <run>/logs/, the job ids to <run>/jobs/submitted.tsv (stage, job id, dependency, script; one\n"
    "block per submission). Templates and their placeholders: jobs/README.md.\n"
    "To try it without a cluster: bash scripts/slurm-local.sh start && eval \"$(bash scripts/slurm-local.sh env)\"\n";

/* ---- a growable string ------------------------------------------------------------------------------ */

typedef struct {
    char* s;
    size_t len, cap;
    int oom;
} sbuf;

/* Appends n bytes of s (sets oom instead of failing; the caller checks once at the end). */
static void sb_add(sbuf* b, const char* s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char* p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf* b, const char* s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf* b, const char* fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_add(b, tmp, (size_t)n);
        return;
    }
    char* big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

/* Appends w as one shell word: bare when it has only safe characters, else in single quotes. */
static void sb_quote(sbuf* b, const char* w) {
    int bare = *w != '\0';
    for (const char* p = w; *p && bare; p++)
        bare = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               strchr("_-./:=,+%@", *p) != NULL;
    if (bare) {
        sb_puts(b, w);
        return;
    }
    sb_puts(b, "'");
    for (const char* p = w; *p; p++) {
        if (*p == '\'') sb_puts(b, "'\\''");
        else sb_add(b, p, 1);
    }
    sb_puts(b, "'");
}

/* ---- the stages ---------------------------------------------------------------------------------------- */

/* The stages come from gendec run's pipeline (cli_pipeline_*), so that both run the same stage commands; the
 * pre-flight check is submit's own. At most this many stages: */
enum { MAX_STAGES = 16 };

/* A planned job. */
typedef struct {
    char name[16];
    int pipeline;       /* the pipeline stage, -1 for the check */
    int mpi;            /* an MPI step of slurm.tasks ranks (else one process) */
    unsigned deps;      /* pipeline stages whose output it reads */
    int array;          /* array tasks (0 = a plain job) */
    const char* template;
    char script[PATH_MAX];
    char job[32];       /* the job id once submitted */
    char dep[512];      /* the --dependency value, "" for none */
    sbuf cmd;           /* the stage's command line */
    sbuf text;          /* the filled script */
} planned;

/* The template of a stage: one process for data and report, an array for the sweep, MPI otherwise. */
static const char* stage_template(const char* name, int mpi) {
    if (!strcmp(name, "check")) return "check.sbatch";
    if (!strcmp(name, "train") || !strcmp(name, "cnn")) return "train.sbatch";
    if (!strcmp(name, "sweep")) return "sweep.sbatch";
    return mpi ? "eval.sbatch" : "report.sbatch";
}

/* 1 if `name` is in the comma-separated list. */
static int in_list(const char* list, const char* name) {
    size_t n = strlen(name);
    for (const char* p = list; p && *p;) {
        const char* e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* 1 if the first len bytes of name are "check" or a pipeline stage. */
static int stage_exists(const char* name, size_t len) {
    if (len == 5 && !strncmp(name, "check", 5)) return 1;
    for (int s = 0; s < cli_pipeline_size(); s++) {
        const char* n = cli_pipeline_stage(s, NULL, NULL);
        if (strlen(n) == len && !strncmp(n, name, len)) return 1;
    }
    return 0;
}

/* Checks that every name of a --only/--skip list is a stage. */
static gd_status check_stage_list(const char* opt, const char* list, gd_error* err) {
    for (const char* p = list; *p;) {
        const char* e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!stage_exists(p, len))
            return gd_error_set(err, GD_EINVAL, opt, 0, 0,
                                "stages: check, data, train, cnn, eval, sweep, fgm, neat, report",
                                "'%.*s' is not a stage", (int)len, p);
        if (!e) break;
        p = e + 1;
    }
    return GD_OK;
}

/* Number of sweep array tasks: one per (beta, b, c) point (an empty grid counts once), at most 1000 (Slurm's
 * default MaxArraySize is 1001). */
static int sweep_tasks(const gd_config* cfg) {
    static const char* grids[] = {"sweep.beta", "sweep.b", "sweep.c"};
    size_t points = 1;
    for (int g = 0; g < 3; g++) {
        size_t n = 0;
        gd_config_floats(cfg, grids[g], &n);
        if (n > 0) points *= n;
        if (points > 1000) points = 1000;
    }
    return (int)points;
}

/* ---- templates ---------------------------------------------------------------------------------------- */

typedef struct {
    const char* key;
    const char* value;
} kv;

/* Reads template `name` from dir (when given and present) or from the built-in jobs/. *where names it. */
static gd_status template_load(const char* dir, const char* name, sbuf* out, char* where, size_t n,
                               gd_error* err) {
    if (dir) {
        snprintf(where, n, "%s/%s", dir, name);
        FILE* f = fopen(where, "rb");
        if (f) {
            char buf[4096];
            size_t got;
            while ((got = fread(buf, 1, sizeof buf, f)) > 0) sb_add(out, buf, got);
            int bad = ferror(f);
            fclose(f);
            if (bad) return gd_error_set(err, GD_EIO, where, 0, 0, NULL, "cannot read the template");
            if (out->len > (1u << 20))
                return gd_error_set(err, GD_EFORMAT, where, 0, 0, NULL, "a template larger than 1 MiB");
            return out->oom ? gd_error_set(err, GD_ENOMEM, where, 0, 0, NULL, "out of memory") : GD_OK;
        }
        if (errno != ENOENT) return gd_error_set(err, GD_EIO, where, 0, 0, NULL, "cannot open: %s", strerror(errno));
    }
    size_t len;
    const unsigned char* t = cli_job_template(name, &len);
    snprintf(where, n, "jobs/%s (built in)", name);
    if (!t) return gd_error_set(err, GD_EINVAL, name, 0, 0, NULL, "no such job template in this build of gendec");
    sb_add(out, (const char*)t, len);
    return out->oom ? gd_error_set(err, GD_ENOMEM, where, 0, 0, NULL, "out of memory") : GD_OK;
}

/* Fills a template (jobs/README.md): a line that is only @KEY@ becomes the value (none when empty), @KEY@
 * elsewhere becomes the value, an #SBATCH line left without a value is dropped. An unknown @NAME@ is an error
 * naming the template's line. */
static gd_status template_fill(const char* text, const char* where, const kv* vals, size_t n_vals, sbuf* out,
                               gd_error* err) {
    int lineno = 0;
    for (const char* p = text; *p;) {
        const char* eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        lineno++;
        int whole = 0;
        for (size_t k = 0; k < n_vals; k++) {
            size_t kl = strlen(vals[k].key);
            if (len == kl + 2 && p[0] == '@' && p[len - 1] == '@' && !strncmp(p + 1, vals[k].key, kl)) {
                const char* v = vals[k].value;
                if (*v) {
                    sb_puts(out, v);
                    if (v[strlen(v) - 1] != '\n') sb_puts(out, "\n");
                }
                whole = 1;
                break;
            }
        }
        if (!whole) {
            sbuf line = {0};
            for (size_t i = 0; i < len;) {
                size_t j = i + 1;
                while (j < len && ((p[j] >= 'A' && p[j] <= 'Z') || p[j] == '_')) j++;
                if (p[i] == '@' && j > i + 1 && j < len && p[j] == '@') {
                    size_t k = 0;
                    while (k < n_vals && (strlen(vals[k].key) != j - i - 1 || strncmp(vals[k].key, p + i + 1, j - i - 1)))
                        k++;
                    if (k == n_vals) {
                        free(line.s);
                        return gd_error_set(err, GD_EFORMAT, where, lineno, (int)i + 1,
                                            "the placeholders are listed in jobs/README.md",
                                            "unknown placeholder %.*s", (int)(j - i + 1), p + i);
                    }
                    sb_puts(&line, vals[k].value);
                    i = j + 1;
                } else {
                    sb_add(&line, p + i, 1);
                    i++;
                }
            }
            const char* s = line.s ? line.s : "";
            size_t sl = strlen(s);
            while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t')) sl--;
            int empty_sbatch = !strncmp(s, "#SBATCH", 7) && (sl == 7 || s[sl - 1] == '=');
            if (!empty_sbatch) {
                sb_add(out, s, sl);
                sb_puts(out, "\n");
            }
            if (line.oom) out->oom = 1;
            free(line.s);
        }
        p = eol ? eol + 1 : p + len;
    }
    return out->oom ? gd_error_set(err, GD_ENOMEM, where, 0, 0, NULL, "out of memory") : GD_OK;
}

/* ---- files and processes ------------------------------------------------------------------------------ */

/* mkdir -p. */
static gd_status make_dirs(const char* path, gd_error* err) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char* p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return gd_error_set(err, GD_EIO, buf, 0, 0, "check the permissions of the results folder",
                                    "cannot create the folder: %s", strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return GD_OK;
}

/* Writes text to path through a temporary name in the same folder and a rename. */
static gd_status write_atomic(const char* path, const char* text, size_t len, int mode, gd_error* err) {
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE* f = fopen(tmp, "wb");
    if (!f) return gd_error_set(err, GD_EIO, tmp, 0, 0, NULL, "cannot create: %s", strerror(errno));
    int ok = fwrite(text, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (ok) ok = chmod(tmp, (mode_t)mode) == 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return gd_error_set(err, GD_EIO, path, 0, 0, "check free space and permissions", "cannot write: %s",
                            strerror(e));
    }
    return GD_OK;
}

/* Runs argv (found on PATH) with its standard output captured into out (NUL-terminated, truncated to n);
 * standard error goes to ours, or to /dev/null when quiet. *status gets the exit status (127: could not be
 * started). */
static gd_status run_capture(char* const argv[], int quiet, char* out, size_t n, int* status, gd_error* err) {
    int fd[2];
    if (pipe(fd) != 0) return gd_error_set(err, GD_EIO, argv[0], 0, 0, NULL, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return gd_error_set(err, GD_EIO, argv[0], 0, 0, NULL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fd[0]);
        if (dup2(fd[1], STDOUT_FILENO) < 0) _exit(127);
        close(fd[1]);
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, STDERR_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    for (;;) {
        char buf[512];
        ssize_t r = read(fd[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        for (ssize_t i = 0; i < r && got + 1 < n; i++) out[got++] = buf[i];
    }
    out[got] = '\0';
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return GD_OK;
}

/* sbatch --parsable [--dependency=DEP --kill-on-invalid-dep=yes] SCRIPT; the job id into job. */
static gd_status sbatch_submit(planned* p, gd_error* err) {
    char dep[600];
    char* argv[6];
    int a = 0;
    argv[a++] = "sbatch";
    argv[a++] = "--parsable";
    if (p->dep[0]) {
        snprintf(dep, sizeof dep, "--dependency=%s", p->dep);
        argv[a++] = dep;
        if (strncmp(p->dep, "afterany", 8) != 0) argv[a++] = "--kill-on-invalid-dep=yes";
    }
    argv[a++] = p->script;
    argv[a] = NULL;
    char out[256];
    int status = 127;
    gd_status st = run_capture(argv, 0, out, sizeof out, &status, err);
    if (st) return st;
    if (status == 127)
        return gd_error_set(err, GD_EIO, "sbatch", 0, 0,
                            "submit from a machine with the Slurm client commands, or start a local Slurm: "
                            "bash scripts/slurm-local.sh start && eval \"$(bash scripts/slurm-local.sh env)\"",
                            "cannot run sbatch (not on PATH?)");
    if (status != 0)
        return gd_error_set(err, GD_EIO, p->script, 0, 0, "sbatch printed the reason above",
                            "sbatch refused the %s job (exit %d)", p->name, status);
    size_t i = 0;
    while (out[i] >= '0' && out[i] <= '9' && i + 1 < sizeof p->job) {
        p->job[i] = out[i];
        i++;
    }
    p->job[i] = '\0';
    if (i == 0 || (out[i] != '\0' && out[i] != ';' && out[i] != '\n'))
        return gd_error_set(err, GD_EFORMAT, "sbatch", 0, 0, NULL, "unexpected output of sbatch --parsable: '%s'",
                            out);
    return GD_OK;
}

/* 1 if `exe words[0..n) --help` prints `what` (an option the command offers), 0 otherwise. */
static int help_mentions(const char* exe, const char* const* words, int n, const char* what) {
    char* argv[16];
    int a = 0;
    argv[a++] = (char*)exe;
    for (int i = 0; i < n && a < 14; i++) argv[a++] = (char*)words[i];
    argv[a++] = "--help";
    argv[a] = NULL;
    char* out = malloc(65536);
    int status = 1, yes = 0;
    gd_error err;
    if (out && run_capture(argv, 1, out, 65536, &status, &err) == GD_OK && status == 0) yes = strstr(out, what) != NULL;
    free(out);
    return yes;
}

/* 1 if `exe sweep --help` mentions --slice, i.e. that gendec's sweep can run one slice of the grid per job
 * array task (and 0 when it cannot, or when exe does not run). */
static int sweep_takes_slices(const char* exe) {
    const char* words[] = {"sweep"};
    return help_mentions(exe, words, 1, "--slice");
}

/* ---- the command -------------------------------------------------------------------------------------- */

/* Characters that would need quoting in #SBATCH lines; refused in the run folder and executable paths. */
static int path_is_plain(const char* s) { return strpbrk(s, " \t\n'\"\\$`") == NULL; }

/* Replaces every occurrence of `from` in s by `to` (for the plan's short command lines). */
static void sb_replace_all(sbuf* out, const char* s, const char* from, const char* to) {
    size_t fl = strlen(from);
    for (const char* p = s; *p;) {
        const char* hit = fl ? strstr(p, from) : NULL;
        if (!hit) {
            sb_puts(out, p);
            break;
        }
        sb_add(out, p, (size_t)(hit - p));
        sb_puts(out, to);
        p = hit + fl;
    }
}

typedef struct {
    const char* file;
    const char** sets;
    size_t n_sets;
    const char* out;
    const char* data_dir;
    const char* only;
    const char* skip;
    const char* gendec;
    const char* templates;
    int dry_run;
} submit_opts;

/* 1 if stage `name` is wanted: by --only when given, else by `by_default`; never when --skip names it. */
static int stage_wanted(const submit_opts* o, const char* name, int by_default) {
    int want = o->only ? in_list(o->only, name) : by_default;
    return want && !(o->skip && in_list(o->skip, name));
}

/* Builds the plan and the scripts, then prints them (dry run) or writes and submits them. */
static int submit_run(const submit_opts* o, int argc, char** argv) {
    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    planned plan[MAX_STAGES];
    int n_plan = 0, rc = CLI_EXIT_OK;
    char* yaml = NULL;
    sbuf lib = {0}, extra = {0}, tsv = {0};
    memset(plan, 0, sizeof plan);

    gd_status st = gd_config_load(&cfg, o->file, o->sets, o->n_sets, &err);
    if (!st && o->only) st = check_stage_list("--only", o->only, &err);
    if (!st && o->skip) st = check_stage_list("--skip", o->skip, &err);
    if (st) goto fail;

    /* Absolute paths: the jobs run elsewhere and later. */
    char cwd[PATH_MAX], run[PATH_MAX], exe[PATH_MAX], rel[PATH_MAX], cfg_path[PATH_MAX + 16];
    char data_out[PATH_MAX + 1100], cache[1100];
    if (!getcwd(cwd, sizeof cwd)) {
        st = gd_error_set(&err, GD_EIO, ".", 0, 0, NULL, "getcwd: %s", strerror(errno));
        goto fail;
    }
    cli_run_dir(cfg, o->out, rel, sizeof rel);
    if (rel[0] == '/') snprintf(run, sizeof run, "%s", rel);
    else if ((size_t)snprintf(run, sizeof run, "%s/%s", cwd, rel) >= sizeof run) {
        st = gd_error_set(&err, GD_EINVAL, rel, 0, 0, NULL, "the run folder's path is too long");
        goto fail;
    }
    while (strlen(run) > 1 && run[strlen(run) - 1] == '/') run[strlen(run) - 1] = '\0';
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yaml", run);
    gd_data_cache_path(cfg, "results", cache, sizeof cache);
    if (cache[0] == '/') snprintf(data_out, sizeof data_out, "%s", cache);
    else snprintf(data_out, sizeof data_out, "%s/%s", cwd, cache);
    if (o->gendec) {
        if (!realpath(o->gendec, exe)) {
            st = gd_error_set(&err, GD_EINVAL, o->gendec, 0, 0, "--gendec names the executable the jobs run",
                              "cannot resolve: %s", strerror(errno));
            goto fail;
        }
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            st = gd_error_set(&err, GD_EIO, "/proc/self/exe", 0, 0, "pass --gendec PATH",
                              "cannot find this executable: %s", strerror(errno));
            goto fail;
        }
        exe[n] = '\0';
    }
    if (!path_is_plain(run) || !path_is_plain(cwd)) {
        st = gd_error_set(&err, GD_EINVAL, !path_is_plain(run) ? run : cwd, 0, 0,
                          "choose folders without spaces or quotes (--out DIR; submit from another folder)",
                          "a path with spaces, quotes, '$' or '\\' cannot go into #SBATCH lines");
        goto fail;
    }

    /* The plan: the check, then gendec run's stages. */
    int wanted[MAX_STAGES] = {0}, n_pipe = cli_pipeline_size();
    if (n_pipe + 1 > MAX_STAGES) {
        st = gd_error_set(&err, GD_ESTATE, "submit", 0, 0, NULL, "more pipeline stages than MAX_STAGES");
        goto fail;
    }
    cli_pipeline_wanted(cfg, wanted);
    int check = -1;
    if (stage_wanted(o, "check", 1)) {
        planned* p = &plan[n_plan];
        check = n_plan++;
        snprintf(p->name, sizeof p->name, "check");
        p->pipeline = -1;
        p->mpi = 1;
    }
    for (int s = 0; s < n_pipe; s++) {
        int mpi;
        unsigned deps;
        const char* name = cli_pipeline_stage(s, &mpi, &deps);
        if (!stage_wanted(o, name, wanted[s])) continue;
        planned* p = &plan[n_plan++];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->pipeline = s;
        p->mpi = mpi;
        p->deps = deps;
        p->array = !strcmp(name, "sweep") ? sweep_tasks(cfg) : 0;
    }
    /* A job array only when the sweep command can run one slice per task; else one MPI job of the whole grid
     * (TODO: remove once gendec sweep takes --slice I --slices N and merges the slices into sweep.h5). */
    int sweep_single = 0;
    for (int i = 0; i < n_plan; i++)
        if (plan[i].array && !sweep_takes_slices(exe)) {
            plan[i].array = 0;
            sweep_single = 1;
        }
    if (n_plan == 0) {
        st = gd_error_set(&err, GD_EINVAL, "--only/--skip", 0, 0, NULL, "no stage left to submit");
        goto fail;
    }

    /* Values shared by every job. */
    char where[PATH_MAX + 32];
    if ((st = template_load(o->templates, "lib.sh", &lib, where, sizeof where, &err))) goto fail;
    size_t n_extra = 0;
    const char* const* extras = gd_config_strings(cfg, "slurm.extra_args", &n_extra);
    for (size_t i = 0; i < n_extra; i++) sb_printf(&extra, "#SBATCH %s\n", extras[i]);
    const char* name = gd_config_string(cfg, "experiment.name");
    char nodes[32], tasks[32], cpus[32], signal[64], array[64], job_name[256], output[PATH_MAX + 64];
    snprintf(cpus, sizeof cpus, "%lld", (long long)gd_config_int(cfg, "slurm.cpus_per_task"));
    long long sig = (long long)gd_config_int(cfg, "slurm.signal_seconds");
    if (sig > 0) snprintf(signal, sizeof signal, "B:USR1@%lld", sig);
    else signal[0] = '\0';
    int mpiexec = gd_config_is(cfg, "slurm.launcher", "mpiexec");
    const char* launch = mpiexec ? "mpiexec" : "srun --mpi=\"${SLURM_MPI_TYPE:-pmix}\" --kill-on-bad-exit=1";

    for (int i = 0; i < n_plan; i++) {
        planned* p = &plan[i];
        sbuf tpl = {0};
        sb_quote(&p->cmd, exe);
        if (p->pipeline < 0) {
            sb_puts(&p->cmd, " version --mpi");
        } else {
            const char* args[32];
            int na = cli_pipeline_argv(p->pipeline, cfg_path, run, o->data_dir, data_out, args);
            for (int a = 0; a < na; a++) {
                sb_puts(&p->cmd, " ");
                sb_quote(&p->cmd, args[a]);
            }
        }
        p->template = !strcmp(p->name, "sweep") && !p->array ? "eval.sbatch" : stage_template(p->name, p->mpi);
        /* --resume on a restart, for the MPI stages whose command offers it (its words: the arguments before
         * the config file or run folder). */
        const char* resume = "";
        if (p->pipeline >= 0 && p->mpi) {
            const char* args[32];
            int na = cli_pipeline_argv(p->pipeline, cfg_path, run, o->data_dir, data_out, args), nw = 0;
            while (nw < na && strcmp(args[nw], cfg_path) != 0 && strcmp(args[nw], run) != 0) nw++;
            if (help_mentions(exe, args, nw, "--resume")) resume = "$(gd_job_resume)";
        }
        snprintf(p->script, sizeof p->script, "%s/jobs/%.15s.sbatch", run, p->name);
        snprintf(nodes, sizeof nodes, "%lld", p->mpi ? (long long)gd_config_int(cfg, "slurm.nodes") : 1LL);
        snprintf(tasks, sizeof tasks, "%lld", p->mpi ? (long long)gd_config_int(cfg, "slurm.tasks") : 1LL);
        long long par = (long long)gd_config_int(cfg, "slurm.array_parallel");
        if (p->array && par > 0 && par < p->array) snprintf(array, sizeof array, "0-%d%%%lld", p->array - 1, par);
        else if (p->array) snprintf(array, sizeof array, "0-%d", p->array - 1);
        else array[0] = '\0';
        snprintf(job_name, sizeof job_name, "gd-%s-%.15s", name, p->name);
        snprintf(output, sizeof output, "%s/logs/%.15s-%s.out", run, p->name, p->array ? "%A_%a" : "%j");
        const kv vals[] = {
            {"JOB_NAME", job_name},
            {"PARTITION", gd_config_string(cfg, "slurm.partition")},
            {"ACCOUNT", gd_config_string(cfg, "slurm.account")},
            {"NODES", nodes},
            {"NTASKS", tasks},
            {"CPUS_PER_TASK", cpus},
            {"TIME", gd_config_string(cfg, "slurm.time")},
            {"MEM", gd_config_string(cfg, "slurm.mem")},
            {"ARRAY", array},
            {"WORKDIR", cwd},
            {"OUTPUT", output},
            {"REQUEUE", gd_config_bool(cfg, "slurm.requeue") ? "--requeue" : "--no-requeue"},
            {"SIGNAL", signal},
            {"SBATCH_EXTRA", extra.s ? extra.s : ""},
            {"LAUNCH", p->mpi ? launch : ""},
            {"COMMAND", p->cmd.s ? p->cmd.s : ""},
            {"RESUME", resume},
            {"GD_JOB_LIB", lib.s ? lib.s : ""},
        };
        st = p->cmd.oom || extra.oom ? gd_error_set(&err, GD_ENOMEM, "submit", 0, 0, NULL, "out of memory") : GD_OK;
        if (!st) st = template_load(o->templates, p->template, &tpl, where, sizeof where, &err);
        if (!st) st = template_fill(tpl.s ? tpl.s : "", where, vals, sizeof vals / sizeof vals[0], &p->text, &err);
        free(tpl.s);
        if (st) goto fail;
    }

    if (!o->dry_run) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/jobs", run);
        if ((st = make_dirs(path, &err))) goto fail;
        snprintf(path, sizeof path, "%s/logs", run);
        if ((st = make_dirs(path, &err))) goto fail;
        yaml = gd_config_emit(cfg);
        if (!yaml) {
            st = gd_error_set(&err, GD_ENOMEM, "submit", 0, 0, NULL, "out of memory");
            goto fail;
        }
        if ((st = write_atomic(cfg_path, yaml, strlen(yaml), 0644, &err))) goto fail;
        for (int i = 0; i < n_plan; i++)
            if ((st = write_atomic(plan[i].script, plan[i].text.s, plan[i].text.len, 0755, &err))) goto fail;
    }

    /* Dependencies and submission, in pipeline order: a stage waits (afterok) for the stages whose output it
     * reads and, when it is an MPI step, for the check; the report waits (afterany) for every other job. */
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    sb_printf(&tsv, "# %s gendec", stamp);
    for (int i = 0; i < argc; i++) {
        sb_puts(&tsv, " ");
        sb_quote(&tsv, argv[i]);
    }
    sb_puts(&tsv, "\n");
    for (int i = 0; i < n_plan; i++) {
        planned* p = &plan[i];
        int any = !strcmp(p->name, "report");
        char ids[480] = "";
        size_t used = 0;
        for (int j = 0; j < i && used < sizeof ids; j++) {
            int waits = any || (j == check && p->mpi) ||
                        (plan[j].pipeline >= 0 && (p->deps >> plan[j].pipeline & 1u));
            if (waits)
                used += (size_t)snprintf(ids + used, sizeof ids - used, ":%s", o->dry_run ? plan[j].name : plan[j].job);
        }
        if (used) snprintf(p->dep, sizeof p->dep, "%s%s", any ? "afterany" : "afterok", ids);
        if (!o->dry_run) {
            st = sbatch_submit(p, &err);
            if (st) {
                if (i > 0) {
                    fprintf(stderr, "gendec submit: submitted before the failure:");
                    for (int j = 0; j < i; j++) fprintf(stderr, " %s=%s", plan[j].name, plan[j].job);
                    fprintf(stderr, " (recorded in %s/jobs/submitted.tsv; cancel them with scancel)\n", run);
                }
                break;
            }
            sb_printf(&tsv, "%s\t%s\t%s\t%s\n", p->name, p->job, p->dep, p->script);
        }
    }
    if (!o->dry_run && tsv.s) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/jobs/submitted.tsv", run);
        FILE* f = fopen(path, "a");
        int ok = f && fputs(tsv.s, f) >= 0;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok && !st) st = gd_error_set(&err, GD_EIO, path, 0, 0, NULL, "cannot record the job ids");
    }
    if (st) goto fail;

    /* The plan. */
    printf("gendec submit: %s (scale %s), run folder %s\n", name, gd_config_string(cfg, "scale"), run);
    int w_job = 3, w_dep = 5, w_res = 9;
    char res[MAX_STAGES][160];
    for (int i = 0; i < n_plan; i++) {
        planned* p = &plan[i];
        const char* time_limit = p->pipeline < 0 ? "00:05:00" : gd_config_string(cfg, "slurm.time");
        long long nn = p->mpi ? (long long)gd_config_int(cfg, "slurm.nodes") : 1;
        long long nt = p->mpi ? (long long)gd_config_int(cfg, "slurm.tasks") : 1;
        int l = snprintf(res[i], sizeof res[i], "%lld node%s, %lld task%s x %s cpu, %s", nn, nn == 1 ? "" : "s", nt,
                         nt == 1 ? "" : "s", cpus, *time_limit ? time_limit : "no limit");
        if (p->array && l > 0 && (size_t)l < sizeof res[i])
            snprintf(res[i] + l, sizeof res[i] - (size_t)l, ", array of %d", p->array);
        if ((int)strlen(p->job) > w_job) w_job = (int)strlen(p->job);
        if ((int)strlen(p->dep) > w_dep) w_dep = (int)strlen(p->dep);
        if ((int)strlen(res[i]) > w_res) w_res = (int)strlen(res[i]);
    }
    printf("  %-7s %-*s %-*s %-*s %s\n", "stage", w_job, "job", w_dep, "after", w_res, "resources", "command");
    for (int i = 0; i < n_plan; i++) {
        planned* p = &plan[i];
        /* The command as the job runs it, shortened: gendec for the executable, <run> for the run folder. */
        sbuf a = {0}, b = {0}, c = {0};
        if (p->mpi) sb_printf(&a, "%s ", mpiexec ? "mpiexec" : "srun");
        sb_replace_all(&a, p->cmd.s ? p->cmd.s : "", exe, "gendec");
        if (p->array) sb_puts(&a, " --slice I --slices N");
        sb_replace_all(&b, a.s ? a.s : "", run, "<run>");
        sb_replace_all(&c, b.s ? b.s : "", cwd, ".");
        printf("  %-7s %-*s %-*s %-*s %s\n", p->name, w_job, o->dry_run ? "-" : p->job, w_dep,
               p->dep[0] ? p->dep : "-", w_res, res[i], c.s ? c.s : "");
        if (p->pipeline >= 0) {
            const char* word = cli_pipeline_stage(p->pipeline, NULL, NULL);
            const char* command = !strcmp(word, "cnn") ? "train" : !strcmp(word, "fgm") || !strcmp(word, "neat") ? "attack" : word;
            if (!cli_find_command(command))
                printf("  %-7s (the '%s' command is not part of this build of gendec)\n", "", command);
            if (!strcmp(p->name, "sweep") && sweep_single)
                printf("  %-7s (one job for the whole grid: this gendec sweep takes no --slice, so no job array)\n", "");
        }
        free(a.s);
        free(b.s);
        free(c.s);
    }
    if (o->dry_run) {
        for (int i = 0; i < n_plan; i++) printf("\n==> %s <==\n%s", plan[i].script, plan[i].text.s);
        printf("\ndry run: nothing was written or submitted\n");
    } else {
        printf("scripts: %s/jobs/   logs: %s/logs/   job ids: %s/jobs/submitted.tsv\n", run, run, run);
    }
    goto done;

fail:
    rc = cli_fail(&err);
done:
    for (int i = 0; i < n_plan; i++) {
        free(plan[i].text.s);
        free(plan[i].cmd.s);
    }
    free(lib.s);
    free(extra.s);
    free(tsv.s);
    free(yaml);
    gd_config_free(cfg);
    return rc;
}

int cmd_submit(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s", submit_usage);
        return CLI_EXIT_OK;
    }
    submit_opts o = {0};
    o.sets = calloc((size_t)argc, sizeof(char*));
    if (!o.sets) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0) rc = cli_usage_error("submit", "--set needs key=value");
            else o.sets[o.n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--out", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--out needs a folder");
            else o.out = v;
        } else if ((t = cli_take(argc, argv, &i, "--data-dir", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--data-dir needs a folder");
            else o.data_dir = v;
            /* Only data prepare takes --data-dir; the other stages read $GD_DATA_DIR, which sbatch passes on
             * (its default --export=ALL). */
            if (rc == CLI_EXIT_OK) setenv("GD_DATA_DIR", v, 1);
        } else if ((t = cli_take(argc, argv, &i, "--only", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--only needs stages, e.g. --only eval,report");
            else o.only = v;
        } else if ((t = cli_take(argc, argv, &i, "--skip", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--skip needs stages, e.g. --skip check");
            else o.skip = v;
        } else if ((t = cli_take(argc, argv, &i, "--gendec", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--gendec needs the path of the executable");
            else o.gendec = v;
        } else if ((t = cli_take(argc, argv, &i, "--templates", &v))) {
            if (t < 0 || !*v) rc = cli_usage_error("submit", "--templates needs a folder");
            else o.templates = v;
        } else if (cli_flag(argv, i, "--dry-run")) {
            o.dry_run = 1;
        } else {
            rc = cli_experiment_file("submit", argv, i, &o.file);
        }
    }
    if (rc == CLI_EXIT_OK && !o.file) rc = cli_usage_error("submit", "name an experiment file");
    if (rc == CLI_EXIT_OK) rc = submit_run(&o, argc, argv);
    free((void*)o.sets);
    return rc;
}
