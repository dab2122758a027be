/* Fooling-image evolution: one NEAT population against a classifier for one target class. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/neat.h"

float gd_neat_fitness(const float* probs, int classes, int target) {
    double s = 0.0;
    for (int c = 0; c < classes; c++) {
        double d = (double)probs[c] - (c == target ? 1.0 : 0.0);
        s += d * d;
    }
    return (float)(1.0 - sqrt(s));
}

void gd_neat_run_result_free(gd_neat_run_result* r) {
    for (int i = 0; i < r->n_kept; i++) gd_neat_genome_free(&r->genomes[i]);
    free(r->genomes);
    free(r->images);
    free(r->confidence);
    free(r->generation);
    free(r->best_fitness);
    free(r->mean_fitness);
    free(r->best_confidence);
    free(r->n_species);
    free(r->best_image);
    gd_neat_genome_free(&r->best_genome);
    memset(r, 0, sizeof *r);
}

/* Appends image/genome to the kept list (growing it). */
static gd_status keep(gd_neat_run_result* r, const float* image, const gd_neat_genome* g, float conf, int gen,
                      gd_error* err) {
    size_t hw = (size_t)r->height * r->width;
    if (r->n_kept == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        float* im = realloc(r->images, sizeof(float) * hw * (size_t)cap);
        if (im) r->images = im;
        float* cf = realloc(r->confidence, sizeof(float) * (size_t)cap);
        if (cf) r->confidence = cf;
        int32_t* gn = realloc(r->generation, sizeof(int32_t) * (size_t)cap);
        if (gn) r->generation = gn;
        gd_neat_genome* gs = realloc(r->genomes, sizeof *gs * (size_t)cap);
        if (gs) r->genomes = gs;
        if (!im || !cf || !gn || !gs) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (kept NEAT images)");
        memset(r->genomes + r->cap, 0, sizeof *gs * (size_t)(cap - r->cap));
        r->cap = cap;
    }
    int i = r->n_kept;
    memcpy(r->images + hw * (size_t)i, image, sizeof(float) * hw);
    r->confidence[i] = conf;
    r->generation[i] = gen;
    gd_status s = gd_neat_genome_copy(&r->genomes[i], g, err);
    if (s) return s;
    r->n_kept++;
    return GD_OK;
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}

