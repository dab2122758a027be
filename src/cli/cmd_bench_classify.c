/* gendec bench classify: speed of the generative classifier (Eq. 3 alone, and with the decision rule and the
 * refinements) at batch 32 and 256, the GFLOP/s of the decoder passes against the sgemm roof, and 1 vs 2 ranks.
 * Under `mpiexec -n 2` rank 0 first runs alone (MPI_COMM_SELF, the other rank waits), then both ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "gendec/data.h"
#include "gendec/dist.h"
#include "gendec/model.h"

/* A barrier that sleeps instead of spinning, so that a rank waiting for rank 0's solo run leaves the core free. */
static void lazy_barrier(MPI_Comm comm) {
    MPI_Request rq;
    int done = 0;
    MPI_Ibarrier(comm, &rq);
    while (!done) {
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

typedef struct {
    double solve_ips, full_ips, dec_gflops, all_gflops, exact;
    double solve_cpu_ips, full_cpu_ips; /* images per CPU second (summed over the ranks) */
    double busy[2], cpu[2], dec_cpu[2];  /* ranks 0 and 1 in the rule's run: seconds inside gd_infer_classify
                                          * (their chunks' time), CPU seconds, decoder GFLOP per CPU second */
} bench_row;

/* Classifies N images with batch `batch` on comm; fills the figures (rank 0 of comm). */
static gd_status run_one(gd_cvae* m, const float* x, const uint8_t* labels, int N, int batch, MPI_Comm comm,
                         double dec_fwd_flops, bench_row* row, gd_error* err) {
    memset(row, 0, sizeof *row);
    const gd_cvae_spec* sp = gd_cvae_get_spec(m);
    cli_timed_gen cg;
    gd_generator g;
    gd_status st = gd_cvae_generator(m, &g, err);
    if (st) return st;
    cli_timed_gen_wrap(&cg, &g, &g);
    g.max_batch = gd_cvae_max_batch(m) < batch ? gd_cvae_max_batch(m) : batch;
    gd_infer_opts o;
    gd_infer_opts_default(&o);
    o.batch = batch;
    gd_infer* s = NULL;
    if ((st = gd_infer_create(&s, &g, &o, err))) return st;
    int rank;
    MPI_Comm_rank(comm, &rank);
    gd_infer_results r;
    memset(&r, 0, sizeof r);
    st = gd_infer_results_alloc(&r, N, sp->n, sp->n * sp->k, 0, err);
    /* Eq. 3 alone: a dynamic-free static split of the chunks, each rank solving its own block */
    int size;
    MPI_Comm_size(comm, &size);
    int chunks = (N + batch - 1) / batch;
    size_t cb, ce;
    gd_dist_block((size_t)chunks, rank, size, &cb, &ce);
    MPI_Barrier(comm);
    double t0 = gd_now(), c0 = cli_cpu_seconds();
    for (size_t c = cb; c < ce && !st; c++) {
        int b0 = (int)c * batch, B = N - b0 < batch ? N - b0 : batch;
        st = gd_infer_solve(s, x + (size_t)b0 * sp->h * sp->w, (uint64_t)b0, B, &r, b0, err);
    }
    double cpu_solve = cli_cpu_seconds() - c0; /* before the barrier: a rank that waits there spins */
    MPI_Barrier(comm);
    double t_solve = gd_now() - t0;
    st = gd_dist_agree(st, comm, err);
    /* the whole classification through the evaluator (scatter, solve, decide, gather) */
    cli_timed_gen_reset(&cg);
    gd_infer_eval_opts eo = {0};
    MPI_Barrier(comm);
    t0 = gd_now(), c0 = cli_cpu_seconds();
    if (!st) st = gd_infer_eval(s, x, N, 0, &eo, &r, comm, err);
    double t_full = gd_now() - t0, cpu_full = cli_cpu_seconds() - c0;
    /* the rule's CPU time includes a rank's waiting in the final collectives (MPI polls) */
    double local[6] = {cg.pairs_fwd + cg.pairs_bwd, cg.seconds, cpu_solve, cpu_full, 0, 0}, sum[6], per[2][3];
    MPI_Allreduce(local, sum, 6, MPI_DOUBLE, MPI_SUM, comm);
    double mine[3] = {cpu_full, cg.pairs_fwd + cg.pairs_bwd, cg.cpu};
    if (size == 2) MPI_Gather(mine, 3, MPI_DOUBLE, per, 3, MPI_DOUBLE, 0, comm);
    if (!st && rank == 0) {
        /* busy time of each rank: the time of its static block of chunks (gd_infer_classify's per-image time) */
        for (int rr = 0; rr < size && rr < 2; rr++) {
            size_t b, e;
            gd_dist_block((size_t)chunks, rr, size, &b, &e);
            row->busy[rr] = 0;
            for (size_t i = b * batch; i < e * batch && i < (size_t)N; i++) row->busy[rr] += r.time[i];
            row->cpu[rr] = size == 2 ? per[rr][0] : cpu_full;
            row->dec_cpu[rr] = (size == 2 ? per[rr][1] / per[rr][2] : mine[1] / mine[2]) * dec_fwd_flops / 1e9;
        }
        row->solve_cpu_ips = N / sum[2];
        row->full_cpu_ips = N / sum[3];
        gd_infer_metrics mt;
        gd_infer_metrics_init(&mt, sp->n);
        gd_infer_metrics_add(&mt, labels, r.ystar, r.ydec, r.noise, N);
        row->exact = (double)mt.exact / N;
        row->solve_ips = N / t_solve;
        row->full_ips = N / t_full;
        double flops = sum[0] * dec_fwd_flops;
        row->dec_gflops = flops / (sum[1] / size) / 1e9; /* per rank inside the decoder calls, summed over ranks */
        row->all_gflops = flops / t_full / 1e9;
    }
    gd_infer_results_free(&r);
    gd_infer_free(s);
    return st;
}

int cli_bench_classify(int argc, char** argv) {
    const char* model_path = NULL;
    const char* nstr = "1024";
    for (int i = 1; i < argc; i++) {
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: [mpiexec -n 2] gendec bench classify [--model PATH] [--n N]\n\n"
                   "Images classified per second at the default settings (50 Eq. 3 steps, enumeration rule, 50\n"
                   "refinement steps), Eq. 3 alone and the whole rule, at batch 32 and 256, with the GFLOP/s of the\n"
                   "decoder passes (forward + backward to z, y) against the 1-thread sgemm roof. The model is\n"
                   "PATH (a trained c-VAE) or, by default, an untrained MNIST MLP c-VAE (same speed per pass; the\n"
                   "number of candidates, and so the cost of the rule, depends on the weights). Images: the first\n"
                   "N MNIST test images when the files are found (data/mnist or $GD_DATA_DIR), else uniform noise.\n"
                   "Use N of several batches per rank (default 1024). Figures depend on the machine's load: the\n"
                   "sgemm roof is measured in the same run for the fraction.\n"
                   "Under mpiexec -n 2: rank 0 alone first, then both ranks. img/CPU-s: images per CPU second of\n"
                   "the ranks (the steadier figure on a shared machine). Per rank (2 ranks): the time inside\n"
                   "gd_infer_classify for its block of chunks ('busy'), its CPU seconds (including waiting in MPI,\n"
                   "which polls) and the decoder passes' GFLOP per CPU second inside the decoder calls.\n");
            return CLI_EXIT_OK;
        } else if ((t = cli_take(argc, argv, &i, "--model", &model_path)) || (t = cli_take(argc, argv, &i, "--n", &nstr))) {
            if (t < 0) return cli_usage_error("bench classify", "%s needs a value", argv[i]);
        } else
            return cli_usage_error("bench classify", "unknown argument '%s'", argv[i]);
    }
    int N = atoi(nstr);
    if (N < 1) return cli_usage_error("bench classify", "--n must be positive");
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    }
    int rank = cli_rank(), size = cli_world_size();
    gd_error err;
    gd_error_clear(&err);
    gd_cvae* m = NULL;
    gd_status st;
    if (model_path)
        st = gd_cvae_load(model_path, 256, 0, &m, &err);
    else {
        gd_cvae_spec sp;
        gd_cvae_spec_default(&sp, 28, 28, 10);
        st = gd_cvae_create(&sp, 256, 0, &m, &err);
        if (!st) st = gd_cvae_init_params(m, 1, &err);
    }
    const gd_cvae_spec* sp = st ? NULL : gd_cvae_get_spec(m);
    const int D = sp ? sp->h * sp->w : 0;
    float* x = NULL;
    uint8_t* labels = NULL;
    const char* source = "uniform noise";
    if (!st) {
        x = malloc(sizeof(float) * (size_t)N * D);
        labels = calloc((size_t)N * sp->n, 1);
        if (!x || !labels) st = gd_error_set(&err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    if (!st) {
        gd_data_opts dop;
        gd_data_opts_default(&dop, GD_DATA_MNIST);
        dop.max_test = N;
        dop.max_train = 1;
        dop.n_val = 0;
        gd_dataset ds;
        memset(&ds, 0, sizeof ds);
        gd_error e2;
        gd_split te;
        if (sp->h == 28 && sp->w == 28 && sp->n == 10 && gd_dataset_load(&dop, &ds, NULL, &e2) == GD_OK &&
            gd_dataset_split(&ds, "test", &te, &e2) == GD_OK && te.count >= N) {
            memcpy(x, ds.images + te.start * D, sizeof(float) * (size_t)N * D);
            memcpy(labels, ds.labels + te.start * 10, (size_t)N * 10);
            source = "MNIST test images";
        } else {
            gd_rng r;
            gd_rng_init(&r, 1, GD_STREAM_USER, 0);
            for (size_t i = 0; i < (size_t)N * D; i++) x[i] = gd_rng_uniform(&r);
        }
        gd_dataset_free(&ds);
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    if (st) {
        free(x);
        free(labels);
        gd_cvae_free(m);
        int rc = cli_fail(&err);
        if (!init) MPI_Finalize();
        return rc;
    }
    double dec_fwd = (gd_cvae_train_flops(sp, 1) - gd_cvae_train_flops(sp, 0)) / 3.0;
    lazy_barrier(MPI_COMM_WORLD);
    double roof = rank == 0 ? cli_bench_sgemm_gflops(256, 784, 512, 0.5) : 0;
    char sig[512];
    gd_cvae_spec_format(sp, sig, sizeof sig);
    if (rank == 0) {
        printf("bench classify: %s, %d %s; defaults (50 Eq. 3 steps, enumerate, 50 refinement steps)\n",
               model_path ? model_path : "untrained MNIST MLP c-VAE", N, source);
        printf("  model %s; decoder forward %.2f MFLOP per (image, component); sgemm roof (1 thread, 256x784x512) "
               "%.1f GFLOP/s\n", sig, dec_fwd / 1e6, roof);
        printf("  %-6s %-5s %12s %12s %14s %12s %10s %8s %16s\n", "ranks", "batch", "Eq.3 img/s", "rule img/s",
               "decoder GF/s", "of roof", "all GF/s", "exact", "img/CPU-s Eq.3/rule");
    }
    const int batches[2] = {32, 256};
    bench_row one[2], two[2];
    for (int bi = 0; bi < 2 && !st; bi++) {
        if (rank == 0) st = run_one(m, x, labels, N, batches[bi], MPI_COMM_SELF, dec_fwd, &one[bi], &err);
        lazy_barrier(MPI_COMM_WORLD); /* the other ranks sleep meanwhile */
        st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
        if (!st && rank == 0)
            printf("  %-6d %-5d %12.1f %12.1f %14.1f %11.0f%% %10.1f %8.3f %8.1f / %5.1f   decoder %.1f GF/CPU-s\n", 1,
                   batches[bi], one[bi].solve_ips, one[bi].full_ips, one[bi].dec_gflops,
                   100 * one[bi].dec_gflops / roof, one[bi].all_gflops, one[bi].exact, one[bi].solve_cpu_ips,
                   one[bi].full_cpu_ips, one[bi].dec_cpu[0]);
        if (!st && size > 1) {
            st = run_one(m, x, labels, N, batches[bi], MPI_COMM_WORLD, dec_fwd, &two[bi], &err);
            if (!st && rank == 0) {
                printf("  %-6d %-5d %12.1f %12.1f %14.1f %11.0f%% %10.1f %8.3f %8.1f / %5.1f   speed-up %.2fx (Eq. 3) "
                       "%.2fx (rule)\n",
                       size, batches[bi], two[bi].solve_ips, two[bi].full_ips, two[bi].dec_gflops,
                       100 * two[bi].dec_gflops / roof / size, two[bi].all_gflops, two[bi].exact,
                       two[bi].solve_cpu_ips, two[bi].full_cpu_ips, two[bi].solve_ips / one[bi].solve_ips,
                       two[bi].full_ips / one[bi].full_ips);
                if (size == 2)
                    printf("         rule, per rank: busy %.2f / %.2f s of %.2f s wall, CPU %.2f / %.2f s, decoder %.1f / "
                           "%.1f GF/CPU-s (1 rank: busy %.2f s, decoder %.1f GF/CPU-s)\n",
                           two[bi].busy[0], two[bi].busy[1], N / two[bi].full_ips, two[bi].cpu[0], two[bi].cpu[1],
                           two[bi].dec_cpu[0], two[bi].dec_cpu[1], one[bi].busy[0], one[bi].dec_cpu[0]);
            }
        }
    }
    if (!st && rank == 0 && size == 1) printf("  (run under 'mpiexec -n 2' for the 2-rank figures)\n");
    free(x);
    free(labels);
    gd_cvae_free(m);
    int rc = st ? cli_fail(&err) : CLI_EXIT_OK;
    if (!init) MPI_Finalize();
    return rc;
}
