/* A minimal test harness: CHECK macros count failures; gd_test_done() prints a summary and returns the
 * process exit code (0 all passed, 1 any failed). A test that cannot run exits GD_TEST_SKIP (77) and says
 * why on stderr; ctest reports it as skipped, never as passed. */
#ifndef GD_TEST_H
#define GD_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GD_TEST_SKIP 77

static int gd_test_checks, gd_test_failures;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        gd_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            gd_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        gd_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            gd_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* |a - b| <= tol, printing both values when it fails. */
#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double gd_a_ = (double)(a), gd_b_ = (double)(b), gd_t_ = (double)(tol);            \
        gd_test_checks++;                                                                  \
        if (!(fabs(gd_a_ - gd_b_) <= gd_t_)) {                                             \
            gd_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g, tol %.3g\n",  \
                    __FILE__, __LINE__, #a, gd_a_, #b, gd_b_, gd_t_);                      \
        }                                                                                  \
    } while (0)

/* A gd_status call that must succeed; prints the error record when it does not. */
#define CHECK_OK(call, errp)                                                               \
    do {                                                                                   \
        gd_test_checks++;                                                                  \
        gd_status gd_s_ = (call);                                                          \
        if (gd_s_ != GD_OK) {                                                              \
            char gd_buf_[2048];                                                            \
            gd_error_format((errp), gd_buf_, sizeof gd_buf_);                              \
            gd_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, gd_buf_); \
        }                                                                                  \
    } while (0)

static inline int gd_test_done(const char* name) {
    printf("%s: %d checks, %d failed\n", name, gd_test_checks, gd_test_failures);
    return gd_test_failures ? 1 : 0;
}

/* A scratch folder for this test process (under $TMPDIR or /tmp), created fresh. */
#include <string.h>
#include <unistd.h>
static inline const char* gd_test_tmpdir(void) {
    static char dir[512];
    if (!dir[0]) {
        const char* base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/gdtest.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return dir;
}

/* Number of entries of folder d whose name contains ".tmp." (temporaries left behind). */
#include <dirent.h>
static inline int gd_test_count_tmp(const char* d) {
    DIR* dp = opendir(d);
    int n = 0;
    struct dirent* e;
    while (dp && (e = readdir(dp)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (dp) closedir(dp);
    return n;
}

#endif
