/* gendec bench measure: ONE measurement as one JSON line, for bench/run's side-by-side table against the PyTorch
 * reference: training images/s through gd_train_run, or classification images/s through gd_infer_classify,
 * with GFLOP/s and this process's peak RSS. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "gendec/data.h"
#include "gendec/dist.h"
#include "gendec/infer.h"
#include "gendec/train.h"

static const char* measure_usage =
    "usage: gendec bench measure --task train|classify|sgemm [--arch mlp|conv] [--batch B] [--threads T]\n"
    "                            [--seconds S] [--model PATH] [--images IDX3] [--n N]\n"
    "       mpiexec -n R gendec bench measure --task classify --mpi [--schedule static|dynamic] ...\n\n"
    "Prints one JSON line for bench/run. train: the paper's MNIST c-VAE (--arch) trained through gd_train_run on\n"
    "4096 synthetic 28x28 images with one-hot labels for about S seconds (after 3 warm-up steps): images/s,\n"
    "GFLOP/s (dense + conv FLOP of forward and backward, one active decoder per image). classify: the c-VAE of\n"
    "PATH (a model.h5) classifies the first N images of IDX3 (e.g. MNIST's t10k-images-idx3-ubyte; without it\n"
    "uniform noise) in chunks of B\n"
    "with the default infer options (50 Eq. 3 steps, enumeration, 50 refinement steps): images/s, the GFLOP/s of\n"
    "the decoder passes (forward and backward to z, y) while inside them, and each image's decision (bit mask of\n"
    "the components, -1 = noise). sgemm: cblas_sgemm GFLOP/s (square 1024 and 256x512x784, median of 7 runs).\n"
    "Rates are given per wall-clock second and per CPU second of the process (on a shared machine the CPU-time\n"
    "figures are the steadier ones). T = OpenBLAS threads (default 1). rss_mib = peak resident set (getrusage).\n"
    "--mpi (classify): R ranks classify through the evaluator (gd_infer_eval: rank 0 holds the images, chunks of B\n"
    "go out by MPI_Scatterv, or on request with --schedule dynamic, results come back to rank 0); the decisions\n"
    "are the same as with one process; CPU seconds, decoder time and rss_mib are summed over the ranks\n"
    "(rss_mib_max_rank: the largest one); rank_cpu_seconds, rank_decoder_seconds and rank_decoder_passes (image x\n"
    "component passes through a decoder, forward + backward: the work, independent of the load) list each rank's.\n";

/* Peak resident set of this process in MiB. */
static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* cblas_sgemm GFLOP/s per wall second and per CPU second for row-major M x K times K x N, median of 7 runs of
 * about seconds/7 each. */
static void sgemm_rate(int m, int n, int k, double seconds, double* wall, double* cpu) {
    float* a = gd_alloc(sizeof(float) * (size_t)m * k);
    float* b = gd_alloc(sizeof(float) * (size_t)k * n);
    float* c = gd_alloc(sizeof(float) * (size_t)m * n);
    *wall = *cpu = 0;
    if (!a || !b || !c) {
        gd_free(a), gd_free(b), gd_free(c);
        return;
    }
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7) % 13) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 5) % 11) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    double w[7], u[7], flop = 2.0 * m * n * k;
    for (int r = 0; r < 7; r++) {
        int reps = 0;
        double t0 = gd_now(), c0 = cli_cpu_seconds(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            reps++;
            t = gd_now() - t0;
        } while (t < seconds / 7);
        w[r] = flop * reps / t / 1e9;
        u[r] = flop * reps / (cli_cpu_seconds() - c0) / 1e9;
    }
    *wall = cli_median(w, 7), *cpu = cli_median(u, 7);
    gd_free(a), gd_free(b), gd_free(c);
}

/* The sgemm peak at this thread count: square 1024 and the decoders' largest shape, per wall and CPU second. */
static gd_status measure_sgemm(int threads, double seconds) {
    double w1, c1, w2, c2;
    sgemm_rate(1024, 1024, 1024, seconds, &w1, &c1);
    sgemm_rate(256, 784, 512, seconds, &w2, &c2);
    printf("{\"impl\": \"gendec\", \"task\": \"sgemm\", \"threads\": %d, \"square1024_gflops\": %.3f, "
           "\"square1024_gflops_per_cpu_s\": %.3f, \"dec256x512x784_gflops\": %.3f, "
           "\"dec256x512x784_gflops_per_cpu_s\": %.3f, \"gflops\": %.3f, \"gflops_per_cpu_s\": %.3f}\n",
           threads, w1, c1, w2, c2, w1 > w2 ? w1 : w2, c1 > c2 ? c1 : c2);
    return GD_OK;
}

