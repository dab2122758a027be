/* NEAT populations: size and elitism invariants, determinism by seed, improvement on toy fitnesses, and the
 * fooling-image driver against a tiny linear softmax classifier. */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/neat.h"

static gd_error err;

enum { H = 10, W = 10, HW = H * W };

/* Toy fitness: 1 - mean |image - target| with a ring-shaped target. */
static void ring_target(float* t) {
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            float x = -1 + 2.0f * j / (W - 1), y = -1 + 2.0f * i / (H - 1), d = sqrtf(x * x + y * y);
            t[i * W + j] = fabsf(d - 0.6f) < 0.25f ? 1.0f : 0.0f;
        }
}

static void toy_fitness(gd_neat_population* pop, const float* target, float* images, float* fit) {
    int P = gd_neat_population_size(pop);
    CHECK_OK(gd_neat_population_render(pop, H, W, images, &err), &err);
    for (int i = 0; i < P; i++) {
        double s = 0;
        for (int k = 0; k < HW; k++) s += fabs((double)images[i * HW + k] - target[k]);
        fit[i] = (float)(1.0 - s / HW);
    }
    CHECK_OK(gd_neat_population_set_fitness(pop, fit, &err), &err);
}

static int same_genes(const gd_neat_genome* a, const gd_neat_genome* b) {
    return a->n_nodes == b->n_nodes && a->n_conns == b->n_conns &&
           !memcmp(a->nodes, b->nodes, sizeof *a->nodes * (size_t)a->n_nodes) &&
           !memcmp(a->conns, b->conns, sizeof *a->conns * (size_t)a->n_conns);
}

/* Position of genome i among its species by (fitness desc, key asc). */
static int rank_in_species(gd_neat_population* pop, int i) {
    const gd_neat_genome* g = gd_neat_population_genome(pop, i);
    int r = 0;
    for (int j = 0; j < gd_neat_population_size(pop); j++) {
        const gd_neat_genome* h = gd_neat_population_genome(pop, j);
        if (j == i || h->species != g->species) continue;
        r += h->fitness > g->fitness || (h->fitness == g->fitness && h->key < g->key);
    }
    return r;
}

static void test_invariants(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 60;
    p.compat_threshold = 1.5f; /* several species */
    p.max_stagnation = 4;      /* and some of them stagnate */
    gd_neat_population* pop;
    CHECK_OK(gd_neat_population_create(&pop, &p, 11, 0, &err), &err);
    float target[HW], images[60 * HW], fit[60];
    ring_target(target);
    gd_neat_genome old[60];
    memset(old, 0, sizeof old);
    int max_species = 0, carried_total = 0;
    for (int gen = 0; gen < 25; gen++) {
        CHECK(gd_neat_population_size(pop) == 60 && gd_neat_population_generation(pop) == gen);
        toy_fitness(pop, target, images, fit);
        int best = 0, n_sp = gd_neat_population_species_count(pop);
        if (n_sp > max_species) max_species = n_sp;
        for (int i = 0; i < 60; i++) {
            const gd_neat_genome* g = gd_neat_population_genome(pop, i);
            CHECK_OK(gd_neat_genome_check(g, &err), &err);
            CHECK(g->species >= 0);
            CHECK_OK(gd_neat_genome_copy(&old[i], g, &err), &err);
            if (fit[i] > fit[best]) best = i;
        }
        int64_t first_new = 0;
        for (int i = 0; i < 60; i++) first_new = old[i].key >= first_new ? old[i].key + 1 : first_new;
        CHECK_OK(gd_neat_population_evolve(pop, &err), &err);
        /* Genomes that kept their key are elites: unchanged, among the top `elitism` of their old species. */
        int carried = 0, best_carried = 0;
        for (int i = 0; i < 60; i++) {
            const gd_neat_genome* g = gd_neat_population_genome(pop, i);
            if (g->key >= first_new) continue;
            carried++;
            int found = 0;
            for (int j = 0; j < 60; j++)
                if (old[j].key == g->key) {
                    found = 1;
                    CHECK(same_genes(&old[j], g));
                    best_carried |= j == best;
                }
            CHECK(found);
        }
        carried_total += carried;
        CHECK(best_carried); /* the best genome always survives unchanged */
        /* New keys are all distinct. */
        for (int i = 0; i < 60; i++)
            for (int j = i + 1; j < 60; j++)
                CHECK(gd_neat_population_genome(pop, i)->key != gd_neat_population_genome(pop, j)->key);
    }
    CHECK_MSG(max_species >= 3, "only %d species", max_species);
    CHECK(carried_total >= 25 * 2);
    for (int i = 0; i < 60; i++) gd_neat_genome_free(&old[i]);
    /* Evolve without fitness: a state error. */
    CHECK(gd_neat_population_evolve(pop, &err) == GD_ESTATE);
    fit[3] = NAN;
    CHECK(gd_neat_population_set_fitness(pop, fit, &err) == GD_ENUMERIC);
    gd_neat_population_free(pop);
    /* A population smaller than the elite count. */
    p.pop_size = 1;
    CHECK(gd_neat_population_create(&pop, &p, 1, 0, &err) == GD_EINVAL && pop == NULL);
}

