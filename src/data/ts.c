/* Traffic signs (paper §3.3): four signs built from four components - circle (ring), slash, left arrow,
 * right arrow - drawn procedurally with a random affine view transform per image and anti-aliased by
 * supersampling. The sign image is min(sum of its components' images, 1): exactly the additive model the
 * decoder assumes, so the per-component images are a true decomposition of every sign. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char* sign_names[GD_TS_N_SIGNS] = {"left_turn", "right_turn", "no_left_turn", "no_right_turn"};
static const char* component_names[GD_TS_N_COMPONENTS] = {"circle", "slash", "left_arrow", "right_arrow"};
static const uint8_t sign_components[GD_TS_N_SIGNS][GD_TS_N_COMPONENTS] = {
    {1, 0, 1, 0}, {1, 0, 0, 1}, {1, 1, 1, 0}, {1, 1, 0, 1}};

const char* gd_ts_sign_name(int sign) { return sign >= 0 && sign < GD_TS_N_SIGNS ? sign_names[sign] : "unknown"; }

void gd_ts_sign_components(int sign, uint8_t out[GD_TS_N_COMPONENTS]) {
    for (int c = 0; c < GD_TS_N_COMPONENTS; c++) out[c] = sign >= 0 && sign < GD_TS_N_SIGNS ? sign_components[sign][c] : 0;
}

/* ---- the canonical sign: [-1, 1]^2, y pointing down ------------------------------------------------
 * Every shape is a union of convex pieces; sd() returns max over a piece's half-planes of the signed
 * distance (exact inside, a lower bound of the distance outside), min over pieces. */
#define K 0.89f
static const float ring_in = 0.74f * K, ring_out = 0.94f * K;
static const float slash_half_width = 0.085f * K, slash_half_len = 0.80f * K;

static float sd_rect(float x, float y, float x0, float x1, float y0, float y1) {
    float dx = fmaxf(x0 - x, x - x1), dy = fmaxf(y0 - y, y - y1);
    return fmaxf(dx, dy);
}

/* Half-plane n.p <= c with unit outward normal n. */
typedef struct {
    float nx, ny, c;
} halfplane;

/* The arrow head of the left arrow (a triangle: tip, base bottom, base top) as three half-planes. */
typedef struct {
    halfplane head[3];
} shapes;

static shapes shapes_init(void) {
    shapes sh;
    const float v[3][2] = {{-0.62f * K, -0.11f * K}, {-0.26f * K, 0.20f * K}, {-0.26f * K, -0.42f * K}};
    for (int e = 0; e < 3; e++) {
        const float *a = v[e], *b = v[(e + 1) % 3], *o = v[(e + 2) % 3];
        float nx = b[1] - a[1], ny = -(b[0] - a[0]), l = sqrtf(nx * nx + ny * ny);
        nx /= l, ny /= l;
        float c = nx * a[0] + ny * a[1];
        if (nx * o[0] + ny * o[1] > c) nx = -nx, ny = -ny, c = -c; /* make the normal point outward */
        sh.head[e] = (halfplane){nx, ny, c};
    }
    return sh;
}

/* The left arrow; the right arrow is its mirror image (x -> -x). */
static float sd_left_arrow(const shapes* sh, float x, float y) {
    float stem = sd_rect(x, y, 0.04f * K, 0.22f * K, -0.20f * K, 0.58f * K);
    float bar = sd_rect(x, y, -0.28f * K, 0.22f * K, -0.20f * K, -0.02f * K);
    float tri = -1e30f;
    for (int e = 0; e < 3; e++) tri = fmaxf(tri, sh->head[e].nx * x + sh->head[e].ny * y - sh->head[e].c);
    return fminf(stem, fminf(bar, tri));
}

static float sd_component(const shapes* sh, int c, float x, float y) {
    switch (c) {
    case GD_TS_CIRCLE: {
        float r = sqrtf(x * x + y * y);
        return fmaxf(r - ring_out, ring_in - r);
    }
    case GD_TS_SLASH: { /* from top-left to bottom-right */
        const float s = 0.70710678f;
        float t = (x + y) * s, n = (y - x) * s;
        return fmaxf(fabsf(n) - slash_half_width, fabsf(t) - slash_half_len);
    }
    case GD_TS_LEFT_ARROW: return sd_left_arrow(sh, x, y);
    default: return sd_left_arrow(sh, -x, y);
    }
}

