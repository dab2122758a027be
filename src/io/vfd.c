/* A POSIX HDF5 file driver for the files gendec writes serially: HDF5's "sec2" driver, except that it never
 * reports an I/O failure to HDF5. It records the errno of the first failure instead (io_vfd_state.err), skips the
 * remaining writes, and gendec's functions check that record after each HDF5 call and fail cleanly.
 *
 * Why: in HDF5 1.10 an I/O failure inside a flush leaves the metadata cache in a state where the file can no
 * longer be closed ("slist already enabled?"), and a failed H5Fclose frees the file but leaves its id registered,
 * so that the library crashes when it shuts down (fixed upstream in 1.14.1, HDFGroup/hdf5 PR #2291). With this
 * driver a full disk or `ulimit -f` gives a clear error and a removed temporary, never a crash. A file whose
 * write failed is never committed, so what HDF5 reads back from it afterwards does not matter. The superblock
 * does not mention the driver, so any HDF5 reader opens the files. */
#include "io_vfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    H5FD_t pub; /* must be first */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    io_vfd_state state;
} vfd_file;

#define VFD_MAXADDR (((haddr_t)1 << (8 * sizeof(off_t) - 1)) - 1)

/* Remembers the first error; HDF5 sees success. */
static herr_t vfd_error(vfd_file* f, int e) {
    if (!f->state.err) f->state.err = e ? e : EIO;
    return 0;
}

static H5FD_t* vfd_open(const char* name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
    (void)fapl;
    if (!name || !*name || maxaddr == 0 || maxaddr == HADDR_UNDEF || maxaddr > VFD_MAXADDR) return NULL;
    int o = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC) o |= O_TRUNC;
    if (flags & H5F_ACC_CREAT) o |= O_CREAT;
    if (flags & H5F_ACC_EXCL) o |= O_EXCL;
    int fd = open(name, o, 0666);
    if (fd < 0) return NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return NULL;
    }
    vfd_file* f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->eof = (haddr_t)sb.st_size;
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    return &f->pub;
}

/* An error of close(2) is recorded like the others and handed to the sink with the first one. */
static herr_t vfd_close(H5FD_t* file) {
    vfd_file* f = (vfd_file*)file;
    if (close(f->fd) != 0 && !f->state.err) f->state.err = errno;
    if (f->state.sink && !*f->state.sink) *f->state.sink = f->state.err;
    free(f);
    return 0;
}

static int vfd_cmp(const H5FD_t* a, const H5FD_t* b) {
    const vfd_file *x = (const vfd_file*)a, *y = (const vfd_file*)b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t vfd_query(const H5FD_t* file, unsigned long* flags) {
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

static haddr_t vfd_get_eoa(const H5FD_t* file, H5FD_mem_t type) {
    (void)type;
    return ((const vfd_file*)file)->eoa;
}

static herr_t vfd_set_eoa(H5FD_t* file, H5FD_mem_t type, haddr_t addr) {
    (void)type;
    ((vfd_file*)file)->eoa = addr;
    return 0;
}

static haddr_t vfd_get_eof(const H5FD_t* file, H5FD_mem_t type) {
    (void)type;
    return ((const vfd_file*)file)->eof;
}

static herr_t vfd_get_handle(H5FD_t* file, hid_t fapl, void** handle) {
    (void)fapl;
    *handle = &((vfd_file*)file)->state;
    return 0;
}

static herr_t vfd_read(H5FD_t* file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void* buf) {
    (void)type;
    (void)dxpl;
    vfd_file* f = (vfd_file*)file;
    if (addr == HADDR_UNDEF || addr > VFD_MAXADDR || size > VFD_MAXADDR - addr) {
        memset(buf, 0, size);
        return vfd_error(f, EINVAL);
    }
    unsigned char* p = buf;
    while (size > 0) {
        ssize_t n = pread(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            memset(p, 0, size);
            return vfd_error(f, errno);
        }
        if (n == 0) { /* past the end of the file: zeros */
            memset(p, 0, size);
            break;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    return 0;
}

static herr_t vfd_write(H5FD_t* file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void* buf) {
    (void)type;
    (void)dxpl;
    vfd_file* f = (vfd_file*)file;
    if (addr == HADDR_UNDEF || addr > VFD_MAXADDR || size > VFD_MAXADDR - addr) return vfd_error(f, EINVAL);
    if (f->state.err) return 0; /* the file is lost anyway: skip the work */
    const unsigned char* p = buf;
    while (size > 0) {
        ssize_t n = pwrite(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return vfd_error(f, n < 0 ? errno : EIO);
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    if (addr > f->eof) f->eof = addr;
    return 0;
}

static herr_t vfd_truncate(H5FD_t* file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    vfd_file* f = (vfd_file*)file;
    if (f->eoa == f->eof) return 0;
    if (f->state.err) return 0;
    if (ftruncate(f->fd, (off_t)f->eoa) != 0) return vfd_error(f, errno);
    f->eof = f->eoa;
    return 0;
}

static const H5FD_class_t vfd_class = {
    .name = "gendec_posix",
    .maxaddr = VFD_MAXADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .open = vfd_open,
    .close = vfd_close,
    .cmp = vfd_cmp,
    .query = vfd_query,
    .get_eoa = vfd_get_eoa,
    .set_eoa = vfd_set_eoa,
    .get_eof = vfd_get_eof,
    .get_handle = vfd_get_handle,
    .read = vfd_read,
    .write = vfd_write,
    .truncate = vfd_truncate,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t io_vfd_register(void) { return H5FDregister(&vfd_class); }
