/* The decomposing c-VAE: shared encoder, n routed decoder sub-networks, Eq. 1 loss and its gradient,
 * the generator functions infer optimises through. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/model.h"
#include "model_internal.h"

#define ML GD_MODEL_MAX_LAYERS
#define MAX_VIEWS (4 * ML + 16)

struct gd_cvae {
    gd_cvae_spec s;
    int D, nk, max_batch, max_rows;
    gd_params p;
    int fan_in[MAX_VIEWS]; /* per view, for initialisation */
    /* encoder: ne hidden layers; layer l maps ei[l] -> eo[l] numbers per image */
    int ne;
    size_t ew[ML], eb[ML];
    int ei[ML], eo[ML];
    gd_conv_shape ec[ML]; /* conv layers (N set per call) */
    int feat;             /* numbers per image entering the heads */
    size_t muw, mub, lvw, lvb;
    /* decoders: nd layers; layer l maps di[l] -> dout[l] numbers per row; weights of group g at
     * dw[l] + g * dwg[l], biases at db[l] + g * dbg[l] */
    int nd;
    size_t dw[ML + 2], db[ML + 2], dwg[ML + 2], dbg[ML + 2];
    int di[ML + 2], dout[ML + 2];
    gd_conv_shape dc[ML + 2]; /* conv: layers 1 .. nd-2 transposed, nd-1 the final conv */
    /* buffers */
    float* ea[ML];            /* (max_batch, eo[l]) post-activation */
    float *mu, *lv, *z;       /* (max_batch, nk) */
    float *dmu, *dlv, *dz;    /* (max_batch, nk) */
    float *egA, *egB;         /* (max_batch, emax) encoder gradient ping-pong */
    float* segkl;             /* (max_batch, n) */
    float* rowloss;           /* (max_batch) */
    int* row_off;             /* (n + 1) */
    int* row_img;             /* (max_rows) */
    float* row_y;             /* (max_rows) */
    float *zr, *dzr;          /* (max_rows, k) */
    float* da[ML + 2];        /* (max_rows, dout[l]) post-activation; da[nd-1] = decoder outputs (max_rows, D) */
    float* drow;              /* (max_rows, D) gradient wrt the decoder outputs */
    float *dgA, *dgB;         /* decoder gradient ping-pong: (max_rows or max_batch, dmax) */
    float* xf;                /* (max_batch, D) Σ y out: x_f (mse) or the logits L (bce) */
    float* sx;                /* (max_batch, D) sigmoid(L) (bce decode) */
    float* dxf;               /* (max_batch, D) gradient wrt xf */
    float* work;              /* conv workspace */
    int last_B, last_all;     /* last gd_cvae_decode, for its backward (-1: none) */
};

/* ---- construction ------------------------------------------------------------------------------------ */

/* Appends a parameter view with the given shape and fan-in. */
static gd_status add_view(gd_cvae* m, const char* name, int ndim, int a, int b, int c, int d, int fan_in,
                          size_t* off, gd_error* err) {
    int shape[4] = {a, b, c, d};
    if (m->p.n_views >= MAX_VIEWS) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "too many parameter views");
    m->fan_in[m->p.n_views] = fan_in;
    return gd_params_add(&m->p, name, ndim, shape, off, err);
}

/* Allocates n floats (64-byte aligned, zeroed) checking the size; NULL on failure (err set). */
static float* falloc(size_t a, size_t b, gd_error* err) {
    size_t n;
    if (gd_mul_overflows(a, b, &n) || gd_mul_overflows(n, sizeof(float), &n) || n > ((size_t)1 << 36)) {
        gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use a smaller batch or model", "buffer of %zu x %zu floats is too large", a, b);
        return NULL;
    }
    float* p = gd_alloc(n ? n : 64);
    if (!p) gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "use a smaller batch or model", "out of memory (%zu bytes)", n);
    return p;
}

