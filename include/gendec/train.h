/* train: the one data-parallel training loop, model-agnostic. The c-VAE and the CNN both train through it
 * (each is a gd_trainable: a step function over a local shard and its gd_params block).
 *
 * The loop, for every global batch (fixed size global_batch, whatever the number of ranks):
 *   - epoch e visits the training images in the order of a permutation drawn from the stream
 *     (seed, GD_STREAM_SHUFFLE, e); the epoch has floor(N / global_batch) steps (the tail is dropped);
 *   - rank r takes its contiguous block gd_dist_block(global_batch, r, size) of the batch's positions and
 *     gathers only those images;
 *   - the model accumulates grad_scale · ∂(Σ over its rows of the row loss)/∂θ with grad_scale =
 *     size / global_batch; averaging the whole contiguous gradient over the ranks then gives the gradient of the
 *     mean loss over the global batch (the 1-rank gradient up to reduction order). With size > 1 the
 *     optimizer is sharded as in ZeRO stage 1; on the mpi path (gd_train_comm below; on one node the default
 *     picks the shm path, which shards the same way within each node without copies) MPI_Reduce_scatter sums
 *     the gradient so that rank r receives its block gd_dist_block(n_params, r, size) only, scaled by 1/size as gd_dist_allreduce_mean does; Adam updates
 *     that block (each rank keeps the moments of its block); MPI_Allgatherv gives every rank all the weights.
 *     The weights are bitwise those of the replicated scheme (replicated_adam = 1: gd_dist_allreduce_mean, then
 *     Adam on everything on every rank) when the sums are formed in the same order (always with 2 ranks);
 *   - the step's metric sums, a local "stop requested" flag, a non-finite flag and a "this rank's step failed"
 *     flag are summed over ranks in one small allreduce right after backward (when a rank failed, gd_dist_agree
 *     then gives every rank the worst status); a non-finite loss stops with GD_ENUMERIC naming the step (the file keeps the last good
 *     checkpoint); otherwise Adam (nn.h) updates the weights, identically on every rank.
 *   - c-VAE noise: row i of global batch s draws from (seed, GD_STREAM_NOISE, s * global_batch + i), so 1 and
 *     2 ranks draw the same noise for the same image.
 * Checkpoints (every checkpoint_every steps, at the end, and when a stop is requested: a signal handler sets
 * *stop; all ranks see it at the next step boundary, save, and return GD_EINTR) are written by rank 0 atomically
 * with io's gd_ckpt helpers into opts.path. A checkpoint holds:
 *   ckpt/arch = "<kind> <signature>", ckpt/params, ckpt/adam_m, ckpt/adam_v (floats, the whole block each);
 *   scalars step, adam_t, seed, global_batch, n_train, epoch_sum<j> (bit patterns of the doubles summed so far in
 *   the current epoch), epoch_count; datasets train/epoch_metrics (epochs, n_metrics) f64 (the per-epoch means),
 *   attributes train/metric_names ("loss,recon,kl"), train/done (0/1), train/steps, train/epochs,
 *   train/wall_seconds, train/images_per_second, train/world_size and the config text (root attribute).
 * Resuming (opts.resume) reads that file, checks the architecture, seed, global batch and training-set size,
 * and continues bit-exactly: the permutation and the noise are functions of (seed, epoch, step), nothing else.
 *
 * The library never prints: progress goes to an optional callback (rank 0 shows it).
 */
#ifndef GENDEC_TRAIN_H
#define GENDEC_TRAIN_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"
#include "gendec/model.h"
#include "gendec/nn.h"

#define GD_TRAIN_MAX_METRICS 4
#define GD_TRAIN_ARCH_MAX 1024

