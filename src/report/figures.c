/* report: the paper's figures as PNG (Fig. 3 convergence of y and generations,
 * Fig. 4 multiMNIST examples, Fig. 5 adversarial examples), drawn with io's PNG grids and line plots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

void gd_report_run_stem(const gd_report* r, size_t i, char* buf, size_t n) {
    const rep_run* run = &r->runs[i];
    int several = 0;
    for (size_t j = 0; j < r->n_runs; j++)
        if (j != i && !strcmp(r->runs[j].experiment, run->experiment)) several = 1;
    const char* slash = strrchr(run->dir, '/');
    if (several) snprintf(buf, n, "%s_%s", run->experiment, slash ? slash + 1 : run->dir);
    else snprintf(buf, n, "%s", run->experiment);
    for (char* c = buf; *c; c++)
        if (*c == '/' || *c == ' ') *c = '_';
}

/* Names of the components set in a 0/1 row, joined by '+' (or their indices when unnamed). */
static void comp_text(const rep_eval* e, const uint8_t* row, int n, char* buf, size_t bn) {
    size_t l = 0;
    buf[0] = '\0';
    for (int c = 0; c < n && l + 1 < bn; c++) {
        if (!row[c]) continue;
        int w;
        if (e && c < e->n_comp_names && strlen(e->comp_names[c]) <= 3)
            w = snprintf(buf + l, bn - l, "%s%s", l ? "+" : "", e->comp_names[c]);
        else
            w = snprintf(buf + l, bn - l, "%s%d", l ? "+" : "", c);
        if (w > 0) l += (size_t)w;
    }
    if (!l) snprintf(buf, bn, "-");
}

/* Writes one grid and records its name. */
static gd_status write_grid(gd_report* r, const char* out_dir, const char* name, const float* imgs, int n, int h,
                            int w, int cols, const char* const* labels, gd_error* err) {
    char path[REP_PATH];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    gd_png_grid g = {0};
    g.cols = cols > 0 ? cols : 1;
    g.rows = (n + g.cols - 1) / g.cols;
    g.pad = 2;
    g.scale = h < 48 ? 3 : 2;
    g.labels = labels;
    g.background = 0.35f;
    gd_status s = gd_png_write_grid(path, imgs, n, 1, h, w, &g, err);
    if (!s) s = gd_report_add_figure(r, name, err);
    return s;
}

/* Fig. 3 (left): mean y_i per Eq. 3 step over the test images with a ±3 std band (clipped to [0, 1]). */
static gd_status fig_trace(gd_report* r, size_t i, const char* out_dir, const char* stem, gd_error* err) {
    const rep_eval* e = &r->runs[i].eval;
    if (!e->present || e->trace_len < 1 || e->N < 1) return GD_OK;
    float* tr = NULL;
    gd_status s = rep_read_trace(e, &tr, err);
    if (s) return s;
    int T = e->trace_len, n = e->n;
    float* buf = calloc((size_t)3 * T * n, sizeof(float));
    gd_plot_series* ser = calloc((size_t)n, sizeof *ser);
    char (*names)[REP_NAME + 8] = calloc((size_t)n, sizeof *names);
    if (!buf || !ser || !names) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory drawing Fig. 3");
        goto done;
    }
    for (int c = 0; c < n; c++) {
        float* mean = buf + (size_t)(3 * c) * T;
        float* lo = mean + T;
        float* hi = lo + T;
        for (int t = 0; t < T; t++) {
            double sum = 0, sq = 0;
            for (int64_t j = 0; j < e->N; j++) {
                double v = tr[((size_t)j * T + t) * n + c];
                sum += v;
                sq += v * v;
            }
            double m = sum / (double)e->N, var = sq / (double)e->N - m * m;
            double sd = var > 0 ? sqrt(var) : 0;
            mean[t] = (float)m;
            lo[t] = (float)fmax(0.0, m - 3 * sd);
            hi[t] = (float)fmin(1.0, m + 3 * sd);
        }
        if (c < e->n_comp_names) snprintf(names[c], sizeof names[c], "%s", e->comp_names[c]);
        else snprintf(names[c], sizeof names[c], "y%d", c);
        ser[c].label = names[c];
        ser[c].y = mean;
        ser[c].lo = lo;
        ser[c].hi = hi;
        ser[c].n = (size_t)T;
    }
    char title[200], name[300], path[REP_PATH];
    snprintf(title, sizeof title, "y per Eq. 3 step, mean +- 3 std over %lld %s images", (long long)e->N,
             e->split[0] ? e->split : "test");
    gd_plot p = {0};
    p.width = 720;
    p.height = 480;
    p.title = title;
    p.xlabel = "Adam step";
    p.ylabel = "y";
    p.ymin = 0;
    p.ymax = 1;
    snprintf(name, sizeof name, "fig3_%s.png", stem);
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    s = gd_png_plot(path, ser, (size_t)n, &p, err);
    if (!s) s = gd_report_add_figure(r, name, err);
