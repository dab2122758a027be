/* smallNORB (LeCun, Huang & Bottou 2004): the NYU binary matrix files, read and checked; view 0 of each
 * stereo pair area-averaged to size x size; 5 categories as 5 components. The files are raw or gzip. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "internal.h"

#define NORB_HOW_TO_GET                                                                                       \
    "download the six smallNORB files (smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat and "     \
    "smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat, .gz is fine) from "                          \
    "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ into DATA_DIR/smallnorb or set data.dir"

static const char* norb_categories[5] = {"animal", "human", "airplane", "truck", "car"};

static uint32_t le32(const unsigned char* p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads exactly n bytes from z; returns bytes read or -1 on a zlib error. */
static int64_t zread(gzFile z, void* buf, int64_t n) {
    int64_t done = 0;
    while (done < n) {
        unsigned want = n - done > (1 << 30) ? (1u << 30) : (unsigned)(n - done);
        int r = gzread(z, (char*)buf + done, want);
        if (r < 0) return -1;
        if (r == 0) break;
        done += r;
    }
    return done;
}

gd_status gd_norb_read_matrix(const char* path, uint32_t magic, void** data, int* ndim, int64_t dims[8],
                              gd_error* err) {
    *data = NULL;
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode))
        return gd_error_set(err, GD_EIO, path, 0, 0, NORB_HOW_TO_GET, "cannot open: %s",
                            errno ? strerror(errno) : "not a regular file");
    FILE* raw = fopen(path, "rb");
    if (!raw) return gd_error_set(err, GD_EIO, path, 0, 0, NORB_HOW_TO_GET, "cannot open: %s", strerror(errno));
    unsigned char m2[2] = {0, 0};
    int is_gz = fread(m2, 1, 2, raw) == 2 && m2[0] == 0x1f && m2[1] == 0x8b;
    fclose(raw);
    gzFile z = gzopen(path, "rb");
    if (!z) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    gd_status s = GD_OK;
    unsigned char h[8 + 4 * 8];
    int64_t got = zread(z, h, 8);
    const char* kind = magic == GD_NORB_MAGIC_BYTE ? "byte" : "int";
    if (got >= 4 && le32(h) != magic) {
        uint32_t m = le32(h);
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                         "wrong magic number 0x%08x: a smallNORB %s matrix starts with 0x%08x (little-endian)%s", m,
                         kind, magic,
                         m == GD_NORB_MAGIC_BYTE || m == GD_NORB_MAGIC_INT ? " - this is the other matrix type" : "");
        goto out;
    }
    if (got < 8) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                         "truncated file: %lld bytes, shorter than the 8-byte matrix header", (long long)(got < 0 ? 0 : got));
        goto out;
    }
    int nd = (int32_t)le32(h + 4);
    if (nd < 1 || nd > 8) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET, "impossible header: %d dimensions (1..8)", nd);
        goto out;
    }
    int stored = nd < 3 ? 3 : nd;
    int64_t header = 8 + 4 * (int64_t)stored;
    if (zread(z, h + 8, 4 * stored) != 4 * stored) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                         "truncated file: the header announces %d dimensions but ends early", nd);
        goto out;
    }
    int64_t count = 1;
    for (int d = 0; d < stored; d++) {
        int32_t v = (int32_t)le32(h + 8 + 4 * d);
        if (d < nd) {
            if (v < 1 || v > GD_DATA_MAX_IMAGES) {
                s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                                 "impossible header: dimension %d is %d (1..%d)", d, v, GD_DATA_MAX_IMAGES);
                goto out;
            }
            dims[d] = v;
            count *= v;
            if (count > (int64_t)GD_DATA_MAX_IMAGES * 96 * 96 * 2) {
                s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                                 "impossible header: more than %lld elements", (long long)GD_DATA_MAX_IMAGES * 96 * 96 * 2);
                goto out;
            }
        }
    }
    int esize = magic == GD_NORB_MAGIC_BYTE ? 1 : 4;
    int64_t payload = count * esize;
    if (!is_gz && (int64_t)st.st_size != header + payload) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                         "%s: the header promises %lld bytes of data, the file has %lld (expected exactly %lld bytes)",
                         (int64_t)st.st_size < header + payload ? "truncated file" : "file too long",
                         (long long)payload, (long long)(st.st_size - header), (long long)(header + payload));
        goto out;
    }
    if (is_gz && (header + payload) / 1032 > (int64_t)st.st_size) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                         "truncated file: the header promises %lld bytes, more than this %lld-byte gzip file can hold",
                         (long long)payload, (long long)st.st_size);
        goto out;
    }
    uint8_t* buf = gd_alloc((size_t)payload);
    if (!buf) {
        s = gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory reading %lld bytes", (long long)payload);
        goto out;
    }
    got = zread(z, buf, payload);
    unsigned char extra[16];
    int64_t more = got == payload ? zread(z, extra, sizeof extra) : 0;
    if (got != payload || more != 0) {
        gd_free(buf);
        if (got < 0 || more < 0)
            s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET, "corrupt or truncated gzip data");
        else if (got != payload)
            s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                             "truncated file: the header promises %lld bytes of data, the %s has %lld",
                             (long long)payload, is_gz ? "decompressed stream" : "file", (long long)got);
        else
            s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NORB_HOW_TO_GET,
                             "file too long: data continues after the %lld bytes the header promises",
                             (long long)(header + payload));
        goto out;
    }
    if (esize == 4)
        for (int64_t i = 0; i < count; i++) ((int32_t*)(void*)buf)[i] = (int32_t)le32(buf + 4 * i);
    *data = buf;
    *ndim = nd;
