/* config: experiments as YAML. One schema table lists every key (dotted path, type, default, allowed range,
 * one-line doc); an experiment file and `--set key.sub=value` overrides resolve into a typed, complete config.
 *
 * Resolution order (later wins):
 *     schema defaults  <-  experiment file  <-  its `quick:` mapping (only when scale = quick)  <-  --set
 * `scale` itself may come from the file or from --set. The `quick:` mapping has the same shape as the file
 * (nested mappings or dotted keys) and is validated even when scale = full.
 *
 * Every problem (YAML syntax, unknown key, wrong type, out of range, duplicate key, inconsistent pair such as
 * infer.yl >= infer.yu) is a GD_ECONFIG naming the file, the 1-based line and column of the offending node and
 * a hint; for an override the "file" is the override itself: "--set 'infer.yl=0.7'".
 *
 * Getters take the dotted key ("infer.beta"). Asking for a key that is not in the schema, or with the wrong
 * type, is a programming error: by default the process aborts with a message naming the key (as assert()
 * would); gd_config_set_strict(cfg, 0) makes the getter return a sentinel instead and count the misuse.
 *
 * Usage:
 *     gd_config* cfg; gd_error err;
 *     if (gd_config_load(&cfg, "experiments/mnist_fgm.yaml", sets, n_sets, &err)) return cli_fail(&err);
 *     double beta = gd_config_float(cfg, "infer.beta");
 *     size_t n; const double* eps = gd_config_floats(cfg, "attack.fgm.eps", &n);
 *     char* yaml = gd_config_emit(cfg);   // store in result files; free() it
 *     uint64_t h = gd_config_hash_sections(cfg, "seed,data");   // data cache key
 *     gd_config_free(cfg);
 */
#ifndef GENDEC_CONFIG_H
#define GENDEC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

typedef enum {
    GD_CFG_BOOL,
    GD_CFG_INT,     /* int64 */
    GD_CFG_FLOAT,   /* double */
    GD_CFG_STRING,
    GD_CFG_ENUM,    /* a string from `choices` */
    GD_CFG_FLOATS,  /* list of doubles */
    GD_CFG_INTS,    /* list of int64 */
    GD_CFG_STRINGS  /* list of strings (restricted to `choices` when choices is not NULL) */
} gd_config_type;

/* One schema entry. Numbers (and list elements) must lie in [min, max]; lists hold at least min_len items. */
typedef struct {
    const char* key;      /* dotted path, e.g. "infer.beta" */
    gd_config_type type;
    const char* def;      /* the default as YAML text ("5", "[0, 0.1]", "relu", "") */
    double min, max;      /* numeric range (ignored for bool/string/enum) */
    int min_len;          /* lists: minimum number of elements */
    const char* choices;  /* enum / string list: allowed values separated by '|'; NULL = any */
    const char* doc;      /* one line */
} gd_config_key;

/* An opaque, fully resolved configuration. */
typedef struct gd_config gd_config;

/* The schema: every key in a fixed order in which each section's keys are contiguous. */
const gd_config_key* gd_config_schema(size_t* n);

/* The schema entry of `key`, or NULL when there is no such key. */
const gd_config_key* gd_config_lookup(const char* key);

/* A config holding every default. */
gd_status gd_config_defaults(gd_config** out, gd_error* err);

/* Reads and resolves an experiment file, then applies the overrides sets[0..n_sets) ("key.sub=value", the
 * value parsed as a YAML scalar or flow list). experiment.name defaults to the file name without .yaml. */
gd_status gd_config_load(gd_config** out, const char* path, const char* const* sets, size_t n_sets,
                         gd_error* err);

/* As gd_config_load, from YAML text in memory; `name` is the file name used in messages. */
gd_status gd_config_parse(gd_config** out, const char* text, size_t len, const char* name,
                          const char* const* sets, size_t n_sets, gd_error* err);

/* Applies one override "key.sub=value" to an existing config (later calls win). Checks the pair rules
 * (infer.yl < infer.yu, ...) afterwards. On error the config is unchanged. */
gd_status gd_config_set(gd_config* cfg, const char* assignment, gd_error* err);

