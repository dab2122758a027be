/* HDF5 datasets and attributes: round-trips of every type and rank, shape/type checks, limits, listing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/io.h"
#include "gendec/version.h"

static char path[600];

/* Fills buf (n elements of type t) with a pattern that depends on seed and index. */
static void fill(void* buf, gd_dtype t, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) {
        double v = (double)((i * 7919u + (size_t)seed * 31u) % 1000u) - 500.0;
        switch (t) {
        case GD_F32: ((float*)buf)[i] = (float)(v / 7.0); break;
        case GD_F64: ((double*)buf)[i] = v / 7.0 + 1e-12 * (double)i; break;
        case GD_I32: ((int32_t*)buf)[i] = (int32_t)(v * 1000003.0); break;
        case GD_I64: ((int64_t*)buf)[i] = (int64_t)v * 4000000000LL; break;
        case GD_U8: ((uint8_t*)buf)[i] = (uint8_t)((i * 37u + (size_t)seed) & 255u); break;
        case GD_U64: ((uint64_t*)buf)[i] = UINT64_MAX - (uint64_t)i * 3u - (uint64_t)seed; break;
        }
    }
}

static void test_roundtrip(void) {
    gd_error err;
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_create(path, "eval", "seed: 1\n", MPI_COMM_NULL, &f, &err), &err);
    if (!f) return;
    const gd_dtype types[] = {GD_F32, GD_F64, GD_I32, GD_I64, GD_U8, GD_U64};
    const size_t shapes[4][3] = {{0, 0, 0}, {17, 0, 0}, {5, 6, 0}, {3, 4, 5}};
    char name[128];
    for (int ti = 0; ti < 6; ti++)
        for (int r = 0; r < 4; r++) {
            size_t n = 1;
            for (int i = 0; i < r; i++) n *= shapes[r][i];
            void* buf = malloc(n * 8);
            fill(buf, types[ti], n, ti * 10 + r);
            snprintf(name, sizeof name, "g%d/sub/%s_r%d", ti, gd_dtype_name(types[ti]), r);
            CHECK_OK(gd_h5_write(f, name, types[ti], r, shapes[r], buf, (r == 3) ? 4 : 0, &err), &err);
            free(buf);
        }
    /* A large compressible array, chunked + deflated. */
    size_t big[2] = {4096, 300};
    float* z = calloc(big[0] * big[1], sizeof *z);
    for (size_t i = 0; i < big[0] * big[1]; i += 97) z[i] = (float)i;
    CHECK_OK(gd_h5_write(f, "big/z", GD_F32, 2, big, z, 6, &err), &err);
    /* Empty dataset. */
    size_t zero[2] = {0, 3};
    CHECK_OK(gd_h5_write(f, "empty", GD_F32, 2, zero, NULL, 0, &err), &err);
    /* Writing an existing dataset again is an error naming it. */
    size_t one[1] = {1};
    float x = 1;
    CHECK(gd_h5_write(f, "empty", GD_F32, 1, one, &x, 0, &err) == GD_EINVAL && strstr(err.msg, "empty"));
    /* Rows written in pieces (serial). */
    size_t rd[2] = {10, 3};
    int32_t rows[30];
    for (int i = 0; i < 30; i++) rows[i] = i;
    CHECK_OK(gd_h5_write_rows(f, "res/rows", GD_I32, 2, rd, 0, 4, rows, &err), &err);
    CHECK_OK(gd_h5_write_rows(f, "res/rows", GD_I32, 2, rd, 7, 3, rows + 21, &err), &err);
    CHECK(gd_h5_last_write_collective(f) == 0);
    size_t bad[2] = {10, 4};
    CHECK(gd_h5_write_rows(f, "res/rows", GD_I32, 2, bad, 0, 1, rows, &err) == GD_EFORMAT);
    CHECK(gd_h5_write_rows(f, "res/rows", GD_I32, 2, rd, 8, 3, rows, &err) == GD_EINVAL);
    /* Attributes on root, group and dataset. */
    CHECK_OK(gd_h5_attr_set_str(f, "g0", "units", "pixels²", &err), &err);
    CHECK_OK(gd_h5_attr_set_i64(f, "g0/sub/float32_r2", "count", -42, &err), &err);
    CHECK_OK(gd_h5_attr_set_u64(f, "/", "rng_word", UINT64_MAX - 5, &err), &err);
    CHECK_OK(gd_h5_attr_set_f64(f, "newgroup/deep", "eps", 0.3, &err), &err);
    double eps[4] = {0, 0.1, 0.2, 0.3};
    CHECK_OK(gd_h5_attr_set_f64s(f, "", "eps_grid", eps, 4, &err), &err);
    CHECK_OK(gd_h5_attr_set_i64(f, "/", "replaced", 1, &err), &err);
    CHECK_OK(gd_h5_attr_set_str(f, "/", "replaced", "now a string", &err), &err);
    free(z);
    CHECK_OK(gd_h5_commit(f, &err), &err);

    CHECK_OK(gd_h5_open(path, "eval", MPI_COMM_NULL, &f, &err), &err);
    if (!f) return;
    for (int ti = 0; ti < 6; ti++)
        for (int r = 0; r < 4; r++) {
            size_t n = 1;
            for (int i = 0; i < r; i++) n *= shapes[r][i];
            void* want = malloc(n * 8);
            void* got = malloc(n * 8);
            fill(want, types[ti], n, ti * 10 + r);
            memset(got, 0xAB, n * 8);
            snprintf(name, sizeof name, "g%d/sub/%s_r%d", ti, gd_dtype_name(types[ti]), r);
            CHECK_OK(gd_h5_read(f, name, types[ti], r, shapes[r], got, &err), &err);
            CHECK_MSG(memcmp(want, got, n * gd_dtype_size(types[ti])) == 0, "%s differs", name);
            gd_dtype t;
            int rank;
            size_t dims[GD_H5_MAX_RANK];
            CHECK_OK(gd_h5_info(f, name, &t, &rank, dims, &err), &err);
            CHECK(t == types[ti] && rank == r);
            for (int i = 0; i < r; i++) CHECK(dims[i] == shapes[r][i]);
            free(want);
            free(got);
        }
    /* Wrong type / rank / shape: GD_EFORMAT naming the file and dataset. */
    float fbuf[60];
    CHECK(gd_h5_read(f, "g1/sub/float64_r2", GD_F32, 2, shapes[2], fbuf, &err) == GD_EFORMAT);
    CHECK(strstr(err.msg, "g1/sub/float64_r2") && !strcmp(err.file, path) && strstr(err.msg, "float64 (5, 6)"));
    CHECK(gd_h5_read(f, "g0/sub/float32_r2", GD_F32, 1, shapes[1], fbuf, &err) == GD_EFORMAT);
    size_t wrong[2] = {6, 5};
    CHECK(gd_h5_read(f, "g0/sub/float32_r2", GD_F32, 2, wrong, fbuf, &err) == GD_EFORMAT);
    CHECK(strstr(err.msg, "expected float32 (6, 5)") != NULL);
    CHECK(gd_h5_read(f, "no/such/thing", GD_F32, 1, shapes[1], fbuf, &err) == GD_EFORMAT &&
          strstr(err.msg, "no/such/thing"));
    /* read_alloc with limits checked before allocating. */
    void* p = NULL;
    size_t dims[2];
    CHECK_OK(gd_h5_read_alloc(f, "big/z", GD_F32, 2, dims, 1u << 24, &p, &err), &err);
    CHECK(p && dims[0] == 4096 && dims[1] == 300);
    if (p) {
        int same = 1;
        for (size_t i = 0; i < dims[0] * dims[1]; i++) same &= ((float*)p)[i] == (i % 97 ? 0.0f : (float)i);
        CHECK(same);
    }
    gd_free(p);
    CHECK(gd_h5_read_alloc(f, "big/z", GD_F32, 2, dims, 1000, &p, &err) == GD_EFORMAT && p == NULL);
    CHECK(strstr(err.msg, "limit") != NULL);
    CHECK_OK(gd_h5_read_alloc(f, "empty", GD_F32, 2, dims, 10, &p, &err), &err);
    CHECK(p == NULL && dims[0] == 0 && dims[1] == 3);
    /* Rows: unwritten rows read as 0, written ones as given. */
    int32_t back[30];
    CHECK_OK(gd_h5_read(f, "res/rows", GD_I32, 2, rd, back, &err), &err);
    int ok = 1;
    for (int i = 0; i < 30; i++) ok &= back[i] == (i < 12 || i >= 21 ? i : 0);
    CHECK(ok);
    int32_t part[6];
    size_t anyrows[2] = {0, 3};
    CHECK_OK(gd_h5_read_rows(f, "res/rows", GD_I32, 2, anyrows, 8, 2, part, &err), &err);
    CHECK(part[0] == 24 && part[5] == 29);
    CHECK(gd_h5_read_rows(f, "res/rows", GD_I32, 2, anyrows, 9, 2, part, &err) == GD_EFORMAT);
    /* Attributes back. */
    char s[64];
    int64_t i64;
    uint64_t u64;
    double d;
    CHECK_OK(gd_h5_attr_get_str(f, "g0", "units", s, sizeof s, &err), &err);
    CHECK(strcmp(s, "pixels²") == 0);
    CHECK(gd_h5_attr_get_str(f, "g0", "units", s, 4, &err) == GD_EFORMAT);
    CHECK_OK(gd_h5_attr_get_i64(f, "g0/sub/float32_r2", "count", &i64, &err), &err);
    CHECK(i64 == -42);
    CHECK(gd_h5_attr_get_u64(f, "g0/sub/float32_r2", "count", &u64, &err) == GD_EFORMAT);
    CHECK_OK(gd_h5_attr_get_u64(f, "/", "rng_word", &u64, &err), &err);
    CHECK(u64 == UINT64_MAX - 5);
    CHECK(gd_h5_attr_get_i64(f, "/", "rng_word", &i64, &err) == GD_EFORMAT);
    CHECK_OK(gd_h5_attr_get_f64(f, "newgroup/deep", "eps", &d, &err), &err);
    CHECK(d == 0.3);
    CHECK_OK(gd_h5_attr_get_f64(f, "g0/sub/float32_r2", "count", &d, &err), &err);
    CHECK(d == -42.0);
    double eb[4];
    CHECK_OK(gd_h5_attr_get_f64s(f, "/", "eps_grid", eb, 4, &err), &err);
    CHECK(eb[3] == 0.3 && eb[1] == 0.1);
    CHECK(gd_h5_attr_get_f64s(f, "/", "eps_grid", eb, 3, &err) == GD_EFORMAT);
    CHECK(gd_h5_attr_get_str(f, "/", "world_size", s, sizeof s, &err) == GD_EFORMAT);
    CHECK(gd_h5_attr_get_i64(f, "/", "nope", &i64, &err) == GD_EFORMAT && strstr(err.msg, "nope"));
    CHECK_OK(gd_h5_attr_get_str(f, "/", "replaced", s, sizeof s, &err), &err);
    CHECK(strcmp(s, "now a string") == 0);
    CHECK(gd_h5_attr_exists(f, "/", "kind") == 1 && gd_h5_attr_exists(f, "/", "nope") == 0 &&
          gd_h5_attr_exists(f, "no/obj", "kind") == 0);
    CHECK(gd_h5_exists(f, "g2/sub") == 1 && gd_h5_exists(f, "g2/nosub/x") == 0 && gd_h5_exists(f, "/") == 1);
    /* Reading only: attribute writes are refused. */
    CHECK(gd_h5_attr_set_i64(f, "/", "x", 1, &err) == GD_EINVAL);
    /* Listing. */
    char** names;
    size_t nn;
    CHECK_OK(gd_h5_list(f, "/", &names, &nn, &err), &err);
    CHECK(nn == 10 && strcmp(names[0], "big") == 0 && strcmp(names[nn - 1], "res") == 0);
    gd_h5_names_free(names, nn);
    CHECK_OK(gd_h5_list(f, "g3/sub", &names, &nn, &err), &err);
    CHECK(nn == 4 && strcmp(names[0], "int64_r0") == 0);
    gd_h5_names_free(names, nn);
    CHECK(gd_h5_list(f, "nothing", &names, &nn, &err) == GD_EFORMAT && nn == 0);
    /* Standard attributes. */
    gd_h5_meta m;
    CHECK_OK(gd_h5_meta_read(f, &m, &err), &err);
    CHECK(strcmp(m.kind, "eval") == 0 && strcmp(m.gendec_version, GD_VERSION) == 0);
    CHECK(strcmp(m.git_revision, GD_GIT_REVISION) == 0 && m.world_size == 1 && m.complete == 1);
    CHECK(strlen(m.created) == 20 && m.created[4] == '-' && m.created[10] == 'T' && m.created[19] == 'Z');
    char* yaml = NULL;
    CHECK_OK(gd_h5_config_yaml(f, &yaml, &err), &err);
    CHECK(yaml && strcmp(yaml, "seed: 1\n") == 0);
    free(yaml);
    gd_h5_close(f);
}

