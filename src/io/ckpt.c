/* Model-agnostic checkpoints: named float arrays + named 64-bit scalars + an architecture signature. */
#include "io_internal.h"

#include <string.h>

#define CKPT_GROUP "ckpt"

/* "ckpt/<name>" into buf; GD_EINVAL for an empty or oversized name. */
static gd_status ckpt_name(char* buf, size_t n, const char* name, const char* path, gd_error* err) {
    if (!name || !name[0] || strchr(name, '/'))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "checkpoint entry names must be non-empty, without '/'");
    int w = snprintf(buf, n, CKPT_GROUP "/%s", name);
    if (w < 0 || (size_t)w >= n) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "checkpoint name too long");
    return GD_OK;
}

gd_status gd_ckpt_write(gd_h5* f, const gd_ckpt* ck, gd_error* err) {
    if (!f || !ck || !ck->arch || !ck->arch[0])
        return gd_error_set(err, GD_EINVAL, f ? gd_h5_path(f) : NULL, 0, 0, NULL,
                            "gd_ckpt_write: a file and a checkpoint with a non-empty arch are needed");
    gd_status st = gd_h5_attr_set_str(f, CKPT_GROUP, "arch", ck->arch, err);
    if (!st) st = gd_h5_attr_set_i64(f, CKPT_GROUP, "n_arrays", (int64_t)ck->n_arrays, err);
    for (size_t i = 0; !st && i < ck->n_arrays; i++) {
        char name[512];
        const gd_ckpt_array* a = &ck->arrays[i];
        if ((st = ckpt_name(name, sizeof name, a->name, gd_h5_path(f), err))) break;
        size_t dims[1] = {a->n};
        st = gd_h5_write(f, name, GD_F32, 1, dims, a->data, 0, err);
    }
    for (size_t i = 0; !st && i < ck->n_scalars; i++) {
        char name[512];
        const gd_ckpt_scalar* s = &ck->scalars[i];
        if ((st = ckpt_name(name, sizeof name, s->name, gd_h5_path(f), err))) break;
        st = gd_h5_attr_set_u64(f, CKPT_GROUP, s->name, s->value, err);
    }
    return st;
}

gd_status gd_ckpt_arch(gd_h5* f, char* buf, size_t n, gd_error* err) {
    if (!gd_h5_attr_exists(f, CKPT_GROUP, "arch"))
        return gd_error_set(err, GD_EFORMAT, gd_h5_path(f), 0, 0, "give a checkpoint written by gendec train",
                            "not a gendec checkpoint (no ckpt/arch attribute)");
    return gd_h5_attr_get_str(f, CKPT_GROUP, "arch", buf, n, err);
}

gd_status gd_ckpt_read(gd_h5* f, gd_ckpt* ck, gd_error* err) {
    if (!f || !ck || !ck->arch)
        return gd_error_set(err, GD_EINVAL, f ? gd_h5_path(f) : NULL, 0, 0, NULL,
                            "gd_ckpt_read: a file and a checkpoint with an arch are needed");
    const char* path = gd_h5_path(f);
    char arch[4096];
    gd_status st = gd_ckpt_arch(f, arch, sizeof arch, err);
    if (st) return st;
    if (strcmp(arch, ck->arch) != 0)
        return gd_error_set(err, GD_ESTATE, path, 0, 0,
                            "use a checkpoint of this model, or the configuration it was trained with",
                            "checkpoint of architecture \"%s\", expected \"%s\"", arch, ck->arch);
    for (size_t i = 0; i < ck->n_arrays; i++) {
        char name[512];
        gd_ckpt_array* a = &ck->arrays[i];
        if ((st = ckpt_name(name, sizeof name, a->name, path, err))) return st;
        size_t dims[1] = {a->n};
        if ((st = gd_h5_read(f, name, GD_F32, 1, dims, a->data, err))) return st;
    }
    for (size_t i = 0; i < ck->n_scalars; i++) {
        char name[512];
        gd_ckpt_scalar* s = &ck->scalars[i];
        if ((st = ckpt_name(name, sizeof name, s->name, path, err))) return st;
        if ((st = gd_h5_attr_get_u64(f, CKPT_GROUP, s->name, &s->value, err))) return st;
    }
    return GD_OK;
}

gd_status gd_ckpt_save(const char* path, const gd_ckpt* ck, gd_error* err) {
    if (!ck) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_ckpt_save: no checkpoint");
    gd_h5* f;
    gd_status st = gd_h5_create(path, ck->kind ? ck->kind : "checkpoint", ck->config_yaml, MPI_COMM_NULL, &f, err);
    if (st) return st;
    if ((st = gd_ckpt_write(f, ck, err))) {
        gd_h5_abort(f);
        return st;
    }
    return gd_h5_commit(f, err);
}

gd_status gd_ckpt_load(const char* path, gd_ckpt* ck, gd_error* err) {
    if (!ck) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_ckpt_load: no checkpoint");
    gd_h5* f;
    gd_status st = gd_h5_open(path, ck->kind ? ck->kind : "checkpoint", MPI_COMM_NULL, &f, err);
    if (st) return st;
    st = gd_ckpt_read(f, ck, err);
    gd_h5_close(f);
    return st;
}
