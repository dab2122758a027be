/* gendec sample <model.h5> -o fig2.png: the paper's Fig. 2, images decoded by each sub-network from random z_i. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/io.h"
#include "gendec/model.h"

static const char* sample_usage =
    "usage: gendec sample <model.h5> -o OUT.png [--per-row N] [--seed S] [--temperature T] [--scale K]\n\n"
    "Draws z_i ~ N(0, T^2 I) and decodes it with sub-network i alone, N times per component: one row per\n"
    "component (the paper's Fig. 2). mse models show Dec_i(z_i) clipped to [0, 1], bce_logits models\n"
    "sigmoid(Dec_i(z_i)). Each row is labelled with its component name.\n\n"
    "  -o, --out OUT.png  the PNG to write (atomically)\n"
    "  --per-row N        samples per component (10)\n"
    "  --seed S           random stream seed (1)\n"
    "  --temperature T    standard deviation of z (1)\n"
    "  --scale K          pixel magnification (2)\n";

int cmd_sample(int argc, char** argv) {
    const char *model = NULL, *out = NULL, *v;
    long per_row = 10, scale = 2;
    unsigned long long seed = 1;
    double temp = 1.0;
    for (int i = 1; i < argc; i++) {
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", sample_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "-o", &out)) || (t = cli_take(argc, argv, &i, "--out", &out))) {
            if (t < 0) return cli_usage_error("sample", "-o needs a file name");
        } else if ((t = cli_take(argc, argv, &i, "--per-row", &v))) {
            if (t < 0 || (per_row = strtol(v, NULL, 10)) < 1 || per_row > 100)
                return cli_usage_error("sample", "--per-row needs a number in 1..100");
        } else if ((t = cli_take(argc, argv, &i, "--scale", &v))) {
            if (t < 0 || (scale = strtol(v, NULL, 10)) < 1 || scale > 16)
                return cli_usage_error("sample", "--scale needs a number in 1..16");
        } else if ((t = cli_take(argc, argv, &i, "--seed", &v))) {
            if (t < 0) return cli_usage_error("sample", "--seed needs a number");
            seed = strtoull(v, NULL, 10);
        } else if ((t = cli_take(argc, argv, &i, "--temperature", &v))) {
            if (t < 0 || !((temp = strtod(v, NULL)) > 0) || temp > 100)
                return cli_usage_error("sample", "--temperature needs a number in (0, 100]");
        } else if (argv[i][0] == '-') {
            return cli_usage_error("sample", "unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_usage_error("sample", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!model) return cli_usage_error("sample", "which model? (the model.h5 of 'gendec train')");
    if (!out) return cli_usage_error("sample", "where to? (-o OUT.png)");
    gd_error err;
    gd_error_clear(&err);
    gd_cvae* m = NULL;
    if (gd_cvae_load(model, (int)per_row, 0, &m, &err)) return cli_fail(&err);
    const gd_cvae_spec* s = gd_cvae_get_spec(m);
    int n = s->n, nk = s->n * s->k, D = s->h * s->w, B = (int)per_row;
    float* z = malloc(sizeof(float) * (size_t)B * nk);
    float* parts = malloc(sizeof(float) * (size_t)B * n * D);
    float* grid = malloc(sizeof(float) * (size_t)B * n * D);
    const char** labels = calloc((size_t)B * n, sizeof(char*));
    char names[64][32];
    int rc = CLI_EXIT_OK;
    if (!z || !parts || !grid || !labels) {
        gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    for (int b = 0; b < B; b++) {
        gd_rng r;
        gd_rng_init(&r, seed, GD_STREAM_USER, (uint64_t)b);
        gd_rng_fill_normal(&r, z + (size_t)b * nk, (size_t)nk, (float)temp);
    }
    if (gd_cvae_decode_parts(m, z, parts, B, &err)) {
        rc = cli_fail(&err);
        goto done;
    }
    /* row i = component i: cell (i, b) = parts[b, i] */
    for (int i = 0; i < n; i++)
        for (int b = 0; b < B; b++)
            memcpy(grid + ((size_t)i * B + b) * D, parts + ((size_t)b * n + i) * D, sizeof(float) * D);
    /* component names stored by gendec train, else the numbers */
    char* cn = NULL;
    gd_h5* f = NULL;
    if (gd_h5_open(model, NULL, MPI_COMM_NULL, &f, &err) == GD_OK) {
        if (gd_h5_attr_exists(f, "", "component_names")) gd_h5_attr_get_str_alloc(f, "", "component_names", &cn, &err);
        gd_h5_close(f);
    }
    char* save = NULL;
    char* tok = cn ? strtok_r(cn, ",", &save) : NULL;
    for (int i = 0; i < n && i < 64; i++) {
        if (tok) {
            snprintf(names[i], sizeof names[i], "%s", tok);
            tok = strtok_r(NULL, ",", &save);
        } else {
            snprintf(names[i], sizeof names[i], "%d", i);
        }
        labels[(size_t)i * B] = names[i];
    }
    free(cn);
    gd_png_grid g = {.rows = n, .cols = B, .pad = 2, .scale = (int)scale, .labels = labels, .background = 0.25f};
    if (gd_png_write_grid(out, grid, B * n, 1, s->h, s->w, &g, &err)) {
        rc = cli_fail(&err);
        goto done;
    }
    printf("wrote %s: %d components x %d samples (%dx%d, z ~ N(0, %.2g^2))\n", out, n, B, s->h, s->w, temp);
done:
    free(z), free(parts), free(grid), free(labels);
    gd_cvae_free(m);
    return rc;
}
