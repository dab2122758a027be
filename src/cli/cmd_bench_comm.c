/* gendec bench comm: times the collectives the trainer uses (MPI_Allreduce, MPI_Reduce_scatter_block,
 * MPI_Allgather) over message sizes 4 B .. 64 MiB and fits the alpha-beta model t(n) = alpha + n * beta to each. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gendec/dist.h"
#include "gendec/model.h"

static const char* bench_comm_usage =
    "usage: mpiexec -n 2 gendec bench comm [--quick] [--reps R] [--max-mib M] [--pow2]\n\n"
    "Times MPI_Allreduce (sum), MPI_Reduce_scatter_block (sum) and MPI_Allgather of float vectors of n bytes\n"
    "(n = the whole vector: the allreduce's buffer, the reduce-scatter's input, the allgather's output) for\n"
    "n = 4 B, 16 B, ... (powers of 4; --pow2: of 2) up to M MiB (default 64; --quick: 4 MiB and 5 repetitions),\n"
    "each rounded up to whole floats per rank (4 B becomes 8 B at 2 ranks, for all three, so rows compare).\n"
    "Each point is the median over R repetitions (default 11) of the slowest rank's mean time per call over a\n"
    "loop of calls lasting about 2 ms. Each collective's points are fitted by t(n) = alpha + n * beta with least\n"
    "squares on the relative residuals (gd_dist_fit_alpha_beta); 1/beta is the algorithm bandwidth, and the\n"
    "ring-algorithm 'bus' bandwidth it implies is 2(p-1)/p / beta for the allreduce, (p-1)/p / beta for the\n"
    "others; the same fits over the sizes >= 64 KiB alone follow (names *_large). Last, the collectives at the exact gradient sizes of the MNIST mlp and conv c-VAEs (what the\n"
    "trainer moves per step: reduce-scatter + allgather of all P floats, or one allreduce with replicated Adam).\n"
    "Ranks on one machine talk through shared memory (Open MPI's vader BTL): the figures are memory copies,\n"
    "not a network; docs/scaling.md uses them next to a cluster interconnect's alpha and beta.\n";

enum { COLL_AR, COLL_RS, COLL_AG, N_COLL };
static const char* coll_names[N_COLL] = {"allreduce", "reduce_scatter", "allgather"};

/* One call of collective c on a vector of `count` floats (count a multiple of size). */
static int coll_call(int c, const float* send, float* recv, int count, int size) {
    switch (c) {
    case COLL_AR: return MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    case COLL_RS: return MPI_Reduce_scatter_block(send, recv, count / size, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    default: return MPI_Allgather(send, count / size, MPI_FLOAT, recv, count / size, MPI_FLOAT, MPI_COMM_WORLD);
    }
}

/* Median over reps of the slowest rank's seconds per call of collective c on count floats (collective). */
static int time_coll(int c, const float* send, float* recv, int count, int size, int reps, double target,
                     double* out) {
    double* t = malloc(sizeof(double) * (size_t)reps);
    if (!t) return MPI_ERR_NO_MEM;
    int rc = MPI_SUCCESS;
    for (int w = 0; w < 2 && rc == MPI_SUCCESS; w++) rc = coll_call(c, send, recv, count, size); /* warm-up */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rc == MPI_SUCCESS) rc = coll_call(c, send, recv, count, size);
    double one = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &one, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    int iters = one > 0 ? (int)(target / one) : 1000;
    iters = iters < 1 ? 1 : iters > 1000 ? 1000 : iters;
    for (int r = 0; r < reps && rc == MPI_SUCCESS; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int k = 0; k < iters && rc == MPI_SUCCESS; k++) rc = coll_call(c, send, recv, count, size);
        t[r] = (MPI_Wtime() - t0) / iters;
        MPI_Allreduce(MPI_IN_PLACE, &t[r], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    }
    *out = cli_median(t, reps);
    free(t);
    return rc;
}

/* Parameter count of the default MNIST c-VAE of the given architecture (0 on failure). */
static size_t cvae_param_count(gd_cvae_arch arch) {
    gd_cvae_spec s;
    gd_cvae_spec_default(&s, 28, 28, 10);
    s.arch = arch;
    gd_cvae* m = NULL;
    gd_error err;
    if (gd_cvae_create(&s, 1, 1, &m, &err) != GD_OK) return 0;
    size_t p = gd_cvae_params(m)->total;
    gd_cvae_free(m);
    return p;
}

