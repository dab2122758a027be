/* Parameter block: layout, offsets, lookup, errors, zero_grad, deterministic initialisation. */
#include <string.h>

#include "gendec/nn.h"
#include "gd_test.h"

int main(void) {
    gd_error err;
    gd_params p;
    gd_params_init(&p);
    size_t off[4];
    CHECK_OK(gd_params_add(&p, "enc.fc1.w", 2, (int[]){3, 5}, &off[0], &err), &err);
    CHECK_OK(gd_params_add(&p, "enc.fc1.b", 1, (int[]){3}, &off[1], &err), &err);
    CHECK_OK(gd_params_add(&p, "dec.conv.w", 4, (int[]){4, 2, 3, 2}, &off[2], &err), &err);
    CHECK_OK(gd_params_add(&p, "dec.conv.b", 1, (int[]){4}, &off[3], &err), &err);
    CHECK(off[0] == 0 && off[1] == 15 && off[2] == 18 && off[3] == 18 + 48);
    CHECK(gd_params_count(&p) == 18 + 48 + 4);
    CHECK(p.n_views == 4);
    CHECK(p.views[2].count == 48 && p.views[2].ndim == 4 && p.views[2].shape[3] == 2);
    CHECK(p.views[1].shape[1] == 1);

    /* Errors: duplicate, bad shape, bad ndim, too long name. */
    CHECK(gd_params_add(&p, "enc.fc1.b", 1, (int[]){3}, NULL, &err) == GD_EINVAL);
    CHECK(strstr(err.msg, "twice") != NULL);
    CHECK(gd_params_add(&p, "x", 2, (int[]){3, 0}, NULL, &err) == GD_EINVAL);
    CHECK(gd_params_add(&p, "x", 5, (int[]){1, 1, 1, 1, 1}, NULL, &err) == GD_EINVAL);
    char longname[100];
    memset(longname, 'a', 99), longname[99] = 0;
    CHECK(gd_params_add(&p, longname, 1, (int[]){1}, NULL, &err) == GD_EINVAL);
    CHECK(gd_params_count(&p) == 70 && p.n_views == 4);
    CHECK(gd_params_data(&p, "enc.fc1.w") == NULL); /* not yet allocated */

    CHECK_OK(gd_params_alloc(&p, &err), &err);
    CHECK(((uintptr_t)p.data & 63) == 0 && ((uintptr_t)p.grad & 63) == 0);
    CHECK(gd_params_add(&p, "late", 1, (int[]){2}, NULL, &err) == GD_EINVAL);
    CHECK(gd_params_find(&p, "dec.conv.w") == 2 && gd_params_find(&p, "nope") == -1);
    CHECK(gd_params_data(&p, "dec.conv.b") == p.data + 66);
    CHECK(gd_params_grad(&p, "enc.fc1.b") == p.grad + 15);
    CHECK(gd_params_view(&p, "dec.conv.w") == &p.views[2] && gd_params_view(&p, "zz") == NULL);

    /* Fans by PyTorch's rule. */
    int fi, fo;
    gd_param_fans(&p.views[0], &fi, &fo);
    CHECK(fi == 5 && fo == 3);
    gd_param_fans(&p.views[2], &fi, &fo);
    CHECK(fi == 2 * 6 && fo == 4 * 6);
    gd_param_fans(&p.views[1], &fi, &fo);
    CHECK(fi == 3 && fo == 3);

    /* Initialisation: deterministic from (seed, view number), bounded, the rest untouched. */
    for (size_t i = 0; i < p.total; i++) p.data[i] = 7.0f, p.grad[i] = 1.0f;
    CHECK_OK(gd_params_fill(&p, 2, GD_INIT_HE_UNIFORM, 0, 0, 1.0f, 42, &err), &err);
    float bound = sqrtf(6.0f / 12.0f), first[48];
    int inside = 1, distinct = 0;
    for (int i = 0; i < 48; i++) {
        float x = p.data[18 + i];
        inside &= fabsf(x) <= bound && x != 7.0f;
        distinct += i > 0 && x != p.data[18 + i - 1];
        first[i] = x;
    }
    CHECK(inside && distinct == 47);
    CHECK(p.data[17] == 7.0f && p.data[66] == 7.0f);
    CHECK_OK(gd_params_fill(&p, 2, GD_INIT_HE_UNIFORM, 0, 0, 1.0f, 42, &err), &err);
    CHECK(memcmp(first, p.data + 18, sizeof first) == 0);
    CHECK_OK(gd_params_fill(&p, 2, GD_INIT_HE_UNIFORM, 0, 0, 1.0f, 43, &err), &err);
    CHECK(memcmp(first, p.data + 18, sizeof first) != 0);
    /* The stream is (seed, GD_STREAM_INIT, view number). */
    gd_rng rng;
    gd_rng_init(&rng, 42, GD_STREAM_INIT, 2);
    CHECK_NEAR(first[0], bound * (2.0f * gd_rng_uniform(&rng) - 1.0f), 1e-7);

    CHECK_OK(gd_params_fill(&p, 1, GD_INIT_CONST, 0, 0, 0.25f, 1, &err), &err);
    CHECK(p.data[15] == 0.25f && p.data[17] == 0.25f);
    CHECK_OK(gd_params_fill(&p, 3, GD_INIT_ZERO, 0, 0, 0, 1, &err), &err);
    CHECK(p.data[66] == 0 && p.data[69] == 0);
    /* Normal kinds: sample std near the target on a large view. */
    gd_params q = {0};
    CHECK_OK(gd_params_add(&q, "big", 2, (int[]){200, 100}, NULL, &err), &err);
    CHECK_OK(gd_params_add(&q, "big2", 2, (int[]){200, 100}, NULL, &err), &err);
    CHECK_OK(gd_params_alloc(&q, &err), &err);
    CHECK_OK(gd_params_fill(&q, 0, GD_INIT_GLOROT_NORMAL, 0, 0, 1.0f, 5, &err), &err);
    CHECK_OK(gd_params_fill(&q, 1, GD_INIT_TORCH_DEFAULT, 0, 0, 1.0f, 5, &err), &err);
    double s2 = 0, mx = 0;
    for (int i = 0; i < 20000; i++) s2 += (double)q.data[i] * q.data[i];
    for (int i = 20000; i < 40000; i++) mx = fmax(mx, fabs(q.data[i]));
    CHECK_NEAR(sqrt(s2 / 20000), sqrt(2.0 / 300), 0.03 * sqrt(2.0 / 300));
    CHECK(mx <= 0.1 && mx > 0.099);
    CHECK(memcmp(q.data, q.data + 20000, 100) != 0); /* different view numbers, different streams */
    CHECK(gd_params_fill(&q, 2, GD_INIT_ZERO, 0, 0, 0, 1, &err) == GD_EINVAL);
    gd_params_free(&q);

    gd_params_zero_grad(&p);
    int zero = 1;
    for (size_t i = 0; i < p.total; i++) zero &= p.grad[i] == 0;
    CHECK(zero);
    gd_params_free(&p);
    CHECK(p.data == NULL && p.n_views == 0 && p.total == 0);
    gd_params_free(&p);
    return gd_test_done("test_params");
}
