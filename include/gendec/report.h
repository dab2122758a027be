/* report: the tables of the paper's §5 (../shared/docs/PAPER.md §5) and its figures, regenerated from result
 * files (docs/hdf5-schema.md), with the paper's figure beside ours in every cell, the number of test images
 * behind ours, and the settings that produced it.
 *
 * Flow:
 *     gd_report* r;  gd_error err;
 *     gd_report_scan(&r, paths, n_paths, &err);   // run folders, results/<experiment>/ or results/
 *     gd_report_tables(r, &tables, &n_tables, &err);
 *     char* md = gd_report_markdown(r, tables, n_tables, &opts);   // report.md
 *     char* tex = gd_report_latex(r, tables, n_tables, &opts);     // tables.tex
 *     gd_report_figures(r, out_dir, &opts, extra, &err);           // fig3_*.png, fig5_*.png, ...
 * or all of it at once: gd_report_write(r, out_dir, &opts, extra, &err).
 *
 * A run folder is any folder holding stage files (eval.h5, fgm.h5, neat.h5, sweep.h5, model.h5, cnn.h5, or a
 * sweep's per-task files). Every file read must be complete (complete = 1): an incomplete or damaged file is
 * refused with the reader's message (GD_EFORMAT naming it); files still being written (*.tmp.*) are ignored.
 * A sweep whose array tasks are not all present is reported with the missing task numbers, never averaged
 * silently over the tasks that exist.
 *
 * The figures that need a model (the generations of Fig. 3-5) are drawn from images the caller computes (the
 * CLI decodes with model.h5) and passes in gd_report_extra; Fig. 2 (latent samples) is written by the CLI with
 * `gendec sample` and added with gd_report_add_figure. The report module itself only reads result files and
 * writes text and PNG.
 */
#ifndef GENDEC_REPORT_H
#define GENDEC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* ---- runs ------------------------------------------------------------------------------------------------- */

typedef struct gd_report gd_report; /* the runs found under the given paths and what their files hold (opaque) */

/* Finds the runs under paths[0..n_paths): a path that holds *.h5 stage files is a run; otherwise its
 * sub-folders are searched (at most three levels: results/ -> <experiment>/ -> <run-id>/). A path that does
 * not exist: GD_EIO. No run at all: GD_EINVAL naming the paths. Every stage file found is opened and checked
 * (complete, kind, the datasets the report needs); the first problem is returned. */
gd_status gd_report_scan(gd_report** out, const char* const* paths, size_t n_paths, gd_error* err);
void gd_report_free(gd_report* r);

/* What a run has, for the CLI and tests. Pointers are owned by the report. */
typedef struct {
    const char* dir;         /* the run folder */
    const char* experiment;  /* experiment.name of its config */
    const char* set;         /* data.set */
    const char* config_yaml; /* the resolved config of its first file */
    int has_eval, has_fgm, has_neat, has_sweep, has_model, has_cnn;
} gd_report_run;

size_t gd_report_n_runs(const gd_report* r);
const gd_report_run* gd_report_run_info(const gd_report* r, size_t i);

/* What a run's files do not hold and the caller knows (the CLI reads it from the data file and cnn.h5):
 * the names of the components and classes of the data set (for labels, and to find "left_turn"), and the
 * CNN's predicted class of each image of the run's eval.h5 (pred (N), N = that file's image count), computed
 * from `source` (e.g. ".../cnn.h5"). GD_EINVAL for a run without eval.h5 or another N. */
gd_status gd_report_set_names(gd_report* r, size_t run, const char* const* comp_names, int n_comp,
                              const char* const* class_names, int n_class, gd_error* err);
gd_status gd_report_set_cnn(gd_report* r, size_t run, const int32_t* pred, int64_t N, const char* source,
                            gd_error* err);

/* The data file (attribute eval/data) and the dataset image index of each evaluated image (eval/index, (N)),
 * so that the caller can fetch the images; *index is gd_alloc'd (free with gd_free). GD_EINVAL without
 * eval.h5. */
gd_status gd_report_eval_images(const gd_report* r, size_t run, char* data_path, size_t n, int64_t** index,
                                int64_t* N, gd_error* err);

/* ---- tables ----------------------------------------------------------------------------------------------- */

#define GD_REPORT_TEXT 256

/* One number of ours beside the paper's. value = k / n (NaN when there is no result: n = 0). */
typedef struct {
    double value;                   /* ours, as a fraction in [0, 1] (printed as % when the row says so) */
    int64_t k, n;                   /* count and test images behind it */
    double paper;                   /* the paper's figure as a fraction, NaN when the paper has none */
    char note[GD_REPORT_TEXT];      /* e.g. "2 of 4 sweep tasks missing: 1, 3" (empty = none) */
} gd_report_cell;

typedef struct {
    char label[GD_REPORT_TEXT];     /* "MNIST proposed" */
    char settings[GD_REPORT_TEXT * 2]; /* what produced the row: "rule=top3, binarize_input=true, l=0.2, ..." */
    char source[GD_REPORT_TEXT * 2];   /* the file(s) it was computed from */
    int percent;                    /* 1: cells printed in %, 0: as fractions (the paper's MNIST rows) */
    gd_report_cell* cells;          /* (n_cols) */
} gd_report_row;

