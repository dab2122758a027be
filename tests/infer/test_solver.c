/* The Eq. 3 solver and the decision rule on a hand-made linear generator: gradients against finite
 * differences, recovery of a known composition, noise rejection, ambiguous enumeration, refinement, top3,
 * chunking independence, restarts, the trace, and bad inputs. */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gen_linear.h"
#include "gendec/infer.h"

enum { N = 4, K = 2, NPIX = 60, MAXB = 64 };

/* Central-difference check of dF/dz and dF/dy for one norm/scale. */
static void check_gradient(gd_generator* gen, gd_infer_norm norm, gd_infer_scale scale) {
    gd_error err;
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.norm = norm;
    o.scale = scale;
    o.c = 0.05f;
    gd_infer* s = NULL;
    CHECK_OK(gd_infer_create(&s, gen, &o, &err), &err);
    if (!s) return;
    float x[2 * NPIX], z[2 * N * K], y[2 * N], dz[2 * N * K], dy[2 * N], F[2], Fp[2], Fm[2];
    unsigned seed = 7;
    for (int j = 0; j < 2 * NPIX; j++) {
        seed = seed * 1103515245u + 12345u;
        x[j] = (float)(seed >> 8 & 0xffff) / 65536.0f;
        /* L1: keep every pixel's Sig(x_f) - Sig(x) away from 0 so that no kink lies within the differences */
        if (norm == GD_INFER_NORM_L1) x[j] = j % 3 == 0 ? 1.0f : 0.0f;
    }
    for (int i = 0; i < 2 * N * K; i++) z[i] = 0.3f * (float)((i * 7) % 5) - 0.6f;
    for (int i = 0; i < 2 * N; i++) y[i] = 0.15f + 0.1f * (float)i;
    CHECK_OK(gd_infer_eq3_eval(s, x, z, y, 2, F, dz, dy, &err), &err);
    const float h = norm == GD_INFER_NORM_L1 ? 1e-3f : 1e-2f; /* L1 has kinks: stay close */
    double worst = 0;
    for (int i = 0; i < 2 * N * K; i++) {
        float keep = z[i];
        z[i] = keep + h;
        gd_infer_eq3_eval(s, x, z, y, 2, Fp, NULL, NULL, &err);
        z[i] = keep - h;
        gd_infer_eq3_eval(s, x, z, y, 2, Fm, NULL, NULL, &err);
        z[i] = keep;
        int b = i / (N * K);
        double fd = ((double)Fp[b] - Fm[b]) / (2 * h), e = fabs(fd - dz[i]) / (fabs(fd) + 1e-3);
        worst = e > worst ? e : worst;
        CHECK_MSG(e < 0.03, "%s/%s dz[%d]: analytic %g, finite difference %g", gd_infer_norm_name(norm),
                  gd_infer_scale_name(scale), i, dz[i], fd);
    }
    for (int i = 0; i < 2 * N; i++) {
        float keep = y[i];
        y[i] = keep + h;
        gd_infer_eq3_eval(s, x, z, y, 2, Fp, NULL, NULL, &err);
        y[i] = keep - h;
        gd_infer_eq3_eval(s, x, z, y, 2, Fm, NULL, NULL, &err);
        y[i] = keep;
        int b = i / N;
        double fd = ((double)Fp[b] - Fm[b]) / (2 * h), e = fabs(fd - dy[i]) / (fabs(fd) + 1e-3);
        CHECK_MSG(e < 0.03, "%s/%s dy[%d]: analytic %g, finite difference %g", gd_infer_norm_name(norm),
                  gd_infer_scale_name(scale), i, dy[i], fd);
    }
    /* the scale: sum = npix * mean on the image term */
    if (scale == GD_INFER_SCALE_MEAN) {
        float Fs[2];
        gd_infer_opts o2 = o;
        o2.scale = GD_INFER_SCALE_SUM;
        CHECK_OK(gd_infer_set_options(s, &o2, &err), &err);
        CHECK_OK(gd_infer_eq3_eval(s, x, z, y, 2, Fs, NULL, NULL, &err), &err);
        double l1 = 0;
        for (int i = 0; i < N; i++) l1 += y[i];
        CHECK_NEAR((Fs[0] - o.c * l1) / NPIX, F[0] - o.c * l1, 1e-5);
    }
    gd_infer_free(s);
}

