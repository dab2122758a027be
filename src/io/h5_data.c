/* HDF5 datasets and attributes: typed, shape-checked, groups created on demand, collective row blocks. */
#include "io_internal.h"

#include <H5FDmpio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_ATTR_MAX ((size_t)64 << 20)

/* ---- types and shapes ------------------------------------------------------------------------------ */

size_t gd_dtype_size(gd_dtype t) {
    switch (t) {
    case GD_F32: return 4;
    case GD_F64: return 8;
    case GD_I32: return 4;
    case GD_I64: return 8;
    case GD_U8: return 1;
    case GD_U64: return 8;
    }
    return 0;
}

const char* gd_dtype_name(gd_dtype t) {
    switch (t) {
    case GD_F32: return "float32";
    case GD_F64: return "float64";
    case GD_I32: return "int32";
    case GD_I64: return "int64";
    case GD_U8: return "uint8";
    case GD_U64: return "uint64";
    }
    return "unknown";
}

hid_t io_file_type(gd_dtype t) {
    switch (t) {
    case GD_F32: return H5T_IEEE_F32LE;
    case GD_F64: return H5T_IEEE_F64LE;
    case GD_I32: return H5T_STD_I32LE;
    case GD_I64: return H5T_STD_I64LE;
    case GD_U8: return H5T_STD_U8LE;
    case GD_U64: return H5T_STD_U64LE;
    }
    return H5I_INVALID_HID;
}

hid_t io_mem_type(gd_dtype t) {
    switch (t) {
    case GD_F32: return H5T_NATIVE_FLOAT;
    case GD_F64: return H5T_NATIVE_DOUBLE;
    case GD_I32: return H5T_NATIVE_INT32;
    case GD_I64: return H5T_NATIVE_INT64;
    case GD_U8: return H5T_NATIVE_UINT8;
    case GD_U64: return H5T_NATIVE_UINT64;
    }
    return H5I_INVALID_HID;
}

gd_dtype io_dtype_of(hid_t type) {
    H5T_class_t c = H5Tget_class(type);
    size_t s = H5Tget_size(type);
    if (c == H5T_FLOAT) return s == 4 ? GD_F32 : s == 8 ? GD_F64 : 0;
    if (c == H5T_INTEGER) {
        H5T_sign_t sign = H5Tget_sign(type);
        if (sign == H5T_SGN_2) return s == 4 ? GD_I32 : s == 8 ? GD_I64 : 0;
        if (sign == H5T_SGN_NONE) return s == 1 ? GD_U8 : s == 8 ? GD_U64 : 0;
    }
    return 0;
}

void io_shape_str(char* buf, size_t n, gd_dtype t, int rank, const size_t* dims) {
    size_t len = 0;
    int w = snprintf(buf, n, "%s (", t ? gd_dtype_name(t) : "unsupported type");
    if (w > 0) len = (size_t)w < n ? (size_t)w : n - 1;
    for (int i = 0; i < rank && len + 1 < n; i++) {
        w = snprintf(buf + len, n - len, "%s%zu", i ? ", " : "", dims[i]);
        if (w > 0) len += (size_t)w < n - len ? (size_t)w : n - len - 1;
    }
    if (len + 1 < n) snprintf(buf + len, n - len, ")");
}

int io_path_exists(hid_t fid, const char* name) {
    if (!name || !name[0] || strcmp(name, "/") == 0) return 1;
    char buf[1024];
    if (strlen(name) >= sizeof buf) return 0;
    snprintf(buf, sizeof buf, "%s", name);
    for (char* p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (H5Lexists(fid, buf, H5P_DEFAULT) <= 0) return 0;
            if (c == '\0') break;
            *p = c;
        }
    }
    return H5Oexists_by_name(fid, name, H5P_DEFAULT) > 0;
}

/* Product of dims into *n; -1 on overflow. */
static int count_elems(int rank, const size_t* dims, size_t* n) {
    size_t c = 1;
    for (int i = 0; i < rank; i++)
        if (gd_mul_overflows(c, dims[i], &c)) return -1;
    *n = c;
    return 0;
}

