/* The parameter block: named views into one contiguous allocation, plus deterministic initialisation. */
#include <math.h>
#include <string.h>

#include "gendec/nn.h"

void gd_params_init(gd_params* p) { memset(p, 0, sizeof *p); }

/* Grows the view array so one more view fits. */
static gd_status grow_views(gd_params* p, gd_error* err) {
    if (p->n_views < p->cap_views) return GD_OK;
    int cap = p->cap_views ? 2 * p->cap_views : 32;
    gd_param_view* v = gd_alloc(sizeof *v * (size_t)cap);
    if (!v) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for %d parameter views", cap);
    if (p->n_views) memcpy(v, p->views, sizeof *v * (size_t)p->n_views);
    gd_free(p->views);
    p->views = v;
    p->cap_views = cap;
    return GD_OK;
}

gd_status gd_params_add(gd_params* p, const char* name, int ndim, const int* shape, size_t* offset,
                        gd_error* err) {
    const char* hint = "this is a bug in the model's layout code";
    if (p->data)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "parameter '%s' added after gd_params_alloc", name);
    if (!name || !*name || strlen(name) >= GD_PARAMS_NAME_MAX)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "parameter name '%s' is empty or longer than %d",
                            name ? name : "", GD_PARAMS_NAME_MAX - 1);
    if (gd_params_find(p, name) >= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "parameter '%s' added twice", name);
    if (ndim < 1 || ndim > GD_PARAMS_MAX_DIMS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "parameter '%s' has %d dimensions (1..%d allowed)",
                            name, ndim, GD_PARAMS_MAX_DIMS);
    gd_param_view v = {.ndim = ndim, .offset = p->total, .count = 1};
    strcpy(v.name, name);
    for (int d = 0; d < GD_PARAMS_MAX_DIMS; d++) v.shape[d] = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "parameter '%s' has extent %d in dimension %d",
                                name, shape[d], d);
        v.shape[d] = shape[d];
        if (gd_mul_overflows(v.count, (size_t)shape[d], &v.count))
            return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "parameter '%s' is too large", name);
    }
    if (p->total + v.count < p->total || (p->total + v.count) > SIZE_MAX / sizeof(float))
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "parameter block too large at '%s'", name);
    gd_status st = grow_views(p, err);
    if (st) return st;
    p->views[p->n_views++] = v;
    p->total += v.count;
    if (offset) *offset = v.offset;
    return GD_OK;
}

gd_status gd_params_alloc(gd_params* p, gd_error* err) {
    if (p->data) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "parameter block allocated twice");
    if (p->total == 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "add parameters before allocating",
                            "parameter block is empty");
    p->data = gd_alloc(p->total * sizeof(float));
    p->grad = gd_alloc(p->total * sizeof(float));
    if (!p->data || !p->grad) {
        gd_free(p->data), gd_free(p->grad);
        p->data = p->grad = NULL;
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory for %zu parameters (x2)", p->total);
    }
    return GD_OK;
}

int gd_params_find(const gd_params* p, const char* name) {
    for (int i = 0; i < p->n_views; i++)
        if (!strcmp(p->views[i].name, name)) return i;
    return -1;
}

const gd_param_view* gd_params_view(const gd_params* p, const char* name) {
    int i = gd_params_find(p, name);
    return i < 0 ? NULL : &p->views[i];
}

float* gd_params_data(gd_params* p, const char* name) {
    int i = gd_params_find(p, name);
    return i < 0 || !p->data ? NULL : p->data + p->views[i].offset;
}

float* gd_params_grad(gd_params* p, const char* name) {
    int i = gd_params_find(p, name);
    return i < 0 || !p->grad ? NULL : p->grad + p->views[i].offset;
}

size_t gd_params_count(const gd_params* p) { return p->total; }

void gd_params_zero_grad(gd_params* p) {
    if (p->grad) memset(p->grad, 0, p->total * sizeof(float));
}

void gd_params_free(gd_params* p) {
    gd_free(p->views);
    gd_free(p->data);
    gd_free(p->grad);
    memset(p, 0, sizeof *p);
}

void gd_param_fans(const gd_param_view* v, int* fan_in, int* fan_out) {
    if (v->ndim < 2) {
        *fan_in = *fan_out = v->shape[0];
        return;
    }
    int receptive = 1;
    for (int d = 2; d < v->ndim; d++) receptive *= v->shape[d];
    *fan_in = v->shape[1] * receptive;
    *fan_out = v->shape[0] * receptive;
}

/* Standard deviation (normal kinds) or bound (uniform kinds) of an initialisation. */
static double init_scale(gd_init_kind kind, int fan_in, int fan_out, double scale) {
    switch (kind) {
    case GD_INIT_HE_UNIFORM: return scale * sqrt(6.0 / fan_in);
    case GD_INIT_HE_NORMAL: return scale * sqrt(2.0 / fan_in);
    case GD_INIT_GLOROT_UNIFORM: return scale * sqrt(6.0 / (fan_in + fan_out));
    case GD_INIT_GLOROT_NORMAL: return scale * sqrt(2.0 / (fan_in + fan_out));
    case GD_INIT_TORCH_DEFAULT: return scale / sqrt((double)fan_in);
    default: return scale;
    }
}

gd_status gd_params_fill(gd_params* p, int index, gd_init_kind kind, int fan_in, int fan_out, float scale,
                         uint64_t seed, gd_error* err) {
    if (!p->data || index < 0 || index >= p->n_views)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "allocate the block and pass a valid view number",
                            "cannot initialise parameter view %d of %d", index, p->n_views);
    const gd_param_view* v = &p->views[index];
    int fi, fo;
    gd_param_fans(v, &fi, &fo);
    if (fan_in > 0) fi = fan_in;
    if (fan_out > 0) fo = fan_out;
    float* x = p->data + v->offset;
    float s = (float)init_scale(kind, fi, fo, scale);
    gd_rng rng;
    gd_rng_init(&rng, seed, GD_STREAM_INIT, (uint64_t)index);
    switch (kind) {
    case GD_INIT_ZERO:
        memset(x, 0, v->count * sizeof(float));
        break;
    case GD_INIT_CONST:
        for (size_t i = 0; i < v->count; i++) x[i] = scale;
        break;
    case GD_INIT_NORMAL:
    case GD_INIT_HE_NORMAL:
    case GD_INIT_GLOROT_NORMAL:
        gd_rng_fill_normal(&rng, x, v->count, s);
        break;
    case GD_INIT_UNIFORM:
    case GD_INIT_HE_UNIFORM:
    case GD_INIT_GLOROT_UNIFORM:
    case GD_INIT_TORCH_DEFAULT:
        for (size_t i = 0; i < v->count; i++) x[i] = s * (2.0f * gd_rng_uniform(&rng) - 1.0f);
        break;
    default:
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "unknown initialisation kind %d", (int)kind);
    }
    return GD_OK;
}
