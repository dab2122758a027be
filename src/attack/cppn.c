/* CPPN rendering: a NEAT genome evaluated over every pixel of an H x W grid, node by node as vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/neat.h"

void gd_neat_render_free(gd_neat_render_ws* ws) {
    gd_free(ws->values);
    free(ws->ints);
    gd_free(ws->coords);
    memset(ws, 0, sizeof *ws);
}

/* Makes room for the coordinate planes of H x W, `nv` value floats and `ni` ints. */
static gd_status ws_reserve(gd_neat_render_ws* ws, int H, int W, size_t nv, size_t ni, gd_error* err) {
    size_t hw = (size_t)H * W;
    if (ws->h != H || ws->w != W || !ws->coords) {
        gd_free(ws->coords);
        ws->coords = gd_alloc(sizeof(float) * 4 * hw);
        if (!ws->coords) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (CPPN coordinates)");
        ws->h = H, ws->w = W;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float x = W > 1 ? -1.0f + 2.0f * (float)j / (float)(W - 1) : 0.0f;
                float y = H > 1 ? -1.0f + 2.0f * (float)i / (float)(H - 1) : 0.0f;
                size_t k = (size_t)i * W + j;
                ws->coords[k] = x;
                ws->coords[hw + k] = y;
                ws->coords[2 * hw + k] = sqrtf(x * x + y * y);
                ws->coords[3 * hw + k] = 1.0f;
            }
    }
    if (nv > ws->values_cap) {
        gd_free(ws->values);
        size_t cap = nv + nv / 2;
        ws->values = gd_alloc(sizeof(float) * cap);
        ws->values_cap = ws->values ? cap : 0;
        if (!ws->values) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (CPPN values)");
    }
    if (ni > ws->ints_cap) {
        free(ws->ints);
        size_t cap = ni + ni / 2 + 16;
        ws->ints = malloc(sizeof(int) * cap);
        ws->ints_cap = ws->ints ? cap : 0;
        if (!ws->ints) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (CPPN workspace)");
    }
    return GD_OK;
}

static inline float clamp60(float z) { return z < -60.0f ? -60.0f : z > 60.0f ? 60.0f : z; }

/* v[k] = act(v[k]) for k < n, with neat-python's definitions (see neat.h). */
static void activate(int act, float* v, size_t n) {
    switch (act) {
    case GD_NEAT_ACT_SIGMOID:
        for (size_t k = 0; k < n; k++) v[k] = 1.0f / (1.0f + expf(-clamp60(5.0f * v[k])));
        break;
    case GD_NEAT_ACT_TANH:
        for (size_t k = 0; k < n; k++) v[k] = tanhf(clamp60(2.5f * v[k]));
        break;
    case GD_NEAT_ACT_SIN:
        for (size_t k = 0; k < n; k++) v[k] = sinf(clamp60(5.0f * v[k]));
        break;
    case GD_NEAT_ACT_GAUSS:
        for (size_t k = 0; k < n; k++) {
            float z = v[k] < -3.4f ? -3.4f : v[k] > 3.4f ? 3.4f : v[k];
            v[k] = expf(-5.0f * z * z);
        }
        break;
    case GD_NEAT_ACT_ABS:
        for (size_t k = 0; k < n; k++) v[k] = fabsf(v[k]);
        break;
    case GD_NEAT_ACT_RELU:
        for (size_t k = 0; k < n; k++) v[k] = v[k] > 0.0f ? v[k] : 0.0f;
        break;
    case GD_NEAT_ACT_COS:
        for (size_t k = 0; k < n; k++) v[k] = cosf(clamp60(5.0f * v[k]));
        break;
    case GD_NEAT_ACT_SQUARE:
        for (size_t k = 0; k < n; k++) v[k] = v[k] * v[k];
        break;
    case GD_NEAT_ACT_CLAMPED:
        for (size_t k = 0; k < n; k++) v[k] = v[k] < -1.0f ? -1.0f : v[k] > 1.0f ? 1.0f : v[k];
        break;
    default: /* identity */
        break;
    }
}