/* Lays out the parameters and the per-layer shapes. */
static gd_status build_layout(gd_cvae* m, gd_error* err) {
    const gd_cvae_spec* s = &m->s;
    char name[64];
    gd_status st;
    int n = s->n, k = s->k, D = m->D, nk = m->nk;
    /* encoder */
    if (s->arch == GD_CVAE_MLP) {
        m->ne = s->n_enc;
        int in = D;
        for (int l = 0; l < m->ne; l++) {
            m->ei[l] = in, m->eo[l] = s->enc[l];
            snprintf(name, sizeof name, "enc.fc%d.w", l);
            if ((st = add_view(m, name, 2, s->enc[l], in, 1, 1, in, &m->ew[l], err))) return st;
            snprintf(name, sizeof name, "enc.fc%d.b", l);
            if ((st = add_view(m, name, 1, s->enc[l], 1, 1, 1, in, &m->eb[l], err))) return st;
            in = s->enc[l];
        }
        m->feat = in;
    } else {
        m->ne = s->n_ch;
        int c = 1, h = s->h, w = s->w, kc = s->kernel;
        for (int l = 0; l < m->ne; l++) {
            if ((st = gd_conv_shape_init(&m->ec[l], 1, c, h, w, s->ch[l], kc, kc, 2, (kc - 1) / 2, err))) return st;
            m->ei[l] = c * h * w;
            m->eo[l] = s->ch[l] * m->ec[l].OH * m->ec[l].OW;
            snprintf(name, sizeof name, "enc.conv%d.w", l);
            if ((st = add_view(m, name, 4, s->ch[l], c, kc, kc, c * kc * kc, &m->ew[l], err))) return st;
            snprintf(name, sizeof name, "enc.conv%d.b", l);
            if ((st = add_view(m, name, 1, s->ch[l], 1, 1, 1, c * kc * kc, &m->eb[l], err))) return st;
            c = s->ch[l], h = m->ec[l].OH, w = m->ec[l].OW;
        }
        m->feat = c * h * w;
    }
    if ((st = add_view(m, "enc.mu.w", 2, nk, m->feat, 1, 1, m->feat, &m->muw, err))) return st;
    if ((st = add_view(m, "enc.mu.b", 1, nk, 1, 1, 1, m->feat, &m->mub, err))) return st;
    if ((st = add_view(m, "enc.lv.w", 2, nk, m->feat, 1, 1, m->feat, &m->lvw, err))) return st;
    if ((st = add_view(m, "enc.lv.b", 1, nk, 1, 1, 1, m->feat, &m->lvb, err))) return st;
    /* decoders */
    if (s->arch == GD_CVAE_MLP) {
        m->nd = s->n_dec + 1;
        int in = k;
        for (int l = 0; l < m->nd; l++) {
            int out = l < s->n_dec ? s->dec[l] : D;
            m->di[l] = in, m->dout[l] = out;
            m->dwg[l] = (size_t)out * in, m->dbg[l] = (size_t)out;
            snprintf(name, sizeof name, "dec.fc%d.w", l);
            if ((st = add_view(m, name, 3, n, out, in, 1, in, &m->dw[l], err))) return st;
            snprintf(name, sizeof name, "dec.fc%d.b", l);
            if ((st = add_view(m, name, 2, n, out, 1, 1, in, &m->db[l], err))) return st;
            in = out;
        }
    } else {
        int L = s->n_ch, S = s->dec_start, kc = s->kernel, ko = s->out_kernel, fpad;
        if ((st = gd_cvae_conv_plan(s, &fpad, err))) return st;
        m->nd = L + 2;
        int c = s->ch[L - 1], F0 = c * S * S;
        m->di[0] = k, m->dout[0] = F0, m->dwg[0] = (size_t)F0 * k, m->dbg[0] = (size_t)F0;
        if ((st = add_view(m, "dec.fc.w", 3, n, F0, k, 1, k, &m->dw[0], err))) return st;
        if ((st = add_view(m, "dec.fc.b", 2, n, F0, 1, 1, k, &m->db[0], err))) return st;
        int side = S, pad = (kc - 1) / 2;
        for (int j = 0; j < L; j++) {
            int l = j + 1, cin = c, cout = s->ch[L - 1 - j];
            gd_conv_shape* sh = &m->dc[l];
            if ((st = gd_convT_shape_init(sh, 1, cin, side, side, cout, kc, kc, 2, pad, 2 + 2 * pad - kc, err))) return st;
            m->di[l] = cin * side * side;
            m->dout[l] = cout * sh->OH * sh->OW;
            m->dwg[l] = (size_t)cin * cout * kc * kc, m->dbg[l] = (size_t)cout;
            snprintf(name, sizeof name, "dec.deconv%d.w", j);
            if ((st = add_view(m, name, 4, n * cin, cout, kc, kc, cout * kc * kc, &m->dw[l], err))) return st;
            snprintf(name, sizeof name, "dec.deconv%d.b", j);
            if ((st = add_view(m, name, 2, n, cout, 1, 1, cout * kc * kc, &m->db[l], err))) return st;
            c = cout, side = sh->OH;
        }
        int l = L + 1;
        gd_conv_shape* sh = &m->dc[l];
        if ((st = gd_conv_shape_init(sh, 1, c, side, side, 1, ko, ko, 1, fpad, err))) return st;
        if (sh->OH != s->h || sh->OW != s->w)
            return gd_error_set(err, GD_ECONFIG, NULL, 0, 0, NULL, "conv decoder produces %dx%d, not %dx%d", sh->OH,
                                sh->OW, s->h, s->w);
        m->di[l] = c * side * side, m->dout[l] = D;
        m->dwg[l] = (size_t)c * ko * ko, m->dbg[l] = 1;
        if ((st = add_view(m, "dec.out.w", 4, n, c, ko, ko, c * ko * ko, &m->dw[l], err))) return st;
        if ((st = add_view(m, "dec.out.b", 2, n, 1, 1, 1, c * ko * ko, &m->db[l], err))) return st;
    }
    return GD_OK;
}

