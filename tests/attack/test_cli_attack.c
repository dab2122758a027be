/* `gendec attack fgm` and `gendec attack neat` end to end on a tiny generated set (traffic signs, 16 x 16), a tiny
 * untrained CNN and c-VAE in the checkpoint layout: outputs with the right shapes and consistent values, 2 ranks
 * give the same bits as 1 rank, and bad inputs (a c-VAE given as the CNN, eps outside [0, 1], a population
 * smaller than the elite count, a target the CNN does not have) fail with clear messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gd_test_cli.h"

/* A c-VAE for 16 x 16 images with 4 components and a CNN for 16 x 16 images of 4 classes. */
static void write_models(const char* model, const char* cnn) {
    gd_error err;
    write_cvae(model, 4);
    char sig[1024], arch[1100];
    gd_cnn_spec cs = {16, 16, 4, 3, 4, 16};
    gd_cnn* c = NULL;
    CHECK_OK(gd_cnn_create(&cs, 1, &c, &err), &err);
    CHECK_OK(gd_cnn_init_params(c, 5, &err), &err);
    gd_cnn_spec_format(&cs, sig, sizeof sig);
    snprintf(arch, sizeof arch, "cnn %s", sig);
    save(cnn, arch, gd_cnn_params(c));
    gd_cnn_free(c);
}

