/* fgm.h5 / neat.h5 writers: datasets read back equal, genomes read back re-render the stored images, damaged
 * genome tables are refused. */
#include <string.h>

#include "gd_test.h"
#include "gendec/attack.h"
#include "gendec/io.h"
#include "gendec/neat.h"

static gd_error err;
enum { H = 6, W = 7, HW = H * W };

static gd_status classify(void* ctx, const float* x, int P, float* probs, gd_error* e) {
    (void)ctx, (void)e;
    for (int i = 0; i < P; i++) {
        double m = 0;
        for (int k = 0; k < HW; k++) m += x[i * HW + k];
        m /= HW;
        double z1 = 8 * (m - 0.5), s = 1 + exp(z1);
        probs[i * 2] = (float)(1 / s), probs[i * 2 + 1] = (float)(exp(z1) / s);
    }
    return GD_OK;
}

static void test_neat_file(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 16;
    gd_neat_run_result runs[2];
    for (int r = 0; r < 2; r++) {
        gd_neat_run_config rc = {.height = H, .width = W, .classes = 2, .target = r, .generations = 5 + r,
                                 .threshold = 0.6f, .max_keep = 4, .seed = 9, .index = (uint64_t)r};
        CHECK_OK(gd_neat_run(&p, &rc, classify, NULL, &runs[r], &err), &err);
    }
    int K = runs[0].n_kept + runs[1].n_kept;
    CHECK(K > 0);
    char path[600];
    snprintf(path, sizeof path, "%s/neat.h5", gd_test_tmpdir());
    gd_h5* f;
    CHECK_OK(gd_h5_create(path, "neat", "attack: {}\n", MPI_COMM_NULL, &f, &err), &err);
    CHECK_OK(gd_neat_runs_write(f, runs, 2, &err), &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
    CHECK_OK(gd_h5_open(path, "neat", MPI_COMM_NULL, &f, &err), &err);
    int32_t target[2], ngen[2];
    CHECK_OK(gd_h5_read(f, "runs/target", GD_I32, 1, (size_t[]){2}, target, &err), &err);
    CHECK_OK(gd_h5_read(f, "runs/n_generations", GD_I32, 1, (size_t[]){2}, ngen, &err), &err);
    CHECK(target[0] == 0 && target[1] == 1 && ngen[0] == 5 && ngen[1] == 6);
    float curve[2 * 6];
    CHECK_OK(gd_h5_read(f, "runs/best_confidence", GD_F32, 2, (size_t[]){2, 6}, curve, &err), &err);
    CHECK(isnan(curve[5]) && curve[0] == runs[0].best_confidence[0] && curve[6 + 5] == runs[1].best_confidence[5]);
    float* img = malloc(sizeof(float) * (size_t)K * HW);
    float* conf = malloc(sizeof(float) * (size_t)K);
    CHECK_OK(gd_h5_read(f, "fooling/images", GD_F32, 3, (size_t[]){(size_t)K, H, W}, img, &err), &err);
    CHECK_OK(gd_h5_read(f, "fooling/confidence", GD_F32, 1, (size_t[]){(size_t)K}, conf, &err), &err);
    gd_neat_genome* g;
    int64_t n;
    CHECK_OK(gd_neat_genomes_read(f, &g, &n, &err), &err);
    CHECK(n == K);
    gd_neat_render_ws ws = {0};
    int k = 0;
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < runs[r].n_kept; j++, k++) {
            CHECK(!memcmp(img + k * HW, runs[r].images + j * HW, sizeof(float) * HW));
            CHECK(conf[k] == runs[r].confidence[j]);
            float re[HW];
            CHECK_OK(gd_neat_render(&g[k], &p, H, W, &ws, re, &err), &err);
            CHECK(!memcmp(re, img + k * HW, sizeof re));
            CHECK(g[k].n_conns == runs[r].genomes[j].n_conns && g[k].n_nodes == runs[r].genomes[j].n_nodes);
        }
    for (int64_t i = 0; i < n; i++) gd_neat_genome_free(&g[i]);
    free(g);
    gd_h5_close(f);
    /* A file whose offsets do not add up is refused. */
    snprintf(path, sizeof path, "%s/bad.h5", gd_test_tmpdir());
    CHECK_OK(gd_h5_create(path, "neat", NULL, MPI_COMM_NULL, &f, &err), &err);
    int64_t off[2] = {0, 7}, coff[2] = {0, 0}, ci[4] = {0};
    int32_t ni[3 * 5] = {0};
    float nf[2 * 5] = {0}, cw[1] = {0};
    gd_h5_write(f, "fooling/genomes/node_offset", GD_I64, 1, (size_t[]){2}, off, 0, &err);
    gd_h5_write(f, "fooling/genomes/conn_offset", GD_I64, 1, (size_t[]){2}, coff, 0, &err);
    gd_h5_write(f, "fooling/genomes/nodes_i", GD_I32, 2, (size_t[]){5, 3}, ni, 0, &err);
    gd_h5_write(f, "fooling/genomes/nodes_f", GD_F32, 2, (size_t[]){5, 2}, nf, 0, &err);
    gd_h5_write(f, "fooling/genomes/conns_i", GD_I64, 2, (size_t[]){0, 4}, ci, 0, &err);
    gd_h5_write(f, "fooling/genomes/conns_w", GD_F32, 1, (size_t[]){0}, cw, 0, &err);
    CHECK_OK(gd_h5_commit(f, &err), &err);
    CHECK_OK(gd_h5_open(path, "neat", MPI_COMM_NULL, &f, &err), &err);
    CHECK(gd_neat_genomes_read(f, &g, &n, &err) == GD_EFORMAT && g == NULL);
    CHECK(strstr(err.msg, "bad.h5") != NULL);
    gd_h5_close(f);
    gd_neat_render_free(&ws);
    free(img), free(conf);
    for (int r = 0; r < 2; r++) gd_neat_run_result_free(&runs[r]);
}

