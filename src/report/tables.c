/* report: the tables of the paper's §5 computed from the per-image results of the runs. Every number of ours
 * is a count k over n images, recomputed here from the per-image arrays (not copied from a summary). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The paper's figures (PAPER.md §5), as fractions. */
static const double paper_eps[5] = {0.0, 0.1, 0.2, 0.3, 0.4};
static const double paper_mnist_base[5] = {0.97, 0.95, 0.90, 0.76, 0.51};
static const double paper_mnist_prop[5] = {0.95, 0.87, 0.91, 0.87, 0.82};
static const double paper_norb_base[5] = {0.598, 0.183, 0.028, 0.008, 0.002};
static const double paper_norb_prop[5] = {0.871, 0.619, 0.401, 0.246, 0.188};
#define PAPER_TS_CNN_LEFT 0.99
#define PAPER_TS_PROPOSED 0.95
#define PAPER_MULTI 0.656
#define PAPER_NEAT_NOISE 0.906

/* ---- building tables ---------------------------------------------------------------------------------- */

static gd_report_table* new_table(gd_report_table** tables, size_t* n, gd_report_table_kind kind, const char* title,
                                  size_t n_cols) {
    gd_report_table* t = realloc(*tables, (*n + 1) * sizeof *t);
    if (!t) return NULL;
    *tables = t;
    t = &t[(*n)++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    snprintf(t->title, sizeof t->title, "%s", title);
    t->n_cols = n_cols;
    t->col = calloc(n_cols ? n_cols : 1, sizeof *t->col);
    return t->col ? t : NULL;
}

/* A new table of one column `col` with `caption` (see new_table). */
static gd_report_table* new_table1(gd_report_table** tables, size_t* n, gd_report_table_kind kind, const char* title,
                                   const char* col, const char* caption) {
    gd_report_table* t = new_table(tables, n, kind, title, 1);
    if (!t) return NULL;
    snprintf(t->col[0], sizeof t->col[0], "%s", col);
    snprintf(t->caption, sizeof t->caption, "%s", caption);
    return t;
}

/* Appends a row with every cell empty (no result, no paper figure). */
static gd_report_row* new_row(gd_report_table* t, const char* label, int percent) {
    gd_report_row* r = realloc(t->rows, (t->n_rows + 1) * sizeof *r);
    if (!r) return NULL;
    t->rows = r;
    r = &r[t->n_rows];
    memset(r, 0, sizeof *r);
    r->cells = calloc(t->n_cols ? t->n_cols : 1, sizeof *r->cells);
    if (!r->cells) return NULL;
    t->n_rows++;
    snprintf(r->label, sizeof r->label, "%s", label);
    r->percent = percent;
    for (size_t c = 0; c < t->n_cols; c++) {
        r->cells[c].value = NAN;
        r->cells[c].paper = NAN;
    }
    return r;
}

static void set_cell(gd_report_cell* c, int64_t k, int64_t n, double paper) {
    c->k = k;
    c->n = n;
    c->value = n > 0 ? (double)k / (double)n : NAN;
    c->paper = paper;
}

void gd_report_tables_free(gd_report_table* tables, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < tables[i].n_rows; r++) free(tables[i].rows[r].cells);
        free(tables[i].rows);
        free(tables[i].col);
    }
    free(tables);
}

const gd_report_row* gd_report_find_row(const gd_report_table* t, const char* label) {
    for (size_t r = 0; r < t->n_rows; r++)
        if (!strcmp(t->rows[r].label, label)) return &t->rows[r];
    return NULL;
}

/* ---- settings text --------------------------------------------------------------------------------------- */

/* Shortest text of a float. */
static void fmt_num(char* buf, size_t n, double v) { snprintf(buf, n, "%.6g", v); }

