/* The model-agnostic data-parallel training loop: sharded global batches, averaged gradients, Adam,
 * checkpoints (periodic, final, on request), bit-exact resume. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/dist.h"
#include "gendec/io.h"
#include "gendec/train.h"

void gd_train_opts_default(gd_train_opts* o) {
    memset(o, 0, sizeof *o);
    o->global_batch = 32;
    o->epochs = 1;
    o->lr = 1e-3, o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8;
    o->seed = 1;
    o->kind = "model";
    o->comm = MPI_COMM_NULL;
}

void gd_train_result_free(gd_train_result* r) {
    if (!r) return;
    free(r->epoch_metrics);
    r->epoch_metrics = NULL;
}

int gd_train_data_max_active(const gd_train_data* d) {
    int best = 0;
    if (!d->labels) return 0;
    for (int64_t i = 0; i < d->n; i++) {
        int c = 0;
        for (int j = 0; j < d->n_components; j++) c += d->labels[(size_t)i * d->n_components + j] != 0;
        if (c > best) best = c;
    }
    return best;
}

/* The state that a checkpoint carries besides the weights and Adam. */
typedef struct {
    int64_t step;
    double epoch_sums[GD_TRAIN_MAX_METRICS];
    int64_t epoch_count;     /* images counted into epoch_sums */
    double* history;         /* (epochs, n_metrics) per-epoch means */
    int64_t n_history, cap_history;
    double wall_before;      /* wall seconds of earlier runs (resume) */
} train_state;