static gd_status check_args(gd_h5* f, const char* name, gd_dtype t, int rank, gd_error* err) {
    if (!f || f->fid < 0) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "HDF5 file is not open");
    if (!name || !name[0] || strcmp(name, "/") == 0)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "empty dataset name");
    if (!gd_dtype_size(t)) return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "unknown element type %d", (int)t);
    if (rank < 0 || rank > GD_H5_MAX_RANK)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': rank %d outside 0..%d", name, rank,
                            GD_H5_MAX_RANK);
    return GD_OK;
}

static hid_t make_lcpl(void) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0) H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

/* A transfer property list: collective MPI-IO in parallel mode, default otherwise. */
static hid_t make_dxpl(const gd_h5* f) {
    if (!f->parallel) return H5P_DEFAULT;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (dxpl >= 0) H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    return dxpl;
}

static void close_id(hid_t id, herr_t (*fn)(hid_t)) {
    if (id >= 0 && id != H5P_DEFAULT) fn(id);
}

/* Opens dataset `name`, checking that its type is t and rank is `rank`; fills dims (all of them). */
static gd_status open_checked(gd_h5* f, const char* name, gd_dtype t, int rank, size_t* dims, hid_t* dset,
                              gd_error* err) {
    *dset = H5I_INVALID_HID;
    if (!io_path_exists(f->fid, name))
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0,
                            "the file was written by another stage or version; re-run the stage that writes it",
                            "no dataset '%s'", name);
    hid_t d = H5Dopen2(f->fid, name, H5P_DEFAULT);
    if (d < 0) return io_h5_fail(err, GD_EFORMAT, f->path, NULL, "'%s' is not a dataset", name);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    gd_dtype have = type >= 0 ? io_dtype_of(type) : 0;
    int have_rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t hd[GD_H5_MAX_RANK] = {0};
    size_t sd[GD_H5_MAX_RANK] = {0};
    if (have_rank >= 0 && have_rank <= GD_H5_MAX_RANK) {
        H5Sget_simple_extent_dims(space, hd, NULL);
        for (int i = 0; i < have_rank; i++) sd[i] = (size_t)hd[i];
    }
    close_id(type, H5Tclose);
    close_id(space, H5Sclose);
    if (have != t || have_rank != rank) {
        char a[256], b[256];
        io_shape_str(a, sizeof a, have, have_rank > 0 && have_rank <= GD_H5_MAX_RANK ? have_rank : 0, sd);
        io_shape_str(b, sizeof b, t, rank, dims);
        H5Dclose(d);
        H5Eclear2(H5E_DEFAULT);
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0, "the file does not match this version of gendec or "
                            "this configuration; re-run the stage that writes it",
                            "dataset '%s' is %s, expected %s%s", name, a, rank ? "" : "a scalar ",
                            rank ? b : gd_dtype_name(t));
    }
    for (int i = 0; i < rank; i++) dims[i] = sd[i];
    *dset = d;
    return GD_OK;
}

/* ---- writing --------------------------------------------------------------------------------------- */

