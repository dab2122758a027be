/* idx files (LeCun's MNIST format), raw or gzip-compressed: checked reading and writing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "gendec/data.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
/* deflate cannot expand data by more than 1032:1; a gzip file claiming more content than this is short. */
#define DEFLATE_MAX_RATIO 1032

/* An opened idx file: raw or gzip. */
typedef struct {
    gzFile gz;
    int is_gz;
    int64_t file_bytes; /* size on disk */
} idx_file;

/* Opens path for reading, telling gzip from raw by the first two bytes. */
static gd_status idx_open(const char* path, idx_file* f, gd_error* err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode)) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "not a regular file");
    FILE* raw = fopen(path, "rb");
    if (!raw) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    unsigned char m[2] = {0, 0};
    size_t got = fread(m, 1, 2, raw);
    fclose(raw);
    f->is_gz = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
    f->file_bytes = (int64_t)st.st_size;
    f->gz = gzopen(path, "rb");
    if (!f->gz) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    gzbuffer(f->gz, 1 << 17);
    return GD_OK;
}

/* Reads exactly n bytes; returns the number read (< n at end of data), -1 on a zlib error (message in err). */
static int64_t idx_read(idx_file* f, void* buf, int64_t n, const char* path, gd_error* err) {
    int64_t done = 0;
    while (done < n) {
        int64_t want = n - done > (1 << 30) ? (1 << 30) : n - done;
        int r = gzread(f->gz, (char*)buf + done, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char* msg = gzerror(f->gz, &zerr);
            gd_error_set(err, GD_EFORMAT, path, 0, 0, "the file is damaged; download it again",
                         "%s gzip data (%s) after %lld decompressed bytes",
                         zerr == Z_BUF_ERROR ? "truncated" : "corrupt", msg, (long long)done);
            return -1;
        }
        if (r == 0) break;
        done += r;
    }
    return done;
}

static uint32_t be32(const unsigned char* p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks that `payload` bytes after a header of `header` bytes can be what the file holds, before any
 * allocation: exactly for raw files, within the deflate ratio bound for gzip. */
static gd_status check_size(const idx_file* f, int64_t header, int64_t payload, const char* path, gd_error* err) {
    if (!f->is_gz && f->file_bytes != header + payload)
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "%s: the header promises %lld bytes of data but the file has %lld (expected a file "
                            "of exactly %lld bytes)",
                            f->file_bytes < header + payload ? "truncated file" : "file too long",
                            (long long)payload, (long long)(f->file_bytes - header), (long long)(header + payload));
    if (f->is_gz && (header + payload) / DEFLATE_MAX_RATIO > f->file_bytes)
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "truncated file: the header promises %lld bytes of data, more than a %lld-byte gzip "
                            "file can hold",
                            (long long)payload, (long long)f->file_bytes);
    return GD_OK;
}

/* Reads `payload` bytes into a fresh buffer; when `whole`, checks that the stream ends right after them. */
static gd_status read_payload(idx_file* f, int64_t header, int64_t payload, int whole, uint8_t** out,
                              const char* path, gd_error* err) {
    uint8_t* buf = gd_alloc((size_t)payload);
    if (!buf)
        return gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "out of memory reading %lld bytes",
                            (long long)payload);
    int64_t got = idx_read(f, buf, payload, path, err);
    if (got < 0) {
        gd_free(buf);
        return GD_EFORMAT;
    }
    if (got < payload) {
        gd_free(buf);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "truncated file: the header promises %lld bytes of data, the %sstream has %lld",
                            (long long)payload, f->is_gz ? "decompressed " : "", (long long)got);
    }
    unsigned char extra[256];
    int64_t more = whole ? idx_read(f, extra, sizeof extra, path, err) : 0;
    if (more != 0) {
        gd_free(buf);
        if (more < 0) return GD_EFORMAT;
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "file too long: %sdata continues after the %lld bytes the header promises",
                            f->is_gz ? "decompressed " : "", (long long)(header + payload));
    }
    *out = buf;
    return GD_OK;
}

/* Reads an idx3 file's header and the first `first` images (all when first <= 0 or first >= the file's count);
 * the "stream ends right after the payload" check only when all are read. */
static gd_status read_images(const char* path, int64_t first, uint8_t** pixels, int64_t* n, int* rows, int* cols,
                             gd_error* err) {
    *pixels = NULL;
    idx_file f;
    gd_status st = idx_open(path, &f, err);
    if (st) return st;
    unsigned char h[16];
    int64_t got = idx_read(&f, h, 16, path, err);
    if (got < 0) goto fail_set;
    if (got >= 4 && be32(h) != IDX_MAGIC_IMAGES) {
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                          "wrong magic number 0x%08x: an idx image file starts with 0x%08x%s", be32(h),
                          IDX_MAGIC_IMAGES, be32(h) == IDX_MAGIC_LABELS ? " (this is a label file)" : "");
        goto fail;
    }
    if (got < 16) {
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "truncated file: %lld bytes, shorter than the 16-byte idx3 header",
                          (long long)got);
        goto fail;
    }
    uint32_t nn = be32(h + 4), r = be32(h + 8), c = be32(h + 12);
    if (nn == 0 || nn > GD_DATA_MAX_IMAGES || r == 0 || c == 0 || r > GD_DATA_MAX_SIDE || c > GD_DATA_MAX_SIDE) {
        st = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                          "impossible header: %u images of %ux%u (limits: 1..%d images, sides 1..%d)", nn, r, c,
                          GD_DATA_MAX_IMAGES, GD_DATA_MAX_SIDE);
        goto fail;
    }
    int64_t payload = (int64_t)nn * r * c, keep = first > 0 && first < (int64_t)nn ? first : (int64_t)nn;
    if ((st = check_size(&f, 16, payload, path, err))) goto fail;
    if ((st = read_payload(&f, 16, keep * r * c, keep == (int64_t)nn, pixels, path, err))) goto fail;
    gzclose(f.gz);
    *n = keep;
    *rows = (int)r;
    *cols = (int)c;
    return GD_OK;
