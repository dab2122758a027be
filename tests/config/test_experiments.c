/* Every experiments/<name>.yaml resolves at full and quick scale, has a quick: section that changes it, names
 * itself after its file, matches components to its data set, and survives an emit/parse round trip. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/config.h"

/* Components of each data set (PAPER.md §3). */
static int expected_components(const gd_config* cfg) {
    if (gd_config_is(cfg, "data.set", "traffic_signs")) return 4;
    if (gd_config_is(cfg, "data.set", "norb")) return 5;
    return 10;
}

static void check_file(const char* dir, const char* name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gd_error err;
    gd_config *full = NULL, *quick = NULL;
    const char* sq[] = {"scale=quick"};
    CHECK_OK(gd_config_load(&full, path, NULL, 0, &err), &err);
    CHECK_OK(gd_config_load(&quick, path, sq, 1, &err), &err);
    if (!full || !quick) {
        gd_config_free(full);
        gd_config_free(quick);
        return;
    }
    char stem[256];
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(name) - 5), name);
    CHECK_MSG(!strcmp(gd_config_string(full, "experiment.name"), stem), "%s: experiment.name '%s'", name,
              gd_config_string(full, "experiment.name"));
    CHECK_MSG(gd_config_is(full, "scale", "full"), "%s: the file's own scale is not full", name);
    CHECK(gd_config_is(quick, "scale", "quick"));
    CHECK_MSG(gd_config_hash_sections(full, "data,model,train") != gd_config_hash_sections(quick, "data,model,train"),
              "%s: quick: does not shrink data/model/train", name);
    CHECK_MSG(gd_config_int(full, "model.n_components") == expected_components(full), "%s: n_components %lld", name,
              (long long)gd_config_int(full, "model.n_components"));
    CHECK(gd_config_string(full, "experiment.description")[0] != '\0');
    /* the resolved text of both scales parses back to the same config */
    gd_config* both[2] = {full, quick};
    for (int s = 0; s < 2; s++) {
        char* y = gd_config_emit(both[s]);
        gd_config* back = NULL;
        CHECK_OK(gd_config_parse(&back, y, strlen(y), "emitted.yaml", NULL, 0, &err), &err);
        CHECK_MSG(back && gd_config_hash(back) == gd_config_hash(both[s]), "%s: round trip", name);
        gd_config_free(back);
        free(y);
    }
    gd_config_free(full);
    gd_config_free(quick);
}

int main(void) {
    const char* src = getenv("GD_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "GD_SOURCE_DIR is not set (run through ctest)\n");
        return GD_TEST_SKIP;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/experiments", src);
    DIR* d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return gd_test_done("test_experiments");
    int n = 0;
    const char* required[] = {"traffic_signs.yaml", "mnist_fgm.yaml", "norb_fgm.yaml", "fashion_fgm.yaml",
                              "multimnist.yaml", "mnist_neat.yaml"};
    int found[6] = {0};
    struct dirent* e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        for (int i = 0; i < 6; i++) found[i] |= !strcmp(e->d_name, required[i]);
        check_file(dir, e->d_name);
        n++;
    }
    closedir(d);
    for (int i = 0; i < 6; i++) CHECK_MSG(found[i], "experiments/%s is missing", required[i]);
    printf("%d experiment files checked\n", n);
    return gd_test_done("test_experiments");
}
