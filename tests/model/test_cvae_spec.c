/* c-VAE specifications: the conv decoder's spatial arithmetic for the paper's image sizes, impossible shapes,
 * signatures, specs from a config, parameter layout sizes. */
#include <string.h>

#include "gd_test.h"
#include "gendec/config.h"
#include "gendec/model.h"

/* Builds a conv spec for side x side with dec_start S and checks it; returns the status. */
static gd_status conv_spec(int side, int S, int n_ch, int kernel, gd_cvae_spec* s, gd_error* err) {
    gd_cvae_spec_default(s, side, side, 10);
    s->arch = GD_CVAE_CONV;
    s->dec_start = S;
    s->n_ch = n_ch;
    s->kernel = kernel;
    for (int l = 0; l < n_ch; l++) s->ch[l] = 16 << l;
    return gd_cvae_spec_check(s, err);
}

int main(void) {
    gd_error err;
    gd_cvae_spec s, t;
    /* the paper's sizes: 28 (S 4, valid), 36 (S 5, valid), 64 (S 8, same), 48 (S 6, same) */
    CHECK_OK(conv_spec(28, 4, 3, 3, &s, &err), &err);
    CHECK_OK(conv_spec(36, 5, 3, 3, &s, &err), &err);
    CHECK_OK(conv_spec(64, 8, 3, 3, &s, &err), &err);
    CHECK_OK(conv_spec(48, 6, 3, 3, &s, &err), &err);
    CHECK_OK(conv_spec(48, 3, 4, 5, &s, &err), &err); /* 3 -> 48 in four doublings, same */
    /* impossible: 28 with S 5, 30 with anything; the hint names the dec_start that works */
    CHECK(conv_spec(28, 5, 3, 3, &s, &err) == GD_ECONFIG);
    CHECK(strstr(err.msg, "impossible conv decoder shape") != NULL);
    CHECK(strstr(err.hint, "dec_start=4") != NULL);
    CHECK(conv_spec(30, 4, 3, 3, &s, &err) == GD_ECONFIG);
    CHECK(conv_spec(64, 4, 3, 3, &s, &err) == GD_ECONFIG);
    CHECK(strstr(err.hint, "dec_start=8") != NULL);
    gd_cvae_spec_default(&s, 28, 32, 10);
    s.arch = GD_CVAE_CONV;
    CHECK(gd_cvae_spec_check(&s, &err) == GD_ECONFIG);
    /* encoder that shrinks below 1x1 cannot exist: 1x1 images with 3 stride-2 convs still give 1x1, but
     * a kernel bigger than the padded image gives an empty map */
    CHECK(conv_spec(2, 1, 2, 9, &s, &err) == GD_ECONFIG);
    /* limits */
    gd_cvae_spec_default(&s, 28, 28, 10);
    CHECK_OK(gd_cvae_spec_check(&s, &err), &err);
    t = s, t.n = 0;
    CHECK(gd_cvae_spec_check(&t, &err) == GD_ECONFIG);
    t = s, t.k = 0;
    CHECK(gd_cvae_spec_check(&t, &err) == GD_ECONFIG);
    t = s, t.enc[1] = 0;
    CHECK(gd_cvae_spec_check(&t, &err) == GD_ECONFIG);
    t = s, t.arch = (gd_cvae_arch)7;
    CHECK(gd_cvae_spec_check(&t, &err) == GD_ECONFIG);
    t = s, t.C = -1;
    CHECK(gd_cvae_spec_check(&t, &err) == GD_ECONFIG);
    /* signatures round-trip, differ between architectures, and garbage is refused */
    char a[512], b[512];
    gd_cvae_spec_format(&s, a, sizeof a);
    CHECK_OK(gd_cvae_spec_parse(a, &t, &err), &err);
    gd_cvae_spec_format(&t, b, sizeof b);
    CHECK(strcmp(a, b) == 0);
    CHECK(strcmp(a, "arch=mlp h=28 w=28 n=10 k=4 recon=mse kl=gated C=1 act=relu enc=512,256 dec=256,512") == 0);
    CHECK_OK(conv_spec(36, 5, 3, 3, &s, &err), &err);
    s.recon = GD_RECON_BCE_LOGITS, s.kl = GD_KL_MEAN, s.C = 0.25f, s.act = GD_ACT_ELU;
    gd_cvae_spec_format(&s, a, sizeof a);
    CHECK_OK(gd_cvae_spec_parse(a, &t, &err), &err);
    gd_cvae_spec_format(&t, b, sizeof b);
    CHECK(strcmp(a, b) == 0);
    CHECK(t.recon == GD_RECON_BCE_LOGITS && t.kl == GD_KL_MEAN && t.C == 0.25f && t.act == GD_ACT_ELU);
    s.recon = GD_RECON_MSE_SIGMOID;
    gd_cvae_spec_format(&s, a, sizeof a);
    CHECK(strstr(a, " recon=mse_sigmoid ") != NULL);
    CHECK_OK(gd_cvae_spec_parse(a, &t, &err), &err);
    CHECK(t.recon == GD_RECON_MSE_SIGMOID);
    CHECK(gd_cvae_spec_parse("arch=resnet h=28 w=28 n=10 k=4", &t, &err) == GD_EFORMAT);
    CHECK(gd_cvae_spec_parse("h=28 w=28 n=10 k=4 bogus=1", &t, &err) == GD_EFORMAT);
    CHECK(gd_cvae_spec_parse("", &t, &err) == GD_EFORMAT);
    CHECK(gd_cvae_spec_parse("arch=conv h=30 w=30 n=10 k=4 recon=mse kl=gated C=1 act=relu ch=16,32,64 kernel=3 "
                             "dec_start=4 out_kernel=5",
                             &t, &err) == GD_EFORMAT);
    /* parameter counts of the MNIST models */
    gd_cvae* m = NULL;
    gd_cvae_spec_default(&s, 28, 28, 10);
    CHECK_OK(gd_cvae_create(&s, 4, 0, &m, &err), &err);
    if (m) {
        size_t enc = 784 * 512 + 512 + 512 * 256 + 256 + 2 * (256 * 40 + 40);
        size_t dec = 10 * (4 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784);
        CHECK(gd_params_count(gd_cvae_params(m)) == enc + dec);
        gd_cvae_free(m);
    }
    CHECK_OK(conv_spec(28, 4, 3, 3, &s, &err), &err);
    CHECK_OK(gd_cvae_create(&s, 4, 0, &m, &err), &err);
    if (m) {
        gd_params* p = gd_cvae_params(m);
        const gd_param_view* v = gd_params_view(p, "dec.deconv1.w");
        CHECK(v && v->shape[0] == 10 * 64 && v->shape[1] == 32 && v->shape[2] == 3);
        v = gd_params_view(p, "enc.mu.w");
        CHECK(v && v->shape[0] == 40 && v->shape[1] == 64 * 4 * 4);
        v = gd_params_view(p, "dec.out.w");
        CHECK(v && v->shape[0] == 10 && v->shape[1] == 16 && v->shape[2] == 5);
        /* a decode of 28x28 images works end to end */
        float z[2 * 40] = {0}, y[2 * 10] = {0}, xf[2 * 784];
        y[3] = 1, y[10 + 7] = 1;
        CHECK_OK(gd_cvae_init_params(m, 1, &err), &err);
        CHECK_OK(gd_cvae_decode(m, z, y, xf, 2, 0, &err), &err);
        CHECK(gd_cvae_decode(m, z, y, xf, 5, 0, &err) == GD_EINVAL); /* above max_batch */
        gd_cvae_free(m);
    }
    /* max_rows smaller than the active pairs is refused */
    gd_cvae_spec_default(&s, 4, 4, 3);
    s.enc[0] = 4, s.enc[1] = 4, s.dec[0] = 4, s.dec[1] = 4;
    CHECK_OK(gd_cvae_create(&s, 2, 2, &m, &err), &err);
    if (m) {
        float x[2 * 16] = {0}, y[6] = {1, 1, 0, 0, 1, 0}, eps[2 * 12] = {0};
        CHECK(gd_cvae_loss(m, x, y, eps, 2, 1, 1.0f, NULL, &err) == GD_EINVAL);
        y[1] = 0;
        CHECK_OK(gd_cvae_loss(m, x, y, eps, 2, 1, 1.0f, NULL, &err), &err);
        gd_cvae_free(m);
    }
    /* from a config: defaults, overrides, and an impossible conv shape named at its key */
    gd_config* cfg = NULL;
    const char* sets[] = {"model.arch=conv", "model.k=3"};
    CHECK_OK(gd_config_parse(&cfg, "seed: 3\n", 8, "x.yaml", sets, 2, &err), &err);
    if (cfg) {
        CHECK_OK(gd_cvae_spec_from_config(cfg, 28, 28, 10, &s, &err), &err);
        CHECK(s.arch == GD_CVAE_CONV && s.k == 3 && s.n == 10 && s.n_ch == 3 && s.dec_start == 4);
        CHECK(gd_cvae_spec_from_config(cfg, 64, 64, 4, &s, &err) == GD_ECONFIG); /* n mismatch */
        CHECK_OK(gd_config_set(cfg, "model.n_components=4", &err), &err);
        CHECK(gd_cvae_spec_from_config(cfg, 64, 64, 4, &s, &err) == GD_ECONFIG); /* dec_start 4 for 64 */
        CHECK(strstr(err.hint, "dec_start=8") != NULL);
        CHECK_OK(gd_config_set(cfg, "model.conv.dec_start=8", &err), &err);
        CHECK_OK(gd_cvae_spec_from_config(cfg, 64, 64, 4, &s, &err), &err);
        gd_cnn_spec cs;
        CHECK_OK(gd_cnn_spec_from_config(cfg, 28, 28, 10, &cs, &err), &err);
        CHECK(cs.conv1 == 20 && cs.conv2 == 50 && cs.fc == 500);
        gd_config_free(cfg);
    }
    return gd_test_done("test_cvae_spec");
}