gd_status gd_h5_write(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, const void* data,
                      int deflate_level, gd_error* err) {
    gd_status st = check_args(f, name, t, rank, err);
    if (st) return st;
    size_t n;
    if (count_elems(rank, dims, &n) || n > ((size_t)1 << 62) / gd_dtype_size(t))
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': shape too large", name);
    if (deflate_level < 0 || deflate_level > 9)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': deflate level %d outside 0..9", name,
                            deflate_level);
    if (n > 0 && !data && f->rank == 0)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': no data", name);
    io_quiet q;
    io_quiet_begin(&q);
    if (io_path_exists(f->fid, name)) {
        H5Eclear2(H5E_DEFAULT);
        io_quiet_end(&q);
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, "use another name or gd_h5_write_rows",
                            "dataset '%s' exists already", name);
    }
    hsize_t hd[GD_H5_MAX_RANK], chunk[GD_H5_MAX_RANK];
    for (int i = 0; i < rank; i++) hd[i] = chunk[i] = dims[i];
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
    hid_t lcpl = make_lcpl(), dcpl = H5Pcreate(H5P_DATASET_CREATE), dxpl = make_dxpl(f);
    size_t row_bytes = gd_dtype_size(t) * (rank > 0 && dims[0] ? n / dims[0] : 1);
    if (deflate_level > 0 && rank > 0 && n > 0 && row_bytes <= ((size_t)1 << 30)) {
        size_t rows = ((size_t)1 << 20) / row_bytes;
        chunk[0] = rows < 1 ? 1 : rows > dims[0] ? dims[0] : rows;
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)deflate_level);
    }
    hid_t dset = H5I_INVALID_HID;
    if (space >= 0 && lcpl >= 0 && dcpl >= 0 && dxpl >= 0)
        dset = H5Dcreate2(f->fid, name, io_file_type(t), space, lcpl, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot create dataset '%s'", name);
    } else if (n > 0) {
        static const char dummy[8];
        if (f->parallel && f->rank != 0) H5Sselect_none(space);
        const void* buf = f->parallel && f->rank != 0 ? (const void*)dummy : data;
        if (H5Dwrite(dset, io_mem_type(t), space, space, dxpl, buf) < 0)
            st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write dataset '%s'", name);
    }
    /* Closing flushes cached chunks: a failure here (disk full) must not go unnoticed. */
    if (dset >= 0 && H5Dclose(dset) < 0 && !st)
        st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write dataset '%s'", name);
    close_id(dxpl, H5Pclose);
    close_id(dcpl, H5Pclose);
    close_id(lcpl, H5Pclose);
    close_id(space, H5Sclose);
    io_quiet_end(&q);
    char what[300];
    snprintf(what, sizeof what, "dataset '%s'", name);
    return io_vfd_check(f, st, what, err);
}

gd_status gd_h5_write_rows(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, size_t row_begin,
                           size_t row_count, const void* data, gd_error* err) {
    gd_status st = check_args(f, name, t, rank, err);
    if (st) return st;
    if (rank < 1) return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': rows need rank >= 1", name);
    size_t n;
    if (count_elems(rank, dims, &n) || n > ((size_t)1 << 62) / gd_dtype_size(t))
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': shape too large", name);
    if (row_begin > dims[0] || row_count > dims[0] - row_begin)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': rows [%zu, %zu) outside 0..%zu", name,
                            row_begin, row_begin + row_count, dims[0]);
    if (row_count > 0 && n > 0 && !data)
        return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': no data", name);
    io_quiet q;
    io_quiet_begin(&q);
    hsize_t hd[GD_H5_MAX_RANK], start[GD_H5_MAX_RANK] = {0}, count[GD_H5_MAX_RANK];
    for (int i = 0; i < rank; i++) hd[i] = count[i] = dims[i];
    start[0] = row_begin;
    count[0] = row_count;
    hid_t dset = H5I_INVALID_HID;
    if (io_path_exists(f->fid, name)) {
        size_t have[GD_H5_MAX_RANK];
        st = open_checked(f, name, t, rank, have, &dset, err);
        for (int i = 0; !st && i < rank; i++)
            if (have[i] != dims[i]) {
                char a[256], b[256];
                io_shape_str(a, sizeof a, t, rank, have);
                io_shape_str(b, sizeof b, t, rank, dims);
                st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "dataset '%s' is %s, expected %s", name, a, b);
            }
    } else {
        hid_t space = H5Screate_simple(rank, hd, NULL), lcpl = make_lcpl();
        if (space >= 0 && lcpl >= 0)
            dset = H5Dcreate2(f->fid, name, io_file_type(t), space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (dset < 0)
            st = io_h5_fail(err, GD_EIO, f->path, NULL, "cannot create dataset '%s'", name);
        close_id(lcpl, H5Pclose);
        close_id(space, H5Sclose);
    }
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, dxpl = H5P_DEFAULT;
    if (!st) {
        fspace = H5Dget_space(dset);
        hsize_t one = 1;
        int empty = row_count == 0 || n == 0;
        mspace = empty ? H5Screate_simple(1, &one, NULL) : H5Screate_simple(rank, count, NULL);
        if (empty) {
            H5Sselect_none(fspace);
            H5Sselect_none(mspace);
        } else {
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
        }
        dxpl = make_dxpl(f);
        static const char dummy[8];
        if (fspace < 0 || mspace < 0 || dxpl < 0 ||
            H5Dwrite(dset, io_mem_type(t), mspace, fspace, dxpl, empty ? (const void*)dummy : data) < 0)
            st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write rows [%zu, %zu) of '%s'",
                            row_begin, row_begin + row_count, name);
        f->last_collective = 0;
        if (!st && f->parallel) {
            H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
            H5Pget_mpio_actual_io_mode(dxpl, &mode);
            f->last_collective = mode != H5D_MPIO_NO_COLLECTIVE;
        }
    }
    close_id(dxpl, H5Pclose);
    close_id(mspace, H5Sclose);
    close_id(fspace, H5Sclose);
    if (dset >= 0 && H5Dclose(dset) < 0 && !st)
        st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write dataset '%s'", name);
    io_quiet_end(&q);
    char what[300];
    snprintf(what, sizeof what, "dataset '%s'", name);
    return io_vfd_check(f, st, what, err);
}