static void test_fgm_file(void) {
    enum { E = 2, N = 3, n = 4 };
    gd_fgm_sweep_result r = {0};
    float eps[E] = {0, 0.25f}, xa[E * N * HW], pp[E * N], pt[E * N], bp[E * N];
    int32_t pred[E * N], bpred[E * N], labels[N] = {1, 0, 2};
    double acc[E] = {1, 0.5}, bacc[E] = {1, 0.75}, li[E] = {0, 0.25}, l2[E] = {0, 1.5};
    for (int i = 0; i < E * N * HW; i++) xa[i] = (float)(i % 11) / 10;
    for (int i = 0; i < E * N; i++) pred[i] = i % 3, bpred[i] = (i + 1) % 3, pp[i] = 0.5f + i * 0.01f, pt[i] = 0.1f * i, bp[i] = 0.9f;
    r.n_eps = E, r.N = N, r.D = HW, r.classes = 3, r.eps = eps, r.x_adv = xa, r.pred = pred, r.p_pred = pp;
    r.p_true = pt, r.bin_pred = bpred, r.bin_p_pred = bp, r.acc = acc, r.bin_acc = bacc, r.mean_linf = li, r.mean_l2 = l2;
    char path[600];
    snprintf(path, sizeof path, "%s/fgm.h5", gd_test_tmpdir());
    gd_h5* f;
    CHECK_OK(gd_h5_create(path, "fgm", NULL, MPI_COMM_NULL, &f, &err), &err);
    CHECK_OK(gd_fgm_sweep_write(f, &r, labels, H, W, &err), &err);
    CHECK(gd_fgm_sweep_write(f, &r, labels, H + 1, W, &err) == GD_EINVAL);
    gd_infer_results v;
    for (int e = 1; e >= 0; e--) { /* rows in any order */
        CHECK_OK(gd_infer_results_alloc(&v, N, n, 8, 0, &err), &err);
        for (int i = 0; i < N; i++) {
            v.noise[i] = (uint8_t)((i + e) % 2);
            v.loss3[i] = (float)(e * 10 + i);
            v.ydec[i * n + (i + e) % n] = 1;
            v.ystar[i * n + 1] = 0.5f * e;
        }
        CHECK_OK(gd_attack_write_verdicts(f, "generative", e, E, &v, &err), &err);
        gd_infer_results_free(&v);
    }
    CHECK_OK(gd_h5_commit(f, &err), &err);
    CHECK_OK(gd_h5_open(path, "fgm", MPI_COMM_NULL, &f, &err), &err);
    double e2[E];
    CHECK_OK(gd_h5_attr_get_f64s(f, "/", "eps", e2, E, &err), &err);
    CHECK(e2[0] == 0 && e2[1] == 0.25);
    float xr[E * N * HW];
    CHECK_OK(gd_h5_read(f, "x_adv", GD_F32, 4, (size_t[]){E, N, H, W}, xr, &err), &err);
    CHECK(!memcmp(xr, xa, sizeof xa));
    int32_t pr[E * N];
    CHECK_OK(gd_h5_read(f, "binarized_cnn/pred", GD_I32, 2, (size_t[]){E, N}, pr, &err), &err);
    CHECK(!memcmp(pr, bpred, sizeof pr));
    double ar[E];
    CHECK_OK(gd_h5_read(f, "cnn/accuracy", GD_F64, 1, (size_t[]){E}, ar, &err), &err);
    CHECK(ar[1] == 0.5);
    uint8_t noise[E * N], yd[E * N * n];
    float l3[E * N];
    CHECK_OK(gd_h5_read(f, "generative/noise", GD_U8, 2, (size_t[]){E, N}, noise, &err), &err);
    CHECK_OK(gd_h5_read(f, "generative/ydec", GD_U8, 3, (size_t[]){E, N, n}, yd, &err), &err);
    CHECK_OK(gd_h5_read(f, "generative/loss3", GD_F32, 2, (size_t[]){E, N}, l3, &err), &err);
    for (int e = 0; e < E; e++)
        for (int i = 0; i < N; i++) {
            CHECK(noise[e * N + i] == (i + e) % 2 && l3[e * N + i] == e * 10 + i);
            CHECK(yd[(e * N + i) * n + (i + e) % n] == 1);
        }
    gd_h5_close(f);
}

int main(void) {
    test_neat_file();
    test_fgm_file();
    return gd_test_done("test_attack_io");
}
