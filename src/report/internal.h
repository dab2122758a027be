/* report internals: what the report keeps of each run's files (the "facts" the tables are computed from). */
#ifndef GD_REPORT_INTERNAL_H
#define GD_REPORT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "gendec/config.h"
#include "gendec/io.h"
#include "gendec/report.h"

#define REP_MAX_NAMES 64
#define REP_NAME 32
#define REP_PATH 1200

/* The settings a stage file says the generative classifier used (attributes of its group: rule,
 * binarize_input, l, yl, yu, c, beta, b, steps, from_sweep): they win over the config when the stage took the
 * sweep's best point. have = 0 when the group has none. v[] is NaN for an attribute that is absent. */
enum { GD_REP_GEN_L = 0, GD_REP_GEN_YL, GD_REP_GEN_YU, GD_REP_GEN_C, GD_REP_GEN_BETA, GD_REP_GEN_B, GD_REP_GEN_STEPS,
       GD_REP_GEN_N };
typedef struct {
    int have;
    char rule[16];
    int binarize;
    int64_t from_sweep; /* 1: the best point of the run's sweep.h5 was used, 0: the config's infer.* values */
    double v[GD_REP_GEN_N];
} rep_gen;

/* eval.h5: the generative classifier on the test images, and the CNN on the same images when present. */
typedef struct {
    int present;
    char path[REP_PATH];
    int64_t N;
    int n;                 /* components */
    uint8_t* label;        /* (N, n) true component labels */
    uint8_t* ydec;         /* (N, n) decision y† */
    uint8_t* noise;        /* (N) rejected as noise */
    float* ystar;          /* (N, n) relaxed y* (NULL when absent) */
    int32_t* classes;      /* (N) class ids, NULL when absent */
    int trace_len;         /* steps + 1 of the stored trace, 0 = none */
    char split[REP_NAME];
    int n_comp_names;
    char comp_names[REP_MAX_NAMES][REP_NAME];
    int n_class_names;
    char class_names[REP_MAX_NAMES][REP_NAME];
    char data_path[REP_PATH]; /* the data file the images came from (attribute eval/data) */
    rep_gen gen;
    /* Given by the caller (gd_report_set_cnn): the CNN on the same images. */
    int32_t* cnn_pred;     /* (N) argmax, NULL when absent */
    char cnn_source[REP_PATH];
} rep_eval;

/* fgm.h5: every classifier on the adversarial images of every ε (root attribute eps, labels, cnn/pred,
 * binarized_cnn/pred, generative/{ydec, noise}, x_adv; docs/hdf5-schema.md). */
typedef struct {
    int present;
    char path[REP_PATH];
    int n_eps;
    double* eps;           /* (n_eps) */
    int64_t N;
    int n;                 /* components of the generative classifier's labels */
    int32_t* label;        /* (N) true class */
    int32_t* cnn_pred;     /* (n_eps, N) CNN argmax on x_adv */
    int32_t* bin_pred;     /* (n_eps, N) CNN argmax on binarized x_adv (the baseline defense) */
    uint8_t* ydec;         /* (n_eps, N, n) generative classifier's decision, NULL when not evaluated */
    uint8_t* noise;        /* (n_eps, N) */
    char norm[16];         /* linf | l2 */
    int64_t pgd_steps;
    rep_gen gen;
} rep_fgm;

/* neat.h5: fooling images of the CNN and what each classifier makes of them (fooling/{target, confidence,
 * images, binarized_cnn/p_target, generative/noise}, noise/generative/noise; docs/hdf5-schema.md). */
typedef struct {
    int present;
    char path[REP_PATH];
    int64_t N;             /* fooling images (CNN target confidence above the threshold) */
    int32_t* target;       /* (N) */
    float* cnn_conf;       /* (N) CNN probability of the target */
    float* bin_conf;       /* (N) CNN probability of the target on the binarized image (NULL: absent) */
    uint8_t* noise;        /* (N) the generative classifier rejected it as noise */
    double threshold;      /* the confidence that counts as fooled (0.9) */
    int64_t N_noise;       /* uniform-noise comparison images (0 = none) */
    uint8_t* noise_noise;  /* (N_noise) rejected */
    rep_gen gen;
} rep_neat;

/* sweep.h5 (merged), or the slice files sweep.slice-I-of-N.h5 of a job array that has not merged: the points of
 * the slices present, and the numbers I of the slices missing. Arrays are malloc'd (missing: gd_alloc'd). */
typedef struct {
    int present;
    char path[REP_PATH];
    size_t n_points;
    double (*point)[6];    /* (n_points, 6) beta, b, c, l, yl, yu */
    int64_t* count;        /* (n_points) validation images behind each point */
    int64_t* exact;        /* (n_points) */
    int64_t* rejected;     /* (n_points) */
    int64_t tasks;         /* array tasks the grid was split into (1 = not an array) */
    int64_t n_missing;
    int64_t* missing;      /* (n_missing) task numbers without a complete file */
} rep_sweep;

typedef struct {
    gd_report_run info;
    char* dir;
    char* experiment;
    char* set;
    char* yaml;
    gd_config* cfg;        /* parsed config_yaml (NULL when it does not parse with this gendec) */
    rep_eval eval;
    rep_fgm fgm;
    rep_neat neat;
    rep_sweep sweep;
    char model_path[REP_PATH];
    char cnn_path[REP_PATH];
} rep_run;

struct gd_report {
    size_t n_runs;
    rep_run* runs;
    size_t n_figures;
    char (*figures)[256];
};

/* Readers (read.c): fill the facts of one file; GD_EFORMAT naming the file and dataset on a problem. */
gd_status rep_read_eval(const char* path, rep_eval* e, gd_error* err);
gd_status rep_read_fgm(const char* path, rep_fgm* f, gd_error* err);
gd_status rep_read_neat(const char* path, rep_neat* nt, gd_error* err);
gd_status rep_read_sweep(const char* dir, rep_sweep* sw, int* found, gd_error* err);
void rep_eval_free(rep_eval* e);
void rep_fgm_free(rep_fgm* f);
void rep_neat_free(rep_neat* nt);
void rep_sweep_free(rep_sweep* sw);

/* Reads the generative classifier's settings from the attributes of `group` of an open file. */
gd_status rep_read_gen(gd_h5* f, const char* group, rep_gen* g, gd_error* err);

/* Reads the trace (N, T, n) of an eval file into a new gd_alloc'ed buffer (figures only). */
gd_status rep_read_trace(const rep_eval* e, float** trace, gd_error* err);

/* The label under which a run appears: "<experiment>" or "<experiment> (<run folder name>)" when the
 * experiment has several runs. */
void rep_run_label(const gd_report* r, size_t i, char* buf, size_t n);

/* snprintf that may cut the text (labels and paths in fixed buffers); returns nothing. */
void rep_fmt(char* buf, size_t n, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable string (render.c). */
typedef struct {
    char* s;
    size_t len, cap;
    int oom;
} rep_buf;
void rep_printf(rep_buf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