int cli_bench_comm(int argc, char** argv) {
    int quick = 0, reps = 0, pow2 = 0;
    double max_mib = 0;
    for (int i = 1; i < argc; i++) {
        const char* v;
        int t;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", bench_comm_usage);
            return CLI_EXIT_OK;
        } else if (cli_flag(argv, i, "--quick")) {
            quick = 1;
        } else if (cli_flag(argv, i, "--pow2")) {
            pow2 = 1;
        } else if ((t = cli_take(argc, argv, &i, "--reps", &v))) {
            if (t < 0 || (reps = atoi(v)) < 1) return cli_usage_error("bench comm", "--reps needs a number >= 1");
        } else if ((t = cli_take(argc, argv, &i, "--max-mib", &v))) {
            if (t < 0 || !((max_mib = atof(v)) > 0) || max_mib > 1024)
                return cli_usage_error("bench comm", "--max-mib needs a number in (0, 1024]");
        } else {
            return cli_usage_error("bench comm", "unknown option '%s'", argv[i]);
        }
    }
    if (!reps) reps = quick ? 5 : 11;
    if (!(max_mib > 0)) max_mib = quick ? 4 : 64;
    const double target = quick ? 5e-4 : 2e-3;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    }
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        if (!init) MPI_Finalize();
        return cli_usage_error("bench comm", "needs 2 or more ranks: run it as 'mpiexec -n 2 gendec bench comm'");
    }
    /* sizes: whole-vector floats, a multiple of size, from 1 float (4 B) */
    const size_t max_count = (size_t)(max_mib * 1048576.0 / 4.0);
    size_t P[2] = {cvae_param_count(GD_CVAE_MLP), cvae_param_count(GD_CVAE_CONV)};
    size_t cap = max_count;
    for (int k = 0; k < 2; k++)
        if (P[k] + (size_t)size > cap) cap = P[k] + (size_t)size;
    float* send = gd_alloc(sizeof(float) * cap);
    float* recv = gd_alloc(sizeof(float) * cap);
    int ok = send && recv;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!ok) {
        gd_free(send), gd_free(recv);
        fprintf(stderr, "gendec bench comm: out of memory (%zu MiB buffers)\n", cap * 4 >> 20);
        if (!init) MPI_Finalize();
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < cap; i++) send[i] = (float)((i + (size_t)rank) % 7), recv[i] = 0;
    double bytes[64], t[N_COLL][64];
    int n_sizes = 0;
    for (size_t b = 4; b / 4 <= max_count && n_sizes < 64; b *= pow2 ? 2 : 4) {
        size_t count = b / 4;
        if (count % (size_t)size) count += (size_t)size - count % (size_t)size; /* RS/AG need whole blocks */
        bytes[n_sizes++] = (double)count * 4;
        if (n_sizes > 1 && bytes[n_sizes - 1] == bytes[n_sizes - 2]) n_sizes--;
    }
    double load[3] = {0};
    if (rank == 0) {
        FILE* f = fopen("/proc/loadavg", "r");
        if (!f || fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        if (f) fclose(f);
        printf("bench comm: %d ranks; %d repetitions per point (median of the slowest rank's mean per call); "
               "load average %.2f %.2f %.2f\n",
               size, reps, load[0], load[1], load[2]);
        printf("  NOTE: ranks on one machine talk through SHARED MEMORY (Open MPI vader BTL): these are memory-copy\n"
               "  figures, not a network's; see docs/scaling.md for a cluster interconnect's alpha and beta.\n");
        printf("  %12s", "bytes");
        for (int c = 0; c < N_COLL; c++) printf("  %14s us %6s", coll_names[c], "GB/s");
        printf("\n");
        fflush(stdout);
    }
    int rc = MPI_SUCCESS;
    for (int s = 0; s < n_sizes && rc == MPI_SUCCESS; s++) {
        int count = (int)(bytes[s] / 4);
        for (int c = 0; c < N_COLL && rc == MPI_SUCCESS; c++)
            rc = time_coll(c, send, recv, count, size, reps, target, &t[c][s]);
        if (rank == 0 && rc == MPI_SUCCESS) {
            printf("  %12.0f", bytes[s]);
            for (int c = 0; c < N_COLL; c++) printf("  %17.2f %6.2f", t[c][s] * 1e6, bytes[s] / t[c][s] / 1e9);
            printf("\n");
            fflush(stdout);
        }
    }
    gd_error err;
    gd_error_clear(&err);
    gd_status st = rc == MPI_SUCCESS ? GD_OK : gd_error_set(&err, GD_EMPI, NULL, 0, 0, NULL, "a timed collective failed");
    if (!st && rank == 0) {
        printf("  alpha-beta fits t(n) = alpha + n * beta (least squares on relative residuals, all %d sizes):\n",
               n_sizes);
        for (int c = 0; c < N_COLL && !st; c++) {
            double a, b, rms;
            st = gd_dist_fit_alpha_beta(bytes, t[c], (size_t)n_sizes, 1, &a, &b, &rms, &err);
            if (st) break;
            double ring = (c == COLL_AR ? 2.0 : 1.0) * (size - 1) / size;
            printf("  fit %-15s alpha %9.3f us  beta %9.5f ns/B  1/beta %7.2f GB/s  ring link bandwidth %7.2f GB/s"
                   "  rms rel. residual %5.1f%%\n",
                   coll_names[c], a * 1e6, b * 1e9, 1.0 / b / 1e9, ring / b / 1e9, 100 * rms);
        }
        /* the bandwidth regime alone: the gradients are MiB, where caches and copies differ from tiny messages */
        int first = 0;
        while (first < n_sizes && bytes[first] < 65536) first++;
        if (!st && n_sizes - first >= 2) {
            printf("  the same fits over the sizes >= 64 KiB only (%d sizes; the gradients' regime):\n", n_sizes - first);
            for (int c = 0; c < N_COLL && !st; c++) {
                double a, b, rms;
                st = gd_dist_fit_alpha_beta(bytes + first, t[c] + first, (size_t)(n_sizes - first), 1, &a, &b, &rms, &err);
                if (st) break;
                double ring = (c == COLL_AR ? 2.0 : 1.0) * (size - 1) / size;
                char nm[32];
                snprintf(nm, sizeof nm, "%s_large", coll_names[c]);
                printf("  fit %-21s alpha %9.3f us  beta %9.5f ns/B  1/beta %7.2f GB/s  ring link bandwidth %7.2f GB/s"
                       "  rms rel. residual %5.1f%%\n",
                       nm, a * 1e6, b * 1e9, 1.0 / b / 1e9, ring / b / 1e9, 100 * rms);
            }
        }
        printf("  (shared-memory bandwidth implied: the 'ring link bandwidth' above is what one rank copies per second)\n");
    }
    st = gd_dist_agree(st, MPI_COMM_WORLD, &err);
    /* the collectives at the exact gradient sizes of the MNIST c-VAEs */
    const char* pname[2] = {"c-VAE mlp", "c-VAE conv"};
    for (int k = 0; k < 2 && !st; k++) {
        if (!P[k]) continue;
        int count = (int)(P[k] + ((size_t)size - P[k] % (size_t)size) % (size_t)size);
        double ar, rs, ag;
        rc = time_coll(COLL_AR, send, recv, count, size, reps, target, &ar);
        if (rc == MPI_SUCCESS) rc = time_coll(COLL_RS, send, recv, count, size, reps, target, &rs);
        if (rc == MPI_SUCCESS) rc = time_coll(COLL_AG, send, recv, count, size, reps, target, &ag);
        if (rc != MPI_SUCCESS) {
            st = gd_error_set(&err, GD_EMPI, NULL, 0, 0, NULL, "a timed collective failed");
            break;
        }
        if (rank == 0)
            printf("  gradient %-10s P = %9zu floats (%6.2f MiB): reduce_scatter + allgather %8.3f ms "
                   "(the trainer, ZeRO-1), allreduce %8.3f ms (replicated Adam)\n",
                   pname[k], P[k], P[k] * 4.0 / 1048576.0, (rs + ag) * 1e3, ar * 1e3);
    }
    gd_free(send), gd_free(recv);
    int ret = st ? cli_fail(&err) : CLI_EXIT_OK;
    if (!init) MPI_Finalize();
    return ret;
}
