/* Option parsing, error printing and progress display shared by the commands. */
#include <mpi.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/config.h"

/* Set by SIGTERM / SIGUSR1 / SIGUSR2 once cli_stop_signals has run. */
static volatile sig_atomic_t cli_stop_flag = 0;

static void cli_on_stop_signal(int sig) {
    (void)sig;
    cli_stop_flag = 1;
}

volatile sig_atomic_t* cli_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    return &cli_stop_flag;
}

int cli_experiment_file(const char* cmd, char** argv, int i, const char** file) {
    if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    if (*file) return cli_usage_error(cmd, "one experiment file at a time ('%s' and '%s')", *file, argv[i]);
    *file = argv[i];
    return CLI_EXIT_OK;
}

int cli_quick_args(const char* cmd, const char* usage, int argc, char** argv, int* quick) {
    *quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            return CLI_EXIT_OK;
        } else if (cli_flag(argv, i, "--quick"))
            *quick = 1;
        else
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    }
    return -1;
}

int cli_rank(void) {
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int cli_world_size(void) {
    int init = 0, fin = 0, size = 1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int cli_fail(const gd_error* err) {
    char buf[2560];
    gd_error_format(err, buf, sizeof buf);
    if (cli_world_size() > 1)
        fprintf(stderr, "gendec[rank %d]: %s\n", cli_rank(), buf);
    else
        fprintf(stderr, "gendec: %s\n", buf);
    fflush(stderr);
    return err->code == GD_EINTR ? CLI_EXIT_REQUEUE : CLI_EXIT_FAIL;
}

int cli_usage_error(const char* cmd, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gendec %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'gendec %s --help')\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_take(int argc, char** argv, int* i, const char* name, const char** value) {
    const char* a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

int cli_flag(char** argv, int i, const char* name) { return strcmp(argv[i], name) == 0; }

int cli_wants_help(int argc, char** argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

void cli_progress_start(cli_progress* p, const char* label, double total) {
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->start = p->last_print = gd_now();
    p->tty = isatty(STDERR_FILENO);
}

void cli_progress_update(cli_progress* p, double done, const char* extra) {
    if (cli_rank() != 0) return;
    double now = gd_now();
    double frac = done / p->total;
    if (frac > 1) frac = 1;
    double elapsed = now - p->start;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    if (p->tty) {
        if (now - p->last_print < 0.1 && frac < 1) return;
        int width = 30, fill = (int)(frac * width);
        char bar[64];
        for (int k = 0; k < width; k++) bar[k] = k < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%s [%s] %5.1f%% %6.0fs eta %5.0fs %s\033[K", p->label, bar, 100 * frac, elapsed, eta,
                extra ? extra : "");
    } else {
        if (now - p->last_print < 10.0 && frac < 1) return;
        fprintf(stderr, "%s: %.0f/%.0f (%.1f%%) elapsed %.0fs eta %.0fs %s\n", p->label, done, p->total,
                100 * frac, elapsed, eta, extra ? extra : "");
    }
    p->last_print = now;
    fflush(stderr);
}

void cli_progress_end(cli_progress* p, const char* extra) {
    if (cli_rank() != 0) return;
    double elapsed = gd_now() - p->start;
    if (p->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s: done in %.1fs %s\n", p->label, elapsed, extra ? extra : "");
    fflush(stderr);
}

void cli_run_dir(const gd_config* cfg, const char* out, char* buf, size_t n) {
    if (out && *out) {
        snprintf(buf, n, "%s", out);
        return;
    }
    char hex[17];
    gd_config_hash_hex(gd_config_hash_sections(cfg, CLI_RUN_SECTIONS), hex);
    snprintf(buf, n, "results/%s/%s", gd_config_string(cfg, "experiment.name"), hex);
}
