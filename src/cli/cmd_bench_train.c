/* gendec bench train: training throughput of the MNIST models through the real training loop (gather, model
 * step, gradient allreduce, Adam), images/s, GFLOP/s and the fraction of the measured sgemm roof. */
#include <cblas.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gendec/dist.h"
#include "gendec/train.h"

static const char* bench_train_usage =
    "usage: gendec bench train [--quick] [--threads T] [--models mlp,conv,cnn] [--batches 32,256] [--seconds S]\n"
    "                          [--comm auto|shm|mpi] [--no-spawn] [--json]\n\n"
    "Trains the MNIST models (the default mlp c-VAE 784-512-256 / 10 x 4-256-512-784, the authors' conv c-VAE,\n"
    "the LeNet CNN) on synthetic 28x28 images with one-hot labels through gd_train_run, and prints images/s,\n"
    "achieved GFLOP/s (dense + conv FLOP of forward and backward, one active decoder per image) and its fraction\n"
    "of the sgemm roof measured at the same setting (cblas_sgemm 1024^3, all ranks at once). 'model', 'comm' and\n"
    "'adam' are the shares of the wall time spent in the model's forward + backward, in the gradient reduction /\n"
    "weight gather / metric allreduce, and in zeroing the gradient + Adam (mean over ranks). --comm picks the\n"
    "trainer's exchange (train.comm; default auto) and the row's model name ends in /shm or /mpi on 2+ ranks: on\n"
    "the shm path (node-shared memory) there is no gradient copy and no weight gather; summing the local ranks'\n"
    "gradient blocks happens inside the fused zero + Adam pass and counts as 'adam', and 'comm' is only the\n"
    "small status/metric allreduce and the node barrier (including waiting for the slower rank).\n"
    "'img/cpu-s' is images per CPU-second summed over ranks and threads (including each run's setup, which for\n"
    "the shm path is allocating and first touching the shared windows, ~0.1-0.4 s here): on a machine shared\n"
    "with other jobs it shows the work done apart from waiting for a CPU (MPI waits busy-poll, so they count as\n"
    "CPU time).\n"
    "Run plainly it measures 1 rank x T threads (T = 2) and then starts itself under 'mpiexec -n 2' with one\n"
    "thread per rank (unless --no-spawn); under mpiexec it measures R ranks x T threads (T = 1).\n"
    "--json: one JSON line per row instead (for bench/scaling), with seconds per step in the model, in all\n"
    "communication ('comm'), in its first collective alone ('sync': waiting for the slowest rank) and in Adam,\n"
    "each the mean over ranks, plus the load average at the start of the row.\n";

typedef struct {
    int rank, size, threads, json;
    gd_train_comm comm_mode;
    MPI_Comm comm;
    double seconds, roof;
    gd_train_data data;
} bench_ctx;

