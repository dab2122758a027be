/* Error records: filled by the library, printed by the CLI. */
#include "gendec/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void gd_error_clear(gd_error* err) {
    if (err) memset(err, 0, sizeof *err);
}

gd_status gd_error_set(gd_error* err, gd_status code, const char* file, int line, int col,
                       const char* hint, const char* fmt, ...) {
    if (!err) return code;
    err->code = code;
    err->line = line;
    err->col = col;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void gd_error_prefix(gd_error* err, const char* fmt, ...) {
    if (!err) return;
    char joined[2 * sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(joined, sizeof joined, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    size_t len = (size_t)w < sizeof joined ? (size_t)w : sizeof joined - 1;
    snprintf(joined + len, sizeof joined - len, ": %s", err->msg);
    memcpy(err->msg, joined, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
}

/* Appends printf-style text to buf (capacity n, current length *len), truncating at the end. */
static void append(char* buf, size_t n, size_t* len, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char* buf, size_t n, size_t* len, const char* fmt, ...) {
    if (*len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0) *len += (size_t)w < n - *len ? (size_t)w : n - *len - 1;
}

void gd_error_format(const gd_error* err, char* buf, size_t n) {
    if (n == 0) return;
    buf[0] = '\0';
    size_t len = 0;
    if (err->file[0]) {
        append(buf, n, &len, "%s:", err->file);
        if (err->line > 0) append(buf, n, &len, "%d:", err->line);
        if (err->line > 0 && err->col > 0) append(buf, n, &len, "%d:", err->col);
        append(buf, n, &len, " ");
    }
    append(buf, n, &len, "%s", err->msg[0] ? err->msg : gd_status_name(err->code));
    if (err->hint[0]) append(buf, n, &len, " (%s)", err->hint);
}

const char* gd_status_name(gd_status code) {
    switch (code) {
    case GD_OK: return "ok";
    case GD_EINVAL: return "invalid argument";
    case GD_ECONFIG: return "configuration error";
    case GD_EIO: return "I/O error";
    case GD_EFORMAT: return "bad file format";
    case GD_ENOMEM: return "out of memory";
    case GD_EMPI: return "MPI error";
    case GD_ENUMERIC: return "non-finite number";
    case GD_EINTR: return "interrupted";
    case GD_ESTATE: return "wrong state";
    }
    return "unknown error";
}
