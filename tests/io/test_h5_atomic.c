/* Atomic HDF5 output: commit renames, abort removes, failed writes (file size limit, bad folder) leave the
 * previous file intact and no temporary; readers refuse incomplete, foreign, truncated and non-HDF5 files. */
#include <dirent.h>
#include <hdf5.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gd_test.h"
#include "gendec/io.h"

static char dir[512], path[600];

/* 1 when the printed error (gd_error_format, as the CLI shows it) names path exactly once. */
static int path_once(const gd_error* err, const char* p) {
    char buf[2560];
    gd_error_format(err, buf, sizeof buf);
    const char* at = strstr(buf, p);
    if (!at || strstr(at + strlen(p), p)) {
        fprintf(stderr, "path_once: '%s' in '%s'\n", p, buf);
        return 0;
    }
    return 1;
}

static int exists(const char* p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Writes a committed "model" file at p with dataset w = (value, value, value). */
static void write_good(const char* p, float value) {
    gd_error err;
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_create(p, "model", "a: 1\n", MPI_COMM_NULL, &f, &err), &err);
    float w[3] = {value, value, value};
    size_t d[1] = {3};
    if (f) CHECK_OK(gd_h5_write(f, "w", GD_F32, 1, d, w, 0, &err), &err);
    if (f) CHECK_OK(gd_h5_commit(f, &err), &err);
}

/* Checks that p is a complete model file whose w is (value, value, value). */
static void check_good(const char* p, float value) {
    gd_error err;
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err), &err);
    float w[3] = {0};
    size_t d[1] = {3};
    if (f) CHECK_OK(gd_h5_read(f, "w", GD_F32, 1, d, w, &err), &err);
    CHECK(w[0] == value && w[2] == value);
    gd_h5_close(f);
}

