/* Internals shared by the files of src/config (not a public header). */
#ifndef GD_CONFIG_INTERNAL_H
#define GD_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/config.h"

/* One resolved value: the field matching the key's type is used. */
typedef struct {
    int64_t i;   /* INT */
    double f;    /* FLOAT */
    int b;       /* BOOL */
    char* s;     /* STRING, ENUM */
    size_t n;    /* list length */
    double* fl;  /* FLOATS (n) */
    int64_t* il; /* INTS (n) */
    char** sl;   /* STRINGS (n) */
    int src;     /* index into gd_config.sources */
    int line, col;   /* of the key node (0 = none) */
    int vline, vcol; /* of the value node (0 = none) */
    int layer;   /* 0 defaults, 1 file, 2 quick:, 3.. overrides */
} gd_cfg_value;

/* Misuse bookkeeping, behind a pointer so that getters on a const config can count. */
typedef struct {
    int strict;
    int count;
    char last[128];
} gd_cfg_misuse_rec;

struct gd_config {
    size_t n;        /* schema size */
    gd_cfg_value* v; /* (n), parallel to the schema */
    char** sources;  /* place names: [0] = "defaults", files, "--set '...'" */
    size_t n_sources, cap_sources;
    int last_layer;
    gd_cfg_misuse_rec* mis;
};

void gd_cfg_value_clear(gd_cfg_value* v);
int gd_cfg_is_section(const char* path);
void gd_cfg_fmt_num(double x, char* buf, size_t bn);
/* A getter misuse: aborts with a message when the config is strict (default), else counts it. */
void gd_cfg_misuse(const gd_config* cfg, const char* fn, const char* key, const char* why);

#endif
