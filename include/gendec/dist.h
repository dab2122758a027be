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

#endif