gd_status gd_cvae_create(const gd_cvae_spec* spec, int max_batch, int max_rows, gd_cvae** out, gd_error* err) {
    *out = NULL;
    gd_status st = gd_cvae_spec_check(spec, err);
    if (st) return st;
    if (max_batch < 1 || max_batch > (1 << 20))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "max_batch %d outside 1..2^20", max_batch);
    if (max_rows <= 0) max_rows = max_batch * spec->n;
    if (max_rows > max_batch * spec->n) max_rows = max_batch * spec->n;
    gd_cvae* m = calloc(1, sizeof *m);
    if (!m) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    m->s = *spec;
    m->D = spec->h * spec->w, m->nk = spec->n * spec->k;
    m->max_batch = max_batch, m->max_rows = max_rows;
    m->last_B = -1;
    gd_params_init(&m->p);
    if ((st = build_layout(m, err)) || (st = gd_params_alloc(&m->p, err))) goto fail;
    int B = max_batch, R = max_rows, n = spec->n, k = spec->k, D = m->D, nk = m->nk;
    int emax = m->feat, dmax = k;
    size_t work = 0;
    for (int l = 0; l < m->ne; l++) {
        if (m->ei[l] > emax) emax = m->ei[l];
        if (m->eo[l] > emax) emax = m->eo[l];
        if (!(m->ea[l] = falloc(B, m->eo[l], err))) goto nomem;
        if (spec->arch == GD_CVAE_CONV) {
            size_t ws = gd_conv2d_workspace_size(&m->ec[l]);
            if (ws > work) work = ws;
        }
    }
    for (int l = 0; l < m->nd; l++) {
        if (m->di[l] > dmax) dmax = m->di[l];
        if (m->dout[l] > dmax) dmax = m->dout[l];
        if (!(m->da[l] = falloc(R, m->dout[l], err))) goto nomem;
        if (spec->arch == GD_CVAE_CONV && l > 0) {
            size_t ws = l == m->nd - 1 ? gd_conv2d_workspace_size(&m->dc[l]) : gd_conv_transpose2d_workspace_size(&m->dc[l]);
            if (ws > work) work = ws;
        }
    }
    int grows = spec->arch == GD_CVAE_MLP ? R : B;
    if (!(m->mu = falloc(B, nk, err)) || !(m->lv = falloc(B, nk, err)) || !(m->z = falloc(B, nk, err)) ||
        !(m->dmu = falloc(B, nk, err)) || !(m->dlv = falloc(B, nk, err)) || !(m->dz = falloc(B, nk, err)) ||
        !(m->egA = falloc(B, emax, err)) || !(m->egB = falloc(B, emax, err)) || !(m->segkl = falloc(B, n, err)) ||
        !(m->rowloss = falloc(B, 1, err)) || !(m->row_y = falloc(R, 1, err)) || !(m->zr = falloc(R, k, err)) ||
        !(m->dzr = falloc(R, k, err)) || !(m->drow = falloc(R, D, err)) || !(m->dgA = falloc(grows, dmax, err)) ||
        !(m->dgB = falloc(grows, dmax, err)) || !(m->xf = falloc(B, D, err)) || !(m->sx = falloc(B, D, err)) ||
        !(m->dxf = falloc(B, D, err)) || !(m->work = falloc(work ? work : 1, 1, err)))
        goto nomem;
    m->row_off = gd_alloc(sizeof(int) * (size_t)(n + 1));
    m->row_img = gd_alloc(sizeof(int) * (size_t)R);
    if (!m->row_off || !m->row_img) {
        gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        goto nomem;
    }
    *out = m;
    return GD_OK;
nomem:
    st = GD_ENOMEM;
fail:
    gd_cvae_free(m);
    return st;
}

void gd_cvae_free(gd_cvae* m) {
    if (!m) return;
    gd_params_free(&m->p);
    for (int l = 0; l < ML; l++) gd_free(m->ea[l]);
    for (int l = 0; l < ML + 2; l++) gd_free(m->da[l]);
    float* bufs[] = {m->mu, m->lv, m->z, m->dmu, m->dlv, m->dz, m->egA, m->egB, m->segkl, m->rowloss, m->row_y,
                     m->zr, m->dzr, m->drow, m->dgA, m->dgB, m->xf, m->sx, m->dxf, m->work};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gd_free(bufs[i]);
    gd_free(m->row_off);
    gd_free(m->row_img);
    free(m);
}

const gd_cvae_spec* gd_cvae_get_spec(const gd_cvae* m) { return &m->s; }
gd_params* gd_cvae_params(gd_cvae* m) { return &m->p; }
int gd_cvae_max_batch(const gd_cvae* m) { return m->max_batch; }
int gd_cvae_max_rows(const gd_cvae* m) { return m->max_rows; }

