/* Classifier options from the infer.* keys of a resolved experiment config. */
#include <stdio.h>
#include <string.h>

#include "gendec/config.h"
#include "gendec/infer.h"

/* The option name of a check failure ("infer.yl = ..." -> "infer.yl"), to point at its place in the config. */
static void option_key(const char* msg, char* key, size_t n) {
    size_t i = 0;
    if (!strncmp(msg, "infer.", 6))
        while (msg[i] && msg[i] != ' ' && i + 1 < n) {
            key[i] = msg[i];
            i++;
        }
    key[i] = '\0';
}

gd_status gd_infer_opts_from_config(const struct gd_config* cfg, gd_infer_opts* o, gd_error* err) {
    gd_infer_opts_default(o);
    o->steps = (int)gd_config_int(cfg, "infer.steps");
    o->lr = (float)gd_config_float(cfg, "infer.lr");
    o->y0 = (float)gd_config_float(cfg, "infer.y0");
    o->restarts = (int)gd_config_int(cfg, "infer.restarts");
    o->beta = (float)gd_config_float(cfg, "infer.beta");
    o->b = (float)gd_config_float(cfg, "infer.b");
    o->c = (float)gd_config_float(cfg, "infer.c");
    o->l = (float)gd_config_float(cfg, "infer.l");
    o->yl = (float)gd_config_float(cfg, "infer.yl");
    o->yu = (float)gd_config_float(cfg, "infer.yu");
    o->norm = gd_config_is(cfg, "infer.norm", "l1") ? GD_INFER_NORM_L1 : GD_INFER_NORM_L2;
    o->scale = gd_config_is(cfg, "infer.scale", "sum") ? GD_INFER_SCALE_SUM : GD_INFER_SCALE_MEAN;
    o->rule = gd_config_is(cfg, "infer.rule", "top3") ? GD_INFER_RULE_TOP3 : GD_INFER_RULE_ENUMERATE;
    o->max_ambiguous = (int)gd_config_int(cfg, "infer.max_ambiguous");
    o->refine_steps = (int)gd_config_int(cfg, "infer.refine_steps");
    o->binarize_input = gd_config_bool(cfg, "infer.binarize_input");
    int64_t batch = gd_config_int(cfg, "infer.batch");
    o->batch = batch > 65536 ? 65537 : (int)batch; /* out of range -> refused by the check */
    o->trace = gd_config_bool(cfg, "infer.trace");
    o->seed = (uint64_t)gd_config_int(cfg, "seed");
    gd_error e2;
    gd_error_clear(&e2);
    if (gd_infer_opts_check(o, &e2) != GD_OK) {
        char key[64];
        option_key(e2.msg, key, sizeof key);
        if (!gd_config_lookup(key)) snprintf(key, sizeof key, "infer.steps");
        return gd_config_error(cfg, key, err, e2.hint[0] ? e2.hint : NULL, "%s", e2.msg);
    }
    return GD_OK;
}