/* Appends "key=value" of a config key to buf. */
static void add_setting(char* buf, size_t n, const gd_config* cfg, const char* key, const char* shown) {
    const gd_config_key* k = gd_config_lookup(key);
    if (!k) return;
    char v[64] = "?";
    switch (k->type) {
    case GD_CFG_BOOL: snprintf(v, sizeof v, "%s", gd_config_bool(cfg, key) ? "true" : "false"); break;
    case GD_CFG_INT: snprintf(v, sizeof v, "%lld", (long long)gd_config_int(cfg, key)); break;
    case GD_CFG_FLOAT: fmt_num(v, sizeof v, gd_config_float(cfg, key)); break;
    case GD_CFG_STRING:
    case GD_CFG_ENUM: snprintf(v, sizeof v, "%s", gd_config_string(cfg, key)); break;
    default: break;
    }
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "%s%s=%s", l ? ", " : "", shown ? shown : key, v);
}

/* The scale note of a run ("scale=quick" matters: such numbers are not the paper's setting). */
static void add_scale(char* buf, size_t n, const rep_run* run) {
    if (!run->cfg) return;
    add_setting(buf, n, run->cfg, "scale", NULL);
    add_setting(buf, n, run->cfg, "seed", NULL);
}

/* Appends "key=value" with a number. */
static void add_num(char* buf, size_t n, const char* key, double v) {
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "%s%s=%.6g", l ? ", " : "", key, v);
}

/* Settings of the generative classifier's numbers: what the stage file says it used (g, when it has them;
 * e.g. the sweep's best point), the rest from the run's config. */
static void gen_settings(char* buf, size_t n, const rep_run* run, const rep_gen* g) {
    buf[0] = '\0';
    const gd_config* c = run->cfg;
    if (!c && !(g && g->have)) {
        snprintf(buf, n, "see the config_yaml attribute of the run's files (not readable by this gendec)");
        return;
    }
    static const char* names[GD_REP_GEN_N] = {"l", "yl", "yu", "c", "beta", "b", "steps"};
    static const char* keys[GD_REP_GEN_N] = {"infer.l", "infer.yl", "infer.yu", "infer.c", "infer.beta", "infer.b",
                                             "infer.steps"};
    if (g && g->have) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "rule=%s, binarize_input=%s", g->rule, g->binarize ? "true" : "false");
    } else {
        add_setting(buf, n, c, "infer.rule", "rule");
        add_setting(buf, n, c, "infer.binarize_input", "binarize_input");
    }
    for (int k = 0; k < GD_REP_GEN_N; k++) {
        if (g && g->have && !isnan(g->v[k])) add_num(buf, n, names[k], g->v[k]);
        else if (c) add_setting(buf, n, c, keys[k], names[k]);
    }
    if (g && g->have && g->from_sweep > 0) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, " (the best point of the run's sweep.h5)");
    }
    if (!c) return;
    add_setting(buf, n, c, "infer.norm", "norm");
    add_setting(buf, n, c, "infer.scale", "pixel_scale");
    add_setting(buf, n, c, "model.arch", "model");
    add_setting(buf, n, c, "model.k", "k");
    add_setting(buf, n, c, "model.recon", "recon");
    add_setting(buf, n, c, "train.epochs", "epochs");
    add_scale(buf, n, run);
}

/* Settings of the CNN's numbers. */
static void cnn_settings(char* buf, size_t n, const rep_run* run, int binarized) {
    buf[0] = '\0';
    const gd_config* c = run->cfg;
    if (!c) {
        snprintf(buf, n, "see the config_yaml attribute of the run's files");
        return;
    }
    snprintf(buf, n, "LeNet");
    add_setting(buf, n, c, "cnn.conv1", "conv1");
    add_setting(buf, n, c, "cnn.conv2", "conv2");
    add_setting(buf, n, c, "cnn.fc", "fc");
    add_setting(buf, n, c, "cnn.epochs", "epochs");
    if (binarized) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, ", input binarized at 0.5");
    }
    add_scale(buf, n, run);
}

/* Appends the attack's settings. */
static void attack_settings(char* buf, size_t n, const rep_run* run) {
    size_t l = strlen(buf);
    if (run->fgm.pgd_steps > 0)
        snprintf(buf + l, n - l, "; attack: PGD %lld steps, %s, from the CNN", (long long)run->fgm.pgd_steps,
                 run->fgm.norm[0] ? run->fgm.norm : "linf");
    else
        snprintf(buf + l, n - l, "; attack: FGM %s from the CNN", run->fgm.norm[0] ? run->fgm.norm : "linf");
}

