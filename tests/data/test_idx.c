/* idx reading (raw and gzip) on small files this test writes, MNIST-style dataset assembly, and every kind of
 * bad input: truncated, too long, wrong magic, impossible header, count mismatch, label out of range, missing. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gd_test.h"
#include "gendec/data.h"

static char dir[600];

static uint8_t pix(int64_t i, int k) { return (uint8_t)((i * 7 + k * 13) % 256); }

/* Writes a fake MNIST folder: ntr train and nte test images of 28x28, labels i % 10. */
static void write_fake(const char* d, int64_t ntr, int64_t nte, int gz) {
    gd_error err;
    mkdir(d, 0755);
    for (int t = 0; t < 2; t++) {
        int64_t n = t ? nte : ntr;
        uint8_t* im = malloc((size_t)n * 784);
        uint8_t* lb = malloc((size_t)n);
        for (int64_t i = 0; i < n; i++) {
            for (int k = 0; k < 784; k++) im[i * 784 + k] = pix(i + t * 1000, k);
            lb[i] = (uint8_t)((i + t) % 10);
        }
        char p[700];
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", d, t ? "t10k" : "train", gz ? ".gz" : "");
        CHECK_OK(gd_idx_write(p, gz, im, NULL, n, 28, 28, &err), &err);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", d, t ? "t10k" : "train", gz ? ".gz" : "");
        CHECK_OK(gd_idx_write(p, gz, NULL, lb, n, 0, 0, &err), &err);
        free(im);
        free(lb);
    }
}

static void write_bytes(const char* p, const void* b, size_t n) {
    FILE* f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* An error message must name the file and contain `what`. */
static void check_err(gd_status got, gd_status want, const gd_error* e, const char* file, const char* what) {
    char buf[2600];
    gd_error_format(e, buf, sizeof buf);
    CHECK_MSG(got == want, "status %d, want %d (%s)", got, want, buf);
    CHECK_MSG(strstr(e->file, file) != NULL, "error file '%s' should name '%s'", e->file, file);
    CHECK_MSG(strstr(buf, what) != NULL, "error '%s' should say '%s'", buf, what);
}

static void test_roundtrip(int gz) {
    char d[700];
    snprintf(d, sizeof d, "%s/fake%d", dir, gz);
    write_fake(d, 120, 30, gz);
    gd_error err;
    uint8_t* im;
    int64_t n;
    int r, c;
    char p[800];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", d, gz ? ".gz" : "");
    CHECK_OK(gd_idx_read_images(p, &im, &n, &r, &c, &err), &err);
    CHECK(n == 120 && r == 28 && c == 28);
    int same = 1;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 784; k++) same &= im[i * 784 + k] == pix(i, k);
    CHECK(same);
    gd_free(im);
    /* the first 7 images only; more than the file holds gives them all */
    CHECK_OK(gd_idx_read_images_first(p, 7, &im, &n, &r, &c, &err), &err);
    CHECK(n == 7 && r == 28 && c == 28);
    same = 1;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 784; k++) same &= im[i * 784 + k] == pix(i, k);
    CHECK(same);
    gd_free(im);
    CHECK_OK(gd_idx_read_images_first(p, 1000, &im, &n, &r, &c, &err), &err);
    CHECK(n == 120 && im[119 * 784 + 5] == pix(119, 5));
    gd_free(im);
    check_err(gd_idx_read_images_first(p, 0, &im, &n, &r, &c, &err), GD_EINVAL, &err, p, "0 images");
    CHECK(im == NULL);

    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_MNIST);
    snprintf(o.dir, sizeof o.dir, "%s", d);
    o.n_val = 20;
    gd_dataset ds;
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    CHECK(ds.n == 150 && ds.h == 28 && ds.w == 28 && ds.n_components == 10 && ds.n_classes == 10);
    gd_split s;
    CHECK_OK(gd_dataset_split(&ds, "train", &s, &err), &err);
    CHECK(s.start == 0 && s.count == 100);
    CHECK_OK(gd_dataset_split(&ds, "validation", &s, &err), &err);
    CHECK(s.start == 100 && s.count == 20);
    CHECK_OK(gd_dataset_split(&ds, "test", &s, &err), &err);
    CHECK(s.start == 120 && s.count == 30);
    CHECK(gd_dataset_split(&ds, "bogus", &s, &err) == GD_EINVAL && strstr(err.msg, "train, validation, test"));
    int ok = 1;
    for (int64_t i = 0; i < ds.n; i++) {
        int t = i >= 120;
        int64_t j = t ? i - 120 : i;
        int cls = (int)((j + t) % 10), ones = 0;
        ok &= ds.classes[i] == cls && ds.labels[i * 10 + cls] == 1;
        for (int k = 0; k < 10; k++) ones += ds.labels[i * 10 + k];
        ok &= ones == 1;
        for (int k = 0; k < 784; k += 97) ok &= ds.images[i * 784 + k] == pix(j + t * 1000, k) / 255.0f;
    }
    CHECK(ok);
    CHECK(strstr(ds.source, "sha256:") != NULL);
    gd_dataset_free(&ds);
    /* first-n limits */
    o.max_train = 50;
    o.max_test = 10;
    o.binarize = 1;
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    /* train = the first 50, validation = still the last 20 of the file, test = the first 10 */
    CHECK(ds.n == 80 && ds.splits[0].count == 50 && ds.splits[1].start == 50 && ds.splits[1].count == 20 &&
          ds.splits[2].start == 70 && ds.splits[2].count == 10);
    CHECK(ds.images[49 * 784 + 5] == pix(49, 5) / 255.0f || ds.images[49 * 784 + 5] == 0.0f ||
          ds.images[49 * 784 + 5] == 1.0f);
    CHECK(ds.classes[50] == 100 % 10 && ds.classes[69] == 119 % 10 && ds.classes[70] == 1);
    int bin = 1;
    for (int64_t i = 0; i < ds.n * 784; i++) bin &= ds.images[i] == 0.0f || ds.images[i] == 1.0f;
    CHECK(bin);
    gd_dataset_free(&ds);
    o.n_val = 120; /* all of the training images */
    CHECK(gd_dataset_load(&o, &ds, NULL, &err) == GD_EINVAL && ds.images == NULL);
}

