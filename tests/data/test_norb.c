/* smallNORB: the binary matrix format written by this test in exactly the official layout (little-endian
 * magic, ndim, at least 3 dims, data; raw and gzip), the dataset built from the two file sets (view choice,
 * area-averaged downscale, 5 components), and bad input. */
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "gd_test.h"
#include "gendec/data.h"

static char dir[600];
static const char* TR = "smallnorb-5x46789x9x18x6x2x96x96-training";
static const char* TE = "smallnorb-5x01235x9x18x6x2x96x96-testing";

static uint8_t px(int64_t i, int view, int y, int x) { return (uint8_t)((i * 31 + view * 101 + y * 3 + x * 5) % 256); }

/* Writes the dat and cat files of one set with n pairs; categories (i + off) % 5. */
static void write_set(const char* d, const char* stem, int64_t n, int off, int gz) {
    gd_error err;
    uint8_t* dat = malloc((size_t)n * 2 * 96 * 96);
    int32_t* cat = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        for (int v = 0; v < 2; v++)
            for (int y = 0; y < 96; y++)
                for (int x = 0; x < 96; x++) dat[((i * 2 + v) * 96 + y) * 96 + x] = px(i + off * 100, v, y, x);
        cat[i] = (int32_t)((i + off) % 5);
    }
    char p[800], tmp[800];
    int64_t dd[4] = {n, 2, 96, 96}, dc[1] = {n};
    snprintf(p, sizeof p, "%s/%s-dat.mat", d, stem);
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_BYTE, dat, 4, dd, &err), &err);
    snprintf(tmp, sizeof tmp, "%s/%s-cat.mat", d, stem);
    CHECK_OK(gd_norb_write_matrix(tmp, GD_NORB_MAGIC_INT, cat, 1, dc, &err), &err);
    if (gz) /* gzip the dat file as the official downloads are */
        for (int k = 0; k < 2; k++) {
            const char* src = k ? tmp : p;
            FILE* f = fopen(src, "rb");
            static uint8_t buf[1 << 20];
            char gzp[820];
            snprintf(gzp, sizeof gzp, "%s.gz", src);
            gzFile z = gzopen(gzp, "wb");
            size_t got;
            while ((got = fread(buf, 1, sizeof buf, f)) > 0) gzwrite(z, buf, (unsigned)got);
            fclose(f);
            gzclose(z);
            remove(src);
        }
    free(dat);
    free(cat);
}

static void check_err(gd_status got, gd_status want, const gd_error* e, const char* file, const char* what) {
    char buf[2600];
    gd_error_format(e, buf, sizeof buf);
    CHECK_MSG(got == want, "status %d, want %d (%s)", got, want, buf);
    CHECK_MSG(strstr(e->file, file) != NULL, "error file '%s' should name '%s'", e->file, file);
    CHECK_MSG(strstr(buf, what) != NULL, "error '%s' should say '%s'", buf, what);
}