static gd_status measure_train(const char* arch, int B, double seconds, int threads, gd_error* err) {
    enum { NIMG = 4096, SIDE = 28, NCLS = 10 };
    gd_cvae_spec cs;
    gd_cvae_spec_default(&cs, SIDE, SIDE, NCLS);
    if (!strcmp(arch, "conv")) cs.arch = GD_CVAE_CONV;
    float* img = malloc(sizeof(float) * NIMG * SIDE * SIDE);
    uint8_t* lab = calloc(NIMG * NCLS, 1);
    if (!img || !lab) {
        free(img), free(lab);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    gd_rng r;
    gd_rng_init(&r, 1, GD_STREAM_USER, 0);
    for (size_t i = 0; i < (size_t)NIMG * SIDE * SIDE; i++) img[i] = gd_rng_uniform(&r);
    for (int i = 0; i < NIMG; i++) lab[i * NCLS + gd_rng_below(&r, NCLS)] = 1;
    gd_train_data data = {img, lab, NULL, NIMG, SIDE * SIDE, NCLS};
    gd_cvae* m = NULL;
    gd_trainable t = {0};
    gd_status st = gd_cvae_create(&cs, B, B, &m, err);
    if (!st) st = gd_cvae_init_params(m, 1, err);
    if (!st) st = gd_trainable_cvae(m, 1, B, &t, err);
    gd_train_opts o;
    gd_train_opts_default(&o);
    o.global_batch = B;
    o.kind = "bench";
    o.max_steps = 3;
    gd_train_result res;
    memset(&res, 0, sizeof res);
    if (!st) st = gd_train_run(&t, &data, &o, &res, err); /* warm-up */
    gd_train_result_free(&res);
    o.max_steps = 5;
    double t0 = gd_now();
    if (!st) st = gd_train_run(&t, &data, &o, &res, err); /* calibration */
    gd_train_result_free(&res);
    double per = (gd_now() - t0) / 5;
    int64_t steps = (int64_t)(seconds / (per > 1e-6 ? per : 1e-6));
    o.max_steps = steps < 5 ? 5 : steps > 1000000 ? 1000000 : steps;
    double c0 = cli_cpu_seconds();
    if (!st) st = gd_train_run(&t, &data, &o, &res, err);
    double cpu = cli_cpu_seconds() - c0;
    if (!st) {
        double ips = res.images_per_second, flop = gd_cvae_train_flops(&cs, 1);
        printf("{\"impl\": \"gendec\", \"task\": \"train\", \"arch\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"images_per_s\": %.3f, \"steps\": %lld, \"seconds\": %.4f, \"gflops\": %.3f, "
               "\"mflop_per_image\": %.4f, \"cpu_seconds\": %.4f, \"images_per_cpu_s\": %.3f, \"rss_mib\": %.2f}\n",
               arch, B, threads, ips, (long long)res.steps_this_run, res.wall_seconds, ips * flop / 1e9, flop / 1e6, cpu,
               (double)res.steps_this_run * B / cpu, peak_rss_mib());
    }
    gd_train_result_free(&res);
    if (t.release) t.release(t.self);
    gd_cvae_free(m);
    free(img), free(lab);
    return st;
}

/* The first N images (D pixels each) of an idx3 file into x (N, D) scaled to [0, 1], reading only those bytes
 * (as reference.py does, so that neither side's peak RSS holds the whole file). */
static gd_status read_images(const char* path, int N, int D, float* x, gd_error* err) {
    uint8_t* px = NULL;
    int64_t n = 0;
    int rows = 0, cols = 0;
    gd_status st = gd_idx_read_images_first(path, N, &px, &n, &rows, &cols, err);
    if (!st && ((int64_t)rows * cols != D || n < N))
        st = gd_error_set(err, GD_EINVAL, path, 0, 0, "use --n up to the file's image count",
                          "%s holds %lld images of %d pixels; the model needs %d images of %d pixels", path,
                          (long long)n, rows * cols, N, D);
    for (size_t i = 0; !st && i < (size_t)N * D; i++) x[i] = px[i] / 255.0f;
    gd_free(px);
    return st;
}

/* Prints the decisions of N images as a JSON list: the bit mask of the components, -1 = noise. */
static void print_decisions(const gd_infer_results* res, int N, int n) {
    for (int i = 0; i < N; i++) {
        long long mask = 0;
        for (int j = 0; j < n; j++) mask |= (long long)res->ydec[(size_t)i * n + j] << j;
        printf("%s%lld", i ? ", " : "", res->noise[i] ? -1LL : mask);
    }
}

/* Classifies the first N images of `images` (NULL: uniform noise) with the c-VAE of `path` in chunks of B and
 * prints the JSON line. comm == MPI_COMM_NULL: one process, a loop of gd_infer_classify; else (collective) the
 * evaluator gd_infer_eval over comm (rank 0 reads the images and prints; `dynamic` picks its schedule), the
 * CPU time, decoder time and peak RSS summed over the ranks. */
static gd_status measure_classify(const char* path, const char* images, int B, int N, int threads, MPI_Comm comm,
                                  int dynamic, gd_error* err) {
    int rank = 0, size = 1;
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank), MPI_Comm_size(comm, &size);
    gd_cvae* m = NULL;
    gd_status st = gd_cvae_load(path, B, 0, &m, err);
    const gd_cvae_spec* sp = st ? NULL : gd_cvae_get_spec(m);
    const int D = sp ? sp->h * sp->w : 0, n = sp ? sp->n : 0, W8 = N < 8 ? N : 8, W = W8 < B ? W8 : B;
    float* x = NULL;
    const char* source = images ? images : "uniform";
    if (!st && !(x = malloc(sizeof(float) * (size_t)(rank == 0 ? N : W) * D)))
        st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    if (!st && rank == 0 && images) {
        st = read_images(images, N, D, x, err);
    } else if (!st && rank == 0) {
        gd_rng r;
        gd_rng_init(&r, 1, GD_STREAM_USER, 0);
        for (size_t i = 0; i < (size_t)N * D; i++) x[i] = gd_rng_uniform(&r);
    }
    cli_timed_gen tg;
    gd_generator g;
    gd_infer* s = NULL;
    gd_infer_results res;
    memset(&res, 0, sizeof res);
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.batch = B;
    if (!st && !(st = gd_cvae_generator(m, &g, err))) {
        cli_timed_gen_wrap(&tg, &g, &g);
        st = gd_infer_create(&s, &g, &o, err);
    }
    /* every rank's warm-up chunk: rank 0's first images, and the rank-0 results hold all N */
    if (!st) st = gd_infer_results_alloc(&res, rank == 0 ? N : W, n, n * sp->k, 0, err);
    if (comm != MPI_COMM_NULL) {
        st = gd_dist_agree(st, comm, err);
        if (!st) MPI_Bcast(x, W * D, MPI_FLOAT, 0, comm);
    }
    if (!st) st = gd_infer_classify(s, x, 0, W, &res, 0, err);
    if (comm != MPI_COMM_NULL) {
        st = gd_dist_agree(st, comm, err);
        if (!st) MPI_Barrier(comm);
    }
    cli_timed_gen_reset(&tg);
    double t0 = gd_now(), cpu0 = cli_cpu_seconds();
    if (!st && comm != MPI_COMM_NULL) {
        gd_infer_eval_opts eo = {.dynamic = dynamic};
        st = gd_infer_eval(s, x, N, 0, &eo, &res, comm, err);
    }
    for (int c0 = 0; comm == MPI_COMM_NULL && c0 < N && !st; c0 += B) {
        int nb = N - c0 < B ? N - c0 : B;
        st = gd_infer_classify(s, x + (size_t)c0 * D, (uint64_t)c0, nb, &res, c0, err);
    }
    double dt = gd_now() - t0, cpu = cli_cpu_seconds() - cpu0;
    /* per rank: CPU seconds, decoder seconds, decoder CPU seconds, decoder passes, peak RSS */
    double mine[5] = {cpu, tg.seconds, tg.cpu, tg.pairs_fwd + tg.pairs_bwd, peak_rss_mib()};
    double* all = calloc((size_t)size * 5, sizeof(double));
    if (!all) st = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    if (comm != MPI_COMM_NULL) {
        st = gd_dist_agree(st, comm, err);
        if (!st) MPI_Gather(mine, 5, MPI_DOUBLE, all, 5, MPI_DOUBLE, 0, comm);
    } else if (all)
        memcpy(all, mine, sizeof mine);
    if (!st && rank == 0) {
        double sum[5] = {0, 0, 0, 0, 0}, rss_max = 0;
        for (int r = 0; r < size; r++) {
            for (int k = 0; k < 5; k++) sum[k] += all[r * 5 + k];
            rss_max = all[r * 5 + 4] > rss_max ? all[r * 5 + 4] : rss_max;
        }
        double dec_fwd = (gd_cvae_train_flops(sp, 1) - gd_cvae_train_flops(sp, 0)) / 3.0; /* FLOP of one decoder pass */
        double flop = sum[3] * dec_fwd, dec_s = sum[1] / size; /* decoder seconds: the mean over ranks */
        printf("{\"impl\": \"gendec\", \"task\": \"classify\", \"arch\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"ranks\": %d, \"schedule\": \"%s\", \"images\": %d, \"source\": \"%s\", \"images_per_s\": %.3f, "
               "\"seconds\": %.4f, \"decoder_gflops\": %.3f, \"decoder_share\": %.4f, \"gflops\": %.3f, "
               "\"cpu_seconds\": %.4f, \"images_per_cpu_s\": %.3f, \"decoder_gflops_per_cpu_s\": %.3f, "
               "\"rss_mib\": %.2f, \"rss_mib_max_rank\": %.2f, \"rank_cpu_seconds\": [",
               sp->arch == GD_CVAE_CONV ? "conv" : "mlp", B, threads, size, dynamic ? "dynamic" : "static", N, source,
               N / dt, dt, flop / dec_s / 1e9, dec_s / dt, flop / dt / 1e9, sum[0], N / sum[0], flop / sum[2] / 1e9,
               sum[4], rss_max);
        for (int r = 0; r < size; r++) printf("%s%.4f", r ? ", " : "", all[r * 5]);
        printf("], \"rank_decoder_seconds\": [");
        for (int r = 0; r < size; r++) printf("%s%.4f", r ? ", " : "", all[r * 5 + 1]);
        printf("], \"rank_decoder_passes\": [");
        for (int r = 0; r < size; r++) printf("%s%.0f", r ? ", " : "", all[r * 5 + 3]);
        printf("], \"decisions\": [");
        print_decisions(&res, N, n);
        printf("]}\n");
    }
    free(all);
    gd_infer_results_free(&res);
    gd_infer_free(s);
    gd_cvae_free(m);
    free(x);
    return st;
}

