/* Options of the classifier: defaults, checks, names. */
#include <math.h>
#include <string.h>

#include "gendec/infer.h"

void gd_infer_opts_default(gd_infer_opts* o) {
    memset(o, 0, sizeof *o);
    o->steps = 50;
    o->lr = 0.01f;
    o->y0 = 0.5f;
    o->restarts = 0;
    o->beta = 5.0f;
    o->b = -2.0f;
    o->c = 0.005f;
    o->l = 0.2f;
    o->yl = 0.3f;
    o->yu = 0.6f;
    o->norm = GD_INFER_NORM_L2;
    o->scale = GD_INFER_SCALE_MEAN;
    o->rule = GD_INFER_RULE_ENUMERATE;
    o->max_ambiguous = 10;
    o->refine_steps = 50;
    o->binarize_input = 0;
    o->batch = 32;
    o->trace = 0;
    o->seed = 1;
}

#define BAD(...) gd_error_set(err, GD_EINVAL, NULL, 0, 0, __VA_ARGS__)

gd_status gd_infer_opts_check(const gd_infer_opts* o, gd_error* err) {
    if (o->steps < 0 || o->steps > 1000000) return BAD("use 0 or more (50 is the authors' value)", "infer.steps = %d is out of range", o->steps);
    if (o->refine_steps < 0 || o->refine_steps > 1000000)
        return BAD("use 0 or more (50 is the authors' value)", "infer.refine_steps = %d is out of range", o->refine_steps);
    if (!(o->lr > 0.0f) || !isfinite(o->lr)) return BAD("use a positive step size such as 0.01", "infer.lr = %g must be positive", o->lr);
    if (!(o->y0 >= 0.0f && o->y0 <= 1.0f)) return BAD("y lives in [0, 1]; the authors start at 0.5", "infer.y0 = %g is outside [0, 1]", o->y0);
    if (o->restarts < 0 || o->restarts > 1000) return BAD("use 0..1000", "infer.restarts = %d is out of range", o->restarts);
    if (!isfinite(o->beta) || !isfinite(o->b)) return BAD(NULL, "infer.beta and infer.b must be finite numbers");
    if (!(o->c >= 0.0f) || !isfinite(o->c)) return BAD("use c >= 0 (0.005 in the authors' code)", "infer.c = %g must be >= 0", o->c);
    if (isnan(o->l)) return BAD(NULL, "infer.l must be a number");
    if (!(o->yl >= 0.0f && o->yl <= 1.0f)) return BAD("thresholds are values of y in [0, 1]", "infer.yl = %g is outside [0, 1]", o->yl);
    if (!(o->yu >= 0.0f && o->yu <= 1.0f)) return BAD("thresholds are values of y in [0, 1]", "infer.yu = %g is outside [0, 1]", o->yu);
    if (!(o->yl < o->yu)) return BAD("the low threshold must be below the high one (e.g. yl 0.3, yu 0.6)", "infer.yl = %g must be < infer.yu = %g", o->yl, o->yu);
    if ((unsigned)o->norm > GD_INFER_NORM_L1) return BAD(NULL, "infer.norm has an unknown value %d", (int)o->norm);
    if ((unsigned)o->scale > GD_INFER_SCALE_SUM) return BAD(NULL, "infer.scale has an unknown value %d", (int)o->scale);
    if ((unsigned)o->rule > GD_INFER_RULE_TOP3) return BAD(NULL, "infer.rule has an unknown value %d", (int)o->rule);
    if (o->max_ambiguous < 0 || o->max_ambiguous > GD_INFER_MAX_AMBIGUOUS)
        return BAD("2^max_ambiguous candidates are refined per image", "infer.max_ambiguous = %d is outside [0, %d]", o->max_ambiguous, GD_INFER_MAX_AMBIGUOUS);
    if (o->batch < 1 || o->batch > 65536) return BAD("use 1..65536 (32 or 256 are typical)", "infer.batch = %d is out of range", o->batch);
    return GD_OK;
}

static const char* norm_names[] = {"l2", "l1"};
static const char* scale_names[] = {"mean", "sum"};
static const char* rule_names[] = {"enumerate", "top3"};

/* Finds s in names[0..n); GD_EINVAL listing them otherwise. */
static gd_status parse_name(const char* s, const char** names, int n, const char* what, int* out, gd_error* err) {
    for (int i = 0; i < n; i++)
        if (s && !strcmp(s, names[i])) {
            *out = i;
            return GD_OK;
        }
    return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "%s '%s' is not one of %s|%s", what, s ? s : "(null)",
                        names[0], names[1]);
}

gd_status gd_infer_norm_parse(const char* s, gd_infer_norm* out, gd_error* err) {
    int v = 0;
    gd_status st = parse_name(s, norm_names, 2, "infer.norm", &v, err);
    if (!st) *out = (gd_infer_norm)v;
    return st;
}

gd_status gd_infer_scale_parse(const char* s, gd_infer_scale* out, gd_error* err) {
    int v = 0;
    gd_status st = parse_name(s, scale_names, 2, "infer.scale", &v, err);
    if (!st) *out = (gd_infer_scale)v;
    return st;
}

gd_status gd_infer_rule_parse(const char* s, gd_infer_rule* out, gd_error* err) {
    int v = 0;
    gd_status st = parse_name(s, rule_names, 2, "infer.rule", &v, err);
    if (!st) *out = (gd_infer_rule)v;
    return st;
}

const char* gd_infer_norm_name(gd_infer_norm v) { return (unsigned)v < 2 ? norm_names[v] : "?"; }
const char* gd_infer_scale_name(gd_infer_scale v) { return (unsigned)v < 2 ? scale_names[v] : "?"; }
const char* gd_infer_rule_name(gd_infer_rule v) { return (unsigned)v < 2 ? rule_names[v] : "?"; }