static void test_matrix(void) {
    gd_error err;
    char p[700];
    snprintf(p, sizeof p, "%s/m.mat", dir);
    /* the exact bytes of a 1-D int matrix: magic, ndim 1, three dims (n, 1, 1), data */
    int32_t v[3] = {4, -1, 70000};
    int64_t d1[1] = {3};
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_INT, v, 1, d1, &err), &err);
    FILE* f = fopen(p, "rb");
    uint8_t b[64];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    const uint8_t want[32] = {0x54, 0x4C, 0x3D, 0x1E, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                              4,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0x70, 0x11, 0x01, 0};
    CHECK(n == 32 && !memcmp(b, want, 32));
    void* data;
    int nd;
    int64_t dims[8];
    CHECK_OK(gd_norb_read_matrix(p, GD_NORB_MAGIC_INT, &data, &nd, dims, &err), &err);
    CHECK(nd == 1 && dims[0] == 3 && ((int32_t*)data)[1] == -1 && ((int32_t*)data)[2] == 70000);
    gd_free(data);
    /* wrong magic (asking for a byte matrix) */
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p,
              "other matrix type");
    /* a 5-D byte matrix (more than 3 dims stored) */
    uint8_t small[2 * 3 * 1 * 2 * 2];
    for (int i = 0; i < 24; i++) small[i] = (uint8_t)i;
    int64_t d5[5] = {2, 3, 1, 2, 2};
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_BYTE, small, 5, d5, &err), &err);
    CHECK_OK(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), &err);
    CHECK(nd == 5 && dims[1] == 3 && dims[4] == 2 && ((uint8_t*)data)[23] == 23);
    gd_free(data);
    /* truncated / too long / impossible header */
    CHECK(truncate(p, 8 + 5 * 4 + 20) == 0);
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p, "truncated");
    CHECK(truncate(p, 8 + 5 * 4 + 30) == 0);
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p, "too long");
    uint8_t hdr[20] = {0x55, 0x4C, 0x3D, 0x1E, 9, 0, 0, 0};
    f = fopen(p, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    fclose(f);
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p, "9 dimensions");
    uint8_t big[8 + 16 + 8] = {0x55, 0x4C, 0x3D, 0x1E, 4, 0, 0, 0, 0x80, 0x96, 0x98, 0, 2, 0, 0, 0, 96, 0, 0, 0, 96};
    f = fopen(p, "wb");
    fwrite(big, 1, sizeof big, f);
    fclose(f);
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p, "truncated");
    big[11] = 0x7f; /* 2^31-ish pairs */
    f = fopen(p, "wb");
    fwrite(big, 1, sizeof big, f);
    fclose(f);
    check_err(gd_norb_read_matrix(p, GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EFORMAT, &err, p,
              "impossible header");
    check_err(gd_norb_read_matrix("/nonexistent/x.mat", GD_NORB_MAGIC_BYTE, &data, &nd, dims, &err), GD_EIO, &err,
              "/nonexistent/x.mat", "cannot open");
    CHECK(strstr(err.hint, "cs.nyu.edu/~ylclab/data/norb-v1.0-small") != NULL);
}

static void test_downscale(void) {
    uint8_t in[4 * 6];
    for (int i = 0; i < 24; i++) in[i] = (uint8_t)(i * 10);
    float out[2 * 3], out2[2 * 2];
    gd_area_downscale(in, 4, 6, out, 2, 3); /* 2x2 blocks */
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            float want = (in[(2 * y) * 6 + 2 * x] + in[(2 * y) * 6 + 2 * x + 1] + in[(2 * y + 1) * 6 + 2 * x] +
                          in[(2 * y + 1) * 6 + 2 * x + 1]) / 4.0f / 255.0f;
            CHECK_NEAR(out[y * 3 + x], want, 1e-6);
        }
    gd_area_downscale(in, 4, 6, out2, 2, 2); /* 6 -> 2 columns: 3-wide blocks */
    CHECK_NEAR(out2[0], (0 + 10 + 20 + 60 + 70 + 80) / 6.0 / 255.0, 1e-6);
    /* a fractional ratio keeps the mean */
    float o3[3 * 4];
    gd_area_downscale(in, 4, 6, o3, 3, 4);
    double m = 0, mi = 0;
    for (int i = 0; i < 12; i++) m += o3[i] / 12.0;
    for (int i = 0; i < 24; i++) mi += in[i] / 255.0 / 24.0;
    CHECK_NEAR(m, mi, 1e-5);
}

