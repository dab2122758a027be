/* What `gendec eval`, `gendec sweep` and `gendec bench classify` share: the resolved config, the data (rank 0),
 * the trained c-VAE (every rank) and the classifier built on it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/data.h"
#include "gendec/dist.h"
#include "gendec/io.h"
#include "gendec/model.h"

int cli_mkdirs(const char* path, gd_error* err) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "path too long");
    for (char* p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return gd_error_set(err, GD_EIO, buf, 0, 0, "check the path and its permissions",
                                    "cannot create the folder: %s", strerror(errno));
            *p = c;
        }
        if (c == '\0') break;
    }
    return GD_OK;
}

gd_status cli_infer_open(cli_infer_session* s, const char* yaml, const char* const* sets, size_t n_sets,
                         const char* model_path, const char* out_dir, const char* results_root, const char* data_dir,
                         int need_data, gd_error* err) {
    memset(s, 0, sizeof *s);
    int rank = cli_rank();
    gd_status st = gd_config_load(&s->cfg, yaml, sets, n_sets, err);
    if (!st) st = gd_infer_opts_from_config(s->cfg, &s->opts, err);
    if (st) return st;
    const char* root = results_root && *results_root ? results_root : "results";
    snprintf(s->results_dir, sizeof s->results_dir, "%s/%s", root, gd_config_string(s->cfg, "experiment.name"));
    int w = model_path && *model_path ? snprintf(s->model_path, sizeof s->model_path, "%s", model_path)
            : out_dir && *out_dir     ? snprintf(s->model_path, sizeof s->model_path, "%.1000s/model.h5", out_dir)
                                      : snprintf(s->model_path, sizeof s->model_path, "%.1000s/model.h5", s->results_dir);
    if (w < 0 || (size_t)w >= sizeof s->model_path)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "the model path is too long");
    s->yaml = gd_config_emit(s->cfg);
    if (!s->yaml) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    /* the data: rank 0 reads it (through the data cache) */
    int dims[3] = {0, 0, 0};
    if (rank == 0 && need_data) {
        gd_data_opts dop;
        st = gd_data_opts_from_config(s->cfg, &dop, err);
        if (!st && data_dir && *data_dir) {
            if (strlen(data_dir) >= sizeof dop.root)
                st = gd_error_set(err, GD_EINVAL, data_dir, 0, 0, NULL, "--data-dir: path too long");
            else
                snprintf(dop.root, sizeof dop.root, "%s", data_dir);
        }
        if (!st) st = cli_mkdirs(s->results_dir, err);
        if (!st) {
            gd_data_cache_path(s->cfg, root, s->data_path, sizeof s->data_path);
            int reused = 0;
            st = gd_data_prepare(&dop, s->yaml, s->data_path, 0, &s->ds, &reused, NULL, err);
        }
        if (!st) {
            dims[0] = s->ds.h;
            dims[1] = s->ds.w;
            dims[2] = s->ds.n_components;
        }
    }
    if ((st = gd_dist_agree(st, MPI_COMM_WORLD, err))) return st;
    MPI_Bcast(dims, 3, MPI_INT, 0, MPI_COMM_WORLD);
    s->h = dims[0];
    s->w = dims[1];
    s->n = dims[2];
    /* the model: every rank; generator batches hold a chunk's starts */
    int64_t rows = (int64_t)s->opts.batch * (1 + s->opts.restarts);
    int max_batch = rows > 1024 ? 1024 : (int)rows;
    st = gd_cvae_load(s->model_path, max_batch, 0, &s->model, err);
    if (!st) st = gd_cvae_generator(s->model, &s->gen, err);
    if (!st) st = gd_infer_create(&s->solver, &s->gen, &s->opts, err);
    if (!st && need_data) st = gd_infer_check_data(s->solver, s->n, s->h * s->w, s->data_path[0] ? s->data_path : "the data set", err);
    if (!st && need_data && s->model) {
        const gd_cvae_spec* sp = gd_cvae_get_spec(s->model);
        if (sp->h != s->h || sp->w != s->w)
            st = gd_error_set(err, GD_EINVAL, s->model_path, 0, 0, "use the model trained on this data set",
                              "the model makes %d x %d images, the data set has %d x %d", sp->h, sp->w, s->h, s->w);
    }
    if (st && err && err->file[0] == '\0' && s->model == NULL)
        snprintf(err->file, sizeof err->file, "%.500s", s->model_path);
    return gd_dist_agree(st, MPI_COMM_WORLD, err);
}

