/* Sharding, gradient averaging and cross-rank agreement. */
#include "gendec/dist.h"

#include <limits.h>

void gd_dist_block(size_t n, int rank, int size, size_t* begin, size_t* end) {
    size_t q = n / (size_t)size, r = n % (size_t)size, k = (size_t)rank;
    *begin = k * q + (k < r ? k : r);
    *end = *begin + q + (k < r ? 1 : 0);
}

static gd_status mpi_fail(int rc, const char* what, gd_error* err) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    return gd_error_set(err, GD_EMPI, NULL, 0, 0, "check that every rank is alive and the MPI launch was correct",
                        "%s failed: %s", what, s);
}

gd_status gd_dist_allreduce_mean(float* buf, size_t n, MPI_Comm comm, gd_error* err) {
    int size;
    MPI_Comm_size(comm, &size);
    if (size == 1) return GD_OK;
    /* MPI counts are int: reduce in pieces below INT_MAX elements. */
    for (size_t off = 0; off < n;) {
        size_t len = n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)len, MPI_FLOAT, MPI_SUM, comm);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err);
        off += len;
    }
    float inv = 1.0f / (float)size;
    for (size_t i = 0; i < n; i++) buf[i] *= inv;
    return GD_OK;
}

gd_status gd_dist_allreduce_sum_f64(double* buf, size_t n, MPI_Comm comm, gd_error* err) {
    if (n > (size_t)INT_MAX)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "reduction of %zu doubles is too large", n);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm);
    return rc == MPI_SUCCESS ? GD_OK : mpi_fail(rc, "MPI_Allreduce", err);
}

uint64_t gd_checksum64(const void* buf, size_t bytes) {
    const unsigned char* p = buf;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

gd_status gd_dist_check_same(const void* buf, size_t bytes, const char* what, MPI_Comm comm, gd_error* err) {
    int size, rank;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    uint64_t mine = gd_checksum64(buf, bytes), root = mine;
    int rc = MPI_Bcast(&root, 1, MPI_UINT64_T, 0, comm);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast", err);
    int bad = mine != root ? rank : INT_MAX, first_bad;
    rc = MPI_Allreduce(&bad, &first_bad, 1, MPI_INT, MPI_MIN, comm);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err);
    if (first_bad != INT_MAX)
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, "this is a bug in gendec's synchronisation: please report it",
                            "%s differs between rank 0 and rank %d", what, first_bad);
    return GD_OK;
}

gd_status gd_dist_agree(gd_status local, MPI_Comm comm, gd_error* err) {
    int mine = (int)local, worst = mine;
    int rc = MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce", err);
    if (worst != GD_OK && local == GD_OK)
        gd_error_set(err, (gd_status)worst, NULL, 0, 0, NULL, "another rank failed (%s); see its message",
                     gd_status_name((gd_status)worst));
    return (gd_status)worst;
}