out:
    gzclose(z);
    return s;
}

gd_status gd_norb_write_matrix(const char* path, uint32_t magic, const void* data, int ndim, const int64_t* dims,
                               gd_error* err) {
    if (ndim < 1 || ndim > 8)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_norb_write_matrix: ndim %d", ndim);
    FILE* f = fopen(path, "wb");
    if (!f) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot create: %s", strerror(errno));
    int stored = ndim < 3 ? 3 : ndim;
    int64_t count = 1;
    uint32_t hdr[10];
    hdr[0] = magic;
    hdr[1] = (uint32_t)ndim;
    for (int d = 0; d < stored; d++) {
        hdr[2 + d] = d < ndim ? (uint32_t)dims[d] : 1u;
        if (d < ndim) count *= dims[d];
    }
    int bad = 0;
    for (int i = 0; i < 2 + stored; i++) {
        unsigned char b[4] = {(unsigned char)hdr[i], (unsigned char)(hdr[i] >> 8), (unsigned char)(hdr[i] >> 16),
                              (unsigned char)(hdr[i] >> 24)};
        bad |= fwrite(b, 1, 4, f) != 4;
    }
    if (magic == GD_NORB_MAGIC_BYTE)
        bad |= fwrite(data, 1, (size_t)count, f) != (size_t)count;
    else
        for (int64_t i = 0; i < count && !bad; i++) {
            uint32_t v = (uint32_t)((const int32_t*)data)[i];
            unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                                  (unsigned char)(v >> 24)};
            bad |= fwrite(b, 1, 4, f) != 4;
        }
    bad |= fclose(f) != 0;
    if (bad) {
        remove(path);
        return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "write failed");
    }
    return GD_OK;
}

/* The weights of input cells [lo, hi] covering output cell o when n_in cells map onto n_out: each input
 * cell contributes the length of its overlap with [o * n_in / n_out, (o + 1) * n_in / n_out). */
static int area_weights(int o, int n_in, int n_out, int* lo, float* w, int cap) {
    double a = (double)o * n_in / n_out, b = (double)(o + 1) * n_in / n_out;
    int first = (int)a, k = 0;
    *lo = first;
    for (int i = first; i < n_in && i < b && k < cap; i++) {
        double l = i > a ? i : a, r = i + 1 < b ? i + 1 : b;
        w[k++] = (float)((r - l) / (b - a));
    }
    return k;
}

void gd_area_downscale(const uint8_t* in, int ih, int iw, float* out, int oh, int ow) {
    enum { CAP = 4098 };
    float wy[CAP], wx[CAP];
    for (int oy = 0; oy < oh; oy++) {
        int y0, ny = area_weights(oy, ih, oh, &y0, wy, CAP);
        for (int ox = 0; ox < ow; ox++) {
            int x0, nx = area_weights(ox, iw, ow, &x0, wx, CAP);
            float s = 0;
            for (int a = 0; a < ny; a++) {
                float r = 0;
                for (int b = 0; b < nx; b++) r += wx[b] * in[(size_t)(y0 + a) * iw + x0 + b];
                s += wy[a] * r;
            }
            out[(size_t)oy * ow + ox] = s * (1.0f / 255.0f);
        }
    }
}

