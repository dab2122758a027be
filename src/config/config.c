/* Resolution of an experiment: schema defaults <- YAML file <- its quick: mapping <- --set overrides, with
 * every value typed and checked against the schema, and each value's origin (file, line, column) kept for
 * error messages. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_internal.h"

/* ---- small helpers --------------------------------------------------------------------------------- */

static char* dup_str(const char* s) {
    size_t n = strlen(s) + 1;
    char* d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Frees the heap parts of a value and zeroes them. */
void gd_cfg_value_clear(gd_cfg_value* v) {
    free(v->s);
    free(v->fl);
    free(v->il);
    if (v->sl)
        for (size_t i = 0; i < v->n; i++) free(v->sl[i]);
    free(v->sl);
    v->s = NULL;
    v->fl = NULL;
    v->il = NULL;
    v->sl = NULL;
    v->n = 0;
}

/* Deep-copies the typed contents of src into dst (zeroed); 0 or -1 on allocation failure. */
static int value_copy(gd_cfg_value* dst, const gd_cfg_value* src) {
    *dst = *src;
    dst->s = NULL;
    dst->fl = NULL;
    dst->il = NULL;
    dst->sl = NULL;
    if (src->s && !(dst->s = dup_str(src->s))) return -1;
    size_t n = src->n ? src->n : 1;
    if (src->fl) {
        if (!(dst->fl = malloc(n * sizeof(double)))) return -1;
        memcpy(dst->fl, src->fl, src->n * sizeof(double));
    }
    if (src->il) {
        if (!(dst->il = malloc(n * sizeof(int64_t)))) return -1;
        memcpy(dst->il, src->il, src->n * sizeof(int64_t));
    }
    if (src->sl) {
        if (!(dst->sl = calloc(n, sizeof(char*)))) return -1;
        for (size_t i = 0; i < src->n; i++)
            if (!(dst->sl[i] = dup_str(src->sl[i]))) return -1;
    }
    return 0;
}

/* Index of a place name in cfg->sources, adding it when new; -1 on allocation failure. */
static int add_source(gd_config* cfg, const char* name) {
    for (size_t i = 0; i < cfg->n_sources; i++)
        if (!strcmp(cfg->sources[i], name)) return (int)i;
    if (cfg->n_sources == cfg->cap_sources) {
        size_t cap = cfg->cap_sources ? 2 * cfg->cap_sources : 8;
        char** s = realloc(cfg->sources, cap * sizeof(char*));
        if (!s) return -1;
        cfg->sources = s;
        cfg->cap_sources = cap;
    }
    if (!(cfg->sources[cfg->n_sources] = dup_str(name))) return -1;
    return (int)cfg->n_sources++;
}

static gd_status nomem(gd_error* err) { return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory"); }

/* Levenshtein distance of two short strings (longer ones are cut at 127 characters). */
static int edit_distance(const char* a, const char* b) {
    int na = (int)strlen(a), nb = (int)strlen(b);
    if (na > 127) na = 127;
    if (nb > 127) nb = 127;
    int prev[128], cur[128];
    for (int j = 0; j <= nb; j++) prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        for (int j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(nb + 1));
    }
    return prev[nb];
}

int gd_cfg_is_section(const char* path) {
    size_t n, len = strlen(path);
    const gd_config_key* s = gd_config_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(s[i].key, path, len) && s[i].key[len] == '.') return 1;
    return 0;
}

/* The last dotted segment of a path. */
static const char* last_segment(const char* p) {
    const char* d = strrchr(p, '.');
    return d ? d + 1 : p;
}

/* Writes a "did you mean" hint for an unknown key into buf: a key that starts with the path, else the
 * nearest key or section by edit distance, else a key with the same last segment in another section. */
static void suggest_key(const char* path, char* buf, size_t bn) {
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    char best[256] = "", cand[256];
    int best_d = 1 << 30;
    size_t len = strlen(path);
    for (size_t i = 0; i < n; i++) {
        const char* k = s[i].key;
        for (const char* p = k;; p++) { /* the key itself and each of its sections */
            if (*p != '.' && *p != '\0') continue;
            size_t m = (size_t)(p - k);
            if (m < sizeof cand) {
                memcpy(cand, k, m);
                cand[m] = '\0';
                int d = edit_distance(path, cand);
                if (d < best_d) best_d = d, memcpy(best, cand, m + 1);
            }
            if (*p == '\0') break;
        }
    }
    const char* tail = "'gendec config --help' lists every key";
    if (strlen(last_segment(path)) >= 3)
        for (size_t i = 0; i < n; i++)
            if (!strncmp(s[i].key, path, len)) {
                snprintf(buf, bn, "did you mean '%s'? %s", s[i].key, tail);
                return;
            }
    int limit = (int)len / 3 > 1 ? (int)len / 3 : 1;
    if (best[0] && best_d <= limit) {
        snprintf(buf, bn, "did you mean '%s'? %s", best, tail);
        return;
    }
    const char* seg = last_segment(path);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(last_segment(s[i].key), seg)) {
            snprintf(buf, bn, "did you mean '%s'? %s", s[i].key, tail);
            return;
        }
    snprintf(buf, bn, "%s", tail);
}

