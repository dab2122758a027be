/* Output of a resolved config: YAML text (stored in result files), stable hashes of all or some sections,
 * and the schema reference in Markdown (docs/config.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* A growing string; `oom` is set once an allocation failed (later appends do nothing). */
typedef struct {
    char* p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf* b, const char* s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len + 1) cap *= 2;
        char* p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf* b, const char* s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf* b, const char* fmt, ...) {
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    if ((size_t)w < sizeof tmp) {
        sb_add(b, tmp, (size_t)w);
        return;
    }
    char* big = malloc((size_t)w + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)w + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)w);
    free(big);
}

/* Returns the text (caller frees) or NULL after an allocation failure. */
static char* sb_take(sbuf* b) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p) {
        b->p = malloc(1);
        if (b->p) b->p[0] = '\0';
    }
    return b->p;
}

/* The shortest decimal that reads back as exactly x, always with a '.' (YAML 1.1 readers need it). */
static void fmt_double(double x, char* buf, size_t bn) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, bn, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (strchr(buf, '.') || !isfinite(x)) return;
    char* e = strchr(buf, 'e');
    char tail[64];
    if (e) {
        snprintf(tail, sizeof tail, "%s", e);
        snprintf(e, bn - (size_t)(e - buf), ".0%s", tail);
    } else {
        size_t n = strlen(buf);
        snprintf(buf + n, bn - n, ".0");
    }
}

/* A YAML double-quoted scalar. */
static void put_quoted(sbuf* b, const char* s) {
    sb_puts(b, "\"");
    for (const unsigned char* p = (const unsigned char*)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            sb_add(b, esc, 2);
        } else if (*p == '\n') {
            sb_puts(b, "\\n");
        } else if (*p == '\t') {
            sb_puts(b, "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            sb_puts(b, esc);
        } else {
            sb_add(b, (const char*)p, 1);
        }
    }
    sb_puts(b, "\"");
}

/* Appends the value of schema key k as YAML (flow style for lists). */
static void put_value(sbuf* b, const gd_config_key* k, const gd_cfg_value* v) {
    char num[64];
    switch (k->type) {
    case GD_CFG_BOOL: sb_puts(b, v->b ? "true" : "false"); break;
    case GD_CFG_INT: sb_printf(b, "%lld", (long long)v->i); break;
    case GD_CFG_FLOAT:
        fmt_double(v->f, num, sizeof num);
        sb_puts(b, num);
        break;
    case GD_CFG_STRING: put_quoted(b, v->s); break;
    case GD_CFG_ENUM: sb_puts(b, v->s); break;
    case GD_CFG_FLOATS:
    case GD_CFG_INTS:
    case GD_CFG_STRINGS:
        sb_puts(b, "[");
        for (size_t j = 0; j < v->n; j++) {
            if (j) sb_puts(b, ", ");
            if (k->type == GD_CFG_FLOATS) {
                fmt_double(v->fl[j], num, sizeof num);
                sb_puts(b, num);
            } else if (k->type == GD_CFG_INTS) {
                sb_printf(b, "%lld", (long long)v->il[j]);
            } else if (k->choices) {
                sb_puts(b, v->sl[j]); /* names from a fixed list are plain */
            } else {
                put_quoted(b, v->sl[j]);
            }
        }
        sb_puts(b, "]");
        break;
    }
}

/* Number of dotted segments of a key and the length of its first `m` segments. */
static int seg_count(const char* k) {
    int c = 1;
    for (; *k; k++) c += *k == '.';
    return c;
}
static size_t seg_prefix_len(const char* k, int m) {
    const char* p = k;
    for (int i = 0; i < m; i++) {
        const char* d = strchr(p, '.');
        if (!d) return strlen(k);
        p = d + 1;
    }
    return (size_t)(p - k) - 1;
}

char* gd_config_emit(const gd_config* cfg) {
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    sbuf b = {0};
    const char* prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const char* k = s[i].key;
        int nseg = seg_count(k);
        /* sections shared with the previous key are already open */
        int common = 0;
        if (prev) {
            int pseg = seg_count(prev);
            while (common < nseg - 1 && common < pseg - 1) {
                size_t a = seg_prefix_len(k, common + 1), c = seg_prefix_len(prev, common + 1);
                if (a != c || strncmp(k, prev, a)) break;
                common++;
            }
        }
        for (int d = common; d < nseg - 1; d++) {
            size_t st = d ? seg_prefix_len(k, d) + 1 : 0, en = seg_prefix_len(k, d + 1);
            sb_printf(&b, "%*s%.*s:\n", 2 * d, "", (int)(en - st), k + st);
        }
        size_t st = nseg > 1 ? seg_prefix_len(k, nseg - 1) + 1 : 0;
        sb_printf(&b, "%*s%s: ", 2 * (nseg - 1), "", k + st);
        put_value(&b, &s[i], &cfg->v[i]);
        sb_puts(&b, "\n");
        prev = k;
    }
    return sb_take(&b);
}