gd_status gd_cvae_init_params(gd_cvae* m, uint64_t seed, gd_error* err) {
    for (int i = 0; i < m->p.n_views; i++) {
        gd_status st = gd_params_fill(&m->p, i, GD_INIT_TORCH_DEFAULT, m->fan_in[i], 0, 1.0f, seed, err);
        if (st) return st;
    }
    return GD_OK;
}

void gd_cvae_fill_noise(float* eps, int B, int nk, uint64_t seed, uint64_t first) {
    for (int b = 0; b < B; b++) {
        gd_rng r;
        gd_rng_init(&r, seed, GD_STREAM_NOISE, first + (uint64_t)b);
        gd_rng_fill_normal(&r, eps + (size_t)b * nk, (size_t)nk, 1.0f);
    }
}

/* ---- activations ------------------------------------------------------------------------------------- */

void gd_model_act_forward(gd_act_kind a, float* x, size_t n) {
    if (a == GD_ACT_ELU) gd_elu_forward(x, x, n);
    else gd_relu_forward(x, x, n);
}

void gd_model_act_backward(gd_act_kind a, float* dpre, const float* dpost, const float* post, size_t n) {
    if (a == GD_ACT_ELU) gd_elu_backward(dpre, dpost, post, n);
    else gd_relu_backward(dpre, dpost, post, n);
}

/* ---- encoder ------------------------------------------------------------------------------------------ */

#define W(off) (m->p.data + (off))
#define G(off) (m->p.grad + (off))

/* mu, lv (B, nk) of x (B, D); keeps the hidden activations. */
static void enc_forward(gd_cvae* m, const float* x, int B) {
    const float* in = x;
    for (int l = 0; l < m->ne; l++) {
        if (m->s.arch == GD_CVAE_MLP) {
            gd_dense_forward(m->ea[l], in, W(m->ew[l]), W(m->eb[l]), B, m->ei[l], m->eo[l]);
        } else {
            gd_conv_shape sh = m->ec[l];
            sh.N = B;
            gd_conv2d_forward(m->ea[l], in, W(m->ew[l]), W(m->eb[l]), &sh, m->work);
        }
        gd_model_act_forward(m->s.act, m->ea[l], (size_t)B * m->eo[l]);
        in = m->ea[l];
    }
    gd_dense_forward(m->mu, in, W(m->muw), W(m->mub), B, m->feat, m->nk);
    gd_dense_forward(m->lv, in, W(m->lvw), W(m->lvb), B, m->feat, m->nk);
}

/* Parameter gradients of the encoder given dmu, dlv (B, nk). The input gradient is not computed. */
static void enc_backward(gd_cvae* m, const float* x, int B) {
    float* g = m->egA;
    memset(g, 0, sizeof(float) * (size_t)B * m->feat);
    const float* hin = m->ne > 0 ? m->ea[m->ne - 1] : x;
    gd_dense_backward(m->ne > 0 ? g : NULL, G(m->muw), G(m->mub), m->dmu, hin, W(m->muw), B, m->feat, m->nk);
    gd_dense_backward(m->ne > 0 ? g : NULL, G(m->lvw), G(m->lvb), m->dlv, hin, W(m->lvw), B, m->feat, m->nk);
    for (int l = m->ne - 1; l >= 0; l--) {
        size_t no = (size_t)B * m->eo[l];
        memset(m->egB, 0, sizeof(float) * no);
        gd_model_act_backward(m->s.act, m->egB, g, m->ea[l], no);
        float* din = NULL;
        if (l > 0) {
            din = m->egA;
            memset(din, 0, sizeof(float) * (size_t)B * m->ei[l]);
        }
        const float* in = l > 0 ? m->ea[l - 1] : x;
        if (m->s.arch == GD_CVAE_MLP) {
            gd_dense_backward(din, G(m->ew[l]), G(m->eb[l]), m->egB, in, W(m->ew[l]), B, m->ei[l], m->eo[l]);
        } else {
            gd_conv_shape sh = m->ec[l];
            sh.N = B;
            gd_conv2d_backward(din, G(m->ew[l]), G(m->eb[l]), m->egB, in, W(m->ew[l]), &sh, m->work);
        }
        g = din;
    }
}

/* ---- routing and decoders ----------------------------------------------------------------------------- */

/* Builds the (image, component) rows grouped by component: all pairs (all = 1, or y == NULL) or those with
 * y != 0; gathers z into zr. GD_EINVAL when the rows exceed max_rows. */