done:
    gd_free(tr);
    free(buf);
    free(ser);
    free(names);
    return s;
}

/* Fig. 3 (right) / Fig. 4: inputs, each sub-network's generation, the final generation, with labels. */
static gd_status fig_examples(gd_report* r, size_t i, const char* out_dir, const char* stem, const gd_report_opts* o,
                              const gd_report_extra* x, gd_error* err) {
    const rep_eval* e = &r->runs[i].eval;
    if (!x || !x->inputs || !x->gen_final || x->n_gen < 1) return GD_OK;
    int m = x->n_gen < o->n_examples ? x->n_gen : o->n_examples;
    if (m < 1) return GD_OK;
    int parts = x->gen_parts ? x->n_comp : 0;
    int rows = 2 + parts;
    size_t D = (size_t)x->h * x->w;
    float* img = calloc((size_t)rows * m * D, sizeof(float));
    char (*lab)[48] = calloc((size_t)rows * m, sizeof *lab);
    const char** labels = calloc((size_t)rows * m, sizeof *labels);
    gd_status s = GD_OK;
    if (!img || !lab || !labels) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory drawing examples");
        goto done;
    }
    for (int j = 0; j < m; j++) {
        memcpy(img + (size_t)j * D, x->inputs + (size_t)j * D, D * sizeof(float));
        for (int c = 0; c < parts; c++)
            memcpy(img + ((size_t)(1 + c) * m + j) * D, x->gen_parts + ((size_t)j * x->n_comp + c) * D, D * sizeof(float));
        memcpy(img + ((size_t)(rows - 1) * m + j) * D, x->gen_final + (size_t)j * D, D * sizeof(float));
        if (e->present && j < e->N) {
            char l[24], p[24];
            comp_text(e, e->label + (size_t)j * e->n, e->n, l, sizeof l);
            if (e->noise[j]) snprintf(p, sizeof p, "noise");
            else comp_text(e, e->ydec + (size_t)j * e->n, e->n, p, sizeof p);
            snprintf(lab[j], sizeof lab[j], "L %s", l);
            snprintf(lab[(size_t)(rows - 1) * m + j], sizeof lab[0], "P %s", p);
            labels[j] = lab[j];
            labels[(size_t)(rows - 1) * m + j] = lab[(size_t)(rows - 1) * m + j];
        }
    }
    char name[300];
    if (!strcmp(r->runs[i].set, "multimnist")) snprintf(name, sizeof name, "fig4_%s.png", stem);
    else snprintf(name, sizeof name, "fig3_%s_examples.png", stem);
    s = write_grid(r, out_dir, name, img, rows * m, x->h, x->w, m, labels, err);
done:
    free(img);
    free(lab);
    free(labels);
    return s;
}

