/* gendec report against hand-made result files: eval.h5, fgm.h5, neat.h5 and sweep.h5 written with io's API
 * (the layouts of docs/hdf5-schema.md) with known per-image outcomes; every table cell is checked against the
 * counts worked out by hand below, and so are the Markdown/LaTeX cells, the refusal of an incomplete file and
 * the listing of missing sweep tasks. */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gd_test.h"
#include "gendec/config.h"
#include "gendec/io.h"
#include "gendec/report.h"

static char root[600];

/* The resolved config YAML of `text` (an experiment), as stages store it. */
static char* config_yaml(const char* text) {
    gd_config* cfg = NULL;
    gd_error err;
    if (gd_config_parse(&cfg, text, strlen(text), "test.yaml", NULL, 0, &err)) {
        fprintf(stderr, "config: %s\n", err.msg);
        exit(1);
    }
    char* y = gd_config_emit(cfg);
    gd_config_free(cfg);
    return y;
}

static void mkdir_p(const char* d) {
    char p[700];
    snprintf(p, sizeof p, "%s", d);
    for (char* c = p + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            mkdir(p, 0755);
            *c = '/';
        }
    mkdir(p, 0755);
}

static void put(gd_h5* f, const char* name, gd_dtype t, int rank, size_t d0, size_t d1, size_t d2, const void* v) {
    gd_error err;
    size_t dims[3] = {d0, d1, d2};
    CHECK_OK(gd_h5_write(f, name, t, rank, dims, v, 0, &err), &err);
}

/* Traffic signs: 10 novel "no left turn" images [1,1,1,0]. Decisions: images 0-6 right, 7 misses the slash,
 * 8 and 9 rejected as noise -> 7/10 correct, 2/10 rejected. */
