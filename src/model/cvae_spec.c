/* The c-VAE's specification: defaults, checks (including the conv decoder's spatial arithmetic), the
 * architecture signature and its parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/model.h"
#include "model_internal.h"

void gd_cvae_spec_default(gd_cvae_spec* s, int h, int w, int n) {
    memset(s, 0, sizeof *s);
    s->arch = GD_CVAE_MLP;
    s->h = h, s->w = w, s->n = n, s->k = 4;
    s->recon = GD_RECON_MSE;
    s->kl = GD_KL_GATED;
    s->C = 1.0f;
    s->act = GD_ACT_RELU;
    s->n_enc = 2, s->enc[0] = 512, s->enc[1] = 256;
    s->n_dec = 2, s->dec[0] = 256, s->dec[1] = 512;
    s->n_ch = 3, s->ch[0] = 16, s->ch[1] = 32, s->ch[2] = 64;
    s->kernel = 3, s->dec_start = 4, s->out_kernel = 5;
}

int gd_model_conv_out(int in, int kernel) { return (in + 2 * ((kernel - 1) / 2) - kernel) / 2 + 1; }

gd_status gd_cvae_conv_plan(const gd_cvae_spec* s, int* final_pad, gd_error* err) {
    int L = s->n_ch, side = s->dec_start << L, ko = s->out_kernel;
    if (side - (ko - 1) == s->h && side - (ko - 1) == s->w) {
        *final_pad = 0;
        return GD_OK;
    }
    if (side == s->h && side == s->w && ko % 2 == 1) {
        *final_pad = (ko - 1) / 2;
        return GD_OK;
    }
    int valid_start = (s->h + ko - 1) >> L, same_start = s->h >> L;
    char hint[256];
    if (s->h != s->w)
        snprintf(hint, sizeof hint, "the conv family needs square images; use model.arch=mlp");
    else if ((valid_start << L) == s->h + ko - 1)
        snprintf(hint, sizeof hint, "set model.conv.dec_start=%d (valid final convolution)", valid_start);
    else if ((same_start << L) == s->h && ko % 2 == 1)
        snprintf(hint, sizeof hint, "set model.conv.dec_start=%d (same-padded final convolution)", same_start);
    else
        snprintf(hint, sizeof hint, "use an image side H with H+%d or H divisible by %d, or model.arch=mlp",
                 ko - 1, 1 << L);
    return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, hint,
                        "impossible conv decoder shape: dec_start %d doubled by %d transposed convolutions gives "
                        "%d, and a final %dx%d convolution gives %d (valid) or %d (same, odd kernel only), "
                        "not the image size %dx%d",
                        s->dec_start, L, side, ko, ko, side - (ko - 1), side, s->h, s->w);
}

#define SPEC_FAIL(...) gd_error_set(err, GD_ECONFIG, NULL, 0, 0, NULL, __VA_ARGS__)

gd_status gd_cvae_spec_check(const gd_cvae_spec* s, gd_error* err) {
    if (s->arch != GD_CVAE_MLP && s->arch != GD_CVAE_CONV)
        return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "use model.arch=mlp or conv", "unknown architecture %d",
                            (int)s->arch);
    if (s->h < 1 || s->w < 1 || s->h > 4096 || s->w > 4096)
        return SPEC_FAIL("image size %dx%d outside 1..4096", s->h, s->w);
    if (s->n < 1 || s->n > 64) return SPEC_FAIL("model.n_components = %d outside 1..64", s->n);
    if (s->k < 1 || s->k > 4096) return SPEC_FAIL("model.k = %d outside 1..4096", s->k);
    if (s->recon != GD_RECON_MSE && s->recon != GD_RECON_BCE_LOGITS && s->recon != GD_RECON_MSE_SIGMOID)
        return SPEC_FAIL("unknown model.recon");
    if (s->kl != GD_KL_GATED && s->kl != GD_KL_MEAN) return SPEC_FAIL("unknown model.kl");
    if (s->act != GD_ACT_RELU && s->act != GD_ACT_ELU) return SPEC_FAIL("unknown model.activation");
    if (!(s->C >= 0.0f) || s->C > 1e6f) return SPEC_FAIL("model.C = %g outside [0, 1e6]", (double)s->C);
    if (s->arch == GD_CVAE_MLP) {
        if (s->n_enc < 1 || s->n_enc > GD_MODEL_MAX_LAYERS)
            return SPEC_FAIL("model.enc_widths has %d entries (1..%d allowed)", s->n_enc, GD_MODEL_MAX_LAYERS);
        if (s->n_dec < 1 || s->n_dec > GD_MODEL_MAX_LAYERS)
            return SPEC_FAIL("model.dec_widths has %d entries (1..%d allowed)", s->n_dec, GD_MODEL_MAX_LAYERS);
        for (int l = 0; l < s->n_enc; l++)
            if (s->enc[l] < 1 || s->enc[l] > 65536) return SPEC_FAIL("model.enc_widths[%d] = %d outside 1..65536", l, s->enc[l]);
        for (int l = 0; l < s->n_dec; l++)
            if (s->dec[l] < 1 || s->dec[l] > 65536) return SPEC_FAIL("model.dec_widths[%d] = %d outside 1..65536", l, s->dec[l]);
    } else {
        if (s->n_ch < 1 || s->n_ch > GD_MODEL_MAX_LAYERS)
            return SPEC_FAIL("model.conv.channels has %d entries (1..%d allowed)", s->n_ch, GD_MODEL_MAX_LAYERS);
        for (int l = 0; l < s->n_ch; l++)
            if (s->ch[l] < 1 || s->ch[l] > 4096) return SPEC_FAIL("model.conv.channels[%d] = %d outside 1..4096", l, s->ch[l]);
        if (s->kernel < 1 || s->kernel > 15) return SPEC_FAIL("model.conv.kernel = %d outside 1..15", s->kernel);
        if (s->out_kernel < 1 || s->out_kernel > 15)
            return SPEC_FAIL("model.conv.out_kernel = %d outside 1..15", s->out_kernel);
        if (s->dec_start < 1 || s->dec_start > 64) return SPEC_FAIL("model.conv.dec_start = %d outside 1..64", s->dec_start);
        int hh = s->h, ww = s->w;
        for (int l = 0; l < s->n_ch; l++) {
            int nh = gd_model_conv_out(hh, s->kernel), nw = gd_model_conv_out(ww, s->kernel);
            if (nh < 1 || nw < 1)
                return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, "use fewer model.conv.channels or a smaller kernel",
                                    "impossible conv encoder shape: layer %d maps %dx%d to %dx%d", l, hh, ww, nh, nw);
            hh = nh, ww = nw;
        }
        int pad;
        gd_status st = gd_cvae_conv_plan(s, &pad, err);
        if (st) return st;
    }
    return GD_OK;
}

static const char* recon_name(gd_recon_kind r) {
    return r == GD_RECON_BCE_LOGITS ? "bce_logits" : r == GD_RECON_MSE_SIGMOID ? "mse_sigmoid" : "mse";
}
static const char* kl_name(gd_kl_kind k) { return k == GD_KL_MEAN ? "mean" : "gated"; }
static const char* act_name(gd_act_kind a) { return a == GD_ACT_ELU ? "elu" : "relu"; }

/* Appends "name=a,b,c" to buf at *len. */
static void put_list(char* buf, size_t n, int* len, const char* name, const int* v, int count) {
    *len += snprintf(buf + (*len < (int)n ? *len : (int)n), *len < (int)n ? n - *len : 0, " %s=", name);
    for (int i = 0; i < count; i++)
        *len += snprintf(buf + (*len < (int)n ? *len : (int)n), *len < (int)n ? n - *len : 0, i ? ",%d" : "%d", v[i]);
}

