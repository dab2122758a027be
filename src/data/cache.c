/* The HDF5 data cache: a ready dataset in one file (kind "data"), reused while its parameters match.
 *
 * Layout: /images float32 (N, H, W), /labels uint8 (N, n_components), /classes int32 (N), all chunked and
 * deflate-compressed; /parts float32 (N, n_components, H, W) only when the dataset has parts; /splits int64
 * (n_splits, 2) = (start, count). Root attributes: set, params (gd_data_opts_describe), seed, source (paths
 * and sha256 of the files read, or the generator description), component_names, class_names, split_names
 * (comma-separated), n_classes, mean_overlap_min / mean_overlap_iou / overlap_images (multiMNIST), plus
 * io's standard attributes (gendec_version, git_revision, config_yaml, world_size, created, complete). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gendec/data.h"
#include "gendec/io.h"

#define DEFLATE 1

size_t gd_data_opts_describe(const gd_data_opts* o, char* buf, size_t n) {
    int w = snprintf(buf, n, "set=%s dir=%s binarize=%d", gd_data_kind_name(o->kind), o->dir, o->binarize);
    size_t l = w > 0 ? (size_t)w : 0;
#define ADD(...)                                                                  \
    do {                                                                          \
        int k_ = snprintf(buf + (l < n ? l : n), l < n ? n - l : 0, __VA_ARGS__); \
        if (k_ > 0) l += (size_t)k_;                                              \
    } while (0)
    switch (o->kind) {
    case GD_DATA_MNIST:
    case GD_DATA_FASHION_MNIST:
        ADD(" n_val=%lld max_train=%lld max_test=%lld", (long long)o->n_val, (long long)o->max_train,
            (long long)o->max_test);
        break;
    case GD_DATA_SMALLNORB:
        ADD(" n_val=%lld size=%d view=%d", (long long)o->n_val, o->norb.size, o->norb.view);
        break;
    case GD_DATA_MULTIMNIST:
        ADD(" seed=%llu mnist_n_val=%lld size=%d shift=%d overlay=%s n_train=%lld n_val=%lld n_test=%lld",
            (unsigned long long)o->seed, (long long)o->n_val, o->mm.size, o->mm.shift,
            o->mm.plain_sum ? "sum" : "clip", (long long)o->mm.n_train, (long long)o->mm.n_val,
            (long long)o->mm.n_test);
        break;
    case GD_DATA_TRAFFIC_SIGNS:
        ADD(" seed=%llu size=%d rot_deg=%.9g scale=%.9g,%.9g shear=%.9g translate=%.9g noise=%.9g supersample=%d "
            "train_signs=%u test_signs=%u n=%lld,%lld,%lld,%lld",
            (unsigned long long)o->seed, o->ts.size, o->ts.rot_deg, o->ts.scale_min, o->ts.scale_max, o->ts.shear,
            o->ts.translate, o->ts.noise_std, o->ts.supersample, o->ts.train_signs, o->ts.test_signs,
            (long long)o->ts.n_train, (long long)o->ts.n_val, (long long)o->ts.n_test, (long long)o->ts.n_test_seen);
        break;
    default: break;
    }
    if (o->keep_parts) ADD(" parts=1");
#undef ADD
    return l;
}

/* Joins n names with commas into buf. */
static void join(char names[][GD_DATA_NAME_LEN], int n, char* buf, size_t bn) {
    size_t l = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && l < bn; i++) {
        int w = snprintf(buf + l, bn - l, "%s%s", i ? "," : "", names[i]);
        if (w > 0) l += (size_t)w;
    }
}

/* Splits a comma-separated list into names[0..max); returns the count. */
static int unjoin(const char* s, char names[][GD_DATA_NAME_LEN], int max) {
    int n = 0;
    while (*s && n < max) {
        size_t k = strcspn(s, ",");
        snprintf(names[n++], GD_DATA_NAME_LEN, "%.*s", (int)(k < GD_DATA_NAME_LEN - 1 ? k : GD_DATA_NAME_LEN - 1), s);
        s += k;
        if (*s == ',') s++;
    }
    return n;
}