/* The set as the tables name it; *stand_in = 1 for Fashion-MNIST (in place of NORB). */
static const char* set_title(const char* set, int* stand_in) {
    *stand_in = 0;
    if (!strcmp(set, "mnist")) return "MNIST";
    if (!strcmp(set, "norb")) return "NORB";
    if (!strcmp(set, "fashion_mnist")) {
        *stand_in = 1;
        return "Fashion-MNIST (for NORB)";
    }
    if (!strcmp(set, "multimnist")) return "multiMNIST";
    if (!strcmp(set, "traffic_signs")) return "traffic signs";
    return set;
}

static void source2(char* buf, size_t n, const char* a, const char* b) {
    if (b && b[0]) rep_fmt(buf, n, "%s, %s", a, b);
    else rep_fmt(buf, n, "%s", a);
}

/* ---- per-image counting ------------------------------------------------------------------------------------ */

/* 1 when the decision of image i equals its label exactly (a rejected image has y† = 0). */
static int exact_ok(const uint8_t* ydec, const uint8_t* noise, const uint8_t* label, int64_t i, int n) {
    for (int c = 0; c < n; c++) {
        int d = noise[i] ? 0 : ydec[i * n + c] != 0;
        if (d != (label[i * n + c] != 0)) return 0;
    }
    return 1;
}

/* 1 when the decision of image i is exactly the one component `cls` (not rejected). */
static int onehot_ok(const uint8_t* ydec, uint8_t noise, int n, int32_t cls) {
    if (noise || cls < 0 || cls >= n) return 0;
    for (int c = 0; c < n; c++)
        if ((ydec[c] != 0) != (c == cls)) return 0;
    return 1;
}

/* 1 when the two largest y* of image i are its two label components (CapsNet's rule; ties to lower index). */
static int top2_ok(const float* ystar, const uint8_t* label, int64_t i, int n) {
    int a = -1, b = -1;
    for (int c = 0; c < n; c++) {
        float v = ystar[i * n + c];
        if (a < 0 || v > ystar[i * n + a]) {
            b = a;
            a = c;
        } else if (b < 0 || v > ystar[i * n + b]) {
            b = c;
        }
    }
    int ones = 0;
    for (int c = 0; c < n; c++) ones += label[i * n + c] != 0;
    return ones == 2 && a >= 0 && b >= 0 && label[i * n + a] && label[i * n + b];
}