/* Fig. 5 (left): adversarial images of the largest ε with true and predicted labels, and their generations. */
static gd_status fig_fgm(gd_report* r, size_t i, const char* out_dir, const char* stem, const gd_report_opts* o,
                         const gd_report_extra* x, gd_error* err) {
    const rep_fgm* g = &r->runs[i].fgm;
    if (!g->present || g->N < 1 || g->n_eps < 1) return GD_OK;
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(g->path, "fgm", MPI_COMM_NULL, &f, err);
    if (s) return s;
    if (!gd_h5_exists(f, "x_adv")) {
        gd_h5_close(f);
        return GD_OK;
    }
    gd_dtype t;
    int rank;
    size_t d[GD_H5_MAX_RANK];
    s = gd_h5_info(f, "x_adv", &t, &rank, d, err);
    int hh = 0, ww = 0;
    if (!s && t == GD_F32 && rank == 4) hh = (int)d[2], ww = (int)d[3];
    if (!s && (t != GD_F32 || rank != 4 || d[0] != (size_t)g->n_eps || d[1] != (size_t)g->N || hh < 1 || ww < 1))
        s = gd_error_set(err, GD_EFORMAT, g->path, 0, 0, NULL, "x_adv is not float32 (n_eps, N, H, W)");
    int e_max = 0;
    for (int e = 1; e < g->n_eps; e++)
        if (g->eps[e] > g->eps[e_max]) e_max = e;
    int m = (int)(g->N < o->n_examples ? g->N : o->n_examples);
    int with_gen = x && x->adv_gen && x->n_adv >= m;
    int rows = with_gen ? 2 : 1;
    size_t D = (size_t)hh * ww;
    float* img = NULL;
    char (*lab)[48] = NULL;
    const char** labels = NULL;
    if (!s && m > 0) {
        img = calloc((size_t)rows * m * D, sizeof(float));
        lab = calloc((size_t)rows * m, sizeof *lab);
        labels = calloc((size_t)rows * m, sizeof *labels);
        if (!img || !lab || !labels) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        float* all = NULL;
        /* the block e_max of the (n_eps, N, H, W) dataset */
        if (!s) {
            all = gd_alloc((size_t)g->N * D * sizeof(float));
            if (!all) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        }
        if (!s) {
            size_t shape[4] = {0, (size_t)g->N, (size_t)hh, (size_t)ww};
            s = gd_h5_read_rows(f, "x_adv", GD_F32, 4, shape, (size_t)e_max, 1, all, err);
        }
        if (!s) {
            memcpy(img, all, (size_t)m * D * sizeof(float));
            if (with_gen) memcpy(img + (size_t)m * D, x->adv_gen, (size_t)m * D * sizeof(float));
            for (int j = 0; j < m; j++) {
                int32_t cnn = g->cnn_pred[(size_t)e_max * g->N + j];
                char p[24] = "";
                if (g->ydec) {
                    const uint8_t* yd = g->ydec + ((size_t)e_max * g->N + j) * g->n;
                    if (g->noise[(size_t)e_max * g->N + j]) snprintf(p, sizeof p, " P noise");
                    else
                        for (int c = 0; c < g->n; c++)
                            if (yd[c]) {
                                size_t l = strlen(p);
                                snprintf(p + l, sizeof p - l, "%s%d", l ? "+" : " P ", c);
                            }
                }
                snprintf(lab[j], sizeof lab[j], "L%d C%d%s", g->label[j], cnn, p);
                labels[j] = lab[j];
            }
        }
        gd_free(all);
    }
    gd_h5_close(f);
    if (!s && m > 0) {
        char name[300];
        snprintf(name, sizeof name, "fig5_%s_fgm.png", stem);
        s = write_grid(r, out_dir, name, img, rows * m, hh, ww, m, labels, err);
    }
    free(img);
    free(lab);
    free(labels);
    return s;
}

