/* report: finding the runs under the given paths and reading what their files hold. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

void gd_report_opts_default(gd_report_opts* o) {
    o->paper_numbers = 1;
    o->markdown = 1;
    o->latex = 1;
    o->figures = 1;
    o->n_examples = 16;
}

/* 1 when `dir`/`name` is a regular file. */
static int is_file(const char* dir, const char* name) {
    char p[REP_PATH];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* 1 when the folder holds a stage file (or a sweep task file): it is a run. */
static int is_run_dir(const char* dir) {
    static const char* names[] = {"eval.h5", "fgm.h5", "neat.h5", "sweep.h5", "model.h5", "cnn.h5"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (is_file(dir, names[i])) return 1;
    DIR* d = opendir(dir);
    if (!d) return 0;
    struct dirent* e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        found = !strncmp(e->d_name, "sweep.slice-", 12) && l > 3 && !strcmp(e->d_name + l - 3, ".h5");
    }
    closedir(d);
    return found;
}

static int cmp_str(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

/* Adds dir to the run list (no duplicates). */
static gd_status add_dir(char*** dirs, size_t* n, size_t* cap, const char* dir, gd_error* err) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*dirs)[i], dir)) return GD_OK;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        char** d = realloc(*dirs, c * sizeof *d);
        if (!d) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory listing runs");
        *dirs = d;
        *cap = c;
    }
    if (!((*dirs)[*n] = strdup(dir))) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    (*n)++;
    return GD_OK;
}

/* Collects the run folders at or below dir (depth levels at most), in name order. */
static gd_status find_runs(const char* dir, int depth, char*** dirs, size_t* n, size_t* cap, gd_error* err) {
    if (is_run_dir(dir)) return add_dir(dirs, n, cap, dir, err);
    if (depth <= 0) return GD_OK;
    DIR* d = opendir(dir);
    if (!d) return GD_OK;
    char** subs = NULL;
    size_t ns = 0, cs = 0;
    gd_status s = GD_OK;
    struct dirent* e;
    while (!s && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[REP_PATH];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) s = add_dir(&subs, &ns, &cs, p, err);
    }
    closedir(d);
    if (ns) qsort(subs, ns, sizeof *subs, cmp_str);
    for (size_t i = 0; !s && i < ns; i++) s = find_runs(subs[i], depth - 1, dirs, n, cap, err);
    for (size_t i = 0; i < ns; i++) free(subs[i]);
    free(subs);
    return s;
}

/* The value of a top-level-section key ("experiment.name" -> "  name: x" under "experiment:") in emitted
 * YAML text; for configs this gendec cannot parse (written by another version). */
static char* yaml_lookup(const char* yaml, const char* section, const char* key) {
    char head[64], item[64];
    snprintf(head, sizeof head, "\n%s:\n", section);
    snprintf(item, sizeof item, "\n  %s: ", key);
    char* text = malloc(strlen(yaml) + 2);
    if (!text) return NULL;
    text[0] = '\n';
    strcpy(text + 1, yaml);
    char* sec = strstr(text, head);
    char* v = sec ? strstr(sec, item) : NULL;
    char* out = NULL;
    if (v) {
        v += strlen(item);
        size_t l = strcspn(v, "\n");
        if (l >= 2 && (v[0] == '"' || v[0] == '\'')) {
            v++;
            l -= 2;
        }
        out = strndup(v, l);
    }
    free(text);
    return out;
}

/* The name of a sweep slice file in dir (into buf), or "" when there is none. */
static void first_slice(const char* dir, char* buf, size_t n) {
    buf[0] = '\0';
    DIR* d = opendir(dir);
    if (!d) return;
    struct dirent* e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (!strncmp(e->d_name, "sweep.slice-", 12) && l > 3 && !strcmp(e->d_name + l - 3, ".h5") &&
            (!buf[0] || strcmp(e->d_name, buf) < 0))
            snprintf(buf, n, "%s", e->d_name);
    }
    closedir(d);
}

/* Reads the config of a run from the first stage file present. */
static gd_status read_config(rep_run* run, gd_error* err) {
    char slice[256];
    first_slice(run->dir, slice, sizeof slice);
    const char* order[][2] = {{"eval.h5", "eval"},   {"fgm.h5", "fgm"},   {"neat.h5", "neat"}, {"sweep.h5", "sweep"},
                              {slice, "sweep"},       {"model.h5", NULL},  {"cnn.h5", NULL}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!order[i][0][0] || !is_file(run->dir, order[i][0])) continue;
        char p[REP_PATH];
        snprintf(p, sizeof p, "%s/%s", run->dir, order[i][0]);
        gd_h5* f = NULL;
        gd_status s = gd_h5_open(p, order[i][1], MPI_COMM_NULL, &f, err);
        if (!s) s = gd_h5_config_yaml(f, &run->yaml, err);
        gd_h5_close(f);
        if (s) return s;
        gd_error e2;
        if (gd_config_parse(&run->cfg, run->yaml, strlen(run->yaml), p, NULL, 0, &e2)) run->cfg = NULL;
        if (run->cfg) {
            gd_config_set_strict(run->cfg, 0);
            run->experiment = strdup(gd_config_string(run->cfg, "experiment.name"));
            run->set = strdup(gd_config_string(run->cfg, "data.set"));
        } else {
            run->experiment = yaml_lookup(run->yaml, "experiment", "name");
            run->set = yaml_lookup(run->yaml, "data", "set");
        }
        break;
    }
    if (!run->yaml) run->yaml = strdup("");
    if (!run->experiment) {
        const char* slash = strrchr(run->dir, '/');
        run->experiment = strdup(slash ? slash + 1 : run->dir);
    }
    if (!run->set) run->set = strdup("?");
    if (!run->yaml || !run->experiment || !run->set)
        return gd_error_set(err, GD_ENOMEM, run->dir, 0, 0, NULL, "out of memory");
    return GD_OK;
}

