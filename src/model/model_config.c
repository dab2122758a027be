/* Model specifications from the model.* and cnn.* keys of a resolved experiment config. */
#include <string.h>

#include "gendec/config.h"
#include "gendec/model.h"

/* Copies an int list key into v (at most GD_MODEL_MAX_LAYERS); GD_ECONFIG at the key otherwise. */
static gd_status int_list(const gd_config* cfg, const char* key, int* v, int* count, gd_error* err) {
    size_t n;
    const int64_t* x = gd_config_ints(cfg, key, &n);
    if (n < 1 || n > GD_MODEL_MAX_LAYERS)
        return gd_config_error(cfg, key, err, NULL, "%s has %zu entries; 1..%d are supported", key, n,
                               GD_MODEL_MAX_LAYERS);
    for (size_t i = 0; i < n; i++) v[i] = (int)x[i];
    *count = (int)n;
    return GD_OK;
}

gd_status gd_cvae_spec_from_config(const gd_config* cfg, int h, int w, int n_data, gd_cvae_spec* s, gd_error* err) {
    int n = (int)gd_config_int(cfg, "model.n_components");
    if (n_data > 0 && n != n_data)
        return gd_config_error(cfg, "model.n_components", err, "set model.n_components to the data's component count",
                               "model.n_components = %d but the data set has %d components", n, n_data);
    gd_cvae_spec_default(s, h, w, n);
    const char* arch = gd_config_string(cfg, "model.arch");
    if (!strcmp(arch, "mlp")) s->arch = GD_CVAE_MLP;
    else if (!strcmp(arch, "conv")) s->arch = GD_CVAE_CONV;
    else return gd_config_error(cfg, "model.arch", err, "use mlp or conv", "unknown architecture '%s'", arch);
    s->k = (int)gd_config_int(cfg, "model.k");
    s->recon = gd_config_is(cfg, "model.recon", "bce_logits")    ? GD_RECON_BCE_LOGITS
               : gd_config_is(cfg, "model.recon", "mse_sigmoid") ? GD_RECON_MSE_SIGMOID
                                                                 : GD_RECON_MSE;
    s->kl = gd_config_is(cfg, "model.kl", "mean") ? GD_KL_MEAN : GD_KL_GATED;
    s->C = (float)gd_config_float(cfg, "model.C");
    s->act = gd_config_is(cfg, "model.activation", "elu") ? GD_ACT_ELU : GD_ACT_RELU;
    gd_status st;
    if ((st = int_list(cfg, "model.enc_widths", s->enc, &s->n_enc, err)) ||
        (st = int_list(cfg, "model.dec_widths", s->dec, &s->n_dec, err)) ||
        (st = int_list(cfg, "model.conv.channels", s->ch, &s->n_ch, err)))
        return st;
    s->kernel = (int)gd_config_int(cfg, "model.conv.kernel");
    s->dec_start = (int)gd_config_int(cfg, "model.conv.dec_start");
    s->out_kernel = (int)gd_config_int(cfg, "model.conv.out_kernel");
    gd_error e2;
    gd_error_clear(&e2);
    if (gd_cvae_spec_check(s, &e2) != GD_OK) {
        /* point at the conv key the user set, else at model.arch (which chose the conv family) */
        const char* key = "model.arch";
        const char* keys[3] = {"model.conv.dec_start", "model.conv.out_kernel", "model.conv.channels"};
        for (int i = 0; i < 3 && s->arch == GD_CVAE_CONV; i++) {
            const char* file = NULL;
            int line, col;
            if (gd_config_place(cfg, keys[i], &file, &line, &col) == 0 && file && strcmp(file, "defaults") != 0) {
                key = keys[i];
                break;
            }
        }
        return gd_config_error(cfg, key, err, e2.hint[0] ? e2.hint : NULL, "%s", e2.msg);
    }
    return GD_OK;
}

gd_status gd_cnn_spec_from_config(const gd_config* cfg, int h, int w, int n_classes, gd_cnn_spec* s, gd_error* err) {
    memset(s, 0, sizeof *s);
    s->h = h, s->w = w, s->n_classes = n_classes;
    s->conv1 = (int)gd_config_int(cfg, "cnn.conv1");
    s->conv2 = (int)gd_config_int(cfg, "cnn.conv2");
    s->fc = (int)gd_config_int(cfg, "cnn.fc");
    gd_error e2;
    gd_error_clear(&e2);
    if (gd_cnn_spec_check(s, &e2) != GD_OK) return gd_config_error(cfg, "cnn.fc", err, NULL, "%s", e2.msg);
    return GD_OK;
}