static void test_dataset(int gz) {
    char d[700];
    snprintf(d, sizeof d, "%s/norb%d", dir, gz);
    mkdir(d, 0755);
    write_set(d, TR, 12, 0, gz);
    write_set(d, TE, 7, 1, gz);
    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_SMALLNORB);
    snprintf(o.dir, sizeof o.dir, "%s", d);
    o.n_val = 2;
    o.norb.view = gz; /* exercise both cameras */
    gd_dataset ds;
    gd_error err;
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    CHECK(ds.n == 19 && ds.h == 48 && ds.w == 48 && ds.n_components == 5 && ds.n_classes == 5);
    CHECK(!strcmp(ds.component_names[2], "airplane") && !strcmp(ds.component_names[4], "car"));
    CHECK(ds.splits[0].count == 10 && ds.splits[1].start == 10 && ds.splits[2].start == 12 && ds.splits[2].count == 7);
    int ok = 1;
    for (int64_t i = 0; i < ds.n; i++) {
        int t = i >= 12;
        int64_t j = t ? i - 12 : i;
        int cat = (int)((j + t) % 5);
        ok &= ds.classes[i] == cat && ds.labels[i * 5 + cat] == 1;
        for (int y = 0; y < 48; y += 13)
            for (int x = 0; x < 48; x += 11) {
                int64_t s = j + t * 100;
                float want = (px(s, o.norb.view, 2 * y, 2 * x) + px(s, o.norb.view, 2 * y, 2 * x + 1) +
                              px(s, o.norb.view, 2 * y + 1, 2 * x) + px(s, o.norb.view, 2 * y + 1, 2 * x + 1)) /
                             4.0f / 255.0f;
                ok &= fabsf(ds.images[(i * 48 + y) * 48 + x] - want) < 1e-5f;
            }
    }
    CHECK(ok);
    gd_dataset_free(&ds);
    o.max_train = 4, o.max_test = 3; /* train = file 0..3, validation = file 10..11, test = file 0..2 */
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    CHECK(ds.n == 9 && ds.splits[1].start == 4 && ds.splits[2].start == 6 && ds.classes[3] == 3 &&
          ds.classes[4] == 0 && ds.classes[5] == 1 && ds.classes[6] == 1);
    gd_dataset_free(&ds);
    o.max_train = o.max_test = 0;
    o.norb.size = 32; /* 96 -> 32: 3x3 blocks */
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    CHECK(ds.h == 32);
    gd_dataset_free(&ds);
}

static void test_bad_sets(void) {
    char d[700], p[800];
    snprintf(d, sizeof d, "%s/badnorb", dir);
    mkdir(d, 0755);
    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_SMALLNORB);
    snprintf(o.dir, sizeof o.dir, "%s", d);
    o.n_val = 1;
    gd_dataset ds;
    gd_error err;
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EIO, &err, "training-cat.mat", "missing smallNORB");
    CHECK(strstr(err.hint, "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/") != NULL);
    write_set(d, TR, 6, 0, 0);
    write_set(d, TE, 4, 0, 0);
    /* category out of range */
    int32_t cat[4] = {0, 1, 5, 2};
    int64_t dc[1] = {4};
    snprintf(p, sizeof p, "%s/%s-cat.mat", d, TE);
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_INT, cat, 1, dc, &err), &err);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, p, "category 5 of item 2");
    CHECK(ds.images == NULL);
    /* count mismatch */
    int32_t cat3[3] = {0, 1, 2};
    dc[0] = 3;
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_INT, cat3, 1, dc, &err), &err);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, p, "count mismatch");
    /* a dat file that is not stereo pairs */
    write_set(d, TE, 4, 0, 0);
    snprintf(p, sizeof p, "%s/%s-dat.mat", d, TE);
    uint8_t mono[4 * 96 * 96] = {0};
    int64_t dm[3] = {4, 96, 96};
    CHECK_OK(gd_norb_write_matrix(p, GD_NORB_MAGIC_BYTE, mono, 3, dm, &err), &err);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, p, "stereo pairs");
    /* the dat and cat files swapped (wrong magic) */
    char c[800];
    snprintf(c, sizeof c, "%s/%s-cat.mat", d, TE);
    rename(c, p);
    CHECK_OK(gd_norb_write_matrix(c, GD_NORB_MAGIC_BYTE, mono, 3, dm, &err), &err);
    check_err(gd_dataset_load(&o, &ds, NULL, &err), GD_EFORMAT, &err, "testing-", "wrong magic");
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    test_matrix();
    test_downscale();
    test_dataset(0);
    test_dataset(1);
    test_bad_sets();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return gd_test_done("test_norb");
}
