/* Philox4x32-10 counter-based random streams keyed by (seed, purpose, index). */
#include "gendec/core.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void gd_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
        uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

uint64_t gd_stream_id(uint32_t purpose, uint64_t index) {
    return ((uint64_t)(purpose & 0xFFu) << 56) | (index & 0x00FFFFFFFFFFFFFFull);
}

void gd_rng_init(gd_rng* rng, uint64_t seed, uint32_t purpose, uint64_t index) {
    rng->seed = seed;
    rng->stream = gd_stream_id(purpose, index);
    rng->counter = 0;
    rng->used = 4;
    rng->has_spare = 0;
    rng->spare = 0.0f;
}

uint32_t gd_rng_u32(gd_rng* rng) {
    if (rng->used >= 4) {
        uint32_t ctr[4] = {(uint32_t)rng->counter, (uint32_t)(rng->counter >> 32), (uint32_t)rng->stream,
                           (uint32_t)(rng->stream >> 32)};
        uint32_t key[2] = {(uint32_t)rng->seed, (uint32_t)(rng->seed >> 32)};
        gd_philox4x32(ctr, key, rng->buf);
        rng->counter++;
        rng->used = 0;
    }
    return rng->buf[rng->used++];
}

float gd_rng_uniform(gd_rng* rng) {
    return (float)(gd_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

uint32_t gd_rng_below(gd_rng* rng, uint32_t n) {
    uint32_t limit = UINT32_MAX - UINT32_MAX % n; /* values >= limit would bias the result */
    uint32_t r;
    do r = gd_rng_u32(rng);
    while (r >= limit);
    return r % n;
}

float gd_rng_normal(gd_rng* rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    /* u1 in (0, 1] so that log(u1) is finite. */
    double u1 = ((double)(gd_rng_u32(rng) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(gd_rng_u32(rng) >> 8) / 16777216.0;
    double r = sqrt(-2.0 * log(u1));
    double t = 6.283185307179586 * u2;
    rng->spare = (float)(r * sin(t));
    rng->has_spare = 1;
    return (float)(r * cos(t));
}

void gd_rng_fill_normal(gd_rng* rng, float* out, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) out[i] = scale * gd_rng_normal(rng);
}

void gd_rng_shuffle(gd_rng* rng, uint32_t* idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = gd_rng_below(rng, (uint32_t)i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
