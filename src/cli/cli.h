/* The gendec command line: shared pieces of the commands (option parsing, error printing, progress).
 * The CLI is the only place with global state (the MPI world, the progress display). */
#ifndef GENDEC_CLI_H
#define GENDEC_CLI_H

#include <signal.h>
#include <stdio.h>

#include "gendec/core.h"

/* A command: `gendec <name> ...`. run() gets argv with argv[0] = the command name. */
typedef struct {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
    int needs_mpi; /* initialise MPI before run() */
} cli_command;

/* Exit codes. 0 success; 1 a failure reported on stderr; 2 usage error; 75 (EX_TEMPFAIL) interrupted by a
 * signal after saving state, so the job should be requeued and resumed. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_REQUEUE = 75 };

/* Prints "gendec: <formatted error>" to stderr (rank 0 only when MPI is up, unless every rank has its
 * own error) and returns the exit code for its status. */
int cli_fail(const gd_error* err);

/* Prints "gendec <cmd>: <message>" and a pointer to --help, returns CLI_EXIT_USAGE. */
int cli_usage_error(const char* cmd, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* If argv[*i] is "--name value" or "--name=value", stores the value, advances *i past it and returns 1;
 * returns -1 when the value is missing; 0 when argv[*i] is another option. */
int cli_take(int argc, char** argv, int* i, const char* name, const char** value);

/* 1 if argv[i] is exactly the flag `name`. */
int cli_flag(char** argv, int i, const char* name);

/* The last branch of an experiment command's option loop: argv[i] is an unknown option (a usage error) or the
 * experiment file (into *file; a second one is a usage error). Returns CLI_EXIT_OK or the usage-error exit code. */
int cli_experiment_file(const char* cmd, char** argv, int i, const char** file);

/* The arguments of a command that takes only --quick (*quick = 1): prints usage for -h / --help. Returns -1 to go
 * on, else the exit code to return (CLI_EXIT_OK after the help, a usage error). */
int cli_quick_args(const char* cmd, const char* usage, int argc, char** argv, int* quick);

/* 1 if any argument is -h or --help. */
int cli_wants_help(int argc, char** argv);

/* Installs the handler of SIGTERM, SIGUSR1 and SIGUSR2 (Slurm's warning before a time limit or preemption) and
 * returns the flag it sets: a command checks it at its next safe point, saves its state and exits
 * CLI_EXIT_REQUEUE. */
volatile sig_atomic_t* cli_stop_signals(void);

/* MPI rank and size in the world communicator (0 and 1 before MPI is initialised). */
int cli_rank(void);
int cli_world_size(void);

/* Progress: a live bar on a TTY, a plain line every `interval` seconds otherwise (Slurm logs).
 * Only rank 0 prints. */
typedef struct {
    const char* label;
    double total;
    double start, last_print;
    int tty;
} cli_progress;
void cli_progress_start(cli_progress* p, const char* label, double total);
void cli_progress_update(cli_progress* p, double done, const char* extra);
void cli_progress_end(cli_progress* p, const char* extra);

/* The run folder of an experiment: `out` when given, else results/<experiment.name>/<run-id>, where run-id is
 * the hash (16 hex digits) of every section that results depend on (CLI_RUN_SECTIONS), so that the same
 * experiment with only slurm.*, report.* or experiment.* changed keeps its folder. Writes into buf. */
#define CLI_RUN_SECTIONS "seed,data,model,cnn,train,infer,sweep,attack"
struct gd_config;
void cli_run_dir(const struct gd_config* cfg, const char* out, char* buf, size_t n);

/* A Slurm template of jobs/ (embedded at build time, e.g. "train.sbatch", "lib.sh"): its bytes and length,
 * NULL when there is none of that name. */
const unsigned char* cli_job_template(const char* name, size_t* len);

/* The pipeline of an experiment (cmd_run.c), shared by gendec run and gendec submit so that both run the same
 * stages with the same command lines. Stages are numbered 0..cli_pipeline_size()-1 in pipeline order (data,
 * train, cnn, sweep, eval, fgm, neat, report). cli_pipeline_stage: the stage's name, whether it runs on every
 * MPI rank, and the stages whose output it reads (bit d = stage d); NULL for a bad number.
 * cli_pipeline_wanted: wanted[s] = 1 for the stages the experiment runs (experiment.stages or the default).
 * cli_pipeline_argv: the stage's gendec arguments (after "gendec"; `out` is the data stage's output file) into
 * args (at least 16 entries), returns their number. */
int cli_pipeline_size(void);
const char* cli_pipeline_stage(int s, int* mpi, unsigned* deps);
void cli_pipeline_wanted(const struct gd_config* cfg, int* wanted);
int cli_pipeline_argv(int s, const char* cfg_path, const char* run_dir, const char* data_dir, const char* out,
                      const char** args);

/* The registered command called `name`, or NULL (gendec run calls the stage commands through it). */
const cli_command* cli_find_command(const char* name);

/* Commands. */
int cmd_version(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_submit(int argc, char** argv);
int cmd_data(int argc, char** argv);
int cli_bench_data(int argc, char** argv); /* gendec bench data (in cmd_data.c) */
int cmd_config(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_sweep(int argc, char** argv);
int cmd_attack(int argc, char** argv); /* gendec attack fgm|neat (cmd_attack.c) */
/* gendec bench classify (cmd_bench_classify.c). */
int cli_bench_classify(int argc, char** argv);

/* ---- classification commands (infer_session.c) ---- */
#include "gendec/data.h"
#include "gendec/infer.h"
struct gd_config;
struct gd_cvae;

/* mkdir -p. */
int cli_mkdirs(const char* path, gd_error* err);

/* The pieces `gendec eval`, `sweep` and `bench classify` share. */
typedef struct {
    struct gd_config* cfg;
    char* yaml;              /* the resolved config (stored in every output) */
    char results_dir[1024];  /* <results root>/<experiment.name> */
    char model_path[1024];   /* --model, else <out>/model.h5, else <results_dir>/model.h5 */
    char data_path[1100];    /* rank 0: the data cache file */
    gd_dataset ds;           /* rank 0 */
    int h, w, n;             /* image size and components (every rank) */
    struct gd_cvae* model;   /* every rank */
    gd_generator gen;
    gd_infer_opts opts;
    gd_infer* solver;
} cli_infer_session;

/* Collective: loads the config (+ --set), the data on rank 0 when need_data (through the data cache), the model on
 * every rank, and builds the classifier; checks that model and data fit. */
gd_status cli_infer_open(cli_infer_session* s, const char* yaml, const char* const* sets, size_t n_sets,
                         const char* model_path, const char* out_dir, const char* results_root, const char* data_dir,
                         int need_data, gd_error* err);
/* The best point (beta, b, c, l, yl, yu) of <dir>/sweep.h5; *found = 0 (GD_OK) when there is no such file. */
gd_status cli_sweep_best(const char* dir, double point[6], int* found, gd_error* err);
/* Sets the classifier of s to a sweep point (every rank). */
gd_status cli_infer_apply_point(cli_infer_session* s, const double point[6], gd_error* err);
/* Collective: the split named `split` (rank 0's data), at most max_n images (0 = all), on every rank. */
gd_status cli_infer_split(const cli_infer_session* s, const char* split, int64_t max_n, gd_split* out, gd_error* err);
void cli_infer_close(cli_infer_session* s);
/* What a saved partial result (eval.partial.h5, a sweep's partial file) belongs to, as text: the images, the
 * model's weights, every classifier option and `what` (the command's own settings). A partial result is only
 * continued when this text is the same. Rank 0. */
void cli_infer_key(const cli_infer_session* s, const char* split, const gd_split* sp, const char* what, char* buf,
                   size_t n);
/* A gd_infer_eval_opts progress callback over a cli_progress. */
void cli_infer_progress(void* ctx, int64_t done, int64_t total);
/* Progress of one segment of a resumable command (eval, sweep) as progress of the whole: ctx is a
 * cli_segment_progress, offset = the work done before the segment. */
typedef struct {
    cli_progress* bar;
    int64_t offset;
} cli_segment_progress;
void cli_infer_segment_progress(void* ctx, int64_t done, int64_t total);
int cmd_train(int argc, char** argv);
int cmd_sample(int argc, char** argv);

/* Median of n > 0 doubles (sorts v in place). */
double cli_median(double* v, int n);

/* Median GFLOP/s of a row-major M x K times K x N sgemm over about min_seconds. */
double cli_bench_sgemm_gflops(int m, int n, int k, double min_seconds);

/* CPU seconds (user + system, all threads) used by this process so far (bench_timing.c). */
double cli_cpu_seconds(void);

/* A generator that forwards to `inner` and adds up the decoder (row, component) passes it ran, forward and
 * backward, and the wall and CPU seconds spent inside decode and decode_backward (bench_timing.c). */
typedef struct {
    gd_generator inner;
    double pairs_fwd, pairs_bwd, seconds, cpu;
    const float* last_y; /* the last decode's y and want_dy: which pairs its backward runs */
    int last_all;
} cli_timed_gen;
/* Zeroes t, wraps inner: *out is the generator to hand to the solver (ctx = t; t must outlive it). */
void cli_timed_gen_wrap(cli_timed_gen* t, const gd_generator* inner, gd_generator* out);
/* Zeroes the counters. */
void cli_timed_gen_reset(cli_timed_gen* t);

/* gendec bench dump (cmd_bench_dump.c): the numerics check's reference data for bench/reference.py. */
int cli_bench_dump(int argc, char** argv);
/* gendec bench measure (cmd_bench_measure.c): one measurement as a JSON line for bench/run. */
int cli_bench_measure(int argc, char** argv);

/* gendec bench layers (cmd_bench_nn.c). */
int cli_bench_layers(int argc, char** argv);

/* gendec bench train (cmd_bench_train.c). */
int cli_bench_train(int argc, char** argv);

/* gendec bench comm (cmd_bench_comm.c): collective timings and their alpha-beta fits. */
int cli_bench_comm(int argc, char** argv);

/* gendec bench attack (cmd_bench_attack.c). */
int cli_bench_attack(int argc, char** argv);

#endif