/* Index of `name` among names, else -1. */
static int name_index(const char names[][REP_NAME], int n, const char* name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

/* ---- the tables ---------------------------------------------------------------------------------------------- */

/* Novel traffic signs. */
static gd_status table_ts(const gd_report* r, gd_report_table** tables, size_t* nt, gd_error* err) {
    gd_report_table* t = NULL;
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_run* run = &r->runs[i];
        const rep_eval* e = &run->eval;
        if (strcmp(run->set, "traffic_signs") || !e->present) continue;
        if (!t) {
            t = new_table1(tables, nt, GD_REPORT_T_TS, "Novel objects: traffic signs (paper §4.1)", "novel test signs",
                     "Trained on \"left turn\", \"right turn\" and \"no right turn\"; tested on the novel signs of "
                     "data.ts.novel (paper: \"no left turn\" = circle + slash + left arrow). The CNN can only "
                     "answer a sign it was trained on. The generative classifier is correct when its decision y† "
                     "equals the image's component label exactly (a rejected image counts as wrong).");
            if (!t) goto oom;
        }
        char lab[GD_REPORT_TEXT], txt[GD_REPORT_TEXT];
        rep_run_label(r, i, lab, sizeof lab);
        int left = name_index(e->class_names, e->n_class_names, "left_turn");
        if (left < 0) left = 0; /* the traffic-sign class order: left turn first (data.h) */
        if (e->cnn_pred) {
            rep_fmt(txt, sizeof txt, "%s: CNN, classified as \"left turn\"", lab);
            gd_report_row* row = new_row(t, txt, 1);
            if (!row) goto oom;
            int64_t k = 0;
            for (int64_t j = 0; j < e->N; j++) k += e->cnn_pred[j] == left;
            set_cell(&row->cells[0], k, e->N, PAPER_TS_CNN_LEFT);
            cnn_settings(row->settings, sizeof row->settings, run, 0);
            source2(row->source, sizeof row->source, e->path, e->cnn_source);
            if (e->classes) {
                rep_fmt(txt, sizeof txt, "%s: CNN, correct sign", lab);
                if (!(row = new_row(t, txt, 1))) goto oom;
                k = 0;
                for (int64_t j = 0; j < e->N; j++) k += e->cnn_pred[j] == e->classes[j];
                set_cell(&row->cells[0], k, e->N, NAN);
                cnn_settings(row->settings, sizeof row->settings, run, 0);
                source2(row->source, sizeof row->source, e->path, e->cnn_source);
            }
        }
        rep_fmt(txt, sizeof txt, "%s: proposed, correct decomposition", lab);
        gd_report_row* row = new_row(t, txt, 1);
        if (!row) goto oom;
        int64_t k = 0, rej = 0;
        for (int64_t j = 0; j < e->N; j++) {
            k += exact_ok(e->ydec, e->noise, e->label, j, e->n);
            rej += e->noise[j] != 0;
        }
        set_cell(&row->cells[0], k, e->N, PAPER_TS_PROPOSED);
        gen_settings(row->settings, sizeof row->settings, run, &e->gen);
        source2(row->source, sizeof row->source, e->path, run->model_path);
        rep_fmt(txt, sizeof txt, "%s: proposed, rejected as noise", lab);
        if (!(row = new_row(t, txt, 1))) goto oom;
        set_cell(&row->cells[0], rej, e->N, NAN);
        gen_settings(row->settings, sizeof row->settings, run, &e->gen);
        source2(row->source, sizeof row->source, e->path, run->model_path);
    }
    return GD_OK;
oom:
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory building the tables");
}

/* multiMNIST decomposition. */
static gd_status table_multi(const gd_report* r, gd_report_table** tables, size_t* nt, gd_error* err) {
    gd_report_table* t = NULL;
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_run* run = &r->runs[i];
        const rep_eval* e = &run->eval;
        if (strcmp(run->set, "multimnist") || !e->present) continue;
        if (!t) {
            t = new_table1(tables, nt, GD_REPORT_T_MULTI, "Overlapping objects: multiMNIST (paper §4.1)", "test images",
                     "Two overlapping digits of different classes per image. \"Both digits\" counts an image when "
                     "the decision y† is exactly its two digits (the paper's 65.6%); \"top-2\" counts it when the "
                     "two largest y* are its digits (CapsNet's rule; the paper quotes CapsNet at 95%).");
            if (!t) goto oom;
        }
        char lab[GD_REPORT_TEXT], txt[GD_REPORT_TEXT];
        rep_run_label(r, i, lab, sizeof lab);
        rep_fmt(txt, sizeof txt, "%s: proposed, both digits", lab);
        gd_report_row* row = new_row(t, txt, 1);
        if (!row) goto oom;
        int64_t k = 0;
        for (int64_t j = 0; j < e->N; j++) k += exact_ok(e->ydec, e->noise, e->label, j, e->n);
        set_cell(&row->cells[0], k, e->N, PAPER_MULTI);
        gen_settings(row->settings, sizeof row->settings, run, &e->gen);
        source2(row->source, sizeof row->source, e->path, run->model_path);
        if (e->ystar) {
            rep_fmt(txt, sizeof txt, "%s: proposed, top-2 of y*", lab);
            if (!(row = new_row(t, txt, 1))) goto oom;
            int64_t pairs = 0;
            k = 0;
            for (int64_t j = 0; j < e->N; j++) {
                int ones = 0;
                for (int c = 0; c < e->n; c++) ones += e->label[j * e->n + c] != 0;
                if (ones != 2) continue;
                pairs++;
                k += top2_ok(e->ystar, e->label, j, e->n);
            }
            set_cell(&row->cells[0], k, pairs, NAN);
            snprintf(row->cells[0].note, sizeof row->cells[0].note, "CapsNet (paper's reference): 95%%");
            gen_settings(row->settings, sizeof row->settings, run, &e->gen);
            source2(row->source, sizeof row->source, e->path, run->model_path);
        }
    }
    return GD_OK;