/* The random view of image `index`: q = M p + t maps canonical p to normalised image coordinates q
 * ([-1, 1]^2); p = Minv (q - t). */
typedef struct {
    float m[4], minv[4]; /* row-major 2 x 2 */
    float tx, ty;
    float radius_per_px; /* how far (canonical units) a point moves per image pixel at most: sigma_max(Minv) */
} view;

static view draw_view(const gd_ts_opts* o, gd_rng* r) {
    float th = (2 * gd_rng_uniform(r) - 1) * o->rot_deg * (float)(M_PI / 180.0);
    float sx = o->scale_min + gd_rng_uniform(r) * (o->scale_max - o->scale_min);
    float sy = o->scale_min + gd_rng_uniform(r) * (o->scale_max - o->scale_min);
    float k = (2 * gd_rng_uniform(r) - 1) * o->shear;
    float tx = (2 * gd_rng_uniform(r) - 1) * o->translate, ty = (2 * gd_rng_uniform(r) - 1) * o->translate;
    /* M = R(th) [[1, k], [0, 1]] diag(sx, sy) */
    float c = cosf(th), s = sinf(th);
    float m00 = c * sx, m01 = (c * k - s) * sy, m10 = s * sx, m11 = (s * k + c) * sy;
    float det = m00 * m11 - m01 * m10;
    view v = {{m00, m01, m10, m11}, {m11 / det, -m01 / det, -m10 / det, m00 / det}, tx, ty, 0};
    double a = v.minv[0], b = v.minv[1], cc = v.minv[2], d = v.minv[3];
    double f2 = a * a + b * b + cc * cc + d * d, dt = a * d - b * cc;
    double disc = f2 * f2 - 4 * dt * dt;
    double smax = sqrt(0.5 * (f2 + sqrt(disc > 0 ? disc : 0)));
    v.radius_per_px = (float)(smax * 2.0 / o->size);
    return v;
}

/* A canonical bounding box [x0, x1] x [y0, y1] of component c. */
static void component_box(int c, float b[4]) {
    const float sl = (slash_half_len + slash_half_width) * 0.70710678f;
    switch (c) {
    case GD_TS_CIRCLE: b[0] = -ring_out, b[1] = ring_out, b[2] = -ring_out, b[3] = ring_out; break;
    case GD_TS_SLASH: b[0] = -sl, b[1] = sl, b[2] = -sl, b[3] = sl; break;
    case GD_TS_LEFT_ARROW: b[0] = -0.62f * K, b[1] = 0.22f * K, b[2] = -0.42f * K, b[3] = 0.58f * K; break;
    default: b[0] = -0.22f * K, b[1] = 0.62f * K, b[2] = -0.42f * K, b[3] = 0.58f * K; break;
    }
}

/* Renders with or without the shortcuts (adaptive = 1): pixels outside a component's transformed bounding
 * box take 0, and pixels whose centre lies deeper than the pixel's reach inside or outside a component take
 * 1 or 0 without sampling. Both are exact: the result equals sampling every pixel. */