int cli_bench_measure(int argc, char** argv) {
    const char *task = NULL, *arch = "mlp", *model = NULL, *images = NULL, *schedule = "static";
    int B = 32, threads = 1, N = 256, mpi = 0;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", measure_usage);
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--task", &task)) || (t = cli_take(argc, argv, &i, "--arch", &arch)) ||
                   (t = cli_take(argc, argv, &i, "--model", &model)) ||
                   (t = cli_take(argc, argv, &i, "--images", &images)) ||
                   (t = cli_take(argc, argv, &i, "--schedule", &schedule))) {
            if (t < 0) return cli_usage_error("bench measure", "%s needs a value", argv[i]);
        } else if (cli_flag(argv, i, "--mpi")) {
            mpi = 1;
        } else if ((t = cli_take(argc, argv, &i, "--batch", &v))) {
            if (t < 0 || (B = atoi(v)) < 1 || B > 65536) return cli_usage_error("bench measure", "--batch needs 1..65536");
        } else if ((t = cli_take(argc, argv, &i, "--threads", &v))) {
            if (t < 0 || (threads = atoi(v)) < 1 || threads > 1024)
                return cli_usage_error("bench measure", "--threads needs 1..1024");
        } else if ((t = cli_take(argc, argv, &i, "--n", &v))) {
            if (t < 0 || (N = atoi(v)) < 1) return cli_usage_error("bench measure", "--n needs a number >= 1");
        } else if ((t = cli_take(argc, argv, &i, "--seconds", &v))) {
            if (t < 0 || !((seconds = atof(v)) > 0)) return cli_usage_error("bench measure", "--seconds needs a number > 0");
        } else
            return cli_usage_error("bench measure", "unknown option '%s'", argv[i]);
    }
    if (!task || (strcmp(task, "train") && strcmp(task, "classify") && strcmp(task, "sgemm")))
        return cli_usage_error("bench measure", "--task train, classify or sgemm is required");
    if (strcmp(arch, "mlp") && strcmp(arch, "conv")) return cli_usage_error("bench measure", "--arch is mlp or conv");
    if (!strcmp(task, "classify") && !model) return cli_usage_error("bench measure", "--task classify needs --model PATH");
    if (strcmp(schedule, "static") && strcmp(schedule, "dynamic"))
        return cli_usage_error("bench measure", "--schedule is static or dynamic");
    if (mpi && strcmp(task, "classify")) return cli_usage_error("bench measure", "--mpi is for --task classify");
    openblas_set_num_threads(threads);
    int init = 1;
    if (mpi) {
        MPI_Initialized(&init);
        if (!init) {
            int provided;
            MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        }
    }
    gd_error err;
    gd_error_clear(&err);
    gd_status st = !strcmp(task, "train")    ? measure_train(arch, B, seconds, threads, &err)
                   : !strcmp(task, "sgemm") ? measure_sgemm(threads, seconds)
                                            : measure_classify(model, images, B, N, threads,
                                                               mpi ? MPI_COMM_WORLD : MPI_COMM_NULL,
                                                               !strcmp(schedule, "dynamic"), &err);
    int rc = st ? cli_fail(&err) : CLI_EXIT_OK;
    if (!init) MPI_Finalize();
    return rc;
}