/* ---- reading --------------------------------------------------------------------------------------- */

int gd_h5_exists(gd_h5* f, const char* name) {
    if (!f || f->fid < 0) return 0;
    io_quiet q;
    io_quiet_begin(&q);
    int r = io_path_exists(f->fid, name);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return r;
}

gd_status gd_h5_info(gd_h5* f, const char* name, gd_dtype* t, int* rank, size_t* dims, gd_error* err) {
    gd_status st = check_args(f, name, GD_F32, 0, err);
    if (st) return st;
    io_quiet q;
    io_quiet_begin(&q);
    hid_t d = io_path_exists(f->fid, name) ? H5Dopen2(f->fid, name, H5P_DEFAULT) : H5I_INVALID_HID;
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        io_quiet_end(&q);
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0,
                            "the file was written by another stage or version; re-run the stage that writes it",
                            "no dataset '%s'", name);
    }
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    *t = type >= 0 ? io_dtype_of(type) : 0;
    *rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t hd[GD_H5_MAX_RANK];
    if (*rank >= 0 && *rank <= GD_H5_MAX_RANK) {
        H5Sget_simple_extent_dims(space, hd, NULL);
        for (int i = 0; i < *rank; i++) dims[i] = (size_t)hd[i];
    }
    close_id(type, H5Tclose);
    close_id(space, H5Sclose);
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    if (!*t)
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "dataset '%s' has a type gendec does not use", name);
    if (*rank < 0 || *rank > GD_H5_MAX_RANK)
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "dataset '%s' has an unsupported rank",
                            name);
    return GD_OK;
}

/* Reads rows [row_begin, row_begin+row_count) (all when whole) of an open, checked dataset into out. */
static gd_status read_block(gd_h5* f, const char* name, hid_t d, gd_dtype t, int rank, const size_t* dims,
                            size_t row_begin, size_t row_count, int whole, void* out, gd_error* err) {
    gd_status st = GD_OK;
    hid_t fspace = H5Dget_space(d), mspace = H5I_INVALID_HID;
    hsize_t start[GD_H5_MAX_RANK] = {0}, count[GD_H5_MAX_RANK];
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    if (!whole) {
        start[0] = row_begin;
        count[0] = row_count;
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    }
    mspace = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, count, NULL);
    if (fspace < 0 || mspace < 0 || H5Dread(d, io_mem_type(t), mspace, fspace, H5P_DEFAULT, out) < 0)
        st = io_h5_fail(err, GD_EFORMAT, f->path, "the file is damaged; delete it and re-run the stage",
                        "cannot read dataset '%s'", name);
    close_id(mspace, H5Sclose);
    close_id(fspace, H5Sclose);
    return st;
}

gd_status gd_h5_read(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, void* out,
                     gd_error* err) {
    gd_status st = check_args(f, name, t, rank, err);
    if (st) return st;
    io_quiet q;
    io_quiet_begin(&q);
    size_t have[GD_H5_MAX_RANK], n = 1;
    hid_t d;
    st = open_checked(f, name, t, rank, have, &d, err);
    for (int i = 0; !st && i < rank; i++)
        if (have[i] != dims[i]) {
            char a[256], b[256];
            io_shape_str(a, sizeof a, t, rank, have);
            io_shape_str(b, sizeof b, t, rank, dims);
            st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0,
                              "the file does not match this configuration; re-run the stage that writes it",
                              "dataset '%s' is %s, expected %s", name, a, b);
        }
    if (!st && !count_elems(rank, dims, &n) && n > 0) st = read_block(f, name, d, t, rank, dims, 0, 0, 1, out, err);
    close_id(d, H5Dclose);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return st;
}

