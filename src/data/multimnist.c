/* multiMNIST the CapsNet way (Sabour, Frosst & Hinton 2017, §6): two MNIST digits of different classes,
 * each padded to a size x size canvas and shifted by up to `shift` pixels on each axis, overlaid. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The bounding box [y0, y1] x [x0, x1] of the non-zero pixels of a 28 x 28 digit (empty: y1 < y0). */
typedef struct {
    int y0, y1, x0, x1;
} box;

static box digit_box(const uint8_t* d) {
    box b = {28, -1, 28, -1};
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            if (d[y * 28 + x]) {
                if (y < b.y0) b.y0 = y;
                if (y > b.y1) b.y1 = y;
                if (x < b.x0) b.x0 = x;
                if (x > b.x1) b.x1 = x;
            }
    return b;
}

static int64_t box_area(box b) { return b.y1 < b.y0 || b.x1 < b.x0 ? 0 : (int64_t)(b.y1 - b.y0 + 1) * (b.x1 - b.x0 + 1); }

/* Draws digit d (28 x 28 uint8) at offset (oy, ox) of a size x size float canvas (zeroed by the caller). */
static void place(const uint8_t* d, int oy, int ox, int size, float* canvas) {
    for (int y = 0; y < 28; y++) {
        int cy = y + oy;
        if (cy < 0 || cy >= size) continue;
        for (int x = 0; x < 28; x++) {
            int cx = x + ox;
            if (cx >= 0 && cx < size) canvas[cy * size + cx] = d[y * 28 + x] / 255.0f;
        }
    }
}

gd_status gd_multimnist_generate(const gd_multimnist_opts* o, const uint8_t* src, const uint8_t* src_classes,
                                 int64_t n_src, uint64_t seed, uint64_t stream_base, int64_t first, int64_t count,
                                 float* images, uint8_t* labels, float* parts, gd_data_stats* stats, gd_error* err) {
    if (o->size < 28 || o->size > 256 || o->shift < 0 || o->shift > 28 || n_src < 2 || n_src > UINT32_MAX)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use size >= 28 and a shift that keeps digits on the canvas",
                            "multiMNIST: impossible options size %d, shift %d (from %lld digits)", o->size, o->shift,
                            (long long)n_src);
    int seen[10] = {0}, n_cls = 0;
    for (int64_t i = 0; i < n_src; i++)
        if (src_classes[i] < 10 && !seen[src_classes[i]]++) n_cls++;
    if (n_cls < 2)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "multiMNIST needs digits of at least two classes");
    const int size = o->size, hw = size * size, pad = (size - 28) / 2;
    float a[256 * 256], b[256 * 256];
    double sum_min = 0, sum_iou = 0;
    for (int64_t i = 0; i < count; i++) {
        gd_rng r;
        gd_rng_init(&r, seed, GD_STREAM_DATA, stream_base + (uint64_t)(first + i));
        int64_t ia = gd_rng_below(&r, (uint32_t)n_src), ib;
        do ib = gd_rng_below(&r, (uint32_t)n_src);
        while (src_classes[ib] == src_classes[ia]);
        int span = 2 * o->shift + 1;
        int dya = (int)gd_rng_below(&r, (uint32_t)span) - o->shift, dxa = (int)gd_rng_below(&r, (uint32_t)span) - o->shift;
        int dyb = (int)gd_rng_below(&r, (uint32_t)span) - o->shift, dxb = (int)gd_rng_below(&r, (uint32_t)span) - o->shift;
        const uint8_t *da = src + ia * 784, *db = src + ib * 784;
        memset(a, 0, sizeof(float) * hw);
        memset(b, 0, sizeof(float) * hw);
        place(da, pad + dya, pad + dxa, size, a);
        place(db, pad + dyb, pad + dxb, size, b);
        float* img = images + i * hw;
        for (int k = 0; k < hw; k++) {
            float v = a[k] + b[k];
            img[k] = o->plain_sum || v < 1.0f ? v : 1.0f;
        }
        int ca = src_classes[ia], cb = src_classes[ib];
        uint8_t* lab = labels + i * 10;
        memset(lab, 0, 10);
        lab[ca] = lab[cb] = 1;
        if (parts) {
            float* p = parts + i * 10 * hw;
            memset(p, 0, sizeof(float) * 10 * hw);
            memcpy(p + ca * hw, a, sizeof(float) * hw);
            memcpy(p + cb * hw, b, sizeof(float) * hw);
        }
        /* overlap of the two shifted bounding boxes (pixels clipped off the canvas are not counted) */
        box A = digit_box(da), B = digit_box(db);
        A.y0 += pad + dya, A.y1 += pad + dya, A.x0 += pad + dxa, A.x1 += pad + dxa;
        B.y0 += pad + dyb, B.y1 += pad + dyb, B.x0 += pad + dxb, B.x1 += pad + dxb;
        box I = {A.y0 > B.y0 ? A.y0 : B.y0, A.y1 < B.y1 ? A.y1 : B.y1, A.x0 > B.x0 ? A.x0 : B.x0,
                 A.x1 < B.x1 ? A.x1 : B.x1};
        int64_t ai = box_area(I), aa = box_area(A), ab = box_area(B);
        int64_t mn = aa < ab ? aa : ab, un = aa + ab - ai;
        if (mn > 0) sum_min += (double)ai / (double)mn;
        if (un > 0) sum_iou += (double)ai / (double)un;
    }
    if (stats) {
        int64_t n0 = stats->n_measured, n1 = n0 + count;
        if (n1 > 0) {
            stats->mean_overlap_min = (stats->mean_overlap_min * n0 + sum_min) / n1;
            stats->mean_overlap_iou = (stats->mean_overlap_iou * n0 + sum_iou) / n1;
        }
        stats->n_measured = n1;
    }
    return GD_OK;
}