static void test_commit_abort(void) {
    gd_error err;
    gd_h5* f = NULL;
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK_OK(gd_h5_create(path, "model", "", MPI_COMM_NULL, &f, &err), &err);
    CHECK(exists(tmp) && !exists(path));
    CHECK(strcmp(gd_h5_path(f), path) == 0);
    gd_h5_abort(f);
    CHECK(!exists(tmp) && !exists(path) && gd_test_count_tmp(dir) == 0);

    write_good(path, 1.0f);
    CHECK(exists(path) && !exists(tmp));
    check_good(path, 1.0f);
    /* Replacing: the old file stays readable until the commit. */
    CHECK_OK(gd_h5_create(path, "model", "", MPI_COMM_NULL, &f, &err), &err);
    check_good(path, 1.0f);
    float w[3] = {2, 2, 2};
    size_t d[1] = {3};
    CHECK_OK(gd_h5_write(f, "w", GD_F32, 1, d, w, 0, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
    check_good(path, 2.0f);
    /* gd_h5_close on an uncommitted file is an abort. */
    CHECK_OK(gd_h5_create(path, "model", "", MPI_COMM_NULL, &f, &err), &err);
    gd_h5_close(f);
    check_good(path, 2.0f);
    CHECK(gd_test_count_tmp(dir) == 0);
}

/* Under a file size limit of 64 KiB, writes that exceed it fail; the old file stays, no temporary remains. */
static void test_fsize_limit(void) {
    write_good(path, 3.0f);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    gd_error err;
    size_t n = 1 << 18; /* 1 MiB of floats */
    float* big = malloc(n * sizeof *big);
    for (size_t i = 0; i < n; i++) big[i] = (float)((i * 2654435761u) % 100003u); /* not compressible */
    for (int mode = 0; mode < 3; mode++) {
        gd_h5* f = NULL;
        CHECK_OK(gd_h5_create(path, "model", "", MPI_COMM_NULL, &f, &err), &err);
        if (!f) continue;
        gd_status st = GD_OK;
        if (mode == 0) { /* contiguous: fails in the write */
            size_t d[1] = {n};
            st = gd_h5_write(f, "big", GD_F32, 1, d, big, 0, &err);
        } else if (mode == 1) { /* chunked + deflate: fails when chunks are flushed */
            size_t d[2] = {n / 256, 256};
            st = gd_h5_write(f, "big", GD_F32, 2, d, big, 1, &err);
        } else { /* many small attributes: metadata, fails at commit */
            for (int i = 0; i < 3000 && !st; i++) {
                char name[32];
                snprintf(name, sizeof name, "attribute_%d", i);
                st = gd_h5_attr_set_f64(f, "g", name, i, &err);
            }
        }
        if (st == GD_OK) {
            st = gd_h5_commit(f, &err);
            CHECK_MSG(st == GD_EIO, "mode %d: commit under the size limit returned %d", mode, (int)st);
        } else {
            CHECK_MSG(st == GD_EIO, "mode %d: write returned %d", mode, (int)st);
            /* A commit after a failed write is refused too. */
            CHECK(gd_h5_commit(f, &err) == GD_EIO && strstr(err.msg, "earlier write"));
        }
        CHECK_MSG(strstr(err.file, path) && err.hint[0], "mode %d: error should name %s and hint: %s", mode, path,
                  err.msg);
    }
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    check_good(path, 3.0f);
    CHECK(gd_test_count_tmp(dir) == 0);
    /* The same for whole files. */
    CHECK_OK(gd_file_write_atomic(path, "old", 3, &err), &err);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK(gd_file_write_atomic(path, big, n * sizeof *big, &err) == GD_EIO);
    CHECK(strstr(err.msg, "File too large") && strstr(err.hint, "ulimit"));
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    FILE* fp = fopen(path, "rb");
    char buf[8] = {0};
    CHECK(fp && fread(buf, 1, sizeof buf, fp) == 3 && memcmp(buf, "old", 3) == 0);
    if (fp) fclose(fp);
    CHECK(gd_test_count_tmp(dir) == 0);
    free(big);
}

static void test_bad_folders(void) {
    gd_error err;
    gd_h5* f = NULL;
    char under[700], missing[700];
    write_good(path, 4.0f);
    /* A path under a regular file (not a folder): fails even for root. */
    snprintf(under, sizeof under, "%s/model.h5", path);
    CHECK(gd_h5_create(under, "model", "", MPI_COMM_NULL, &f, &err) == GD_EIO && f == NULL);
    CHECK(strstr(err.file, under) && strstr(err.msg, "Not a directory") && err.hint[0]);
    CHECK(gd_file_write_atomic(under, "x", 1, &err) == GD_EIO && strstr(err.file, under));
    snprintf(missing, sizeof missing, "%s/no/such/folder/model.h5", dir);
    CHECK(gd_h5_create(missing, "model", "", MPI_COMM_NULL, &f, &err) == GD_EIO && strstr(err.hint, "mkdir"));
    check_good(path, 4.0f);
    CHECK(gd_h5_create(path, "", "", MPI_COMM_NULL, &f, &err) == GD_EINVAL);
    CHECK(gd_test_count_tmp(dir) == 0);
}

/* Tries to replace the file at path in a folder the process may not write to: 0 when every writer failed with
 * GD_EIO "Permission denied" naming the path, 1 otherwise. */
static int try_unwritable(void) {
    gd_error err;
    gd_h5* f = NULL;
    int bad = 0;
    if (gd_h5_create(path, "model", "", MPI_COMM_NULL, &f, &err) != GD_EIO || f || !strstr(err.msg, "Permission denied") ||
        !strstr(err.file, path) || !strstr(err.hint, "writable"))
        bad = 1;
    if (gd_file_write_atomic(path, "x", 1, &err) != GD_EIO || !strstr(err.msg, "Permission denied")) bad = 1;
    uint8_t px[4] = {0};
    if (gd_png_write(path, px, 2, 2, 1, &err) != GD_EIO || !strstr(err.msg, "Permission denied")) bad = 1;
    return bad;
}

/* EACCES: an unwritable folder. Root bypasses permissions, so as root a child process drops to user "nobody". */
static void test_unwritable(void) {
    write_good(path, 6.0f);
    chmod(dir, 0755);
    chmod(path, 0644);
    if (getuid() == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
            _exit(try_unwritable());
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77) fprintf(stdout, "note: could not drop to uid 65534\n");
        else CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unwritable folder: child status %d", status);
    } else {
        chmod(dir, 0555);
        CHECK(try_unwritable() == 0);
        chmod(dir, 0700);
    }
    check_good(path, 6.0f);
    CHECK(gd_test_count_tmp(dir) == 0);
}

/* Writes a raw HDF5 file (not through gendec) with optional kind and complete attributes, sealed (as another
 * tool would write one with gd_h5_seal) when `seal` is set. */
static void write_raw(const char* p, const char* kind, int complete, int seal) {
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (seal) H5Pset_userblock(fcpl, GD_H5_SEAL_BYTES);
    hid_t fid = H5Fcreate(p, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    hid_t s = H5Screate(H5S_SCALAR);
    if (kind) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(kind));
        hid_t a = H5Acreate2(fid, "kind", t, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, kind);
        H5Aclose(a);
        H5Tclose(t);
    }
    if (complete >= 0) {
        int64_t c = complete;
        hid_t a = H5Acreate2(fid, "complete", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT64, &c);
        H5Aclose(a);
    }
    H5Sclose(s);
    H5Fclose(fid);
    gd_error err;
    if (seal) CHECK_OK(gd_h5_seal(p, &err), &err);
}

