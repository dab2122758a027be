/* What the end-to-end tests of gendec commands in C (tests/<module>/test_cli_*.c) share: the binary ($GD_BINARY),
 * a scratch folder with the experiment file, the results root and the captured stderr, running a command line,
 * looking into its stderr, writing a checkpoint, and comparing a dataset of two HDF5 files. */
#ifndef GD_TEST_CLI_H
#define GD_TEST_CLI_H

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gd_test.h"
#include "gendec/io.h"
#include "gendec/model.h"

static char dir[600], yaml[700], results[700], cmd[8192], errfile[700];
static const char* bin;

/* Takes the binary from $GD_BINARY and names the scratch files (dir/tiny.yaml, dir/results, dir/stderr.txt).
 * Returns 0, or GD_TEST_SKIP (said on stderr) when the test does not run through ctest. */
static inline int cli_test_setup(void) {
    bin = getenv("GD_BINARY");
    if (!bin) {
        fprintf(stderr, "GD_BINARY is not set (run through ctest)\n");
        return GD_TEST_SKIP;
    }
    snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    snprintf(yaml, sizeof yaml, "%s/tiny.yaml", dir);
    snprintf(results, sizeof results, "%s/results", dir);
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", dir);
    return 0;
}

/* Writes parameters P as a model checkpoint of architecture arch to path. */
static inline void save(const char* path, const char* arch, gd_params* P) {
    gd_error err;
    gd_ckpt_array a = {"params", P->data, P->total};
    gd_ckpt ck = {.kind = "model", .arch = arch, .arrays = &a, .n_arrays = 1};
    CHECK_OK(gd_ckpt_save(path, &ck, &err), &err);
}

/* Writes an untrained c-VAE (MLP, k = 2, one hidden layer of 16) for 16 x 16 images with n components to path. */
static inline void write_cvae(const char* path, int n) {
    gd_error err;
    gd_cvae_spec sp;
    gd_cvae_spec_default(&sp, 16, 16, n);
    sp.arch = GD_CVAE_MLP;
    sp.k = 2;
    sp.n_enc = 1, sp.enc[0] = 16;
    sp.n_dec = 1, sp.dec[0] = 16;
    gd_cvae* m = NULL;
    CHECK_OK(gd_cvae_create(&sp, 1, 0, &m, &err), &err);
    CHECK_OK(gd_cvae_init_params(m, 3, &err), &err);
    char sig[1024], arch[1100];
    gd_cvae_spec_format(&sp, sig, sizeof sig);
    snprintf(arch, sizeof arch, "cvae %s", sig);
    save(path, arch, gd_cvae_params(m));
    gd_cvae_free(m);
}

/* Runs a shell command line (stderr to errfile), returns its exit code. */
static inline int run(const char* line) {
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s 2>%s >/dev/null", line, errfile);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* 1 if errfile contains s (else it is printed). */
static inline int err_has(const char* s) {
    FILE* f = fopen(errfile, "r");
    if (!f) return 0;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (!strstr(buf, s)) fprintf(stderr, "stderr was: %s\n", buf);
    return strstr(buf, s) != NULL;
}

/* Dataset name (type t, rank dimensions into dims) of the file at path in a new buffer (gd_free), or NULL. */
static inline void* read_all(const char* path, const char* name, gd_dtype t, int rank, size_t* dims) {
    gd_error err;
    gd_h5* f = NULL;
    void* out = NULL;
    if (gd_h5_open(path, NULL, MPI_COMM_NULL, &f, &err)) return NULL;
    if (gd_h5_read_alloc(f, name, t, rank, dims, 1 << 24, &out, &err)) out = NULL;
    gd_h5_close(f);
    return out;
}

/* 1 if the dataset is byte-identical in both files. */
static inline int same_ds(const char* a, const char* b, const char* name, gd_dtype t, int rank) {
    size_t da[8] = {0}, db[8] = {0};
    void* x = read_all(a, name, t, rank, da);
    void* y = read_all(b, name, t, rank, db);
    size_t n = gd_dtype_size(t);
    for (int i = 0; i < rank; i++) n *= da[i];
    int ok = x && y && !memcmp(da, db, sizeof da) && !memcmp(x, y, n);
    if (!ok) fprintf(stderr, "%s differs between %s and %s\n", name, a, b);
    gd_free(x);
    gd_free(y);
    return ok;
}

#endif