static gd_status route(gd_cvae* m, const float* z, const float* y, int B, int all, gd_error* err) {
    int n = m->s.n, k = m->s.k, r = 0;
    for (int g = 0; g < n; g++) {
        m->row_off[g] = r;
        for (int b = 0; b < B; b++) {
            float yv = y ? y[(size_t)b * n + g] : 1.0f;
            if (!all && yv == 0.0f) continue;
            if (r >= m->max_rows)
                return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "create the model with a larger max_rows",
                                    "more than %d active (image, component) pairs in a batch of %d", m->max_rows, B);
            m->row_img[r] = b;
            m->row_y[r] = yv;
            memcpy(m->zr + (size_t)r * k, z + (size_t)b * m->nk + (size_t)g * k, sizeof(float) * (size_t)k);
            r++;
        }
    }
    m->row_off[n] = r;
    return GD_OK;
}

/* Groups with at most this many rows go through cblas_sgemv row by row: sgemm would pack the whole weight
 * matrix of the group for a handful of rows (measured: 1.5-2x slower for 1-4 rows of 512 x 784). */
#define GD_SMALL_GROUP 4

/* One decoder dense layer over the routed rows: out (R, OC) = in (R, C) · w[g]ᵀ + b[g] per group. */
static void routed_dense_forward(float* out, const float* in, const float* w, const float* b, const int* row_off,
                                 int G, int C, int OC) {
    for (int g = 0; g < G; g++) {
        int r0 = row_off[g], N = row_off[g + 1] - r0;
        const float* wg = w + (size_t)g * OC * C;
        const float* bg = b + (size_t)g * OC;
        if (N > GD_SMALL_GROUP) {
            gd_dense_forward(out + (size_t)r0 * OC, in + (size_t)r0 * C, wg, bg, N, C, OC);
            continue;
        }
        for (int r = r0; r < r0 + N; r++) {
            float* o = out + (size_t)r * OC;
            memcpy(o, bg, sizeof(float) * (size_t)OC);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, OC, C, 1.0f, wg, C, in + (size_t)r * C, 1, 1.0f, o, 1);
        }
    }
}

/* Backward of routed_dense_forward: din (R, C), dw (G, OC, C), db (G, OC) accumulate; din, dw, db may be NULL. */
static void routed_dense_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                                  const int* row_off, int G, int C, int OC) {
    for (int g = 0; g < G; g++) {
        int r0 = row_off[g], N = row_off[g + 1] - r0;
        if (N == 0) continue;
        const float* wg = w + (size_t)g * OC * C;
        float* dwg = dw ? dw + (size_t)g * OC * C : NULL;
        float* dbg = db ? db + (size_t)g * OC : NULL;
        const float* dg = dout + (size_t)r0 * OC;
        if (N > GD_SMALL_GROUP || !din) {
            gd_dense_backward(din ? din + (size_t)r0 * C : NULL, dwg, dbg, dg, in + (size_t)r0 * C, wg, N, C, OC);
            continue;
        }
        for (int r = 0; r < N; r++)
            cblas_sgemv(CblasRowMajor, CblasTrans, OC, C, 1.0f, wg, C, dg + (size_t)r * OC, 1, 1.0f,
                        din + (size_t)(r0 + r) * C, 1);
        if (dwg || dbg) gd_dense_backward(NULL, dwg, dbg, dg, in + (size_t)r0 * C, wg, N, C, OC);
    }
}

/* Decoder outputs da[nd-1] (R, D) for the routed rows in zr, before any output sigmoid. */
static void dec_forward_raw(gd_cvae* m) {
    int n = m->s.n, R = m->row_off[n];
    if (m->s.arch == GD_CVAE_MLP) {
        const float* in = m->zr;
        for (int l = 0; l < m->nd; l++) {
            routed_dense_forward(m->da[l], in, W(m->dw[l]), W(m->db[l]), m->row_off, n, m->di[l], m->dout[l]);
            if (l < m->nd - 1) gd_model_act_forward(m->s.act, m->da[l], (size_t)R * m->dout[l]);
            in = m->da[l];
        }
        return;
    }
    routed_dense_forward(m->da[0], m->zr, W(m->dw[0]), W(m->db[0]), m->row_off, n, m->di[0], m->dout[0]);
    gd_model_act_forward(m->s.act, m->da[0], (size_t)R * m->dout[0]);
    for (int g = 0; g < n; g++) {
        int r0 = m->row_off[g], N = m->row_off[g + 1] - r0;
        if (N == 0) continue;
        for (int l = 1; l < m->nd; l++) {
            gd_conv_shape sh = m->dc[l];
            sh.N = N;
            float* out = m->da[l] + (size_t)r0 * m->dout[l];
            const float* in = m->da[l - 1] + (size_t)r0 * m->di[l];
            const float* w = W(m->dw[l] + (size_t)g * m->dwg[l]);
            const float* b = W(m->db[l] + (size_t)g * m->dbg[l]);
            if (l == m->nd - 1) {
                gd_conv2d_forward(out, in, w, b, &sh, m->work);
            } else {
                gd_conv_transpose2d_forward(out, in, w, b, &sh, m->work);
                gd_model_act_forward(m->s.act, out, (size_t)N * m->dout[l]);
            }
        }
    }
}