static void write_ts(const char* dir) {
    char path[800];
    snprintf(path, sizeof path, "%s/eval.h5", dir);
    char* y = config_yaml("experiment: {name: traffic_signs}\ndata: {set: traffic_signs}\nmodel: {n_components: 4}\n"
                          "infer: {rule: enumerate, l: 0.3, binarize_input: false}\n");
    gd_h5* f = NULL;
    gd_error err;
    CHECK_OK(gd_h5_create(path, "eval", y, MPI_COMM_NULL, &f, &err), &err);
    free(y);
    enum { N = 10, n = 4, T = 3 };
    uint8_t lab[N * n], dec[N * n], noise[N] = {0};
    float ys[N * n], tr[N * T * n];
    int32_t cls[N];
    int64_t idx[N];
    for (int i = 0; i < N; i++) {
        const uint8_t l[4] = {1, 1, 1, 0};
        memcpy(lab + i * n, l, 4);
        memcpy(dec + i * n, l, 4);
        cls[i] = 2;
        idx[i] = 100 + i;
        for (int c = 0; c < n; c++) {
            ys[i * n + c] = l[c] ? 0.9f : 0.1f;
            for (int t = 0; t < T; t++) tr[(i * T + t) * n + c] = 0.5f + (l[c] ? 0.2f : -0.2f) * (float)t;
        }
    }
    dec[7 * n + 1] = 0;
    noise[8] = noise[9] = 1;
    memset(dec + 8 * n, 0, 2 * n);
    put(f, "eval/index", GD_I64, 1, N, 0, 0, idx);
    put(f, "eval/labels", GD_U8, 2, N, n, 0, lab);
    put(f, "eval/classes", GD_I32, 1, N, 0, 0, cls);
    put(f, "eval/y_star", GD_F32, 2, N, n, 0, ys);
    put(f, "eval/y_dec", GD_U8, 2, N, n, 0, dec);
    put(f, "eval/noise", GD_U8, 1, N, 0, 0, noise);
    put(f, "eval/trace", GD_F32, 3, N, T, n, tr);
    CHECK_OK(gd_h5_attr_set_str(f, "eval", "split", "test", &err), &err);
    /* what eval writes about the classifier it ran (here: the config's values, no sweep) */
    CHECK_OK(gd_h5_attr_set_str(f, "eval", "rule", "enumerate", &err), &err);
    const char* keys[] = {"binarize_input", "l", "yl", "yu", "c", "beta", "b", "steps", "from_sweep"};
    const double vals[] = {0, 0.3, 0.5, 0.6, 0.0015, 7, -6, 30, 0};
    for (int k = 0; k < 9; k++) CHECK_OK(gd_h5_attr_set_f64(f, "eval", keys[k], vals[k], &err), &err);
    CHECK_OK(gd_h5_attr_set_str(f, "eval", "data", "results/traffic_signs/data-x.h5", &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* multiMNIST: 6 two-digit images. Exact decisions on images 0, 1, 2 (3/6); top-2 of y* right on 0-3 (4/6). */
static void write_multi(const char* dir) {
    char path[800];
    snprintf(path, sizeof path, "%s/eval.h5", dir);
    char* y = config_yaml("experiment: {name: multimnist}\ndata: {set: multimnist}\n");
    gd_h5* f = NULL;
    gd_error err;
    CHECK_OK(gd_h5_create(path, "eval", y, MPI_COMM_NULL, &f, &err), &err);
    free(y);
    enum { N = 6, n = 10 };
    uint8_t lab[N * n] = {0}, dec[N * n] = {0}, noise[N] = {0};
    float ys[N * n] = {0};
    int64_t idx[N];
    for (int i = 0; i < N; i++) {
        int a = i, b = i + 3;
        idx[i] = i;
        lab[i * n + a] = lab[i * n + b] = 1;
        if (i < 3) dec[i * n + a] = dec[i * n + b] = 1;
        else dec[i * n + a] = 1; /* misses one digit */
        ys[i * n + a] = 0.9f;
        ys[i * n + b] = i < 4 ? 0.8f : 0.1f;
        ys[i * n + (b + 1) % n] = i < 4 ? 0.2f : 0.7f;
    }
    put(f, "eval/index", GD_I64, 1, N, 0, 0, idx);
    put(f, "eval/labels", GD_U8, 2, N, n, 0, lab);
    put(f, "eval/y_star", GD_F32, 2, N, n, 0, ys);
    put(f, "eval/y_dec", GD_U8, 2, N, n, 0, dec);
    put(f, "eval/noise", GD_U8, 1, N, 0, 0, noise);
    CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* FGM on 5 images, eps {0, 0.2}. Labels 0..4. Per eps (CNN, binarized CNN, generative correct):
 *   eps 0:   CNN 5/5, binarized 4/5 (image 4 wrong), proposed 4/5 (image 3 rejected)
 *   eps 0.2: CNN 1/5 (image 0), binarized 3/5 (images 0-2), proposed 2/5 (image 0 right; image 1 two
 *            components; image 2 other class; 3, 4 rejected... image 4 right) */
static void write_fgm(const char* dir, const char* name, const char* set) {
    char path[800], text[300];
    snprintf(path, sizeof path, "%s/fgm.h5", dir);
    snprintf(text, sizeof text, "experiment: {name: %s}\ndata: {set: %s}\ninfer: {rule: top3, binarize_input: true}\n",
             name, set);
    char* y = config_yaml(text);
    gd_h5* f = NULL;
    gd_error err;
    CHECK_OK(gd_h5_create(path, "fgm", y, MPI_COMM_NULL, &f, &err), &err);
    free(y);
    enum { E = 2, N = 5, n = 10, D = 16 };
    double eps[E] = {0, 0.2};
    int32_t lab[N] = {0, 1, 2, 3, 4};
    int32_t cnn[E * N] = {0, 1, 2, 3, 4, /**/ 0, 2, 3, 4, 0};
    int32_t bin[E * N] = {0, 1, 2, 3, 0, /**/ 0, 1, 2, 0, 0};
    uint8_t dec[E * N * n] = {0}, noise[E * N] = {0};
    for (int i = 0; i < N; i++) dec[(0 * N + i) * n + i] = 1;
    noise[0 * N + 3] = 1;
    dec[(0 * N + 3) * n + 3] = 0;
    dec[(1 * N + 0) * n + 0] = 1;
    dec[(1 * N + 1) * n + 1] = dec[(1 * N + 1) * n + 5] = 1;
    dec[(1 * N + 2) * n + 7] = 1;
    noise[1 * N + 3] = 1;
    dec[(1 * N + 4) * n + 4] = 1;
    float xadv[E * N * D];
    for (int i = 0; i < E * N * D; i++) xadv[i] = (float)(i % 7) / 7.0f;
    CHECK_OK(gd_h5_attr_set_f64s(f, "/", "eps", eps, E, &err), &err);
    CHECK_OK(gd_h5_attr_set_str(f, "/", "norm", "linf", &err), &err);
    put(f, "labels", GD_I32, 1, N, 0, 0, lab);
    put(f, "cnn/pred", GD_I32, 2, E, N, 0, cnn);
    put(f, "binarized_cnn/pred", GD_I32, 2, E, N, 0, bin);
    put(f, "generative/ydec", GD_U8, 3, E, N, n, dec);
    put(f, "generative/noise", GD_U8, 2, E, N, 0, noise);
    size_t dx[4] = {E, N, 4, 4};
    CHECK_OK(gd_h5_write(f, "x_adv", GD_F32, 4, dx, xadv, 1, &err), &err);
    /* the classifier took the sweep's best point: its l is not the config's */
    CHECK_OK(gd_h5_attr_set_str(f, "generative", "rule", "top3", &err), &err);
    CHECK_OK(gd_h5_attr_set_i64(f, "generative", "binarize_input", 1, &err), &err);
    CHECK_OK(gd_h5_attr_set_f64(f, "generative", "l", 0.25, &err), &err);
    CHECK_OK(gd_h5_attr_set_i64(f, "generative", "from_sweep", 1, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* NEAT: 4 fooling images (CNN confidence > 0.9 for all), 2 still fooling after binarization, 3 rejected as noise;
 * 5 uniform-noise images, all rejected. */
static void write_neat(const char* dir) {
    char path[800];
    snprintf(path, sizeof path, "%s/neat.h5", dir);
    char* y = config_yaml("experiment: {name: mnist_neat}\ndata: {set: mnist}\n");
    gd_h5* f = NULL;
    gd_error err;
    CHECK_OK(gd_h5_create(path, "neat", y, MPI_COMM_NULL, &f, &err), &err);
    free(y);
    int32_t tgt[4] = {0, 1, 2, 3};
    float conf[4] = {0.95f, 0.99f, 0.91f, 0.97f}, bconf[4] = {0.2f, 0.95f, 0.93f, 0.5f};
    uint8_t noise[4] = {1, 1, 0, 1}, nn[5] = {1, 1, 1, 1, 1};
    float img[4 * 16];
    for (int i = 0; i < 64; i++) img[i] = (float)((i * 5) % 11) / 10.0f;
    put(f, "fooling/target", GD_I32, 1, 4, 0, 0, tgt);
    put(f, "fooling/confidence", GD_F32, 1, 4, 0, 0, conf);
    put(f, "fooling/binarized_cnn/p_target", GD_F32, 1, 4, 0, 0, bconf);
    put(f, "fooling/generative/noise", GD_U8, 1, 4, 0, 0, noise);
    put(f, "fooling/images", GD_F32, 3, 4, 4, 4, img);
    put(f, "noise/generative/noise", GD_U8, 1, 5, 0, 0, nn);
    CHECK_OK(gd_h5_attr_set_f64(f, "fooling", "threshold", 0.9, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* One slice file of a sweep split into `slices` array tasks (the layout gendec sweep --slice writes). */
static void write_slice(const char* dir, int slice, int slices, const double* pts, const int64_t* counts, size_t P) {
    char path[800];
    snprintf(path, sizeof path, "%s/sweep.slice-%d-of-%d.h5", dir, slice, slices);
    char* y = config_yaml("experiment: {name: multimnist}\ndata: {set: multimnist}\nsweep: {l: [0.1, 0.2, 0.3]}\n");
    gd_h5* f = NULL;
    gd_error err;
    CHECK_OK(gd_h5_create(path, "sweep", y, MPI_COMM_NULL, &f, &err), &err);
    free(y);
    put(f, "sweep/points", GD_F64, 2, P, 6, 0, pts);
    put(f, "sweep/counts", GD_I64, 2, P, 4, 0, counts);
    CHECK_OK(gd_h5_attr_set_i64(f, "sweep", "slice", slice, &err), &err);
    CHECK_OK(gd_h5_attr_set_i64(f, "sweep", "slices", slices, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* A sweep split into 4 array tasks of which 1 and 3 never finished: slices 0 (2 points) and 2 (1 point) are
 * there, no merged sweep.h5. Best of the points present: the second (40/50 exact, l = 0.2). */
static void write_sweep(const char* dir) {
    double p0[2 * 6] = {5, -2, 0.005, 0.1, 0.3, 0.6, 5, -2, 0.005, 0.2, 0.3, 0.6};
    int64_t c0[2 * 4] = {50, 30, 10, 41, 50, 40, 5, 44};
    double p2[6] = {7, -2, 0.005, 0.3, 0.3, 0.6};
    int64_t c2[4] = {50, 35, 2, 45};
    write_slice(dir, 0, 4, p0, c0, 2);
    write_slice(dir, 2, 4, p2, c2, 1);
}

static const gd_report_table* find_table(const gd_report_table* t, size_t n, gd_report_table_kind k) {
    for (size_t i = 0; i < n; i++)
        if (t[i].kind == k) return &t[i];
    return NULL;
}

/* Checks a cell: k of n, and the paper's figure (NaN = none). */
static void check_cell(const gd_report_row* row, size_t c, int64_t k, int64_t n, double paper, const char* what) {
    CHECK_MSG(row != NULL, "row %s", what);
    if (!row) return;
    const gd_report_cell* cell = &row->cells[c];
    CHECK_MSG(cell->k == k && cell->n == n, "%s: %lld/%lld, want %lld/%lld", what, (long long)cell->k,
              (long long)cell->n, (long long)k, (long long)n);
    CHECK_NEAR(cell->value, (double)k / (double)n, 1e-12);
    if (isnan(paper)) CHECK_MSG(isnan(cell->paper), "%s: paper %g, want none", what, cell->paper);
    else CHECK_NEAR(cell->paper, paper, 1e-12);
}

static char* slurp(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char* s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    fclose(f);
    return s;
}

/* Sets complete = 0 in a committed file, as an interrupted writer would have left it. */
static void mark_incomplete(const char* path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "complete", H5P_DEFAULT);
    int64_t zero = 0;
    H5Awrite(a, H5T_NATIVE_INT64, &zero);
    H5Aclose(a);
    H5Fclose(f);
    gd_error err;
    CHECK_OK(gd_h5_seal(path, &err), &err); /* a valid seal, so that the complete attribute is what is refused */
}

int main(int argc, char** argv) {
    /* --fixtures DIR: only write the result files under DIR/results (for tests/report/test_analysis.sh). */
    int fixtures_only = argc == 3 && !strcmp(argv[1], "--fixtures");
    snprintf(root, sizeof root, "%s/results", fixtures_only ? argv[2] : gd_test_tmpdir());
    char d_ts[700], d_mm[700], d_fgm[700], d_fash[700], d_neat[700], d_sw[700], d_bad[700];
    snprintf(d_ts, sizeof d_ts, "%s/traffic_signs/aaaa", root);
    snprintf(d_mm, sizeof d_mm, "%s/multimnist/bbbb", root);
    snprintf(d_fgm, sizeof d_fgm, "%s/mnist_fgm/cccc", root);
    snprintf(d_fash, sizeof d_fash, "%s/fashion_fgm/dddd", root);
    snprintf(d_neat, sizeof d_neat, "%s/mnist_neat/eeee", root);
    snprintf(d_sw, sizeof d_sw, "%s/multimnist/ffff", root);
    snprintf(d_bad, sizeof d_bad, "%s/bad/run", gd_test_tmpdir());
    mkdir_p(d_ts);
    mkdir_p(d_mm);
    mkdir_p(d_fgm);
    mkdir_p(d_fash);
    mkdir_p(d_neat);
    mkdir_p(d_sw);
    mkdir_p(d_bad);
    write_ts(d_ts);
    write_multi(d_mm);
    write_fgm(d_fgm, "mnist_fgm", "mnist");
    write_fgm(d_fash, "fashion_fgm", "fashion_mnist");
    write_neat(d_neat);
    write_sweep(d_sw);
    if (fixtures_only) return gd_test_done("report fixtures");

    gd_error err;
    gd_report* r = NULL;
    const char* paths[1] = {root};
    CHECK_OK(gd_report_scan(&r, paths, 1, &err), &err);
    if (!r) return gd_test_done("report");
    CHECK(gd_report_n_runs(r) == 6);
    /* runs come in folder-name order: fashion_fgm, mnist_fgm, mnist_neat, multimnist (2), traffic_signs */
    size_t i_ts = 5;
    CHECK(!strcmp(gd_report_run_info(r, i_ts)->experiment, "traffic_signs"));
    CHECK(gd_report_run_info(r, i_ts)->has_eval && !gd_report_run_info(r, i_ts)->has_fgm);
    CHECK(!strcmp(gd_report_run_info(r, 0)->set, "fashion_mnist"));

    /* eval images and the CNN's answers given by the caller: 9 "left turn" (class 0), 1 "no right turn" */
    char data[600];
    int64_t* index = NULL;
    int64_t N = 0;
    CHECK_OK(gd_report_eval_images(r, i_ts, data, sizeof data, &index, &N, &err), &err);
    CHECK(N == 10 && index && index[0] == 100 && index[9] == 109);
    CHECK(!strcmp(data, "results/traffic_signs/data-x.h5"));
    gd_free(index);
    int32_t cnn[10] = {0, 0, 0, 0, 3, 0, 0, 0, 0, 0};
    CHECK(gd_report_set_cnn(r, i_ts, cnn, 9, "cnn.h5", &err) == GD_EINVAL);
    CHECK_OK(gd_report_set_cnn(r, i_ts, cnn, 10, "x/cnn.h5", &err), &err);
    const char* comps[4] = {"circle", "slash", "left_arrow", "right_arrow"};
    const char* classes[4] = {"left_turn", "right_turn", "no_left_turn", "no_right_turn"};
    CHECK_OK(gd_report_set_names(r, i_ts, comps, 4, classes, 4, &err), &err);

    gd_report_table* t = NULL;
    size_t nt = 0;
    CHECK_OK(gd_report_tables(r, &t, &nt, &err), &err);
    CHECK(nt == 5);
    const gd_report_table* ts = find_table(t, nt, GD_REPORT_T_TS);
    CHECK(ts && ts->n_cols == 1);
    if (ts) {
        check_cell(gd_report_find_row(ts, "traffic_signs: CNN, classified as \"left turn\""), 0, 9, 10, 0.99, "ts cnn left");
        check_cell(gd_report_find_row(ts, "traffic_signs: CNN, correct sign"), 0, 0, 10, NAN, "ts cnn correct");
        check_cell(gd_report_find_row(ts, "traffic_signs: proposed, correct decomposition"), 0, 7, 10, 0.95, "ts prop");
        check_cell(gd_report_find_row(ts, "traffic_signs: proposed, rejected as noise"), 0, 2, 10, NAN, "ts rej");
        const gd_report_row* row = gd_report_find_row(ts, "traffic_signs: proposed, correct decomposition");
        CHECK(row && strstr(row->settings, "rule=enumerate") && strstr(row->settings, "binarize_input=false") &&
              strstr(row->settings, "l=0.3, yl=0.5, yu=0.6, c=0.0015, beta=7, b=-6, steps=30") &&
              !strstr(row->settings, "sweep"));
    }
    const gd_report_table* mm = find_table(t, nt, GD_REPORT_T_MULTI);
    CHECK(mm != NULL);
    if (mm) {
        check_cell(gd_report_find_row(mm, "multimnist (bbbb): proposed, both digits"), 0, 3, 6, 0.656, "multi exact");
        check_cell(gd_report_find_row(mm, "multimnist (bbbb): proposed, top-2 of y*"), 0, 4, 6, NAN, "multi top2");
    }
    const gd_report_table* fg = find_table(t, nt, GD_REPORT_T_FGM);
    CHECK(fg && fg->n_cols == 5); /* the paper's five eps; ours are a subset */
    if (fg) {
        CHECK(!strcmp(fg->col[2], "eps 0.2"));
        const gd_report_row* base = gd_report_find_row(fg, "MNIST baseline (binarization) [mnist_fgm]");
        const gd_report_row* prop = gd_report_find_row(fg, "MNIST proposed [mnist_fgm]");
        const gd_report_row* raw = gd_report_find_row(fg, "MNIST CNN (no defense) [mnist_fgm]");
        check_cell(raw, 0, 5, 5, NAN, "fgm cnn 0");
        check_cell(raw, 2, 1, 5, NAN, "fgm cnn 0.2");
        check_cell(base, 0, 4, 5, 0.97, "fgm base 0");
        check_cell(base, 2, 3, 5, 0.90, "fgm base 0.2");
        check_cell(prop, 0, 4, 5, 0.95, "fgm prop 0");
        check_cell(prop, 2, 2, 5, 0.91, "fgm prop 0.2");
        /* eps 0.1 was not run: no result, the paper's figure still shown */
        if (prop) {
            CHECK(prop->cells[1].n == 0 && isnan(prop->cells[1].value));
            CHECK_NEAR(prop->cells[1].paper, 0.87, 1e-12);
            CHECK(prop->percent == 0);
            CHECK(strstr(prop->settings, "rule=top3") && strstr(prop->settings, "binarize_input=true"));
            CHECK_MSG(strstr(prop->settings, "l=0.25, yl=0.3") && strstr(prop->settings, "(the best point of the run's sweep.h5)"),
                      "settings: %s", prop->settings);
        }
        const gd_report_row* fprop = gd_report_find_row(fg, "Fashion-MNIST (for NORB) proposed [fashion_fgm]");
        check_cell(fprop, 2, 2, 5, 0.401, "fashion prop 0.2");
        CHECK(fprop && fprop->percent == 1 && strstr(fprop->settings, "Fashion-MNIST stands in for NORB"));
    }
    const gd_report_table* ne = find_table(t, nt, GD_REPORT_T_NEAT);
    CHECK(ne != NULL);
    if (ne) {
        check_cell(gd_report_find_row(ne, "mnist_neat: CNN fooled (confidence > 0.9)"), 0, 4, 4, NAN, "neat cnn");
        check_cell(gd_report_find_row(ne, "mnist_neat: binarized CNN still fooled"), 0, 2, 4, NAN, "neat bin");
        check_cell(gd_report_find_row(ne, "mnist_neat: proposed, identified as noise"), 0, 3, 4, 0.906, "neat noise");
        check_cell(gd_report_find_row(ne, "mnist_neat: proposed, uniform noise rejected"), 0, 5, 5, NAN, "neat uniform");
    }
    const gd_report_table* sw = find_table(t, nt, GD_REPORT_T_SWEEP);
    CHECK(sw != NULL);
    if (sw) {
        const gd_report_row* row = gd_report_find_row(sw, "multimnist (ffff): 3 grid points");
        check_cell(row, 0, 40, 50, NAN, "sweep best");
        CHECK(row && !strcmp(row->cells[0].note, "2 of 4 array tasks missing: 1, 3"));
        CHECK(row && strstr(row->settings, "l=0.2"));
    }

    /* The written report: Markdown and LaTeX cells, figures. */
    char out[700], p[800];
    snprintf(out, sizeof out, "%s/out", gd_test_tmpdir());
    gd_report_opts o;
    gd_report_opts_default(&o);
    o.n_examples = 3;
    CHECK_OK(gd_report_write(r, out, &o, NULL, 0, &err), &err);
    snprintf(p, sizeof p, "%s/report.md", out);
    char* md = slurp(p);
    CHECK(md != NULL);
    if (md) {
        CHECK(strstr(md, "| traffic\\_signs") == NULL); /* Markdown cells are not LaTeX-escaped */
        CHECK(strstr(md, "| traffic_signs: proposed, correct decomposition | 70.0% (paper 95%; n=10) |"));
        CHECK(strstr(md, "| traffic_signs: CNN, classified as \"left turn\" | 90.0% (paper 99%; n=10) |"));
        CHECK(strstr(md, "| MNIST proposed [mnist_fgm] | 0.800 (paper 0.95; n=5) | - (paper 0.87) | 0.400 (paper 0.91; n=5) |"));
        CHECK(strstr(md, "| Fashion-MNIST (for NORB) proposed [fashion_fgm] | 80.0% (paper 87.1%; n=5) |"));
        CHECK(strstr(md, "| mnist_neat: proposed, identified as noise | 75.0% (paper 90.6%; n=4) |"));
        CHECK(strstr(md, "80.0% (n=50); 2 of 4 array tasks missing: 1, 3 |"));
        CHECK(strstr(md, "fig3_traffic_signs.png"));
        CHECK(strstr(md, "fig5_mnist_fgm_fgm.png"));
        CHECK(strstr(md, "fig5_mnist_neat_neat.png"));
    }
    free(md);
    snprintf(p, sizeof p, "%s/tables.tex", out);
    char* tex = slurp(p);
    CHECK(tex && strstr(tex, "traffic\\_signs: proposed, correct decomposition & 70.0\\% (95\\%) {\\scriptsize n=10} \\\\"));
    CHECK(tex && strstr(tex, "$\\epsilon = 0.2$"));
    free(tex);
    const char* figs[] = {"fig3_traffic_signs.png", "fig5_mnist_fgm_fgm.png", "fig5_fashion_fgm_fgm.png",
                          "fig5_mnist_neat_neat.png"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", out, figs[i]);
        uint8_t* pix = NULL;
        int h = 0, w = 0, ch = 0;
        CHECK_OK(gd_png_read(p, &pix, &h, &w, &ch, &err), &err);
        CHECK_MSG(h > 20 && w > 20 && (ch == 1 || ch == 3), "%s is %dx%dx%d", figs[i], w, h, ch);
        gd_free(pix);
    }
    gd_report_tables_free(t, nt);
    gd_report_free(r);

    /* An incomplete file is refused, naming it. */
    write_neat(d_bad);
    snprintf(p, sizeof p, "%s/neat.h5", d_bad);
    mark_incomplete(p);
    const char* bad[1] = {d_bad};
    r = NULL;
    CHECK(gd_report_scan(&r, bad, 1, &err) == GD_EFORMAT && r == NULL);
    CHECK(strstr(err.file, "neat.h5") && strstr(err.msg, "not a complete"));
    /* No results at all, and a path that does not exist. */
    char empty[700];
    snprintf(empty, sizeof empty, "%s/empty", gd_test_tmpdir());
    mkdir_p(empty);
    const char* e1[1] = {empty};
    CHECK(gd_report_scan(&r, e1, 1, &err) == GD_EINVAL);
    snprintf(empty, sizeof empty, "%s/nothing-here", gd_test_tmpdir());
    CHECK(gd_report_scan(&r, e1, 1, &err) == GD_EIO);
    return gd_test_done("report");
}
