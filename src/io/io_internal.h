/* io internals shared by the files of src/io (not a public header). */
#ifndef GENDEC_IO_INTERNAL_H
#define GENDEC_IO_INTERNAL_H

#include <hdf5.h>

#include "gendec/io.h"
#include "io_vfd.h"

#define IO_PATH_MAX 4096

struct gd_h5 {
    hid_t fid;
    int writable;        /* opened by gd_h5_create */
    int parallel;        /* MPI-IO driver, comm has > 1 rank */
    int rank, size;      /* in comm (0, 1 when serial) */
    MPI_Comm comm;       /* a duplicate of the caller's communicator, or MPI_COMM_NULL */
    int last_collective; /* result of the last gd_h5_write_rows */
    int failed;          /* a write failed: gd_h5_commit refuses the file */
    io_vfd_state* vfd;   /* serial files being written: the driver's state (NULL otherwise) */
    hid_t drv;           /* serial files being written: the driver's registration, released after H5Fclose */
    int vfd_err;         /* errno of the driver's first failure, handed over when it closed the file */
    char path[IO_PATH_MAX];
    char tmp[IO_PATH_MAX];
    char kind[64];
};

/* HDF5 prints its error stack by default: a scope that switches that off and puts it back. */
typedef struct {
    H5E_auto2_t func;
    void* data;
} io_quiet;
void io_quiet_begin(io_quiet* q);
void io_quiet_end(const io_quiet* q);

/* Sets err with file = `file`, appending the innermost message of HDF5's error stack (if any) to the
 * printf-style message, then clears the stack. Returns code. */
gd_status io_h5_fail(gd_error* err, gd_status code, const char* file, const char* hint, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* After HDF5 calls that write to f: when the serial file driver recorded an I/O failure, turns st into GD_EIO
 * naming the path, `what` was being written and the system message (with a hint for that errno). Any GD_EIO
 * marks f as failed (gd_h5_commit then refuses it). Returns the resulting status. */
gd_status io_vfd_check(gd_h5* f, gd_status st, const char* what, gd_error* err);

/* "<path>.tmp.<pid>" into buf; -1 when it does not fit. */
int io_tmp_path(char* buf, size_t n, const char* path, long pid);

/* A hint for an errno from creating or writing a file. */
const char* io_errno_hint(int e);

/* fsync of a file by path, and of the folder that holds `path` (so that a rename is durable). 0 or errno. */
int io_fsync_path(const char* path);
int io_fsync_dir_of(const char* path);

/* The HDF5 file type and native memory type of a gd_dtype (borrowed ids; H5I_INVALID_HID when unknown). */
hid_t io_file_type(gd_dtype t);
hid_t io_mem_type(gd_dtype t);

/* The gd_dtype of an HDF5 type, or 0 when gendec does not use it. */
gd_dtype io_dtype_of(hid_t type);

/* Writes "float32 (3, 4)" into buf. */
void io_shape_str(char* buf, size_t n, gd_dtype t, int rank, const size_t* dims);

/* 1 if every component of the path `name` exists in the file, 0 if not. */
int io_path_exists(hid_t fid, const char* name);

#endif