oom:
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory building the tables");
}

/* Column of eps value v among cols, or -1. */
static int eps_col(const double* cols, size_t n, double v) {
    for (size_t c = 0; c < n; c++)
        if (fabs(cols[c] - v) < 1e-6) return (int)c;
    return -1;
}

/* Table 1: accuracy under FGM. */
static gd_status table_fgm(const gd_report* r, gd_report_table** tables, size_t* nt, gd_error* err) {
    double cols[64];
    size_t nc = 0;
    int any = 0;
    for (int c = 0; c < 5; c++) cols[nc++] = paper_eps[c];
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_fgm* g = &r->runs[i].fgm;
        if (!g->present) continue;
        any = 1;
        for (int e = 0; e < g->n_eps && nc < 64; e++)
            if (eps_col(cols, nc, g->eps[e]) < 0) cols[nc++] = g->eps[e];
    }
    if (!any) return GD_OK;
    /* ascending ε */
    for (size_t a = 1; a < nc; a++)
        for (size_t b = a; b > 0 && cols[b] < cols[b - 1]; b--) {
            double tmp = cols[b];
            cols[b] = cols[b - 1];
            cols[b - 1] = tmp;
        }
    gd_report_table* t = new_table(tables, nt, GD_REPORT_T_FGM, "Table 1: accuracy under FGM (paper §4.2)", nc);
    if (!t) goto oom;
    for (size_t c = 0; c < nc; c++) snprintf(t->col[c], sizeof t->col[c], "eps %.2g", cols[c]);
    snprintf(t->caption, sizeof t->caption,
             "Adversarial test images x + eps*sign(grad) computed on the CNN and given to every classifier. "
             "Baseline = the CNN on inputs binarized at 0.5 (the binarization defense); proposed = the generative "
             "classifier, correct when its decision is exactly the true class (rejected = wrong). MNIST rows as "
             "fractions and NORB rows in %% as in the paper; Fashion-MNIST rows stand in for NORB where smallNORB "
             "is not available and are shown beside the paper's NORB figures.");
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_run* run = &r->runs[i];
        const rep_fgm* g = &run->fgm;
        if (!g->present) continue;
        int stand_in;
        const char* set = set_title(run->set, &stand_in);
        int mnist = !strcmp(run->set, "mnist");
        int norb_like = !strcmp(run->set, "norb") || stand_in;
        char lab[GD_REPORT_TEXT], txt[GD_REPORT_TEXT];
        rep_run_label(r, i, lab, sizeof lab);
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 2 && !g->ydec) continue;
            static const char* names[3] = {"CNN (no defense)", "baseline (binarization)", "proposed"};
            rep_fmt(txt, sizeof txt, "%s %s [%s]", set, names[kind], lab);
            gd_report_row* row = new_row(t, txt, !mnist);
            if (!row) goto oom;
            for (int e = 0; e < g->n_eps; e++) {
                int c = eps_col(cols, nc, g->eps[e]);
                int64_t k = 0;
                for (int64_t j = 0; j < g->N; j++) {
                    int32_t y = g->label[j];
                    if (kind == 0) k += g->cnn_pred[(size_t)e * g->N + j] == y;
                    else if (kind == 1) k += g->bin_pred[(size_t)e * g->N + j] == y;
                    else
                        k += onehot_ok(g->ydec + ((size_t)e * g->N + j) * g->n, g->noise[(size_t)e * g->N + j], g->n, y);
                }
                double paper = NAN;
                int pc = eps_col(paper_eps, 5, g->eps[e]);
                if (pc >= 0 && kind == 1) paper = mnist ? paper_mnist_base[pc] : norb_like ? paper_norb_base[pc] : NAN;
                if (pc >= 0 && kind == 2) paper = mnist ? paper_mnist_prop[pc] : norb_like ? paper_norb_prop[pc] : NAN;
                set_cell(&row->cells[c], k, g->N, paper);
            }
            /* the paper's figures also where we have no result */
            for (int pc = 0; pc < 5; pc++) {
                int c = eps_col(cols, nc, paper_eps[pc]);
                if (row->cells[c].n) continue;
                if (kind == 1) row->cells[c].paper = mnist ? paper_mnist_base[pc] : norb_like ? paper_norb_base[pc] : NAN;
                if (kind == 2) row->cells[c].paper = mnist ? paper_mnist_prop[pc] : norb_like ? paper_norb_prop[pc] : NAN;
            }
            if (kind == 2) gen_settings(row->settings, sizeof row->settings, run, &g->gen);
            else cnn_settings(row->settings, sizeof row->settings, run, kind == 1);
            attack_settings(row->settings, sizeof row->settings, run);
            if (stand_in) {
                size_t l = strlen(row->settings);
                snprintf(row->settings + l, sizeof row->settings - l,
                         "; Fashion-MNIST stands in for NORB (paper's NORB figures shown)");
            }
            source2(row->source, sizeof row->source, g->path, kind == 2 ? run->model_path : run->cnn_path);
        }
    }
    return GD_OK;
