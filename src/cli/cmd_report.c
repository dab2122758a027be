/* gendec report: the paper's tables and figures from result files (src/report), plus the figures that need
 * the trained model (latent samples, generations), which this command decodes with model.h5. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/report.h"
#include "report_model.h"

static const char* report_usage =
    "usage: gendec report <run folder | results/<experiment> | results> ... [-o DIR] [--no-figures]\n"
    "                     [--no-paper] [--examples N]\n"
    "\n"
    "Regenerates the tables of the paper's section 5 that the result files support, as Markdown (report.md)\n"
    "and LaTeX (tables.tex): our number beside the paper's figure in every cell, the number of test images\n"
    "behind ours, and the settings (rule, binarize_input, thresholds, model, scale, and whether Fashion-MNIST\n"
    "stands in for NORB) that produced each row. Figures (PNG): fig2_* latent samples, fig3_* convergence of y\n"
    "and generations, fig4_* multiMNIST examples, fig5_* adversarial and fooling images.\n"
    "\n"
    "A path may be a run folder (holding eval.h5, fgm.h5, neat.h5, sweep.h5, model.h5, ...), a stage file, or a\n"
    "folder above runs (searched three levels down). Files without complete=1 are refused; a sweep with missing\n"
    "array tasks is reported with the missing task numbers.\n"
    "\n"
    "  -o DIR          write into DIR (default: the first path, or its folder when it is a file)\n"
    "  --no-figures    tables only\n"
    "  --no-paper      leave the paper's figures out of the cells\n"
    "  --examples N    example images per figure (default: report.n_examples of the run's config)\n";

/* Fig. 2 of every run with a model.h5: `gendec sample` (its code, in-process) into out_dir/fig2_<run>.png. */
static gd_status fig2_samples(gd_report* r, const char* out_dir, gd_error* err) {
    const cli_command* sample = cli_find_command("sample");
    for (size_t i = 0; sample && i < gd_report_n_runs(r); i++) {
        const gd_report_run* info = gd_report_run_info(r, i);
        if (!info->has_model) continue;
        char stem[200], name[300], model[1200], out[1600];
        gd_report_run_stem(r, i, stem, sizeof stem);
        snprintf(name, sizeof name, "fig2_%s.png", stem);
        snprintf(model, sizeof model, "%s/model.h5", info->dir);
        snprintf(out, sizeof out, "%s/%s", out_dir, name);
        char* args[] = {"sample", model, "-o", out, "--per-row", "8", NULL};
        if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
            return gd_error_set(err, GD_EIO, out_dir, 0, 0, "choose another folder with -o", "cannot create: %s",
                                strerror(errno));
        fflush(stdout);
        if (sample->run(6, args) != CLI_EXIT_OK)
            return gd_error_set(err, GD_EIO, model, 0, 0, NULL, "gendec sample could not draw Fig. 2 from it");
        gd_status s = gd_report_add_figure(r, name, err);
        if (s) return s;
    }
    return GD_OK;
}

int cmd_report(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s", report_usage);
        return CLI_EXIT_OK;
    }
    const char** paths = calloc((size_t)argc + 1, sizeof(char*));
    size_t n_paths = 0;
    if (!paths) return CLI_EXIT_FAIL;
    const char* out = NULL;
    int no_fig = 0, no_paper = 0, examples = -1, rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if ((t = cli_take(argc, argv, &i, "-o", &v)) || (t = cli_take(argc, argv, &i, "--out", &v))) {
            if (t < 0) rc = cli_usage_error("report", "-o needs a folder");
            else out = v;
        } else if ((t = cli_take(argc, argv, &i, "--examples", &v))) {
            char* end = NULL;
            long n = t < 0 ? -1 : strtol(v, &end, 10);
            if (t < 0 || !end || *end || n < 0 || n > 10000)
                rc = cli_usage_error("report", "--examples needs a number in [0, 10000]");
            else examples = (int)n;
        } else if (cli_flag(argv, i, "--no-figures")) {
            no_fig = 1;
        } else if (cli_flag(argv, i, "--no-paper")) {
            no_paper = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            rc = cli_usage_error("report", "unknown option '%s'", argv[i]);
        } else {
            paths[n_paths++] = argv[i];
        }
    }
    if (rc == CLI_EXIT_OK && !n_paths) rc = cli_usage_error("report", "name a run folder or results/");
    if (rc != CLI_EXIT_OK) {
        free(paths);
        return rc;
    }
    char out_dir[1200];
    if (out) {
        snprintf(out_dir, sizeof out_dir, "%s", out);
    } else {
        struct stat st;
        snprintf(out_dir, sizeof out_dir, "%s", paths[0]);
        if (stat(paths[0], &st) == 0 && !S_ISDIR(st.st_mode)) {
            char* slash = strrchr(out_dir, '/');
            if (slash) *slash = '\0';
            else snprintf(out_dir, sizeof out_dir, ".");
        }
    }

    gd_error err;
    gd_error_clear(&err);
    gd_report* r = NULL;
    gd_status s = gd_report_scan(&r, paths, n_paths, &err);
    free(paths);
    if (s) return cli_fail(&err);

    gd_report_opts o;
    gd_report_opts_default(&o);
    /* The report.* keys of the first run's config. */
    const gd_report_run* first = gd_report_run_info(r, 0);
    gd_config* cfg = NULL;
    gd_error e2;
    if (first && first->config_yaml[0] &&
        !gd_config_parse(&cfg, first->config_yaml, strlen(first->config_yaml), first->dir, NULL, 0, &e2)) {
        o.paper_numbers = gd_config_bool(cfg, "report.paper_numbers");
        o.figures = gd_config_bool(cfg, "report.figures");
        o.n_examples = (int)gd_config_int(cfg, "report.n_examples");
        size_t nf = 0;
        const char* const* fm = gd_config_strings(cfg, "report.formats", &nf);
        o.markdown = o.latex = 0;
        for (size_t k = 0; k < nf; k++) {
            if (!strcmp(fm[k], "md")) o.markdown = 1;
            if (!strcmp(fm[k], "tex")) o.latex = 1;
        }
        gd_config_free(cfg);
    }
    if (no_fig) o.figures = 0;
    if (no_paper) o.paper_numbers = 0;
    if (examples >= 0) o.n_examples = examples;

    size_t n_runs = gd_report_n_runs(r);
    gd_report_extra* extra = calloc(n_runs ? n_runs : 1, sizeof *extra);
    if (!extra) s = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (size_t i = 0; !s && i < n_runs; i++) s = cli_report_prepare(r, i, o.figures ? o.n_examples : 0, &extra[i], &err);
    if (!s && o.figures) s = fig2_samples(r, out_dir, &err);
    if (!s) s = gd_report_write(r, out_dir, &o, extra, n_runs, &err);
    for (size_t i = 0; extra && i < n_runs; i++) cli_report_extra_free(&extra[i]);
    free(extra);
    if (s) {
        gd_report_free(r);
        return cli_fail(&err);
    }
    printf("report of %zu run%s: %s%s%s", gd_report_n_runs(r), gd_report_n_runs(r) == 1 ? "" : "s",
           o.markdown ? out_dir : "", o.markdown ? "/report.md" : "", o.latex ? " " : "");
    if (o.latex) printf("%s/tables.tex", out_dir);
    printf("\n");
    for (size_t i = 0; i < gd_report_n_figures(r); i++) printf("  %s/%s\n", out_dir, gd_report_figure_name(r, i));
    gd_report_free(r);
    return CLI_EXIT_OK;
}
