/* Philox known answers, reproducibility, stream independence and basic distribution checks. */
#include "gendec/core.h"
#include "gd_test.h"

#include <string.h>

int main(void) {
    /* Known-answer vectors of Random123 (kat_vectors, philox4x32 10 rounds). */
    uint32_t out[4];
    gd_philox4x32((uint32_t[4]){0, 0, 0, 0}, (uint32_t[2]){0, 0}, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
    gd_philox4x32((uint32_t[4]){0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                  (uint32_t[2]){0xffffffffu, 0xffffffffu}, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu);
    gd_philox4x32((uint32_t[4]){0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                  (uint32_t[2]){0xa4093822u, 0x299f31d0u}, out);
    CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u && out[3] == 0x24126ea1u);

    /* Same (seed, purpose, index): same numbers, whatever else was drawn in between. */
    gd_rng a, b, c;
    gd_rng_init(&a, 42, GD_STREAM_NOISE, 7);
    gd_rng_init(&c, 42, GD_STREAM_NOISE, 8);
    for (int i = 0; i < 100; i++) (void)gd_rng_u32(&c);
    gd_rng_init(&b, 42, GD_STREAM_NOISE, 7);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= gd_rng_u32(&a) == gd_rng_u32(&b);
    CHECK(same);

    /* Different index, purpose or seed: different streams (no shared prefix). */
    gd_rng s[4];
    gd_rng_init(&s[0], 42, GD_STREAM_NOISE, 7);
    gd_rng_init(&s[1], 42, GD_STREAM_NOISE, 8);
    gd_rng_init(&s[2], 42, GD_STREAM_DATA, 7);
    gd_rng_init(&s[3], 43, GD_STREAM_NOISE, 7);
    uint32_t first[4][64];
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 64; i++) first[k][i] = gd_rng_u32(&s[k]);
    for (int k = 1; k < 4; k++) {
        int equal = 0;
        for (int i = 0; i < 64; i++) equal += first[0][i] == first[k][i];
        CHECK_MSG(equal <= 1, "stream %d shares %d of 64 words with stream 0", k, equal);
    }
    CHECK(gd_stream_id(GD_STREAM_NOISE, 7) != gd_stream_id(GD_STREAM_DATA, 7));

    /* Independence: the correlation of two streams' uniforms is near zero. */
    gd_rng u, v;
    gd_rng_init(&u, 1, GD_STREAM_INFER, 0);
    gd_rng_init(&v, 1, GD_STREAM_INFER, 1);
    const int n = 200000;
    double su = 0, sv = 0, suu = 0, svv = 0, suv = 0;
    for (int i = 0; i < n; i++) {
        double x = gd_rng_uniform(&u), y = gd_rng_uniform(&v);
        CHECK(x >= 0.0 && x < 1.0);
        su += x, sv += y, suu += x * x, svv += y * y, suv += x * y;
    }
    double mu = su / n, mv = sv / n;
    double corr = (suv / n - mu * mv) / sqrt((suu / n - mu * mu) * (svv / n - mv * mv));
    CHECK_NEAR(mu, 0.5, 0.005);
    CHECK_NEAR(suu / n - mu * mu, 1.0 / 12.0, 0.002);
    CHECK_NEAR(corr, 0.0, 0.01);

    /* Normals: mean 0, variance 1, the fourth moment 3. */
    gd_rng g;
    gd_rng_init(&g, 5, GD_STREAM_NOISE, 0);
    double m1 = 0, m2 = 0, m4 = 0;
    for (int i = 0; i < n; i++) {
        double x = gd_rng_normal(&g);
        m1 += x, m2 += x * x, m4 += x * x * x * x;
    }
    CHECK_NEAR(m1 / n, 0.0, 0.01);
    CHECK_NEAR(m2 / n, 1.0, 0.02);
    CHECK_NEAR(m4 / n, 3.0, 0.1);

    /* below(): every value hit, none out of range; shuffle is a permutation. */
    int hits[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint32_t r = gd_rng_below(&g, 7);
        CHECK(r < 7);
        if (r < 7) hits[r]++;
    }
    for (int k = 0; k < 7; k++) CHECK(hits[k] > 850 && hits[k] < 1150);
    uint32_t idx[100];
    for (uint32_t i = 0; i < 100; i++) idx[i] = i;
    gd_rng_shuffle(&g, idx, 100);
    int seen[100] = {0}, moved = 0;
    for (uint32_t i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    int perm = 1;
    for (int i = 0; i < 100; i++) perm &= seen[i] == 1;
    CHECK(perm);
    CHECK(moved > 80);

    /* The state round-trips by plain copy (what a checkpoint stores). */
    gd_rng p, q;
    gd_rng_init(&p, 9, GD_STREAM_SHUFFLE, 3);
    for (int i = 0; i < 13; i++) (void)gd_rng_normal(&p);
    memcpy(&q, &p, sizeof p);
    CHECK(gd_rng_normal(&p) == gd_rng_normal(&q) && gd_rng_u32(&p) == gd_rng_u32(&q));

    return gd_test_done("core/rng");
}
