/* HDF5 files: atomic creation (temporary + rename), the standard attributes, refusal of incomplete files. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gendec/version.h"

/* ---- shared helpers -------------------------------------------------------------------------------- */

void io_quiet_begin(io_quiet* q) {
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void io_quiet_end(const io_quiet* q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

typedef struct {
    char inner[400]; /* the innermost description */
    char sys[400];   /* a description that carries a system errno, if any */
} io_walk;

/* H5Ewalk2 callback: remembers the innermost description and one that mentions errno. */
static herr_t walk_cb(unsigned n, const H5E_error2_t* e, void* data) {
    (void)n;
    io_walk* w = data;
    if (e->desc && e->desc[0]) {
        snprintf(w->inner, sizeof w->inner, "%s", e->desc);
        if (!w->sys[0] && strstr(e->desc, "errno")) snprintf(w->sys, sizeof w->sys, "%s", e->desc);
    }
    return 0;
}

gd_status io_h5_fail(gd_error* err, gd_status code, const char* file, const char* hint, const char* fmt, ...) {
    io_walk w = {{0}, {0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    char msg[sizeof ((gd_error*)0)->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char* detail = w.sys[0] ? w.sys : w.inner;
    if (detail[0]) return gd_error_set(err, code, file, 0, 0, hint, "%s (HDF5: %s)", msg, detail);
    return gd_error_set(err, code, file, 0, 0, hint, "%s", msg);
}

gd_status io_vfd_check(gd_h5* f, gd_status st, const char* what, gd_error* err) {
    int e = f->vfd && f->vfd->err ? f->vfd->err : f->vfd_err;
    if (e && (st == GD_OK || st == GD_EIO))
        st = gd_error_set(err, GD_EIO, f->path, 0, 0, io_errno_hint(e), "cannot write %s: %s (temporary file %s)", what,
                          strerror(e), f->tmp);
    if (st == GD_EIO) f->failed = 1;
    return st;
}

int io_tmp_path(char* buf, size_t n, const char* path, long pid) {
    int w = snprintf(buf, n, "%s.tmp.%ld", path, pid);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

const char* io_errno_hint(int e) {
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return "free disk space, raise the file size limit (ulimit -f) or choose another output folder (--out)";
    case EACCES:
    case EPERM:
    case EROFS:
        return "make the folder writable or choose another output folder (--out)";
    case ENOENT:
    case ENOTDIR:
        return "create the folder first (mkdir -p) or fix the path";
    default:
        return "check the output folder, its permissions and the free disk space";
    }
}

int io_fsync_path(const char* path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

int io_fsync_dir_of(const char* path) {
    char copy[IO_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return errno;
    /* Some file systems refuse fsync on folders (EINVAL): the rename is then as durable as it gets. */
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    close(fd);
    return rc;
}

/* ---- MPI helpers ----------------------------------------------------------------------------------- */

/* The status of rank 0 and, when it failed, its error record, on every rank of f (no-op when serial). */
static gd_status bcast_rank0(const gd_h5* f, gd_status st, gd_error* err) {
    if (!f->parallel) return st;
    int code = (int)st;
    MPI_Bcast(&code, 1, MPI_INT, 0, f->comm);
    if (code != GD_OK) {
        gd_error tmp;
        if (f->rank == 0 && err) tmp = *err;
        else memset(&tmp, 0, sizeof tmp);
        MPI_Bcast(&tmp, (int)sizeof tmp, MPI_BYTE, 0, f->comm);
        if (err && f->rank != 0) *err = tmp;
    }
    return (gd_status)code;
}

/* The worst status over the ranks of f; a rank that succeeded itself gets "rank R failed" (no-op if serial). */
static gd_status agree(const gd_h5* f, gd_status st, gd_error* err) {
    if (!f->parallel) return st;
    int mine[2] = {(int)st, st != GD_OK ? f->rank : -1}, worst[2];
    MPI_Allreduce(mine, worst, 2, MPI_INT, MPI_MAX, f->comm);
    if (worst[0] != GD_OK && st == GD_OK)
        gd_error_set(err, (gd_status)worst[0], f->path, 0, 0, "see the error reported by that rank",
                     "rank %d failed while writing this file", worst[1]);
    return worst[0] != GD_OK ? (gd_status)worst[0] : GD_OK;
}

static void free_handle(gd_h5* f) {
    if (f->comm != MPI_COMM_NULL) MPI_Comm_free(&f->comm);
    free(f);
}

/* A new handle for `path` on `comm` (duplicated); fails when MPI is needed but not initialised. */
static gd_status new_handle(const char* path, MPI_Comm comm, gd_h5** out, gd_error* err) {
    *out = NULL;
    if (!path || !path[0]) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "empty file path");
    if (strlen(path) + 32 >= IO_PATH_MAX)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "use a shorter path", "file path too long");
    gd_h5* f = calloc(1, sizeof *f);
    if (!f) return gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory");
    f->fid = H5I_INVALID_HID;
    f->drv = H5I_INVALID_HID;
    f->comm = MPI_COMM_NULL;
    f->size = 1;
    snprintf(f->path, sizeof f->path, "%s", path);
    if (comm != MPI_COMM_NULL) {
        int init = 0;
        MPI_Initialized(&init);
        if (!init) {
            free(f);
            return gd_error_set(err, GD_EINVAL, path, 0, 0, "pass MPI_COMM_NULL for a serial file",
                                "a communicator was given but MPI is not initialised");
        }
        MPI_Comm_size(comm, &f->size);
        MPI_Comm_rank(comm, &f->rank);
        if (f->size > 1) {
            f->parallel = 1;
            MPI_Comm_dup(comm, &f->comm);
        }
    }
    *out = f;
    return GD_OK;
}

/* A file access property list: strong close (closing the file closes every object left open), no file locks;
 * the MPI-IO driver with collective metadata in parallel mode; gendec's own driver (src/io/vfd.c) for serial
 * files being written, whose id goes to *drv (to be unregistered once the file is closed). */
static hid_t make_fapl(const gd_h5* f, hid_t* drv) {
    *drv = H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    /* No flock(): readers only ever see committed files (rename), and cluster file systems often lack locks. */
    H5Pset_file_locking(fapl, 0, 1);
    /* The 1.8 file format or later stores attributes over 64 KiB (long config texts) in dense storage. */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    if (f->parallel) {
        H5Pset_fapl_mpio(fapl, f->comm, MPI_INFO_NULL);
        H5Pset_all_coll_metadata_ops(fapl, 1);
        H5Pset_coll_metadata_write(fapl, 1);
    } else if (f->writable) {
        *drv = io_vfd_register();
        if (*drv < 0 || H5Pset_driver(fapl, *drv, NULL) < 0) {
            H5Pclose(fapl);
            return H5I_INVALID_HID;
        }
    }
    return fapl;
}

/* Closes the HDF5 file id if open; returns 0, or -1 when HDF5 or the file driver reported a failure (for serial
 * files being written the driver's errno lands in f->vfd_err). Never called twice on one id: after a failed
 * H5Fclose the id may still look valid while its file is gone. */
static int close_fid(gd_h5* f) {
    if (f->fid < 0) return 0;
    int rc = H5Fclose(f->fid) < 0 ? -1 : 0;
    f->fid = H5I_INVALID_HID;
    f->vfd = NULL;
    /* HDF5 reads the driver class while closing the file: the registration must outlive the file (after a
     * failed close the file may still use it; HDF5 releases it at exit then). */
    if (f->drv >= 0 && rc == 0) H5FDunregister(f->drv);
    f->drv = H5I_INVALID_HID;
    return rc < 0 || f->vfd_err ? -1 : 0;
}

/* After H5Fcreate: connects the serial driver's state to f. */
static void attach_vfd(gd_h5* f) {
    void* h = NULL;
    if (f->parallel || H5Fget_vfd_handle(f->fid, H5P_DEFAULT, &h) < 0 || !h) return;
    f->vfd = h;
    f->vfd->sink = &f->vfd_err;
}

/* ---- create / commit / abort ----------------------------------------------------------------------- */

/* World size for the world_size attribute: MPI_COMM_WORLD's when MPI runs, else 1. */
static int64_t world_size(void) {
    int init = 0, fin = 0, n = 1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* Checks (rank 0) that the temporary can be created in the folder of the path, for an errno-precise error. */
static gd_status probe_create(const gd_h5* f, gd_error* err) {
    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        return gd_error_set(err, GD_EIO, f->path, 0, 0, io_errno_hint(e), "cannot create the temporary file %s: %s",
                            f->tmp, strerror(e));
    }
    close(fd);
    return GD_OK;
}

static gd_status write_standard_attrs(gd_h5* f, const char* kind, const char* config_yaml, gd_error* err) {
    char created[64] = {0};
    if (f->rank == 0) gd_utc_iso8601(created, sizeof created);
    if (f->parallel) MPI_Bcast(created, (int)sizeof created, MPI_CHAR, 0, f->comm);
    gd_status st;
    if ((st = gd_h5_attr_set_str(f, "/", "gendec_version", GD_VERSION, err))) return st;
    if ((st = gd_h5_attr_set_str(f, "/", "git_revision", GD_GIT_REVISION, err))) return st;
    if ((st = gd_h5_attr_set_str(f, "/", "config_yaml", config_yaml ? config_yaml : "", err))) return st;
    if ((st = gd_h5_attr_set_i64(f, "/", "world_size", world_size(), err))) return st;
    if ((st = gd_h5_attr_set_str(f, "/", "created", created, err))) return st;
    if ((st = gd_h5_attr_set_str(f, "/", "kind", kind, err))) return st;
    return gd_h5_attr_set_i64(f, "/", "complete", 0, err);
}

gd_status gd_h5_create(const char* path, const char* kind, const char* config_yaml, MPI_Comm comm, gd_h5** out,
                       gd_error* err) {
    if (!out) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_h5_create: out is NULL");
    *out = NULL;
    if (!kind || !kind[0] || strlen(kind) >= sizeof ((gd_h5*)0)->kind)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_h5_create: kind must be 1..63 characters");
    gd_h5* f;
    gd_status st = new_handle(path, comm, &f, err);
    if (st) return st;
    f->writable = 1;
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    long pid = (long)getpid();
    if (f->parallel) MPI_Bcast(&pid, 1, MPI_LONG, 0, f->comm);
    io_tmp_path(f->tmp, sizeof f->tmp, path, pid);

    st = f->rank == 0 ? probe_create(f, err) : GD_OK;
    if ((st = bcast_rank0(f, st, err))) {
        free_handle(f);
        return st;
    }
    io_quiet q;
    io_quiet_begin(&q);
    hid_t drv, fapl = make_fapl(f, &drv), fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0 && H5Pset_userblock(fcpl, GD_H5_SEAL_BYTES) < 0) H5Pclose(fcpl), fcpl = H5I_INVALID_HID;
    f->fid = fapl < 0 || fcpl < 0 ? H5I_INVALID_HID : H5Fcreate(f->tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    st = f->fid < 0 ? io_h5_fail(err, GD_EIO, f->path, io_errno_hint(EIO), "cannot create the temporary file %s",
                                 f->tmp)
                    : GD_OK;
    if (fapl >= 0) H5Pclose(fapl);
    if (drv >= 0 && f->fid < 0) H5FDunregister(drv);
    if (f->fid >= 0) f->drv = drv, attach_vfd(f);
    io_quiet_end(&q);
    st = agree(f, st, err);
    if (!st) st = write_standard_attrs(f, kind, config_yaml, err);
    if (st) {
        gd_h5_abort(f);
        return st;
    }
    *out = f;
    return GD_OK;
}

gd_status gd_h5_commit(gd_h5* f, gd_error* err) {
    if (!f) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "gd_h5_commit: NULL file");
    if (!f->writable) {
        gd_error_set(err, GD_EINVAL, f->path, 0, 0, NULL, "gd_h5_commit: the file was opened for reading");
        gd_h5_close(f);
        return GD_EINVAL;
    }
    gd_status st = f->failed ? gd_error_set(err, GD_EIO, f->path, 0, 0, "see the error of the failed write",
                                            "not committed because an earlier write to it failed")
                             : gd_h5_attr_set_i64(f, "/", "complete", 1, err);
    io_quiet q;
    io_quiet_begin(&q);
    if (!st && f->fid >= 0 && H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write the temporary file %s", f->tmp);
    if (!st) st = io_vfd_check(f, st, "the file", err);
    if (close_fid(f) < 0 && !st) {
        st = io_h5_fail(err, GD_EIO, f->path, io_errno_hint(ENOSPC), "cannot write the temporary file %s", f->tmp);
        st = io_vfd_check(f, st, "the file", err);
    }
    io_quiet_end(&q);
    st = agree(f, st, err);
    gd_status agreed = st;
    if (f->rank == 0) {
        if (st) {
            unlink(f->tmp);
        } else if ((st = gd_h5_seal(f->tmp, err)) != GD_OK) {
            unlink(f->tmp);
        } else {
            int e = io_fsync_path(f->tmp);
            if (!e && rename(f->tmp, f->path) != 0) e = errno;
            if (e) {
                unlink(f->tmp);
                st = gd_error_set(err, GD_EIO, f->path, 0, 0, io_errno_hint(e), "cannot finish %s (from %s): %s",
                                  f->path, f->tmp, strerror(e));
            } else if ((e = io_fsync_dir_of(f->path))) {
                st = gd_error_set(err, GD_EIO, f->path, 0, 0, io_errno_hint(e), "cannot sync the folder of %s: %s",
                                  f->path, strerror(e));
            }
        }
    }
    if (!agreed) st = bcast_rank0(f, st, err); /* the outcome of rank 0's rename */
    free_handle(f);
    return st;
}

void gd_h5_abort(gd_h5* f) {
    if (!f) return;
    io_quiet q;
    io_quiet_begin(&q);
    close_fid(f);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    if (f->writable && f->rank == 0) unlink(f->tmp);
    if (f->parallel) MPI_Barrier(f->comm);
    free_handle(f);
}

/* ---- open / close / metadata ----------------------------------------------------------------------- */

static gd_status refuse_incomplete(const char* path, const char* kind, gd_error* err) {
    return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                        "not a complete gendec %s file (written by an interrupted run?); delete it and re-run "
                        "the stage", kind ? kind : "result");
}

/* Checks the kind and complete attributes of an open file. */
static gd_status check_open(gd_h5* f, const char* kind, gd_error* err) {
    gd_error tmp;
    char have[64];
    int64_t complete = 0;
    if (gd_h5_attr_get_str(f, "/", "kind", have, sizeof have, &tmp) != GD_OK ||
        gd_h5_attr_get_i64(f, "/", "complete", &complete, &tmp) != GD_OK || complete != 1)
        return refuse_incomplete(f->path, kind, err);
    if (kind && strcmp(kind, have) != 0)
        return gd_error_set(err, GD_ESTATE, f->path, 0, 0, "give the file that the stage expects",
                            "is a gendec %s file, expected a %s file", have, kind);
    snprintf(f->kind, sizeof f->kind, "%s", have);
    return GD_OK;
}

gd_status gd_h5_open(const char* path, const char* kind, MPI_Comm comm, gd_h5** out, gd_error* err) {
    if (!out) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_h5_open: out is NULL");
    *out = NULL;
    gd_h5* f;
    gd_status st = new_handle(path, comm, &f, err);
    if (st) return st;
    /* Each rank checks the file itself: the open is collective, so failures are agreed on below. */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        st = gd_error_set(err, GD_EIO, path, 0, 0,
                          e == ENOENT ? "check the path, or run the stage that writes this file" : NULL,
                          "cannot open %s: %s", path, strerror(e));
    } else if (!S_ISREG(sb.st_mode)) {
        st = gd_error_set(err, GD_EIO, path, 0, 0, "give the path of a file", "%s is not a regular file", path);
    } else if (access(path, R_OK) != 0) {
        int e = errno;
        st = gd_error_set(err, GD_EIO, path, 0, 0, "make the file readable", "cannot read %s: %s", path, strerror(e));
    }
    st = agree(f, st, err);
    /* The seal first: libhdf5 must never parse a damaged file (src/io/seal.c says why). */
    if (!st && f->rank == 0) st = gd_h5_seal_check(path, err);
    st = bcast_rank0(f, st, err);
    io_quiet q;
    io_quiet_begin(&q);
    if (!st) {
        htri_t is = H5Fis_hdf5(path);
        if (is <= 0) {
            H5Eclear2(H5E_DEFAULT);
            st = gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete it and re-run the stage that writes it",
                              "not an HDF5 file (damaged or truncated?)");
        }
    }
    st = agree(f, st, err);
    if (!st) {
        hid_t drv, fapl = make_fapl(f, &drv);
        f->fid = fapl < 0 ? H5I_INVALID_HID : H5Fopen(path, H5F_ACC_RDONLY, fapl);
        if (f->fid < 0)
            st = io_h5_fail(err, GD_EFORMAT, path, "delete it and re-run the stage that writes it",
                            "cannot be opened as HDF5 (truncated or damaged?)");
        if (fapl >= 0) H5Pclose(fapl);
        st = agree(f, st, err);
    }
    io_quiet_end(&q);
    if (!st) st = agree(f, check_open(f, kind, err), err);
    if (st) {
        gd_h5_close(f);
        return st;
    }
    *out = f;
    return GD_OK;
}

void gd_h5_close(gd_h5* f) {
    if (!f) return;
    if (f->writable) {
        gd_h5_abort(f);
        return;
    }
    io_quiet q;
    io_quiet_begin(&q);
    close_fid(f);
    H5Eclear2(H5E_DEFAULT);
    io_quiet_end(&q);
    free_handle(f);
}

const char* gd_h5_path(const gd_h5* f) { return f ? f->path : ""; }

int gd_h5_last_write_collective(const gd_h5* f) { return f ? f->last_collective : 0; }

gd_status gd_h5_meta_read(gd_h5* f, gd_h5_meta* m, gd_error* err) {
    memset(m, 0, sizeof *m);
    gd_status st;
    if ((st = gd_h5_attr_get_str(f, "/", "kind", m->kind, sizeof m->kind, err))) return st;
    if ((st = gd_h5_attr_get_str(f, "/", "gendec_version", m->gendec_version, sizeof m->gendec_version, err)))
        return st;
    if ((st = gd_h5_attr_get_str(f, "/", "git_revision", m->git_revision, sizeof m->git_revision, err))) return st;
    if ((st = gd_h5_attr_get_str(f, "/", "created", m->created, sizeof m->created, err))) return st;
    if ((st = gd_h5_attr_get_i64(f, "/", "world_size", &m->world_size, err))) return st;
    return gd_h5_attr_get_i64(f, "/", "complete", &m->complete, err);
}

gd_status gd_h5_config_yaml(gd_h5* f, char** yaml, gd_error* err) {
    return gd_h5_attr_get_str_alloc(f, "/", "config_yaml", yaml, err);
}