/* Opens a file only to check that it is a complete gendec file (model.h5, cnn.h5). */
static gd_status check_complete(const char* path, gd_error* err) {
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(path, NULL, MPI_COMM_NULL, &f, err);
    gd_h5_close(f);
    return s;
}

/* Reads every stage file of a run. */
static gd_status load_run(rep_run* run, gd_error* err) {
    gd_status s = read_config(run, err);
    char p[REP_PATH];
    if (!s && is_file(run->dir, "eval.h5")) {
        snprintf(p, sizeof p, "%s/eval.h5", run->dir);
        s = rep_read_eval(p, &run->eval, err);
    }
    if (!s && is_file(run->dir, "fgm.h5")) {
        snprintf(p, sizeof p, "%s/fgm.h5", run->dir);
        s = rep_read_fgm(p, &run->fgm, err);
    }
    if (!s && is_file(run->dir, "neat.h5")) {
        snprintf(p, sizeof p, "%s/neat.h5", run->dir);
        s = rep_read_neat(p, &run->neat, err);
    }
    int found = 0;
    if (!s) s = rep_read_sweep(run->dir, &run->sweep, &found, err);
    if (!s && is_file(run->dir, "model.h5")) {
        snprintf(run->model_path, sizeof run->model_path, "%s/model.h5", run->dir);
        s = check_complete(run->model_path, err);
    }
    if (!s && is_file(run->dir, "cnn.h5")) {
        snprintf(run->cnn_path, sizeof run->cnn_path, "%s/cnn.h5", run->dir);
        s = check_complete(run->cnn_path, err);
    }
    gd_report_run* i = &run->info;
    i->dir = run->dir;
    i->experiment = run->experiment;
    i->set = run->set;
    i->config_yaml = run->yaml;
    i->has_eval = run->eval.present;
    i->has_fgm = run->fgm.present;
    i->has_neat = run->neat.present;
    i->has_sweep = run->sweep.present;
    i->has_model = run->model_path[0] != '\0';
    i->has_cnn = run->cnn_path[0] != '\0';
    return s;
}

gd_status gd_report_scan(gd_report** out, const char* const* paths, size_t n_paths, gd_error* err) {
    *out = NULL;
    char** dirs = NULL;
    size_t n = 0, cap = 0;
    gd_status s = GD_OK;
    for (size_t i = 0; !s && i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            s = gd_error_set(err, GD_EIO, paths[i], 0, 0, "give a run folder (results/<experiment>/<run-id>) or results/",
                             "cannot read: %s", strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            char d[REP_PATH];
            snprintf(d, sizeof d, "%s", paths[i]);
            size_t l = strlen(d);
            while (l > 1 && d[l - 1] == '/') d[--l] = '\0';
            s = find_runs(d, 3, &dirs, &n, &cap, err);
        } else {
            /* A stage file: its folder is the run. */
            char d[REP_PATH];
            snprintf(d, sizeof d, "%s", paths[i]);
            char* slash = strrchr(d, '/');
            if (slash) *slash = '\0';
            else snprintf(d, sizeof d, ".");
            s = add_dir(&dirs, &n, &cap, d, err);
        }
    }
    if (!s && n == 0) {
        char list[600] = "";
        for (size_t i = 0; i < n_paths; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", paths[i]);
        }
        s = gd_error_set(err, GD_EINVAL, list, 0, 0, "run 'gendec run <experiment.yaml>' first",
                         "no result files (eval.h5, fgm.h5, neat.h5, sweep.h5, model.h5) found here");
    }
    gd_report* r = NULL;
    if (!s) {
        r = calloc(1, sizeof *r);
        if (r) r->runs = calloc(n, sizeof *r->runs);
        if (!r || !r->runs) {
            free(r);
            r = NULL;
            s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        }
    }
    for (size_t i = 0; !s && i < n; i++) {
        r->runs[i].dir = dirs[i];
        dirs[i] = NULL;
        r->n_runs = i + 1;
        s = load_run(&r->runs[i], err);
    }
    for (size_t i = 0; i < n; i++) free(dirs[i]);
    free(dirs);
    if (s) {
        gd_report_free(r);
        return s;
    }
    *out = r;
    return GD_OK;
}