gd_status gd_h5_read_rows(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, size_t row_begin,
                          size_t row_count, void* out, gd_error* err) {
    gd_status st = check_args(f, name, t, rank, err);
    if (st) return st;
    if (rank < 1) return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "dataset '%s': rows need rank >= 1", name);
    io_quiet q;
    io_quiet_begin(&q);
    size_t have[GD_H5_MAX_RANK];
    hid_t d;
    st = open_checked(f, name, t, rank, have, &d, err);
    for (int i = 0; !st && i < rank; i++)
        if ((i > 0 || dims[0] != 0) && have[i] != dims[i]) {
            char a[256], b[256];
            io_shape_str(a, sizeof a, t, rank, have);
            io_shape_str(b, sizeof b, t, rank, dims);
            st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0,
                              "the file does not match this configuration; re-run the stage that writes it",
                              "dataset '%s' is %s, expected %s", name, a, b);
        }
    if (!st && (row_begin > have[0] || row_count > have[0] - row_begin))
        st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "dataset '%s' has %zu rows, rows [%zu, %zu) asked", name,
                          have[0], row_begin, row_begin + row_count);
    size_t n;
    if (!st && row_count > 0 && !count_elems(rank, have, &n) && n > 0)
        st = read_block(f, name, d, t, rank, have, row_begin, row_count, 0, out, err);
    close_id(d, H5Dclose);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return st;
}

gd_status gd_h5_read_alloc(gd_h5* f, const char* name, gd_dtype t, int rank, size_t* dims, size_t max_elems,
                           void** out, gd_error* err) {
    *out = NULL;
    gd_status st = check_args(f, name, t, rank, err);
    if (st) return st;
    io_quiet q;
    io_quiet_begin(&q);
    hid_t d;
    st = open_checked(f, name, t, rank, dims, &d, err);
    size_t n = 0;
    if (!st && (count_elems(rank, dims, &n) || n > max_elems || n > SIZE_MAX / gd_dtype_size(t))) {
        char a[256];
        io_shape_str(a, sizeof a, t, rank, dims);
        st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0, "the file is damaged or not meant for this machine",
                          "dataset '%s' is %s, more than the limit of %zu elements", name, a, max_elems);
    }
    if (!st && n > 0) {
        *out = gd_alloc(n * gd_dtype_size(t));
        if (!*out)
            st = gd_error_set(err, GD_ENOMEM, f->path, 0, 0, NULL, "no memory for dataset '%s' (%zu bytes)", name,
                              n * gd_dtype_size(t));
        else if ((st = read_block(f, name, d, t, rank, dims, 0, 0, 1, *out, err))) {
            gd_free(*out);
            *out = NULL;
        }
    }
    close_id(d, H5Dclose);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return st;
}

typedef struct {
    char** names;
    size_t n, cap;
    int failed;
} name_list;

static herr_t list_cb(hid_t g, const char* name, const H5L_info_t* info, void* data) {
    (void)g;
    (void)info;
    name_list* l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char** nn = realloc(l->names, cap * sizeof *nn);
        if (!nn) return (l->failed = 1, -1);
        l->names = nn;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name))) return (l->failed = 1, -1);
    l->n++;
    return 0;
}

