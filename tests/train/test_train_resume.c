/* The training loop on one process: 2N steps straight == N + resume + N (bitwise), a requested stop saves and
 * resumes bit-exactly, a non-finite loss stops naming the step and keeps the last checkpoint, bad checkpoints
 * (other architecture, other seed, truncated, a CNN file) are refused without being overwritten, and the CNN
 * trains through the same loop. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gd_test.h"
#include "gendec/dist.h"
#include "gendec/io.h"
#include "gendec/train.h"

enum { N_IMG = 96, SIDE = 6, D = SIDE * SIDE, NC = 3 };
static float images[N_IMG * D];
static uint8_t labels[N_IMG * NC];
static int32_t classes[N_IMG];

/* Three classes of 6x6 images: a horizontal bar, a vertical bar or a diagonal, jittered. */
static void make_data(void) {
    uint32_t s = 99;
    for (int i = 0; i < N_IMG; i++) {
        int c = i % NC;
        classes[i] = c;
        for (int j = 0; j < NC; j++) labels[i * NC + j] = j == c;
        for (int p = 0; p < D; p++) {
            s = s * 1664525u + 1013904223u;
            int r = p / SIDE, q = p % SIDE, on = c == 0 ? r == 2 || r == 3 : c == 1 ? q == 2 || q == 3 : r == q;
            images[i * D + p] = on ? 0.8f + 0.2f * (float)(s >> 8) / 16777216.0f : 0.1f * (float)(s >> 8) / 16777216.0f;
        }
    }
}

static gd_train_data data(void) {
    return (gd_train_data){images, labels, classes, N_IMG, D, NC};
}

static void tiny_spec(gd_cvae_spec* s) {
    gd_cvae_spec_default(s, SIDE, SIDE, NC);
    s->k = 2, s->n_enc = 1, s->enc[0] = 16, s->n_dec = 1, s->dec[0] = 12;
}

/* A fresh, initialised c-VAE with its trainable. */
static gd_cvae* make_cvae(const gd_cvae_spec* s, gd_trainable* t, int batch) {
    gd_error err;
    gd_cvae* m = NULL;
    CHECK_OK(gd_cvae_create(s, batch, 0, &m, &err), &err);
    CHECK_OK(gd_cvae_init_params(m, 5, &err), &err);
    CHECK_OK(gd_trainable_cvae(m, 5, batch, t, &err), &err);
    return m;
}

static void free_cvae(gd_cvae* m, gd_trainable* t) {
    if (t->release) t->release(t->self);
    gd_cvae_free(m);
}

static char path_a[600], path_b[600], path_c[600], path_x[600];

static void opts_for(gd_train_opts* o, const char* path, int64_t steps) {
    gd_train_opts_default(o);
    o->global_batch = 12;
    o->max_steps = steps;
    o->lr = 3e-3;
    o->seed = 5;
    o->path = path;
    o->config_yaml = "test: 1\n";
}

/* Reads ckpt/<name> of a file into buf (n floats). */
static void read_array(const char* path, const char* name, float* buf, size_t n) {
    gd_error err;
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_open(path, NULL, MPI_COMM_NULL, &f, &err), &err);
    if (!f) return;
    char ds[64];
    snprintf(ds, sizeof ds, "ckpt/%s", name);
    size_t dims[1] = {n};
    CHECK_OK(gd_h5_read(f, ds, GD_F32, 1, dims, buf, &err), &err);
    gd_h5_close(f);
}

static int same_arrays(const char* p1, const char* p2, size_t n) {
    const char* names[3] = {"params", "adam_m", "adam_v"};
    int same = 1;
    float* a = malloc(sizeof(float) * n);
    float* b = malloc(sizeof(float) * n);
    for (int i = 0; i < 3; i++) {
        read_array(p1, names[i], a, n);
        read_array(p2, names[i], b, n);
        if (memcmp(a, b, sizeof(float) * n) != 0) {
            fprintf(stderr, "%s differs between %s and %s\n", names[i], p1, p2);
            same = 0;
        }
    }
    free(a), free(b);
    return same;
}

/* Progress callback that raises the stop flag at a given step (what a SIGTERM handler does). */
typedef struct {
    volatile sig_atomic_t* flag;
    int64_t at;
    int calls, epoch_ends;
    double first_loss, last_epoch_loss;
} stopper;

static void on_progress(void* user, const gd_train_progress* p) {
    stopper* s = user;
    s->calls++;
    if (s->calls == 1) s->first_loss = p->metrics[0];
    if (p->epoch_end) s->epoch_ends++, s->last_epoch_loss = p->epoch_metrics[0];
    if (s->flag && p->step == s->at) *s->flag = 1;
}

/* A trainable whose loss becomes NaN at a given step: the loop must stop there. */
typedef struct {
    gd_params p;
    int64_t calls, nan_at;
} nan_model;