/* A deep copy; NULL on allocation failure. */
gd_config* gd_config_clone(const gd_config* cfg);

void gd_config_free(gd_config* cfg);

/* ---- typed getters (key must exist with a matching type; see the note on misuse above) ---------- */
double gd_config_float(const gd_config* cfg, const char* key);      /* FLOAT or INT keys; sentinel NaN */
int64_t gd_config_int(const gd_config* cfg, const char* key);       /* INT keys; sentinel INT64_MIN */
int gd_config_bool(const gd_config* cfg, const char* key);          /* BOOL keys: 0/1; sentinel -1 */
const char* gd_config_string(const gd_config* cfg, const char* key); /* STRING/ENUM; sentinel NULL */
/* 1 when the ENUM/STRING key equals `value`, else 0. */
int gd_config_is(const gd_config* cfg, const char* key, const char* value);
/* Lists: the elements (owned by cfg, valid until it is freed or changed) and their number in *n.
 * An empty list returns a non-NULL pointer with *n = 0; the sentinel on misuse is NULL with *n = 0. */
const double* gd_config_floats(const gd_config* cfg, const char* key, size_t* n);
const int64_t* gd_config_ints(const gd_config* cfg, const char* key, size_t* n);
const char* const* gd_config_strings(const gd_config* cfg, const char* key, size_t* n);

/* 1 (default): a getter misuse aborts the process with a message on stderr. 0: it returns the sentinel and
 * counts. */
void gd_config_set_strict(gd_config* cfg, int strict);
/* Number of getter misuses so far (non-strict mode); *last_key (may be NULL) gets the last bad key. */
int gd_config_misuses(const gd_config* cfg, const char** last_key);

/* Where a key's value came from: the file (or "--set '...'", or "defaults") and 1-based line/col (0 when
 * unknown). Returns 0, or -1 for an unknown key. */
int gd_config_place(const gd_config* cfg, const char* key, const char** file, int* line, int* col);

/* Fills err with GD_ECONFIG at the place of `key`'s value, for modules that find a value unusable later
 * ("data.dir 'x' has no MNIST files"). `hint` may be NULL. Returns GD_ECONFIG. */
gd_status gd_config_error(const gd_config* cfg, const char* key, gd_error* err, const char* hint,
                          const char* fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- output ------------------------------------------------------------------------------------------ */

/* The resolved config as YAML text: every key, nested by section, in schema order; loading it again gives
 * the same config and the same hash. malloc'd; free() it. NULL on allocation failure. */
char* gd_config_emit(const gd_config* cfg);

/* A stable 64-bit hash (FNV-1a) of every resolved value (independent of where the values came from). */
uint64_t gd_config_hash(const gd_config* cfg);

/* The hash of a subset: `sections` is a comma-separated list of top-level sections or keys
 * ("seed,data" for the data cache; "seed,data,model,train" for a trained model). An unknown section is a
 * misuse as with the getters. */
uint64_t gd_config_hash_sections(const gd_config* cfg, const char* sections);

/* The sections each stage's output depends on: pass to gd_config_hash_sections so that every command keys
 * its outputs the same way (slurm.*, report.*, experiment.* and scale never invalidate a result). */
#define GD_CONFIG_SECTIONS_DATA "seed,data"
#define GD_CONFIG_SECTIONS_MODEL "seed,data,model,train"
#define GD_CONFIG_SECTIONS_CNN "seed,data,cnn"
#define GD_CONFIG_SECTIONS_EVAL "seed,data,model,train,infer"
#define GD_CONFIG_SECTIONS_SWEEP "seed,data,model,train,infer,sweep"
#define GD_CONFIG_SECTIONS_FGM "seed,data,model,train,cnn,infer,attack.fgm"
#define GD_CONFIG_SECTIONS_NEAT "seed,data,model,train,cnn,infer,attack.neat"

/* Writes the hash as 16 lowercase hex digits and a NUL into out. */
void gd_config_hash_hex(uint64_t hash, char out[17]);

/* The schema reference (docs/config.md) as Markdown. malloc'd; free() it. */
char* gd_config_doc_markdown(void);

#endif
