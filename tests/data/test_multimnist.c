/* multiMNIST generation on synthetic digits: determinism (same seed -> same bytes; any subrange equals the
 * slice of the whole), two different classes per image, the overlay rule (clip and plain sum), the parts,
 * the overlap measurement; and on the real MNIST files when present. */
#include <string.h>

#include "gd_test.h"
#include "gendec/data.h"

#define NS 60

/* Synthetic 28x28 "digits": a filled rectangle whose position and size depend on i, value by class. */
static void make_src(uint8_t* src, uint8_t* cls) {
    memset(src, 0, NS * 784);
    for (int i = 0; i < NS; i++) {
        cls[i] = (uint8_t)(i % 10);
        int y0 = 4 + i % 5, x0 = 6 + i % 3, hh = 14 + i % 6, ww = 8 + i % 7;
        for (int y = y0; y < y0 + hh; y++)
            for (int x = x0; x < x0 + ww; x++) src[i * 784 + y * 28 + x] = (uint8_t)(120 + 10 * cls[i]);
    }
}

int main(void) {
    static uint8_t src[NS * 784], cls[NS];
    make_src(src, cls);
    gd_data_opts d;
    gd_data_opts_default(&d, GD_DATA_MULTIMNIST);
    gd_multimnist_opts o = d.mm;
    const int n = 200, hw = 36 * 36;
    float* a = malloc(sizeof(float) * n * hw);
    float* b = malloc(sizeof(float) * n * hw);
    float* parts = malloc(sizeof(float) * n * 10 * hw);
    uint8_t *la = malloc(n * 10), *lb = malloc(n * 10);
    gd_error err;
    gd_data_stats st = {0};
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 0, 0, n, a, la, parts, &st, &err), &err);
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 0, 0, n, b, lb, NULL, NULL, &err), &err);
    CHECK(!memcmp(a, b, sizeof(float) * n * hw) && !memcmp(la, lb, n * 10));
    /* subranges generated independently equal the slices */
    for (int first = 0; first < n; first += 37) {
        int cnt = first + 37 <= n ? 37 : n - first;
        CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 0, first, cnt, b, lb, NULL, NULL, &err), &err);
        CHECK(!memcmp(a + (size_t)first * hw, b, sizeof(float) * cnt * hw) && !memcmp(la + first * 10, lb, cnt * 10));
    }
    /* a stream base shifts the image numbers: base 10, first 0 == base 0, first 10 */
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 10, 0, 5, b, lb, NULL, NULL, &err), &err);
    CHECK(!memcmp(a + 10 * hw, b, sizeof(float) * 5 * hw));
    /* another seed differs */
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 8, 0, 0, n, b, lb, NULL, NULL, &err), &err);
    CHECK(memcmp(a, b, sizeof(float) * n * hw) != 0);
    /* two different classes; image = min(sum of the two parts, 1); parts are where the labels say */
    int two = 1, overlay = 1, clipped_somewhere = 0, in_range = 1;
    for (int i = 0; i < n; i++) {
        int ones = 0;
        for (int c = 0; c < 10; c++) ones += la[i * 10 + c];
        two &= ones == 2;
        for (int c = 0; c < 10; c++) {
            double mass = 0;
            for (int k = 0; k < hw; k++) mass += parts[((size_t)i * 10 + c) * hw + k];
            two &= (mass > 0) == (la[i * 10 + c] == 1);
        }
        for (int k = 0; k < hw; k++) {
            float s = 0;
            for (int c = 0; c < 10; c++) s += parts[((size_t)i * 10 + c) * hw + k];
            overlay &= a[(size_t)i * hw + k] == (s < 1 ? s : 1);
            clipped_somewhere |= s > 1;
            in_range &= a[(size_t)i * hw + k] >= 0 && a[(size_t)i * hw + k] <= 1;
        }
    }
    CHECK(two);
    CHECK(overlay);
    CHECK(clipped_somewhere);
    CHECK(in_range);
    CHECK(st.n_measured == n && st.mean_overlap_min > 0.2 && st.mean_overlap_min <= 1 &&
          st.mean_overlap_iou <= st.mean_overlap_min);
    /* plain sum keeps a + b */
    o.plain_sum = 1;
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 0, 0, n, b, lb, NULL, NULL, &err), &err);
    int above = 0, same_where_low = 1;
    for (size_t k = 0; k < (size_t)n * hw; k++) {
        above |= b[k] > 1;
        if (b[k] < 1) same_where_low &= a[k] == b[k];
        else same_where_low &= a[k] == 1.0f;
    }
    CHECK(above && same_where_low);
    o.plain_sum = 0;
    /* zero shift: every digit sits at the centre (offset 4) */
    o.shift = 0;
    CHECK_OK(gd_multimnist_generate(&o, src, cls, NS, 7, 0, 0, 1, b, lb, parts, NULL, &err), &err);
    int c0 = -1;
    for (int c = 0; c < 10 && c0 < 0; c++)
        if (lb[c]) c0 = c;
    int centered = 1;
    for (int y = 0; y < 36; y++)
        for (int x = 0; x < 36; x++) {
            float v = parts[(size_t)c0 * hw + y * 36 + x];
            if (y < 4 || y >= 32 || x < 4 || x >= 32) centered &= v == 0;
        }
    CHECK(centered);
    /* a source of one class cannot make pairs */
    uint8_t one[NS];
    memset(one, 3, NS);
    CHECK(gd_multimnist_generate(&o, src, one, NS, 7, 0, 0, 1, b, lb, NULL, NULL, &err) == GD_EINVAL);

    /* the real set, when the MNIST files are there */
    gd_data_opts_default(&d, GD_DATA_MULTIMNIST);
    const char* env = getenv("GD_DATA_DIR");
    snprintf(d.root, sizeof d.root, "%s", env && *env ? env : "/work/data");
    d.mm.n_train = 3000, d.mm.n_val = 200, d.mm.n_test = 1000;
    gd_dataset ds;
    gd_status s = gd_dataset_load(&d, &ds, &st, &err);
    if (s == GD_EIO) {
        fprintf(stderr, "real multiMNIST part skipped: MNIST not found under %s (run: gendec data fetch mnist "
                        "--data-dir %s)\n", d.root, d.root);
    } else {
        CHECK_OK(s, &err);
        if (s == GD_OK) {
            CHECK(ds.n == 4200 && ds.h == 36 && ds.n_classes == 0 && ds.classes[0] == -1);
            CHECK(ds.splits[2].start == 3200 && ds.splits[2].count == 1000);
            int ok = 1;
            for (int64_t i = 0; i < ds.n; i++) {
                int ones = 0;
                for (int c = 0; c < 10; c++) ones += ds.labels[i * 10 + c];
                ok &= ones == 2;
            }
            CHECK(ok);
            printf("real multiMNIST (%lld images): mean bounding-box overlap |A∩B|/min(|A|,|B|) = %.3f, IoU = %.3f\n",
                   (long long)st.n_measured, st.mean_overlap_min, st.mean_overlap_iou);
            CHECK(st.mean_overlap_min > 0.5 && st.mean_overlap_min < 1.0);
            gd_dataset_free(&ds);
        }
    }
    free(a), free(b), free(parts), free(la), free(lb);
    return gd_test_done("test_multimnist");
}