/* Elites per species: with the fitnesses known, each species alive after reproduction keeps exactly its
 * top min(elitism, size) genomes. */
static void test_species_elites(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 50;
    p.compat_threshold = 1.2f;
    gd_neat_population* pop;
    CHECK_OK(gd_neat_population_create(&pop, &p, 12, 0, &err), &err);
    float target[HW], images[50 * HW], fit[50];
    ring_target(target);
    int checked = 0;
    for (int gen = 0; gen < 10; gen++) {
        toy_fitness(pop, target, images, fit);
        int64_t keys[50], sp[50];
        int rank[50];
        for (int i = 0; i < 50; i++) {
            keys[i] = gd_neat_population_genome(pop, i)->key;
            sp[i] = gd_neat_population_genome(pop, i)->species;
            rank[i] = rank_in_species(pop, i);
        }
        CHECK_OK(gd_neat_population_evolve(pop, &err), &err);
        for (int i = 0; i < 50; i++) {
            int kept = 0;
            for (int j = 0; j < 50; j++) kept |= gd_neat_population_genome(pop, j)->key == keys[i];
            if (kept) CHECK(rank[i] < p.elitism);
            /* If one elite of the species was kept, every elite of that species was. */
            for (int k = 0; k < 50; k++)
                if (k != i && sp[k] == sp[i] && rank[k] < p.elitism && rank[i] < p.elitism) {
                    int kept_k = 0;
                    for (int j = 0; j < 50; j++) kept_k |= gd_neat_population_genome(pop, j)->key == keys[k];
                    CHECK(kept == kept_k);
                    checked++;
                }
        }
    }
    CHECK(checked > 0);
    gd_neat_population_free(pop);
}

static void test_determinism_and_improvement(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 50;
    gd_neat_population *a, *b, *c;
    CHECK_OK(gd_neat_population_create(&a, &p, 7, 3, &err), &err);
    CHECK_OK(gd_neat_population_create(&b, &p, 7, 3, &err), &err);
    CHECK_OK(gd_neat_population_create(&c, &p, 7, 4, &err), &err);
    float target[HW], ia[50 * HW], ib[50 * HW], ic[50 * HW], fa[50], fb[50], fc[50];
    ring_target(target);
    float first_best = 0, last_best = 0;
    int G = 40;
    for (int gen = 0; gen < G; gen++) {
        toy_fitness(a, target, ia, fa);
        toy_fitness(b, target, ib, fb);
        toy_fitness(c, target, ic, fc);
        float best = -1;
        for (int i = 0; i < 50; i++) best = fa[i] > best ? fa[i] : best;
        if (gen == 0) first_best = best;
        last_best = best;
        CHECK_OK(gd_neat_population_evolve(a, &err), &err);
        CHECK_OK(gd_neat_population_evolve(b, &err), &err);
        CHECK_OK(gd_neat_population_evolve(c, &err), &err);
    }
    /* Same seed and index: identical genomes and images; another index: different. */
    int same = 1, diff = 0;
    for (int i = 0; i < 50; i++) {
        const gd_neat_genome *ga = gd_neat_population_genome(a, i), *gb = gd_neat_population_genome(b, i),
                             *gc = gd_neat_population_genome(c, i);
        same &= same_genes(ga, gb) && ga->key == gb->key && ga->species == gb->species;
        diff += !same_genes(ga, gc);
    }
    CHECK(same);
    CHECK(diff > 0);
    CHECK_OK(gd_neat_population_render(a, H, W, ia, &err), &err);
    CHECK_OK(gd_neat_population_render(b, H, W, ib, &err), &err);
    CHECK(!memcmp(ia, ib, sizeof ia));
    /* Evolution improves the toy fitness. */
    CHECK_MSG(last_best > first_best + 0.05f, "best fitness %g -> %g", first_best, last_best);
    printf("ring target: best fitness %.4f -> %.4f over %d generations\n", first_best, last_best, G);
    gd_neat_population_free(a);
    gd_neat_population_free(b);
    gd_neat_population_free(c);
}

/* A tiny linear softmax "classifier" over 3 classes: z0 = 6 (mean left half - mean right half),
 * z1 = 10 (mean over the ring - mean elsewhere) - 2, z2 = 0. Class 1 above 0.9 needs a clear ring. */