oom:
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory building the tables");
}

/* How many of v (n) are above thr / not 0. */
static int64_t count_above(const float* v, int64_t n, double thr) {
    int64_t k = 0;
    for (int64_t j = 0; j < n; j++) k += v[j] > thr;
    return k;
}
static int64_t count_set(const uint8_t* v, int64_t n) {
    int64_t k = 0;
    for (int64_t j = 0; j < n; j++) k += v[j] != 0;
    return k;
}

/* The classifier of a NEAT table row. */
enum { NEAT_CNN, NEAT_BIN_CNN, NEAT_GEN };

/* Appends a row of the NEAT table: k of n images (paper's figure `paper`), with the settings and files of the
 * classifier `who` of run. Nonzero when out of memory. */
static int neat_row(gd_report_table* t, const char* txt, int64_t k, int64_t n, double paper, const rep_run* run,
                    int who) {
    gd_report_row* row = new_row(t, txt, 1);
    if (!row) return 1;
    set_cell(&row->cells[0], k, n, paper);
    if (who == NEAT_GEN) gen_settings(row->settings, sizeof row->settings, run, &run->neat.gen);
    else cnn_settings(row->settings, sizeof row->settings, run, who == NEAT_BIN_CNN);
    source2(row->source, sizeof row->source, run->neat.path, who == NEAT_GEN ? run->model_path : run->cnn_path);
    return 0;
}

/* NEAT fooling images. */
static gd_status table_neat(const gd_report* r, gd_report_table** tables, size_t* nt, gd_error* err) {
    gd_report_table* t = NULL;
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_run* run = &r->runs[i];
        const rep_neat* g = &run->neat;
        if (!g->present) continue;
        if (!t) {
            t = new_table1(tables, nt, GD_REPORT_T_NEAT, "Fooling images: NEAT/CPPN (paper §4.2)", "fooling images",
                     "Images evolved by NEAT (CPPNs) until the CNN gives the target class a confidence above the "
                     "threshold; the test set is every such image. The generative classifier should reject them as "
                     "noise (best Eq. 3 loss above l).");
            if (!t) goto oom;
        }
        char lab[GD_REPORT_TEXT], txt[GD_REPORT_TEXT];
        rep_run_label(r, i, lab, sizeof lab);
        rep_fmt(txt, sizeof txt, "%s: CNN fooled (confidence > %.2g)", lab, g->threshold);
        if (neat_row(t, txt, count_above(g->cnn_conf, g->N, g->threshold), g->N, NAN, run, NEAT_CNN)) goto oom;
        if (g->bin_conf) {
            rep_fmt(txt, sizeof txt, "%s: binarized CNN still fooled", lab);
            if (neat_row(t, txt, count_above(g->bin_conf, g->N, g->threshold), g->N, NAN, run, NEAT_BIN_CNN)) goto oom;
        }
        if (!g->noise) continue;
        rep_fmt(txt, sizeof txt, "%s: proposed, identified as noise", lab);
        if (neat_row(t, txt, count_set(g->noise, g->N), g->N, PAPER_NEAT_NOISE, run, NEAT_GEN)) goto oom;
        if (g->noise_noise) {
            rep_fmt(txt, sizeof txt, "%s: proposed, uniform noise rejected", lab);
            if (neat_row(t, txt, count_set(g->noise_noise, g->N_noise), g->N_noise, NAN, run, NEAT_GEN)) goto oom;
        }
    }
    return GD_OK;
