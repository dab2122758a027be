/* fgm.h5 and neat.h5: the attack results as HDF5 datasets (docs/hdf5-schema.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/attack.h"
#include "gendec/infer.h"
#include "gendec/io.h"
#include "gendec/neat.h"

#define W1(name, t, d0, data) gd_h5_write(f, name, t, 1, (size_t[]){(size_t)(d0)}, data, 0, err)
#define W2(name, t, d0, d1, data) gd_h5_write(f, name, t, 2, (size_t[]){(size_t)(d0), (size_t)(d1)}, data, 0, err)

gd_status gd_fgm_sweep_write(gd_h5* f, const gd_fgm_sweep_result* r, const int32_t* labels, int H, int W,
                             gd_error* err) {
    if ((size_t)H * W != (size_t)r->D)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "FGM images of %d pixels are not %d x %d", r->D, H, W);
    size_t E = (size_t)r->n_eps, N = (size_t)r->N;
    double* eps = malloc(sizeof(double) * E);
    if (!eps) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (size_t e = 0; e < E; e++) eps[e] = r->eps[e];
    gd_status s = gd_h5_attr_set_f64s(f, "/", "eps", eps, E, err);
    free(eps);
    if (s) return s;
    if ((s = W1("labels", GD_I32, N, labels))) return s;
    if ((s = gd_h5_write(f, "x_adv", GD_F32, 4, (size_t[]){E, N, (size_t)H, (size_t)W}, r->x_adv, 1, err))) return s;
    if ((s = W2("cnn/pred", GD_I32, E, N, r->pred)) || (s = W2("cnn/p_pred", GD_F32, E, N, r->p_pred)) ||
        (s = W2("cnn/p_true", GD_F32, E, N, r->p_true)) || (s = W1("cnn/accuracy", GD_F64, E, r->acc)) ||
        (s = W2("binarized_cnn/pred", GD_I32, E, N, r->bin_pred)) ||
        (s = W2("binarized_cnn/p_pred", GD_F32, E, N, r->bin_p_pred)) ||
        (s = W1("binarized_cnn/accuracy", GD_F64, E, r->bin_acc)) || (s = W1("mean_linf", GD_F64, E, r->mean_linf)) ||
        (s = W1("mean_l2", GD_F64, E, r->mean_l2)))
        return s;
    return GD_OK;
}

gd_status gd_attack_write_verdicts(gd_h5* f, const char* group, int e, int E, const gd_infer_results* r,
                                   gd_error* err) {
    struct {
        const char* name;
        gd_dtype t;
        const void* data;
        int cols;
    } sets[] = {{"ystar", GD_F32, r->ystar, r->n}, {"ydec", GD_U8, r->ydec, r->n},    {"noise", GD_U8, r->noise, 0},
                {"loss3", GD_F32, r->loss3, 0},    {"loss2", GD_F32, r->loss2, 0},     {"n_candidates", GD_I32, r->n_candidates, 0}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s/%s", group, sets[i].name);
        size_t dims[3];
        int rank = 0;
        if (E > 0) dims[rank++] = (size_t)E;
        dims[rank++] = (size_t)r->N;
        if (sets[i].cols) dims[rank++] = (size_t)sets[i].cols;
        gd_status s = E > 0 ? gd_h5_write_rows(f, name, sets[i].t, rank, dims, (size_t)e, 1, sets[i].data, err)
                            : gd_h5_write(f, name, sets[i].t, rank, dims, sets[i].data, 0, err);
        if (s) return s;
    }
    return GD_OK;
}

gd_status gd_neat_runs_write(gd_h5* f, const gd_neat_run_result* runs, int n_runs, gd_error* err) {
    if (n_runs < 1) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "no NEAT runs to write");
    int H = runs[0].height, W = runs[0].width, G = 0;
    size_t hw = (size_t)H * W, R = (size_t)n_runs, K = 0, Nn = 0, Nc = 0;
    for (int k = 0; k < n_runs; k++) {
        if (runs[k].height != H || runs[k].width != W)
            return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT runs of different image sizes");
        G = runs[k].n_generations > G ? runs[k].n_generations : G;
        K += (size_t)runs[k].n_kept;
        for (int j = 0; j < runs[k].n_kept; j++) Nn += (size_t)runs[k].genomes[j].n_nodes, Nc += (size_t)runs[k].genomes[j].n_conns;
    }
    gd_status s = GD_OK;
    int32_t *target = malloc(4 * R), *ngen = malloc(4 * R), *nkept = malloc(4 * R), *nsp = malloc(4 * R * G + 4);
    uint64_t* seed = malloc(8 * R);
    int64_t* evals = malloc(8 * R);
    float *bconf = malloc(4 * R), *bimg = malloc(4 * R * hw), *curves = malloc(4 * 3 * R * G + 4);
    float *img = malloc(4 * K * hw + 4), *conf = malloc(4 * K + 4);
    int32_t *ktarget = malloc(4 * K + 4), *krun = malloc(4 * K + 4), *kgen = malloc(4 * K + 4), *ni = malloc(12 * Nn + 4);
    int64_t *kkey = malloc(8 * K + 8), *noff = malloc(8 * (K + 1)), *coff = malloc(8 * (K + 1)), *ci = malloc(32 * Nc + 8);
    float *nf = malloc(8 * Nn + 4), *cw = malloc(4 * Nc + 4);
    if (!target || !ngen || !nkept || !nsp || !seed || !evals || !bconf || !bimg || !curves || !img || !conf ||
        !ktarget || !krun || !kgen || !ni || !kkey || !noff || !coff || !ci || !nf || !cw) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (writing NEAT results)");
        goto done;
    }
    size_t k = 0, on = 0, oc = 0;
    noff[0] = coff[0] = 0;
    for (size_t r = 0; r < R; r++) {
        const gd_neat_run_result* x = &runs[r];
        target[r] = x->target, seed[r] = x->seed, ngen[r] = x->n_generations, nkept[r] = x->n_kept;
        bconf[r] = x->best_conf, evals[r] = x->evaluations;
        memcpy(bimg + r * hw, x->best_image, 4 * hw);
        for (int g = 0; g < G; g++) {
            int in = g < x->n_generations;
            curves[(0 * R + r) * G + g] = in ? x->best_fitness[g] : NAN;
            curves[(1 * R + r) * G + g] = in ? x->mean_fitness[g] : NAN;
            curves[(2 * R + r) * G + g] = in ? x->best_confidence[g] : NAN;
            nsp[r * G + g] = in ? x->n_species[g] : 0;
        }
        for (int j = 0; j < x->n_kept; j++, k++) {
            const gd_neat_genome* gn = &x->genomes[j];
            memcpy(img + k * hw, x->images + (size_t)j * hw, 4 * hw);
            conf[k] = x->confidence[j], ktarget[k] = x->target, krun[k] = (int32_t)r, kgen[k] = x->generation[j];
            kkey[k] = gn->key;
            gd_neat_genome_pack(gn, ni + 3 * on, nf + 2 * on, ci + 4 * oc, cw + oc);
            on += (size_t)gn->n_nodes, oc += (size_t)gn->n_conns;
            noff[k + 1] = (int64_t)on, coff[k + 1] = (int64_t)oc;
        }
    }
    size_t hd[3] = {R, (size_t)H, (size_t)W}, kd[3] = {K, (size_t)H, (size_t)W};
    if ((s = W1("runs/target", GD_I32, R, target)) || (s = W1("runs/seed", GD_U64, R, seed)) ||
        (s = W1("runs/n_generations", GD_I32, R, ngen)) || (s = W1("runs/n_kept", GD_I32, R, nkept)) ||
        (s = W1("runs/best_conf", GD_F32, R, bconf)) || (s = W1("runs/evaluations", GD_I64, R, evals)) ||
        (s = gd_h5_write(f, "runs/best_image", GD_F32, 3, hd, bimg, 0, err)) ||
        (s = W2("runs/best_fitness", GD_F32, R, G, curves)) || (s = W2("runs/mean_fitness", GD_F32, R, G, curves + R * G)) ||
        (s = W2("runs/best_confidence", GD_F32, R, G, curves + 2 * R * G)) ||
        (s = W2("runs/n_species", GD_I32, R, G, nsp)) ||
        (s = gd_h5_write(f, "fooling/images", GD_F32, 3, kd, img, K * hw > 100000 ? 1 : 0, err)) ||
        (s = W1("fooling/confidence", GD_F32, K, conf)) || (s = W1("fooling/target", GD_I32, K, ktarget)) ||
        (s = W1("fooling/run", GD_I32, K, krun)) || (s = W1("fooling/generation", GD_I32, K, kgen)) ||
        (s = W1("fooling/key", GD_I64, K, kkey)) || (s = W1("fooling/genomes/node_offset", GD_I64, K + 1, noff)) ||
        (s = W1("fooling/genomes/conn_offset", GD_I64, K + 1, coff)) ||
        (s = W2("fooling/genomes/nodes_i", GD_I32, Nn, 3, ni)) || (s = W2("fooling/genomes/nodes_f", GD_F32, Nn, 2, nf)) ||
        (s = W2("fooling/genomes/conns_i", GD_I64, Nc, 4, ci)) || (s = W1("fooling/genomes/conns_w", GD_F32, Nc, cw)))
        goto done;
done:
    free(target), free(ngen), free(nkept), free(nsp), free(seed), free(evals), free(bconf), free(bimg), free(curves);
    free(img), free(conf), free(ktarget), free(krun), free(kgen), free(ni), free(kkey), free(noff), free(coff);
    free(ci), free(nf), free(cw);
    return s;
}

gd_status gd_neat_genomes_read(gd_h5* f, gd_neat_genome** genomes, int64_t* K, gd_error* err) {
    *genomes = NULL;
    *K = 0;
    size_t d1[GD_H5_MAX_RANK], d2[GD_H5_MAX_RANK], dn[GD_H5_MAX_RANK], dnf[GD_H5_MAX_RANK], dc[GD_H5_MAX_RANK],
        dw[GD_H5_MAX_RANK];
    int64_t *noff = NULL, *coff = NULL, *ci = NULL;
    int32_t* ni = NULL;
    float *nf = NULL, *cw = NULL;
    gd_neat_genome* g = NULL;
    const size_t LIM = (size_t)1 << 28;
    gd_status s;
    if ((s = gd_h5_read_alloc(f, "fooling/genomes/node_offset", GD_I64, 1, d1, LIM, (void**)&noff, err)) ||
        (s = gd_h5_read_alloc(f, "fooling/genomes/conn_offset", GD_I64, 1, d2, LIM, (void**)&coff, err)) ||
        (s = gd_h5_read_alloc(f, "fooling/genomes/nodes_i", GD_I32, 2, dn, LIM, (void**)&ni, err)) ||
        (s = gd_h5_read_alloc(f, "fooling/genomes/nodes_f", GD_F32, 2, dnf, LIM, (void**)&nf, err)) ||
        (s = gd_h5_read_alloc(f, "fooling/genomes/conns_i", GD_I64, 2, dc, LIM, (void**)&ci, err)) ||
        (s = gd_h5_read_alloc(f, "fooling/genomes/conns_w", GD_F32, 1, dw, LIM, (void**)&cw, err)))
        goto done;
    const char* path = gd_h5_path(f);
    if (d1[0] < 1 || d1[0] != d2[0] || dn[1] != 3 || dnf[1] != 2 || dnf[0] != dn[0] || dc[1] != 4 || dw[0] != dc[0] ||
        noff[0] != 0 || coff[0] != 0 || (size_t)noff[d1[0] - 1] != dn[0] || (size_t)coff[d1[0] - 1] != dc[0]) {
        s = gd_error_set(err, GD_EFORMAT, path, 0, 0, "re-run gendec attack neat",
                         "%s: fooling/genomes arrays have inconsistent shapes or offsets", path);
        goto done;
    }
    int64_t n = (int64_t)d1[0] - 1;
    g = calloc((size_t)n + 1, sizeof *g);
    if (!g) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT genomes)");
        goto done;
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t a = noff[k], b = noff[k + 1], c = coff[k], d = coff[k + 1];
        if (a < 0 || b < a || b > noff[n] || c < 0 || d < c || d > coff[n] || b - a > INT32_MAX || d - c > INT32_MAX) {
            s = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "%s: genome %lld has bad offsets", path, (long long)k);
            break;
        }
        if ((s = gd_neat_genome_unpack(&g[k], (int)(b - a), ni + 3 * a, nf + 2 * a, (int)(d - c), ci + 4 * c, cw + c,
                                       err))) {
            gd_error_prefix(err, "%s: genome %lld: ", path, (long long)k);
            err->code = GD_EFORMAT;
            s = GD_EFORMAT;
            break;
        }
    }
    if (s) {
        for (int64_t k = 0; k < n; k++) gd_neat_genome_free(&g[k]);
        free(g);
        goto done;
    }
    *genomes = g;
    *K = n;
done:
    gd_free(noff), gd_free(coff), gd_free(ni), gd_free(nf), gd_free(ci), gd_free(cw);
    return s;
}
