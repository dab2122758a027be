/* Timing pieces the bench commands share: the process CPU clock and a generator wrapper that counts the decoder
 * passes and the time spent inside them. */
#include <string.h>
#include <time.h>

#include "cli.h"

double cli_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Adds the (row, component) pairs a decode (or the backward of the last decode) ran: every pair with want_dy,
 * else the pairs with y != 0 (the generator skips the others). */
static double pairs_run(const cli_timed_gen* t, const float* y, int all, int B) {
    double pairs = 0;
    for (size_t i = 0; i < (size_t)B * t->inner.n; i++) pairs += all || y[i] != 0.0f;
    return pairs;
}

static gd_status tg_decode(void* ctx, const float* z, const float* y, float* xf, int B, int want_dy, gd_error* err) {
    cli_timed_gen* t = ctx;
    double t0 = gd_now(), c0 = cli_cpu_seconds();
    gd_status st = t->inner.decode(t->inner.ctx, z, y, xf, B, want_dy, err);
    t->seconds += gd_now() - t0;
    t->cpu += cli_cpu_seconds() - c0;
    t->pairs_fwd += pairs_run(t, y, want_dy, B);
    t->last_y = y, t->last_all = want_dy;
    return st;
}

/* Backward to the inputs: the two products of dense_backward's din per layer, i.e. the forward's FLOP again. */
static gd_status tg_backward(void* ctx, const float* dxf, float* dz, float* dy, int B, gd_error* err) {
    cli_timed_gen* t = ctx;
    double t0 = gd_now(), c0 = cli_cpu_seconds();
    gd_status st = t->inner.decode_backward(t->inner.ctx, dxf, dz, dy, B, err);
    t->seconds += gd_now() - t0;
    t->cpu += cli_cpu_seconds() - c0;
    t->pairs_bwd += pairs_run(t, t->last_y, t->last_all, B);
    return st;
}

static gd_status tg_encode(void* ctx, const float* x, float* z, int B, gd_error* err) {
    cli_timed_gen* t = ctx;
    return t->inner.encode_mean(t->inner.ctx, x, z, B, err);
}

void cli_timed_gen_wrap(cli_timed_gen* t, const gd_generator* inner, gd_generator* out) {
    memset(t, 0, sizeof *t);
    t->inner = *inner;
    *out = *inner;
    out->ctx = t;
    out->decode = tg_decode;
    out->decode_backward = tg_backward;
    out->encode_mean = inner->encode_mean ? tg_encode : NULL;
}

void cli_timed_gen_reset(cli_timed_gen* t) { t->pairs_fwd = t->pairs_bwd = t->seconds = t->cpu = 0; }
