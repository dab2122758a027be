/* The HDF5 data cache: a dataset written and read back is identical (images, labels, classes, parts, splits,
 * names, source, stats); gd_data_prepare reuses a matching cache, rebuilds on other parameters or a damaged
 * file, and leaves nothing behind when building fails. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "gd_test.h"
#include "gendec/data.h"

static int files_in(const char* dir) {
    DIR* d = opendir(dir);
    int n = 0;
    struct dirent* e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static int same(const gd_dataset* a, const gd_dataset* b) {
    size_t hw = (size_t)a->h * a->w;
    int ok = a->n == b->n && a->h == b->h && a->w == b->w && a->n_components == b->n_components &&
             a->n_classes == b->n_classes && a->n_splits == b->n_splits && !strcmp(a->name, b->name) &&
             !strcmp(a->source, b->source);
    if (!ok) return 0;
    ok &= !memcmp(a->images, b->images, sizeof(float) * a->n * hw);
    ok &= !memcmp(a->labels, b->labels, (size_t)a->n * a->n_components);
    ok &= !memcmp(a->classes, b->classes, sizeof(int32_t) * a->n);
    ok &= (a->parts == NULL) == (b->parts == NULL);
    if (a->parts && b->parts) ok &= !memcmp(a->parts, b->parts, sizeof(float) * a->n * a->n_components * hw);
    for (int i = 0; i < a->n_splits; i++)
        ok &= !strcmp(a->splits[i].name, b->splits[i].name) && a->splits[i].start == b->splits[i].start &&
              a->splits[i].count == b->splits[i].count;
    for (int c = 0; c < a->n_components; c++) ok &= !strcmp(a->component_names[c], b->component_names[c]);
    for (int c = 0; c < a->n_classes; c++) ok &= !strcmp(a->class_names[c], b->class_names[c]);
    return ok;
}

int main(void) {
    const char* dir = gd_test_tmpdir();
    char path[700], params[2048], back_params[2048];
    snprintf(path, sizeof path, "%s/ts.h5", dir);
    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_TRAFFIC_SIGNS);
    o.ts.size = 24, o.ts.n_train = 20, o.ts.n_val = 4, o.ts.n_test = 5, o.ts.n_test_seen = 3;
    o.keep_parts = 1;
    gd_dataset ds, back;
    gd_error err;
    gd_data_stats st = {0.7, 0.4, 33}, st2;
    CHECK_OK(gd_dataset_load(&o, &ds, NULL, &err), &err);
    gd_data_opts_describe(&o, params, sizeof params);
    CHECK(strstr(params, "set=traffic_signs") && strstr(params, "seed=1") && strstr(params, "parts=1"));
    CHECK_OK(gd_dataset_save_h5(&ds, path, "seed: 1\n", params, o.seed, &st, &err), &err);
    CHECK(files_in(dir) == 1);
    CHECK_OK(gd_dataset_load_h5(path, &back, back_params, sizeof back_params, &st2, &err), &err);
    CHECK(same(&ds, &back));
    CHECK(!strcmp(params, back_params));
    CHECK(st2.n_measured == 33 && st2.mean_overlap_min == 0.7 && st2.mean_overlap_iou == 0.4);
    gd_dataset_free(&back);

    /* prepare: a matching cache is reused, other parameters rebuild it */
    int reused = -1;
    CHECK_OK(gd_data_prepare(&o, NULL, path, 0, &back, &reused, NULL, &err), &err);
    CHECK(reused == 1 && same(&ds, &back));
    gd_dataset_free(&back);
    CHECK_OK(gd_data_prepare(&o, NULL, path, 1, &back, &reused, NULL, &err), &err);
    CHECK(reused == 0 && same(&ds, &back));
    gd_dataset_free(&back);
    o.seed = 2;
    CHECK_OK(gd_data_prepare(&o, NULL, path, 0, &back, &reused, NULL, &err), &err);
    CHECK(reused == 0 && back.n == ds.n && memcmp(back.images, ds.images, sizeof(float) * 24 * 24) != 0);
    gd_dataset_free(&back);
    CHECK_OK(gd_data_prepare(&o, NULL, path, 0, &back, &reused, NULL, &err), &err);
    CHECK(reused == 1);
    gd_dataset_free(&back);
    CHECK(files_in(dir) == 1);
    /* a damaged cache is rebuilt */
    CHECK(truncate(path, 1000) == 0);
    CHECK_OK(gd_data_prepare(&o, NULL, path, 0, &back, &reused, NULL, &err), &err);
    CHECK(reused == 0 && back.n == ds.n);
    gd_dataset_free(&back);
    /* loading a damaged file directly is an error naming it */
    CHECK(truncate(path, 1000) == 0);
    CHECK(gd_dataset_load_h5(path, &back, NULL, 0, NULL, &err) != GD_OK && strstr(err.file, "ts.h5") && back.images == NULL);
    remove(path);

    /* building fails (no MNIST here): no file, no temporary */
    gd_data_opts m;
    gd_data_opts_default(&m, GD_DATA_MNIST);
    snprintf(m.dir, sizeof m.dir, "%s/no-mnist", dir);
    char mpath[700];
    snprintf(mpath, sizeof mpath, "%s/mnist.h5", dir);
    CHECK(gd_data_prepare(&m, NULL, mpath, 0, &back, &reused, NULL, &err) == GD_EIO);
    CHECK(strstr(err.hint, "gendec data fetch mnist") != NULL);
    CHECK(files_in(dir) == 0);
    /* writing fails (no such folder): error, nothing written */
    snprintf(mpath, sizeof mpath, "%s/no/such/folder/ts.h5", dir);
    CHECK(gd_data_prepare(&o, NULL, mpath, 0, &back, &reused, NULL, &err) != GD_OK && back.images == NULL);
    CHECK(files_in(dir) == 0);
    gd_dataset_free(&ds);
    rmdir(dir);
    return gd_test_done("test_cache");
}