static gd_status nan_step(void* self, const float* x, const uint8_t* l, const int32_t* c, int b, uint64_t row0,
                          float gs, double* sums, gd_error* err) {
    (void)x, (void)l, (void)c, (void)row0, (void)err;
    nan_model* m = self;
    for (size_t i = 0; i < m->p.total; i++) m->p.grad[i] += gs * (m->p.data[i] - 1.0f) * b;
    sums[0] += m->calls == m->nan_at ? NAN : 1.0 * b;
    m->calls++;
    return GD_OK;
}

static long file_size(const char* p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

int main(void) {
    make_data();
    const char* dir = gd_test_tmpdir();
    snprintf(path_a, sizeof path_a, "%s/a.h5", dir);
    snprintf(path_b, sizeof path_b, "%s/b.h5", dir);
    snprintf(path_c, sizeof path_c, "%s/c.h5", dir);
    snprintf(path_x, sizeof path_x, "%s/x.h5", dir);
    gd_error err;
    gd_cvae_spec spec;
    tiny_spec(&spec);
    gd_train_data dd = data();
    const int64_t N = 13; /* 8 steps per epoch: the split falls inside the second epoch */

    /* A: 2N steps straight */
    gd_trainable t;
    gd_cvae* m = make_cvae(&spec, &t, 12);
    size_t P = gd_params_count(gd_cvae_params(m));
    gd_train_opts o;
    gd_train_result r;
    stopper sa = {0};
    opts_for(&o, path_a, 2 * N);
    o.checkpoint_every = 5;
    o.progress = on_progress, o.progress_user = &sa, o.progress_every = 1;
    CHECK_OK(gd_train_run(&t, &dd, &o, &r, &err), &err);
    CHECK(r.steps == 2 * N && r.epochs_done == 3 && !r.stopped);
    CHECK(sa.epoch_ends == 3);
    double* hist_a = malloc(sizeof(double) * 9);
    memcpy(hist_a, r.epoch_metrics, sizeof(double) * 9);
    gd_train_result_free(&r);
    free_cvae(m, &t);

    /* B: N steps, then a new process-like start that resumes to 2N */
    m = make_cvae(&spec, &t, 12);
    opts_for(&o, path_b, N);
    o.checkpoint_every = 5;
    CHECK_OK(gd_train_run(&t, &dd, &o, &r, &err), &err);
    gd_train_result_free(&r);
    free_cvae(m, &t);
    gd_cvae_spec other = spec;
    other.dec[0] = 13;
    m = make_cvae(&other, &t, 12); /* another architecture: refused, file untouched */
    long size_b = file_size(path_b);
    opts_for(&o, path_b, 2 * N);
    o.resume = 1;
    CHECK(gd_train_run(&t, &dd, &o, &r, &err) == GD_ESTATE);
    CHECK(strstr(err.msg, "architecture") != NULL);
    CHECK(file_size(path_b) == size_b);
    free_cvae(m, &t);
    m = make_cvae(&spec, &t, 12);
    o.seed = 6; /* another seed: refused */
    CHECK(gd_train_run(&t, &dd, &o, &r, &err) == GD_ESTATE);
    o.seed = 5;
    o.checkpoint_every = 5;
    CHECK_OK(gd_train_run(&t, &dd, &o, &r, &err), &err);
    CHECK(r.steps == 2 * N && r.steps_this_run == N && r.epochs_done == 3);
    if (r.epoch_metrics) CHECK(memcmp(r.epoch_metrics, hist_a, sizeof(double) * 9) == 0);
    gd_train_result_free(&r);
    free_cvae(m, &t);
    CHECK_MSG(same_arrays(path_a, path_b, P), "2N straight vs N + resume + N differ");

    /* C: a requested stop (the signal path) at step N, then resume */
    m = make_cvae(&spec, &t, 12);
    volatile sig_atomic_t flag = 0;
    stopper sc = {&flag, N, 0, 0, 0, 0};
    opts_for(&o, path_c, 2 * N);
    o.checkpoint_every = 0;
    o.stop = &flag;
    o.progress = on_progress, o.progress_user = &sc, o.progress_every = 1;
    CHECK(gd_train_run(&t, &dd, &o, &r, &err) == GD_EINTR);
    CHECK(r.stopped == 1 && r.steps == N + 1); /* the flag raised after step N is seen in step N + 1 */
    gd_train_result_free(&r);
    free_cvae(m, &t);
    m = make_cvae(&spec, &t, 12);
    flag = 0;
    o.resume = 1;
    CHECK_OK(gd_train_run(&t, &dd, &o, &r, &err), &err);
    gd_train_result_free(&r);
    CHECK_MSG(same_arrays(path_a, path_c, P), "stop + resume differs from the straight run");
    /* the trained file loads as a model with the same weights; its metadata says done */
    gd_cvae* ld = NULL;
    CHECK_OK(gd_cvae_load(path_c, 4, 0, &ld, &err), &err);
    if (ld) {
        CHECK(memcmp(gd_cvae_params(ld)->data, gd_cvae_params(m)->data, sizeof(float) * P) == 0);
        gd_cvae_free(ld);
    }
    gd_h5* f = NULL;
    CHECK_OK(gd_h5_open(path_c, "model", MPI_COMM_NULL, &f, &err), &err);
    if (f) {
        int64_t done = 0, steps = 0;
        CHECK_OK(gd_h5_attr_get_i64(f, "train", "done", &done, &err), &err);
        CHECK_OK(gd_h5_attr_get_i64(f, "train", "steps", &steps, &err), &err);
        CHECK(done == 1 && steps == 2 * N);
        gd_h5_close(f);
    }
    free_cvae(m, &t);
    /* training reduced the loss */
    CHECK_MSG(hist_a[6] < 0.8 * sa.first_loss, "loss %g -> %g did not drop", sa.first_loss, hist_a[6]);

    /* a truncated file: refused on resume and on load, and not overwritten by the failed resume */
    FILE* in = fopen(path_a, "rb");
    FILE* out = fopen(path_x, "wb");
    long sz = file_size(path_a);
    for (long i = 0; in && out && i < sz / 2; i++) fputc(fgetc(in), out);
    if (in) fclose(in);
    if (out) fclose(out);
    m = make_cvae(&spec, &t, 12);
    opts_for(&o, path_x, 2 * N);
    o.resume = 1;
    CHECK(gd_train_run(&t, &dd, &o, &r, &err) == GD_EFORMAT);
    CHECK(file_size(path_x) == sz / 2);
    CHECK(gd_cvae_load(path_x, 4, 0, &ld, &err) == GD_EFORMAT && ld == NULL);
    free_cvae(m, &t);

    /* NaN at step 7 with checkpoints every 3: error names the step, the step-6 checkpoint is kept */
    nan_model nm = {0};
    int shape[1] = {5};
    CHECK_OK(gd_params_add(&nm.p, "w", 1, shape, NULL, &err), &err);
    CHECK_OK(gd_params_alloc(&nm.p, &err), &err);
    nm.nan_at = 7;
    gd_trainable tn = {.self = &nm, .params = &nm.p, .max_rows = 12, .n_metrics = 1, .metric_names = {"loss"},
                       .step = nan_step};
    strcpy(tn.arch, "toy w=5");
    opts_for(&o, path_x, 20);
    o.kind = "toy";
    o.checkpoint_every = 3;
    CHECK(gd_train_run(&tn, &dd, &o, &r, &err) == GD_ENUMERIC);
    CHECK(strstr(err.msg, "step 7") != NULL);
    gd_ckpt_scalar sc1 = {"step", 0};
    float w[5];
    gd_ckpt_array a1 = {"params", w, 5};
    gd_ckpt ck = {.kind = "toy", .arch = "toy w=5", .arrays = &a1, .n_arrays = 1, .scalars = &sc1, .n_scalars = 1};
    CHECK_OK(gd_ckpt_load(path_x, &ck, &err), &err);
    CHECK(sc1.value == 6);
    gd_params_free(&nm.p);

    /* the CNN through the same loop; its file is refused as a c-VAE and vice versa */
    gd_cnn_spec cs = {.h = SIDE, .w = SIDE, .n_classes = NC, .conv1 = 4, .conv2 = 6, .fc = 16};
    gd_cnn* cnn = NULL;
    CHECK_OK(gd_cnn_create(&cs, 12, &cnn, &err), &err);
    CHECK_OK(gd_cnn_init_params(cnn, 2, &err), &err);
    gd_trainable tc;
    CHECK_OK(gd_trainable_cnn(cnn, 12, &tc, &err), &err);
    opts_for(&o, path_x, 80);
    o.kind = "cnn";
    o.lr = 5e-3;
    CHECK_OK(gd_train_run(&tc, &dd, &o, &r, &err), &err);
    CHECK(r.n_metrics == 2 && r.epochs_done == 10);
    if (r.epoch_metrics) {
        printf("CNN: epoch 1 loss %.3f acc %.3f, epoch 10 loss %.3f acc %.3f\n", r.epoch_metrics[0],
               r.epoch_metrics[1], r.epoch_metrics[18], r.epoch_metrics[19]);
        CHECK(r.epoch_metrics[18] < r.epoch_metrics[0]);
        CHECK(r.epoch_metrics[19] > 0.9);
    }
    gd_train_result_free(&r);
    gd_cnn* cl = NULL;
    CHECK_OK(gd_cnn_load(path_x, 12, &cl, &err), &err);
    if (cl) {
        CHECK(memcmp(gd_cnn_params(cl)->data, gd_cnn_params(cnn)->data, sizeof(float) * gd_cnn_params(cnn)->total) == 0);
        gd_cnn_free(cl);
    }
    CHECK(gd_cvae_load(path_x, 4, 0, &ld, &err) == GD_ESTATE);
    CHECK(strstr(err.msg, "CNN") != NULL);
    CHECK(gd_cnn_load(path_a, 4, &cl, &err) == GD_ESTATE);
    gd_cnn_free(cnn);
    free(hist_a);
    return gd_test_done("test_train_resume");
}