fail_set:
    st = err ? err->code : GD_EFORMAT;
fail:
    gzclose(f.gz);
    return st;
}

gd_status gd_idx_read_images(const char* path, uint8_t** pixels, int64_t* n, int* rows, int* cols,
                             gd_error* err) {
    return read_images(path, 0, pixels, n, rows, cols, err);
}

gd_status gd_idx_read_images_first(const char* path, int64_t first, uint8_t** pixels, int64_t* n, int* rows,
                                   int* cols, gd_error* err) {
    if (first < 1) {
        *pixels = NULL;
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_idx_read_images_first: %lld images asked for",
                            (long long)first);
    }
    return read_images(path, first, pixels, n, rows, cols, err);
}

gd_status gd_idx_read_labels(const char* path, int n_classes, uint8_t** labels, int64_t* n, gd_error* err) {
    *labels = NULL;
    idx_file f;
    gd_status st = idx_open(path, &f, err);
    if (st) return st;
    unsigned char h[8];
    int64_t got = idx_read(&f, h, 8, path, err);
    if (got < 0) {
        gzclose(f.gz);
        return GD_EFORMAT;
    }
    if (got >= 4 && be32(h) != IDX_MAGIC_LABELS) {
        gzclose(f.gz);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "wrong magic number 0x%08x: an idx label file starts with 0x%08x%s", be32(h),
                            IDX_MAGIC_LABELS, be32(h) == IDX_MAGIC_IMAGES ? " (this is an image file)" : "");
    }
    if (got < 8) {
        gzclose(f.gz);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                            "truncated file: %lld bytes, shorter than the 8-byte idx1 header", (long long)got);
    }
    uint32_t nn = be32(h + 4);
    if (nn == 0 || nn > GD_DATA_MAX_IMAGES) {
        gzclose(f.gz);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "impossible header: %u labels (limit 1..%d)", nn,
                            GD_DATA_MAX_IMAGES);
    }
    if ((st = check_size(&f, 8, nn, path, err)) || (st = read_payload(&f, 8, nn, 1, labels, path, err))) {
        gzclose(f.gz);
        return st;
    }
    gzclose(f.gz);
    for (uint32_t i = 0; i < nn; i++)
        if ((*labels)[i] >= n_classes) {
            int bad = (*labels)[i];
            gd_free(*labels);
            *labels = NULL;
            return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL,
                                "label %d of item %u (byte offset %u) is out of range: labels must be 0..%d", bad, i,
                                8 + i, n_classes - 1);
        }
    *n = nn;
    return GD_OK;
}

/* Writes n bytes to a raw or gzip stream; 0 on success. */
static int put(FILE* raw, gzFile gz, const void* p, size_t n) {
    if (gz) {
        while (n) {
            unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
            if (gzwrite(gz, p, chunk) != (int)chunk) return -1;
            p = (const char*)p + chunk;
            n -= chunk;
        }
        return 0;
    }
    return fwrite(p, 1, n, raw) == n ? 0 : -1;
}

gd_status gd_idx_write(const char* path, int gz, const uint8_t* images, const uint8_t* labels, int64_t n,
                       int rows, int cols, gd_error* err) {
    if ((images == NULL) == (labels == NULL) || n <= 0 || n > UINT32_MAX || (images && (rows <= 0 || cols <= 0)))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "gd_idx_write: give either images or labels");
    FILE* raw = NULL;
    gzFile z = NULL;
    if (gz)
        z = gzopen(path, "wb6");
    else
        raw = fopen(path, "wb");
    if (!raw && !z) return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot create: %s", strerror(errno));
    unsigned char h[16];
    uint32_t v[4] = {images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS, (uint32_t)n, (uint32_t)rows, (uint32_t)cols};
    int nh = images ? 4 : 2;
    for (int i = 0; i < nh; i++)
        for (int b = 0; b < 4; b++) h[4 * i + b] = (unsigned char)(v[i] >> (24 - 8 * b));
    int bad = put(raw, z, h, (size_t)nh * 4);
    if (!bad) bad = images ? put(raw, z, images, (size_t)n * rows * cols) : put(raw, z, labels, (size_t)n);
    if (z)
        bad |= gzclose(z) != Z_OK;
    else
        bad |= fclose(raw) != 0;
    if (bad) {
        remove(path);
        return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "write failed");
    }
    return GD_OK;
}