/* Finds smallNORB file `name` (plain or .gz) in the folder opts designates. */
static int find_norb(const gd_data_opts* opts, const char* name, char* path, size_t n, char* dir, size_t dn) {
    if (opts->dir[0])
        snprintf(dir, dn, "%s", opts->dir);
    else {
        char root[1024];
        gd_data_root(opts->root, root, sizeof root);
        snprintf(dir, dn, "%.1000s/smallnorb", root);
    }
    struct stat st;
    snprintf(path, n, "%.1000s/%s", dir, name);
    if (!stat(path, &st)) return 0;
    snprintf(path, n, "%.1000s/%s.gz", dir, name);
    if (!stat(path, &st)) return 0;
    snprintf(path, n, "%.1000s/%s", dir, name);
    return -1;
}

/* A range of a file set's images copied to the dataset: file images [from, from + count) -> [to, ...). */
typedef struct {
    int64_t from, count, to;
} norb_copy;

/* Reads one official file set (training or testing) and copies the ranges `copies[0..nc)` of its view into
 * the dataset, downscaled. *n_out = the number of images in the files. */
static gd_status read_norb_set(const gd_data_opts* opts, int test, gd_dataset* ds, const norb_copy* copies, int nc,
                               int64_t* n_out, char* src, size_t src_n, gd_error* err) {
    const char* stem = test ? "smallnorb-5x01235x9x18x6x2x96x96-testing" : "smallnorb-5x46789x9x18x6x2x96x96-training";
    char name[200], dat_path[1100], cat_path[1100], dir[1024];
    snprintf(name, sizeof name, "%s-dat.mat", stem);
    if (find_norb(opts, name, dat_path, sizeof dat_path, dir, sizeof dir))
        return gd_error_set(err, GD_EIO, dat_path, 0, 0, NORB_HOW_TO_GET, "missing smallNORB file %s(.gz) in %s", name,
                            dir);
    snprintf(name, sizeof name, "%s-cat.mat", stem);
    if (find_norb(opts, name, cat_path, sizeof cat_path, dir, sizeof dir))
        return gd_error_set(err, GD_EIO, cat_path, 0, 0, NORB_HOW_TO_GET, "missing smallNORB file %s(.gz) in %s", name,
                            dir);
    void *dat = NULL, *cat = NULL;
    int nd_dat, nd_cat;
    int64_t dd[8], dc[8];
    gd_status s = gd_norb_read_matrix(dat_path, GD_NORB_MAGIC_BYTE, &dat, &nd_dat, dd, err);
    if (!s) s = gd_norb_read_matrix(cat_path, GD_NORB_MAGIC_INT, &cat, &nd_cat, dc, err);
    if (!s && (nd_dat != 4 || dd[1] != 2 || dd[2] > GD_DATA_MAX_SIDE || dd[3] > GD_DATA_MAX_SIDE))
        s = gd_error_set(err, GD_EFORMAT, dat_path, 0, 0, NORB_HOW_TO_GET,
                         "a smallNORB dat file holds (N, 2, H, W) stereo pairs; this one has %d dimensions%s", nd_dat,
                         nd_dat == 4 ? " with a second one other than 2" : "");
    if (!s && (nd_cat != 1 || dc[0] != dd[0]))
        s = gd_error_set(err, GD_EFORMAT, cat_path, 0, 0, NORB_HOW_TO_GET,
                         "count mismatch: %lld categories (ndim %d) for the %lld images of %s", (long long)dc[0], nd_cat,
                         (long long)dd[0], dat_path);
    if (!s)
        for (int64_t i = 0; i < dc[0]; i++)
            if (((int32_t*)cat)[i] < 0 || ((int32_t*)cat)[i] > 4) {
                s = gd_error_set(err, GD_EFORMAT, cat_path, 0, 0, NORB_HOW_TO_GET,
                                 "category %d of item %lld is out of range: smallNORB categories are 0..4",
                                 ((int32_t*)cat)[i], (long long)i);
                break;
            }
    if (!s) {
        int64_t n = dd[0], hw = dd[2] * dd[3];
        for (int k = 0; !s && k < nc; k++) {
            if (copies[k].from < 0 || copies[k].from + copies[k].count > n || copies[k].to + copies[k].count > ds->n) {
                s = gd_error_set(err, GD_EFORMAT, dat_path, 0, 0, NULL,
                                 "the file holds %lld images, fewer than its header count said", (long long)n);
                break;
            }
            for (int64_t i = 0; i < copies[k].count; i++) {
                int64_t from = copies[k].from + i, to = copies[k].to + i;
                const uint8_t* img = (const uint8_t*)dat + (from * 2 + opts->norb.view) * hw;
                gd_area_downscale(img, (int)dd[2], (int)dd[3], ds->images + to * ds->h * ds->w, ds->h, ds->w);
                int c = ((int32_t*)cat)[from];
                ds->classes[to] = c;
                ds->labels[to * 5 + c] = 1;
            }
        }
        *n_out = n;
        char sd[65], sc[65];
        if (!s) s = gd_sha256_file(dat_path, sd, err);
        if (!s) s = gd_sha256_file(cat_path, sc, err);
        if (!s) {
            size_t l = strlen(src);
            snprintf(src + l, src_n - l, "%s%.600s sha256:%s; %.600s sha256:%s", l ? "; " : "", dat_path, sd, cat_path,
                     sc);
        }
    }
    gd_free(dat);
    gd_free(cat);
    return s;
}