gd_status gd_dataset_save_h5(const gd_dataset* ds, const char* path, const char* config_yaml, const char* params,
                             uint64_t seed, const gd_data_stats* stats, gd_error* err) {
    gd_h5* f = NULL;
    gd_status s = gd_h5_create(path, "data", config_yaml, MPI_COMM_NULL, &f, err);
    if (s) return s;
    size_t d3[3] = {(size_t)ds->n, (size_t)ds->h, (size_t)ds->w}, d2[2] = {(size_t)ds->n, (size_t)ds->n_components};
    size_t d1[1] = {(size_t)ds->n}, d4[4] = {(size_t)ds->n, (size_t)ds->n_components, (size_t)ds->h, (size_t)ds->w};
    size_t ds2[2] = {(size_t)ds->n_splits, 2};
    int64_t splits[GD_DATA_MAX_SPLITS * 2];
    char split_names[GD_DATA_MAX_SPLITS][GD_DATA_NAME_LEN], buf[GD_DATA_MAX_CLASSES * (GD_DATA_NAME_LEN + 1) + 1];
    for (int i = 0; i < ds->n_splits; i++) {
        splits[2 * i] = ds->splits[i].start;
        splits[2 * i + 1] = ds->splits[i].count;
        memcpy(split_names[i], ds->splits[i].name, GD_DATA_NAME_LEN);
    }
    if (!s) s = gd_h5_write(f, "images", GD_F32, 3, d3, ds->images, DEFLATE, err);
    if (!s) s = gd_h5_write(f, "labels", GD_U8, 2, d2, ds->labels, DEFLATE, err);
    if (!s) s = gd_h5_write(f, "classes", GD_I32, 1, d1, ds->classes, DEFLATE, err);
    if (!s && ds->parts) s = gd_h5_write(f, "parts", GD_F32, 4, d4, ds->parts, DEFLATE, err);
    if (!s && ds->n_splits) s = gd_h5_write(f, "splits", GD_I64, 2, ds2, splits, 0, err);
    if (!s) s = gd_h5_attr_set_str(f, "", "set", ds->name, err);
    if (!s) s = gd_h5_attr_set_str(f, "", "params", params ? params : "", err);
    if (!s) s = gd_h5_attr_set_u64(f, "", "seed", seed, err);
    if (!s) s = gd_h5_attr_set_str(f, "", "source", ds->source, err);
    if (!s) s = gd_h5_attr_set_i64(f, "", "n_classes", ds->n_classes, err);
    join((char(*)[GD_DATA_NAME_LEN])ds->component_names, ds->n_components, buf, sizeof buf);
    if (!s) s = gd_h5_attr_set_str(f, "", "component_names", buf, err);
    join((char(*)[GD_DATA_NAME_LEN])ds->class_names, ds->n_classes, buf, sizeof buf);
    if (!s) s = gd_h5_attr_set_str(f, "", "class_names", buf, err);
    join(split_names, ds->n_splits, buf, sizeof buf);
    if (!s) s = gd_h5_attr_set_str(f, "", "split_names", buf, err);
    if (!s && stats && stats->n_measured > 0) {
        s = gd_h5_attr_set_f64(f, "", "mean_overlap_min", stats->mean_overlap_min, err);
        if (!s) s = gd_h5_attr_set_f64(f, "", "mean_overlap_iou", stats->mean_overlap_iou, err);
        if (!s) s = gd_h5_attr_set_i64(f, "", "overlap_images", stats->n_measured, err);
    }
    if (s) {
        gd_h5_abort(f);
        return s;
    }
    return gd_h5_commit(f, err);
}