static uint64_t dbits(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bitsd(uint64_t u) {
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static gd_status push_history(train_state* s, const double* means, int M, gd_error* err) {
    if (s->n_history == s->cap_history) {
        int64_t cap = s->cap_history ? 2 * s->cap_history : 64;
        double* h = realloc(s->history, sizeof(double) * (size_t)cap * M);
        if (!h) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (training history)");
        s->history = h, s->cap_history = cap;
    }
    memcpy(s->history + (size_t)s->n_history * M, means, sizeof(double) * M);
    s->n_history++;
    return GD_OK;
}

/* Everything the checkpoint writer needs. */
typedef struct {
    const gd_trainable* t;
    const gd_train_opts* o;
    const gd_train_data* d;
    gd_adam* adam;   /* over all weights (replicated) or over this rank's block (sharded) */
    float *m_full, *v_full; /* the whole moments: adam->m / adam->v, or gathered / read buffers (sharded) */
    train_state* s;
    int size;
    double wall_this_run;
    int64_t steps_this_run;
} ckpt_ctx;

#define N_FIXED_SCALARS 7

/* Writes the checkpoint file (call on one rank). done = 1 marks a finished run. */
static gd_status write_ckpt(const ckpt_ctx* c, int done, gd_error* err) {
    const gd_trainable* t = c->t;
    const gd_train_opts* o = c->o;
    const gd_params* p = t->params;
    for (size_t i = 0; i < p->total; i++)
        if (!isfinite(p->data[i]))
            return gd_error_set(err, GD_ENUMERIC, o->path, 0, 0, "lower the learning rate (train.lr)",
                                "non-finite weight (%s) at step %lld; the previous checkpoint is kept",
                                p->views[0].name, (long long)c->s->step);
    int M = t->n_metrics;
    gd_ckpt_array arrays[3] = {{"params", p->data, p->total}, {"adam_m", c->m_full, p->total},
                               {"adam_v", c->v_full, p->total}};
    gd_ckpt_scalar sc[N_FIXED_SCALARS + GD_TRAIN_MAX_METRICS];
    char names[GD_TRAIN_MAX_METRICS][32];
    int ns = 0;
    sc[ns++] = (gd_ckpt_scalar){"step", (uint64_t)c->s->step};
    sc[ns++] = (gd_ckpt_scalar){"adam_t", (uint64_t)c->adam->t};
    sc[ns++] = (gd_ckpt_scalar){"seed", o->seed};
    sc[ns++] = (gd_ckpt_scalar){"global_batch", (uint64_t)o->global_batch};
    sc[ns++] = (gd_ckpt_scalar){"n_train", (uint64_t)c->d->n};
    sc[ns++] = (gd_ckpt_scalar){"epoch_count", (uint64_t)c->s->epoch_count};
    sc[ns++] = (gd_ckpt_scalar){"wall_seconds_bits", dbits(c->s->wall_before + c->wall_this_run)};
    for (int j = 0; j < M; j++) {
        snprintf(names[j], sizeof names[j], "epoch_sum%d", j);
        sc[ns++] = (gd_ckpt_scalar){names[j], dbits(c->s->epoch_sums[j])};
    }
    gd_ckpt ck = {.kind = o->kind, .arch = t->arch, .config_yaml = o->config_yaml, .arrays = arrays, .n_arrays = 3,
                  .scalars = sc, .n_scalars = (size_t)ns};
    gd_h5* f = NULL;
    gd_status st = gd_h5_create(o->path, o->kind ? o->kind : "model", o->config_yaml, MPI_COMM_NULL, &f, err);
    if (st) return st;
    st = gd_ckpt_write(f, &ck, err);
    if (!st && c->s->n_history > 0) {
        size_t dims[2] = {(size_t)c->s->n_history, (size_t)M};
        st = gd_h5_write(f, "train/epoch_metrics", GD_F64, 2, dims, c->s->history, 0, err);
    }
    char mnames[256] = "";
    for (int j = 0; j < M; j++) {
        if (j) strncat(mnames, ",", sizeof mnames - strlen(mnames) - 1);
        strncat(mnames, t->metric_names[j], sizeof mnames - strlen(mnames) - 1);
    }
    double wall = c->s->wall_before + c->wall_this_run;
    double ips = c->wall_this_run > 0 ? (double)c->steps_this_run * o->global_batch / c->wall_this_run : 0;
    if (!st) st = gd_h5_attr_set_str(f, "train", "metric_names", mnames, err);
    if (!st) st = gd_h5_attr_set_i64(f, "train", "done", done, err);
    if (!st) st = gd_h5_attr_set_i64(f, "train", "steps", c->s->step, err);
    if (!st) st = gd_h5_attr_set_i64(f, "train", "epochs", c->s->n_history, err);
    if (!st) st = gd_h5_attr_set_i64(f, "train", "global_batch", o->global_batch, err);
    if (!st) st = gd_h5_attr_set_i64(f, "train", "train_world_size", c->size, err);
    if (!st) st = gd_h5_attr_set_f64(f, "train", "wall_seconds", wall, err);
    if (!st) st = gd_h5_attr_set_f64(f, "train", "images_per_second", ips, err);
    if (!st) st = gd_h5_attr_set_f64(f, "train", "lr", o->lr, err);
    if (!st) st = gd_h5_attr_set_u64(f, "train", "seed", o->seed, err);
    for (int i = 0; !st && i < o->n_extra_attrs; i++)
        st = gd_h5_attr_set_str(f, "", o->extra_attr_names[i], o->extra_attr_values[i], err);
    if (st) {
        gd_h5_abort(f);
        return st;
    }
    return gd_h5_commit(f, err);
}

/* Reads a checkpoint into the weights, Adam and the loop state; checks it belongs to this run. */
static gd_status read_ckpt(const ckpt_ctx* c, gd_error* err) {
    const gd_trainable* t = c->t;
    const gd_train_opts* o = c->o;
    gd_params* p = t->params;
    int M = t->n_metrics;
    gd_ckpt_array arrays[3] = {{"params", p->data, p->total}, {"adam_m", c->m_full, p->total},
                               {"adam_v", c->v_full, p->total}};
    gd_ckpt_scalar sc[N_FIXED_SCALARS + GD_TRAIN_MAX_METRICS];
    char names[GD_TRAIN_MAX_METRICS][32];
    const char* fixed[N_FIXED_SCALARS] = {"step", "adam_t", "seed", "global_batch", "n_train", "epoch_count",
                                          "wall_seconds_bits"};
    int ns = 0;
    for (int i = 0; i < N_FIXED_SCALARS; i++) sc[ns++] = (gd_ckpt_scalar){fixed[i], 0};
    for (int j = 0; j < M; j++) {
        snprintf(names[j], sizeof names[j], "epoch_sum%d", j);
        sc[ns++] = (gd_ckpt_scalar){names[j], 0};
    }
    gd_ckpt ck = {.kind = o->kind, .arch = t->arch, .arrays = arrays, .n_arrays = 3, .scalars = sc,
                  .n_scalars = (size_t)ns};
    gd_h5* f = NULL;
    gd_status st = gd_h5_open(o->path, o->kind ? o->kind : "model", MPI_COMM_NULL, &f, err);
    if (st) return st;
    if ((st = gd_ckpt_read(f, &ck, err))) goto out;
    if (sc[2].value != o->seed || sc[3].value != (uint64_t)o->global_batch || sc[4].value != (uint64_t)c->d->n) {
        st = gd_error_set(err, GD_ESTATE, o->path, 0, 0, "resume with the configuration the run started with",
                          "%s was trained with seed %llu, global batch %llu and %llu training images; this run has "
                          "seed %llu, batch %lld and %lld images",
                          o->path, (unsigned long long)sc[2].value, (unsigned long long)sc[3].value,
                          (unsigned long long)sc[4].value, (unsigned long long)o->seed, (long long)o->global_batch,
                          (long long)c->d->n);
        goto out;
    }
    c->s->step = (int64_t)sc[0].value;
    c->adam->t = (int64_t)sc[1].value;
    c->s->epoch_count = (int64_t)sc[5].value;
    c->s->wall_before = bitsd(sc[6].value);
    for (int j = 0; j < M; j++) c->s->epoch_sums[j] = bitsd(sc[N_FIXED_SCALARS + j].value);
    c->s->n_history = 0;
    if (gd_h5_exists(f, "train/epoch_metrics")) {
        size_t dims[2];
        void* h = NULL;
        if ((st = gd_h5_read_alloc(f, "train/epoch_metrics", GD_F64, 2, dims, (size_t)1 << 28, &h, err))) goto out;
        if (dims[1] != (size_t)M) {
            gd_free(h);
            st = gd_error_set(err, GD_EFORMAT, o->path, 0, 0, NULL, "%s: train/epoch_metrics has %zu columns, expected %d",
                              o->path, dims[1], M);
            goto out;
        }
        for (size_t e = 0; !st && e < dims[0]; e++) st = push_history(c->s, (double*)h + e * M, M, err);
        gd_free(h);
    }
out:
    gd_h5_close(f);
    return st;
}

/* Rank and size of comm (0, 1 for MPI_COMM_NULL). */
static void comm_info(MPI_Comm comm, int* rank, int* size) {
    *rank = 0, *size = 1;
    if (comm != MPI_COMM_NULL) {
        MPI_Comm_rank(comm, rank);
        MPI_Comm_size(comm, size);
    }
}

/* A collective agreement that degenerates to the local status without MPI. */
static gd_status agree(gd_status st, MPI_Comm comm, int size, gd_error* err) {
    if (size == 1 || comm == MPI_COMM_NULL) return st;
    return gd_dist_agree(st, comm, err);
}

/* Collects every rank's block of the Adam moments into m_full / v_full on rank 0 (collective). */
static gd_status gather_moments(const gd_adam* a, float* m_full, float* v_full, const int* counts, const int* displs,
                                MPI_Comm comm, gd_error* err) {
    int rc = MPI_Gatherv(a->m, (int)a->n, MPI_FLOAT, m_full, counts, displs, MPI_FLOAT, 0, comm);
    if (rc == MPI_SUCCESS) rc = MPI_Gatherv(a->v, (int)a->n, MPI_FLOAT, v_full, counts, displs, MPI_FLOAT, 0, comm);
    return rc == MPI_SUCCESS ? GD_OK
                             : gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "MPI_Gatherv of the Adam moments failed");
}

gd_status gd_train_run(gd_trainable* t, const gd_train_data* d, const gd_train_opts* o, gd_train_result* res,
                       gd_error* err) {
    memset(res, 0, sizeof *res);
    int rank, size;
    comm_info(o->comm, &rank, &size);
    const int M = t->n_metrics;
    gd_params* p = t->params;
    if (M < 1 || M > GD_TRAIN_MAX_METRICS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "trainable with %d metrics (1..%d)", M, GD_TRAIN_MAX_METRICS);
    if (o->global_batch < 1 || o->global_batch > d->n)
        return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "lower the batch size or use more training images",
                            "global batch %lld does not fit %lld training images", (long long)o->global_batch,
                            (long long)d->n);
    if (t->label_cols > 0 && (!d->labels || d->n_components != t->label_cols))
        return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "set model.n_components to the data's component count",
                            "the model has %d components, the training data %d", t->label_cols,
                            d->labels ? d->n_components : 0);
    if (t->needs_classes && !d->classes)
        return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, NULL, "the model needs class labels; the data has none");
    size_t b0, b1, bmax = 0;
    gd_dist_block((size_t)o->global_batch, rank, size, &b0, &b1);
    for (int r = 0; r < size; r++) {
        size_t x0, x1;
        gd_dist_block((size_t)o->global_batch, r, size, &x0, &x1);
        if (x1 - x0 > bmax) bmax = x1 - x0;
    }
    if (bmax > (size_t)t->max_rows)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "local batch %zu exceeds the model's %d rows", bmax,
                            t->max_rows);
    if ((o->resume || o->checkpoint_every > 0) && !o->path)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "checkpoints and resume need a file path");
    const int64_t gb = o->global_batch, spe = d->n / gb;
    const int64_t total = o->max_steps > 0 ? o->max_steps : o->epochs * spe;
    const size_t nloc = b1 - b0;

    /* sharded optimizer: this rank's block [s0, s0 + counts[rank]) of the weights */
    const int shard = size > 1 && !o->replicated_adam;
    if (shard && (p->total > (size_t)INT_MAX || p->total < (size_t)size))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "set replicated_adam", "%zu weights cannot be sharded over %d ranks",
                            p->total, size);
    int* counts = NULL;
    int* displs = NULL;
    size_t s0 = 0, s1 = p->total;
    gd_adam adam = {0};
    train_state s = {0};
    uint32_t* perm = NULL;
    float* xb = NULL;
    uint8_t* lb = NULL;
    int32_t* cb = NULL;
    float* full = NULL;
    gd_status st = GD_OK;
    if (shard) {
        counts = malloc(sizeof(int) * (size_t)size);
        displs = malloc(sizeof(int) * (size_t)size);
        full = gd_alloc(sizeof(float) * 2 * p->total);
        if (!counts || !displs || !full) {
            st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (optimizer shards)");
            goto done;
        }
        for (int r = 0; r < size; r++) {
            size_t a, b;
            gd_dist_block(p->total, r, size, &a, &b);
            counts[r] = (int)(b - a), displs[r] = (int)a;
        }
        gd_dist_block(p->total, rank, size, &s0, &s1);
    }
    if ((st = gd_adam_init(&adam, s1 - s0, o->lr, err))) goto done;
    adam.beta1 = o->beta1, adam.beta2 = o->beta2, adam.eps = o->eps;
    perm = malloc(sizeof(uint32_t) * (size_t)d->n);
    xb = gd_alloc(sizeof(float) * (bmax ? bmax : 1) * (size_t)d->d);
    if (d->labels) lb = gd_alloc((bmax ? bmax : 1) * (size_t)(d->n_components ? d->n_components : 1));
    if (d->classes) cb = gd_alloc(sizeof(int32_t) * (bmax ? bmax : 1));
    if (!perm || !xb || (d->labels && !lb) || (d->classes && !cb)) {
        st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (training buffers)");
        goto done;
    }
    ckpt_ctx cc = {t, o, d, &adam, shard ? full : adam.m, shard ? full + p->total : adam.v, &s, size, 0, 0};
    if (o->resume) st = read_ckpt(&cc, err);
    if ((st = agree(st, o->comm, size, err))) goto done;
    if (o->resume && shard) {
        memcpy(adam.m, cc.m_full + s0, sizeof(float) * (s1 - s0));
        memcpy(adam.v, cc.v_full + s0, sizeof(float) * (s1 - s0));
    }
    if (size > 1 && (st = gd_dist_check_same(p->data, sizeof(float) * p->total, "initial weights", o->comm, err)))
        goto done;

    double t0 = gd_now(), iv_sums[GD_TRAIN_MAX_METRICS] = {0};
    int64_t iv_images = 0, epoch_loaded = -1;
    const float grad_scale = (float)((double)size / (double)gb);
    while (s.step < total) {
        int64_t epoch = s.step / spe, pos = s.step % spe;
        if (epoch != epoch_loaded) {
            for (int64_t i = 0; i < d->n; i++) perm[i] = (uint32_t)i;
            gd_rng r;
            gd_rng_init(&r, o->seed, GD_STREAM_SHUFFLE, (uint64_t)epoch);
            gd_rng_shuffle(&r, perm, (size_t)d->n);
            epoch_loaded = epoch;
        }
        for (size_t i = 0; i < nloc; i++) {
            size_t img = perm[pos * gb + (int64_t)(b0 + i)];
            memcpy(xb + i * d->d, d->images + img * d->d, sizeof(float) * d->d);
            if (lb) memcpy(lb + i * d->n_components, d->labels + img * d->n_components, d->n_components);
            if (cb) cb[i] = d->classes[img];
        }
        double c0 = gd_now();
        gd_params_zero_grad(p);
        double c1 = gd_now();
        double red[GD_TRAIN_MAX_METRICS + 2] = {0};
        st = t->step(t->self, xb, lb, cb, (int)nloc, (uint64_t)(s.step * gb + (int64_t)b0), grad_scale, red, err);
        double c2 = gd_now();
        if ((st = agree(st, o->comm, size, err))) goto done;
        res->sync_seconds += gd_now() - c2;
        if (shard) {
            /* block r of the summed gradient lands at the start of rank r's buffer */
            int rc = MPI_Reduce_scatter(MPI_IN_PLACE, p->grad, counts, MPI_FLOAT, MPI_SUM, o->comm);
            if (rc != MPI_SUCCESS) {
                st = gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "MPI_Reduce_scatter of the gradient failed");
                goto done;
            }
            const float inv = 1.0f / (float)size;
            for (size_t i = 0; i < s1 - s0; i++) p->grad[i] *= inv;
        } else if (size > 1 && (st = gd_dist_allreduce_mean(p->grad, p->total, o->comm, err))) {
            goto done;
        }
        red[M] = (o->stop && *o->stop) ? 1.0 : 0.0;
        for (int j = 0; j < M; j++)
            if (!isfinite(red[j])) red[M + 1] = 1.0;
        if (size > 1 && (st = gd_dist_allreduce_sum_f64(red, (size_t)M + 2, o->comm, err))) goto done;
        double c3 = gd_now();
        if (red[M + 1] > 0 || !isfinite(red[0])) {
            st = gd_error_set(err, GD_ENUMERIC, o->path, 0, 0,
                              "lower the learning rate (train.lr) or check the data; the last checkpoint is kept",
                              "non-finite loss at step %lld (epoch %lld)", (long long)s.step, (long long)epoch);
            goto done;
        }
        gd_adam_step(&adam, p->data + s0, p->grad, s1 - s0);
        double c4 = gd_now();
        if (shard) {
            int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, p->data, counts, displs, MPI_FLOAT, o->comm);
            if (rc != MPI_SUCCESS) {
                st = gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "MPI_Allgatherv of the weights failed");
                goto done;
            }
        }
        double c5 = gd_now();
        res->model_seconds += c2 - c1;
        res->comm_seconds += (c3 - c2) + (c5 - c4);
        res->optim_seconds += (c1 - c0) + (c4 - c3);
        s.step++;
        cc.steps_this_run++;
        for (int j = 0; j < M; j++) s.epoch_sums[j] += red[j], iv_sums[j] += red[j];
        s.epoch_count += gb;
        iv_images += gb;
        int epoch_end = s.step % spe == 0;
        gd_train_progress pr = {0};
        if (epoch_end) {
            for (int j = 0; j < M; j++) pr.epoch_metrics[j] = s.epoch_sums[j] / (double)s.epoch_count;
            if ((st = push_history(&s, pr.epoch_metrics, M, err))) goto done;
            memset(s.epoch_sums, 0, sizeof s.epoch_sums);
            s.epoch_count = 0;
        }
        if (o->check_sync_every > 0 && s.step % o->check_sync_every == 0 && size > 1 &&
            (st = gd_dist_check_same(p->data, sizeof(float) * p->total, "weights", o->comm, err)))
            goto done;
        int stop = red[M] > 0;
        int ckpt = o->path && (stop || (o->checkpoint_every > 0 && s.step % o->checkpoint_every == 0 && s.step < total));
        if (ckpt) {
            cc.wall_this_run = gd_now() - t0;
            if (shard && (st = gather_moments(&adam, cc.m_full, cc.v_full, counts, displs, o->comm, err))) goto done;
            st = rank == 0 ? write_ckpt(&cc, 0, err) : GD_OK;
            if ((st = agree(st, o->comm, size, err))) goto done;
        }
        int show = epoch_end || ckpt || stop || s.step == total || (o->progress_every > 0 && s.step % o->progress_every == 0);
        if (o->progress && show) {
            pr.step = s.step, pr.total_steps = total, pr.epoch = s.step / spe, pr.steps_per_epoch = spe;
            pr.epoch_end = epoch_end;
            pr.n_metrics = M;
            pr.metric_names = t->metric_names;
            for (int j = 0; j < M; j++) pr.metrics[j] = iv_images ? iv_sums[j] / (double)iv_images : 0;
            double el = gd_now() - t0;
            pr.images_per_second = el > 0 ? (double)cc.steps_this_run * gb / el : 0;
            pr.checkpointed = ckpt;
            o->progress(o->progress_user, &pr);
            memset(iv_sums, 0, sizeof iv_sums);
            iv_images = 0;
        }
        if (stop) {
            res->stopped = 1;
            st = gd_error_set(err, GD_EINTR, o->path, 0, 0, "run again with --resume to continue",
                              "stopped on request after step %lld of %lld; checkpoint written", (long long)s.step,
                              (long long)total);
            break;
        }
    }
    cc.wall_this_run = gd_now() - t0;
    if (!res->stopped && o->path) {
        if (shard && (st = gather_moments(&adam, cc.m_full, cc.v_full, counts, displs, o->comm, err))) goto done;
        st = rank == 0 ? write_ckpt(&cc, 1, err) : GD_OK;
        st = agree(st, o->comm, size, err);
    }
    if (st && st != GD_EINTR) goto done;
    res->steps = s.step;
    res->epochs_done = s.n_history;
    res->steps_this_run = cc.steps_this_run;
    res->wall_seconds = cc.wall_this_run;
    res->images_per_second = cc.wall_this_run > 0 ? (double)cc.steps_this_run * gb / cc.wall_this_run : 0;
    res->n_metrics = M;
    if (s.n_history > 0) {
        res->epoch_metrics = malloc(sizeof(double) * (size_t)s.n_history * M);
        if (res->epoch_metrics) memcpy(res->epoch_metrics, s.history, sizeof(double) * (size_t)s.n_history * M);
    }
done:
    gd_adam_free(&adam);
    free(counts);
    free(displs);
    gd_free(full);
    free(s.history);
    free(perm);
    gd_free(xb);
    gd_free(lb);
    gd_free(cb);
    return st;
}