/* Runs the loop on trainable t; prints one table row on rank 0. */
static gd_status bench_row(bench_ctx* c, const char* name, gd_trainable* t, int64_t batch, double flop_per_img,
                           gd_error* err) {
    gd_trainable wt = *t;
    gd_train_opts o;
    gd_train_opts_default(&o);
    o.global_batch = batch;
    o.comm = c->comm;
    o.comm_mode = c->comm_mode;
    o.kind = "bench";
    o.max_steps = 3;
    gd_train_result r;
    gd_status st = gd_train_run(&wt, &c->data, &o, &r, err); /* warm-up and calibration */
    double per_step = r.wall_seconds / 3; /* the loop alone, without the run's setup */
    gd_train_result_free(&r);
    if (st) return st;
    int64_t steps = (int64_t)(c->seconds / (per_step > 1e-6 ? per_step : 1e-6));
    if (steps < 5) steps = 5;
    if (steps > 100000) steps = 100000;
    if (c->size > 1) MPI_Bcast(&steps, 1, MPI_INT64_T, 0, c->comm);
    o.max_steps = steps;
    double cpu0 = cli_cpu_seconds();
    if ((st = gd_train_run(&wt, &c->data, &o, &r, err))) return st;
    double cpu = cli_cpu_seconds() - cpu0;
    if (c->size > 1) MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPI_DOUBLE, MPI_SUM, c->comm);
    double ips = r.images_per_second, gf = ips * flop_per_img / 1e9;
    double share[4] = {r.model_seconds / r.wall_seconds, r.comm_seconds / r.wall_seconds, r.optim_seconds / r.wall_seconds,
                       r.sync_seconds / r.wall_seconds};
    if (c->size > 1) MPI_Allreduce(MPI_IN_PLACE, share, 4, MPI_DOUBLE, MPI_SUM, c->comm);
    double step_s = r.wall_seconds / (double)r.steps_this_run;
    const char* path = c->size < 2 ? "" : r.comm_shm ? "shm" : "mpi";
    char label[64];
    snprintf(label, sizeof label, "%s%s%s", name, *path ? "/" : "", path);
    gd_train_result_free(&r);
    if (c->rank == 0 && c->json) {
        double load = -1;
        FILE* f = fopen("/proc/loadavg", "r");
        if (f && fscanf(f, "%lf", &load) != 1) load = -1;
        if (f) fclose(f);
        printf("{\"bench\": \"train\", \"model\": \"%s\", \"batch\": %lld, \"ranks\": %d, \"threads\": %d, "
               "\"images_per_s\": %.3f, \"images_per_cpu_s\": %.3f, \"gflops\": %.3f, \"roof_gflops\": %.3f, "
               "\"mflop_per_image\": %.4f, \"step_s\": %.6e, \"model_s\": %.6e, \"comm_s\": %.6e, \"sync_s\": %.6e, "
               "\"adam_s\": %.6e, \"steps\": %lld, \"loadavg\": %.2f, \"comm\": \"%s\"}\n",
               name, (long long)batch, c->size, c->threads, ips, (double)steps * batch / cpu, gf, c->roof,
               flop_per_img / 1e6, step_s, step_s * share[0] / c->size, step_s * share[1] / c->size,
               step_s * share[3] / c->size, step_s * share[2] / c->size, (long long)steps, load, path);
        fflush(stdout);
    } else if (c->rank == 0) {
        printf("%-14s %6lld %3d x %-3d %10.0f %9.0f %9.1f %7.1f%% %6.0f%% %5.0f%% %5.0f%% %7lld\n", label,
               (long long)batch, c->size, c->threads, ips, (double)steps * batch / cpu, gf, 100 * gf / c->roof,
               100 * share[0] / c->size, 100 * share[1] / c->size, 100 * share[2] / c->size, (long long)steps);
        fflush(stdout);
    }
    return GD_OK;
}

