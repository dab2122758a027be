/* gendec bench dump: everything the PyTorch reference (bench/reference.py) needs to check gendec's numerics on
 * one fixed batch (llm.c's pattern): the weights as a checkpoint, the inputs and noise, the loss terms, every
 * parameter gradient, 10 Adam steps, and 50 Eq. 3 steps of (z, y) with their objective, plus an Eq. 2
 * refinement. Schema of the file: bench/README.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/infer.h"
#include "gendec/io.h"
#include "gendec/model.h"

static const char* dump_usage =
    "usage: gendec bench dump --out FILE [--arch mlp|conv | --spec SIGNATURE] [--batch B] [--seed S]\n"
    "                         [--adam-steps N] [--infer-steps N]\n\n"
    "Writes FILE (HDF5, kind bench-dump) for bench/reference.py: the c-VAE's weights as a checkpoint (ckpt/arch,\n"
    "ckpt/params), a fixed batch x (B, D) with labels y (B, n) (one-hot, one two-hot, one three-hot row), the noise\n"
    "eps, the loss terms and the gradient of the mean loss, the losses of N Adam steps (lr 1e-3, new noise each\n"
    "step) and the weights after them, and from the initial weights the Eq. 3 trajectory of (z, y) over N steps\n"
    "with the default infer options (per-pixel mean, L2, beta 5, b -2, c 0.005, lr 0.01, y0 0.5, projection onto\n"
    "[0,1]), the solver's best iterate, and an Eq. 2 refinement of the one-hot label from that z.\n"
    "Defaults: the paper's MNIST mlp model (28x28, n 10), B 8, seed 1, 10 Adam steps, 50 Eq. 3 steps.\n";

/* Writes a float dataset of rank r with dims d. */
static gd_status put(gd_h5* f, const char* name, int r, size_t d0, size_t d1, size_t d2, const float* v,
                     gd_error* err) {
    size_t dims[3] = {d0, d1, d2};
    return gd_h5_write(f, name, GD_F32, r, dims, v, 0, err);
}

/* Labels of the fixed batch: row b is one-hot (b mod n); row 1 adds a second component, row 2 two more (when
 * n allows), so routing, the gated KL and the sums over several decoders are all exercised. */
static void fixed_labels(float* y, int B, int n) {
    memset(y, 0, sizeof(float) * (size_t)B * n);
    for (int b = 0; b < B; b++) y[(size_t)b * n + b % n] = 1.0f;
    if (B > 1 && n > 1) y[(size_t)1 * n + (1 + 3) % n] = 1.0f;
    if (B > 2 && n > 2) {
        y[(size_t)2 * n + (2 + 1) % n] = 1.0f;
        y[(size_t)2 * n + (2 + 5) % n] = 1.0f;
    }
}

typedef struct {
    gd_cvae* m;
    gd_infer* inf;
    float *x, *y, *eps, *p0, *grad, *buf;
    float *zt, *yt, *Ft, *mz, *vz, *my, *vy, *dzt, *dyt;
    gd_adam adam;
} dump_state;

static void dump_free(dump_state* s) {
    gd_infer_free(s->inf);
    gd_cvae_free(s->m);
    float* bufs[] = {s->x, s->y, s->eps, s->p0, s->grad, s->buf, s->zt, s->yt, s->Ft,
                     s->mz, s->vz, s->my, s->vy, s->dzt, s->dyt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gd_free(bufs[i]);
    gd_adam_free(&s->adam);
}

/* The "name:offset:d0xd1x..." list of the parameter views, ';'-separated, into buf (for cross-checks). */
static void view_list(const gd_params* p, char* buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n_views && len < n; i++) {
        const gd_param_view* v = &p->views[i];
        len += (size_t)snprintf(buf + len, n - len, "%s%s:%zu:", i ? ";" : "", v->name, v->offset);
        for (int d = 0; d < v->ndim && len < n; d++)
            len += (size_t)snprintf(buf + len, n - len, d ? "x%d" : "%d", v->shape[d]);
    }
}

/* One Adam step of the solver's form (infer/solver.c) on m numbers; b1t, b2t = beta^t. */
static void infer_adam(float* w, const float* g, float* mo, float* vo, size_t m, float lr, float b1t, float b2t) {
    const float c1 = 1.0f / (1.0f - b1t), c2 = 1.0f / (1.0f - b2t);
    for (size_t i = 0; i < m; i++) {
        mo[i] = 0.9f * mo[i] + (1.0f - 0.9f) * g[i];
        vo[i] = 0.999f * vo[i] + (1.0f - 0.999f) * g[i] * g[i];
        w[i] -= lr * (mo[i] * c1) / (sqrtf(vo[i] * c2) + 1e-8f);
    }
}

