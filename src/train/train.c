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

/* The node-shared buffers of the shm path (gd_train_comm). */
typedef struct {
    int on;
    MPI_Comm node, cross;    /* ranks of this node; ranks with this local rank on every node */
    int lrank, lsize, nnodes;
    MPI_Win gwin, swin;      /* every local rank's gradient; the node's weights + Adam moments */
    int gwin_ok, swin_ok;
    float** g;               /* (lsize) the local ranks' gradients, total floats each */
    float** gblk;            /* (lsize) the same, offset to this rank's block (filled once) */
    float *w, *m, *v;        /* (total) each: node-shared weights, Adam m, Adam v */
    float* sum;              /* (block) the locally summed block for the cross-node allreduce (nnodes > 1) */
    float *own_data, *own_grad; /* the params block's own buffers, restored at the end */
} shm_state;

/* A GD_EMPI error naming the failed call and MPI's message for rc. */
static gd_status mpi_fail(int rc, const char* what, gd_error* err) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "%s failed: %s", what, msg);
}

/* Memory barrier on both windows (MPI-3 shared memory model: sync, process synchronisation, sync). */
static void shm_sync(const shm_state* h) {
    MPI_Win_sync(h->gwin);
    MPI_Win_sync(h->swin);
}

/* A node barrier between two memory barriers: every local rank's writes before it are seen after it. */
static gd_status shm_barrier(const shm_state* h, gd_error* err) {
    shm_sync(h);
    int rc = MPI_Barrier(h->node);
    shm_sync(h);
    return rc == MPI_SUCCESS ? GD_OK : mpi_fail(rc, "MPI_Barrier of the node", err);
}

/* Decides whether the shm path runs (collective over comm) and sets up the node and cross communicators;
 * h->on = 0 means use the MPI path. GD_ECONFIG when mode is SHM and the layout does not allow it. */
static gd_status shm_plan(shm_state* h, const gd_train_opts* o, int rank, int size, gd_error* err) {
    memset(h, 0, sizeof *h);
    h->node = h->cross = MPI_COMM_NULL;
    if (size < 2 || o->comm_mode == GD_TRAIN_COMM_MPI) return GD_OK;
    if (o->replicated_adam) {
        if (o->comm_mode == GD_TRAIN_COMM_SHM)
            return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "set train.comm to auto or mpi",
                                "train.comm = shm needs the sharded optimizer (replicated_adam = 0)");
        return GD_OK;
    }
    int rc = MPI_Comm_split_type(o->comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &h->node);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)", err);
    MPI_Comm_rank(h->node, &h->lrank);
    if (o->shm_node_ranks > 0) {
        MPI_Comm sub;
        rc = MPI_Comm_split(h->node, h->lrank / o->shm_node_ranks, h->lrank, &sub);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Comm_split of the node", err);
        MPI_Comm_free(&h->node);
        h->node = sub;
        MPI_Comm_rank(h->node, &h->lrank);
    }
    MPI_Comm_size(h->node, &h->lsize);
    int mm[2] = {h->lsize, -h->lsize};
    rc = MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_INT, MPI_MAX, o->comm);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce of the ranks per node", err);
    int equal = mm[0] == -mm[1];
    if (!equal || (o->comm_mode == GD_TRAIN_COMM_AUTO && h->lsize < 2)) {
        MPI_Comm_free(&h->node);
        if (o->comm_mode == GD_TRAIN_COMM_SHM && !equal)
            return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "set train.comm to auto or mpi, or start as many ranks "
                                "on every node", "train.comm = shm needs the same number of ranks on every node "
                                "(between %d and %d here)", -mm[1], mm[0]);
        return GD_OK;
    }
    h->nnodes = size / h->lsize;
    rc = MPI_Comm_split(o->comm, h->lrank, rank, &h->cross);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Comm_split by local rank", err);
    h->on = 1;
    return GD_OK;
}

/* Allocates the windows (collective over the node), fills them from p (weights) and m_full / v_full (moments;
 * NULL = zero) and points p->data / p->grad into them. */