/* A model as the trainer sees it. */
typedef struct gd_trainable {
    void* self;
    char arch[GD_TRAIN_ARCH_MAX]; /* "<kind> <signature>", e.g. "cvae arch=mlp h=28 ..." */
    gd_params* params;
    int max_rows;                 /* largest local shard the step accepts */
    int label_cols;               /* > 0: the step reads labels with exactly this many columns */
    int needs_classes;            /* 1: the step reads classes */
    int n_metrics;                /* metric 0 is the loss being minimised */
    const char* metric_names[GD_TRAIN_MAX_METRICS];
    /* Forward + backward on b local images: x (b, d), labels (b, n_components) 0/1 (may be NULL for models that
     * do not use them), classes (b) (may be NULL likewise); row0 = global sample number of the first row.
     * Accumulates grad_scale · ∂(Σ_rows row loss)/∂θ into params->grad and ADDS the per-row sums of every
     * metric to sums[0..n_metrics). */
    gd_status (*step)(void* self, const float* x, const uint8_t* labels, const int32_t* classes, int b,
                      uint64_t row0, float grad_scale, double* sums, gd_error* err);
    /* Frees the adapter's own buffers (not the model); may be NULL. */
    void (*release)(void* self);
} gd_trainable;

/* The training images: rows [0, n) of these arrays (every rank holds them; each reads only its shards). */
typedef struct {
    const float* images;    /* (n, d) */
    const uint8_t* labels;  /* (n, n_components), or NULL */
    const int32_t* classes; /* (n), or NULL */
    int64_t n;
    int d;
    int n_components;
} gd_train_data;

/* What the progress callback sees (identical on every rank; the CLI prints on rank 0). */
typedef struct {
    int64_t step, total_steps;   /* steps done, steps planned */
    int64_t epoch, steps_per_epoch;
    int epoch_end;               /* 1: an epoch just ended and epoch_metrics are its means */
    int n_metrics;
    const char* const* metric_names;
    double metrics[GD_TRAIN_MAX_METRICS];       /* means over the steps since the last callback */
    double epoch_metrics[GD_TRAIN_MAX_METRICS]; /* valid when epoch_end */
    double images_per_second;    /* over this run's steps so far */
    int checkpointed;            /* 1: a checkpoint was just written */
} gd_train_progress;

typedef void (*gd_train_progress_fn)(void* user, const gd_train_progress* p);

/* How the ranks exchange the gradient and the weights (train.comm in the config).
 * GD_TRAIN_COMM_MPI: the generic path above (MPI_Reduce_scatter, Adam on this rank's block, MPI_Allgatherv).
 * GD_TRAIN_COMM_SHM: node-shared memory (MPI-3 MPI_Win_allocate_shared over MPI_COMM_TYPE_SHARED): each rank's
 *   gradient lives in a node-shared window; after backward and one collective, local rank r sums block
 *   gd_dist_block(n_params, r, ranks per node) of every local rank's gradient, scales by 1/size and runs Adam on
 *   it in one pass (gd_adam_step_sum), zeroing those gradient blocks as it reads them (no separate zeroing pass),
 *   and writes the weights into a node-shared weights window that every local rank's model reads directly (no
 *   allgather); the Adam moments are node-shared too (no gather for a checkpoint); a node barrier ends the step.
 *   With several nodes the locally summed block r is MPI_Allreduce'd over the ranks of local rank r on every
 *   node before Adam, so every node computes the same weights. Needs the same number of ranks on every node and
 *   replicated_adam = 0. With 2 ranks the weights are bitwise those of the MPI path (same sums, same order).
 * GD_TRAIN_COMM_AUTO (default): SHM when possible and useful (equal ranks per node, more than one per node),
 *   else MPI. While the loop runs, params->data and params->grad point into the windows; at the end they point
 *   back to the block's own buffers, which then hold the final weights. */
typedef enum { GD_TRAIN_COMM_AUTO = 0, GD_TRAIN_COMM_SHM, GD_TRAIN_COMM_MPI } gd_train_comm;

