/* Loading trained models from the files `gendec train` writes (io's checkpoint layout, see train.h). */
#include <stdio.h>
#include <string.h>

#include "gendec/io.h"
#include "gendec/model.h"
#include "model_internal.h"

gd_status gd_model_file_signature(const char* path, const char* kind, char* sig, size_t n, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(path, NULL, MPI_COMM_NULL, &f, err);
    if (st) return st;
    char arch[4096];
    st = gd_ckpt_arch(f, arch, sizeof arch, err);
    gd_h5_close(f);
    if (st) return st;
    size_t kl = strlen(kind);
    if (strncmp(arch, kind, kl) != 0 || arch[kl] != ' ') {
        const char* what = !strncmp(arch, "cvae ", 5) ? "a c-VAE" : !strncmp(arch, "cnn ", 4) ? "a CNN" : "another model";
        return gd_error_set(err, GD_ESTATE, path, 0, 0,
                            !strcmp(kind, "cnn") ? "give the file written by 'gendec train --model cnn'"
                                                 : "give the model.h5 written by 'gendec train'",
                            "the file holds %s (\"%s\"), not a %s", what, arch, !strcmp(kind, "cnn") ? "CNN" : "c-VAE");
    }
    if (strlen(arch + kl + 1) >= n)
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "%s: architecture signature too long", path);
    strcpy(sig, arch + kl + 1);
    return GD_OK;
}

gd_status gd_model_file_params(const char* path, const char* arch, gd_params* p, gd_error* err) {
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(path, NULL, MPI_COMM_NULL, &f, err);
    if (st) return st;
    gd_ckpt_array a = {"params", p->data, p->total};
    gd_ckpt ck = {.arch = arch, .arrays = &a, .n_arrays = 1};
    st = gd_ckpt_read(f, &ck, err);
    gd_h5_close(f);
    return st;
}

gd_status gd_cvae_load(const char* path, int max_batch, int max_rows, gd_cvae** out, gd_error* err) {
    *out = NULL;
    char sig[2048], arch[2100];
    gd_cvae_spec s;
    gd_status st = gd_model_file_signature(path, "cvae", sig, sizeof sig, err);
    if (st) return st;
    if ((st = gd_cvae_spec_parse(sig, &s, err))) {
        gd_error_prefix(err, "%s: ", path);
        return st;
    }
    if ((st = gd_cvae_create(&s, max_batch, max_rows, out, err))) return st;
    snprintf(arch, sizeof arch, "cvae %s", sig);
    if ((st = gd_model_file_params(path, arch, gd_cvae_params(*out), err))) {
        gd_cvae_free(*out);
        *out = NULL;
    }
    return st;
}

gd_status gd_cnn_load(const char* path, int max_batch, gd_cnn** out, gd_error* err) {
    *out = NULL;
    char sig[2048], arch[2100];
    gd_cnn_spec s;
    gd_status st = gd_model_file_signature(path, "cnn", sig, sizeof sig, err);
    if (st) return st;
    if ((st = gd_cnn_spec_parse(sig, &s, err))) {
        gd_error_prefix(err, "%s: ", path);
        return st;
    }
    if ((st = gd_cnn_create(&s, max_batch, out, err))) return st;
    snprintf(arch, sizeof arch, "cnn %s", sig);
    if ((st = gd_model_file_params(path, arch, gd_cnn_params(*out), err))) {
        gd_cnn_free(*out);
        *out = NULL;
    }
    return st;
}