oom:
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory building the tables");
}

/* Hyper-parameter sweeps: the best point of each, with missing array tasks named. */
static gd_status table_sweep(const gd_report* r, gd_report_table** tables, size_t* nt, gd_error* err) {
    gd_report_table* t = NULL;
    for (size_t i = 0; i < r->n_runs; i++) {
        const rep_run* run = &r->runs[i];
        const rep_sweep* sw = &run->sweep;
        if (!sw->present) continue;
        if (!t) {
            t = new_table1(tables, nt, GD_REPORT_T_SWEEP, "Hyper-parameter sweeps (validation images)", "best grid point",
                     "Exact-match accuracy on the validation images at the best grid point of (beta, b, c, l, yl, "
                     "yu). A sweep split into job-array tasks lists the tasks whose results are missing: their grid "
                     "points were not evaluated and are not part of the maximum.");
            if (!t) goto oom;
        }
        char lab[GD_REPORT_TEXT], txt[GD_REPORT_TEXT];
        rep_run_label(r, i, lab, sizeof lab);
        rep_fmt(txt, sizeof txt, "%s: %zu grid points", lab, sw->n_points);
        gd_report_row* row = new_row(t, txt, 1);
        if (!row) goto oom;
        size_t best = 0;
        int have = 0;
        for (size_t p = 0; p < sw->n_points; p++) {
            if (sw->count[p] <= 0) continue;
            double v = (double)sw->exact[p] / (double)sw->count[p];
            if (!have || v > (double)sw->exact[best] / (double)sw->count[best]) best = p;
            have = 1;
        }
        if (have) {
            set_cell(&row->cells[0], sw->exact[best], sw->count[best], NAN);
            const double* q = sw->point[best];
            snprintf(row->settings, sizeof row->settings, "best: beta=%.6g, b=%.6g, c=%.6g, l=%.6g, yl=%.6g, yu=%.6g", q[0],
                     q[1], q[2], q[3], q[4], q[5]);
        }
        if (sw->n_missing) {
            char* note = row->cells[0].note;
            size_t nn = sizeof row->cells[0].note;
            int w = snprintf(note, nn, "%lld of %lld array tasks missing:", (long long)sw->n_missing,
                             (long long)sw->tasks);
            for (int64_t m = 0; m < sw->n_missing && w > 0 && (size_t)w < nn; m++)
                w += snprintf(note + w, nn - (size_t)w, "%s %lld", m ? "," : "", (long long)sw->missing[m]);
        }
        rep_fmt(row->source, sizeof row->source, "%s", sw->path);
    }
    return GD_OK;
oom:
    return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory building the tables");
}

gd_status gd_report_tables(const gd_report* r, gd_report_table** tables, size_t* n_tables, gd_error* err) {
    *tables = NULL;
    *n_tables = 0;
    gd_status s = table_ts(r, tables, n_tables, err);
    if (!s) s = table_multi(r, tables, n_tables, err);
    if (!s) s = table_fgm(r, tables, n_tables, err);
    if (!s) s = table_neat(r, tables, n_tables, err);
    if (!s) s = table_sweep(r, tables, n_tables, err);
    if (s) {
        gd_report_tables_free(*tables, *n_tables);
        *tables = NULL;
        *n_tables = 0;
    }
    return s;
}
