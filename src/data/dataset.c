/* The in-memory dataset: options, allocation, splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char* kind_names[GD_DATA_N_KINDS] = {"mnist", "fashion_mnist", "smallnorb", "multimnist",
                                                  "traffic_signs"};

const char* gd_data_kind_name(gd_data_kind kind) {
    return (unsigned)kind < GD_DATA_N_KINDS ? kind_names[kind] : "unknown";
}

gd_status gd_data_kind_parse(const char* name, gd_data_kind* kind, gd_error* err) {
    static const struct {
        const char* alias;
        gd_data_kind kind;
    } aliases[] = {{"fashion-mnist", GD_DATA_FASHION_MNIST}, {"fashion", GD_DATA_FASHION_MNIST},
                   {"norb", GD_DATA_SMALLNORB},              {"multi-mnist", GD_DATA_MULTIMNIST},
                   {"multi_mnist", GD_DATA_MULTIMNIST},      {"ts", GD_DATA_TRAFFIC_SIGNS},
                   {"traffic-signs", GD_DATA_TRAFFIC_SIGNS}};
    for (int k = 0; k < GD_DATA_N_KINDS; k++)
        if (!strcmp(name, kind_names[k])) {
            *kind = (gd_data_kind)k;
            return GD_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i].alias)) {
            *kind = aliases[i].kind;
            return GD_OK;
        }
    return gd_error_set(err, GD_EINVAL, NULL, 0, 0,
                        "use one of: mnist, fashion_mnist, smallnorb, multimnist, traffic_signs",
                        "unknown dataset '%s'", name);
}

void gd_data_opts_default(gd_data_opts* o, gd_data_kind kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->seed = 1;
    o->n_val = 5000;
    o->mm = (gd_multimnist_opts){.size = 36, .shift = 4, .plain_sum = 0, .n_train = 60000, .n_val = 5000,
                                 .n_test = 10000};
    o->ts = (gd_ts_opts){.size = 64,
                         .rot_deg = 15.0f,
                         .scale_min = 0.8f,
                         .scale_max = 1.0f,
                         .shear = 0.15f,
                         .translate = 0.08f,
                         .noise_std = 0.0f,
                         .supersample = 4,
                         .train_signs = (1u << GD_TS_LEFT_TURN) | (1u << GD_TS_RIGHT_TURN) |
                                        (1u << GD_TS_NO_RIGHT_TURN),
                         .test_signs = 1u << GD_TS_NO_LEFT_TURN,
                         .n_train = 30000,
                         .n_val = 3000,
                         .n_test = 3000,
                         .n_test_seen = 3000};
    o->norb = (gd_norb_opts){.size = 48, .view = 0};
}

void gd_data_root(const char* root, char* buf, size_t n) {
    const char* env = getenv("GD_DATA_DIR");
    if (root && *root)
        snprintf(buf, n, "%s", root);
    else if (env && *env)
        snprintf(buf, n, "%s", env);
    else
        snprintf(buf, n, "data");
}

gd_status gd_dataset_alloc(gd_dataset* ds, int64_t n, int h, int w, int n_components, int with_parts,
                           gd_error* err) {
    memset(ds, 0, sizeof *ds);
    if (n <= 0 || n > GD_DATA_MAX_IMAGES * 4LL || h <= 0 || w <= 0 || h > GD_DATA_MAX_SIDE ||
        w > GD_DATA_MAX_SIDE || n_components <= 0 || n_components > GD_DATA_MAX_COMPONENTS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL,
                            "impossible dataset shape: %lld images of %dx%d, %d components", (long long)n, h,
                            w, n_components);
    size_t px, lab, parts = 0;
    if (gd_mul_overflows((size_t)n, (size_t)h * (size_t)w, &px) || px > SIZE_MAX / sizeof(float) ||
        gd_mul_overflows((size_t)n, (size_t)n_components, &lab) ||
        (with_parts && (gd_mul_overflows(px, (size_t)n_components, &parts) || parts > SIZE_MAX / sizeof(float))))
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "dataset of %lld images is too large",
                            (long long)n);
    ds->n = n;
    ds->h = h;
    ds->w = w;
    ds->n_components = n_components;
    ds->images = gd_alloc(px * sizeof(float));
    ds->labels = gd_alloc(lab);
    ds->classes = gd_alloc((size_t)n * sizeof(int32_t));
    if (with_parts) ds->parts = gd_alloc(parts * sizeof(float));
    if (!ds->images || !ds->labels || !ds->classes || (with_parts && !ds->parts)) {
        gd_dataset_free(ds);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "free memory or ask for fewer images",
                            "out of memory allocating %lld images of %dx%d (%.1f MB)", (long long)n, h, w,
                            (double)px * 4 * (with_parts ? 1 + n_components : 1) / 1e6);
    }
    for (int64_t i = 0; i < n; i++) ds->classes[i] = -1;
    return GD_OK;
}

void gd_dataset_free(gd_dataset* ds) {
    if (!ds) return;
    gd_free(ds->images);
    gd_free(ds->labels);
    gd_free(ds->classes);
    gd_free(ds->parts);
    memset(ds, 0, sizeof *ds);
}

gd_status gd_dataset_split(const gd_dataset* ds, const char* name, gd_split* out, gd_error* err) {
    char names[GD_DATA_MAX_SPLITS * (GD_DATA_NAME_LEN + 2)] = "";
    size_t len = 0;
    for (int i = 0; i < ds->n_splits; i++) {
        if (!strcmp(ds->splits[i].name, name)) {
            *out = ds->splits[i];
            return GD_OK;
        }
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", ds->splits[i].name);
        if (len >= sizeof names) len = sizeof names - 1;
    }
    return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "dataset '%s' has no split '%s' (it has: %s)", ds->name,
                        name, names[0] ? names : "none");
}

gd_status gd_dataset_add_split(gd_dataset* ds, const char* name, int64_t start, int64_t count, gd_error* err) {
    if (ds->n_splits >= GD_DATA_MAX_SPLITS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "too many splits (at most %d)", GD_DATA_MAX_SPLITS);
    if (start < 0 || count < 0 || start + count > ds->n || strlen(name) >= GD_DATA_NAME_LEN || !*name)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "split '%s' [%lld, %lld) outside the %lld images",
                            name, (long long)start, (long long)(start + count), (long long)ds->n);
    gd_split* s = &ds->splits[ds->n_splits++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->start = start;
    s->count = count;
    return GD_OK;
}

gd_status gd_dataset_load(const gd_data_opts* opts, gd_dataset* ds, gd_data_stats* stats, gd_error* err) {
    memset(ds, 0, sizeof *ds);
    if (stats) memset(stats, 0, sizeof *stats);
    gd_status s;
    switch (opts->kind) {
    case GD_DATA_MNIST:
    case GD_DATA_FASHION_MNIST: s = gd_data_load_idx_set(opts, ds, err); break;
    case GD_DATA_SMALLNORB: s = gd_data_load_norb(opts, ds, err); break;
    case GD_DATA_MULTIMNIST: s = gd_data_make_multimnist(opts, ds, stats, err); break;
    case GD_DATA_TRAFFIC_SIGNS: s = gd_data_make_ts(opts, ds, err); break;
    default: return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "unknown dataset kind %d", (int)opts->kind);
    }
    if (s == GD_OK && opts->binarize) {
        size_t px = (size_t)ds->n * ds->h * ds->w;
        for (size_t i = 0; i < px; i++) ds->images[i] = ds->images[i] >= 0.5f ? 1.0f : 0.0f;
        size_t l = strlen(ds->source);
        snprintf(ds->source + l, sizeof ds->source - l, "; binarized at 0.5");
    }
    return s;
}