/* The number of images in a smallNORB cat file (reads only its header). */
static gd_status norb_count(const gd_data_opts* opts, int test, int64_t* n, gd_error* err) {
    const char* stem = test ? "smallnorb-5x01235x9x18x6x2x96x96-testing" : "smallnorb-5x46789x9x18x6x2x96x96-training";
    char name[200], path[1100], dir[1024];
    snprintf(name, sizeof name, "%s-cat.mat", stem);
    if (find_norb(opts, name, path, sizeof path, dir, sizeof dir))
        return gd_error_set(err, GD_EIO, path, 0, 0, NORB_HOW_TO_GET, "missing smallNORB file %s(.gz) in %s", name, dir);
    void* cat = NULL;
    int nd;
    int64_t dims[8];
    gd_status s = gd_norb_read_matrix(path, GD_NORB_MAGIC_INT, &cat, &nd, dims, err);
    gd_free(cat);
    if (!s) *n = dims[0];
    return s;
}

gd_status gd_data_load_norb(const gd_data_opts* opts, gd_dataset* ds, gd_error* err) {
    if (opts->norb.size < 1 || opts->norb.size > 96 || opts->norb.view < 0 || opts->norb.view > 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "smallNORB: size must be 1..96 and view 0 or 1 (got %d, %d)",
                            opts->norb.size, opts->norb.view);
    int64_t ntr, nte;
    gd_status s = norb_count(opts, 0, &ntr, err);
    if (!s) s = norb_count(opts, 1, &nte, err);
    if (s) return s;
    if (opts->n_val < 0 || opts->n_val >= ntr)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "choose fewer validation images",
                            "a validation split of %lld images leaves no smallNORB training images (of %lld)",
                            (long long)opts->n_val, (long long)ntr);
    int64_t nva = opts->n_val, avail = ntr - nva;
    int64_t ktr = opts->max_train > 0 && opts->max_train < avail ? opts->max_train : avail;
    int64_t kte = opts->max_test > 0 && opts->max_test < nte ? opts->max_test : nte;
    if ((s = gd_dataset_alloc(ds, ktr + nva + kte, opts->norb.size, opts->norb.size, 5, 0, err))) return s;
    snprintf(ds->name, sizeof ds->name, "smallnorb");
    ds->n_classes = 5;
    for (int c = 0; c < 5; c++) {
        snprintf(ds->component_names[c], GD_DATA_NAME_LEN, "%s", norb_categories[c]);
        snprintf(ds->class_names[c], GD_DATA_NAME_LEN, "%s", norb_categories[c]);
    }
    int64_t got_tr = 0, got_te = 0;
    norb_copy ctr[2] = {{0, ktr, 0}, {ntr - nva, nva, ktr}}, cte[1] = {{0, kte, ktr + nva}};
    s = read_norb_set(opts, 0, ds, ctr, 2, &got_tr, ds->source, sizeof ds->source, err);
    if (!s) s = read_norb_set(opts, 1, ds, cte, 1, &got_te, ds->source, sizeof ds->source, err);
    if (!s && (got_tr != ntr || got_te != nte))
        s = gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NORB_HOW_TO_GET, "smallNORB dat and cat files disagree in count");
    if (s) {
        gd_dataset_free(ds);
        return s;
    }
    size_t l = strlen(ds->source);
    snprintf(ds->source + l, sizeof ds->source - l,
             "; view %d area-averaged to %dx%d; train = training images [0, %lld), validation = training images "
             "[%lld, %lld), test = testing images [0, %lld)",
             opts->norb.view, opts->norb.size, opts->norb.size, (long long)ktr, (long long)(ntr - nva), (long long)ntr,
             (long long)kte);
    gd_dataset_add_split(ds, "train", 0, ktr, NULL);
    gd_dataset_add_split(ds, "validation", ktr, nva, NULL);
    gd_dataset_add_split(ds, "test", ktr + nva, kte, NULL);
    return GD_OK;
}