int main(void) {
    if (cli_test_setup()) return GD_TEST_SKIP;
    int have_mpiexec = system("command -v mpiexec >/dev/null 2>&1") == 0;
    FILE* f = fopen(yaml, "w");
    fprintf(f, "experiment: {name: tiny}\nseed: 3\n"
               "data:\n  set: traffic_signs\n  ts: {size: 16, n_train: 8, n_val: 4, n_test: 12, n_test_seen: 4,"
               " supersample: 1}\n"
               "infer: {steps: 4, refine_steps: 2, batch: 8, l: 0.3}\n"
               "attack:\n  fgm: {eps: [0, 0.2, 0.4]}\n"
               "  neat: {population: 12, generations: 3, targets: [0, 2], seeds: [1, 2], threshold: 0.1,"
               " max_keep: 3, n_noise_test: 4}\n");
    fclose(f);
    char run_dir[800], model[900], cnn[900];
    snprintf(run_dir, sizeof run_dir, "%s/tiny", results);
    mkdir(results, 0777);
    mkdir(run_dir, 0777);
    snprintf(model, sizeof model, "%s/model.h5", run_dir);
    snprintf(cnn, sizeof cnn, "%s/cnn.h5", run_dir);
    write_models(model, cnn);

    /* fgm, 1 rank */
    char line[4096], f1[1000], f2[1000];
    snprintf(line, sizeof line, "%s attack fgm %s --results %s", bin, yaml, results);
    CHECK_MSG(run(line) == 0, "%s", line);
    snprintf(f1, sizeof f1, "%s/fgm.h5", run_dir);
    size_t d[8] = {0};
    float* xa = read_all(f1, "x_adv", GD_F32, 4, d);
    CHECK(xa && d[0] == 3 && d[1] == 12 && d[2] == 16 && d[3] == 16);
    if (xa) {
        int in_range = 1;
        double maxd = 0;
        for (size_t i = 0; i < 12 * 256; i++) {
            in_range &= xa[i] >= 0 && xa[i] <= 1 && xa[2 * 12 * 256 + i] >= 0 && xa[2 * 12 * 256 + i] <= 1;
            double dd = fabs((double)xa[12 * 256 + i] - xa[i]);
            maxd = dd > maxd ? dd : maxd;
        }
        CHECK(in_range);
        CHECK_NEAR(maxd, 0.2, 1e-6); /* eps 0.2 moves some pixel by exactly 0.2 from the clean image (eps 0) */
    }
    gd_free(xa);
    int32_t* pred = read_all(f1, "cnn/pred", GD_I32, 2, d);
    CHECK(pred && d[0] == 3 && d[1] == 12);
    gd_free(pred);
    uint8_t* yd = read_all(f1, "generative/ydec", GD_U8, 3, d);
    CHECK(yd && d[0] == 3 && d[1] == 12 && d[2] == 4);
    gd_free(yd);
    double* acc = read_all(f1, "generative/accuracy", GD_F64, 1, d);
    CHECK(acc && d[0] == 3 && acc[0] >= 0 && acc[0] <= 1);
    gd_free(acc);
    snprintf(f2, sizeof f2, "%s/fgm.png", run_dir);
    struct stat st;
    CHECK(stat(f2, &st) == 0 && st.st_size > 0);

    /* neat, 1 rank */
    char n1[1000], n2[1000];
    snprintf(line, sizeof line, "%s attack neat %s --results %s", bin, yaml, results);
    CHECK_MSG(run(line) == 0, "%s", line);
    snprintf(n1, sizeof n1, "%s/neat.h5", run_dir);
    int32_t* tg = read_all(n1, "runs/target", GD_I32, 1, d);
    CHECK(tg && d[0] == 4 && tg[0] == 0 && tg[1] == 0 && tg[2] == 2 && tg[3] == 2);
    gd_free(tg);
    int32_t* kept = read_all(n1, "runs/n_kept", GD_I32, 1, d);
    int K = 0;
    for (int r = 0; kept && r < 4; r++) {
        K += kept[r];
        CHECK(kept[r] <= 3);
    }
    gd_free(kept);
    float* conf = read_all(n1, "fooling/confidence", GD_F32, 1, d);
    CHECK(conf && (int)d[0] == K);
    for (int k = 0; conf && k < K; k++) CHECK(conf[k] > 0.1f);
    gd_free(conf);
    uint8_t* nz = read_all(n1, "fooling/generative/noise", GD_U8, 1, d);
    CHECK(nz && (int)d[0] == K);
    gd_free(nz);
    float* noise_img = read_all(n1, "noise/images", GD_F32, 3, d);
    CHECK(noise_img && d[0] == 4);
    gd_free(noise_img);
    printf("neat: %d fooling images kept\n", K);
    CHECK(K == 12);
    snprintf(f2, sizeof f2, "%s/neat.png", run_dir);
    CHECK(stat(f2, &st) == 0 && st.st_size > 0);

    /* 2 ranks: the same bits */
    if (have_mpiexec) {
        snprintf(line, sizeof line,
                 "mpiexec --allow-run-as-root --oversubscribe -n 2 %s attack fgm %s --results %s --out %s/two "
                 "--cnn %s --model %s",
                 bin, yaml, results, dir, cnn, model);
        CHECK_MSG(run(line) == 0, "%s", line);
        snprintf(f2, sizeof f2, "%s/two/fgm.h5", dir);
        CHECK(same_ds(f1, f2, "x_adv", GD_F32, 4));
        CHECK(same_ds(f1, f2, "cnn/pred", GD_I32, 2));
        CHECK(same_ds(f1, f2, "binarized_cnn/pred", GD_I32, 2));
        CHECK(same_ds(f1, f2, "generative/ystar", GD_F32, 3));
        CHECK(same_ds(f1, f2, "generative/noise", GD_U8, 2));
        snprintf(line, sizeof line,
                 "mpiexec --allow-run-as-root --oversubscribe -n 2 %s attack neat %s --results %s --out %s/two "
                 "--cnn %s --model %s",
                 bin, yaml, results, dir, cnn, model);
        CHECK_MSG(run(line) == 0, "%s", line);
        snprintf(n2, sizeof n2, "%s/two/neat.h5", dir);
        CHECK(same_ds(n1, n2, "runs/best_conf", GD_F32, 1));
        CHECK(same_ds(n1, n2, "runs/best_fitness", GD_F32, 2));
        CHECK(same_ds(n1, n2, "fooling/images", GD_F32, 3));
        CHECK(same_ds(n1, n2, "fooling/genomes/conns_i", GD_I64, 2));
        CHECK(same_ds(n1, n2, "fooling/generative/ystar", GD_F32, 2));
    } else
        fprintf(stderr, "note: no mpiexec on PATH; the 2-rank comparison was skipped\n");

    /* no generative classifier: no model needed */
    snprintf(line, sizeof line, "%s attack neat %s --results %s --out %s/nogen --cnn %s --no-generative", bin, yaml,
             results, dir, cnn);
    CHECK_MSG(run(line) == 0, "%s", line);

    /* bad inputs */
    snprintf(line, sizeof line, "%s attack fgm %s --results %s --cnn %s", bin, yaml, results, model);
    CHECK(run(line) == 1 && err_has("holds a c-VAE"));
    snprintf(line, sizeof line, "%s attack fgm %s --results %s --set 'attack.fgm.eps=[0.1, 1.5]'", bin, yaml, results);
    CHECK(run(line) != 0 && err_has("attack.fgm.eps"));
    snprintf(line, sizeof line, "%s attack fgm %s --results %s --set attack.fgm.norm=l2 --set 'attack.fgm.eps=[0.5]'",
             bin, yaml, results);
    CHECK_MSG(run(line) == 0, "%s", line); /* L2 radii are not limited to 1 by the attack (only by the schema) */
    snprintf(line, sizeof line, "%s attack neat %s --results %s --set attack.neat.population=2 --set attack.neat.elitism=3",
             bin, yaml, results);
    CHECK(run(line) == 1 && err_has("elite"));
    snprintf(line, sizeof line, "%s attack neat %s --results %s --set 'attack.neat.targets=[7]'", bin, yaml, results);
    CHECK(run(line) == 1 && err_has("4 classes"));
    snprintf(line, sizeof line, "%s attack neat %s --results %s --cnn %s/none.h5", bin, yaml, results, dir);
    CHECK(run(line) == 1 && err_has("none.h5"));
    snprintf(line, sizeof line, "%s attack pgd %s", bin, yaml);
    CHECK(run(line) == 2);
    return gd_test_done("attack/cli_attack");
}