/* FNV-1a, 64 bit. */
static uint64_t fnv1a(uint64_t h, const char* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV_OFFSET 14695981039346656037ULL

/* 1 when key k lies in the section (or is the key) `sec` of length m. */
static int in_section(const char* k, const char* sec, size_t m) {
    return !strncmp(k, sec, m) && (k[m] == '\0' || k[m] == '.');
}

/* Hash of "key: value\n" for every key selected by sel (NULL = all). */
static uint64_t hash_lines(const gd_config* cfg, const char* sel) {
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    uint64_t h = FNV_OFFSET;
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        int take = !sel;
        for (const char* p = sel; p && *p && !take;) {
            while (*p == ' ' || *p == ',') p++;
            const char* e = p;
            while (*e && *e != ',' && *e != ' ') e++;
            if (e > p && in_section(s[i].key, p, (size_t)(e - p))) take = 1;
            p = e;
        }
        if (!take) continue;
        b.n = 0;
        sb_printf(&b, "%s: ", s[i].key);
        put_value(&b, &s[i], &cfg->v[i]);
        sb_puts(&b, "\n");
        if (b.oom) break;
        h = fnv1a(h, b.p, b.n);
    }
    free(b.p);
    return h;
}

uint64_t gd_config_hash(const gd_config* cfg) {
    if (!cfg) {
        gd_cfg_misuse(cfg, "gd_config_hash", "", "config is NULL");
        return 0;
    }
    return hash_lines(cfg, NULL);
}

uint64_t gd_config_hash_sections(const gd_config* cfg, const char* sections) {
    if (!cfg || !sections) {
        gd_cfg_misuse(cfg, "gd_config_hash_sections", sections, "config or sections is NULL");
        return 0;
    }
    /* every named section must select at least one key */
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    int any = 0;
    for (const char* p = sections; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char* e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if (e == p) break;
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) found = in_section(s[i].key, p, (size_t)(e - p));
        if (!found) {
            gd_cfg_misuse(cfg, "gd_config_hash_sections", sections, "names a section that is not in the schema");
            return 0;
        }
        any = 1;
        p = e;
    }
    if (!any) {
        gd_cfg_misuse(cfg, "gd_config_hash_sections", sections, "no section named");
        return 0;
    }
    return hash_lines(cfg, sections);
}

void gd_config_hash_hex(uint64_t hash, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)hash); }

/* ---- the schema reference ------------------------------------------------------------------------- */

static const char* type_name(gd_config_type t) {
    switch (t) {
    case GD_CFG_BOOL: return "bool";
    case GD_CFG_INT: return "int";
    case GD_CFG_FLOAT: return "float";
    case GD_CFG_STRING: return "string";
    case GD_CFG_ENUM: return "enum";
    case GD_CFG_FLOATS: return "float list";
    case GD_CFG_INTS: return "int list";
    case GD_CFG_STRINGS: return "string list";
    }
    return "?";
}

/* Markdown table cell text: '|' escaped. */
static void put_cell(sbuf* b, const char* s) {
    for (; *s; s++) {
        if (*s == '|') sb_puts(b, "\\|");
        else sb_add(b, s, 1);
    }
}