/* A config text bigger than the 64 KiB object-header limit of compact attributes. */
static void test_big_config(void) {
    size_t n = 300000;
    char* yaml = malloc(n + 1);
    for (size_t i = 0; i < n; i++) yaml[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
    yaml[n] = '\0';
    gd_error err;
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_create(path, "data", yaml, MPI_COMM_NULL, &f, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
    CHECK_OK(gd_h5_open(path, "data", MPI_COMM_NULL, &f, &err), &err);
    char* back = NULL;
    if (f) CHECK_OK(gd_h5_config_yaml(f, &back, &err), &err);
    CHECK(back && strcmp(back, yaml) == 0);
    free(back);
    gd_h5_close(f);
    free(yaml);
}

/* Writes a small sample file at p for tests/io/test_h5dump.sh (h5dump and h5py read it). */
static int write_sample(const char* p) {
    gd_error err;
    gd_h5* f = NULL;
    if (gd_h5_create(p, "eval", "experiment: sample\nseed: 7\n", MPI_COMM_NULL, &f, &err)) return 1;
    float y[6] = {0.5f, 0.25f, 0.125f, 1, 2, 3};
    size_t d2[2] = {2, 3}, d1[1] = {4};
    int64_t steps[4] = {10, 20, 30, -40};
    uint8_t img[4] = {0, 127, 128, 255};
    gd_status st = gd_h5_write(f, "per_image/y_star", GD_F32, 2, d2, y, 0, &err);
    if (!st) st = gd_h5_write(f, "per_image/steps", GD_I64, 1, d1, steps, 3, &err);
    if (!st) st = gd_h5_write(f, "images/x", GD_U8, 1, d1, img, 0, &err);
    if (!st) st = gd_h5_attr_set_str(f, "per_image", "units", "probability", &err);
    if (!st) st = gd_h5_attr_set_f64(f, "per_image/y_star", "threshold", 0.75, &err);
    if (st) {
        gd_h5_abort(f);
        return 1;
    }
    return gd_h5_commit(f, &err) ? 1 : 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "--sample") == 0) return write_sample(argv[2]);
    snprintf(path, sizeof path, "%s/out.h5", gd_test_tmpdir());
    /* HDF5 must not print: send stderr to a file and check it stays empty. */
    char errlog[700];
    snprintf(errlog, sizeof errlog, "%s/stderr.txt", gd_test_tmpdir());
    fflush(stderr);
    FILE* saved = fdopen(dup(fileno(stderr)), "w");
    if (!freopen(errlog, "w", stderr)) return 1;
    test_roundtrip();
    test_big_config();
    fflush(stderr);
    long size = ftell(stderr);
    dup2(fileno(saved), fileno(stderr));
    FILE* log = fopen(errlog, "r");
    char line[512];
    while (log && fgets(line, sizeof line, log)) fputs(line, stderr);
    if (log) fclose(log);
    fclose(saved);
    CHECK_MSG(size == 0, "%ld bytes were printed to stderr (shown above)", size);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gd_test_tmpdir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gd_test_tmpdir());
    return gd_test_done("test_h5");
}
