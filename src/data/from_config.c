/* Filling gd_data_opts from a resolved experiment config (the data.* keys and seed). */
#include <stdio.h>
#include <string.h>

#include "gendec/config.h"
#include "gendec/data.h"

gd_status gd_data_opts_from_config(const gd_config* cfg, gd_data_opts* o, gd_error* err) {
    gd_data_kind kind;
    gd_status s = gd_data_kind_parse(gd_config_string(cfg, "data.set"), &kind, err);
    if (s) return gd_config_error(cfg, "data.set", err, NULL, "%s", err ? err->msg : "unknown dataset");
    gd_data_opts_default(o, kind);
    o->seed = (uint64_t)gd_config_int(cfg, "seed");
    const char* dir = gd_config_string(cfg, "data.dir");
    if (strlen(dir) >= sizeof o->dir) return gd_config_error(cfg, "data.dir", err, NULL, "path too long");
    snprintf(o->dir, sizeof o->dir, "%s", dir);
    o->max_train = gd_config_int(cfg, "data.n_train");
    o->n_val = gd_config_int(cfg, "data.n_val");
    o->max_test = gd_config_int(cfg, "data.n_test");
    o->binarize = gd_config_bool(cfg, "data.binarize");
    o->mm.size = (int)gd_config_int(cfg, "data.multimnist.size");
    o->mm.shift = (int)gd_config_int(cfg, "data.multimnist.shift");
    o->mm.plain_sum = gd_config_is(cfg, "data.multimnist.overlay", "sum");
    o->mm.n_train = gd_config_int(cfg, "data.multimnist.n_train");
    o->mm.n_val = gd_config_int(cfg, "data.multimnist.n_val");
    o->mm.n_test = gd_config_int(cfg, "data.multimnist.n_test");
    o->ts.size = (int)gd_config_int(cfg, "data.ts.size");
    o->ts.n_train = gd_config_int(cfg, "data.ts.n_train");
    o->ts.n_val = gd_config_int(cfg, "data.ts.n_val");
    o->ts.n_test = gd_config_int(cfg, "data.ts.n_test");
    o->ts.n_test_seen = gd_config_int(cfg, "data.ts.n_test_seen");
    o->ts.rot_deg = (float)gd_config_float(cfg, "data.ts.rotation_deg");
    o->ts.scale_min = (float)gd_config_float(cfg, "data.ts.scale_min");
    o->ts.scale_max = (float)gd_config_float(cfg, "data.ts.scale_max");
    o->ts.shear = (float)gd_config_float(cfg, "data.ts.shear");
    o->ts.translate = (float)gd_config_float(cfg, "data.ts.translate");
    o->ts.noise_std = (float)gd_config_float(cfg, "data.ts.noise");
    o->ts.supersample = (int)gd_config_int(cfg, "data.ts.supersample");
    size_t nn;
    const char* const* novel = gd_config_strings(cfg, "data.ts.novel", &nn);
    o->ts.test_signs = 0;
    for (size_t i = 0; i < nn; i++)
        for (int sgn = 0; sgn < GD_TS_N_SIGNS; sgn++)
            if (!strcmp(novel[i], gd_ts_sign_name(sgn))) o->ts.test_signs |= 1u << sgn;
    o->ts.train_signs = ~o->ts.test_signs & ((1u << GD_TS_N_SIGNS) - 1);
    if (!o->ts.test_signs || !o->ts.train_signs)
        return gd_config_error(cfg, "data.ts.novel", err, "hold out between one and three of the four signs",
                               "data.ts.novel leaves no %s signs", o->ts.test_signs ? "training" : "test");
    o->norb.size = (int)gd_config_int(cfg, "data.norb.size");
    o->norb.view = (int)gd_config_int(cfg, "data.norb.view");
    return GD_OK;
}

void gd_data_cache_path(const gd_config* cfg, const char* results_root, char* buf, size_t n) {
    char hex[17];
    gd_config_hash_hex(gd_config_hash_sections(cfg, GD_CONFIG_SECTIONS_DATA), hex);
    snprintf(buf, n, "%s/%s/data-%s.h5", results_root && *results_root ? results_root : "results",
             gd_config_string(cfg, "experiment.name"), hex);
}