/* Parses "a,b,c" ints into v (at most 8); returns the count. */
static int parse_ints(const char* s, int64_t* v) {
    int n = 0;
    while (*s && n < 8) {
        char* end;
        v[n++] = strtoll(s, &end, 10);
        if (end == s) return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int cli_bench_train(int argc, char** argv) {
    int quick = 0, no_spawn = 0, threads = 0, json = 0;
    const char* comm_arg = "auto";
    const char* models = "mlp,conv";
    int64_t batches[8] = {32, 256};
    int n_batches = 2;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", bench_train_usage);
            return CLI_EXIT_OK;
        } else if (cli_flag(argv, i, "--quick")) {
            quick = 1;
        } else if (cli_flag(argv, i, "--no-spawn")) {
            no_spawn = 1;
        } else if (cli_flag(argv, i, "--json")) {
            json = 1;
        } else if ((t = cli_take(argc, argv, &i, "--threads", &v))) {
            if (t < 0 || (threads = atoi(v)) < 1) return cli_usage_error("bench train", "--threads needs a number >= 1");
        } else if ((t = cli_take(argc, argv, &i, "--comm", &comm_arg))) {
            if (t < 0 || (strcmp(comm_arg, "auto") && strcmp(comm_arg, "shm") && strcmp(comm_arg, "mpi")))
                return cli_usage_error("bench train", "--comm needs auto, shm or mpi");
        } else if ((t = cli_take(argc, argv, &i, "--models", &models))) {
            if (t < 0) return cli_usage_error("bench train", "--models needs a list (mlp,conv,cnn)");
        } else if ((t = cli_take(argc, argv, &i, "--batches", &v))) {
            if (t < 0 || (n_batches = parse_ints(v, batches)) < 1)
                return cli_usage_error("bench train", "--batches needs a list of sizes");
        } else if ((t = cli_take(argc, argv, &i, "--seconds", &v))) {
            if (t < 0 || !((seconds = atof(v)) > 0)) return cli_usage_error("bench train", "--seconds needs a number > 0");
        } else {
            return cli_usage_error("bench train", "unknown option '%s'", argv[i]);
        }
    }
    if (quick) seconds = 0.5;
    int under_mpi = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
    int init = 0;
    MPI_Initialized(&init);
    int own_mpi = 0;
    if (under_mpi && !init) {
        int provided;
        MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        own_mpi = 1;
    }
    bench_ctx c = {0};
    c.comm = MPI_COMM_NULL;
    c.size = 1;
    if (under_mpi) {
        c.comm = MPI_COMM_WORLD;
        MPI_Comm_rank(c.comm, &c.rank);
        MPI_Comm_size(c.comm, &c.size);
        if (c.size == 1) c.comm = MPI_COMM_NULL;
    }
    c.threads = threads ? threads : (c.size > 1 ? 1 : 2);
    c.seconds = seconds;
    c.json = json;
    c.comm_mode = !strcmp(comm_arg, "shm") ? GD_TRAIN_COMM_SHM : !strcmp(comm_arg, "mpi") ? GD_TRAIN_COMM_MPI
                                                                                       : GD_TRAIN_COMM_AUTO;
    openblas_set_num_threads(c.threads);
    /* the roof: sgemm 1024^3 on every rank at the same time */
    if (c.size > 1) MPI_Barrier(c.comm);
    c.roof = cli_bench_sgemm_gflops(1024, 1024, 1024, quick ? 0.3 : 1.0);
    if (c.size > 1) MPI_Allreduce(MPI_IN_PLACE, &c.roof, 1, MPI_DOUBLE, MPI_SUM, c.comm);
    /* synthetic MNIST-like data: 28x28 in [0,1], one-hot labels */
    enum { NIMG = 4096, SIDE = 28, NCLS = 10 };
    float* img = malloc(sizeof(float) * NIMG * SIDE * SIDE);
    uint8_t* lab = calloc(NIMG * NCLS, 1);
    int32_t* cls = malloc(sizeof(int32_t) * NIMG);
    if (!img || !lab || !cls) {
        fprintf(stderr, "gendec bench train: out of memory\n");
        free(img), free(lab), free(cls);
        if (own_mpi) MPI_Finalize();
        return CLI_EXIT_FAIL;
    }
    gd_rng r;
    gd_rng_init(&r, 1, GD_STREAM_USER, 0);
    for (size_t i = 0; i < (size_t)NIMG * SIDE * SIDE; i++) img[i] = gd_rng_uniform(&r);
    for (int i = 0; i < NIMG; i++) {
        cls[i] = (int32_t)gd_rng_below(&r, NCLS);
        lab[i * NCLS + cls[i]] = 1;
    }
    c.data = (gd_train_data){img, lab, cls, NIMG, SIDE * SIDE, NCLS};
    if (c.rank == 0 && !json) {
        printf("training throughput (sgemm roof at this setting: %.1f GFLOP/s over %d rank%s x %d thread%s)\n", c.roof,
               c.size, c.size > 1 ? "s" : "", c.threads, c.threads > 1 ? "s" : "");
        printf("%-14s %6s %9s %10s %9s %9s %8s %7s %6s %6s %7s\n", "model", "batch", "ranks x T", "images/s",
               "img/cpu-s", "GFLOP/s", "of roof", "model", "comm", "adam", "steps");
    }
    gd_error err;
    gd_error_clear(&err);
    gd_status st = GD_OK;
    char list[256];
    snprintf(list, sizeof list, "%s", models);
    char* save = NULL;
    for (char* m = strtok_r(list, ",", &save); m && !st; m = strtok_r(NULL, ",", &save)) {
        for (int bi = 0; bi < n_batches && !st; bi++) {
            int64_t B = batches[bi];
            size_t b0, b1;
            gd_dist_block((size_t)B, 0, c.size, &b0, &b1);
            int local = (int)(b1 - b0);
            gd_trainable t = {0};
            char name[32];
            if (!strcmp(m, "cnn")) {
                gd_cnn_spec cs = {.h = SIDE, .w = SIDE, .n_classes = NCLS, .conv1 = 20, .conv2 = 50, .fc = 500};
                gd_cnn* net = NULL;
                st = gd_cnn_create(&cs, local, &net, &err);
                if (!st) st = gd_cnn_init_params(net, 1, &err);
                if (!st) st = gd_trainable_cnn(net, local, &t, &err);
                snprintf(name, sizeof name, "cnn lenet");
                if (!st) st = bench_row(&c, name, &t, B, gd_cnn_train_flops(&cs), &err);
                gd_cnn_free(net);
            } else if (!strcmp(m, "mlp") || !strcmp(m, "conv")) {
                gd_cvae_spec cs;
                gd_cvae_spec_default(&cs, SIDE, SIDE, NCLS);
                if (!strcmp(m, "conv")) cs.arch = GD_CVAE_CONV;
                gd_cvae* net = NULL;
                st = gd_cvae_create(&cs, local, local, &net, &err);
                if (!st) st = gd_cvae_init_params(net, 1, &err);
                if (!st) st = gd_trainable_cvae(net, 1, local, &t, &err);
                snprintf(name, sizeof name, "c-VAE %s", m);
                if (!st) st = bench_row(&c, name, &t, B, gd_cvae_train_flops(&cs, 1), &err);
                if (t.release) t.release(t.self);
                gd_cvae_free(net);
            } else {
                gd_error_set(&err, GD_EINVAL, NULL, 0, 0, "use mlp, conv or cnn", "unknown model '%s'", m);
                st = GD_EINVAL;
            }
        }
    }
    free(img), free(lab), free(cls);
    int rc = st ? cli_fail(&err) : CLI_EXIT_OK;
    if (own_mpi) MPI_Finalize();
    if (!st && !under_mpi && !no_spawn) {
        /* the same benchmark on 2 ranks x 1 thread */
        char cmd[4096];
        int len = snprintf(cmd, sizeof cmd, "mpiexec %s--oversubscribe -n 2 /proc/%d/exe bench train --threads 1",
                           geteuid() == 0 ? "--allow-run-as-root " : "", (int)getpid());
        char exe[1024];
        ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (k > 0) {
            exe[k] = '\0';
            len = snprintf(cmd, sizeof cmd, "mpiexec %s--oversubscribe -n 2 '%s' bench train --threads 1",
                           geteuid() == 0 ? "--allow-run-as-root " : "", exe);
        }
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --models %s --comm %s --seconds %g%s --batches", models, comm_arg, seconds,
                        json ? " --json" : "");
        for (int bi = 0; bi < n_batches; bi++)
            len += snprintf(cmd + len, sizeof cmd - (size_t)len, "%s%lld", bi ? "," : " ", (long long)batches[bi]);
        if (!json) printf("\n$ %s\n", cmd);
        fflush(stdout);
        if (system(cmd) != 0) fprintf(stderr, "gendec bench train: the 2-rank run failed (is mpiexec available?)\n");
    }
    return rc;
}
