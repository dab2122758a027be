/* The frame of a 2-rank test (tests/<module>/test_mpi_*.c, which ctest runs under mpiexec -n 2):
 * gd_test_mpi_init starts MPI and checks that there are 2 ranks; gd_test_mpi_done adds up the failures of every
 * rank, prints this rank's summary, ends MPI and returns the exit code. */
#ifndef GD_TEST_MPI_H
#define GD_TEST_MPI_H

#include <mpi.h>

#include "gd_test.h"

/* MPI_Init; returns this rank. A failed check unless the world has 2 ranks. */
static inline int gd_test_mpi_init(int* argc, char*** argv) {
    int rank, size;
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK_MSG(size == 2, "this test must run with 2 ranks, got %d", size);
    return rank;
}

/* Collective: prints "<name> rank R: ..." and ends MPI; returns 1 when a check failed on any rank, else 0. */
static inline int gd_test_mpi_done(const char* name) {
    int rank, failures = gd_test_failures, all = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    char buf[128];
    snprintf(buf, sizeof buf, "%s rank %d", name, rank);
    int rc = gd_test_done(buf);
    MPI_Finalize();
    return all ? 1 : rc;
}

#endif
