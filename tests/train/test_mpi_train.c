/* Data-parallel training on 2 ranks against the same training on 1 rank (each rank alone on MPI_COMM_SELF):
 * the per-step losses agree (relative difference < 1e-3) over a few hundred steps for the MLP and conv c-VAE
 * and the CNN, with train.comm = mpi, shm and shm over two pretend nodes (which agree bitwise); the weights stay identical across ranks (checksum check); a stop requested on one rank stops
 * both at the same step; a 2-rank stop + resume is bit-identical to the straight 2-rank run. */
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/dist.h"
#include "gendec/io.h"
#include "gendec/train.h"

enum { N_IMG = 160, SIDE = 6, D = SIDE * SIDE, NC = 3, MAXSTEPS = 400 };
static float images[N_IMG * D];
static uint8_t labels[N_IMG * NC];
static int32_t classes[N_IMG];
static int rank, size;
static char dir[512];

static void make_data(void) {
    uint32_t s = 7;
    for (int i = 0; i < N_IMG; i++) {
        int c = (i * 7) % NC;
        classes[i] = c;
        for (int j = 0; j < NC; j++) labels[i * NC + j] = j == c;
        for (int p = 0; p < D; p++) {
            s = s * 1664525u + 1013904223u;
            int r = p / SIDE, q = p % SIDE, on = c == 0 ? r == 2 || r == 3 : c == 1 ? q == 2 || q == 3 : r == q;
            images[i * D + p] = on ? 0.7f + 0.3f * (float)(s >> 8) / 16777216.0f : 0.15f * (float)(s >> 8) / 16777216.0f;
        }
    }
}

typedef struct {
    double loss[MAXSTEPS + 1];
    int64_t steps;
    volatile sig_atomic_t* flag;
    int64_t raise_at;
} recorder;

static void record(void* user, const gd_train_progress* p) {
    recorder* r = user;
    if (p->step <= MAXSTEPS) r->loss[p->step] = p->metrics[0];
    r->steps = p->step;
    if (r->flag && p->step == r->raise_at && rank == 1) *r->flag = 1;
}

/* Model kinds under test. */
enum { MLP, CONV, CNN };

/* Builds a fresh model of `kind` and its trainable (local batch up to `rows`). */
static void* build(int kind, gd_trainable* t, int rows) {
    gd_error err;
    if (kind == CNN) {
        gd_cnn_spec cs = {.h = SIDE, .w = SIDE, .n_classes = NC, .conv1 = 3, .conv2 = 4, .fc = 12};
        gd_cnn* m = NULL;
        CHECK_OK(gd_cnn_create(&cs, rows, &m, &err), &err);
        CHECK_OK(gd_cnn_init_params(m, 4, &err), &err);
        CHECK_OK(gd_trainable_cnn(m, rows, t, &err), &err);
        return m;
    }
    gd_cvae_spec s;
    gd_cvae_spec_default(&s, SIDE, SIDE, NC);
    s.k = 2;
    if (kind == MLP) {
        s.n_enc = 1, s.enc[0] = 24, s.n_dec = 1, s.dec[0] = 16;
    } else {
        s.arch = GD_CVAE_CONV, s.n_ch = 2, s.ch[0] = 3, s.ch[1] = 4, s.kernel = 3, s.dec_start = 2, s.out_kernel = 3;
    }
    gd_cvae* m = NULL;
    CHECK_OK(gd_cvae_create(&s, rows, 0, &m, &err), &err);
    CHECK_OK(gd_cvae_init_params(m, 4, &err), &err);
    CHECK_OK(gd_trainable_cvae(m, 9, rows, t, &err), &err);
    return m;
}

static void destroy(int kind, void* m, gd_trainable* t) {
    if (t->release) t->release(t->self);
    if (kind == CNN) gd_cnn_free(m);
    else gd_cvae_free(m);
}

/* Trains `steps` steps on comm, recording the per-step loss; returns the status. */
static int replicated = 0;
static gd_train_comm comm_mode = GD_TRAIN_COMM_AUTO;
static int node_ranks = 0; /* > 0: the shm path treats groups of this many ranks as nodes */
static int last_shm = -1;  /* result.comm_shm of the last run */

