/* MNIST and Fashion-MNIST from their idx files: locating, reading, turning into a gd_dataset. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static const char* idx_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                   "t10k-labels-idx1-ubyte"};

static const char* fashion_classes[10] = {"tshirt_top", "trouser", "pullover", "dress", "coat",
                                          "sandal",     "shirt",   "sneaker",  "bag",   "ankle_boot"};

/* How a user gets the files of `kind`. */
static const char* how_to_get(gd_data_kind kind) {
    return kind == GD_DATA_MNIST
               ? "run: gendec data fetch mnist [--data-dir DIR], or point --data-dir / data.dir at a folder with "
                 "the four idx files"
               : "install Debian's package: apt-get install dataset-fashion-mnist (files in "
                 "/usr/share/datasets/fashion-mnist), or point data.dir at a folder with the four idx files";
}

static int is_file(const char* p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds file `name` (plain, then .gz) in the folders opts designates for kind; fills path. Returns 0 when
 * found; otherwise fills `tried` with the folders searched. */
static int find_idx(const gd_data_opts* opts, gd_data_kind kind, const char* name, char* path, size_t n,
                    char* tried, size_t tn) {
    char dirs[3][1024];
    int nd = 0;
    if (opts->dir[0])
        snprintf(dirs[nd++], sizeof dirs[0], "%s", opts->dir);
    else {
        char root[1024];
        gd_data_root(opts->root, root, sizeof root);
        snprintf(dirs[nd++], sizeof dirs[0], "%.1000s/%s", root, kind == GD_DATA_MNIST ? "mnist" : "fashion-mnist");
        if (kind == GD_DATA_FASHION_MNIST) snprintf(dirs[nd++], sizeof dirs[0], "/usr/share/datasets/fashion-mnist");
    }
    size_t tl = 0;
    tried[0] = '\0';
    for (int d = 0; d < nd; d++) {
        snprintf(path, n, "%.1000s/%s", dirs[d], name);
        if (is_file(path)) return 0;
        snprintf(path, n, "%.1000s/%s.gz", dirs[d], name);
        if (is_file(path)) return 0;
        int w = snprintf(tried + tl, tn - tl, "%s%s", d ? ", " : "", dirs[d]);
        if (w > 0) tl = tl + (size_t)w < tn ? tl + (size_t)w : tn - 1;
    }
    snprintf(path, n, "%.1000s/%s", dirs[0], name);
    return -1;
}

void gd_idx_pair_free(gd_idx_pair* p) {
    gd_free(p->pixels);
    gd_free(p->labels);
    memset(p, 0, sizeof *p);
}

gd_status gd_data_read_idx_pair(const gd_data_opts* opts, gd_data_kind kind, int test, int with_sha,
                                gd_idx_pair* out, gd_error* err) {
    memset(out, 0, sizeof *out);
    const char* set = kind == GD_DATA_MNIST ? "MNIST" : "Fashion-MNIST";
    char tried[2200];
    for (int k = 0; k < 2; k++) {
        char* path = k ? out->label_path : out->image_path;
        if (find_idx(opts, kind, idx_names[2 * test + k], path, sizeof out->image_path, tried, sizeof tried))
            return gd_error_set(err, GD_EIO, path, 0, 0, how_to_get(kind),
                                "missing %s file %s(.gz) (looked in: %s)", set, idx_names[2 * test + k], tried);
    }
    int64_t nl = 0;
    gd_status st = gd_idx_read_images(out->image_path, &out->pixels, &out->n, &out->rows, &out->cols, err);
    if (!st) st = gd_idx_read_labels(out->label_path, 10, &out->labels, &nl, err);
    if (!st && nl != out->n)
        st = gd_error_set(err, GD_EFORMAT, out->label_path, 0, 0, NULL,
                          "count mismatch: %lld labels here but %lld images in %s", (long long)nl, (long long)out->n,
                          out->image_path);
    if (!st && (out->rows != 28 || out->cols != 28))
        st = gd_error_set(err, GD_EFORMAT, out->image_path, 0, 0, NULL,
                          "%s images are 28x28, this file holds %dx%d images", set, out->rows, out->cols);
    if (!st && with_sha) {
        st = gd_sha256_file(out->image_path, out->image_sha, err);
        if (!st) st = gd_sha256_file(out->label_path, out->label_sha, err);
    }
    if (st) {
        if (err && !err->hint[0]) snprintf(err->hint, sizeof err->hint, "%s", how_to_get(kind));
        gd_error_prefix(err, "reading %s %s", set, test ? "test" : "train");
        gd_idx_pair_free(out);
    }
    return st;
}

gd_status gd_data_load_idx_set(const gd_data_opts* opts, gd_dataset* ds, gd_error* err) {
    gd_idx_pair tr, te;
    gd_status st = gd_data_read_idx_pair(opts, opts->kind, 0, 1, &tr, err);
    if (st) return st;
    if ((st = gd_data_read_idx_pair(opts, opts->kind, 1, 1, &te, err))) {
        gd_idx_pair_free(&tr);
        return st;
    }
    /* validation = the last n_val images of the training file; train = the first images before them, at
     * most max_train; test = the first max_test images of the test file */
    if (opts->n_val < 0 || opts->n_val >= tr.n) {
        st = gd_error_set(err, GD_EINVAL, NULL, 0, 0, "choose fewer validation images",
                          "a validation split of %lld images leaves no training images (the file has %lld)",
                          (long long)opts->n_val, (long long)tr.n);
        goto done;
    }
    int64_t avail = tr.n - opts->n_val;
    int64_t ntr = opts->max_train > 0 && opts->max_train < avail ? opts->max_train : avail;
    int64_t nva = opts->n_val;
    int64_t nte = opts->max_test > 0 && opts->max_test < te.n ? opts->max_test : te.n;
    if ((st = gd_dataset_alloc(ds, ntr + nva + nte, 28, 28, 10, 0, err))) goto done;
    snprintf(ds->name, sizeof ds->name, "%s", gd_data_kind_name(opts->kind));
    ds->n_classes = 10;
    for (int c = 0; c < 10; c++) {
        if (opts->kind == GD_DATA_MNIST)
            snprintf(ds->component_names[c], GD_DATA_NAME_LEN, "%d", c);
        else
            snprintf(ds->component_names[c], GD_DATA_NAME_LEN, "%s", fashion_classes[c]);
        memcpy(ds->class_names[c], ds->component_names[c], GD_DATA_NAME_LEN);
    }
    const struct {
        const gd_idx_pair* p;
        int64_t from, count, to;
    } copies[3] = {{&tr, 0, ntr, 0}, {&tr, tr.n - nva, nva, ntr}, {&te, 0, nte, ntr + nva}};
    for (int part = 0; part < 3; part++) {
        const gd_idx_pair* p = copies[part].p;
        for (int64_t i = 0; i < copies[part].count; i++) {
            int64_t src = copies[part].from + i, dst = copies[part].to + i;
            for (int k = 0; k < 784; k++) ds->images[dst * 784 + k] = p->pixels[src * 784 + k] / 255.0f;
            ds->classes[dst] = p->labels[src];
            ds->labels[dst * 10 + p->labels[src]] = 1;
        }
    }
    gd_dataset_add_split(ds, "train", 0, ntr, NULL);
    gd_dataset_add_split(ds, "validation", ntr, nva, NULL);
    gd_dataset_add_split(ds, "test", ntr + nva, nte, NULL);
    snprintf(ds->source, sizeof ds->source,
             "%.600s sha256:%s; %.600s sha256:%s; %.600s sha256:%s; %.600s sha256:%s; train = training images "
             "[0, %lld), validation = training images [%lld, %lld), test = test images [0, %lld)",
             tr.image_path, tr.image_sha, tr.label_path, tr.label_sha, te.image_path, te.image_sha, te.label_path,
             te.label_sha, (long long)ntr, (long long)(tr.n - nva), (long long)tr.n, (long long)nte);
done:
    gd_idx_pair_free(&tr);
    gd_idx_pair_free(&te);
    return st;
}
