/* gendec config: validates an experiment file, prints its resolved YAML or hashes, or the schema. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/config.h"

static const char* config_usage =
    "usage: gendec config <experiment.yaml> [--set key=value ...] [--show] [--hash SECTIONS]\n"
    "       gendec config --defaults [--set key=value ...] [--show] [--hash SECTIONS]\n"
    "       gendec config --doc\n"
    "\n"
    "Reads the experiment file, applies its quick: mapping when scale is quick and the overrides, checks\n"
    "every key, and prints '<file>: ok' with the experiment name, scale and config hash (exit 0), or the\n"
    "first problem as 'gendec: <file>:<line>:<col>: <what> (<how to fix>)' (exit 1).\n"
    "\n"
    "  --set key=value   override a key (repeatable; the value is YAML: 7, true, [0, 0.1], name)\n"
    "  --show            print the resolved configuration (every key) as YAML instead\n"
    "  --hash SECTIONS   print the hash of some sections instead, e.g. --hash seed,data\n"
    "  --defaults        start from the defaults alone (no file)\n"
    "  --doc             print the schema reference in Markdown (the text of docs/config.md)\n"
    "\n"
    "The schema reference follows.\n\n";

int cmd_config(int argc, char** argv) {
    if (cli_wants_help(argc, argv)) {
        char* doc = gd_config_doc_markdown();
        printf("%s%s", config_usage, doc ? doc : "(out of memory)\n");
        free(doc);
        return CLI_EXIT_OK;
    }
    const char* file = NULL;
    const char* hash = NULL;
    int show = 0, defaults = 0, doc = 0;
    const char** sets = calloc((size_t)argc, sizeof(char*));
    size_t n_sets = 0;
    if (!sets) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if ((t = cli_take(argc, argv, &i, "--set", &v))) {
            if (t < 0) rc = cli_usage_error("config", "--set needs key=value");
            else sets[n_sets++] = v;
        } else if ((t = cli_take(argc, argv, &i, "--hash", &v))) {
            if (t < 0) rc = cli_usage_error("config", "--hash needs a list of sections, e.g. seed,data");
            else hash = v;
        } else if (cli_flag(argv, i, "--show")) {
            show = 1;
        } else if (cli_flag(argv, i, "--defaults")) {
            defaults = 1;
        } else if (cli_flag(argv, i, "--doc")) {
            doc = 1;
        } else {
            rc = cli_experiment_file("config", argv, i, &file);
        }
    }
    if (rc == CLI_EXIT_OK && doc) {
        if (file || defaults || show || hash || n_sets) rc = cli_usage_error("config", "--doc takes no other argument");
        else {
            char* text = gd_config_doc_markdown();
            if (!text) rc = CLI_EXIT_FAIL;
            else printf("%s", text);
            free(text);
        }
        free(sets);
        return rc;
    }
    if (rc == CLI_EXIT_OK && !file && !defaults) rc = cli_usage_error("config", "name an experiment file or --defaults");
    if (rc == CLI_EXIT_OK && file && defaults) rc = cli_usage_error("config", "--defaults takes no file");
    if (rc == CLI_EXIT_OK && show && hash) rc = cli_usage_error("config", "--show and --hash exclude each other");
    if (rc != CLI_EXIT_OK) {
        free(sets);
        return rc;
    }

    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    gd_status st;
    if (file) {
        st = gd_config_load(&cfg, file, sets, n_sets, &err);
    } else {
        st = gd_config_defaults(&cfg, &err);
        for (size_t i = 0; !st && i < n_sets; i++) st = gd_config_set(cfg, sets[i], &err);
    }
    free(sets);
    if (st) {
        gd_config_free(cfg);
        return cli_fail(&err);
    }
    gd_config_set_strict(cfg, 0);
    char hex[17];
    if (show) {
        char* y = gd_config_emit(cfg);
        if (!y) rc = CLI_EXIT_FAIL;
        else fputs(y, stdout);
        free(y);
    } else if (hash) {
        uint64_t h = gd_config_hash_sections(cfg, hash);
        if (gd_config_misuses(cfg, NULL)) {
            gd_error_set(&err, GD_EINVAL, "--hash", 0, 0, "name top-level sections or keys, e.g. seed,data,model",
                         "'%s' names a section that does not exist", hash);
            rc = cli_fail(&err);
        } else {
            gd_config_hash_hex(h, hex);
            printf("%s\n", hex);
        }
    } else {
        gd_config_hash_hex(gd_config_hash(cfg), hex);
        printf("%s: ok (experiment %s, scale %s, config hash %s)\n", file ? file : "defaults",
               gd_config_string(cfg, "experiment.name"), gd_config_string(cfg, "scale"), hex);
    }
    gd_config_free(cfg);
    return rc;
}