/* Backward through the decoders' layers from drow (R, D), the gradient at the last layer's output (before any
 * output sigmoid): dzr (R, k) is overwritten; parameter gradients are accumulated when params != 0. */
static void dec_backward_raw(gd_cvae* m, int params) {
    int n = m->s.n, R = m->row_off[n], k = m->s.k;
    memset(m->dzr, 0, sizeof(float) * (size_t)R * k);
    if (m->s.arch == GD_CVAE_MLP) {
        const float* g = m->drow;
        for (int l = m->nd - 1; l >= 0; l--) {
            const float* gl = g;
            if (l < m->nd - 1) {
                size_t no = (size_t)R * m->dout[l];
                memset(m->dgB, 0, sizeof(float) * no);
                gd_model_act_backward(m->s.act, m->dgB, g, m->da[l], no);
                gl = m->dgB;
            }
            float* din = m->dzr;
            if (l > 0) {
                din = m->dgA;
                memset(din, 0, sizeof(float) * (size_t)R * m->di[l]);
            }
            const float* in = l > 0 ? m->da[l - 1] : m->zr;
            routed_dense_backward(din, params ? G(m->dw[l]) : NULL, params ? G(m->db[l]) : NULL, gl, in, W(m->dw[l]),
                                  m->row_off, n, m->di[l], m->dout[l]);
            g = din;
        }
        return;
    }
    for (int gi = 0; gi < n; gi++) {
        int r0 = m->row_off[gi], N = m->row_off[gi + 1] - r0;
        if (N == 0) continue;
        const float* g = m->drow + (size_t)r0 * m->D;
        for (int l = m->nd - 1; l >= 1; l--) {
            const float* gl = g;
            if (l < m->nd - 1) {
                size_t no = (size_t)N * m->dout[l];
                memset(m->dgB, 0, sizeof(float) * no);
                gd_model_act_backward(m->s.act, m->dgB, g, m->da[l] + (size_t)r0 * m->dout[l], no);
                gl = m->dgB;
            }
            float* din = m->dgA;
            memset(din, 0, sizeof(float) * (size_t)N * m->di[l]);
            gd_conv_shape sh = m->dc[l];
            sh.N = N;
            const float* in = m->da[l - 1] + (size_t)r0 * m->di[l];
            const float* w = W(m->dw[l] + (size_t)gi * m->dwg[l]);
            float* dw = params ? G(m->dw[l] + (size_t)gi * m->dwg[l]) : NULL;
            float* db = params ? G(m->db[l] + (size_t)gi * m->dbg[l]) : NULL;
            if (l == m->nd - 1) gd_conv2d_backward(din, dw, db, gl, in, w, &sh, m->work);
            else gd_conv_transpose2d_backward(din, dw, db, gl, in, w, &sh, m->work);
            g = din;
        }
        size_t no = (size_t)N * m->dout[0];
        memset(m->dgB, 0, sizeof(float) * no);
        gd_model_act_backward(m->s.act, m->dgB, g, m->da[0] + (size_t)r0 * m->dout[0], no);
        gd_dense_backward(m->dzr + (size_t)r0 * k, params ? G(m->dw[0] + (size_t)gi * m->dwg[0]) : NULL,
                          params ? G(m->db[0] + (size_t)gi * m->dbg[0]) : NULL, m->dgB, m->zr + (size_t)r0 * k,
                          W(m->dw[0] + (size_t)gi * m->dwg[0]), N, k, m->dout[0]);
    }
}

/* Decoder outputs da[nd-1] (R, D) for the routed rows in zr, through the sigmoid for mse_sigmoid. */
static void dec_forward(gd_cvae* m) {
    dec_forward_raw(m);
    if (m->s.recon == GD_RECON_MSE_SIGMOID) {
        float* out = m->da[m->nd - 1];
        gd_sigmoid_forward(out, out, (size_t)m->row_off[m->s.n] * m->D);
    }
}

/* Backward through the decoders from drow (R, D): dzr (R, k) is overwritten; parameter gradients are
 * accumulated when params != 0. */
static void dec_backward(gd_cvae* m, int params) {
    if (m->s.recon == GD_RECON_MSE_SIGMOID) {
        const float* s = m->da[m->nd - 1];
        size_t nr = (size_t)m->row_off[m->s.n] * m->D;
        for (size_t i = 0; i < nr; i++) m->drow[i] *= s[i] * (1.0f - s[i]);
    }
    dec_backward_raw(m, params);
}

/* xf (B, D) = Σ over rows of row_y · decoder output. */
static void combine(gd_cvae* m, int B) {
    int D = m->D, R = m->row_off[m->s.n];
    const float* out = m->da[m->nd - 1];
    memset(m->xf, 0, sizeof(float) * (size_t)B * D);
    for (int r = 0; r < R; r++) {
        float yv = m->row_y[r], *dst = m->xf + (size_t)m->row_img[r] * D;
        const float* src = out + (size_t)r * D;
        for (int p = 0; p < D; p++) dst[p] += yv * src[p];
    }
}