static gd_status run(int kind, MPI_Comm comm, int64_t steps, const char* path, int resume, recorder* rec,
                     float* final_weights, gd_error* err) {
    gd_trainable t;
    void* m = build(kind, &t, 16);
    gd_train_opts o;
    gd_train_opts_default(&o);
    o.global_batch = 16;
    o.max_steps = steps;
    o.lr = 2e-3;
    o.seed = 9;
    o.comm = comm;
    o.path = path;
    o.resume = resume;
    o.kind = kind == CNN ? "cnn" : "model";
    o.check_sync_every = 10;
    o.replicated_adam = replicated;
    o.comm_mode = comm_mode;
    o.shm_node_ranks = node_ranks;
    o.progress = record, o.progress_user = rec, o.progress_every = 1;
    o.stop = rec->flag;
    gd_train_data d = {images, labels, classes, N_IMG, D, NC};
    gd_train_result r;
    gd_status st = gd_train_run(&t, &d, &o, &r, err);
    last_shm = r.comm_shm;
    if (final_weights) memcpy(final_weights, t.params->data, sizeof(float) * t.params->total);
    gd_train_result_free(&r);
    destroy(kind, m, &t);
    return st;
}

/* 1 rank against 2 ranks on the mpi path, the shm path and the shm path split into two 1-rank "nodes"; the
 * three 2-rank runs agree with each other bitwise (2 ranks: the same sums in the same order). */