int gd_cvae_spec_format(const gd_cvae_spec* s, char* buf, size_t n) {
    int len = snprintf(buf, n, "arch=%s h=%d w=%d n=%d k=%d recon=%s kl=%s C=%.9g act=%s",
                       s->arch == GD_CVAE_CONV ? "conv" : "mlp", s->h, s->w, s->n, s->k, recon_name(s->recon),
                       kl_name(s->kl), (double)s->C, act_name(s->act));
    if (s->arch == GD_CVAE_MLP) {
        put_list(buf, n, &len, "enc", s->enc, s->n_enc);
        put_list(buf, n, &len, "dec", s->dec, s->n_dec);
    } else {
        put_list(buf, n, &len, "ch", s->ch, s->n_ch);
        len += snprintf(buf + (len < (int)n ? len : (int)n), len < (int)n ? n - len : 0,
                        " kernel=%d dec_start=%d out_kernel=%d", s->kernel, s->dec_start, s->out_kernel);
    }
    return len;
}

/* Parses "a,b,c" of positive ints into v (at most GD_MODEL_MAX_LAYERS); returns the count or -1. */
static int parse_list(const char* t, int* v) {
    int c = 0;
    while (*t) {
        char* end;
        long x = strtol(t, &end, 10);
        if (end == t || c >= GD_MODEL_MAX_LAYERS || x < 1 || x > 1000000) return -1;
        v[c++] = (int)x;
        t = end;
        if (*t == ',') t++;
        else if (*t) return -1;
    }
    return c;
}