/* Copies the file src to dst. */
static void copy_file(const char* src, const char* dst) {
    FILE* in = fopen(src, "rb");
    FILE* out = fopen(dst, "wb");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

/* Overwrites the byte at `off` of path with its complement. */
static void flip_byte(const char* path, long off) {
    FILE* f = fopen(path, "r+b");
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(~c & 0xff, f);
    fclose(f);
}

/* The seal: any changed byte, a cut or an appended byte is refused before HDF5 reads the file. */
static void test_seal(void) {
    gd_error err;
    gd_h5* f = NULL;
    char p[700];
    snprintf(p, sizeof p, "%s/sealed.h5", dir);
    write_good(path, 7.0f);
    CHECK_OK(gd_h5_seal_check(path, &err), &err);
    FILE* in = fopen(path, "rb");
    char head[32] = {0};
    CHECK(in && fread(head, 1, sizeof head - 1, in) == sizeof head - 1);
    if (in) fclose(in);
    CHECK_MSG(strncmp(head, "GENDEC-SEAL 1\nbytes ", 20) == 0, "user block starts with: %.20s", head);
    struct stat sb;
    stat(path, &sb);
    long offs[] = {GD_H5_SEAL_BYTES, GD_H5_SEAL_BYTES + 3, (long)sb.st_size / 2, (long)sb.st_size - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        copy_file(path, p);
        flip_byte(p, offs[i]);
        CHECK_MSG(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && f == NULL &&
                      strstr(err.msg, "damaged: CRC-32") && strstr(err.hint, "re-run"),
                  "byte %ld flipped: %s", offs[i], err.msg);
    }
    copy_file(path, p);
    flip_byte(p, 21); /* a digit of "bytes <size>" */
    CHECK_MSG(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT, "size text damaged: %s", err.msg);
    copy_file(path, p);
    FILE* a = fopen(p, "ab");
    fputc(0, a);
    fclose(a);
    CHECK_MSG(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && strstr(err.msg, "has grown"),
              "%s", err.msg);
    copy_file(path, p);
    CHECK(truncate(p, sb.st_size - 100) == 0);
    CHECK_MSG(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && strstr(err.msg, "truncated"),
              "%s", err.msg);
    /* An HDF5 file without the seal (another program, or no user block) is not read. */
    write_raw(p, "model", 1, 0);
    CHECK_MSG(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && strstr(err.msg, "not a sealed"),
              "%s", err.msg);
    CHECK(gd_h5_seal(p, &err) == GD_EINVAL && strstr(err.msg, "no HDF5 superblock"));
    /* The seal does not hide the file from other HDF5 readers. */
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(fid >= 0 && H5Aexists(fid, "complete") > 0);
    if (fid >= 0) H5Fclose(fid);
}

static void test_refusals(void) {
    gd_error err;
    gd_h5* f = NULL;
    char p[700];
    snprintf(p, sizeof p, "%s/raw.h5", dir);
    write_raw(p, "model", 0, 1);
    CHECK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && f == NULL);
    char want[900];
    snprintf(want, sizeof want, "not a complete gendec model file (written by an interrupted run?); delete it "
             "and re-run the stage");
    CHECK_MSG(strcmp(err.msg, want) == 0 && strcmp(err.file, p) == 0, "got: %s: %s", err.file, err.msg);
    CHECK(path_once(&err, p));
    write_raw(p, NULL, -1, 1);
    CHECK(gd_h5_open(p, "eval", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && strstr(err.msg, "not a complete gendec eval"));
    /* Fixed-length string kind written by another tool is accepted. */
    write_raw(p, "model", 1, 1);
    CHECK_OK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err), &err);
    gd_h5_close(f);
    CHECK(gd_h5_open(p, "eval", MPI_COMM_NULL, &f, &err) == GD_ESTATE && strstr(err.msg, "model") &&
          strstr(err.msg, "eval"));
    CHECK_OK(gd_h5_open(p, NULL, MPI_COMM_NULL, &f, &err), &err);
    gd_h5_close(f);
    /* Not HDF5, empty, a folder, missing. */
    CHECK_OK(gd_file_write_atomic(p, "hello, world\n", 13, &err), &err);
    CHECK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT && strstr(err.msg, "not a sealed"));
    CHECK(path_once(&err, p));
    CHECK_OK(gd_file_write_atomic(p, "", 0, &err), &err);
    CHECK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EFORMAT);
    CHECK(gd_h5_open(dir, "model", MPI_COMM_NULL, &f, &err) == GD_EIO);
    snprintf(p, sizeof p, "%s/absent.h5", dir);
    CHECK(gd_h5_open(p, "model", MPI_COMM_NULL, &f, &err) == GD_EIO && strstr(err.msg, "No such file"));
    /* Truncated: every cut of a committed file is refused without a crash. */
    write_good(path, 5.0f);
    struct stat sb;
    stat(path, &sb);
    for (off_t cut = sb.st_size - 1; cut > 0; cut = cut * 2 / 3) {
        char cp[700];
        snprintf(cp, sizeof cp, "%s/cut.h5", dir);
        FILE* in = fopen(path, "rb");
        FILE* out = fopen(cp, "wb");
        char* buf = malloc((size_t)sb.st_size);
        size_t got = fread(buf, 1, (size_t)sb.st_size, in);
        fwrite(buf, 1, got, out);
        fclose(in);
        fclose(out);
        free(buf);
        CHECK(truncate(cp, cut) == 0);
        gd_status st = gd_h5_open(cp, "model", MPI_COMM_NULL, &f, &err);
        CHECK_MSG(st == GD_EFORMAT && f == NULL, "cut at %ld: status %d", (long)cut, (int)st);
        if (f) gd_h5_close(f);
    }
}

int main(void) {
    signal(SIGXFSZ, SIG_IGN); /* so that exceeding the file size limit is an error, not a kill */
    snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    snprintf(path, sizeof path, "%s/model.h5", dir);
    char errlog[700];
    snprintf(errlog, sizeof errlog, "%s/stderr.txt", dir);
    fflush(stderr);
    FILE* saved = fdopen(dup(fileno(stderr)), "w");
    if (!freopen(errlog, "w", stderr)) return 1;
    test_commit_abort();
    test_fsize_limit();
    test_bad_folders();
    test_unwritable();
    test_refusals();
    test_seal();
    fflush(stderr);
    long size = ftell(stderr);
    dup2(fileno(saved), fileno(stderr));
    fclose(saved);
    FILE* log = fopen(errlog, "r");
    char line[512];
    while (log && fgets(line, sizeof line, log)) fputs(line, stderr);
    if (log) fclose(log);
    CHECK_MSG(size == 0, "%ld bytes were printed to stderr (shown above)", size);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gd_test_tmpdir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gd_test_tmpdir());
    return gd_test_done("test_h5_atomic");
}
