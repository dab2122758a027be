/* gendec bench attack: FGM images/s, CPPN rendering, NEAT genome evaluations/s and generations/s against the
 * LeNet-like CNN at the MNIST shapes. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "gendec/attack.h"
#include "gendec/model.h"
#include "gendec/neat.h"

/* Wall seconds per execution of body (median of 5 timed groups of about min_seconds/5 each) into result, and
 * the process CPU seconds per execution over all groups into cpu (on a shared machine the CPU time shows what
 * the code costs, the wall time what it got). */
#define TIME_MEDIAN(result, cpu, min_seconds, body)                                   \
    do {                                                                              \
        double t_[5], c0_ = cli_cpu_seconds();                                                \
        int all_ = 0;                                                                 \
        for (int r_ = 0; r_ < 5; r_++) {                                              \
            int reps_ = 0;                                                            \
            double t0_ = gd_now(), dt_;                                               \
            do {                                                                      \
                body;                                                                 \
                reps_++;                                                              \
            } while ((dt_ = gd_now() - t0_) < (min_seconds) / 5);                     \
            t_[r_] = dt_ / reps_;                                                     \
            all_ += reps_;                                                            \
        }                                                                             \
        cpu = (cli_cpu_seconds() - c0_) / all_;                                               \
        for (int i_ = 1; i_ < 5; i_++)                                                \
            for (int j_ = i_; j_ > 0 && t_[j_ - 1] > t_[j_]; j_--) {                  \
                double x_ = t_[j_];                                                   \
                t_[j_] = t_[j_ - 1], t_[j_ - 1] = x_;                                 \
            }                                                                         \
        result = t_[2];                                                               \
    } while (0)

#define TRY(call)                                  \
    do {                                           \
        if ((call) != GD_OK) {                     \
            rc = cli_fail(&err);                   \
            goto done;                             \
        }                                          \
    } while (0)

