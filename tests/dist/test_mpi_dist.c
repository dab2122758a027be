/* Two-rank smoke test of the dist layer: blocks, gradient averaging, agreement and checksum checks. */
#include "gendec/dist.h"
#include "gd_test_mpi.h"

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv), size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    gd_error err;

    /* Blocks cover 0..n exactly once, sizes differ by at most one. */
    for (size_t n = 0; n < 20; n++)
        for (int s = 1; s <= 5; s++) {
            size_t next = 0, lo = n, hi = 0;
            for (int r = 0; r < s; r++) {
                size_t b, e;
                gd_dist_block(n, r, s, &b, &e);
                CHECK(b == next && e >= b);
                next = e;
                lo = e - b < lo ? e - b : lo;
                hi = e - b > hi ? e - b : hi;
            }
            CHECK(next == n && hi - lo <= 1);
        }

    /* Mean of rank-dependent buffers. */
    float g[5];
    for (int i = 0; i < 5; i++) g[i] = (float)(rank * 10 + i);
    CHECK_OK(gd_dist_allreduce_mean(g, 5, MPI_COMM_WORLD, &err), &err);
    for (int i = 0; i < 5; i++) CHECK_NEAR(g[i], 5.0 * (size - 1) + i, 1e-6);

    /* Identical buffers agree; a differing one is named. */
    float w[3] = {1, 2, 3};
    CHECK_OK(gd_dist_check_same(w, sizeof w, "weights", MPI_COMM_WORLD, &err), &err);
    if (rank == 1) w[2] = 4;
    CHECK(gd_dist_check_same(w, sizeof w, "weights", MPI_COMM_WORLD, &err) == GD_EMPI);

    /* A failure on one rank reaches all. */
    gd_error_clear(&err);
    gd_status s = gd_dist_agree(rank == 1 ? GD_EIO : GD_OK, MPI_COMM_WORLD, &err);
    CHECK(s == GD_EIO);

    return gd_test_mpi_done("dist/mpi");
}
