/* report: reading the stage files (their layouts: docs/hdf5-schema.md). Every array is checked against the
 * others of its file (same number of images, same components) before it is used. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_ELEMS ((size_t)1 << 31)

/* Reads dataset `name` of type t and rank `rank` into *out (gd_alloc'd) with its shape in dims. */
static gd_status rd(gd_h5* f, const char* name, gd_dtype t, int rank, size_t* dims, void** out, gd_error* err) {
    return gd_h5_read_alloc(f, name, t, rank, dims, MAX_ELEMS, out, err);
}

/* As rd, but a missing dataset leaves *out NULL and is not an error. */
static gd_status rd_opt(gd_h5* f, const char* name, gd_dtype t, int rank, size_t* dims, void** out, gd_error* err) {
    *out = NULL;
    if (!gd_h5_exists(f, name)) return GD_OK;
    return rd(f, name, t, rank, dims, out, err);
}

/* GD_EFORMAT for a dataset whose shape does not match the file's other arrays. */
static gd_status shape_error(gd_error* err, const char* path, const char* name, const char* want) {
    return gd_error_set(err, GD_EFORMAT, path, 0, 0, "re-run the stage that wrote it",
                        "dataset '%s' has a shape other than %s", name, want);
}

gd_status rep_read_eval(const char* path, rep_eval* e, gd_error* err) {
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "eval", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t dl[2], dy[2], dn[1], ds[2], dc[1];
    s = rd(f, "eval/labels", GD_U8, 2, dl, (void**)&e->label, err);
    if (!s) s = rd(f, "eval/y_dec", GD_U8, 2, dy, (void**)&e->ydec, err);
    if (!s) s = rd(f, "eval/noise", GD_U8, 1, dn, (void**)&e->noise, err);
    if (!s) s = rd_opt(f, "eval/y_star", GD_F32, 2, ds, (void**)&e->ystar, err);
    if (!s) s = rd_opt(f, "eval/classes", GD_I32, 1, dc, (void**)&e->classes, err);
    if (!s) {
        e->N = (int64_t)dl[0];
        e->n = (int)dl[1];
        if (dy[0] != dl[0] || dy[1] != dl[1]) s = shape_error(err, path, "eval/y_dec", "that of eval/labels");
        else if (dn[0] != dl[0]) s = shape_error(err, path, "eval/noise", "(N) with N of eval/labels");
        else if (e->ystar && (ds[0] != dl[0] || ds[1] != dl[1]))
            s = shape_error(err, path, "eval/y_star", "that of eval/labels");
        else if (e->classes && dc[0] != dl[0]) s = shape_error(err, path, "eval/classes", "(N)");
    }
    if (!s && gd_h5_exists(f, "eval/trace")) {
        gd_dtype t;
        int rank;
        size_t d[GD_H5_MAX_RANK];
        s = gd_h5_info(f, "eval/trace", &t, &rank, d, err);
        if (!s && (t != GD_F32 || rank != 3 || d[0] != dl[0] || d[2] != dl[1]))
            s = shape_error(err, path, "eval/trace", "float32 (N, steps + 1, n)");
        if (!s) e->trace_len = (int)d[1];
    }
    if (!s && gd_h5_attr_exists(f, "eval", "split"))
        s = gd_h5_attr_get_str(f, "eval", "split", e->split, sizeof e->split, err);
    if (!s && gd_h5_attr_exists(f, "eval", "data"))
        s = gd_h5_attr_get_str(f, "eval", "data", e->data_path, sizeof e->data_path, err);
    if (!s) s = rep_read_gen(f, "eval", &e->gen, err);
    gd_h5_close(f);
    if (s) {
        rep_eval_free(e);
        return s;
    }
    e->present = 1;
    return GD_OK;
}