void gd_report_free(gd_report* r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_runs; i++) {
        rep_run* run = &r->runs[i];
        free(run->dir);
        free(run->experiment);
        free(run->set);
        free(run->yaml);
        gd_config_free(run->cfg);
        rep_eval_free(&run->eval);
        rep_fgm_free(&run->fgm);
        rep_neat_free(&run->neat);
        rep_sweep_free(&run->sweep);
    }
    free(r->runs);
    free(r->figures);
    free(r);
}

size_t gd_report_n_runs(const gd_report* r) { return r ? r->n_runs : 0; }

const gd_report_run* gd_report_run_info(const gd_report* r, size_t i) {
    return r && i < r->n_runs ? &r->runs[i].info : NULL;
}

size_t gd_report_n_figures(const gd_report* r) { return r ? r->n_figures : 0; }

const char* gd_report_figure_name(const gd_report* r, size_t i) {
    return r && i < r->n_figures ? r->figures[i] : NULL;
}

gd_status gd_report_add_figure(gd_report* r, const char* name, gd_error* err) {
    for (size_t i = 0; i < r->n_figures; i++)
        if (!strcmp(r->figures[i], name)) return GD_OK;
    char (*f)[256] = realloc(r->figures, (r->n_figures + 1) * sizeof *f);
    if (!f) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    r->figures = f;
    snprintf(f[r->n_figures++], 256, "%s", name);
    return GD_OK;
}

void rep_run_label(const gd_report* r, size_t i, char* buf, size_t n) {
    const rep_run* run = &r->runs[i];
    int several = 0;
    for (size_t j = 0; j < r->n_runs; j++)
        if (j != i && !strcmp(r->runs[j].experiment, run->experiment)) several = 1;
    if (!several) {
        snprintf(buf, n, "%s", run->experiment);
        return;
    }
    const char* slash = strrchr(run->dir, '/');
    snprintf(buf, n, "%s (%s)", run->experiment, slash ? slash + 1 : run->dir);
}

gd_status gd_report_set_names(gd_report* r, size_t run, const char* const* comp_names, int n_comp,
                              const char* const* class_names, int n_class, gd_error* err) {
    if (!r || run >= r->n_runs) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "no run %zu", run);
    rep_eval* e = &r->runs[run].eval;
    e->n_comp_names = n_comp < REP_MAX_NAMES ? n_comp : REP_MAX_NAMES;
    for (int i = 0; i < e->n_comp_names; i++) snprintf(e->comp_names[i], REP_NAME, "%s", comp_names[i]);
    e->n_class_names = n_class < REP_MAX_NAMES ? n_class : REP_MAX_NAMES;
    for (int i = 0; i < e->n_class_names; i++) snprintf(e->class_names[i], REP_NAME, "%s", class_names[i]);
    return GD_OK;
}

gd_status gd_report_set_cnn(gd_report* r, size_t run, const int32_t* pred, int64_t N, const char* source,
                            gd_error* err) {
    if (!r || run >= r->n_runs) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "no run %zu", run);
    rep_eval* e = &r->runs[run].eval;
    if (!e->present || N != e->N)
        return gd_error_set(err, GD_EINVAL, r->runs[run].dir, 0, 0, NULL,
                            "CNN predictions of %lld images for a run whose eval.h5 has %lld", (long long)N,
                            (long long)(e->present ? e->N : 0));
    gd_free(e->cnn_pred);
    e->cnn_pred = gd_alloc((size_t)(N ? N : 1) * sizeof(int32_t));
    if (!e->cnn_pred) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    memcpy(e->cnn_pred, pred, (size_t)N * sizeof(int32_t));
    rep_fmt(e->cnn_source, sizeof e->cnn_source, "%s", source ? source : "");
    return GD_OK;
}

gd_status gd_report_eval_images(const gd_report* r, size_t run, char* data_path, size_t n, int64_t** index,
                                int64_t* N, gd_error* err) {
    *index = NULL;
    *N = 0;
    if (!r || run >= r->n_runs || !r->runs[run].eval.present)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "run %zu has no eval.h5", run);
    const rep_eval* e = &r->runs[run].eval;
    rep_fmt(data_path, n, "%s", e->data_path);
    gd_h5* f = NULL;
    gd_status s = gd_h5_open(e->path, "eval", MPI_COMM_NULL, &f, err);
    size_t d[1];
    if (!s) s = gd_h5_read_alloc(f, "eval/index", GD_I64, 1, d, (size_t)1 << 31, (void**)index, err);
    gd_h5_close(f);
    if (!s && d[0] != (size_t)e->N) {
        gd_free(*index);
        *index = NULL;
        s = gd_error_set(err, GD_EFORMAT, e->path, 0, 0, NULL, "eval/index has %zu rows, eval/labels %lld", d[0],
                         (long long)e->N);
    }
    if (!s) *N = e->N;
    return s;
}
