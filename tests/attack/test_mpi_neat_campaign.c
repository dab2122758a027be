/* NEAT campaigns over 2 ranks equal the same campaign on 1 rank and the single runs; packing round trips. */
#include <string.h>

#include "gd_test_mpi.h"
#include "gendec/neat.h"

enum { H = 8, W = 8, HW = H * W, C = 3 };

/* A linear softmax over 3 classes: left-half mean, right-half mean, centre-vs-border contrast. */
static gd_status classify(void* ctx, const float* images, int P, float* probs, gd_error* e) {
    (void)e;
    (*(int*)ctx)++;
    for (int i = 0; i < P; i++) {
        const float* im = images + (size_t)i * HW;
        double l = 0, r = 0, c = 0, b = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = im[y * W + x];
                *(x < W / 2 ? &l : &r) += v;
                *(x >= 2 && x < 6 && y >= 2 && y < 6 ? &c : &b) += v;
            }
        double z[C] = {6 * (l - r) / (HW / 2), 6 * (r - l) / (HW / 2), 8 * (c / 16 - b / 48)};
        double m = z[0] > z[1] ? z[0] : z[1], s = 0;
        m = m > z[2] ? m : z[2];
        for (int k = 0; k < C; k++) s += exp(z[k] - m);
        for (int k = 0; k < C; k++) probs[i * C + k] = (float)(exp(z[k] - m) / s);
    }
    return GD_OK;
}

/* Packs a run (the comparison is on bytes). */
static void* packed(const gd_neat_run_result* r, size_t* n) {
    gd_error err;
    void* b = NULL;
    CHECK_OK(gd_neat_run_result_pack(r, &b, n, &err), &err);
    return b;
}

int main(int argc, char** argv) {
    int rank = gd_test_mpi_init(&argc, &argv);
    gd_error err;
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 20;
    const int32_t targets[3] = {0, 1, 2};
    const uint64_t seeds[2] = {1, 2};
    gd_neat_campaign_config cc = {.run = {.height = H, .width = W, .classes = C, .generations = 8, .threshold = 0.7f,
                                          .max_keep = 5, .keep_per_generation = 2},
                                  .targets = targets, .n_targets = 3, .seeds = seeds, .n_seeds = 2};
    int calls = 0;
    gd_neat_run_result* runs = NULL;
    CHECK_OK(gd_neat_campaign(&p, &cc, classify, &calls, &runs, MPI_COMM_WORLD, &err), &err);
    CHECK(calls > 0 && calls <= 3 * 8); /* each rank evolves some of the 6 runs */
    if (rank == 0) {
        CHECK(runs != NULL);
        gd_neat_run_result* one = NULL;
        int calls1 = 0;
        CHECK_OK(gd_neat_campaign(&p, &cc, classify, &calls1, &one, MPI_COMM_SELF, &err), &err);
        CHECK(calls1 == 6 * 8);
        int kept = 0;
        for (int k = 0; k < 6 && one; k++) {
            CHECK(runs[k].target == targets[k / 2] && runs[k].seed == seeds[k % 2]);
            size_t n1, n2, n3;
            void* a = packed(&runs[k], &n1);
            void* b = packed(&one[k], &n2);
            CHECK(n1 == n2 && !memcmp(a, b, n1));
            /* The same as the run by itself. */
            gd_neat_run_config rc = cc.run;
            rc.target = targets[k / 2], rc.seed = seeds[k % 2], rc.index = (uint64_t)rc.target;
            gd_neat_run_result r;
            CHECK_OK(gd_neat_run(&p, &rc, classify, &calls1, &r, &err), &err);
            void* c = packed(&r, &n3);
            CHECK(n3 == n1 && !memcmp(a, c, n1));
            CHECK(runs[k].n_kept <= 5);
            kept += runs[k].n_kept;
            /* Unpack of a truncated buffer fails cleanly. */
            gd_neat_run_result t;
            CHECK(gd_neat_run_result_unpack(a, n1 - 3, &t, &err) == GD_EFORMAT);
            CHECK(gd_neat_run_result_unpack(a, n1 / 2, &t, &err) == GD_EFORMAT);
            free(a), free(b), free(c);
            gd_neat_run_result_free(&r);
        }
        CHECK_MSG(kept > 0, "no image above 0.7 in any run");
        /* Runs differ between seeds. */
        CHECK(runs[0].best_fitness[7] != runs[1].best_fitness[7] || runs[0].best_conf != runs[1].best_conf);
        for (int k = 0; k < 6; k++) {
            gd_neat_run_result_free(&runs[k]);
            if (one) gd_neat_run_result_free(&one[k]);
        }
        free(runs);
        free(one);
    } else {
        CHECK(runs == NULL);
    }
    /* A bad campaign fails on every rank. */
    cc.n_seeds = 0;
    CHECK(gd_neat_campaign(&p, &cc, classify, &calls, &runs, MPI_COMM_WORLD, &err) == GD_EINVAL);
    return gd_test_mpi_done("attack/mpi neat campaign");
}