static gd_status run_dump(const gd_cvae_spec* sp, const char* out, int B, uint64_t seed, int adam_steps,
                          int infer_steps, gd_error* err) {
    dump_state s;
    memset(&s, 0, sizeof s);
    const int n = sp->n, k = sp->k, nk = n * k, D = sp->h * sp->w;
    gd_status st = gd_cvae_create(sp, B, 0, &s.m, err);
    if (!st) st = gd_cvae_init_params(s.m, seed, err);
    if (st) {
        dump_free(&s);
        return st;
    }
    gd_params* p = gd_cvae_params(s.m);
    const size_t P = p->total;
    s.x = gd_alloc(sizeof(float) * (size_t)B * D);
    s.y = gd_alloc(sizeof(float) * (size_t)B * n);
    s.eps = gd_alloc(sizeof(float) * (size_t)(adam_steps > 1 ? adam_steps : 1) * B * nk);
    s.p0 = gd_alloc(sizeof(float) * P);
    s.grad = gd_alloc(sizeof(float) * P);
    s.buf = gd_alloc(sizeof(float) * (size_t)B * (D > nk ? D : nk) * 2);
    size_t T = (size_t)infer_steps + 1;
    s.zt = gd_alloc(sizeof(float) * T * B * nk);
    s.yt = gd_alloc(sizeof(float) * T * B * n);
    s.Ft = gd_alloc(sizeof(float) * T * B);
    s.mz = gd_alloc(sizeof(float) * (size_t)B * nk);
    s.vz = gd_alloc(sizeof(float) * (size_t)B * nk);
    s.dzt = gd_alloc(sizeof(float) * T * B * nk);
    s.my = gd_alloc(sizeof(float) * (size_t)B * n);
    s.vy = gd_alloc(sizeof(float) * (size_t)B * n);
    s.dyt = gd_alloc(sizeof(float) * T * B * n);
    if (!s.x || !s.y || !s.eps || !s.p0 || !s.grad || !s.buf || !s.zt || !s.yt || !s.Ft || !s.mz || !s.vz || !s.dzt ||
        !s.my || !s.vy || !s.dyt) {
        dump_free(&s);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    /* the batch: smooth blobs in [0, 1] (a digit-like mix of dark background and bright strokes) */
    gd_rng r;
    gd_rng_init(&r, seed, GD_STREAM_USER, 0);
    for (int b = 0; b < B; b++) {
        float cx = 6 + 16 * gd_rng_uniform(&r), cy = 6 + 16 * gd_rng_uniform(&r), rad = 3 + 5 * gd_rng_uniform(&r);
        for (int i = 0; i < sp->h; i++)
            for (int j = 0; j < sp->w; j++) {
                float d = sqrtf((i - cy) * (i - cy) + (j - cx) * (j - cx)) - rad;
                float v = 1.0f / (1.0f + expf(2.0f * d)) + 0.05f * gd_rng_uniform(&r);
                s.x[(size_t)b * D + i * sp->w + j] = v > 1.0f ? 1.0f : v;
            }
    }
    fixed_labels(s.y, B, n);
    for (int t = 0; t < (adam_steps > 1 ? adam_steps : 1); t++)
        gd_cvae_fill_noise(s.eps + (size_t)t * B * nk, B, nk, seed, (uint64_t)t * B);
    memcpy(s.p0, p->data, sizeof(float) * P);

    gd_h5* f = NULL;
    char sig[1024], arch[1100], views[8192];
    gd_cvae_spec_format(sp, sig, sizeof sig);
    snprintf(arch, sizeof arch, "cvae %s", sig);
    view_list(p, views, sizeof views);
    if ((st = gd_h5_create(out, "bench-dump", NULL, MPI_COMM_NULL, &f, err))) goto done;
    gd_ckpt_array ca = {"params", s.p0, P};
    gd_ckpt ck = {.kind = "bench-dump", .arch = arch, .arrays = &ca, .n_arrays = 1};
    if ((st = gd_ckpt_write(f, &ck, err)) || (st = gd_h5_attr_set_str(f, "", "param_views", views, err)) ||
        (st = gd_h5_attr_set_i64(f, "", "seed", (int64_t)seed, err)) ||
        (st = put(f, "input/x", 2, (size_t)B, (size_t)D, 0, s.x, err)) ||
        (st = put(f, "input/y", 2, (size_t)B, (size_t)n, 0, s.y, err)) ||
        (st = put(f, "input/eps", 3, (size_t)(adam_steps > 1 ? adam_steps : 1), (size_t)B, (size_t)nk, s.eps, err)))
        goto done;

    /* loss terms and the gradient of the mean loss over the batch */
    gd_cvae_sums sums = {0};
    gd_params_zero_grad(p);
    if ((st = gd_cvae_loss(s.m, s.x, s.y, s.eps, B, 1, 1.0f / (float)B, &sums, err))) goto done;
    double terms[3] = {sums.loss / B, sums.recon / B, sums.kl / B};
    size_t d3 = 3;
    if ((st = gd_h5_write(f, "train/loss_terms", GD_F64, 1, &d3, terms, 0, err)) ||
        (st = put(f, "train/grad", 1, P, 0, 0, p->grad, err)))
        goto done;

    /* Adam steps on the same images, noise of step t from rows t*B .. t*B + B - 1 */
    if ((st = gd_adam_init(&s.adam, P, 1e-3, err))) goto done;
    double* losses = calloc((size_t)adam_steps + 1, sizeof(double));
    if (!losses) {
        st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    for (int t = 0; t < adam_steps && !st; t++) {
        gd_cvae_sums ss = {0};
        gd_params_zero_grad(p);
        st = gd_cvae_loss(s.m, s.x, s.y, s.eps + (size_t)t * B * nk, B, 1, 1.0f / (float)B, &ss, err);
        losses[t] = ss.loss / B;
        if (!st) gd_adam_step(&s.adam, p->data, p->grad, P);
    }
    if (!st) {
        gd_cvae_sums ss = {0}; /* the loss after the last step, with the first step's noise */
        st = gd_cvae_loss(s.m, s.x, s.y, s.eps, B, 0, 1.0f, &ss, err);
        losses[adam_steps] = ss.loss / B;
    }
    size_t dl = (size_t)adam_steps + 1;
    if (!st) st = gd_h5_write(f, "train/adam_losses", GD_F64, 1, &dl, losses, 0, err);
    free(losses);
    if (st || (st = put(f, "train/params_after", 1, P, 0, 0, p->data, err))) goto done;
    memcpy(p->data, s.p0, sizeof(float) * P);

    /* Eq. 3: the solver itself (trace of y, best iterate) and the same iteration through gd_infer_eq3_eval,
     * which also exposes z at every step; the two must agree bit for bit */
    gd_generator g;
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.steps = infer_steps;
    o.batch = B;
    o.trace = 1;
    if ((st = gd_cvae_generator(s.m, &g, err)) || (st = gd_infer_create(&s.inf, &g, &o, err))) goto done;
    gd_infer_results res;
    memset(&res, 0, sizeof res);
    if ((st = gd_infer_results_alloc(&res, B, n, nk, (int)T, err))) goto done;
    st = gd_infer_solve(s.inf, s.x, 0, B, &res, 0, err);
    if (!st) st = gd_cvae_encode(s.m, s.x, s.zt, NULL, B, err);
    for (size_t i = 0; i < (size_t)B * n; i++) s.yt[i] = o.y0;
    float b1t = 1.0f, b2t = 1.0f;
    for (size_t t = 0; t < T && !st; t++) {
        float* z = s.zt + t * B * nk;
        float* y = s.yt + t * B * n;
        float* dz = s.dzt + t * B * nk;
        float* dy = s.dyt + t * B * n;
        st = gd_infer_eq3_eval(s.inf, s.x, z, y, B, s.Ft + t * B, dz, dy, err);
        if (st || t + 1 == T) break;
        memcpy(z + (size_t)B * nk, z, sizeof(float) * (size_t)B * nk);
        memcpy(y + (size_t)B * n, y, sizeof(float) * (size_t)B * n);
        b1t *= 0.9f;
        b2t *= 0.999f;
        infer_adam(z + (size_t)B * nk, dz, s.mz, s.vz, (size_t)B * nk, o.lr, b1t, b2t);
        float* yn = y + (size_t)B * n;
        infer_adam(yn, dy, s.my, s.vy, (size_t)B * n, o.lr, b1t, b2t);
        for (size_t i = 0; i < (size_t)B * n; i++) yn[i] = yn[i] < 0.0f ? 0.0f : (yn[i] > 1.0f ? 1.0f : yn[i]);
    }
    int same = 1; /* the replica's y trajectory against the solver's trace */
    for (int b = 0; b < B && !st; b++)
        for (size_t t = 0; t < T; t++)
            if (memcmp(s.yt + (t * B + b) * n, res.trace + ((size_t)b * T + t) * n, sizeof(float) * n)) same = 0;
    if (!st && !same)
        st = gd_error_set(err, GD_ESTATE, NULL, 0, 0, "gd_infer_solve changed; update bench dump's replica of it",
                          "the Eq. 3 iteration through gd_infer_eq3_eval differs from gd_infer_solve's trace");
    if (!st) st = put(f, "infer/z", 3, T, (size_t)B, (size_t)nk, s.zt, err);
    if (!st) st = put(f, "infer/y", 3, T, (size_t)B, (size_t)n, s.yt, err);
    if (!st) st = put(f, "infer/F", 2, T, (size_t)B, 0, s.Ft, err);
    if (!st) st = put(f, "infer/dz", 3, T, (size_t)B, (size_t)nk, s.dzt, err);
    if (!st) st = put(f, "infer/dy", 3, T, (size_t)B, (size_t)n, s.dyt, err);
    if (!st) st = put(f, "infer/ystar", 2, (size_t)B, (size_t)n, 0, res.ystar, err);
    if (!st) st = put(f, "infer/zstar", 2, (size_t)B, (size_t)nk, 0, res.zstar, err);
    if (!st) st = put(f, "infer/loss3", 1, (size_t)B, 0, 0, res.loss3, err);
    /* Eq. 2 refinement of each image's first label component from z*, infer.refine_steps steps */
    if (!st) {
        int32_t img[GD_INFER_MAX_COMPONENTS * 8];
        uint64_t mask[GD_INFER_MAX_COMPONENTS * 8];
        int M = B < (int)(sizeof img / sizeof img[0]) ? B : (int)(sizeof img / sizeof img[0]);
        for (int b = 0; b < M; b++) {
            img[b] = b;
            mask[b] = 0;
            for (int i = 0; i < n; i++)
                if (s.y[(size_t)b * n + i] != 0.0f) mask[b] |= (uint64_t)1 << i;
        }
        float* loss2 = s.buf;
        float* zr = s.buf + B;
        st = gd_infer_refine(s.inf, s.x, res.zstar, B, M, img, mask, loss2, zr, err);
        if (!st) st = put(f, "infer/refine_loss", 1, (size_t)M, 0, 0, loss2, err);
        if (!st) st = put(f, "infer/refine_z", 2, (size_t)M, (size_t)nk, 0, zr, err);
        if (!st) st = gd_h5_attr_set_i64(f, "infer", "refine_steps", o.refine_steps, err);
    }
    gd_infer_results_free(&res);
    if (!st) st = gd_h5_attr_set_i64(f, "infer", "steps", infer_steps, err);
    if (!st) {
        st = gd_h5_commit(f, err);
        f = NULL;
    }
done:
    if (f) gd_h5_abort(f);
    dump_free(&s);
    return st;
}

int cli_bench_dump(int argc, char** argv) {
    const char *out = NULL, *arch = "mlp", *spec = NULL;
    int B = 8, adam_steps = 10, infer_steps = 50;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", dump_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--out", &out)) || (t = cli_take(argc, argv, &i, "--arch", &arch)) ||
                   (t = cli_take(argc, argv, &i, "--spec", &spec))) {
            if (t < 0) return cli_usage_error("bench dump", "%s needs a value", argv[i]);
        } else if ((t = cli_take(argc, argv, &i, "--batch", &v))) {
            if (t < 0 || (B = atoi(v)) < 1 || B > 4096) return cli_usage_error("bench dump", "--batch needs 1..4096");
        } else if ((t = cli_take(argc, argv, &i, "--seed", &v))) {
            if (t < 0) return cli_usage_error("bench dump", "--seed needs a number");
            seed = strtoull(v, NULL, 10);
        } else if ((t = cli_take(argc, argv, &i, "--adam-steps", &v))) {
            if (t < 0 || (adam_steps = atoi(v)) < 1 || adam_steps > 1000)
                return cli_usage_error("bench dump", "--adam-steps needs 1..1000");
        } else if ((t = cli_take(argc, argv, &i, "--infer-steps", &v))) {
            if (t < 0 || (infer_steps = atoi(v)) < 1 || infer_steps > 10000)
                return cli_usage_error("bench dump", "--infer-steps needs 1..10000");
        } else
            return cli_usage_error("bench dump", "unknown option '%s'", argv[i]);
    }
    if (!out) return cli_usage_error("bench dump", "--out FILE is required");
    gd_error err;
    gd_error_clear(&err);
    gd_cvae_spec sp;
    if (spec) {
        if (gd_cvae_spec_parse(spec, &sp, &err)) return cli_fail(&err);
    } else {
        gd_cvae_spec_default(&sp, 28, 28, 10);
        if (!strcmp(arch, "conv")) sp.arch = GD_CVAE_CONV;
        else if (strcmp(arch, "mlp")) return cli_usage_error("bench dump", "--arch is mlp or conv");
    }
    gd_status st = run_dump(&sp, out, B, seed, adam_steps, infer_steps, &err);
    return st ? cli_fail(&err) : CLI_EXIT_OK;
}