typedef struct {
    int64_t global_batch;       /* images per step over all ranks */
    int64_t epochs;             /* epochs to train */
    int64_t max_steps;          /* > 0: stop after this many steps in total (overrides epochs) */
    double lr, beta1, beta2, eps; /* Adam */
    uint64_t seed;              /* shuffle and noise streams */
    int64_t checkpoint_every;   /* steps between checkpoints (0 = only at the end / on stop) */
    int64_t check_sync_every;   /* debug: compare the weights' checksum across ranks every n steps (0 = off) */
    int64_t progress_every;     /* steps between progress callbacks (0 = only at epoch ends) */
    const char* path;           /* checkpoint / model file (NULL = write nothing) */
    const char* kind;           /* file kind attribute: "model" (c-VAE) or "cnn" */
    const char* config_yaml;    /* stored in the file (NULL = "") */
    int resume;                 /* continue from path */
    int replicated_adam;        /* 1: allreduce the gradient and run Adam on all weights on every rank */
    gd_train_comm comm_mode;    /* how the gradient and weights move between ranks (size > 1); see above */
    int shm_node_ranks;         /* testing: > 0 splits each node into groups of this many ranks, which the shm
                                 * path then treats as nodes (exercises its multi-node code on one machine) */
    volatile sig_atomic_t* stop; /* set asynchronously (signal handler) to request checkpoint + stop; may be NULL */
    gd_train_progress_fn progress;
    void* progress_user;
    MPI_Comm comm;              /* MPI_COMM_NULL or a communicator (MPI must be initialised for size > 1) */
    /* Extra string attributes written on the file's root ("component_names" ...): n pairs; may be NULL. */
    const char* const* extra_attr_names;
    const char* const* extra_attr_values;
    int n_extra_attrs;
} gd_train_opts;

/* What the run did. epoch_metrics is malloc'd ((epochs_done, n_metrics)); free with gd_train_result_free. */
typedef struct {
    int64_t steps;           /* total steps done (including those before a resume) */
    int64_t epochs_done;     /* complete epochs */
    int64_t steps_this_run;
    double wall_seconds;     /* this run */
    double images_per_second; /* this run, steps_this_run * global_batch / wall_seconds */
    double model_seconds;    /* this run, this rank: in the model's forward + backward */
    double comm_seconds;     /* gradient reduction, weight gather and the per-step metric allreduce */
    double sync_seconds;     /* part of comm_seconds: the step's first collective (one small allreduce of the
                              * metric sums and the stop / non-finite / failed flags), i.e. waiting for the slowest
                              * rank's forward + backward (load imbalance), no gradient bytes */
    double optim_seconds;    /* zeroing the gradient and Adam; on the shm path the fused pass (summing the local
                              * ranks' gradient blocks, zeroing them, Adam), and comm_seconds holds only the
                              * collectives and barriers */
    int comm_shm;            /* 1: the shm path ran (see gd_train_comm) */
    int n_metrics;
    double* epoch_metrics;
    int stopped;             /* 1 when stopped by *stop (GD_EINTR returned) */
} gd_train_result;

/* Fills opts with defaults: batch 32, 1 epoch, Adam 1e-3/0.9/0.999/1e-8, seed 1, kind "model",
 * comm MPI_COMM_NULL. */
void gd_train_opts_default(gd_train_opts* o);

/* Runs the loop (collective over opts.comm). GD_OK when the planned steps are done (the file, when a path is
 * given, is written with train/done = 1); GD_EINTR after a requested stop (checkpoint written); GD_ENUMERIC
 * on a non-finite loss; other errors as they come. On every rank the same status. */
gd_status gd_train_run(gd_trainable* t, const gd_train_data* data, const gd_train_opts* opts,
                       gd_train_result* res, gd_error* err);

void gd_train_result_free(gd_train_result* r);

/* Adapters. The c-VAE adapter converts labels to the float y, draws the noise of each row from its global
 * sample number and reports metrics loss, recon, kl. The CNN adapter uses `classes` and reports loss,
 * accuracy. Both allocate a few buffers for max_rows images (free with t->release). */
gd_status gd_trainable_cvae(gd_cvae* m, uint64_t seed, int max_rows, gd_trainable* t, gd_error* err);
gd_status gd_trainable_cnn(gd_cnn* m, int max_rows, gd_trainable* t, gd_error* err);

/* The largest number of ones in any label row of data (for the c-VAE's max_rows = local batch * this). */
int gd_train_data_max_active(const gd_train_data* data);

#endif