gd_status gd_neat_run(const gd_neat_params* p, const gd_neat_run_config* cfg, gd_neat_classify_fn classify,
                      void* ctx, gd_neat_run_result* out, gd_error* err) {
    memset(out, 0, sizeof *out);
    const char* hint = "fix the attack settings";
    if (cfg->height < 1 || cfg->width < 1 || (size_t)cfg->height * cfg->width > (1u << 24))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "NEAT image size %d x %d is out of range", cfg->height,
                            cfg->width);
    if (cfg->classes < 2 || cfg->target < 0 || cfg->target >= cfg->classes)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "NEAT target class %d is not in [0, %d)", cfg->target,
                            cfg->classes);
    if (cfg->generations < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "NEAT generations = %d must be >= 1", cfg->generations);
    if (!(cfg->threshold >= 0.0f && cfg->threshold <= 1.0f))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint, "NEAT confidence threshold %g is not in [0, 1]",
                            (double)cfg->threshold);
    if (cfg->max_keep < 0 || cfg->stop_after < 0 || cfg->keep_per_generation < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, hint,
                            "NEAT max_keep, keep_per_generation and stop_after must be >= 0");
    gd_neat_population* pop;
    gd_status s = gd_neat_population_create(&pop, p, cfg->seed, cfg->index, err);
    if (s) return s;
    int P = p->pop_size, C = cfg->classes, G = cfg->generations;
    size_t hw = (size_t)cfg->height * cfg->width;
    float* images = malloc(sizeof(float) * hw * (size_t)P);
    float* probs = malloc(sizeof(float) * (size_t)P * C);
    float* fit = malloc(sizeof(float) * (size_t)P);
    int64_t* prev = malloc(sizeof(int64_t) * (size_t)P);
    int* cand = malloc(sizeof(int) * (size_t)P);
    out->height = cfg->height, out->width = cfg->width, out->classes = C;
    out->target = cfg->target, out->seed = cfg->seed;
    out->best_fitness = malloc(sizeof(float) * (size_t)G);
    out->mean_fitness = malloc(sizeof(float) * (size_t)G);
    out->best_confidence = malloc(sizeof(float) * (size_t)G);
    out->n_species = malloc(sizeof(int32_t) * (size_t)G);
    out->best_image = calloc(hw, sizeof(float));
    out->best_conf = -1.0f;
    out->best_genome.species = -1;
    if (!images || !probs || !fit || !prev || !cand || !out->best_fitness || !out->mean_fitness || !out->best_confidence ||
        !out->n_species || !out->best_image) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT run of %d genomes)", P);
        goto done;
    }
    int n_prev = 0;
    for (int gen = 0; gen < G; gen++) {
        if ((s = gd_neat_population_render(pop, cfg->height, cfg->width, images, err))) goto done;
        if ((s = classify(ctx, images, P, probs, err))) {
            gd_error_prefix(err, "NEAT generation %d: ", gen);
            goto done;
        }
        double sum = 0.0;
        float bf = -INFINITY, bc = -1.0f;
        for (int i = 0; i < P; i++) {
            const float* pr = probs + (size_t)i * C;
            for (int c = 0; c < C; c++)
                if (!isfinite(pr[c])) {
                    s = gd_error_set(err, GD_ENUMERIC, NULL, 0, 0, "check the classifier",
                                     "NEAT generation %d: classifier output for genome %d is not finite", gen, i);
                    goto done;
                }
            fit[i] = gd_neat_fitness(pr, C, cfg->target);
            sum += fit[i];
            if (fit[i] > bf) bf = fit[i];
            if (pr[cfg->target] > bc) bc = pr[cfg->target];
        }
        if ((s = gd_neat_population_set_fitness(pop, fit, err))) goto done;
        out->best_fitness[gen] = bf;
        out->mean_fitness[gen] = (float)(sum / P);
        out->best_confidence[gen] = bc;
        out->n_species[gen] = gd_neat_population_species_count(pop);
        out->n_generations = gen + 1;
        out->evaluations += P;
        int n_cand = 0;
        for (int i = 0; i < P; i++) {
            const gd_neat_genome* g = gd_neat_population_genome(pop, i);
            float conf = probs[(size_t)i * C + cfg->target];
            if (conf > out->best_conf) {
                out->best_conf = conf;
                memcpy(out->best_image, images + hw * (size_t)i, sizeof(float) * hw);
                if ((s = gd_neat_genome_copy(&out->best_genome, g, err))) goto done;
            }
            if (conf > cfg->threshold && !bsearch(&g->key, prev, (size_t)n_prev, sizeof *prev, cmp_i64))
                cand[n_cand++] = i;
        }
        /* The most confident new genomes first (ties: population order). */
        for (int a = 1; a < n_cand; a++) {
            int v = cand[a], b = a;
            while (b > 0 && probs[(size_t)cand[b - 1] * C + cfg->target] < probs[(size_t)v * C + cfg->target]) {
                cand[b] = cand[b - 1];
                b--;
            }
            cand[b] = v;
        }
        if (cfg->keep_per_generation && n_cand > cfg->keep_per_generation) n_cand = cfg->keep_per_generation;
        for (int a = 0; a < n_cand && (!cfg->max_keep || out->n_kept < cfg->max_keep); a++) {
            int i = cand[a];
            if ((s = keep(out, images + hw * (size_t)i, gd_neat_population_genome(pop, i),
                          probs[(size_t)i * C + cfg->target], gen, err)))
                goto done;
        }
        if (cfg->progress) cfg->progress(cfg->progress_ctx, gen, out->best_conf, out->n_kept);
        for (int i = 0; i < P; i++) prev[i] = gd_neat_population_genome(pop, i)->key;
        n_prev = P;
        qsort(prev, (size_t)P, sizeof *prev, cmp_i64);
        if (cfg->stop_after && out->n_kept >= cfg->stop_after) break;
        if (gen + 1 < G && (s = gd_neat_population_evolve(pop, err))) goto done;
    }
done:
    free(images);
    free(probs);
    free(fit);
    free(prev);
    free(cand);
    gd_neat_population_free(pop);
    if (s) gd_neat_run_result_free(out);
    return s;
}