static void test_bad(void) {
    gd_error err;
    uint8_t* im = NULL;
    uint8_t* lb = NULL;
    int64_t n;
    int r, c;
    char d[700], p[800], q[800];
    snprintf(d, sizeof d, "%s/fake0", dir);
    /* truncated raw file */
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", d);
    snprintf(q, sizeof q, "%s/trunc-images", dir);
    {
        FILE* f = fopen(p, "rb");
        static uint8_t buf[120 * 784 + 16];
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(got == sizeof buf);
        write_bytes(q, buf, got - 100);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
        CHECK(im == NULL);
        /* a prefix read still checks the whole file's size against its header */
        check_err(gd_idx_read_images_first(q, 2, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
        CHECK(im == NULL);
        /* too long */
        write_bytes(q, buf, got);
        FILE* g = fopen(q, "ab");
        fputc(0, g);
        fclose(g);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "too long");
        /* header only */
        write_bytes(q, buf, 10);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
        /* truncated gzip: compress all but cut the compressed stream in half */
        gzFile z = gzopen(q, "wb");
        gzwrite(z, buf, (unsigned)got);
        gzclose(z);
        struct stat st;
        stat(q, &st);
        CHECK(truncate(q, st.st_size / 2) == 0);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
        /* a complete gzip stream whose content is short */
        z = gzopen(q, "wb");
        gzwrite(z, buf, (unsigned)got - 784);
        gzclose(z);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
        /* gzip content too long */
        z = gzopen(q, "wb");
        gzwrite(z, buf, (unsigned)got);
        gzwrite(z, buf, 5);
        gzclose(z);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "too long");
    }
    /* wrong magic: a label file read as images and the other way round, and garbage */
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", d);
    check_err(gd_idx_read_images(p, &im, &n, &r, &c, &err), GD_EFORMAT, &err, p, "this is a label file");
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", d);
    check_err(gd_idx_read_labels(p, 10, &lb, &n, &err), GD_EFORMAT, &err, p, "this is an image file");
    write_bytes(q, "GIF89a-not-an-idx-file", 22);
    check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "wrong magic number");
    /* impossible headers: 2^31 images, zero rows; a huge but legal count in a tiny file (must not allocate) */
    uint8_t h[16 + 784] = {0, 0, 8, 3, 0x80, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    write_bytes(q, h, sizeof h);
    check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "impossible header");
    h[4] = 0, h[5] = 0x98, h[6] = 0x96, h[7] = 0x80; /* 10,000,000 */
    write_bytes(q, h, sizeof h);
    check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
    {
        gzFile z = gzopen(q, "wb");
        gzwrite(z, h, sizeof h);
        gzclose(z);
        check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "truncated");
    }
    h[5] = h[6] = 0, h[7] = 1, h[11] = 0; /* 1 image of 0 x 28 */
    write_bytes(q, h, 16);
    check_err(gd_idx_read_images(q, &im, &n, &r, &c, &err), GD_EFORMAT, &err, q, "impossible header");
    CHECK(im == NULL);
    /* label out of range */
    uint8_t lab[8 + 5] = {0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 10, 4};
    write_bytes(q, lab, sizeof lab);
    check_err(gd_idx_read_labels(q, 10, &lb, &n, &err), GD_EFORMAT, &err, q, "label 10 of item 3");
    CHECK(lb == NULL);
    lab[11] = 9;
    write_bytes(q, lab, sizeof lab);
    CHECK_OK(gd_idx_read_labels(q, 10, &lb, &n, &err), &err);
    CHECK(n == 5 && lb[3] == 9);
    gd_free(lb);
    /* missing file */
    check_err(gd_idx_read_labels("/nonexistent/labels", 10, &lb, &n, &err), GD_EIO, &err, "/nonexistent/labels",
              "cannot open");

    /* through the dataset loader: count mismatch, label out of range, missing files */
    char e[700];
    snprintf(e, sizeof e, "%s/mismatch", dir);
    write_fake(e, 40, 10, 0);
    uint8_t lb39[39] = {0};
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", e);
    CHECK_OK(gd_idx_write(p, 0, NULL, lb39, 39, 0, 0, &err), &err);
    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_MNIST);
    o.n_val = 5;
    snprintf(o.dir, sizeof o.dir, "%s", e);
    gd_dataset ds;
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, p, "count mismatch");
    CHECK(ds.images == NULL);
    CHECK(strstr(err.hint, "gendec data fetch mnist") != NULL);
    lb39[7] = 200;
    CHECK_OK(gd_idx_write(p, 0, NULL, lb39, 39, 0, 0, &err), &err);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, p, "out of range");
    snprintf(o.dir, sizeof o.dir, "%s/empty", dir);
    mkdir(o.dir, 0755);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EIO, &err, "empty/train-images-idx3-ubyte", "missing MNIST");
    CHECK(strstr(err.hint, "gendec data fetch mnist") != NULL);
    /* Fashion-MNIST's hint names the Debian package */
    gd_data_opts_default(&o, GD_DATA_FASHION_MNIST);
    snprintf(o.dir, sizeof o.dir, "%s/empty", dir);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EIO, &err, "empty/train-images-idx3-ubyte", "missing Fashion");
    CHECK(strstr(err.hint, "dataset-fashion-mnist") != NULL);
    /* the root layout: <root>/mnist */
    gd_data_opts_default(&o, GD_DATA_MNIST);
    snprintf(o.root, sizeof o.root, "%s/nowhere", dir);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EIO, &err, "nowhere/mnist/train-images-idx3-ubyte", "missing");
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    test_roundtrip(0);
    test_roundtrip(1);
    test_bad();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return gd_test_done("test_idx");
}
