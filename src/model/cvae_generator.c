/* The adapter through which infer optimises (z, y) against an image: gd_generator (infer.h) over a gd_cvae. */
#include "gendec/infer.h"
#include "gendec/model.h"

static gd_status gen_decode(void* ctx, const float* z, const float* y, float* xf, int B, int want_dy, gd_error* err) {
    return gd_cvae_decode(ctx, z, y, xf, B, want_dy, err);
}

static gd_status gen_decode_backward(void* ctx, const float* dxf, float* dz, float* dy, int B, gd_error* err) {
    return gd_cvae_decode_backward(ctx, dxf, dz, dy, B, err);
}

static gd_status gen_encode_mean(void* ctx, const float* x, float* z, int B, gd_error* err) {
    return gd_cvae_encode(ctx, x, z, NULL, B, err);
}

gd_status gd_cvae_generator(gd_cvae* m, struct gd_generator* g, gd_error* err) {
    const gd_cvae_spec* s = gd_cvae_get_spec(m);
    int mb = gd_cvae_max_batch(m);
    if (gd_cvae_max_rows(m) < mb * s->n)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "create the model with max_rows = 0 (max_batch * n)",
                            "the generator needs max_rows >= max_batch * n = %d, the model has %d", mb * s->n,
                            gd_cvae_max_rows(m));
    g->ctx = m;
    g->n = s->n;
    g->k = s->k;
    g->npix = s->h * s->w;
    g->max_batch = mb;
    g->decode = gen_decode;
    g->decode_backward = gen_decode_backward;
    g->encode_mean = gen_encode_mean;
    return GD_OK;
}