void gd_ts_render_ex(const gd_ts_opts* o, uint64_t seed, uint64_t index, int sign, float* img, float* parts,
                     int adaptive) {
    const shapes sh = shapes_init();
    gd_rng r;
    gd_rng_init(&r, seed, GD_STREAM_DATA, index);
    view v = draw_view(o, &r);
    const int n = o->size, ss = o->supersample > 0 ? o->supersample : 1;
    const float px = 2.0f / (float)n, reach = v.radius_per_px * 0.70710678f * 1.01f + 1e-5f;
    const float inv_ss2 = 1.0f / (float)(ss * ss);
    memset(img, 0, sizeof(float) * n * n);
    if (parts) memset(parts, 0, sizeof(float) * 4 * n * n);
    for (int c = 0; c < GD_TS_N_COMPONENTS; c++) {
        int active = sign_components[sign][c];
        if (!active && !parts) continue;
        float* out = parts ? parts + (size_t)c * n * n : NULL;
        int y0 = 0, y1 = n - 1, x0 = 0, x1 = n - 1;
        if (adaptive) { /* the image-space box of the transformed canonical box, one pixel of margin */
            float b[4], umin = 1e30f, umax = -1e30f, wmin = 1e30f, wmax = -1e30f;
            component_box(c, b);
            for (int k = 0; k < 4; k++) {
                float X = b[k & 1], Y = b[2 + (k >> 1)];
                float u = (v.m[0] * X + v.m[1] * Y + v.tx + 1) / px - 0.5f;
                float w = (v.m[2] * X + v.m[3] * Y + v.ty + 1) / px - 0.5f;
                umin = fminf(umin, u), umax = fmaxf(umax, u), wmin = fminf(wmin, w), wmax = fmaxf(wmax, w);
            }
            x0 = (int)floorf(umin) - 2, x1 = (int)ceilf(umax) + 2, y0 = (int)floorf(wmin) - 2, y1 = (int)ceilf(wmax) + 2;
            x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > n - 1 ? n - 1 : x1, y1 = y1 > n - 1 ? n - 1 : y1;
        }
        for (int yy = y0; yy <= y1; yy++)
            for (int xx = x0; xx <= x1; xx++) {
                float cov;
                float d = 0;
                if (adaptive) {
                    float qx = (xx + 0.5f) * px - 1 - v.tx, qy = (yy + 0.5f) * px - 1 - v.ty;
                    d = sd_component(&sh, c, v.minv[0] * qx + v.minv[1] * qy, v.minv[2] * qx + v.minv[3] * qy);
                }
                if (adaptive && d > reach)
                    cov = 0;
                else if (adaptive && d < -reach)
                    cov = 1;
                else {
                    int hits = 0;
                    for (int sy = 0; sy < ss; sy++)
                        for (int sx = 0; sx < ss; sx++) {
                            float ux = (xx + (sx + 0.5f) / ss) * px - 1 - v.tx, uy = (yy + (sy + 0.5f) / ss) * px - 1 - v.ty;
                            hits += sd_component(&sh, c, v.minv[0] * ux + v.minv[1] * uy, v.minv[2] * ux + v.minv[3] * uy) <= 0;
                        }
                    cov = hits * inv_ss2;
                }
                if (out) out[yy * n + xx] = cov;
                if (active) img[yy * n + xx] += cov;
            }
    }
    for (int k = 0; k < n * n; k++) img[k] = img[k] < 1 ? img[k] : 1;
    if (o->noise_std > 0)
        for (int k = 0; k < n * n; k++) {
            float e = fabsf(gd_rng_normal(&r)) * o->noise_std, s = img[k];
            float vv = s + (1 - s) * e;
            img[k] = vv < 1 ? vv : 1;
        }
}

void gd_ts_render(const gd_ts_opts* o, uint64_t seed, uint64_t index, int sign, float* img, float* parts) {
    gd_ts_render_ex(o, seed, index, sign, img, parts, 1);
}

/* The signs in mask, in order; returns their number. */
static int signs_of(uint32_t mask, int out[GD_TS_N_SIGNS]) {
    int k = 0;
    for (int s = 0; s < GD_TS_N_SIGNS; s++)
        if (mask & (1u << s)) out[k++] = s;
    return k;
}

int gd_ts_sign_of(const gd_ts_opts* o, int64_t index, int64_t* split_start_out) {
    int tr[GD_TS_N_SIGNS], te[GD_TS_N_SIGNS];
    int ntr = signs_of(o->train_signs, tr), nte = signs_of(o->test_signs, te);
    int64_t b1 = o->n_train, b2 = b1 + o->n_val, b3 = b2 + o->n_test;
    int64_t start = index < b1 ? 0 : index < b2 ? b1 : index < b3 ? b2 : b3;
    if (split_start_out) *split_start_out = start;
    if (start == b2) return nte ? te[(index - start) % nte] : 0;
    return ntr ? tr[(index - start) % ntr] : 0;
}