gd_status cli_infer_split(const cli_infer_session* s, const char* split, int64_t max_n, gd_split* out, gd_error* err) {
    gd_status st = GD_OK;
    memset(out, 0, sizeof *out);
    if (cli_rank() == 0) {
        st = gd_dataset_split(&s->ds, split, out, err);
        if (!st && max_n > 0 && out->count > max_n) out->count = max_n;
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, err);
    int64_t v[2] = {out->start, out->count};
    MPI_Bcast(v, 2, MPI_INT64_T, 0, MPI_COMM_WORLD);
    out->start = v[0];
    out->count = v[1];
    return st;
}

void cli_infer_close(cli_infer_session* s) {
    gd_infer_free(s->solver);
    gd_cvae_free(s->model);
    gd_dataset_free(&s->ds);
    gd_config_free(s->cfg);
    free(s->yaml);
    memset(s, 0, sizeof *s);
}

void cli_infer_progress(void* ctx, int64_t done, int64_t total) {
    cli_progress* p = ctx;
    (void)total;
    cli_progress_update(p, (double)done, NULL);
}

void cli_infer_segment_progress(void* ctx, int64_t done, int64_t total) {
    cli_segment_progress* p = ctx;
    (void)total;
    cli_progress_update(p->bar, (double)(p->offset + done), NULL);
}

gd_status cli_sweep_best(const char* dir, double point[6], int* found, gd_error* err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/sweep.h5", dir);
    *found = 0;
    FILE* probe = fopen(path, "rb");
    if (!probe) return GD_OK;
    fclose(probe);
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(path, "sweep", MPI_COMM_NULL, &f, err);
    if (!st) st = gd_h5_attr_get_f64s(f, "sweep", "best_point", point, 6, err);
    gd_h5_close(f);
    if (!st) *found = 1;
    return st;
}

gd_status cli_infer_apply_point(cli_infer_session* s, const double point[6], gd_error* err) {
    gd_infer_opts o = s->opts;
    o.beta = (float)point[0];
    o.b = (float)point[1];
    o.c = (float)point[2];
    o.l = (float)point[3];
    o.yl = (float)point[4];
    o.yu = (float)point[5];
    gd_status st = gd_infer_set_options(s->solver, &o, err);
    if (!st) s->opts = o;
    return st;
}

void cli_infer_key(const cli_infer_session* s, const char* split, const gd_split* sp, const char* what, char* buf,
                   size_t n) {
    gd_params* P = gd_cvae_params(s->model);
    const gd_infer_opts* o = &s->opts;
    snprintf(buf, n,
             "split %s first %lld count %lld %s model %016llx steps %d lr %.9g y0 %.9g restarts %d beta %.9g "
             "b %.9g c %.9g l %.9g yl %.9g yu %.9g norm %s scale %s rule %s max_ambiguous %d refine_steps %d "
             "binarize %d batch %d trace %d seed %llu",
             split, (long long)sp->start, (long long)sp->count, what,
             (unsigned long long)gd_checksum64(P->data, P->total * sizeof(float)), o->steps, o->lr, o->y0,
             o->restarts, o->beta, o->b, o->c, o->l, o->yl, o->yu, gd_infer_norm_name(o->norm),
             gd_infer_scale_name(o->scale), gd_infer_rule_name(o->rule), o->max_ambiguous, o->refine_steps,
             o->binarize_input, o->batch, o->trace, (unsigned long long)o->seed);
}
