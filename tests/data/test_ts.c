/* Traffic signs: determinism, subranges, labels and classes per split (the novel sign only in "test"),
 * components summing (clipped) to the sign, the adaptive renderer equal to full supersampling,
 * anti-aliasing present, the view transform varying, background noise. */
#include <string.h>

#include "../../src/data/internal.h"
#include "gd_test.h"

int main(void) {
    gd_data_opts d;
    gd_data_opts_default(&d, GD_DATA_TRAFFIC_SIGNS);
    d.seed = 5;
    d.keep_parts = 1;
    d.ts.n_train = 30, d.ts.n_val = 9, d.ts.n_test = 8, d.ts.n_test_seen = 6;
    gd_dataset ds;
    gd_error err;
    CHECK_OK(gd_dataset_load(&d, &ds, NULL, &err), &err);
    const int n = 53, S = 64, hw = S * S;
    CHECK(ds.n == n && ds.h == S && ds.n_components == 4 && ds.n_classes == 4 && ds.parts != NULL);
    CHECK(!strcmp(ds.component_names[0], "circle") && !strcmp(ds.component_names[3], "right_arrow"));
    CHECK(!strcmp(ds.class_names[GD_TS_NO_LEFT_TURN], "no_left_turn"));
    gd_split tr, va, te, ts;
    CHECK_OK(gd_dataset_split(&ds, "train", &tr, &err), &err);
    CHECK_OK(gd_dataset_split(&ds, "validation", &va, &err), &err);
    CHECK_OK(gd_dataset_split(&ds, "test", &te, &err), &err);
    CHECK_OK(gd_dataset_split(&ds, "test_seen", &ts, &err), &err);
    CHECK(tr.count == 30 && va.start == 30 && te.start == 39 && te.count == 8 && ts.start == 47 && ts.count == 6);
    /* labels match the class; the novel sign appears only in test; every seen sign appears in train */
    int ok = 1, seen[4] = {0};
    for (int64_t i = 0; i < n; i++) {
        uint8_t want[4];
        gd_ts_sign_components(ds.classes[i], want);
        ok &= !memcmp(ds.labels + i * 4, want, 4);
        int in_test = i >= te.start && i < te.start + te.count;
        ok &= (ds.classes[i] == GD_TS_NO_LEFT_TURN) == in_test;
        if (i < tr.count) seen[ds.classes[i]]++;
    }
    CHECK(ok);
    CHECK(seen[GD_TS_LEFT_TURN] == 10 && seen[GD_TS_RIGHT_TURN] == 10 && seen[GD_TS_NO_RIGHT_TURN] == 10 &&
          seen[GD_TS_NO_LEFT_TURN] == 0);
    const uint8_t nlt[4] = {1, 1, 1, 0};
    CHECK(!memcmp(ds.labels + te.start * 4, nlt, 4));
    /* components sum (clipped) to the sign, exactly; present components are visible, absent ones zero
     * only in the label sense (their images exist but do not enter the sign) */
    int sums = 1, in01 = 1, visible = 1, partial = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int c = 0; c < 4; c++) {
            double m = 0;
            for (int k = 0; k < hw; k++) m += ds.parts[((size_t)i * 4 + c) * hw + k];
            visible &= m > 20; /* every component drawn has some area */
        }
        for (int k = 0; k < hw; k++) {
            float s = 0;
            for (int c = 0; c < 4; c++) s += ds.labels[i * 4 + c] * ds.parts[((size_t)i * 4 + c) * hw + k];
            float v = ds.images[(size_t)i * hw + k];
            sums &= v == (s < 1 ? s : 1);
            in01 &= v >= 0 && v <= 1;
            partial += v > 0.05f && v < 0.95f;
        }
    }
    CHECK(sums && in01 && visible);
    CHECK_MSG(partial > n * 50, "anti-aliased edges: %d grey pixels in %d images", partial, n);
    /* determinism and subranges */
    float* img = malloc(sizeof(float) * n * hw);
    float* parts = malloc(sizeof(float) * n * 4 * hw);
    uint8_t* lab = malloc(n * 4);
    int32_t* cls = malloc(sizeof(int32_t) * n);
    CHECK_OK(gd_ts_generate(&d.ts, d.seed, 0, n, img, lab, cls, parts, &err), &err);
    CHECK(!memcmp(img, ds.images, sizeof(float) * n * hw) && !memcmp(parts, ds.parts, sizeof(float) * n * 4 * hw));
    for (int first = 0; first < n; first += 11) {
        int cnt = first + 11 <= n ? 11 : n - first;
        CHECK_OK(gd_ts_generate(&d.ts, d.seed, first, cnt, img, lab, cls, NULL, &err), &err);
        CHECK(!memcmp(img, ds.images + (size_t)first * hw, sizeof(float) * cnt * hw));
        CHECK(!memcmp(lab, ds.labels + first * 4, cnt * 4) && !memcmp(cls, ds.classes + first, sizeof(int32_t) * cnt));
    }
    CHECK_OK(gd_ts_generate(&d.ts, d.seed + 1, 0, n, img, lab, cls, NULL, &err), &err);
    CHECK(memcmp(img, ds.images, sizeof(float) * n * hw) != 0);
    /* the adaptive renderer equals sampling every pixel */
    float* brute = malloc(sizeof(float) * hw);
    float* bparts = malloc(sizeof(float) * 4 * hw);
    float maxdiff = 0;
    for (int i = 0; i < 12; i++) {
        gd_ts_render_ex(&d.ts, d.seed, (uint64_t)i, i % 4, img, parts, 1);
        gd_ts_render_ex(&d.ts, d.seed, (uint64_t)i, i % 4, brute, bparts, 0);
        for (int k = 0; k < hw; k++) maxdiff = fmaxf(maxdiff, fabsf(img[k] - brute[k]));
        for (int k = 0; k < 4 * hw; k++) maxdiff = fmaxf(maxdiff, fabsf(parts[k] - bparts[k]));
    }
    CHECK_NEAR(maxdiff, 0, 0);
    /* the view changes from image to image: the circle's mass centre moves */
    double cx[2], cy[2];
    for (int i = 0; i < 2; i++) {
        gd_ts_render(&d.ts, d.seed, (uint64_t)(100 + i), 0, img, parts);
        double m = 0, sx = 0, sy = 0;
        for (int k = 0; k < hw; k++) m += parts[k], sx += parts[k] * (k % S), sy += parts[k] * (k / S);
        cx[i] = sx / m, cy[i] = sy / m;
    }
    CHECK(fabs(cx[0] - cx[1]) + fabs(cy[0] - cy[1]) > 0.1);
    /* without any transform range the sign is centred and symmetric: right turn = mirror of left turn */
    gd_ts_opts flat = d.ts;
    flat.rot_deg = 0, flat.shear = 0, flat.translate = 0, flat.scale_min = flat.scale_max = 0.9f;
    float* mir = malloc(sizeof(float) * hw);
    gd_ts_render(&flat, 1, 0, GD_TS_LEFT_TURN, img, NULL);
    gd_ts_render(&flat, 1, 1, GD_TS_RIGHT_TURN, mir, NULL);
    float md = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) md = fmaxf(md, fabsf(img[y * S + x] - mir[y * S + (S - 1 - x)]));
    CHECK_NEAR(md, 0, 1e-6);
    /* background noise: only where the sign is not fully on, still in [0, 1], deterministic */
    gd_ts_opts noisy = d.ts;
    noisy.noise_std = 0.2f;
    gd_ts_render(&noisy, 3, 4, GD_TS_RIGHT_TURN, img, parts);
    gd_ts_render(&d.ts, 3, 4, GD_TS_RIGHT_TURN, mir, NULL);
    int noise_ok = 1, noisy_px = 0;
    for (int k = 0; k < hw; k++) {
        noise_ok &= img[k] >= mir[k] && img[k] <= 1;
        if (mir[k] == 1) noise_ok &= img[k] == 1;
        noisy_px += img[k] > mir[k];
    }
    CHECK(noise_ok && noisy_px > hw / 2);
    /* other size and a configurable held-out sign */
    gd_dataset_free(&ds);
    d.ts.size = 32;
    d.ts.train_signs = (1u << GD_TS_LEFT_TURN) | (1u << GD_TS_RIGHT_TURN) | (1u << GD_TS_NO_LEFT_TURN);
    d.ts.test_signs = 1u << GD_TS_NO_RIGHT_TURN;
    CHECK_OK(gd_dataset_load(&d, &ds, NULL, &err), &err);
    CHECK(ds.h == 32 && ds.classes[39] == GD_TS_NO_RIGHT_TURN && ds.classes[0] == GD_TS_LEFT_TURN);
    gd_dataset_free(&ds);
    d.ts.test_signs = 0;
    CHECK(gd_dataset_load(&d, &ds, NULL, &err) == GD_EINVAL && ds.images == NULL);
    free(img), free(parts), free(lab), free(cls), free(brute), free(bparts), free(mir);
    return gd_test_done("test_ts");
}