/* drow[r] = row_y[r] · dxf[row_img[r]]. */
static void spread(gd_cvae* m) {
    int D = m->D, R = m->row_off[m->s.n];
    for (int r = 0; r < R; r++) {
        float yv = m->row_y[r], *dst = m->drow + (size_t)r * D;
        const float* src = m->dxf + (size_t)m->row_img[r] * D;
        for (int p = 0; p < D; p++) dst[p] = yv * src[p];
    }
}

/* dz (B, nk) = dzr scattered back to the rows' images and components (overwrites). */
static void gather_dz(gd_cvae* m, float* dz, int B) {
    int n = m->s.n, k = m->s.k;
    memset(dz, 0, sizeof(float) * (size_t)B * m->nk);
    for (int g = 0; g < n; g++)
        for (int r = m->row_off[g]; r < m->row_off[g + 1]; r++) {
            float* d = dz + (size_t)m->row_img[r] * m->nk + (size_t)g * k;
            const float* s = m->dzr + (size_t)r * k;
            for (int j = 0; j < k; j++) d[j] += s[j];
        }
}

static gd_status check_batch(const gd_cvae* m, int B, gd_error* err) {
    if (B < 0 || B > m->max_batch)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "batch of %d images outside 0..%d (max_batch)", B,
                            m->max_batch);
    return GD_OK;
}

/* ---- loss --------------------------------------------------------------------------------------------- */

gd_status gd_cvae_loss(gd_cvae* m, const float* x, const float* y, const float* eps, int B, int backward,
                       float grad_scale, gd_cvae_sums* sums, gd_error* err) {
    gd_status st = check_batch(m, B, err);
    if (st || B == 0) return st;
    int n = m->s.n, k = m->s.k, D = m->D, nk = m->nk;
    m->last_B = -1;
    enc_forward(m, x, B);
    gd_reparam_forward(m->z, m->mu, m->lv, eps, (size_t)B * nk);
    if ((st = route(m, m->z, y, B, 0, err))) return st;
    dec_forward(m);
    combine(m, B);
    float dl = (float)((double)B * D * grad_scale);
    float* dxf = backward ? m->dxf : NULL;
    if (dxf) memset(dxf, 0, sizeof(float) * (size_t)B * D);
    if (m->s.recon != GD_RECON_BCE_LOGITS) gd_mse_loss(dxf, m->rowloss, m->xf, x, B, D, dl);
    else gd_sigmoid_xent_loss(dxf, m->rowloss, m->xf, x, B, D, dl);
    float* dmu = backward ? m->dmu : NULL;
    float* dlv = backward ? m->dlv : NULL;
    if (backward) {
        memset(dmu, 0, sizeof(float) * (size_t)B * nk);
        memset(dlv, 0, sizeof(float) * (size_t)B * nk);
    }
    double klw = (double)m->s.C * B * grad_scale;
    if (m->s.kl == GD_KL_GATED) gd_gauss_kl_loss(dmu, dlv, m->segkl, m->mu, m->lv, y, B, n, k, (float)klw);
    else gd_gauss_kl_loss(dmu, dlv, m->segkl, m->mu, m->lv, NULL, B, n, k, (float)(klw / n));
    if (sums) {
        for (int b = 0; b < B; b++) {
            double R = (double)m->rowloss[b] * D, K = 0;
            for (int i = 0; i < n; i++) {
                double kl = m->segkl[(size_t)b * n + i];
                K += m->s.kl == GD_KL_GATED ? (double)y[(size_t)b * n + i] * kl : kl / n;
            }
            sums->recon += R;
            sums->kl += K;
            sums->loss += R + (double)m->s.C * K;
        }
    }
    if (!backward) return GD_OK;
    spread(m);
    dec_backward(m, 1);
    gather_dz(m, m->dz, B);
    gd_reparam_backward(m->dmu, m->dlv, m->dz, m->lv, eps, (size_t)B * nk);
    enc_backward(m, x, B);
    return GD_OK;
}

/* ---- generator ---------------------------------------------------------------------------------------- */

gd_status gd_cvae_encode(gd_cvae* m, const float* x, float* mu, float* logvar, int B, gd_error* err) {
    gd_status st = check_batch(m, B, err);
    if (st || B == 0) return st;
    m->last_B = -1;
    enc_forward(m, x, B);
    if (mu) memcpy(mu, m->mu, sizeof(float) * (size_t)B * m->nk);
    if (logvar) memcpy(logvar, m->lv, sizeof(float) * (size_t)B * m->nk);
    return GD_OK;
}