static gd_status linear_classify(void* ctx, const float* images, int P, float* probs, gd_error* e) {
    (void)e;
    int* calls = ctx;
    (*calls)++;
    float ring[HW];
    ring_target(ring);
    for (int i = 0; i < P; i++) {
        const float* im = images + (size_t)i * HW;
        double l = 0, r = 0, in = 0, out = 0;
        int n_in = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = im[y * W + x];
                if (x < W / 2) l += v;
                else r += v;
                if (ring[y * W + x] > 0) in += v, n_in++;
                else out += v;
            }
        double z[3] = {6 * (l - r) / (HW / 2), 10 * (in / n_in - out / (HW - n_in)) - 2, 0};
        double m = fmax(z[0], fmax(z[1], z[2])), s = 0;
        for (int c = 0; c < 3; c++) s += exp(z[c] - m);
        for (int c = 0; c < 3; c++) probs[i * 3 + c] = (float)(exp(z[c] - m) / s);
    }
    return GD_OK;
}

static void test_run(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.pop_size = 40;
    gd_neat_run_config cfg = {.height = H, .width = W, .classes = 3, .target = 1, .generations = 30,
                              .threshold = 0.9f, .max_keep = 0, .stop_after = 0, .seed = 5, .index = 1};
    gd_neat_run_result r;
    int calls = 0;
    CHECK_OK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r, &err), &err);
    CHECK(calls == 30 && r.n_generations == 30 && r.evaluations == 30 * 40);
    CHECK_MSG(r.best_confidence[29] > r.best_confidence[0], "confidence %g -> %g", r.best_confidence[0],
              r.best_confidence[29]);
    CHECK(r.best_fitness[29] >= r.best_fitness[0]);
    CHECK_MSG(r.n_kept > 0, "no image above 0.9 (best %g)", r.best_conf);
    printf("linear classifier, target 1: confidence %.4f -> %.4f, %d images kept\n", r.best_confidence[0],
           r.best_confidence[29], r.n_kept);
    /* Every kept image: above the threshold, reproduced exactly by its genome; keys distinct. */
    gd_neat_render_ws ws = {0};
    float img[HW], probs[3];
    int dummy = 0;
    for (int k = 0; k < r.n_kept; k++) {
        CHECK(r.confidence[k] > 0.9f && r.generation[k] >= 0 && r.generation[k] < 30);
        CHECK_OK(gd_neat_render(&r.genomes[k], &p, H, W, &ws, img, &err), &err);
        CHECK(!memcmp(img, r.images + (size_t)k * HW, sizeof img));
        linear_classify(&dummy, img, 1, probs, &err);
        CHECK_NEAR(probs[1], r.confidence[k], 1e-6);
        for (int j = 0; j < k; j++) CHECK(r.genomes[j].key != r.genomes[k].key);
    }
    /* Fitness definition and range. */
    float onehot[3] = {0, 1, 0}, wrong[3] = {1, 0, 0}, unif[3] = {1 / 3.f, 1 / 3.f, 1 / 3.f};
    CHECK_NEAR(gd_neat_fitness(onehot, 3, 1), 1.0, 1e-7);
    CHECK_NEAR(gd_neat_fitness(wrong, 3, 1), 1 - sqrt(2.0), 1e-6);
    CHECK_NEAR(gd_neat_fitness(unif, 3, 1), 1 - sqrt(4 / 9. + 1 / 9. + 1 / 9.), 1e-6);
    /* Same run again: identical result; stop_after stops early. */
    gd_neat_run_result r2;
    CHECK_OK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r2, &err), &err);
    CHECK(r2.n_kept == r.n_kept && !memcmp(r2.best_fitness, r.best_fitness, sizeof(float) * 30));
    if (r.n_kept == r2.n_kept) CHECK(!memcmp(r2.images, r.images, sizeof(float) * HW * (size_t)r.n_kept));
    gd_neat_run_result_free(&r2);
    /* At most one image per generation, the most confident new one. */
    cfg.keep_per_generation = 1;
    CHECK_OK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r2, &err), &err);
    CHECK(r2.n_kept > 0 && r2.n_kept < r.n_kept);
    for (int k = 1; k < r2.n_kept; k++) CHECK(r2.generation[k] > r2.generation[k - 1]);
    for (int k = 0; k < r2.n_kept; k++)
        for (int j = 0; j < r.n_kept; j++)
            if (r.generation[j] == r2.generation[k]) CHECK(r.confidence[j] <= r2.confidence[k]);
    gd_neat_run_result_free(&r2);
    cfg.keep_per_generation = 0;
    cfg.stop_after = 1;
    CHECK_OK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r2, &err), &err);
    CHECK(r2.n_kept >= 1 && r2.n_generations <= r.generation[0] + 1);
    gd_neat_run_result_free(&r2);
    /* Bad settings. */
    cfg.target = 3;
    CHECK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r2, &err) == GD_EINVAL);
    cfg.target = 1;
    cfg.threshold = 1.5f;
    CHECK(gd_neat_run(&p, &cfg, linear_classify, &calls, &r2, &err) == GD_EINVAL);
    gd_neat_render_free(&ws);
    gd_neat_run_result_free(&r);
}

int main(void) {
    test_invariants();
    test_species_elites();
    test_determinism_and_improvement();
    test_run();
    return gd_test_done("test_neat_population");
}
