/* Aligned allocation and clocks. */
#include "gendec/core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void* gd_alloc(size_t bytes) {
    if (bytes == 0) return NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    void* p = aligned_alloc(64, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

void gd_free(void* p) { free(p); }

int gd_mul_overflows(size_t a, size_t b, size_t* out) {
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

double gd_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gd_utc_iso8601(char* buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