static void compare(int kind, int64_t steps) {
    static recorder one, two, shm, hier;
    static float w_mpi[8192], w_shm[8192], w_hier[8192];
    memset(&one, 0, sizeof one), memset(&two, 0, sizeof two), memset(&shm, 0, sizeof shm), memset(&hier, 0, sizeof hier);
    gd_error err;
    gd_trainable t;
    void* m = build(kind, &t, 16);
    size_t P = t.params->total;
    destroy(kind, m, &t);
    CHECK(P <= 8192);
    CHECK_OK(run(kind, MPI_COMM_SELF, steps, NULL, 0, &one, NULL, &err), &err);
    comm_mode = GD_TRAIN_COMM_MPI;
    CHECK_OK(run(kind, MPI_COMM_WORLD, steps, NULL, 0, &two, w_mpi, &err), &err);
    CHECK(last_shm == 0);
    comm_mode = GD_TRAIN_COMM_SHM;
    CHECK_OK(run(kind, MPI_COMM_WORLD, steps, NULL, 0, &shm, w_shm, &err), &err);
    CHECK(last_shm == 1);
    node_ranks = 1;
    CHECK_OK(run(kind, MPI_COMM_WORLD, steps, NULL, 0, &hier, w_hier, &err), &err);
    CHECK(last_shm == 1);
    node_ranks = 0;
    comm_mode = GD_TRAIN_COMM_AUTO;
    double worst_shm = 0;
    for (int64_t s = 1; s <= steps; s++) {
        double a = fabs(two.loss[s] - shm.loss[s]) / fmax(1e-12, fabs(two.loss[s]));
        double b = fabs(two.loss[s] - hier.loss[s]) / fmax(1e-12, fabs(two.loss[s]));
        worst_shm = fmax(worst_shm, fmax(a, b));
        double c = fabs(one.loss[s] - shm.loss[s]) / fmax(1e-12, fabs(one.loss[s]));
        CHECK_MSG(c < 1e-3, "step %lld: 1 rank vs 2 ranks shm differ by %g", (long long)s, c);
    }
    CHECK_MSG(worst_shm < 1e-5, "shm and mpi paths differ by %g", worst_shm);
    CHECK_MSG(memcmp(w_mpi, w_shm, sizeof(float) * P) == 0, "shm and mpi weights differ (2 ranks: same sums)");
    CHECK_MSG(memcmp(w_mpi, w_hier, sizeof(float) * P) == 0, "2-node shm and mpi weights differ");
    double worst = 0;
    for (int64_t s = 1; s <= steps; s++) {
        double rel = fabs(one.loss[s] - two.loss[s]) / fmax(1e-12, fabs(one.loss[s]));
        if (rel > worst) worst = rel;
    }
    const char* names[3] = {"mlp c-VAE", "conv c-VAE", "CNN"};
    if (rank == 0)
        printf("%-10s %lld steps: loss %.5f -> %.5f (1 rank), %.5f -> %.5f (2 ranks); worst relative difference %.2e\n",
               names[kind], (long long)steps, one.loss[1], one.loss[steps], two.loss[1], two.loss[steps], worst);
    CHECK(one.steps == steps && two.steps == steps);
    CHECK_MSG(worst < 1e-3, "%s: 1 vs 2 ranks differ by %g", names[kind], worst);
    CHECK_MSG(one.loss[steps] < 0.7 * one.loss[1], "%s did not learn: %g -> %g", names[kind], one.loss[1], one.loss[steps]);
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "test_mpi_train needs 2 ranks\n");
        MPI_Finalize();
        return GD_TEST_SKIP;
    }
    if (rank == 0) snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    make_data();
    compare(MLP, 300);
    compare(CONV, 120);
    compare(CNN, 200);

    /* a stop raised on rank 1 only stops both ranks at the same step; resuming gives the straight run's bits */
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/straight.h5", dir);
    snprintf(pb, sizeof pb, "%s/stopped.h5", dir);
    static recorder ra, rb;
    gd_error err;
    float wa[4096], wb[4096];
    CHECK_OK(run(MLP, MPI_COMM_WORLD, 60, pa, 0, &ra, wa, &err), &err);
    CHECK(last_shm == 1); /* auto on one node: the shm path */
    volatile sig_atomic_t flag = 0;
    rb.flag = &flag, rb.raise_at = 25;
    gd_status st = run(MLP, MPI_COMM_WORLD, 60, pb, 0, &rb, NULL, &err);
    CHECK(st == GD_EINTR);
    int64_t stopped_at = rb.steps, other = 0;
    MPI_Allreduce(&stopped_at, &other, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    CHECK(stopped_at == 26 && other == 26);
    flag = 0;
    rb.flag = NULL;
    CHECK_OK(run(MLP, MPI_COMM_WORLD, 60, pb, 1, &rb, wb, &err), &err);
    gd_trainable t;
    void* m = build(MLP, &t, 16);
    size_t P = t.params->total;
    destroy(MLP, m, &t);
    CHECK(P <= 4096);
    CHECK_MSG(memcmp(wa, wb, sizeof(float) * P) == 0, "2-rank stop + resume differs from the straight run");
    /* a checkpoint of the shm path (node-shared moments, no gather) resumed on the mpi path: the same bits */
    flag = 0;
    rb.flag = &flag, rb.raise_at = 25;
    CHECK(run(MLP, MPI_COMM_WORLD, 60, pb, 0, &rb, NULL, &err) == GD_EINTR);
    flag = 0;
    rb.flag = NULL;
    comm_mode = GD_TRAIN_COMM_MPI;
    CHECK_OK(run(MLP, MPI_COMM_WORLD, 60, pb, 1, &rb, wb, &err), &err);
    comm_mode = GD_TRAIN_COMM_AUTO;
    CHECK_MSG(memcmp(wa, wb, sizeof(float) * P) == 0, "shm stop + mpi resume differs from the straight run");
    /* train.comm = shm with the replicated optimizer is a configuration error */
    comm_mode = GD_TRAIN_COMM_SHM, replicated = 1;
    CHECK(run(MLP, MPI_COMM_WORLD, 5, NULL, 0, &rb, NULL, &err) == GD_ECONFIG);
    comm_mode = GD_TRAIN_COMM_AUTO, replicated = 0;
    CHECK_OK(gd_dist_check_same(wb, sizeof(float) * P, "final weights", MPI_COMM_WORLD, &err), &err);
    /* the sharded optimizer (default) gives the bits of the replicated one (2 ranks: same sums) */
    static recorder rc_;
    replicated = 1;
    CHECK_OK(run(MLP, MPI_COMM_WORLD, 60, NULL, 0, &rc_, wb, &err), &err);
    replicated = 0;
    CHECK_MSG(memcmp(wa, wb, sizeof(float) * P) == 0, "sharded and replicated Adam differ");
    int rc = gd_test_done("test_mpi_train");
    int worst = 0;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst;
}