int main(void) {
    gd_error err;
    lin_gen lg;
    gd_generator gen;
    lin_init(&lg, &gen, N, K, NPIX, MAXB, 0.9f);

    /* 1. gradients */
    check_gradient(&gen, GD_INFER_NORM_L2, GD_INFER_SCALE_MEAN);
    check_gradient(&gen, GD_INFER_NORM_L2, GD_INFER_SCALE_SUM);
    check_gradient(&gen, GD_INFER_NORM_L1, GD_INFER_SCALE_MEAN);

    /* 2. a known composition is recovered; 3. an image unlike any combination is noise */
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.steps = 150;
    o.lr = 0.05f;
    o.batch = 8;
    o.l = 0.02f;
    o.trace = 1;
    gd_infer* s = NULL;
    CHECK_OK(gd_infer_create(&s, &gen, &o, &err), &err);
    float x[8 * NPIX];
    const unsigned truth[3] = {0x5, 0x2, 0xB};
    for (int b = 0; b < 3; b++) lin_compose(&lg, truth[b], 1.0f, x + b * NPIX);
    for (int j = 0; j < NPIX; j++) x[3 * NPIX + j] = j % (N + 1) == N ? 1.0f : 0.0f; /* only uncovered pixels */
    gd_infer_results r;
    CHECK_OK(gd_infer_results_alloc(&r, 8, N, N * K, o.steps + 1, &err), &err);
    CHECK_OK(gd_infer_classify(s, x, 100, 4, &r, 2, &err), &err);
    for (int b = 0; b < 3; b++) {
        int64_t i = 2 + b;
        CHECK_MSG(!r.noise[i], "image %d rejected, loss %g", b, r.loss3[i]);
        for (int c = 0; c < N; c++) {
            CHECK_MSG(r.ydec[i * N + c] == (truth[b] >> c & 1), "image %d component %d: y* %g, y† %d", b, c,
                      r.ystar[i * N + c], r.ydec[i * N + c]);
            CHECK(r.ystar[i * N + c] >= 0.0f && r.ystar[i * N + c] <= 1.0f);
        }
        CHECK(r.loss3[i] < o.l);
        CHECK_MSG(r.loss2[i] >= 0 && r.loss2[i] < 0.01f, "image %d: Eq. 2 loss %g, y* %g %g %g %g", b, r.loss2[i],
                  r.ystar[i * N], r.ystar[i * N + 1], r.ystar[i * N + 2], r.ystar[i * N + 3]);
        CHECK(r.steps[i] >= o.steps);
        /* trace: starts at y0, ends at a value whose objective is the best */
        for (int c = 0; c < N; c++) CHECK(r.trace[(i * (o.steps + 1)) * N + c] == o.y0);
    }
    CHECK_MSG(r.noise[5] == 1, "noise image accepted with loss %g", r.loss3[5]);
    CHECK(r.n_candidates[5] == 0 && isnan(r.loss2[5]));
    for (int c = 0; c < N; c++) CHECK(r.ydec[5 * N + c] == 0);
    CHECK(r.time[2] > 0);

    /* chunking independence: one image at a time gives the same bits as four together */
    gd_infer_results r1;
    CHECK_OK(gd_infer_results_alloc(&r1, 4, N, N * K, o.steps + 1, &err), &err);
    for (int b = 0; b < 4; b++) CHECK_OK(gd_infer_classify(s, x + b * NPIX, 100 + b, 1, &r1, b, &err), &err);
    CHECK(!memcmp(r1.ystar, r.ystar + 2 * N, sizeof(float) * 4 * N));
    CHECK(!memcmp(r1.zstar, r.zstar + 2 * N * K, sizeof(float) * 4 * N * K));
    CHECK(!memcmp(r1.loss3, r.loss3 + 2, sizeof(float) * 4));
    CHECK(!memcmp(r1.ydec, r.ydec + 2 * N, 4 * N));
    CHECK(!memcmp(r1.trace, r.trace + 2 * (o.steps + 1) * N, sizeof(float) * 4 * (o.steps + 1) * N));
    gd_infer_results_free(&r1);

    /* restarts: a bad encoder start (z0 = -8 makes the patterns vanish) is rescued by random starts, and the
     * result is reproducible */
    lg.z0 = -9.0f;
    gd_infer_opts o3 = o;
    o3.trace = 0;
    o3.steps = 100;
    CHECK_OK(gd_infer_set_options(s, &o3, &err), &err);
    gd_infer_results ra, rb;
    CHECK_OK(gd_infer_results_alloc(&ra, 1, N, N * K, 0, &err), &err);
    CHECK_OK(gd_infer_results_alloc(&rb, 1, N, N * K, 0, &err), &err);
    CHECK_OK(gd_infer_solve(s, x, 7, 1, &ra, 0, &err), &err);
    o3.restarts = 4;
    CHECK_OK(gd_infer_set_options(s, &o3, &err), &err);
    CHECK_OK(gd_infer_solve(s, x, 7, 1, &rb, 0, &err), &err);
    CHECK_MSG(rb.loss3[0] < ra.loss3[0], "restarts did not help: %g vs %g", rb.loss3[0], ra.loss3[0]);
    CHECK(rb.steps[0] == 5 * o3.steps);
    float keep = rb.loss3[0];
    CHECK_OK(gd_infer_solve(s, x, 7, 1, &rb, 0, &err), &err);
    CHECK(rb.loss3[0] == keep);
    CHECK_OK(gd_infer_solve(s, x, 8, 1, &rb, 0, &err), &err); /* another image number: another stream */
    CHECK(rb.loss3[0] != keep);
    gd_infer_results_free(&ra);
    gd_infer_results_free(&rb);
    lg.z0 = 0.0f;

    /* 4. candidates: ones, ambiguous, the cap */
    gd_infer_opts oc;
    gd_infer_opts_default(&oc);
    uint64_t masks[64];
    int na = -1;
    float yv[4] = {0.9f, 0.5f, 0.1f, 0.4f};
    int cnt = gd_infer_candidates(&oc, yv, 4, masks, &na);
    CHECK(cnt == 4 && na == 2);
    CHECK(masks[0] == 0x1 && masks[1] == 0x3 && masks[2] == 0x9 && masks[3] == 0xB);
    oc.max_ambiguous = 1;
    cnt = gd_infer_candidates(&oc, yv, 4, masks, &na);
    CHECK(cnt == 2 && na == 2 && masks[0] == 0x1 && masks[1] == 0x3);
    CHECK(gd_infer_max_candidates(&oc, 4) == 2);
    oc.rule = GD_INFER_RULE_TOP3;
    float yt[4] = {0.2f, 0.7f, 0.4f, 0.6f};
    cnt = gd_infer_candidates(&oc, yt, 4, masks, &na);
    CHECK(cnt == 3 && masks[0] == 0x2 && masks[1] == 0x8 && masks[2] == 0x4 && na == 0);

    /* ambiguous enumeration picks the right completion, and refinement fixes a wrong z: image 0x5 with
     * y* = (0.5, 0.5, 0.5, 0.1) (3 ambiguous -> 8 candidates) and z* = 3 (intensities 30% too high) */
    gd_infer_opts od = o;
    od.trace = 0;
    od.refine_steps = 100;
    CHECK_OK(gd_infer_set_options(s, &od, &err), &err);
    gd_infer_results rd;
    CHECK_OK(gd_infer_results_alloc(&rd, 2, N, N * K, 0, &err), &err);
    float xs[2 * NPIX];
    lin_compose(&lg, 0x5, 1.0f, xs);
    lin_compose(&lg, 0x8, 1.0f, xs + NPIX);
    const float ya[2][N] = {{0.5f, 0.5f, 0.5f, 0.1f}, {0.2f, 0.7f, 0.4f, 0.6f}};
    for (int b = 0; b < 2; b++) {
        memcpy(rd.ystar + b * N, ya[b], sizeof ya[b]);
        for (int q = 0; q < N * K; q++) rd.zstar[b * N * K + q] = q % K == 0 ? 3.0f : 0.0f;
        rd.loss3[b] = 0.0f;
    }
    CHECK_OK(gd_infer_decide(s, xs, 1, &rd, 0, &err), &err);
    CHECK(rd.n_candidates[0] == 8 && rd.n_ambiguous[0] == 3);
    for (int c = 0; c < N; c++) CHECK_MSG(rd.ydec[c] == (0x5 >> c & 1), "enumeration: component %d = %d", c, rd.ydec[c]);
    /* refinement lowers the loss: the same candidate without refinement */
    int32_t img0 = 0;
    uint64_t m5 = 0x5;
    float l_norefine, l_refine;
    gd_infer_opts o0 = od;
    o0.refine_steps = 0;
    CHECK_OK(gd_infer_set_options(s, &o0, &err), &err);
    CHECK_OK(gd_infer_refine(s, xs, rd.zstar, 1, 1, &img0, &m5, &l_norefine, NULL, &err), &err);
    CHECK_OK(gd_infer_set_options(s, &od, &err), &err);
    CHECK_OK(gd_infer_refine(s, xs, rd.zstar, 1, 1, &img0, &m5, &l_refine, NULL, &err), &err);
    CHECK_MSG(l_refine < 0.1f * l_norefine, "refinement: %g -> %g", l_norefine, l_refine);
    CHECK_NEAR(rd.loss2[0], l_refine, 1e-7);
    /* only the decoders the candidates switch on ran during refinement */
    CHECK(lg.skipped > 0);

    /* top3 rule on image 0x8 with y* = (0.2, 0.7, 0.4, 0.6): candidates {1}, {3}, {2}; answer {3} */
    gd_infer_opts o4 = od;
    o4.rule = GD_INFER_RULE_TOP3;
    CHECK_OK(gd_infer_set_options(s, &o4, &err), &err);
    CHECK_OK(gd_infer_decide(s, xs, 2, &rd, 0, &err), &err);
    CHECK(rd.n_candidates[1] == 3);
    for (int c = 0; c < N; c++) CHECK_MSG(rd.ydec[N + c] == (c == 3), "top3: component %d = %d", c, rd.ydec[N + c]);
    CHECK(rd.ydec[0] + rd.ydec[1] + rd.ydec[2] + rd.ydec[3] == 1);
    /* noise threshold applies before the rule */
    rd.loss3[1] = 1.0f;
    CHECK_OK(gd_infer_decide(s, xs, 2, &rd, 0, &err), &err);
    CHECK(rd.noise[1] == 1 && rd.n_candidates[1] == 0);
    gd_infer_results_free(&rd);

    /* 5. bad inputs */
    gd_infer_opts ob;
    gd_infer_opts_default(&ob);
    ob.yl = 0.6f;
    ob.yu = 0.6f;
    CHECK(gd_infer_opts_check(&ob, &err) == GD_EINVAL && strstr(err.msg, "infer.yl"));
    ob.yl = -0.1f;
    ob.yu = 0.6f;
    CHECK(gd_infer_opts_check(&ob, &err) == GD_EINVAL && strstr(err.msg, "outside [0, 1]"));
    ob.yl = 0.3f;
    ob.yu = 1.5f;
    CHECK(gd_infer_opts_check(&ob, &err) == GD_EINVAL && strstr(err.msg, "infer.yu"));
    ob.yu = 0.6f;
    ob.max_ambiguous = 40;
    CHECK(gd_infer_opts_check(&ob, &err) == GD_EINVAL);
    ob.max_ambiguous = 10;
    gd_infer* bad = NULL;
    ob.yl = 0.9f;
    CHECK(gd_infer_create(&bad, &gen, &ob, &err) == GD_EINVAL && bad == NULL);
    CHECK(gd_infer_set_options(s, &ob, &err) == GD_EINVAL);
    CHECK(gd_infer_options(s)->yl == o4.yl); /* unchanged */
    CHECK(gd_infer_check_data(s, N, NPIX, "data.h5", &err) == GD_OK);
    CHECK(gd_infer_check_data(s, N + 1, NPIX, "data.h5", &err) == GD_EINVAL && !strcmp(err.file, "data.h5") &&
          strstr(err.msg, "components"));
    CHECK(gd_infer_check_data(s, N, 784, "data.h5", &err) == GD_EINVAL && strstr(err.msg, "pixels"));
    gd_generator g0 = gen;
    g0.n = 0;
    gd_infer_opts_default(&ob);
    CHECK(gd_infer_create(&bad, &g0, &ob, &err) == GD_EINVAL);
    CHECK(gd_infer_classify(s, x, 0, 9, &r, 0, &err) == GD_EINVAL); /* more than batch */
    CHECK(gd_infer_classify(s, x, 0, 4, &r, 6, &err) == GD_EINVAL); /* rows past the end */
    gd_infer_norm nv;
    CHECK(gd_infer_norm_parse("l1", &nv, &err) == GD_OK && nv == GD_INFER_NORM_L1);
    CHECK(gd_infer_norm_parse("l3", &nv, &err) == GD_EINVAL);

    gd_infer_results_free(&r);
    gd_infer_free(s);
    lin_free(&lg);
    return gd_test_done("infer/solver");
}