gd_status gd_neat_render(const gd_neat_genome* g, const gd_neat_params* p, int H, int W, gd_neat_render_ws* ws,
                         float* out, gd_error* err) {
    if (H < 1 || W < 1 || (size_t)H * W > (1u << 26))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "CPPN image size %d x %d is out of range", H, W);
    int n = g->n_nodes, m = g->n_conns;
    int o = gd_neat_genome_find_node(g, GD_NEAT_ID_OUTPUT);
    if (o < 0 || n < GD_NEAT_N_FIXED)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT genome %lld has no output node", (long long)g->key);
    size_t hw = (size_t)H * W;
    gd_status s = ws_reserve(ws, H, W, (size_t)n * hw, 4 * (size_t)n + 2 * (size_t)m, err);
    if (s) return s;
    int *req = ws->ints, *indeg = req + n, *queue = indeg + n, *src = queue + n, *dst = src + m;
    for (int c = 0; c < m; c++) {
        src[c] = gd_neat_genome_find_node(g, g->conns[c].in);
        dst[c] = gd_neat_genome_find_node(g, g->conns[c].out);
        if (src[c] < 0 || dst[c] < 0)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT genome %lld: connection to an unknown node",
                                (long long)g->key);
    }
    /* The nodes the output depends on through enabled connections. */
    memset(req, 0, sizeof(int) * (size_t)n);
    req[o] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int c = 0; c < m; c++)
            if (g->conns[c].enabled && req[dst[c]] && !req[src[c]]) req[src[c]] = changed = 1;
    }
    /* Kahn's order over the required computed nodes; inputs are ready from the start. */
    memset(indeg, 0, sizeof(int) * (size_t)n);
    for (int c = 0; c < m; c++)
        if (g->conns[c].enabled && req[dst[c]] && g->nodes[src[c]].type >= GD_NEAT_HIDDEN) indeg[dst[c]]++;
    int head = 0, tail = 0, n_req = 0;
    for (int i = 0; i < n; i++)
        if (req[i] && g->nodes[i].type >= GD_NEAT_HIDDEN) {
            n_req++;
            if (!indeg[i]) queue[tail++] = i;
        }
    while (head < tail) {
        int v = queue[head++];
        const gd_neat_node* nd = &g->nodes[v];
        float* val = ws->values + (size_t)v * hw;
        memset(val, 0, sizeof(float) * hw);
        for (int c = 0; c < m; c++) {
            if (dst[c] != v || !g->conns[c].enabled) continue;
            const gd_neat_node* sn = &g->nodes[src[c]];
            const float* in = sn->type >= GD_NEAT_HIDDEN ? ws->values + (size_t)src[c] * hw
                                                         : ws->coords + (size_t)sn->id * hw;
            float w = g->conns[c].weight;
            for (size_t k = 0; k < hw; k++) val[k] += w * in[k];
        }
        float b = nd->bias, r = nd->response;
        for (size_t k = 0; k < hw; k++) val[k] = b + r * val[k];
        activate(nd->act, val, hw);
        for (int c = 0; c < m; c++)
            if (src[c] == v && g->conns[c].enabled && req[dst[c]] && --indeg[dst[c]] == 0) queue[tail++] = dst[c];
    }
    if (tail != n_req)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT genome %lld has a cycle", (long long)g->key);
    const float* v = ws->values + (size_t)o * hw;
    if (p->squash == GD_NEAT_SQUASH_SIGMOID) {
        for (size_t k = 0; k < hw; k++) out[k] = 1.0f / (1.0f + expf(-clamp60(v[k])));
    } else {
        for (size_t k = 0; k < hw; k++) out[k] = v[k] < 0.0f ? 0.0f : v[k] > 1.0f ? 1.0f : v[k];
    }
    /* NaN cannot come out of the activations, but weights near the clamp can overflow a sum. */
    for (size_t k = 0; k < hw; k++)
        if (!(out[k] >= 0.0f && out[k] <= 1.0f)) out[k] = 0.0f;
    return GD_OK;
}