gd_status gd_ts_generate(const gd_ts_opts* o, uint64_t seed, int64_t first, int64_t count, float* images,
                         uint8_t* labels, int32_t* classes, float* parts, gd_error* err) {
    int tmp[GD_TS_N_SIGNS];
    if (o->size < 4 || o->size > 1024 || o->supersample < 1 || o->supersample > 16 || o->scale_min <= 0 ||
        o->scale_max < o->scale_min || o->rot_deg < 0 || o->shear < 0 || o->translate < 0 || o->noise_std < 0 ||
        !signs_of(o->train_signs & 15u, tmp) || !signs_of(o->test_signs & 15u, tmp))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0,
                            "size 4..1024, supersample 1..16, 0 < scale_min <= scale_max, non-negative ranges, "
                            "non-empty train and test sign sets",
                            "traffic signs: impossible options");
    const size_t hw = (size_t)o->size * o->size;
    for (int64_t i = 0; i < count; i++) {
        int64_t g = first + i;
        int sign = gd_ts_sign_of(o, g, NULL);
        gd_ts_render(o, seed, (uint64_t)g, sign, images + i * hw, parts ? parts + i * 4 * hw : NULL);
        for (int c = 0; c < GD_TS_N_COMPONENTS; c++) labels[i * 4 + c] = sign_components[sign][c];
        if (classes) classes[i] = sign;
    }
    return GD_OK;
}

gd_status gd_data_make_ts(const gd_data_opts* opts, gd_dataset* ds, gd_error* err) {
    const gd_ts_opts* o = &opts->ts;
    if (o->n_train < 0 || o->n_val < 0 || o->n_test < 0 || o->n_test_seen < 0 ||
        o->n_train + o->n_val + o->n_test + o->n_test_seen <= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "traffic signs: negative or zero split sizes");
    int64_t n = o->n_train + o->n_val + o->n_test + o->n_test_seen;
    gd_status s = gd_dataset_alloc(ds, n, o->size, o->size, GD_TS_N_COMPONENTS, opts->keep_parts, err);
    if (s) return s;
    s = gd_ts_generate(o, opts->seed, 0, n, ds->images, ds->labels, ds->classes, ds->parts, err);
    if (s) {
        gd_dataset_free(ds);
        return s;
    }
    snprintf(ds->name, sizeof ds->name, "traffic_signs");
    ds->n_classes = GD_TS_N_SIGNS;
    for (int c = 0; c < GD_TS_N_COMPONENTS; c++) snprintf(ds->component_names[c], GD_DATA_NAME_LEN, "%s", component_names[c]);
    for (int c = 0; c < GD_TS_N_SIGNS; c++) snprintf(ds->class_names[c], GD_DATA_NAME_LEN, "%s", sign_names[c]);
    int64_t off = 0;
    gd_dataset_add_split(ds, "train", off, o->n_train, NULL), off += o->n_train;
    gd_dataset_add_split(ds, "validation", off, o->n_val, NULL), off += o->n_val;
    gd_dataset_add_split(ds, "test", off, o->n_test, NULL), off += o->n_test;
    gd_dataset_add_split(ds, "test_seen", off, o->n_test_seen, NULL);
    snprintf(ds->source, sizeof ds->source,
             "generated: traffic_signs size=%d rot_deg=%g scale=[%g,%g] shear=%g translate=%g noise_std=%g "
             "supersample=%d train_signs=0x%x test_signs=0x%x n_train=%lld n_val=%lld n_test=%lld n_test_seen=%lld "
             "seed=%llu; splits train, validation, test (novel signs), test_seen; image i uses stream (seed, data, "
             "i); signs cycle within each split",
             o->size, o->rot_deg, o->scale_min, o->scale_max, o->shear, o->translate, o->noise_std, o->supersample,
             o->train_signs, o->test_signs, (long long)o->n_train, (long long)o->n_val, (long long)o->n_test,
             (long long)o->n_test_seen, (unsigned long long)opts->seed);
    return GD_OK;
}