int cli_bench_attack(int argc, char** argv) {
    const char* usage =
        "usage: gendec bench attack [--quick] [--threads N] [--population P] [--generations G]\n\n"
        "Against a LeNet-like CNN (28x28, conv 20-50, fc 500, 10 classes; random weights: the speed does not\n"
        "depend on them) measures: FGM images/s (gradient + step, batch 100) and a whole FGM sweep item\n"
        "(attack + CNN on raw and binarized images); CPPN rendering genomes/s; NEAT genome evaluations/s\n"
        "(render + CNN, one batch per generation) at population P (150) and generations/s of whole NEAT runs\n"
        "(evaluation + speciation + reproduction) over G generations (30). OpenBLAS threads: N (1).\n"
        "Each figure is given per wall second and per CPU second of the process (they differ on a busy machine).\n";
    int quick = 0, threads = 1, P = 150, G = 30;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            return CLI_EXIT_OK;
        } else if (cli_flag(argv, i, "--quick")) {
            quick = 1;
        } else if ((t = cli_take(argc, argv, &i, "--threads", &v))) {
            if (t < 0 || (threads = atoi(v)) < 1) return cli_usage_error("bench attack", "--threads needs N >= 1");
        } else if ((t = cli_take(argc, argv, &i, "--population", &v))) {
            if (t < 0 || (P = atoi(v)) < 2) return cli_usage_error("bench attack", "--population needs P >= 2");
        } else if ((t = cli_take(argc, argv, &i, "--generations", &v))) {
            if (t < 0 || (G = atoi(v)) < 1) return cli_usage_error("bench attack", "--generations needs G >= 1");
        } else {
            return cli_usage_error("bench attack", "unknown option '%s'", argv[i]);
        }
    }
    openblas_set_num_threads(threads);
    double secs = quick ? 0.5 : 2.0;
    if (quick && G > 10) G = 10;
    gd_error err;
    gd_error_clear(&err);
    int rc = CLI_EXIT_OK;
    enum { H = 28, W = 28, D = H * W, C = 10, B = 100 };
    gd_cnn_spec sp = {H, W, C, 20, 50, 500};
    gd_cnn* cnn = NULL;
    gd_neat_population* pop = NULL;
    int maxb = P > B ? P : B;
    float* x = malloc(sizeof(float) * (size_t)maxb * D);
    float* adv = malloc(sizeof(float) * (size_t)maxb * D);
    float* g = malloc(sizeof(float) * (size_t)maxb * D);
    float* probs = malloc(sizeof(float) * (size_t)maxb * C);
    int32_t labels[B];
    if (!x || !adv || !g || !probs) {
        gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    TRY(gd_cnn_create(&sp, maxb, &cnn, &err));
    TRY(gd_cnn_init_params(cnn, 1, &err));
    gd_rng rng;
    gd_rng_init(&rng, 1, GD_STREAM_USER, 0);
    for (int i = 0; i < maxb * D; i++) x[i] = gd_rng_uniform(&rng);
    for (int b = 0; b < B; b++) labels[b] = b % C;
    gd_attack_model m;
    gd_attack_model_cnn(&m, cnn);
    /* Forward FLOP of one image: two 5x5 convolutions (pad 2), two dense layers. */
    double fwd = 2.0 * H * W * sp.conv1 * 25 + 2.0 * (H / 2) * (W / 2) * sp.conv2 * sp.conv1 * 25 +
                 2.0 * (H / 4) * (W / 4) * sp.conv2 * sp.fc + 2.0 * sp.fc * C;
    printf("gendec bench attack: OpenBLAS threads %d, CNN 28x28 conv 20-50 fc 500 (%.1f MFLOP forward per image)\n"
           "  rates per wall second (what the process got) and per CPU second (what the work costs)\n",
           threads, fwd / 1e6);
    double t, c;
    TIME_MEDIAN(t, c, secs, TRY(gd_attack_fgm(x, labels, B, D, 0.3f, GD_ATTACK_LINF, m.grad, cnn, g, adv, &err)));
    printf("  FGM (input gradient + step), batch %d:          %8.0f images/s wall  %8.0f /s CPU\n", B, B / t, B / c);
    TIME_MEDIAN(t, c, secs, TRY(gd_attack_cnn_classify(cnn, x, B, probs, &err)));
    printf("  CNN softmax, batch %d:                          %8.0f images/s wall  %8.0f /s CPU  (%.1f GFLOP/s CPU)\n",
           B, B / t, B / c, B * fwd / c / 1e9);
    TIME_MEDIAN(t, c, secs, {
        TRY(gd_attack_fgm(x, labels, B, D, 0.3f, GD_ATTACK_LINF, m.grad, cnn, g, adv, &err));
        TRY(gd_attack_cnn_classify(cnn, adv, B, probs, &err));
        gd_attack_binarize(adv, (size_t)B * D, 0.5f, adv);
        TRY(gd_attack_cnn_classify(cnn, adv, B, probs, &err));
    });
    printf("  FGM sweep item (attack + CNN raw + binarized):   %8.0f images/s wall  %8.0f /s CPU\n", B / t, B / c);
    /* NEAT: a population grown for a few generations so that genomes have hidden nodes. */
    gd_neat_params np;
    gd_neat_params_default(&np);
    np.pop_size = P;
    TRY(gd_neat_population_create(&pop, &np, 1, 0, &err));
    float* fit = malloc(sizeof(float) * (size_t)P);
    if (!fit) {
        gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    for (int gen = 0; gen < 10; gen++) {
        gd_status s = gd_neat_population_render(pop, H, W, adv, &err);
        if (!s) s = gd_attack_cnn_classify(cnn, adv, P, probs, &err);
        for (int i = 0; i < P && !s; i++) fit[i] = gd_neat_fitness(probs + (size_t)i * C, C, gen % C);
        if (!s) s = gd_neat_population_set_fitness(pop, fit, &err);
        if (!s) s = gd_neat_population_evolve(pop, &err);
        if (s) {
            free(fit);
            rc = cli_fail(&err);
            goto done;
        }
    }
    free(fit);
    double nodes = 0, conns = 0;
    for (int i = 0; i < P; i++) {
        nodes += gd_neat_population_genome(pop, i)->n_nodes;
        conns += gd_neat_population_genome(pop, i)->n_conns;
    }
    double t_render, t_cnn, c_render, c_cnn;
    TIME_MEDIAN(t_render, c_render, secs, TRY(gd_neat_population_render(pop, H, W, adv, &err)));
    TIME_MEDIAN(t_cnn, c_cnn, secs, TRY(gd_attack_cnn_classify(cnn, adv, P, probs, &err)));
    printf("  CPPN render 28x28 (%.1f nodes, %.1f connections): %8.0f genomes/s wall %8.0f /s CPU\n", nodes / P,
           conns / P, P / t_render, P / c_render);
    printf("  CNN softmax, batch %d:                          %8.0f images/s wall  %8.0f /s CPU\n", P, P / t_cnn,
           P / c_cnn);
    printf("  NEAT genome evaluations (render + CNN), pop. %d: %8.0f genomes/s wall %8.0f /s CPU\n", P,
           P / (t_render + t_cnn), P / (c_render + c_cnn));
    gd_neat_run_config rc_ = {.height = H, .width = W, .classes = C, .target = 3, .generations = G, .threshold = 1.0f,
                              .seed = 1, .index = 3};
    gd_neat_run_result res;
    double t0 = gd_now(), c0 = cli_cpu_seconds();
    TRY(gd_neat_run(&np, &rc_, gd_attack_cnn_classify, cnn, &res, &err));
    double dt = gd_now() - t0, dc = cli_cpu_seconds() - c0;
    printf("  NEAT run, population %d, %d generations: %.2f generations/s wall, %.2f /s CPU (%.0f and %.0f genome "
           "evaluations/s)\n",
           P, G, G / dt, G / dc, res.evaluations / dt, res.evaluations / dc);
    gd_neat_run_result_free(&res);
done:
    gd_neat_population_free(pop);
    gd_cnn_free(cnn);
    free(x), free(adv), free(g), free(probs);
    return rc;
}