gd_status gd_h5_list(gd_h5* f, const char* group, char*** names, size_t* n, gd_error* err) {
    *names = NULL;
    *n = 0;
    if (!f || f->fid < 0) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "HDF5 file is not open");
    const char* g = group && group[0] ? group : "/";
    io_quiet q;
    io_quiet_begin(&q);
    gd_status st = GD_OK;
    hid_t gid = io_path_exists(f->fid, g) ? H5Gopen2(f->fid, g, H5P_DEFAULT) : H5I_INVALID_HID;
    name_list l = {0};
    if (gid < 0) {
        st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "no group '%s'", g);
    } else {
        hsize_t idx = 0;
        if (H5Literate(gid, H5_INDEX_NAME, H5_ITER_INC, &idx, list_cb, &l) < 0)
            st = l.failed ? gd_error_set(err, GD_ENOMEM, f->path, 0, 0, NULL, "out of memory listing '%s'", g)
                          : io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot list group '%s'", g);
        H5Gclose(gid);
    }
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    if (st) {
        gd_h5_names_free(l.names, l.n);
        return st;
    }
    *names = l.names;
    *n = l.n;
    return GD_OK;
}

void gd_h5_names_free(char** names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- attributes ------------------------------------------------------------------------------------ */

/* Opens (creating groups when `create`) the object at obj; returns its id or H5I_INVALID_HID with err set. */
static hid_t open_obj(gd_h5* f, const char* obj, int create, gd_error* err) {
    const char* o = obj && obj[0] ? obj : "/";
    if (!io_path_exists(f->fid, o)) {
        if (!create) {
            gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "no object '%s'", o);
            return H5I_INVALID_HID;
        }
        hid_t lcpl = make_lcpl();
        hid_t g = lcpl >= 0 ? H5Gcreate2(f->fid, o, lcpl, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
        close_id(lcpl, H5Pclose);
        if (g < 0) io_h5_fail(err, GD_EIO, f->path, NULL, "cannot create group '%s'", o);
        return g;
    }
    hid_t id = H5Oopen(f->fid, o, H5P_DEFAULT);
    if (id < 0) io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot open '%s'", o);
    return id;
}

/* Writes attribute `name` on obj with file type ftype, memory type mtype, dataspace space, value buf. */
static gd_status attr_write(gd_h5* f, const char* obj, const char* name, hid_t ftype, hid_t mtype, hid_t space,
                            const void* buf, gd_error* err) {
    if (!f || f->fid < 0) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "HDF5 file is not open");
    if (!f->writable) return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "opened for reading");
    if (!name || !name[0]) return gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "empty attribute name");
    gd_status st = GD_OK;
    hid_t o = open_obj(f, obj, 1, err);
    if (o < 0) return err ? err->code : GD_EIO;
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t a = H5Acreate2(o, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, buf) < 0)
        st = io_h5_fail(err, GD_EIO, f->path, NULL, "cannot write attribute '%s' of '%s'", name,
                        obj && obj[0] ? obj : "/");
    close_id(a, H5Aclose);
    H5Oclose(o);
    char what[300];
    snprintf(what, sizeof what, "attribute '%s'", name);
    return io_vfd_check(f, st, what, err);
}

/* Strings are stored fixed-length (null-terminated), never variable-length: a variable-length string lives
 * in HDF5's global heap, and libhdf5 1.10.8 loops forever reading a corrupt global heap (found by
 * tests/fuzz/fuzz_checkpoint.c; the input is kept in tests/fuzz/regressions/checkpoint/). */
gd_status gd_h5_attr_set_str(gd_h5* f, const char* obj, const char* name, const char* value, gd_error* err) {
    io_quiet q;
    io_quiet_begin(&q);
    const char* v = value ? value : "";
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    gd_status st = attr_write(f, obj, name, t, t, s, v, err);
    H5Sclose(s);
    H5Tclose(t);
    io_quiet_end(&q);
    return st;
}

/* Writes a scalar numeric attribute. */
static gd_status attr_set_num(gd_h5* f, const char* obj, const char* name, hid_t ftype, hid_t mtype, const void* v,
                              gd_error* err) {
    io_quiet q;
    io_quiet_begin(&q);
    hid_t s = H5Screate(H5S_SCALAR);
    gd_status st = attr_write(f, obj, name, ftype, mtype, s, v, err);
    H5Sclose(s);
    io_quiet_end(&q);
    return st;
}