gd_status gd_data_make_multimnist(const gd_data_opts* opts, gd_dataset* ds, gd_data_stats* stats, gd_error* err) {
    const gd_multimnist_opts* o = &opts->mm;
    if (o->n_train < 0 || o->n_val < 0 || o->n_test < 0 || o->n_train + o->n_val + o->n_test <= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "multiMNIST: negative or zero split sizes");
    gd_data_opts mo = *opts;
    mo.kind = GD_DATA_MNIST;
    gd_idx_pair tr, te;
    gd_status s = gd_data_read_idx_pair(&mo, GD_DATA_MNIST, 0, 1, &tr, err);
    if (s) return s;
    if ((s = gd_data_read_idx_pair(&mo, GD_DATA_MNIST, 1, 1, &te, err))) {
        gd_idx_pair_free(&tr);
        return s;
    }
    int64_t mval = opts->n_val;
    if (mval < 1 || mval >= tr.n) {
        s = gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL,
                         "multiMNIST: the MNIST validation hold-out (n_val = %lld) must be within 1..%lld",
                         (long long)mval, (long long)tr.n - 1);
        goto done;
    }
    int64_t n = o->n_train + o->n_val + o->n_test;
    if ((s = gd_dataset_alloc(ds, n, o->size, o->size, 10, opts->keep_parts, err))) goto done;
    snprintf(ds->name, sizeof ds->name, "multimnist");
    for (int c = 0; c < 10; c++) snprintf(ds->component_names[c], GD_DATA_NAME_LEN, "%d", c);
    ds->n_classes = 0;
    const int64_t hw = (int64_t)o->size * o->size;
    struct {
        const char* name;
        int64_t count;
        const uint8_t *px, *cls;
        int64_t n_src;
    } parts[3] = {{"train", o->n_train, tr.pixels, tr.labels, tr.n - mval},
                  {"validation", o->n_val, tr.pixels + (tr.n - mval) * 784, tr.labels + (tr.n - mval), mval},
                  {"test", o->n_test, te.pixels, te.labels, te.n}};
    int64_t off = 0;
    for (int p = 0; p < 3 && !s; p++) {
        s = gd_multimnist_generate(o, parts[p].px, parts[p].cls, parts[p].n_src, opts->seed, (uint64_t)off, 0,
                                   parts[p].count, ds->images + off * hw, ds->labels + off * 10,
                                   ds->parts ? ds->parts + off * 10 * hw : NULL, stats, err);
        if (!s) s = gd_dataset_add_split(ds, parts[p].name, off, parts[p].count, err);
        off += parts[p].count;
    }
    if (s) {
        gd_dataset_free(ds);
        goto done;
    }
    snprintf(ds->source, sizeof ds->source,
             "generated: multimnist (CapsNet procedure) size=%d shift=%d combine=%s seed=%llu n_train=%lld n_val=%lld "
             "n_test=%lld; train from MNIST train images [0, %lld), validation from [%lld, %lld), test from MNIST "
             "test; image i uses stream (seed, data, i); MNIST %.400s sha256:%s, %.400s sha256:%s, %.400s sha256:%s, "
             "%.400s sha256:%s",
             o->size, o->shift, o->plain_sum ? "plain_sum" : "min(a+b,1)", (unsigned long long)opts->seed,
             (long long)o->n_train, (long long)o->n_val, (long long)o->n_test, (long long)(tr.n - mval),
             (long long)(tr.n - mval), (long long)tr.n, tr.image_path, tr.image_sha, tr.label_path, tr.label_sha,
             te.image_path, te.image_sha, te.label_path, te.label_sha);
done:
    gd_idx_pair_free(&tr);
    gd_idx_pair_free(&te);
    return s;
}