gd_status rep_read_trace(const rep_eval* e, float** trace, gd_error* err) {
    *trace = NULL;
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(e->path, "eval", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t d[3] = {(size_t)e->N, (size_t)e->trace_len, (size_t)e->n};
    size_t bytes;
    if (gd_mul_overflows(d[0] * d[1], d[2] * sizeof(float), &bytes) || !(*trace = gd_alloc(bytes ? bytes : 1)))
        s = gd_error_set(err, GD_ENOMEM, e->path, 0, 0, NULL, "the trace is too large to read");
    if (!s) s = gd_h5_read(f, "eval/trace", GD_F32, 3, d, *trace, err);
    gd_h5_close(f);
    if (s) {
        gd_free(*trace);
        *trace = NULL;
    }
    return s;
}

void rep_eval_free(rep_eval* e) {
    gd_free(e->label);
    gd_free(e->ydec);
    gd_free(e->noise);
    gd_free(e->ystar);
    gd_free(e->classes);
    gd_free(e->cnn_pred);
    memset(e, 0, sizeof *e);
}

gd_status rep_read_gen(gd_h5* f, const char* group, rep_gen* g, gd_error* err) {
    memset(g, 0, sizeof *g);
    if (!gd_h5_attr_exists(f, group, "rule")) return GD_OK;
    gd_status s = gd_h5_attr_get_str(f, group, "rule", g->rule, sizeof g->rule, err);
    double v;
    if (!s && gd_h5_attr_exists(f, group, "binarize_input")) {
        s = gd_h5_attr_get_f64(f, group, "binarize_input", &v, err);
        g->binarize = v != 0;
    }
    if (!s && gd_h5_attr_exists(f, group, "from_sweep")) {
        s = gd_h5_attr_get_f64(f, group, "from_sweep", &v, err);
        g->from_sweep = (int64_t)v;
    }
    static const char* keys[GD_REP_GEN_N] = {"l", "yl", "yu", "c", "beta", "b", "steps"};
    for (int k = 0; !s && k < GD_REP_GEN_N; k++) {
        g->v[k] = NAN;
        if (gd_h5_attr_exists(f, group, keys[k])) s = gd_h5_attr_get_f64(f, group, keys[k], &g->v[k], err);
    }
    if (!s) g->have = 1;
    return s;
}

gd_status rep_read_fgm(const char* path, rep_fgm* g, gd_error* err) {
    memset(g, 0, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s", path);
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "fgm", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t dl[1], dc[2], db[2], dy[3], dn[2];
    s = rd(f, "labels", GD_I32, 1, dl, (void**)&g->label, err);
    if (!s) s = rd(f, "cnn/pred", GD_I32, 2, dc, (void**)&g->cnn_pred, err);
    if (!s) s = rd(f, "binarized_cnn/pred", GD_I32, 2, db, (void**)&g->bin_pred, err);
    if (!s) s = rd_opt(f, "generative/ydec", GD_U8, 3, dy, (void**)&g->ydec, err);
    if (!s) s = rd_opt(f, "generative/noise", GD_U8, 2, dn, (void**)&g->noise, err);
    if (!s) {
        g->n_eps = (int)dc[0];
        g->N = (int64_t)dl[0];
        if (dc[1] != dl[0]) s = shape_error(err, path, "cnn/pred", "(n_eps, N) with N of labels");
        else if (db[0] != dc[0] || db[1] != dl[0]) s = shape_error(err, path, "binarized_cnn/pred", "(n_eps, N)");
        else if (g->ydec && (dy[0] != dc[0] || dy[1] != dl[0])) s = shape_error(err, path, "generative/ydec", "(n_eps, N, n)");
        else if (!g->ydec != !g->noise)
            s = shape_error(err, path, g->ydec ? "generative/noise" : "generative/ydec", "present with the other");
        else if (g->noise && (dn[0] != dc[0] || dn[1] != dl[0])) s = shape_error(err, path, "generative/noise", "(n_eps, N)");
        if (g->ydec) g->n = (int)dy[2];
    }
    if (!s) {
        g->eps = gd_alloc((size_t)(g->n_eps ? g->n_eps : 1) * sizeof(double));
        if (!g->eps) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        else s = gd_h5_attr_get_f64s(f, "/", "eps", g->eps, (size_t)g->n_eps, err);
    }
    if (!s && gd_h5_attr_exists(f, "/", "norm")) s = gd_h5_attr_get_str(f, "/", "norm", g->norm, sizeof g->norm, err);
    if (!s && gd_h5_attr_exists(f, "/", "pgd_steps")) s = gd_h5_attr_get_i64(f, "/", "pgd_steps", &g->pgd_steps, err);
    if (!s && g->ydec) s = rep_read_gen(f, "generative", &g->gen, err);
    gd_h5_close(f);
    if (s) {
        rep_fgm_free(g);
        return s;
    }
    g->present = 1;
    return GD_OK;
}

void rep_fgm_free(rep_fgm* g) {
    gd_free(g->eps);
    gd_free(g->label);
    gd_free(g->cnn_pred);
    gd_free(g->bin_pred);
    gd_free(g->ydec);
    gd_free(g->noise);
    memset(g, 0, sizeof *g);
}

gd_status rep_read_neat(const char* path, rep_neat* nt, gd_error* err) {
    memset(nt, 0, sizeof *nt);
    snprintf(nt->path, sizeof nt->path, "%s", path);
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "neat", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t dt[1], dc[1], db[1], dn[1], dz[1];
    s = rd(f, "fooling/target", GD_I32, 1, dt, (void**)&nt->target, err);
    if (!s) s = rd(f, "fooling/confidence", GD_F32, 1, dc, (void**)&nt->cnn_conf, err);
    if (!s) s = rd_opt(f, "fooling/binarized_cnn/p_target", GD_F32, 1, db, (void**)&nt->bin_conf, err);
    if (!s) s = rd_opt(f, "fooling/generative/noise", GD_U8, 1, dn, (void**)&nt->noise, err);
    if (!s) s = rd_opt(f, "noise/generative/noise", GD_U8, 1, dz, (void**)&nt->noise_noise, err);
    if (!s) {
        nt->N = (int64_t)dt[0];
        if (dc[0] != dt[0]) s = shape_error(err, path, "fooling/confidence", "(K) with K of fooling/target");
        else if (nt->bin_conf && db[0] != dt[0]) s = shape_error(err, path, "fooling/binarized_cnn/p_target", "(K)");
        else if (nt->noise && dn[0] != dt[0]) s = shape_error(err, path, "fooling/generative/noise", "(K)");
        if (nt->noise_noise) nt->N_noise = (int64_t)dz[0];
    }
    nt->threshold = 0.9;
    if (!s && gd_h5_attr_exists(f, "fooling", "threshold"))
        s = gd_h5_attr_get_f64(f, "fooling", "threshold", &nt->threshold, err);
    if (!s && nt->noise) s = rep_read_gen(f, "fooling/generative", &nt->gen, err);
    gd_h5_close(f);
    if (s) {
        rep_neat_free(nt);
        return s;
    }
    nt->present = 1;
    return GD_OK;
}

void rep_neat_free(rep_neat* nt) {
    gd_free(nt->target);
    gd_free(nt->cnn_conf);
    gd_free(nt->bin_conf);
    gd_free(nt->noise);
    gd_free(nt->noise_noise);
    memset(nt, 0, sizeof *nt);
}

/* Appends the points and counts of one sweep file (merged or a slice) to sw. */
static gd_status sweep_append(rep_sweep* sw, const char* path, gd_error* err) {
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "sweep", MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t dp[2] = {0, 0}, dc[2] = {0, 0};
    double* pts = NULL;
    int64_t* cnt = NULL;
    s = rd(f, "sweep/points", GD_F64, 2, dp, (void**)&pts, err);
    if (!s) s = rd(f, "sweep/counts", GD_I64, 2, dc, (void**)&cnt, err);
    gd_h5_close(f);
    if (!s && dp[1] != 6) s = shape_error(err, path, "sweep/points", "(P, 6): beta, b, c, l, yl, yu");
    if (!s && (dc[0] != dp[0] || dc[1] < 3)) s = shape_error(err, path, "sweep/counts", "(P, 4): images, exact, rejected, argmax");
    size_t P = sw->n_points + (s ? 0 : dp[0]);
    if (!s && dp[0]) {
        double (*np)[6] = realloc(sw->point, P * sizeof *np);
        if (np) sw->point = np;
        int64_t* c1 = realloc(sw->count, P * sizeof *c1);
        if (c1) sw->count = c1;
        int64_t* c2 = realloc(sw->exact, P * sizeof *c2);
        if (c2) sw->exact = c2;
        int64_t* c3 = realloc(sw->rejected, P * sizeof *c3);
        if (c3) sw->rejected = c3;
        if (!np || !c1 || !c2 || !c3) s = gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory");
        for (size_t k = 0; !s && k < dp[0]; k++) {
            size_t j = sw->n_points + k;
            memcpy(sw->point[j], pts + 6 * k, 6 * sizeof(double));
            sw->count[j] = cnt[k * dc[1] + 0];
            sw->exact[j] = cnt[k * dc[1] + 1];
            sw->rejected[j] = cnt[k * dc[1] + 2];
        }
        if (!s) sw->n_points = P;
    }
    gd_free(pts);
    gd_free(cnt);
    return s;
}

gd_status rep_read_sweep(const char* dir, rep_sweep* sw, int* found, gd_error* err) {
    memset(sw, 0, sizeof *sw);
    *found = 0;
    sw->tasks = 1;
    snprintf(sw->path, sizeof sw->path, "%s/sweep.h5", dir);
    FILE* probe = fopen(sw->path, "rb");
    if (probe) {
        /* The merged file: every slice was there. */
        fclose(probe);
        *found = 1;
        gd_status s = sweep_append(sw, sw->path, err);
        if (s) {
            rep_sweep_free(sw);
            return s;
        }
        sw->present = 1;
        return GD_OK;
    }
    /* The slices of a job array that has not merged (yet): sweep.slice-I-of-N.h5. */
    DIR* d = opendir(dir);
    if (!d) return GD_OK;
    long slices = 0;
    struct dirent* e;
    while ((e = readdir(d))) {
        long i, n;
        char tail[8];
        if (sscanf(e->d_name, "sweep.slice-%ld-of-%ld%7s", &i, &n, tail) == 3 && !strcmp(tail, ".h5") && n > slices)
            slices = n;
    }
    closedir(d);
    if (slices < 1) return GD_OK;
    *found = 1;
    sw->tasks = slices;
    sw->missing = gd_alloc((size_t)slices * sizeof(int64_t));
    if (!sw->missing) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    gd_status s = GD_OK;
    for (long i = 0; !s && i < slices; i++) {
        char p[REP_PATH + 64];
        snprintf(p, sizeof p, "%s/sweep.slice-%ld-of-%ld.h5", dir, i, slices);
        FILE* t = fopen(p, "rb");
        if (!t) {
            sw->missing[sw->n_missing++] = i;
            continue;
        }
        fclose(t);
        s = sweep_append(sw, p, err);
    }
    if (!s) rep_fmt(sw->path, sizeof sw->path, "%s/sweep.slice-*-of-%ld.h5", dir, slices);
    if (s) {
        rep_sweep_free(sw);
        return s;
    }
    sw->present = 1;
    return GD_OK;
}

void rep_sweep_free(rep_sweep* sw) {
    free(sw->point);
    free(sw->count);
    free(sw->exact);
    free(sw->rejected);
    gd_free(sw->missing);
    memset(sw, 0, sizeof *sw);
}