typedef enum {
    GD_REPORT_T_TS = 0,    /* novel traffic signs: CNN vs the generative classifier */
    GD_REPORT_T_MULTI,     /* multiMNIST decomposition */
    GD_REPORT_T_FGM,       /* Table 1: accuracy under FGM */
    GD_REPORT_T_NEAT,      /* NEAT fooling images identified as noise */
    GD_REPORT_T_SWEEP      /* hyper-parameter sweeps (validation), with missing array tasks */
} gd_report_table_kind;

typedef struct {
    gd_report_table_kind kind;
    char title[GD_REPORT_TEXT];
    char caption[GD_REPORT_TEXT * 4]; /* what the numbers are, how they are counted */
    size_t n_cols;
    char (*col)[64];                  /* (n_cols) column headers */
    size_t n_rows;
    gd_report_row* rows;              /* (n_rows) */
} gd_report_table;

/* Computes every table the runs support (a table without any run behind it is left out). *tables is an
 * array of *n_tables tables; free with gd_report_tables_free. */
gd_status gd_report_tables(const gd_report* r, gd_report_table** tables, size_t* n_tables, gd_error* err);
void gd_report_tables_free(gd_report_table* tables, size_t n_tables);

/* The row of table t whose label is `label` (exact), or NULL: for tests. */
const gd_report_row* gd_report_find_row(const gd_report_table* t, const char* label);

/* ---- output ----------------------------------------------------------------------------------------------- */

typedef struct {
    int paper_numbers;     /* show the paper's figure beside ours (1) */
    int markdown, latex;   /* write report.md / tables.tex (1, 1) */
    int figures;           /* write the PNG figures (1) */
    int n_examples;        /* example images per figure (16) */
} gd_report_opts;

void gd_report_opts_default(gd_report_opts* o);

/* Report text (malloc'd, free()). The Markdown holds every table with its caption, settings and sources, the
 * list of runs and figures; the LaTeX holds the tables only (booktabs). NULL on allocation failure. */
char* gd_report_markdown(const gd_report* r, const gd_report_table* tables, size_t n_tables,
                         const gd_report_opts* o);
char* gd_report_latex(const gd_report* r, const gd_report_table* tables, size_t n_tables, const gd_report_opts* o);

/* Images a caller computed with a model, for the figures that need one. All optional (NULL / 0 = not drawn).
 * Images are single-channel h x w in [0, 1]. */
typedef struct {
    size_t run;              /* the run (gd_report_run index) they belong to */
    int h, w;
    int n_comp;              /* components of gen_parts */
    /* The first n_gen evaluated test images (n_gen, h*w), the answer's generation x_f(z†, y†) of each
     * (n_gen, h*w) and each sub-network's own image Dec_i(z*_i) (n_gen, n_comp, h*w), for Fig. 3 (right) and
     * Fig. 4. gen_parts may be NULL. */
    const float* inputs;
    const float* gen_final;
    const float* gen_parts;
    int n_gen;
    /* Fig. 5: the generations of the first n_adv adversarial images of the largest ε (n_adv, h*w). */
    const float* adv_gen;
    int n_adv;
    /* Fig. 5 (right): generations of the first n_neat fooling images (n_neat, h*w). */
    const float* neat_gen;
    int n_neat;
} gd_report_extra;

/* Writes the figures the runs support into out_dir (which must exist): fig3_<run>.png (mean y per step with a ±3 std band over the test images, from the eval trace),
 * fig3_<run>_examples.png (inputs, sub-network generations and final generations), fig4_<run>.png
 * (multiMNIST inputs and generations with true and predicted labels), fig5_<run>_fgm.png (adversarial images
 * of the largest ε with labels) and fig5_<run>_neat.png (fooling images, binarized, generations, CNN
 * confidence). <run> is the experiment name, with the run folder's name appended when an experiment has
 * several runs. extra may be NULL, or an array of n_extra. The names written are appended to the report's
 * figure list (used by gd_report_markdown). */
gd_status gd_report_figures(gd_report* r, const char* out_dir, const gd_report_opts* o,
                            const gd_report_extra* extra, size_t n_extra, gd_error* err);

/* Everything: tables, report.md and tables.tex (atomic writes), figures, in out_dir (created if missing). */
gd_status gd_report_write(gd_report* r, const char* out_dir, const gd_report_opts* o, const gd_report_extra* extra,
                          size_t n_extra, gd_error* err);

/* The figures written so far (names relative to out_dir). */
size_t gd_report_n_figures(const gd_report* r);
const char* gd_report_figure_name(const gd_report* r, size_t i);

/* Adds a figure the caller wrote into out_dir (e.g. Fig. 2 by `gendec sample`) to the list report.md shows. */
gd_status gd_report_add_figure(gd_report* r, const char* name, gd_error* err);

/* The stem of run i's figure names: the experiment, plus "_<run folder>" when the experiment has other runs
 * ("fig2_<stem>.png"). */
void gd_report_run_stem(const gd_report* r, size_t i, char* buf, size_t n);

#endif
