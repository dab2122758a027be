/* Two ranks write one HDF5 file in parallel: each its own block of rows with one collective MPI-IO write
 * (checked with H5Pget_mpio_actual_io_mode), plus rank 0's whole datasets and attributes; the commit renames once.
 * Read back serially and in parallel. Also: a parallel abort leaves nothing behind. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gd_test_mpi.h"
#include "gendec/io.h"

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv);
    char dir[512] = "";
    if (rank == 0) snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    char path[700];
    snprintf(path, sizeof path, "%s/eval.h5", dir);
    gd_error err;
    gd_error_clear(&err);

    /* 11 rows of 5: rank 0 owns rows 0..5, rank 1 rows 6..10; row r holds r*10 + c. */
    const size_t rows = 11, cols = 5;
    size_t begin = rank == 0 ? 0 : 6, count = rank == 0 ? 6 : 5;
    float* mine = malloc(count * cols * sizeof *mine);
    for (size_t r = 0; r < count; r++)
        for (size_t c = 0; c < cols; c++) mine[r * cols + c] = (float)((begin + r) * 10 + c);
    int32_t* labels = malloc(count * sizeof *labels);
    for (size_t r = 0; r < count; r++) labels[r] = (int32_t)(begin + r) % 10;

    gd_h5* f = NULL;
    CHECK_OK(gd_h5_create(path, "eval", "eval: {steps: 50}\n", MPI_COMM_WORLD, &f, &err), &err);
    if (f) {
        size_t d2[2] = {rows, cols}, d1[1] = {rows};
        CHECK_OK(gd_h5_write_rows(f, "per_image/y_star", GD_F32, 2, d2, begin, count, mine, &err), &err);
        CHECK_MSG(gd_h5_last_write_collective(f) == 1, "rank %d: the row write was not collective", rank);
        CHECK_OK(gd_h5_write_rows(f, "per_image/label", GD_I32, 1, d1, begin, count, labels, &err), &err);
        CHECK(gd_h5_last_write_collective(f) == 1);
        /* A rank with no rows still takes part. */
        size_t d3[2] = {4, 2};
        double block[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        CHECK_OK(gd_h5_write_rows(f, "per_image/only_rank1", GD_F64, 2, d3, 0, rank == 1 ? 4 : 0, block, &err),
                 &err);
        /* Whole datasets: rank 0's data is written (rank 1 passes NULL), compressed too. */
        double summary[3] = {0.91, 0.05, 0.04};
        size_t ds[1] = {3};
        CHECK_OK(gd_h5_write(f, "summary/accuracy", GD_F64, 1, ds, rank == 0 ? summary : NULL, 0, &err), &err);
        size_t dz[2] = {64, 64};
        uint8_t* img = calloc(64 * 64, 1);
        for (int i = 0; i < 64 * 64; i++) img[i] = (uint8_t)(rank == 0 ? i % 251 : 7);
        CHECK_OK(gd_h5_write(f, "summary/image", GD_U8, 2, dz, img, 5, &err), &err);
        free(img);
        CHECK_OK(gd_h5_attr_set_f64(f, "summary", "threshold", 0.5, &err), &err);
        CHECK_OK(gd_h5_attr_set_str(f, "per_image", "units", "probability", &err), &err);
        CHECK_OK(gd_h5_commit(f, &err), &err);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && gd_test_count_tmp(dir) == 0);

    /* Serial read on each rank. */
    f = NULL;
    CHECK_OK(gd_h5_open(path, "eval", MPI_COMM_NULL, &f, &err), &err);
    if (f) {
        float all[55];
        size_t d2[2] = {rows, cols};
        CHECK_OK(gd_h5_read(f, "per_image/y_star", GD_F32, 2, d2, all, &err), &err);
        int ok = 1;
        for (size_t i = 0; i < rows * cols; i++) ok &= all[i] == (float)((i / cols) * 10 + i % cols);
        CHECK(ok);
        int32_t lab[11];
        size_t d1[1] = {rows};
        CHECK_OK(gd_h5_read(f, "per_image/label", GD_I32, 1, d1, lab, &err), &err);
        CHECK(lab[0] == 0 && lab[10] == 0 && lab[7] == 7);
        double blk[8];
        size_t d3[2] = {4, 2};
        CHECK_OK(gd_h5_read(f, "per_image/only_rank1", GD_F64, 2, d3, blk, &err), &err);
        CHECK(blk[0] == 1 && blk[7] == 8);
        double acc[3];
        size_t ds[1] = {3};
        CHECK_OK(gd_h5_read(f, "summary/accuracy", GD_F64, 1, ds, acc, &err), &err);
        CHECK(acc[0] == 0.91);
        uint8_t img[64 * 64];
        size_t dz[2] = {64, 64};
        CHECK_OK(gd_h5_read(f, "summary/image", GD_U8, 2, dz, img, &err), &err);
        CHECK(img[300] == 300 % 251);
        gd_h5_meta m;
        CHECK_OK(gd_h5_meta_read(f, &m, &err), &err);
        CHECK(m.world_size == 2 && m.complete == 1 && strcmp(m.kind, "eval") == 0);
        double th;
        CHECK_OK(gd_h5_attr_get_f64(f, "summary", "threshold", &th, &err), &err);
        CHECK(th == 0.5);
        gd_h5_close(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Parallel read: each rank reads its own rows. */
    f = NULL;
    CHECK_OK(gd_h5_open(path, "eval", MPI_COMM_WORLD, &f, &err), &err);
    if (f) {
        float* back = calloc(count * cols, sizeof *back);
        size_t d2[2] = {rows, cols};
        CHECK_OK(gd_h5_read_rows(f, "per_image/y_star", GD_F32, 2, d2, begin, count, back, &err), &err);
        CHECK(memcmp(back, mine, count * cols * sizeof *back) == 0);
        free(back);
        /* Wrong kind refused on every rank. */
        gd_h5_close(f);
    }
    f = NULL;
    CHECK(gd_h5_open(path, "model", MPI_COMM_WORLD, &f, &err) == GD_ESTATE && f == NULL);

    /* An incomplete parallel file is refused everywhere; an abort removes it. */
    char path2[700];
    snprintf(path2, sizeof path2, "%s/aborted.h5", dir);
    CHECK_OK(gd_h5_create(path2, "eval", "", MPI_COMM_WORLD, &f, &err), &err);
    if (f) {
        size_t d1[1] = {rows};
        CHECK_OK(gd_h5_write_rows(f, "x", GD_I32, 1, d1, begin, count, labels, &err), &err);
        gd_h5_abort(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(stat(path2, &sb) != 0 && gd_test_count_tmp(dir) == 0);
    /* Rank disagreement about a creation failure: a folder that does not exist fails on all ranks. */
    char bad[800];
    snprintf(bad, sizeof bad, "%s/missing/x.h5", dir);
    f = NULL;
    CHECK(gd_h5_create(bad, "eval", "", MPI_COMM_WORLD, &f, &err) == GD_EIO && f == NULL);

    free(mine);
    free(labels);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        CHECK(gd_test_count_tmp(dir) == 0);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    return gd_test_mpi_done("io/mpi h5");
}