gd_status gd_dataset_load_h5(const char* path, gd_dataset* ds, char* params, size_t params_n, gd_data_stats* stats,
                             gd_error* err) {
    memset(ds, 0, sizeof *ds);
    if (stats) memset(stats, 0, sizeof *stats);
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "data", MPI_COMM_NULL, &f, err);
    if (s) return s;
    gd_dtype t;
    int rank;
    size_t dims[GD_H5_MAX_RANK], ldims[GD_H5_MAX_RANK];
    char buf[GD_DATA_MAX_CLASSES * (GD_DATA_NAME_LEN + 1) + 64];
    s = gd_h5_info(f, "images", &t, &rank, dims, err);
    if (!s && (t != GD_F32 || rank != 3))
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete it and run gendec data prepare again",
                         "images must be float32 (N, H, W)");
    if (!s) s = gd_h5_info(f, "labels", &t, &rank, ldims, err);
    if (!s && (t != GD_U8 || rank != 2 || ldims[0] != dims[0]))
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete it and run gendec data prepare again",
                         "labels must be uint8 (N, n_components) with the N of images");
    int with_parts = !s && gd_h5_exists(f, "parts");
    if (!s)
        s = gd_dataset_alloc(ds, (int64_t)dims[0], (int)dims[1], (int)dims[2], (int)ldims[1], with_parts, err);
    if (!s) s = gd_h5_read(f, "images", GD_F32, 3, dims, ds->images, err);
    if (!s) s = gd_h5_read(f, "labels", GD_U8, 2, ldims, ds->labels, err);
    if (!s) s = gd_h5_read(f, "classes", GD_I32, 1, dims, ds->classes, err);
    if (!s && with_parts) {
        size_t d4[4] = {dims[0], ldims[1], dims[1], dims[2]};
        s = gd_h5_read(f, "parts", GD_F32, 4, d4, ds->parts, err);
    }
    if (!s) s = gd_h5_attr_get_str(f, "", "set", ds->name, sizeof ds->name, err);
    if (!s) s = gd_h5_attr_get_str(f, "", "source", ds->source, sizeof ds->source, err);
    int64_t ncls = 0;
    if (!s) s = gd_h5_attr_get_i64(f, "", "n_classes", &ncls, err);
    if (!s && (ncls < 0 || ncls > GD_DATA_MAX_CLASSES))
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "n_classes %lld out of range", (long long)ncls);
    ds->n_classes = (int)ncls;
    if (!s) s = gd_h5_attr_get_str(f, "", "component_names", buf, sizeof buf, err);
    if (!s) unjoin(buf, ds->component_names, GD_DATA_MAX_COMPONENTS);
    if (!s) s = gd_h5_attr_get_str(f, "", "class_names", buf, sizeof buf, err);
    if (!s) unjoin(buf, ds->class_names, GD_DATA_MAX_CLASSES);
    char split_names[GD_DATA_MAX_SPLITS][GD_DATA_NAME_LEN];
    int ns = 0;
    if (!s) s = gd_h5_attr_get_str(f, "", "split_names", buf, sizeof buf, err);
    if (!s) ns = unjoin(buf, split_names, GD_DATA_MAX_SPLITS);
    if (!s && ns > 0) {
        int64_t sp[GD_DATA_MAX_SPLITS * 2];
        size_t sd[2] = {(size_t)ns, 2};
        s = gd_h5_read(f, "splits", GD_I64, 2, sd, sp, err);
        for (int i = 0; !s && i < ns; i++) s = gd_dataset_add_split(ds, split_names[i], sp[2 * i], sp[2 * i + 1], err);
    }
    if (!s && params) s = gd_h5_attr_get_str(f, "", "params", params, params_n, err);
    if (!s && stats && gd_h5_attr_exists(f, "", "mean_overlap_min")) {
        s = gd_h5_attr_get_f64(f, "", "mean_overlap_min", &stats->mean_overlap_min, err);
        if (!s) s = gd_h5_attr_get_f64(f, "", "mean_overlap_iou", &stats->mean_overlap_iou, err);
        if (!s) s = gd_h5_attr_get_i64(f, "", "overlap_images", &stats->n_measured, err);
    }
    gd_h5_close(f);
    if (s) gd_dataset_free(ds);
    return s;
}

/* Reads only the params attribute of a committed cache file; GD_OK with *match set. */
static gd_status cache_matches(const char* path, const char* params, int* match, gd_error* err) {
    *match = 0;
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, "data", MPI_COMM_NULL, &f, err);
    if (s) return s;
    char* stored = NULL;
    s = gd_h5_attr_get_str_alloc(f, "", "params", &stored, err);
    gd_h5_close(f);
    if (!s) *match = !strcmp(stored, params);
    free(stored);
    return s;
}

gd_status gd_data_prepare(const gd_data_opts* opts, const char* config_yaml, const char* path, int force,
                          gd_dataset* ds, int* reused, gd_data_stats* stats, gd_error* err) {
    char params[2048];
    gd_data_opts_describe(opts, params, sizeof params);
    *reused = 0;
    struct stat st;
    if (!force && stat(path, &st) == 0) {
        int match = 0;
        gd_error e2;
        if (cache_matches(path, params, &match, &e2) == GD_OK && match) {
            gd_status s = gd_dataset_load_h5(path, ds, NULL, 0, stats, err);
            if (!s) *reused = 1;
            return s;
        }
        /* another set, or an incomplete/damaged file: rebuilt below (the commit replaces it atomically) */
    }
    gd_status s = gd_dataset_load(opts, ds, stats, err);
    if (s) return s;
    s = gd_dataset_save_h5(ds, path, config_yaml, params, opts->seed, stats, err);
    if (s) gd_dataset_free(ds);
    return s;
}
