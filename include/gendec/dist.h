/* dist: the MPI pieces every parallel stage shares - sharding, gradient averaging, agreement checks.
 * The caller initialises MPI (the CLI does, once); these functions take the communicator explicitly. */
#ifndef GENDEC_DIST_H
#define GENDEC_DIST_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* The contiguous block [*begin, *end) of n items that rank `rank` of `size` owns: the first n % size ranks
 * get one item more. Pure arithmetic, so any rank can compute any other rank's block. */
void gd_dist_block(size_t n, int rank, int size, size_t* begin, size_t* end);

/* Averages buf[0..n) over all ranks of comm in place (MPI_Allreduce sum, then scale by 1/size). */
gd_status gd_dist_allreduce_mean(float* buf, size_t n, MPI_Comm comm, gd_error* err);

/* Sums buf[0..n) of doubles over all ranks in place. */
gd_status gd_dist_allreduce_sum_f64(double* buf, size_t n, MPI_Comm comm, gd_error* err);

/* A 64-bit FNV-1a checksum of the bytes of buf. */
uint64_t gd_checksum64(const void* buf, size_t bytes);

/* Checks that every rank holds the same bytes in buf (compares checksums); GD_EMPI naming the first
 * disagreeing rank otherwise. Collective. */
gd_status gd_dist_check_same(const void* buf, size_t bytes, const char* what, MPI_Comm comm, gd_error* err);

/* Turns a local status into a collective one: returns the worst status of any rank, and on ranks whose own
 * status was GD_OK fills err with "rank R failed" so that every rank leaves the collective step together. */
gd_status gd_dist_agree(gd_status local, MPI_Comm comm, gd_error* err);

/* ---- work distribution --------------------------------------------------------------------------------
 * n_items independent items; rank 0 holds their inputs and collects their outputs. Each item has a task
 * payload (at most task_bytes, packed by rank 0) and a result payload (at most result_bytes, stored by rank 0).
 * Static mode: rank r computes the block gd_dist_block(n_items, r, size), tasks go out with one MPI_Scatterv
 * and results come back with one MPI_Gatherv. Dynamic mode: rank 0 hands out items one at a time on request
 * and computes items itself between requests (it first waits until every other rank has its first item);
 * every other rank keeps one request in flight (prefetch), so it rarely waits while rank 0 computes. Items are computed identically in both modes whatever the rank count;
 * only who computes them changes. The callbacks return GD_OK or fill err; after a failure on any rank the
 * others stop taking items and every rank returns the worst status (as gd_dist_agree). */
typedef struct {
    size_t n_items;
    size_t task_bytes;   /* payload slot per item (> 0, < 2^31 - 16) */
    size_t result_bytes; /* payload slot per item (> 0, < 2^31 - 16) */
    void* ctx;
    /* rank 0: writes item's task into task[0..task_bytes) */
    gd_status (*pack)(void* ctx, size_t item, void* task, gd_error* err);
    /* any rank: computes item from its task into result[0..result_bytes) */
    gd_status (*work)(void* ctx, size_t item, const void* task, void* result, gd_error* err);
    /* rank 0: takes item's result (called once per item, in any order) */
    gd_status (*store)(void* ctx, size_t item, const void* result, gd_error* err);
    /* rank 0, optional: called after each store with the number of items stored so far */
    void (*progress)(void* ctx, size_t done, size_t total);
} gd_dist_work;

/* Runs every item over comm (collective); dynamic = 0 static, 1 dynamic. Every rank passes the same n_items,
 * sizes and mode; pack/store are only called on rank 0. */
gd_status gd_dist_run(const gd_dist_work* w, int dynamic, MPI_Comm comm, gd_error* err);

/* ---- communication cost model ------------------------------------------------------------------------
 * Fits t ≈ alpha + beta·n to m measured points (n_i bytes, t_i seconds) by least squares: relative = 1
 * minimises Σ ((t_i − α − β·n_i) / t_i)² (so microsecond latencies and millisecond transfers weigh alike;
 * needs every t_i > 0), relative = 0 minimises Σ (t_i − α − β·n_i)². *rms gets the root mean square of the
 * residuals minimised (relative or in seconds). Needs m >= 2 and two distinct n_i; GD_EINVAL otherwise.
 * α may come out negative when the points are not on a line: the caller reports it, the fit does not clamp. */
gd_status gd_dist_fit_alpha_beta(const double* n, const double* t, size_t m, int relative, double* alpha,
                                 double* beta, double* rms, gd_error* err);

#endif