/* Parses a non-negative int field; -1 on failure. */
static int parse_int(const char* t) {
    char* end;
    long x = strtol(t, &end, 10);
    return (end == t || *end || x < 0 || x > 1000000) ? -1 : (int)x;
}

gd_status gd_cvae_spec_parse(const char* text, gd_cvae_spec* s, gd_error* err) {
    memset(s, 0, sizeof *s);
    s->arch = (gd_cvae_arch)-1;
    char buf[1024];
    if (strlen(text) >= sizeof buf)
        return gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "c-VAE signature too long");
    strcpy(buf, text);
    int seen = 0;
    for (char* save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char* eq = strchr(tok, '=');
        if (!eq) goto bad;
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        int ok = 1;
        if (!strcmp(key, "arch")) s->arch = !strcmp(val, "mlp") ? GD_CVAE_MLP : !strcmp(val, "conv") ? GD_CVAE_CONV : (ok = 0, 0);
        else if (!strcmp(key, "h")) ok = (s->h = parse_int(val)) >= 0;
        else if (!strcmp(key, "w")) ok = (s->w = parse_int(val)) >= 0;
        else if (!strcmp(key, "n")) ok = (s->n = parse_int(val)) >= 0;
        else if (!strcmp(key, "k")) ok = (s->k = parse_int(val)) >= 0;
        else if (!strcmp(key, "recon"))
            s->recon = !strcmp(val, "mse")           ? GD_RECON_MSE
                       : !strcmp(val, "bce_logits")  ? GD_RECON_BCE_LOGITS
                       : !strcmp(val, "mse_sigmoid") ? GD_RECON_MSE_SIGMOID
                                                     : (ok = 0, 0);
        else if (!strcmp(key, "kl")) s->kl = !strcmp(val, "gated") ? GD_KL_GATED : !strcmp(val, "mean") ? GD_KL_MEAN : (ok = 0, 0);
        else if (!strcmp(key, "act")) s->act = !strcmp(val, "relu") ? GD_ACT_RELU : !strcmp(val, "elu") ? GD_ACT_ELU : (ok = 0, 0);
        else if (!strcmp(key, "C")) {
            char* end;
            s->C = strtof(val, &end);
            ok = end != val && !*end;
        } else if (!strcmp(key, "enc")) ok = (s->n_enc = parse_list(val, s->enc)) > 0;
        else if (!strcmp(key, "dec")) ok = (s->n_dec = parse_list(val, s->dec)) > 0;
        else if (!strcmp(key, "ch")) ok = (s->n_ch = parse_list(val, s->ch)) > 0;
        else if (!strcmp(key, "kernel")) ok = (s->kernel = parse_int(val)) >= 0;
        else if (!strcmp(key, "dec_start")) ok = (s->dec_start = parse_int(val)) >= 0;
        else if (!strcmp(key, "out_kernel")) ok = (s->out_kernel = parse_int(val)) >= 0;
        else ok = 0;
        if (!ok) goto bad;
        seen++;
    }
    if (seen == 0) goto bad;
    {
        gd_error e2;
        gd_error_clear(&e2);
        if (gd_cvae_spec_check(s, &e2) != GD_OK)
            return gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "c-VAE signature '%s' is not valid: %s", text,
                                e2.msg);
    }
    return GD_OK;
bad:
    return gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "'%s' is not a c-VAE architecture signature", text);
}
