/* The real MNIST and Fashion-MNIST files, when present: counts per class (MACHINE.md's figures), mean pixel,
 * splits. Files are looked for under $GD_DATA_DIR, else /work/data (MNIST in <dir>/mnist, fetched by
 * `gendec data fetch mnist --data-dir <dir>`); Fashion-MNIST in <dir>/fashion-mnist or Debian's
 * /usr/share/datasets/fashion-mnist. Exits 77 (skipped) when neither set is there. */
#include <string.h>

#include "gd_test.h"
#include "gendec/data.h"

/* Loads a set; 1 if loaded, 0 if its files are missing (prints why). */
static int load(gd_data_kind kind, const char* root, gd_dataset* ds) {
    gd_data_opts o;
    gd_data_opts_default(&o, kind);
    snprintf(o.root, sizeof o.root, "%s", root);
    o.n_val = 5000;
    gd_error err;
    gd_status s = gd_dataset_load(&o, ds, NULL, &err);
    if (s == GD_EIO) {
        char buf[2600];
        gd_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "%s not available: %s\n", gd_data_kind_name(kind), buf);
        return 0;
    }
    CHECK_OK(s, &err);
    return s == GD_OK;
}

static void check_set(const gd_dataset* ds, const int* train_counts, const int* test_counts, double mean) {
    CHECK(ds->n == 70000 && ds->h == 28 && ds->w == 28);
    CHECK(ds->splits[0].count == 55000 && ds->splits[1].start == 55000 && ds->splits[1].count == 5000 &&
          ds->splits[2].start == 60000 && ds->splits[2].count == 10000);
    int tr[10] = {0}, te[10] = {0};
    double m = 0;
    for (int64_t i = 0; i < ds->n; i++) (i < 60000 ? tr : te)[ds->classes[i]]++;
    for (int64_t i = 0; i < 60000 * 784; i++) m += ds->images[i];
    m /= 60000.0 * 784;
    for (int c = 0; c < 10; c++) {
        CHECK_MSG(tr[c] == train_counts[c], "train class %d: %d, want %d", c, tr[c], train_counts[c]);
        CHECK_MSG(te[c] == test_counts[c], "test class %d: %d, want %d", c, te[c], test_counts[c]);
    }
    CHECK_NEAR(m, mean, 5e-5);
    printf("%s: 60000 + 10000 images, train mean pixel %.4f\n", ds->name, m);
}

int main(void) {
    const char* env = getenv("GD_DATA_DIR");
    const char* root = env && *env ? env : "/work/data";
    int any = 0;
    gd_dataset ds;
    if (load(GD_DATA_MNIST, root, &ds)) {
        const int tr[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
        const int te[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
        check_set(&ds, tr, te, 0.1307);
        CHECK(strstr(ds.source, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db") != NULL);
        gd_dataset_free(&ds);
        any = 1;
    }
    if (load(GD_DATA_FASHION_MNIST, root, &ds)) {
        const int tr[10] = {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000};
        const int te[10] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
        check_set(&ds, tr, te, 0.2860);
        gd_dataset_free(&ds);
        any = 1;
    }
    if (!any) {
        fprintf(stderr, "skipped: neither MNIST nor Fashion-MNIST found under %s (set GD_DATA_DIR)\n", root);
        return GD_TEST_SKIP;
    }
    return gd_test_done("test_real");
}
