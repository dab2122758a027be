/* Whole files written atomically: temporary in the same folder, fsync, rename, fsync of the folder. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

gd_status gd_file_write_atomic(const char* path, const void* bytes, size_t len, gd_error* err) {
    if (!path || !path[0]) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "empty file path");
    if (len > 0 && !bytes) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "no data to write");
    char tmp[IO_PATH_MAX];
    if (io_tmp_path(tmp, sizeof tmp, path, (long)getpid()))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "use a shorter path", "file path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot create the temporary file %s: %s", tmp,
                            strerror(e));
    }
    const char* p = bytes;
    size_t left = len;
    int e = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot write %s: %s", path, strerror(e));
    }
    if ((e = io_fsync_dir_of(path)))
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot sync the folder of %s: %s", path,
                            strerror(e));
    return GD_OK;
}