gd_status gd_cvae_decode(gd_cvae* m, const float* z, const float* y, float* xf, int B, int all, gd_error* err) {
    gd_status st = check_batch(m, B, err);
    if (st) return st;
    m->last_B = -1;
    if (B == 0) return GD_OK;
    if ((st = route(m, z, y, B, all, err))) return st;
    dec_forward(m);
    combine(m, B);
    size_t nb = (size_t)B * m->D;
    if (m->s.recon != GD_RECON_BCE_LOGITS) {
        memcpy(xf, m->xf, sizeof(float) * nb);
    } else {
        gd_sigmoid_forward(m->sx, m->xf, nb);
        memcpy(xf, m->sx, sizeof(float) * nb);
    }
    m->last_B = B, m->last_all = all;
    return GD_OK;
}

gd_status gd_cvae_decode_backward(gd_cvae* m, const float* dxf, float* dz, float* dy, int B, gd_error* err) {
    if (B != m->last_B)
        return gd_error_set(err, GD_ESTATE, NULL, 0, 0, NULL,
                            "gd_cvae_decode_backward needs a gd_cvae_decode of the same batch (%d) just before", B);
    if (dy && !m->last_all)
        return gd_error_set(err, GD_ESTATE, NULL, 0, 0, "decode with all = 1 (want_dy)",
                            "dy requested after a decode that skipped inactive components");
    if (B == 0) return GD_OK;
    int n = m->s.n, D = m->D;
    size_t nb = (size_t)B * D;
    if (m->s.recon != GD_RECON_BCE_LOGITS) {
        memcpy(m->dxf, dxf, sizeof(float) * nb);
    } else {
        for (size_t i = 0; i < nb; i++) m->dxf[i] = dxf[i] * m->sx[i] * (1.0f - m->sx[i]);
    }
    if (dy) {
        memset(dy, 0, sizeof(float) * (size_t)B * n);
        const float* out = m->da[m->nd - 1];
        for (int g = 0; g < n; g++)
            for (int r = m->row_off[g]; r < m->row_off[g + 1]; r++) {
                const float* a = out + (size_t)r * D;
                const float* d = m->dxf + (size_t)m->row_img[r] * D;
                double s = 0;
                for (int p = 0; p < D; p++) s += (double)a[p] * d[p];
                dy[(size_t)m->row_img[r] * n + g] = (float)s;
            }
    }
    spread(m);
    dec_backward(m, 0);
    gather_dz(m, dz, B);
    return GD_OK;
}

gd_status gd_cvae_decode_parts(gd_cvae* m, const float* z, float* parts, int B, gd_error* err) {
    gd_status st = check_batch(m, B, err);
    if (st || B == 0) return st;
    m->last_B = -1;
    if ((st = route(m, z, NULL, B, 1, err))) return st;
    dec_forward(m);
    int n = m->s.n, D = m->D;
    const float* out = m->da[m->nd - 1];
    for (int g = 0; g < n; g++)
        for (int r = m->row_off[g]; r < m->row_off[g + 1]; r++) {
            float* dst = parts + ((size_t)m->row_img[r] * n + g) * D;
            if (m->s.recon != GD_RECON_BCE_LOGITS) memcpy(dst, out + (size_t)r * D, sizeof(float) * D);
            else gd_sigmoid_forward(dst, out + (size_t)r * D, (size_t)D);
        }
    return GD_OK;
}

/* ---- FLOP count --------------------------------------------------------------------------------------- */

double gd_cvae_train_flops(const gd_cvae_spec* s, int active) {
    double enc = 0, enc0 = 0, dec = 0;
    int D = s->h * s->w, nk = s->n * s->k;
    if (s->arch == GD_CVAE_MLP) {
        int in = D;
        for (int l = 0; l < s->n_enc; l++) {
            double macs = (double)in * s->enc[l];
            if (l == 0) enc0 = macs;
            enc += macs;
            in = s->enc[l];
        }
        enc += 2.0 * in * nk;
        in = s->k;
        for (int l = 0; l <= s->n_dec; l++) {
            int out = l < s->n_dec ? s->dec[l] : D;
            dec += (double)in * out;
            in = out;
        }
    } else {
        int c = 1, h = s->h, w = s->w, kc = s->kernel, L = s->n_ch;
        for (int l = 0; l < L; l++) {
            int oh = gd_model_conv_out(h, kc), ow = gd_model_conv_out(w, kc);
            double macs = (double)s->ch[l] * oh * ow * c * kc * kc;
            if (l == 0) enc0 = macs;
            enc += macs;
            c = s->ch[l], h = oh, w = ow;
        }
        enc += 2.0 * c * h * w * nk;
        int S = s->dec_start, side = S;
        c = s->ch[L - 1];
        dec += (double)s->k * c * S * S;
        for (int j = 0; j < L; j++) {
            int cout = s->ch[L - 1 - j];
            dec += (double)c * side * side * cout * kc * kc;
            c = cout, side *= 2;
        }
        dec += (double)D * c * s->out_kernel * s->out_kernel;
    }
    double fwd = enc + active * dec;
    return 2.0 * (3.0 * fwd - enc0);
}