gd_status gd_h5_attr_set_i64(gd_h5* f, const char* obj, const char* name, int64_t value, gd_error* err) {
    return attr_set_num(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
}

gd_status gd_h5_attr_set_u64(gd_h5* f, const char* obj, const char* name, uint64_t value, gd_error* err) {
    return attr_set_num(f, obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value, err);
}

gd_status gd_h5_attr_set_f64(gd_h5* f, const char* obj, const char* name, double value, gd_error* err) {
    return attr_set_num(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, err);
}

gd_status gd_h5_attr_set_f64s(gd_h5* f, const char* obj, const char* name, const double* v, size_t n,
                              gd_error* err) {
    if (n == 0) return gd_error_set(err, GD_EINVAL, f ? f->path : NULL, 0, 0, NULL, "attribute '%s': no values", name);
    io_quiet q;
    io_quiet_begin(&q);
    hsize_t hn = n;
    hid_t s = H5Screate_simple(1, &hn, NULL);
    gd_status st = attr_write(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s, v, err);
    H5Sclose(s);
    io_quiet_end(&q);
    return st;
}

int gd_h5_attr_exists(gd_h5* f, const char* obj, const char* name) {
    if (!f || f->fid < 0 || !name) return 0;
    io_quiet q;
    io_quiet_begin(&q);
    const char* o = obj && obj[0] ? obj : "/";
    int r = io_path_exists(f->fid, o) && H5Aexists_by_name(f->fid, o, name, H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return r;
}

/* Opens attribute `name` of obj for reading, with its type, class and element count. */
static gd_status attr_open(gd_h5* f, const char* obj, const char* name, hid_t* a, hid_t* type, hssize_t* npoints,
                           gd_error* err) {
    *a = *type = H5I_INVALID_HID;
    if (!f || f->fid < 0) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "HDF5 file is not open");
    const char* o = obj && obj[0] ? obj : "/";
    if (!io_path_exists(f->fid, o) || H5Aexists_by_name(f->fid, o, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return gd_error_set(err, GD_EFORMAT, f->path, 0, 0,
                            "the file was written by another stage or version; re-run the stage that writes it",
                            "no attribute '%s' on '%s'", name, o);
    }
    *a = H5Aopen_by_name(f->fid, o, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = *a >= 0 ? H5Aget_space(*a) : H5I_INVALID_HID;
    *npoints = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    close_id(s, H5Sclose);
    *type = *a >= 0 ? H5Aget_type(*a) : H5I_INVALID_HID;
    if (*a < 0 || *type < 0 || *npoints < 0) {
        close_id(*type, H5Tclose);
        close_id(*a, H5Aclose);
        *a = *type = H5I_INVALID_HID;
        return io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot read attribute '%s' of '%s'", name, o);
    }
    return GD_OK;
}

static gd_status attr_bad_type(gd_h5* f, const char* obj, const char* name, const char* want, gd_error* err) {
    return gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL, "attribute '%s' of '%s' is not %s", name,
                        obj && obj[0] ? obj : "/", want);
}

/* Reads a string attribute into a new malloc'ed string (limit STR_ATTR_MAX). */
static gd_status attr_get_str(gd_h5* f, const char* obj, const char* name, char** value, gd_error* err) {
    *value = NULL;
    hid_t a, type;
    hssize_t np;
    gd_status st = attr_open(f, obj, name, &a, &type, &np, err);
    if (st) return st;
    if (H5Tget_class(type) != H5T_STRING || np != 1) {
        st = attr_bad_type(f, obj, name, "a string", err);
    } else if (H5Tis_variable_str(type) != 0) {
        /* gendec writes fixed-length strings only (see gd_h5_attr_set_str); reading a variable-length one would
         * walk the global heap, which libhdf5 cannot do safely on a damaged file. */
        st = attr_bad_type(f, obj, name, "a fixed-length string (gendec never writes variable-length ones)", err);
    } else {
        size_t sz = H5Tget_size(type);
        if (sz > STR_ATTR_MAX) {
            st = attr_bad_type(f, obj, name, "a string of at most 64 MiB", err);
        } else if (!(*value = calloc(1, sz + 1))) {
            st = gd_error_set(err, GD_ENOMEM, f->path, 0, 0, NULL, "out of memory");
        } else {
            hid_t m = H5Tcopy(H5T_C_S1);
            H5Tset_size(m, sz);
            H5Tset_strpad(m, H5T_STR_NULLPAD);
            H5Tset_cset(m, H5Tget_cset(type));
            if (H5Aread(a, m, *value) < 0) {
                st = io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot read attribute '%s'", name);
                free(*value);
                *value = NULL;
            }
            H5Tclose(m);
        }
    }
    H5Tclose(type);
    H5Aclose(a);
    return st;
}

gd_status gd_h5_attr_get_str_alloc(gd_h5* f, const char* obj, const char* name, char** value, gd_error* err) {
    io_quiet q;
    io_quiet_begin(&q);
    gd_status st = attr_get_str(f, obj, name, value, err);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return st;
}

gd_status gd_h5_attr_get_str(gd_h5* f, const char* obj, const char* name, char* buf, size_t n, gd_error* err) {
    char* s = NULL;
    gd_status st = gd_h5_attr_get_str_alloc(f, obj, name, &s, err);
    if (st) return st;
    size_t len = strlen(s);
    if (len >= n) st = gd_error_set(err, GD_EFORMAT, f->path, 0, 0, NULL,
                                    "attribute '%s' is %zu characters long, at most %zu expected", name,
                                    len, n ? n - 1 : 0);
    else memcpy(buf, s, len + 1);
    free(s);
    return st;
}

/* Reads a numeric attribute of np == n elements converted to mtype; `cls_ok` says which classes are accepted. */
static gd_status attr_get_num(gd_h5* f, const char* obj, const char* name, int allow_float, int want_unsigned,
                              hid_t mtype, void* out, size_t n, const char* want, gd_error* err) {
    io_quiet q;
    io_quiet_begin(&q);
    hid_t a, type;
    hssize_t np;
    gd_status st = attr_open(f, obj, name, &a, &type, &np, err);
    if (!st) {
        H5T_class_t c = H5Tget_class(type);
        if ((c != H5T_INTEGER && !(allow_float && c == H5T_FLOAT)) || (size_t)np != n) {
            st = attr_bad_type(f, obj, name, want, err);
        } else if (c == H5T_INTEGER && !allow_float) {
            /* Read integers through the widest type of the stored signedness, then range-check. */
            int sgn = H5Tget_sign(type) == H5T_SGN_2;
            uint64_t u = 0;
            int64_t s = 0;
            if (H5Aread(a, sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64, sgn ? (void*)&s : (void*)&u) < 0) {
                st = io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot read attribute '%s'", name);
            } else if (want_unsigned) {
                if (sgn && s < 0) st = attr_bad_type(f, obj, name, want, err);
                else *(uint64_t*)out = sgn ? (uint64_t)s : u;
            } else {
                if (!sgn && u > (uint64_t)INT64_MAX) st = attr_bad_type(f, obj, name, want, err);
                else *(int64_t*)out = sgn ? s : (int64_t)u;
            }
        } else if (H5Aread(a, mtype, out) < 0) {
            st = io_h5_fail(err, GD_EFORMAT, f->path, NULL, "cannot read attribute '%s'", name);
        }
        H5Tclose(type);
        H5Aclose(a);
    }
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    return st;
}

gd_status gd_h5_attr_get_i64(gd_h5* f, const char* obj, const char* name, int64_t* value, gd_error* err) {
    return attr_get_num(f, obj, name, 0, 0, H5T_NATIVE_INT64, value, 1, "a signed 64-bit integer", err);
}

gd_status gd_h5_attr_get_u64(gd_h5* f, const char* obj, const char* name, uint64_t* value, gd_error* err) {
    return attr_get_num(f, obj, name, 0, 1, H5T_NATIVE_UINT64, value, 1, "an unsigned 64-bit integer", err);
}

gd_status gd_h5_attr_get_f64(gd_h5* f, const char* obj, const char* name, double* value, gd_error* err) {
    return attr_get_num(f, obj, name, 1, 0, H5T_NATIVE_DOUBLE, value, 1, "a number", err);
}

gd_status gd_h5_attr_get_f64s(gd_h5* f, const char* obj, const char* name, double* v, size_t n, gd_error* err) {
    return attr_get_num(f, obj, name, 1, 0, H5T_NATIVE_DOUBLE, v, n, "a list of numbers of the expected length", err);
}