static gd_status shm_open(shm_state* h, gd_params* p, const float* m_full, const float* v_full, size_t b0,
                          size_t b1, gd_error* err) {
    const size_t P = p->total;
    h->g = calloc((size_t)h->lsize, sizeof(float*));
    h->gblk = calloc((size_t)h->lsize, sizeof(float*));
    if (h->nnodes > 1) h->sum = gd_alloc(sizeof(float) * (b1 - b0 ? b1 - b0 : 1));
    if (!h->g || !h->gblk || (h->nnodes > 1 && !h->sum))
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (shared-memory path)");
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    float* base = NULL;
    int rc = MPI_Win_allocate_shared((MPI_Aint)(sizeof(float) * P), sizeof(float), info, h->node, &base, &h->gwin);
    if (rc == MPI_SUCCESS) {
        h->gwin_ok = 1;
        rc = MPI_Win_allocate_shared((MPI_Aint)(h->lrank == 0 ? 3 * sizeof(float) * P : 0), sizeof(float), info,
                                     h->node, &base, &h->swin);
        if (rc == MPI_SUCCESS) h->swin_ok = 1;
    }
    MPI_Info_free(&info);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Win_allocate_shared of the gradient and weights", err);
    for (int q = 0; q < h->lsize && rc == MPI_SUCCESS; q++) {
        MPI_Aint sz;
        int du;
        rc = MPI_Win_shared_query(h->gwin, q, &sz, &du, &h->g[q]);
    }
    if (rc == MPI_SUCCESS) {
        MPI_Aint sz;
        int du;
        rc = MPI_Win_shared_query(h->swin, 0, &sz, &du, &h->w);
    }
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Win_shared_query", err);
    h->m = h->w + P, h->v = h->w + 2 * P;
    for (int q = 0; q < h->lsize; q++) h->gblk[q] = h->g[q] + b0;
    MPI_Win_lock_all(MPI_MODE_NOCHECK, h->gwin);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, h->swin);
    memset(h->g[h->lrank], 0, sizeof(float) * P);
    /* every rank writes its own block of the weights and moments (first touch near the rank that updates it) */
    memcpy(h->w + b0, p->data + b0, sizeof(float) * (b1 - b0));
    if (m_full) {
        memcpy(h->m + b0, m_full + b0, sizeof(float) * (b1 - b0));
        memcpy(h->v + b0, v_full + b0, sizeof(float) * (b1 - b0));
    } else {
        memset(h->m + b0, 0, sizeof(float) * (b1 - b0));
        memset(h->v + b0, 0, sizeof(float) * (b1 - b0));
    }
    gd_status st = shm_barrier(h, err);
    if (st) return st;
    h->own_data = p->data, h->own_grad = p->grad;
    p->data = h->w, p->grad = h->g[h->lrank];
    return GD_OK;
}

/* Copies the weights back into p's own buffers, points p at them again and frees everything (collective over
 * the node; safe after a partial shm_plan / shm_open). */
static void shm_close(shm_state* h, gd_params* p) {
    if (h->own_data) {
        (void)shm_barrier(h, NULL);
        memcpy(h->own_data, h->w, sizeof(float) * p->total);
        memset(h->own_grad, 0, sizeof(float) * p->total);
        p->data = h->own_data, p->grad = h->own_grad;
        MPI_Barrier(h->node); /* nobody frees the windows while another rank still copies */
    }
    if (h->gwin_ok) {
        if (h->own_data) MPI_Win_unlock_all(h->gwin);
        MPI_Win_free(&h->gwin);
    }
    if (h->swin_ok) {
        if (h->own_data) MPI_Win_unlock_all(h->swin);
        MPI_Win_free(&h->swin);
    }
    if (h->cross != MPI_COMM_NULL) MPI_Comm_free(&h->cross);
    if (h->node != MPI_COMM_NULL) MPI_Comm_free(&h->node);
    free(h->g);
    free(h->gblk);
    gd_free(h->sum);
    memset(h, 0, sizeof *h);
    h->node = h->cross = MPI_COMM_NULL;
}

/* The shm path's update of this rank's block [b0, b1): sums the block of every local rank's gradient (zeroing
 * it), over the nodes when there are several, scales by inv and runs Adam; the caller barriers afterwards. */
