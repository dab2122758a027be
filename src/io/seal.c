/* The integrity seal of gendec's HDF5 files: a CRC-32 of the whole file, kept in the file's HDF5 user block and
 * checked before libhdf5 reads a single byte of the file.
 *
 * Why: libhdf5 (1.10.8, Debian 12) is not memory-safe on damaged files. gendec's fuzzer found a heap overflow
 * in its attribute-message decoder (H5Aexists_by_name on a damaged object header) and an endless loop on a
 * damaged global heap; a truncated or bit-flipped checkpoint must be refused, not parsed. HDF5 leaves the user
 * block alone (h5py, h5dump and every HDF5 reader skip it), so the seal costs readers nothing.
 *
 * Layout: bytes [0, GD_H5_SEAL_BYTES) of the file are NUL-padded ASCII
 *     "GENDEC-SEAL 1\nbytes <total file size>\ncrc32 <8 hex digits>\n"
 * and the CRC-32 (zlib's) covers bytes [GD_H5_SEAL_BYTES, size). The HDF5 superblock starts right after it. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SEAL_MAGIC "GENDEC-SEAL 1\n"

static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* Reads exactly n bytes at offset off; 0, or an errno (EIO for a short read). */
static int read_at(int fd, void* buf, size_t n, off_t off) {
    char* p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 ? errno : EIO;
        p += r, n -= (size_t)r, off += r;
    }
    return 0;
}

/* CRC-32 of bytes [from, size) of fd into *crc; 0 or an errno. */
static int crc_from(int fd, off_t from, off_t size, uint32_t* crc) {
    enum { CHUNK = 1 << 20 };
    unsigned char* buf = malloc(CHUNK);
    if (!buf) return ENOMEM;
    uLong c = crc32(0L, Z_NULL, 0);
    int e = 0;
    for (off_t off = from; off < size && !e;) {
        size_t n = (size_t)(size - off) < CHUNK ? (size_t)(size - off) : CHUNK;
        if (!(e = read_at(fd, buf, n, off))) c = crc32(c, buf, (uInt)n);
        off += (off_t)n;
    }
    free(buf);
    *crc = (uint32_t)c;
    return e;
}

gd_status gd_h5_seal(const char* path, gd_error* err) {
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        int e = errno;
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot open the file to seal it: %s", strerror(e));
    }
    struct stat sb;
    unsigned char sig[8];
    int e = fstat(fd, &sb) != 0 ? errno : 0;
    if (!e && sb.st_size < GD_H5_SEAL_BYTES + 8) e = EINVAL;
    if (!e) e = read_at(fd, sig, sizeof sig, GD_H5_SEAL_BYTES);
    if (!e && memcmp(sig, hdf5_signature, sizeof sig) != 0) e = EINVAL;
    if (e == EINVAL) {
        close(fd);
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "create the file with a 512-byte user block (gd_h5_create does)",
                            "no HDF5 superblock at byte %d, cannot seal it", GD_H5_SEAL_BYTES);
    }
    uint32_t crc = 0;
    if (!e) e = crc_from(fd, GD_H5_SEAL_BYTES, sb.st_size, &crc);
    char block[GD_H5_SEAL_BYTES] = {0};
    snprintf(block, sizeof block, SEAL_MAGIC "bytes %" PRId64 "\ncrc32 %08" PRIx32 "\n", (int64_t)sb.st_size, crc);
    if (!e) {
        ssize_t w;
        do w = pwrite(fd, block, sizeof block, 0);
        while (w < 0 && errno == EINTR);
        if (w != (ssize_t)sizeof block) e = w < 0 ? errno : EIO;
    }
    if (close(fd) != 0 && !e) e = errno;
    if (e)
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot seal the file: %s", strerror(e));
    return GD_OK;
}

/* A damaged-file error for path with the given detail. */
static gd_status damaged(const char* path, gd_error* err, const char* what) {
    return gd_error_set(err, GD_EFORMAT, path, 0, 0, "delete it and re-run the stage that writes it",
                        "%s; the file was not read", what);
}

gd_status gd_h5_seal_check(const char* path, gd_error* err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        return gd_error_set(err, GD_EIO, path, 0, 0,
                            e == ENOENT ? "check the path, or run the stage that writes this file" : NULL,
                            "cannot open: %s", strerror(e));
    }
    struct stat sb;
    char block[GD_H5_SEAL_BYTES + 1] = {0};
    gd_status st = GD_OK;
    char what[160];
    if (fstat(fd, &sb) != 0 || sb.st_size < GD_H5_SEAL_BYTES ||
        read_at(fd, block, GD_H5_SEAL_BYTES, 0) != 0 || strncmp(block, SEAL_MAGIC, strlen(SEAL_MAGIC)) != 0) {
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0,
                          "re-run the stage that writes it with this gendec (files of other programs, and of "
                          "gendec before the seal, are not read)",
                          "not a sealed gendec file (no GENDEC-SEAL user block: damaged, truncated, or not "
                          "written by gendec)");
    } else {
        int64_t bytes = -1;
        unsigned int want = 0;
        int n = sscanf(block + strlen(SEAL_MAGIC), "bytes %" SCNd64 "\ncrc32 %8x\n", &bytes, &want);
        uint32_t have = 0;
        int e = 0;
        if (n != 2 || bytes < GD_H5_SEAL_BYTES) {
            st = damaged(path, err, "its seal (user block) is damaged");
        } else if ((int64_t)sb.st_size != bytes) {
            snprintf(what, sizeof what, "%s: %" PRId64 " bytes where %" PRId64 " were written",
                     (int64_t)sb.st_size < bytes ? "truncated" : "has grown", (int64_t)sb.st_size, bytes);
            st = damaged(path, err, what);
        } else if ((e = crc_from(fd, GD_H5_SEAL_BYTES, sb.st_size, &have)) != 0) {
            st = gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot read: %s", strerror(e));
        } else if (have != (uint32_t)want) {
            snprintf(what, sizeof what, "damaged: CRC-32 %08" PRIx32 " where %08x was written", have, want);
            st = damaged(path, err, what);
        }
    }
    close(fd);
    return st;
}
