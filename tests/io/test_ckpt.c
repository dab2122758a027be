/* Checkpoints: save/load round-trip, refusal of another architecture/kind/size, truncated files, extra datasets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gd_test.h"
#include "gendec/io.h"

static char path[600];

/* Copies src to dst byte for byte. */
static int copy_file(const char* src, const char* dst) {
    FILE* in = fopen(src, "rb");
    FILE* out = fopen(dst, "wb");
    if (!in || !out) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out);
}

int main(void) {
    snprintf(path, sizeof path, "%s/ckpt.h5", gd_test_tmpdir());
    gd_error err;
    enum { NP = 10007, NM = 10007 };
    float* params = malloc(NP * sizeof *params);
    float* adam_m = malloc(NM * sizeof *adam_m);
    for (int i = 0; i < NP; i++) params[i] = (float)i * 0.001f - 3.0f;
    for (int i = 0; i < NM; i++) adam_m[i] = (float)(i % 13) * 1e-7f;
    gd_ckpt_array arrays[2] = {{"params", params, NP}, {"adam_m", adam_m, NM}};
    gd_ckpt_scalar scalars[3] = {{"step", 1234}, {"rng_counter", UINT64_MAX - 1}, {"epoch", (uint64_t)-7}};
    gd_ckpt ck = {.kind = NULL, .arch = "cvae mlp n=10 k=8", .config_yaml = "model: {n: 10}\n", .arrays = arrays,
                  .n_arrays = 2, .scalars = scalars, .n_scalars = 3};
    CHECK_OK(gd_ckpt_save(path, &ck, &err), &err);

    /* Round-trip into fresh buffers. */
    float* p2 = calloc(NP, sizeof *p2);
    float* m2 = calloc(NM, sizeof *m2);
    gd_ckpt_array a2[2] = {{"params", p2, NP}, {"adam_m", m2, NM}};
    gd_ckpt_scalar s2[3] = {{"step", 0}, {"rng_counter", 0}, {"epoch", 0}};
    gd_ckpt in = {.arch = "cvae mlp n=10 k=8", .arrays = a2, .n_arrays = 2, .scalars = s2, .n_scalars = 3};
    CHECK_OK(gd_ckpt_load(path, &in, &err), &err);
    CHECK(memcmp(p2, params, NP * sizeof *p2) == 0 && memcmp(m2, adam_m, NM * sizeof *m2) == 0);
    CHECK(s2[0].value == 1234 && s2[1].value == UINT64_MAX - 1 && (int64_t)s2[2].value == -7);

    /* The architecture and config can be read before building the model. */
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_open(path, "checkpoint", MPI_COMM_NULL, &f, &err), &err);
    char arch[128] = "";
    char* yaml = NULL;
    if (f) {
        CHECK_OK(gd_ckpt_arch(f, arch, sizeof arch, &err), &err);
        CHECK_OK(gd_h5_config_yaml(f, &yaml, &err), &err);
    }
    CHECK(strcmp(arch, "cvae mlp n=10 k=8") == 0 && yaml && strcmp(yaml, "model: {n: 10}\n") == 0);
    free(yaml);
    gd_h5_close(f);

    /* Another architecture: GD_ESTATE naming both. */
    in.arch = "cvae conv n=10 k=8";
    CHECK(gd_ckpt_load(path, &in, &err) == GD_ESTATE);
    CHECK(strstr(err.msg, "cvae mlp n=10 k=8") && strstr(err.msg, "cvae conv n=10 k=8") && strstr(err.file, path));
    in.arch = "cvae mlp n=10 k=8";
    /* Another size: GD_EFORMAT naming the array. */
    a2[1].n = NM - 1;
    CHECK(gd_ckpt_load(path, &in, &err) == GD_EFORMAT && strstr(err.msg, "ckpt/adam_m"));
    a2[1].n = NM;
    /* A missing array or scalar. */
    gd_ckpt_scalar s3[1] = {{"nope", 0}};
    gd_ckpt in3 = {.arch = "cvae mlp n=10 k=8", .scalars = s3, .n_scalars = 1};
    CHECK(gd_ckpt_load(path, &in3, &err) == GD_EFORMAT && strstr(err.msg, "nope"));
    /* Another kind. */
    in.kind = "model";
    CHECK(gd_ckpt_load(path, &in, &err) == GD_ESTATE && strstr(err.msg, "checkpoint"));
    in.kind = NULL;

    /* A stage file with a checkpoint plus its own datasets (the trainer's model.h5). */
    char mpath[700];
    snprintf(mpath, sizeof mpath, "%s/model.h5", gd_test_tmpdir());
    ck.kind = "model";
    CHECK_OK(gd_h5_create(mpath, "model", ck.config_yaml, MPI_COMM_NULL, &f, &err), &err);
    if (f) {
        CHECK_OK(gd_ckpt_write(f, &ck, &err), &err);
        double loss[3] = {3, 2, 1};
        size_t d[1] = {3};
        CHECK_OK(gd_h5_write(f, "train/loss", GD_F64, 1, d, loss, 0, &err), &err);
        CHECK_OK(gd_h5_commit(f, &err), &err);
    }
    in.kind = "model";
    memset(p2, 0, NP * sizeof *p2);
    CHECK_OK(gd_ckpt_load(mpath, &in, &err), &err);
    CHECK(memcmp(p2, params, NP * sizeof *p2) == 0);
    in.kind = NULL;
    /* A non-checkpoint file of the right kind. */
    CHECK_OK(gd_h5_create(mpath, "checkpoint", "", MPI_COMM_NULL, &f, &err), &err);
    if (f) CHECK_OK(gd_h5_commit(f, &err), &err);
    CHECK(gd_ckpt_load(mpath, &in, &err) == GD_EFORMAT && strstr(err.msg, "not a gendec checkpoint"));

    /* Truncated copies (truncate(2)) at many lengths: always GD_EFORMAT, never a crash; the original loads. */
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    char cut[700];
    snprintf(cut, sizeof cut, "%s/cut.h5", gd_test_tmpdir());
    int bad = 0, tries = 0;
    for (off_t len = sb.st_size - 1; len >= 0; len = len > 64 ? len * 7 / 8 : len - 9) {
        if (copy_file(path, cut) != 0 || truncate(cut, len) != 0) {
            bad++;
            continue;
        }
        tries++;
        gd_status st = gd_ckpt_load(cut, &in, &err);
        if (st != GD_EFORMAT) {
            bad++;
            fprintf(stderr, "truncated to %ld bytes: status %d (%s)\n", (long)len, (int)st, err.msg);
        }
    }
    CHECK(tries > 20 && bad == 0);
    CHECK_OK(gd_ckpt_load(path, &in, &err), &err);
    /* Loading never leaves a temporary behind, saving over an existing checkpoint replaces it. */
    params[0] = 42.0f;
    CHECK_OK(gd_ckpt_save(path, &ck, &err), &err);
    in.kind = "model";
    CHECK_OK(gd_ckpt_load(path, &in, &err), &err);
    CHECK(p2[0] == 42.0f);

    free(params);
    free(adam_m);
    free(p2);
    free(m2);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gd_test_tmpdir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gd_test_tmpdir());
    return gd_test_done("test_ckpt");
}
