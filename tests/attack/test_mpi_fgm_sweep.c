/* FGM/PGD sweeps over 2 ranks (static and dynamic) equal the 1-rank sweep and the direct attack, on a linear
 * softmax model with an exact cross-entropy gradient. */
#include <string.h>

#include "gd_test_mpi.h"
#include "gendec/attack.h"

enum { D = 16, C = 3, N = 37 };

typedef struct {
    float W[C * D], b[C];
} linear;

static void softmax_logits(const linear* m, const float* x, float* p) {
    double z[C], mx = -1e30, s = 0;
    for (int c = 0; c < C; c++) {
        z[c] = m->b[c];
        for (int i = 0; i < D; i++) z[c] += m->W[c * D + i] * x[i];
        mx = z[c] > mx ? z[c] : mx;
    }
    for (int c = 0; c < C; c++) s += exp(z[c] - mx);
    for (int c = 0; c < C; c++) p[c] = (float)(exp(z[c] - mx) / s);
}

static gd_status classify(void* ctx, const float* x, int B, float* probs, gd_error* e) {
    (void)e;
    for (int b = 0; b < B; b++) softmax_logits(ctx, x + b * D, probs + b * C);
    return GD_OK;
}

/* d CE / d x = W^T (p - onehot(label)). */
static gd_status grad(void* ctx, const float* x, const int32_t* labels, int B, float* g, gd_error* e) {
    (void)e;
    const linear* m = ctx;
    for (int b = 0; b < B; b++) {
        float p[C];
        softmax_logits(m, x + b * D, p);
        p[labels[b]] -= 1;
        for (int i = 0; i < D; i++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += m->W[c * D + i] * p[c];
            g[b * D + i] = (float)s;
        }
    }
    return GD_OK;
}

static int same(const gd_fgm_sweep_result* a, const gd_fgm_sweep_result* b) {
    size_t EN = (size_t)a->n_eps * a->N;
    return a->n_eps == b->n_eps && a->N == b->N && !memcmp(a->x_adv, b->x_adv, sizeof(float) * EN * D) &&
           !memcmp(a->pred, b->pred, 4 * EN) && !memcmp(a->p_true, b->p_true, 4 * EN) &&
           !memcmp(a->bin_pred, b->bin_pred, 4 * EN) && !memcmp(a->acc, b->acc, 8 * (size_t)a->n_eps);
}

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv);
    gd_error err;
    /* Class c lights pixels i with i % 3 == c; the images are noisy versions of the three patterns. */
    linear m;
    for (int c = 0; c < C; c++) {
        m.b[c] = 0;
        for (int i = 0; i < D; i++) m.W[c * D + i] = i % 3 == c ? 2.0f : -1.0f;
    }
    float x[N * D];
    int32_t labels[N];
    gd_rng rng;
    gd_rng_init(&rng, 3, GD_STREAM_USER, 0);
    for (int n = 0; n < N; n++) {
        labels[n] = n % C;
        for (int i = 0; i < D; i++) {
            float v = (i % 3 == labels[n] ? 0.7f : 0.3f) + 0.2f * (gd_rng_uniform(&rng) - 0.5f);
            x[n * D + i] = v;
        }
    }
    gd_attack_model model = {grad, classify, &m, C};
    const float eps[3] = {0.0f, 0.1f, 0.3f};
    gd_fgm_sweep_opts o = {.eps = eps, .n_eps = 3, .norm = GD_ATTACK_LINF, .chunk = 5, .binarize = 0.5f, .seed = 4};
    for (int variant = 0; variant < 3; variant++) {
        o.pgd_steps = variant == 2 ? 4 : 0;
        o.pgd_alpha = 0.05f;
        o.pgd_random_start = 1;
        o.norm = variant == 1 ? GD_ATTACK_L2 : GD_ATTACK_LINF;
        gd_fgm_sweep_result st, dy, one;
        o.dynamic = 0;
        CHECK_OK(gd_fgm_sweep(&o, x, labels, N, D, &model, &st, MPI_COMM_WORLD, &err), &err);
        o.dynamic = 1;
        CHECK_OK(gd_fgm_sweep(&o, x, labels, N, D, &model, &dy, MPI_COMM_WORLD, &err), &err);
        if (rank == 0) {
            o.chunk = variant == 2 ? 5 : 8; /* FGM results do not depend on the chunk size */
            CHECK_OK(gd_fgm_sweep(&o, x, labels, N, D, &model, &one, MPI_COMM_SELF, &err), &err);
            o.chunk = 5;
            CHECK(same(&st, &dy));
            CHECK(same(&st, &one));
            /* Against the direct attack of all images at once, and the classifier by hand. */
            float g[N * D], adv[N * D], pr[C], bin[D];
            for (int e = 0; e < 3; e++) {
                if (variant == 2) {
                    gd_pgd_params pp = {o.norm, eps[e], o.pgd_alpha, o.pgd_steps, 1, o.seed};
                    CHECK_OK(gd_attack_pgd(&pp, x, labels, N, D, 0, grad, &m, g, adv, &err), &err);
                } else {
                    CHECK_OK(gd_attack_fgm(x, labels, N, D, eps[e], o.norm, grad, &m, g, adv, &err), &err);
                }
                CHECK(!memcmp(adv, st.x_adv + (size_t)e * N * D, sizeof adv));
                int correct = 0;
                for (int n = 0; n < N; n++) {
                    softmax_logits(&m, adv + n * D, pr);
                    int best = pr[1] > pr[0];
                    best = pr[2] > pr[best] ? 2 : best;
                    CHECK(st.pred[e * N + n] == best && st.p_pred[e * N + n] == pr[best] &&
                          st.p_true[e * N + n] == pr[labels[n]]);
                    correct += best == labels[n];
                    gd_attack_binarize(adv + n * D, D, 0.5f, bin);
                    softmax_logits(&m, bin, pr);
                    best = pr[1] > pr[0];
                    best = pr[2] > pr[best] ? 2 : best;
                    CHECK(st.bin_pred[e * N + n] == best);
                }
                CHECK_NEAR(st.acc[e], (double)correct / N, 1e-12);
                if (o.norm == GD_ATTACK_LINF) CHECK(st.mean_linf[e] <= eps[e] + 1e-6);
                else CHECK(st.mean_l2[e] <= eps[e] + 1e-5);
            }
            CHECK(st.acc[0] == 1.0);            /* clean images are classified right */
            if (variant == 0) CHECK(st.acc[2] < st.acc[0]); /* and the attack hurts */
            printf("variant %d: accuracy %.3f %.3f %.3f, binarized %.3f %.3f %.3f\n", variant, st.acc[0], st.acc[1],
                   st.acc[2], st.bin_acc[0], st.bin_acc[1], st.bin_acc[2]);
            gd_fgm_sweep_result_free(&one);
        }
        gd_fgm_sweep_result_free(&st);
        gd_fgm_sweep_result_free(&dy);
    }
    /* eps outside [0, 1]: a clear error on every rank. */
    const float bad[2] = {0.1f, 1.5f};
    o.eps = bad;
    o.n_eps = 2;
    o.norm = GD_ATTACK_LINF;
    gd_fgm_sweep_result r;
    CHECK(gd_fgm_sweep(&o, x, labels, N, D, &model, &r, MPI_COMM_WORLD, &err) == GD_EINVAL);
    CHECK(strstr(err.msg, "[0, 1]") != NULL);
    return gd_test_mpi_done("attack/mpi fgm sweep");
}