/* Fig. 5 (right): fooling images, binarized, and their generations, with the CNN's confidence. */
static gd_status fig_neat(gd_report* r, size_t i, const char* out_dir, const char* stem, const gd_report_opts* o,
                          const gd_report_extra* x, gd_error* err) {
    const rep_neat* g = &r->runs[i].neat;
    if (!g->present || g->N < 1) return GD_OK;
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(g->path, "neat", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t d[3];
    float* all = NULL;
    if (gd_h5_exists(f, "fooling/images"))
        s = gd_h5_read_alloc(f, "fooling/images", GD_F32, 3, d, (size_t)1 << 30, (void**)&all, err);
    gd_h5_close(f);
    if (s || !all) return s;
    if (d[0] != (size_t)g->N) {
        gd_free(all);
        return gd_error_set(err, GD_EFORMAT, g->path, 0, 0, NULL, "fooling/images is not (K, H, W) with K of fooling/target");
    }
    int hh = (int)d[1], ww = (int)d[2];
    int m = (int)(g->N < o->n_examples ? g->N : o->n_examples);
    int with_gen = x && x->neat_gen && x->n_neat >= m;
    int rows = with_gen ? 3 : 2;
    size_t D = (size_t)hh * ww;
    float* img = calloc((size_t)rows * m * D, sizeof(float));
    char (*lab)[48] = calloc((size_t)rows * m, sizeof *lab);
    const char** labels = calloc((size_t)rows * m, sizeof *labels);
    if (!img || !lab || !labels) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (int j = 0; !s && j < m; j++) {
        for (size_t p = 0; p < D; p++) {
            float v = all[(size_t)j * D + p];
            img[(size_t)j * D + p] = v;
            img[((size_t)m + j) * D + p] = v > 0.5f ? 1.0f : 0.0f;
        }
        if (with_gen) memcpy(img + ((size_t)2 * m + j) * D, x->neat_gen + (size_t)j * D, D * sizeof(float));
        snprintf(lab[j], sizeof lab[j], "T%d %.0f%%", g->target[j], 100 * g->cnn_conf[j]);
        labels[j] = lab[j];
        if (g->bin_conf) {
            snprintf(lab[(size_t)m + j], sizeof lab[0], "%.0f%%", 100 * g->bin_conf[j]);
            labels[(size_t)m + j] = lab[(size_t)m + j];
        }
        if (g->noise) {
            size_t last = (size_t)(rows - 1) * m + j;
            snprintf(lab[last], sizeof lab[0], "%s", g->noise[j] ? "noise" : "accepted");
            labels[last] = lab[last];
        }
    }
    if (!s) {
        char name[300];
        snprintf(name, sizeof name, "fig5_%s_neat.png", stem);
        s = write_grid(r, out_dir, name, img, rows * m, hh, ww, m, labels, err);
    }
    gd_free(all);
    free(img);
    free(lab);
    free(labels);
    return s;
}

gd_status gd_report_figures(gd_report* r, const char* out_dir, const gd_report_opts* o, const gd_report_extra* extra,
                            size_t n_extra, gd_error* err) {
    if (!o->figures) return GD_OK;
    for (size_t i = 0; i < r->n_runs; i++) {
        char stem[200];
        gd_report_run_stem(r, i, stem, sizeof stem);
        const gd_report_extra* x = NULL;
        for (size_t k = 0; k < n_extra; k++)
            if (extra[k].run == i) x = &extra[k];
        gd_status s = fig_trace(r, i, out_dir, stem, err);
        if (!s) s = fig_examples(r, i, out_dir, stem, o, x, err);
        if (!s) s = fig_fgm(r, i, out_dir, stem, o, x, err);
        if (!s) s = fig_neat(r, i, out_dir, stem, o, x, err);
        if (s) return s;
    }
    return GD_OK;
}

gd_status gd_report_write(gd_report* r, const char* out_dir, const gd_report_opts* o, const gd_report_extra* extra,
                          size_t n_extra, gd_error* err) {
    if (mkdir(out_dir, 0755) != 0) {
        struct stat st;
        if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return gd_error_set(err, GD_EIO, out_dir, 0, 0, "choose another folder with -o", "cannot create the folder");
    }
    gd_report_table* t = NULL;
    size_t nt = 0;
    gd_status s = gd_report_figures(r, out_dir, o, extra, n_extra, err);
    if (!s) s = gd_report_tables(r, &t, &nt, err);
    char path[REP_PATH];
    if (!s && o->markdown) {
        char* md = gd_report_markdown(r, t, nt, o);
        snprintf(path, sizeof path, "%s/report.md", out_dir);
        if (!md) s = gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory");
        else s = gd_file_write_atomic(path, md, strlen(md), err);
        free(md);
    }
    if (!s && o->latex) {
        char* tex = gd_report_latex(r, t, nt, o);
        snprintf(path, sizeof path, "%s/tables.tex", out_dir);
        if (!tex) s = gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory");
        else s = gd_file_write_atomic(path, tex, strlen(tex), err);
        free(tex);
    }
    gd_report_tables_free(t, nt);
    return s;
}