static gd_status shm_update(shm_state* h, gd_adam* a, size_t b0, size_t b1, float inv, gd_error* err) {
    float** g = h->gblk;
    const size_t n = b1 - b0;
    if (h->nnodes == 1) {
        gd_adam_step_sum(a, h->w + b0, h->m + b0, h->v + b0, g, h->lsize, inv, 1, n);
        return GD_OK;
    }
    memcpy(h->sum, g[0], sizeof(float) * n);
    for (int q = 1; q < h->lsize; q++)
        for (size_t i = 0; i < n; i++) h->sum[i] += g[q][i];
    for (int q = 0; q < h->lsize; q++) memset(g[q], 0, sizeof(float) * n);
    int rc = MPI_Allreduce(MPI_IN_PLACE, h->sum, (int)n, MPI_FLOAT, MPI_SUM, h->cross);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce of the gradient block across nodes", err);
    gd_adam_step_sum(a, h->w + b0, h->m + b0, h->v + b0, &h->sum, 1, inv, 0, n);
    return GD_OK;
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
    shm_state h = {0};
    h.node = h.cross = MPI_COMM_NULL;
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
        if ((st = shm_plan(&h, o, rank, size, err))) goto done;
        if (h.on) gd_dist_block(p->total, h.lrank, h.lsize, &s0, &s1); /* this rank's block within its node */
    } else if (o->comm_mode == GD_TRAIN_COMM_SHM && size > 1 && o->replicated_adam) {
        st = shm_plan(&h, o, rank, size, err); /* the error naming the conflict */
        goto done;
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
    if (h.on) {
        st = shm_open(&h, p, o->resume ? cc.m_full : NULL, o->resume ? cc.v_full : NULL, s0, s1, err);
        if ((st = agree(st, o->comm, size, err))) goto done;
        cc.m_full = h.m, cc.v_full = h.v; /* node-shared: rank 0 writes them without a gather */
        res->comm_shm = 1;
    }

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
        if (!h.on) gd_params_zero_grad(p); /* the shm path zeroes each block in the fused pass */
        double c1 = gd_now();
        double red[GD_TRAIN_MAX_METRICS + 3] = {0};
        st = t->step(t->self, xb, lb, cb, (int)nloc, (uint64_t)(s.step * gb + (int64_t)b0), grad_scale, red, err);
        double c2 = gd_now();
        if (h.on) shm_sync(&h); /* this rank's gradient writes, before the collective that orders them */
        /* one small allreduce: metric sums, stop flag, non-finite flag and failed ranks; only when a rank failed
         * does a second collective (gd_dist_agree) find the worst status */
        red[M] = (o->stop && *o->stop) ? 1.0 : 0.0;
        for (int j = 0; j < M; j++)
            if (!isfinite(red[j])) red[M + 1] = 1.0;
        red[M + 2] = st != GD_OK;
        if (size > 1) {
            gd_status sr = gd_dist_allreduce_sum_f64(red, (size_t)M + 3, o->comm, err);
            if (sr) {
                st = sr;
                goto done;
            }
        }
        if (red[M + 2] > 0) {
            st = agree(st, o->comm, size, err);
            goto done;
        }
        res->sync_seconds += gd_now() - c2;
        if (h.on) {
            /* the fused pass below reads the node-shared gradients */
        } else if (shard) {
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
        double c3 = gd_now();
        if (red[M + 1] > 0 || !isfinite(red[0])) {
            st = gd_error_set(err, GD_ENUMERIC, o->path, 0, 0,
                              "lower the learning rate (train.lr) or check the data; the last checkpoint is kept",
                              "non-finite loss at step %lld (epoch %lld)", (long long)s.step, (long long)epoch);
            goto done;
        }
        if (h.on) {
            shm_sync(&h);
            if ((st = shm_update(&h, &adam, s0, s1, 1.0f / (float)size, err))) goto done;
        } else {
            gd_adam_step(&adam, p->data + s0, p->grad, s1 - s0);
        }
        double c4 = gd_now();
        if (h.on) {
            if ((st = shm_barrier(&h, err))) goto done;
        } else if (shard) {
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
            if (shard && !h.on && (st = gather_moments(&adam, cc.m_full, cc.v_full, counts, displs, o->comm, err))) goto done;
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
        if (shard && !h.on && (st = gather_moments(&adam, cc.m_full, cc.v_full, counts, displs, o->comm, err))) goto done;
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
    shm_close(&h, p);
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