/* "a, b, c" from "a|b|c". */
static void choices_list(const char* choices, char* buf, size_t bn) {
    size_t j = 0;
    for (const char* p = choices; *p && j + 3 < bn; p++) {
        if (*p == '|') {
            buf[j++] = ',';
            buf[j++] = ' ';
        } else {
            buf[j++] = *p;
        }
    }
    buf[j] = '\0';
}

/* 1 if `value` is one of the '|'-separated choices. */
static int in_choices(const char* choices, const char* value) {
    size_t len = strlen(value);
    const char* p = choices;
    while (*p) {
        const char* e = strchr(p, '|');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == len && !strncmp(p, value, m)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Formats a number for messages and docs: %g without "e+0". */
void gd_cfg_fmt_num(double x, char* buf, size_t bn) {
    char t[64];
    snprintf(t, sizeof t, "%g", x);
    size_t j = 0;
    for (size_t i = 0; t[i] && j + 1 < bn; i++) {
        if (t[i] == 'e' && t[i + 1] == '+') {
            buf[j++] = 'e';
            i++;
            while (t[i + 1] == '0' && t[i + 2]) i++;
            continue;
        }
        buf[j++] = t[i];
    }
    buf[j] = '\0';
}

/* "an integer in [1, 64]" etc. for hints. */
static void expect_text(const gd_config_key* k, char* buf, size_t bn) {
    char lo[32], hi[32], ch[512];
    gd_cfg_fmt_num(k->min, lo, sizeof lo);
    gd_cfg_fmt_num(k->max, hi, sizeof hi);
    switch (k->type) {
    case GD_CFG_BOOL: snprintf(buf, bn, "true or false"); break;
    case GD_CFG_INT: snprintf(buf, bn, "an integer in [%s, %s]", lo, hi); break;
    case GD_CFG_FLOAT: snprintf(buf, bn, "a number in [%s, %s]", lo, hi); break;
    case GD_CFG_STRING: snprintf(buf, bn, "a string"); break;
    case GD_CFG_ENUM:
        choices_list(k->choices, ch, sizeof ch);
        snprintf(buf, bn, "one of: %s", ch);
        break;
    case GD_CFG_FLOATS: snprintf(buf, bn, "a list of numbers in [%s, %s], e.g. [%s, %s]", lo, hi, lo, hi); break;
    case GD_CFG_INTS: snprintf(buf, bn, "a list of integers in [%s, %s], e.g. [%s]", lo, hi, lo); break;
    case GD_CFG_STRINGS:
        if (k->choices) {
            choices_list(k->choices, ch, sizeof ch);
            snprintf(buf, bn, "a list of: %s", ch);
        } else {
            snprintf(buf, bn, "a list of strings, e.g. [a, b]");
        }
        break;
    }
}

/* ---- applying YAML nodes ----------------------------------------------------------------------------- */

/* Where values of one document come from. */
typedef struct {
    gd_config* cfg;
    yaml_document_t* doc;
    const char* place; /* file name or "--set '...'" */
    int src;           /* index of place in cfg->sources */
    int layer;
    int positions;     /* 1: report node line/col; 0: the place alone (overrides) */
    int in_quick;
    gd_error* err;
} actx;

static int node_line(const actx* a, const yaml_node_t* n) { return a->positions ? (int)n->start_mark.line + 1 : 0; }
static int node_col(const actx* a, const yaml_node_t* n) { return a->positions ? (int)n->start_mark.column + 1 : 0; }

static gd_status node_error(const actx* a, const yaml_node_t* n, const char* hint, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
static gd_status node_error(const actx* a, const yaml_node_t* n, const char* hint, const char* fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gd_error_set(a->err, GD_ECONFIG, a->place, n ? node_line(a, n) : 0, n ? node_col(a, n) : 0, hint, "%s",
                        msg);
}

static const char* scalar_text(const yaml_node_t* n) { return (const char*)n->data.scalar.value; }
static int is_plain(const yaml_node_t* n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static int is_null(const yaml_node_t* n) {
    if (n->type != YAML_SCALAR_NODE || !is_plain(n)) return 0;
    const char* t = scalar_text(n);
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static const char* node_kind(const yaml_node_t* n) {
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    return is_null(n) ? "nothing" : "a scalar";
}

/* Parses a plain scalar as an integer; 0 on success. */
static int parse_int(const char* t, int64_t* out) {
    const char* p = t;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return -1;
    for (const char* q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    errno = 0;
    char* end;
    long long v = strtoll(t, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* Parses a plain scalar as a finite decimal number; 0 on success. */
static int parse_float(const char* t, double* out) {
    if (!*t) return -1;
    int digits = 0;
    for (const char* q = t; *q; q++) {
        if (isdigit((unsigned char)*q)) digits = 1;
        else if (!strchr("+-.eE", *q)) return -1;
    }
    if (!digits) return -1;
    errno = 0;
    char* end;
    double v = strtod(t, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char* t, int* out) {
    static const char* yes[] = {"true", "yes", "on"};
    static const char* no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(t, yes[i])) return *out = 1, 0;
        if (!strcasecmp(t, no[i])) return *out = 0, 0;
    }
    return -1;
}

/* Parses one list element or scalar of numeric type `t` from node n into *f / *i, checking the range. */
static gd_status parse_number(const actx* a, const gd_config_key* k, const yaml_node_t* n, int want_int,
                              double* f, int64_t* i) {
    char hint[700], want[600];
    expect_text(k, want, sizeof want);
    if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        snprintf(hint, sizeof hint, "expected %s", want);
        return node_error(a, n, hint, "%s: expected %s, got %s", k->key, want_int ? "an integer" : "a number",
                          node_kind(n));
    }
    const char* t = scalar_text(n);
    if (!is_plain(n)) {
        snprintf(hint, sizeof hint, "write it without quotes: %s", want);
        return node_error(a, n, hint, "%s: '%s' is a quoted string, not a number", k->key, t);
    }
    double v;
    if (want_int) {
        int64_t iv;
        if (parse_int(t, &iv)) {
            snprintf(hint, sizeof hint, "expected %s", want);
            return node_error(a, n, hint, "%s: '%s' is not an integer", k->key, t);
        }
        *i = iv;
        v = (double)iv;
    } else {
        if (parse_float(t, &v)) {
            snprintf(hint, sizeof hint, "expected %s", want);
            return node_error(a, n, hint, "%s: '%s' is not a number", k->key, t);
        }
        *f = v;
    }
    if (v < k->min || v > k->max) {
        char lo[32], hi[32];
        gd_cfg_fmt_num(k->min, lo, sizeof lo);
        gd_cfg_fmt_num(k->max, hi, sizeof hi);
        snprintf(hint, sizeof hint, "allowed: [%s, %s]", lo, hi);
        return node_error(a, n, hint, "%s: %s is out of range", k->key, t);
    }
    return GD_OK;
}

/* Parses a string element (for STRINGS) checking the choices. */
static gd_status parse_string_elem(const actx* a, const gd_config_key* k, const yaml_node_t* n, char** out) {
    char hint[700], want[600];
    expect_text(k, want, sizeof want);
    if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        snprintf(hint, sizeof hint, "expected %s", want);
        return node_error(a, n, hint, "%s: expected a string, got %s", k->key, node_kind(n));
    }
    const char* t = scalar_text(n);
    if (k->choices && !in_choices(k->choices, t)) {
        snprintf(hint, sizeof hint, "expected %s", want);
        return node_error(a, n, hint, "%s: '%s' is not allowed", k->key, t);
    }
    if (!(*out = dup_str(t))) return nomem(a->err);
    return GD_OK;
}

/* Parses value node n for key k into *v (zeroed by the caller). On error *v may hold partial heap parts;
 * the caller clears it. */
static gd_status parse_value(const actx* a, const gd_config_key* k, yaml_node_t* n, gd_cfg_value* v) {
    char hint[700], want[600];
    expect_text(k, want, sizeof want);
    gd_status st;
    switch (k->type) {
    case GD_CFG_BOOL:
        if (n->type != YAML_SCALAR_NODE || is_null(n) || !is_plain(n) || parse_bool(scalar_text(n), &v->b)) {
            snprintf(hint, sizeof hint, "expected %s", want);
            if (n->type == YAML_SCALAR_NODE && !is_null(n))
                return node_error(a, n, hint, "%s: '%s' is not a boolean", k->key, scalar_text(n));
            return node_error(a, n, hint, "%s: expected true or false, got %s", k->key, node_kind(n));
        }
        return GD_OK;
    case GD_CFG_INT: return parse_number(a, k, n, 1, NULL, &v->i);
    case GD_CFG_FLOAT:
        if (n->type == YAML_SCALAR_NODE && is_plain(n) && !is_null(n)) {
            int64_t iv;
            if (!parse_int(scalar_text(n), &iv)) {
                double d = (double)iv;
                if (d < k->min || d > k->max) return parse_number(a, k, n, 0, &v->f, NULL);
                v->f = d;
                return GD_OK;
            }
        }
        return parse_number(a, k, n, 0, &v->f, NULL);
    case GD_CFG_STRING:
        if (n->type != YAML_SCALAR_NODE) {
            snprintf(hint, sizeof hint, "expected %s; quote it if it contains ':' or '#'", want);
            return node_error(a, n, hint, "%s: expected a string, got %s", k->key, node_kind(n));
        }
        if (!(v->s = dup_str(is_null(n) ? "" : scalar_text(n)))) return nomem(a->err);
        return GD_OK;
    case GD_CFG_ENUM:
        if (n->type != YAML_SCALAR_NODE || is_null(n) || !in_choices(k->choices, scalar_text(n))) {
            snprintf(hint, sizeof hint, "expected %s", want);
            if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
                /* name the closest choice */
                const char* t = scalar_text(n);
                const char* p = k->choices;
                char best[128] = "";
                int bd = 1 << 30;
                while (*p) {
                    const char* e = strchr(p, '|');
                    size_t m = e ? (size_t)(e - p) : strlen(p);
                    char c[128];
                    if (m < sizeof c) {
                        memcpy(c, p, m);
                        c[m] = '\0';
                        int d = edit_distance(t, c);
                        if (d < bd) bd = d, memcpy(best, c, m + 1);
                    }
                    if (!e) break;
                    p = e + 1;
                }
                if (bd <= 2 || bd <= (int)strlen(t) / 3)
                    snprintf(hint, sizeof hint, "did you mean '%s'? expected %s", best, want);
                return node_error(a, n, hint, "%s: '%s' is not allowed", k->key, t);
            }
            return node_error(a, n, hint, "%s: expected a name, got %s", k->key, node_kind(n));
        }
        if (!(v->s = dup_str(scalar_text(n)))) return nomem(a->err);
        return GD_OK;
    case GD_CFG_FLOATS:
    case GD_CFG_INTS:
    case GD_CFG_STRINGS: {
        yaml_node_t* one[1];
        yaml_node_t** items;
        size_t count;
        if (n->type == YAML_MAPPING_NODE) {
            snprintf(hint, sizeof hint, "expected %s", want);
            return node_error(a, n, hint, "%s: expected a list, got a mapping", k->key);
        }
        if (n->type == YAML_SEQUENCE_NODE) {
            count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
            items = NULL;
        } else if (is_null(n)) {
            count = 0;
            items = one;
        } else {
            one[0] = n; /* a single scalar is a list of one */
            count = 1;
            items = one;
        }
        if (count > 100000) return node_error(a, n, "at most 100000 items", "%s: list too long", k->key);
        size_t cap = count ? count : 1;
        if (k->type == GD_CFG_FLOATS) v->fl = calloc(cap, sizeof(double));
        if (k->type == GD_CFG_INTS) v->il = calloc(cap, sizeof(int64_t));
        if (k->type == GD_CFG_STRINGS) v->sl = calloc(cap, sizeof(char*));
        if (!v->fl && !v->il && !v->sl) return nomem(a->err);
        for (size_t j = 0; j < count; j++) {
            yaml_node_t* e = items ? items[j] : yaml_document_get_node(a->doc, n->data.sequence.items.start[j]);
            if (e->type != YAML_SCALAR_NODE) {
                snprintf(hint, sizeof hint, "expected %s", want);
                return node_error(a, e, hint, "%s: list items must be scalars, item %zu is %s", k->key, j + 1,
                                  node_kind(e));
            }
            if (k->type == GD_CFG_FLOATS) {
                int64_t iv;
                if (is_plain(e) && !parse_int(scalar_text(e), &iv) && (double)iv >= k->min && (double)iv <= k->max)
                    v->fl[j] = (double)iv;
                else if ((st = parse_number(a, k, e, 0, &v->fl[j], NULL))) return st;
            } else if (k->type == GD_CFG_INTS) {
                if ((st = parse_number(a, k, e, 1, NULL, &v->il[j]))) return st;
            } else {
                v->n = j; /* so that a failure frees what was made */
                if ((st = parse_string_elem(a, k, e, &v->sl[j]))) return st;
            }
            v->n = j + 1;
        }
        v->n = count;
        if ((int)count < k->min_len) {
            snprintf(hint, sizeof hint, "expected %s", want);
            return node_error(a, n, hint, "%s: needs at least %d item%s", k->key, k->min_len,
                              k->min_len == 1 ? "" : "s");
        }
        return GD_OK;
    }
    }
    return GD_OK;
}

/* Applies value node n to key k (after parsing it), recording its place. */
static gd_status apply_leaf(actx* a, const gd_config_key* k, yaml_node_t* n, const yaml_node_t* key_node) {
    size_t idx = (size_t)(k - gd_config_schema(&(size_t){0}));
    gd_cfg_value* cur = &a->cfg->v[idx];
    if (a->in_quick && !strcmp(k->key, "scale"))
        return node_error(a, key_node, "set scale at the top level or with --set scale=quick",
                          "'scale' cannot be set inside quick:");
    if (cur->layer == a->layer) {
        char hint[128];
        if (cur->line > 0) snprintf(hint, sizeof hint, "first set at line %d; remove one of them", cur->line);
        else snprintf(hint, sizeof hint, "remove one of them");
        return node_error(a, key_node, hint, "duplicate key '%s'", k->key);
    }
    gd_cfg_value nv = {0};
    gd_status st = parse_value(a, k, n, &nv);
    if (st) {
        gd_cfg_value_clear(&nv);
        return st;
    }
    gd_cfg_value_clear(cur);
    *cur = nv;
    cur->src = a->src;
    cur->line = node_line(a, key_node);
    cur->col = node_col(a, key_node);
    cur->vline = node_line(a, n);
    cur->vcol = node_col(a, n);
    cur->layer = a->layer;
    return GD_OK;
}

static gd_status apply_node(actx* a, const char* path, yaml_node_t* n, const yaml_node_t* key_node,
                            yaml_node_t** quick);

/* Applies every pair of mapping m under the dotted prefix (NULL at the top level). */
static gd_status apply_mapping(actx* a, const char* prefix, yaml_node_t* m, yaml_node_t** quick) {
    yaml_node_pair_t* start = m->data.mapping.pairs.start;
    yaml_node_pair_t* top = m->data.mapping.pairs.top;
    for (yaml_node_pair_t* p = start; p < top; p++) {
        yaml_node_t* kn = yaml_document_get_node(a->doc, p->key);
        yaml_node_t* vn = yaml_document_get_node(a->doc, p->value);
        if (kn->type != YAML_SCALAR_NODE || is_null(kn))
            return node_error(a, kn, "keys are names such as 'infer' or 'infer.beta'", "a key must be a name");
        const char* k = scalar_text(kn);
        for (yaml_node_pair_t* q = start; q < p; q++) {
            yaml_node_t* qk = yaml_document_get_node(a->doc, q->key);
            if (qk->type == YAML_SCALAR_NODE && !strcmp(scalar_text(qk), k)) {
                char hint[128];
                snprintf(hint, sizeof hint, "first at line %d; merge the two", node_line(a, qk));
                return node_error(a, kn, a->positions ? hint : "merge the two", "duplicate key '%s%s%s'",
                                  prefix ? prefix : "", prefix ? "." : "", k);
            }
        }
        char path[512];
        int w = snprintf(path, sizeof path, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", k);
        if (w < 0 || (size_t)w >= sizeof path) return node_error(a, kn, NULL, "key too long");
        if (!prefix && quick && !strcmp(k, "quick")) {
            if (a->in_quick) return node_error(a, kn, "quick: cannot be nested", "unknown key 'quick.quick'");
            if (vn->type != YAML_MAPPING_NODE && !is_null(vn))
                return node_error(a, vn, "write e.g. 'quick: {train: {epochs: 1}}'",
                                  "quick: must be a mapping of overrides, got %s", node_kind(vn));
            if (vn->type == YAML_MAPPING_NODE) *quick = vn;
            continue;
        }
        gd_status st = apply_node(a, path, vn, kn, quick);
        if (st) return st;
    }
    return GD_OK;
}

/* Applies node n to the key or section `path`. */
static gd_status apply_node(actx* a, const char* path, yaml_node_t* n, const yaml_node_t* key_node,
                            yaml_node_t** quick) {
    const gd_config_key* k = gd_config_lookup(path);
    if (k) return apply_leaf(a, k, n, key_node);
    if (path[0] && path[strlen(path) - 1] != '.' && !strstr(path, "..") && gd_cfg_is_section(path)) {
        if (is_null(n)) return GD_OK;
        if (n->type != YAML_MAPPING_NODE) {
            char hint[600];
            snprintf(hint, sizeof hint, "write its keys below it, e.g. '%s: {...}', or a key such as '%s.<name>'",
                     path, path);
            return node_error(a, n, hint, "'%s' is a section; expected a mapping of its keys, got %s", path,
                              node_kind(n));
        }
        (void)quick;
        return apply_mapping(a, path, n, NULL);
    }
    char hint[600];
    suggest_key(path, hint, sizeof hint);
    return node_error(a, key_node, hint, "unknown key '%s'", path);
}

/* Loads one YAML document from text; GD_ECONFIG with the position of a syntax error. *root is NULL for an
 * empty document. */
static gd_status load_doc(const char* text, size_t len, const char* place, int positions, yaml_document_t* doc,
                          yaml_node_t** root, gd_error* err) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return nomem(err);
    yaml_parser_set_input_string(&p, (const unsigned char*)text, len);
    if (!yaml_parser_load(&p, doc)) {
        int line = positions ? (int)p.problem_mark.line + 1 : 0, col = positions ? (int)p.problem_mark.column + 1 : 0;
        char hint[160] = "check the YAML syntax near this place";
        if (p.context && positions)
            snprintf(hint, sizeof hint, "check the YAML syntax; the construct started at line %d, column %d",
                     (int)p.context_mark.line + 1, (int)p.context_mark.column + 1);
        gd_status st = gd_error_set(err, GD_ECONFIG, place, line, col, hint, "YAML syntax error: %s%s%s",
                                    p.problem ? p.problem : "?", p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return st;
    }
    *root = yaml_document_get_root_node(doc);
    if (*root) {
        yaml_document_t extra;
        if (yaml_parser_load(&p, &extra)) {
            yaml_node_t* r2 = yaml_document_get_root_node(&extra);
            int line = r2 && positions ? (int)r2->start_mark.line + 1 : 0;
            yaml_document_delete(&extra);
            if (r2) {
                yaml_document_delete(doc);
                yaml_parser_delete(&p);
                return gd_error_set(err, GD_ECONFIG, place, line, positions ? 1 : 0,
                                    "an experiment file holds one YAML document; remove the '---'",
                                    "a second YAML document");
            }
        }
    }
    yaml_parser_delete(&p);
    return GD_OK;
}

/* ---- the config object ---------------------------------------------------------------------------- */

void gd_config_free(gd_config* cfg) {
    if (!cfg) return;
    if (cfg->v)
        for (size_t i = 0; i < cfg->n; i++) gd_cfg_value_clear(&cfg->v[i]);
    free(cfg->v);
    for (size_t i = 0; i < cfg->n_sources; i++) free(cfg->sources[i]);
    free(cfg->sources);
    free(cfg->mis);
    free(cfg);
}

/* An empty config (no values yet) with source 0 = "defaults". */
static gd_config* config_new(void) {
    gd_config* cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    gd_config_schema(&cfg->n);
    cfg->v = calloc(cfg->n, sizeof *cfg->v);
    cfg->mis = calloc(1, sizeof *cfg->mis);
    if (!cfg->v || !cfg->mis || add_source(cfg, "defaults") != 0) {
        gd_config_free(cfg);
        return NULL;
    }
    cfg->mis->strict = 1;
    return cfg;
}

gd_status gd_config_defaults(gd_config** out, gd_error* err) {
    *out = NULL;
    gd_config* cfg = config_new();
    if (!cfg) return nomem(err);
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    for (size_t i = 0; i < n; i++) {
        char place[300];
        snprintf(place, sizeof place, "schema default of %s", s[i].key);
        yaml_document_t doc;
        yaml_node_t* root;
        gd_status st = load_doc(s[i].def, strlen(s[i].def), place, 0, &doc, &root, err);
        if (st) {
            gd_config_free(cfg);
            return st;
        }
        yaml_node_t empty = {0};
        empty.type = YAML_SCALAR_NODE;
        empty.data.scalar.value = (yaml_char_t*)"";
        empty.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
        actx a = {cfg, &doc, place, 0, -1, 0, 0, err};
        st = apply_leaf(&a, &s[i], root ? root : &empty, root ? root : &empty);
        cfg->v[i].layer = 0;
        yaml_document_delete(&doc);
        if (st) {
            gd_config_free(cfg);
            return st;
        }
    }
    cfg->last_layer = 0;
    *out = cfg;
    return GD_OK;
}

gd_config* gd_config_clone(const gd_config* src) {
    gd_config* cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->n = src->n;
    cfg->last_layer = src->last_layer;
    cfg->v = calloc(src->n, sizeof *cfg->v);
    cfg->mis = calloc(1, sizeof *cfg->mis);
    cfg->sources = calloc(src->n_sources ? src->n_sources : 1, sizeof(char*));
    if (!cfg->v || !cfg->mis || !cfg->sources) {
        gd_config_free(cfg);
        return NULL;
    }
    cfg->cap_sources = src->n_sources ? src->n_sources : 1;
    *cfg->mis = *src->mis;
    for (size_t i = 0; i < src->n_sources; i++) {
        if (!(cfg->sources[i] = dup_str(src->sources[i]))) {
            gd_config_free(cfg);
            return NULL;
        }
        cfg->n_sources = i + 1;
    }
    for (size_t i = 0; i < src->n; i++)
        if (value_copy(&cfg->v[i], &src->v[i])) {
            gd_config_free(cfg);
            return NULL;
        }
    return cfg;
}

/* Pair rules that one key alone cannot check. The error points at whichever of the two was set last. */
static gd_status check_pairs(const gd_config* cfg, gd_error* err) {
    static const struct {
        const char *lo, *hi;
        int strict;
    } pairs[] = {
        {"infer.yl", "infer.yu", 1},
        {"data.ts.scale_min", "data.ts.scale_max", 0},
        {"attack.neat.weight_min", "attack.neat.weight_max", 1},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t n;
        const gd_config_key* s = gd_config_schema(&n);
        const gd_config_key *kl = gd_config_lookup(pairs[i].lo), *kh = gd_config_lookup(pairs[i].hi);
        const gd_cfg_value *vl = &cfg->v[kl - s], *vh = &cfg->v[kh - s];
        double fl = kl->type == GD_CFG_INT ? (double)vl->i : vl->f;
        double fh = kh->type == GD_CFG_INT ? (double)vh->i : vh->f;
        int bad = pairs[i].strict ? !(fl < fh) : !(fl <= fh);
        if (!bad) continue;
        const gd_cfg_value* at = vl->layer > vh->layer ? vl : vh;
        char a[32], b[32], hint[256];
        gd_cfg_fmt_num(fl, a, sizeof a);
        gd_cfg_fmt_num(fh, b, sizeof b);
        snprintf(hint, sizeof hint, "lower %s or raise %s", pairs[i].lo, pairs[i].hi);
        return gd_error_set(err, GD_ECONFIG, cfg->sources[at->src], at->vline, at->vcol, hint,
                            "%s = %s must be %s %s = %s", pairs[i].lo, a,
                            pairs[i].strict ? "smaller than" : "at most", pairs[i].hi, b);
    }
    return GD_OK;
}

/* Splits "key=value" and applies it to cfg with the given layer. */
static gd_status apply_set(gd_config* cfg, const char* assignment, int layer, gd_error* err) {
    char place[700];
    snprintf(place, sizeof place, "--set '%s'", assignment);
    const char* eq = strchr(assignment, '=');
    if (!eq)
        return gd_error_set(err, GD_ECONFIG, place, 0, 0, "write --set key.sub=value, e.g. --set infer.beta=7",
                            "an override needs '='");
    char key[512];
    size_t kl = (size_t)(eq - assignment);
    while (kl && isspace((unsigned char)assignment[kl - 1])) kl--;
    const char* ks = assignment;
    while (kl && isspace((unsigned char)*ks)) ks++, kl--;
    if (!kl || kl >= sizeof key)
        return gd_error_set(err, GD_ECONFIG, place, 0, 0, "write --set key.sub=value, e.g. --set infer.beta=7",
                            "an override needs a key before '='");
    memcpy(key, ks, kl);
    key[kl] = '\0';
    int src = add_source(cfg, place);
    if (src < 0) return nomem(err);
    const char* val = eq + 1;
    yaml_document_t doc;
    yaml_node_t* root;
    gd_status st = load_doc(val, strlen(val), place, 0, &doc, &root, err);
    if (st) return st;
    yaml_node_t empty = {0};
    empty.type = YAML_SCALAR_NODE;
    empty.data.scalar.value = (yaml_char_t*)"";
    empty.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    actx a = {cfg, &doc, cfg->sources[src], src, layer, 0, 0, err};
    st = apply_node(&a, key, root ? root : &empty, root ? root : &empty, NULL);
    yaml_document_delete(&doc);
    return st;
}

gd_status gd_config_set(gd_config* cfg, const char* assignment, gd_error* err) {
    gd_config* work = gd_config_clone(cfg);
    if (!work) return nomem(err);
    gd_status st = apply_set(work, assignment, ++work->last_layer, err);
    if (!st) st = check_pairs(work, err);
    if (st) {
        gd_config_free(work);
        return st;
    }
    /* swap contents so that the caller's pointer stays valid */
    gd_config tmp = *cfg;
    *cfg = *work;
    *work = tmp;
    gd_config_free(work);
    return GD_OK;
}

/* The file name without folders and a .yaml/.yml ending. */
static void base_name(const char* path, char* buf, size_t bn) {
    const char* b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, bn, "%s", b);
    size_t n = strlen(buf);
    if (n > 5 && !strcmp(buf + n - 5, ".yaml")) buf[n - 5] = '\0';
    else if (n > 4 && !strcmp(buf + n - 4, ".yml")) buf[n - 4] = '\0';
}

/* 1 if the set string assigns the top-level key "scale". */
static int sets_scale(const char* s) {
    while (isspace((unsigned char)*s)) s++;
    if (strncmp(s, "scale", 5)) return 0;
    s += 5;
    while (isspace((unsigned char)*s)) s++;
    return *s == '=';
}

gd_status gd_config_parse(gd_config** out, const char* text, size_t len, const char* name,
                          const char* const* sets, size_t n_sets, gd_error* err) {
    *out = NULL;
    gd_config* cfg;
    gd_status st = gd_config_defaults(&cfg, err);
    if (st) return st;
    int src = add_source(cfg, name);
    if (src < 0) {
        gd_config_free(cfg);
        return nomem(err);
    }
    yaml_document_t doc;
    yaml_node_t* root;
    if ((st = load_doc(text, len, name, 1, &doc, &root, err))) {
        gd_config_free(cfg);
        return st;
    }
    yaml_node_t* quick = NULL;
    actx a = {cfg, &doc, cfg->sources[src], src, 1, 1, 0, err};
    if (root) {
        if (root->type != YAML_MAPPING_NODE) {
            st = node_error(&a, root, "an experiment file is a mapping such as 'data: {set: mnist}'",
                            "the top level must be a mapping of keys, got %s", node_kind(root));
        } else {
            st = apply_mapping(&a, NULL, root, &quick);
        }
    }
    /* the quick: mapping is checked even when it is not used, on a scratch config */
    if (!st && quick) {
        gd_config* scratch = gd_config_clone(cfg);
        if (!scratch) st = nomem(err);
        else {
            actx q = {scratch, &doc, scratch->sources[src], src, 2, 1, 1, err};
            st = apply_mapping(&q, NULL, quick, NULL);
            gd_config_free(scratch);
        }
    }
    /* scale as the overrides leave it decides whether quick: applies */
    int layer = 3;
    for (size_t i = 0; !st && i < n_sets; i++)
        if (sets_scale(sets[i])) st = apply_set(cfg, sets[i], layer++, err);
    if (!st && quick && gd_config_is(cfg, "scale", "quick")) {
        actx q = {cfg, &doc, cfg->sources[src], src, 2, 1, 1, err};
        st = apply_mapping(&q, NULL, quick, NULL);
    }
    for (size_t i = 0; !st && i < n_sets; i++) st = apply_set(cfg, sets[i], layer++, err);
    yaml_document_delete(&doc);
    if (!st) {
        size_t n;
        const gd_config_key* s = gd_config_schema(&n);
        gd_cfg_value* nm = &cfg->v[gd_config_lookup("experiment.name") - s];
        if (nm->layer == 0) {
            char b[512];
            base_name(name, b, sizeof b);
            char* d = dup_str(b[0] ? b : "experiment");
            if (!d) st = nomem(err);
            else {
                free(nm->s);
                nm->s = d;
                nm->src = src;
            }
        }
    }
    if (!st) st = check_pairs(cfg, err);
    if (st) {
        gd_config_free(cfg);
        return st;
    }
    cfg->last_layer = layer;
    *out = cfg;
    return GD_OK;
}

gd_status gd_config_load(gd_config** out, const char* path, const char* const* sets, size_t n_sets,
                         gd_error* err) {
    *out = NULL;
    FILE* f = fopen(path, "rb");
    if (!f)
        return gd_error_set(err, GD_EIO, path, 0, 0, "check the path; experiment files live in experiments/",
                            "cannot open the experiment file: %s", strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char* buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len < cap) break;
        if (cap >= ((size_t)16 << 20)) {
            free(buf);
            fclose(f);
            return gd_error_set(err, GD_ECONFIG, path, 0, 0, "an experiment file is a few KiB of YAML",
                                "the file is larger than 16 MiB");
        }
        char* nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return nomem(err);
    if (bad) {
        free(buf);
        return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot read the experiment file");
    }
    gd_status st = gd_config_parse(out, buf, len, path, sets, n_sets, err);
    free(buf);
    return st;
}

/* ---- getters --------------------------------------------------------------------------------------- */

/* Records (or aborts on) a getter misuse. */
void gd_cfg_misuse(const gd_config* cfg, const char* fn, const char* key, const char* why) {
    if (!cfg || !cfg->mis || cfg->mis->strict) {
        fprintf(stderr, "gendec: programming error: %s(\"%s\"): %s\n", fn, key ? key : "(null)", why);
        fflush(stderr);
        abort();
    }
    cfg->mis->count++;
    snprintf(cfg->mis->last, sizeof cfg->mis->last, "%s", key ? key : "(null)");
}

/* The value of key when it has one of the two types, else NULL after recording a misuse. */
static const gd_cfg_value* get(const gd_config* cfg, const char* fn, const char* key, gd_config_type t1,
                               gd_config_type t2) {
    if (!cfg) {
        gd_cfg_misuse(cfg, fn, key, "config is NULL");
        return NULL;
    }
    const gd_config_key* k = gd_config_lookup(key);
    if (!k) {
        gd_cfg_misuse(cfg, fn, key, "no such key in the schema (src/config/schema.c)");
        return NULL;
    }
    if (k->type != t1 && k->type != t2) {
        gd_cfg_misuse(cfg, fn, key, "the key has another type");
        return NULL;
    }
    size_t n;
    return &cfg->v[k - gd_config_schema(&n)];
}

double gd_config_float(const gd_config* cfg, const char* key) {
    const gd_cfg_value* v = get(cfg, "gd_config_float", key, GD_CFG_FLOAT, GD_CFG_INT);
    if (!v) return NAN;
    return gd_config_lookup(key)->type == GD_CFG_INT ? (double)v->i : v->f;
}

int64_t gd_config_int(const gd_config* cfg, const char* key) {
    const gd_cfg_value* v = get(cfg, "gd_config_int", key, GD_CFG_INT, GD_CFG_INT);
    return v ? v->i : INT64_MIN;
}

int gd_config_bool(const gd_config* cfg, const char* key) {
    const gd_cfg_value* v = get(cfg, "gd_config_bool", key, GD_CFG_BOOL, GD_CFG_BOOL);
    return v ? v->b : -1;
}

const char* gd_config_string(const gd_config* cfg, const char* key) {
    const gd_cfg_value* v = get(cfg, "gd_config_string", key, GD_CFG_STRING, GD_CFG_ENUM);
    return v ? v->s : NULL;
}

int gd_config_is(const gd_config* cfg, const char* key, const char* value) {
    const gd_cfg_value* v = get(cfg, "gd_config_is", key, GD_CFG_STRING, GD_CFG_ENUM);
    return v && value && !strcmp(v->s, value);
}

const double* gd_config_floats(const gd_config* cfg, const char* key, size_t* n) {
    const gd_cfg_value* v = get(cfg, "gd_config_floats", key, GD_CFG_FLOATS, GD_CFG_FLOATS);
    *n = v ? v->n : 0;
    return v ? v->fl : NULL;
}

const int64_t* gd_config_ints(const gd_config* cfg, const char* key, size_t* n) {
    const gd_cfg_value* v = get(cfg, "gd_config_ints", key, GD_CFG_INTS, GD_CFG_INTS);
    *n = v ? v->n : 0;
    return v ? v->il : NULL;
}

const char* const* gd_config_strings(const gd_config* cfg, const char* key, size_t* n) {
    const gd_cfg_value* v = get(cfg, "gd_config_strings", key, GD_CFG_STRINGS, GD_CFG_STRINGS);
    *n = v ? v->n : 0;
    return v ? (const char* const*)v->sl : NULL;
}

void gd_config_set_strict(gd_config* cfg, int strict) {
    if (cfg && cfg->mis) cfg->mis->strict = strict;
}

int gd_config_misuses(const gd_config* cfg, const char** last_key) {
    if (last_key) *last_key = cfg && cfg->mis && cfg->mis->count ? cfg->mis->last : NULL;
    return cfg && cfg->mis ? cfg->mis->count : 0;
}

int gd_config_place(const gd_config* cfg, const char* key, const char** file, int* line, int* col) {
    const gd_config_key* k = gd_config_lookup(key);
    if (!cfg || !k) return -1;
    size_t n;
    const gd_cfg_value* v = &cfg->v[k - gd_config_schema(&n)];
    if (file) *file = cfg->sources[v->src];
    if (line) *line = v->vline;
    if (col) *col = v->vcol;
    return 0;
}

gd_status gd_config_error(const gd_config* cfg, const char* key, gd_error* err, const char* hint,
                          const char* fmt, ...) {
    const char* file = "";
    int line = 0, col = 0;
    gd_config_place(cfg, key, &file, &line, &col);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gd_error_set(err, GD_ECONFIG, file, line, col, hint, "%s", msg);
}