static const char* doc_intro =
    "# Experiment configuration\n"
    "\n"
    "<!-- Generated by `gendec config --doc` from src/config/schema.c; tests/config/test_cli.sh checks that\n"
    "     this file matches. Edit the schema, then run: build/gendec config --doc > docs/config.md -->\n"
    "\n"
    "An experiment is one YAML file in `experiments/`. Every key has a default, so a file only names what\n"
    "differs. Keys can be nested mappings or dotted paths, in any mix:\n"
    "\n"
    "```yaml\n"
    "data: {set: mnist}\n"
    "infer:\n"
    "  beta: 5\n"
    "attack.fgm.eps: [0, 0.1, 0.2]\n"
    "quick:                 # applied only when scale = quick\n"
    "  data: {n_test: 100}\n"
    "  train.max_steps: 50\n"
    "```\n"
    "\n"
    "**Resolution** (later wins): schema defaults, then the file, then the file's top-level `quick:`\n"
    "mapping when `scale` is `quick`, then each `--set key.sub=value` in order. `scale` may itself come\n"
    "from the file or from `--set scale=quick` (which then turns the `quick:` overrides on). The `quick:`\n"
    "mapping has the same shape as the file, cannot set `scale`, and is checked even when `scale` is\n"
    "`full`; the tests and CI run every experiment with `scale: quick`.\n"
    "\n"
    "**Overrides**: `--set key=value` parses the value as a YAML scalar or flow list: `--set infer.beta=7`,\n"
    "`--set attack.fgm.eps=[0,0.1]`, `--set data.ts.novel=[no_left_turn]`, `--set experiment.name=\"'a b'\"`.\n"
    "A single value given for a list key is a list of one. A section takes a flow mapping:\n"
    "`--set infer={beta: 7, b: -6}`.\n"
    "\n"
    "**Types**: `bool` is true/false (also yes/no, on/off); `int` is a plain decimal integer; `float` is a\n"
    "plain decimal number; quoted values are strings and are refused where a number or bool is expected;\n"
    "`enum` is one of the listed names; lists are YAML sequences (`[1, 2]` or one item per line).\n"
    "\n"
    "**Errors**: unknown keys (with the nearest known key), wrong types, values out of range, duplicate keys,\n"
    "`infer.yl >= infer.yu`, `data.ts.scale_min > data.ts.scale_max` and `attack.neat.weight_min >=\n"
    "attack.neat.weight_max` stop the command with\n"
    "`gendec: <file>:<line>:<col>: <what> (<how to fix>)`; for an override the place is `--set '<key=value>'`.\n"
    "\n"
    "**Resolved config**: `gendec config FILE --show` prints the resolved YAML: every key, in the order\n"
    "below. The same text is stored in the `config_yaml` attribute of every result file, and its 64-bit\n"
    "FNV-1a hash (of `key: value` lines) identifies a run's stages: the data cache hashes `seed` + `data`, a\n"
    "trained model `seed` + `data` + `model` + `train` (+ `cnn` for the baseline), so that `gendec run`\n"
    "skips a stage whose output exists for the same values. `gendec config FILE --hash data,model` prints\n"
    "the hash of some sections.\n"
    "\n"
    "Ranges are inclusive; `1e8` and larger upper bounds are sanity limits, not advice.\n";

char* gd_config_doc_markdown(void) {
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    sbuf b = {0};
    sb_puts(&b, doc_intro);
    char prev_sec[64] = "\x01";
    for (size_t i = 0; i < n; i++) {
        const char* k = s[i].key;
        const char* d = strchr(k, '.');
        char sec[64];
        if (d) snprintf(sec, sizeof sec, "%.*s", (int)(d - k), k);
        else snprintf(sec, sizeof sec, "(top level)");
        if (strcmp(sec, prev_sec)) {
            sb_printf(&b, "\n## %s\n\n", sec);
            sb_puts(&b, "| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
            snprintf(prev_sec, sizeof prev_sec, "%s", sec);
        }
        sb_printf(&b, "| `%s` | %s | `", k, type_name(s[i].type));
        if (s[i].type == GD_CFG_STRING && !s[i].def[0]) sb_puts(&b, "\"\"");
        else put_cell(&b, s[i].def);
        sb_puts(&b, "` | ");
        char lo[32], hi[32];
        gd_cfg_fmt_num(s[i].min, lo, sizeof lo);
        gd_cfg_fmt_num(s[i].max, hi, sizeof hi);
        switch (s[i].type) {
        case GD_CFG_INT:
        case GD_CFG_FLOAT: sb_printf(&b, "[%s, %s]", lo, hi); break;
        case GD_CFG_FLOATS:
        case GD_CFG_INTS: sb_printf(&b, "each in [%s, %s]", lo, hi); break;
        case GD_CFG_ENUM:
        case GD_CFG_STRINGS:
            if (s[i].choices) {
                for (const char* p = s[i].choices; *p; p++) {
                    if (*p == '|') sb_puts(&b, ", ");
                    else sb_add(&b, p, 1);
                }
            }
            break;
        default: break;
        }
        if (s[i].min_len > 0) sb_printf(&b, "%s%d+ items", s[i].choices || s[i].type != GD_CFG_STRINGS ? "; " : "",
                                        s[i].min_len);
        sb_puts(&b, " | ");
        put_cell(&b, s[i].doc);
        sb_puts(&b, " |\n");
    }
    return sb_take(&b);
}
