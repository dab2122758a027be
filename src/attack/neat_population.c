/* NEAT populations: speciation, stagnation, fitness sharing, elitism and reproduction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/neat.h"

typedef struct {
    int id;
    int created, last_improved;
    float best;          /* best maximum member fitness seen so far */
    gd_neat_genome rep;  /* representative (a copy) */
    int n_members;
    float max_f, mean_f; /* of the current members, after set_fitness */
    int rank, alive, spawn;
    double adjusted, target;
} neat_species;

struct gd_neat_population {
    gd_neat_params p;
    gd_rng rng;
    gd_neat_innovations innov;
    int generation, P, fitness_set;
    int64_t next_key;
    int next_species;
    gd_neat_genome* g;    /* (P) current generation */
    gd_neat_genome* next; /* (P) scratch for reproduction */
    neat_species* sp;
    int n_sp, cap_sp;
    int* members;         /* (P) scratch */
    int* rank;            /* (cap_sp) scratch */
    gd_neat_render_ws ws;
};

#define OOM(what) gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (%s)", what)

int gd_neat_population_size(const gd_neat_population* pop) { return pop->P; }
int gd_neat_population_generation(const gd_neat_population* pop) { return pop->generation; }
int gd_neat_population_species_count(const gd_neat_population* pop) { return pop->n_sp; }
const gd_neat_params* gd_neat_population_params(const gd_neat_population* pop) { return &pop->p; }
const gd_neat_genome* gd_neat_population_genome(const gd_neat_population* pop, int i) { return &pop->g[i]; }

/* Appends a species represented by genome g. */
static gd_status species_new(gd_neat_population* pop, const gd_neat_genome* g, gd_error* err) {
    if (pop->n_sp == pop->cap_sp) {
        int cap = pop->cap_sp ? 2 * pop->cap_sp : 16;
        neat_species* q = realloc(pop->sp, sizeof *q * (size_t)cap);
        int* r = realloc(pop->rank, sizeof *r * (size_t)cap);
        if (q) pop->sp = q;
        if (r) pop->rank = r;
        if (!q || !r) return OOM("NEAT species");
        pop->cap_sp = cap;
    }
    neat_species* s = &pop->sp[pop->n_sp];
    memset(s, 0, sizeof *s);
    s->id = pop->next_species;
    s->created = s->last_improved = pop->generation;
    s->best = -INFINITY;
    gd_status st = gd_neat_genome_copy(&s->rep, g, err);
    if (st) {
        gd_neat_genome_free(&s->rep);
        return st;
    }
    pop->next_species++;
    pop->n_sp++;
    return GD_OK;
}

/* Removes the species whose `keep` test fails, keeping the order. */
static void species_compact(gd_neat_population* pop, int (*keep)(const neat_species*)) {
    int m = 0;
    for (int s = 0; s < pop->n_sp; s++) {
        if (keep(&pop->sp[s]))
            pop->sp[m++] = pop->sp[s];
        else
            gd_neat_genome_free(&pop->sp[s].rep);
    }
    pop->n_sp = m;
}

static int has_members(const neat_species* s) { return s->n_members > 0; }
static int is_alive(const neat_species* s) { return s->alive; }

/* neat-python's speciation: each existing species takes the genome closest to its old representative as
 * the new one; every other genome joins the closest species within the threshold or founds a new one. */
static gd_status speciate(gd_neat_population* pop, gd_error* err) {
    const gd_neat_params* p = &pop->p;
    for (int i = 0; i < pop->P; i++) pop->g[i].species = -1;
    int unassigned = pop->P;
    for (int s = 0; s < pop->n_sp; s++) {
        pop->sp[s].n_members = 0;
        if (!unassigned) continue;
        int best = -1;
        float bd = INFINITY;
        for (int i = 0; i < pop->P; i++) {
            if (pop->g[i].species >= 0) continue;
            float d = gd_neat_distance(&pop->sp[s].rep, &pop->g[i], p);
            if (best < 0 || d < bd) best = i, bd = d;
        }
        gd_status st = gd_neat_genome_copy(&pop->sp[s].rep, &pop->g[best], err);
        if (st) return st;
        pop->g[best].species = pop->sp[s].id;
        pop->sp[s].n_members = 1;
        unassigned--;
    }
    for (int i = 0; i < pop->P; i++) {
        if (pop->g[i].species >= 0) continue;
        int best = -1;
        float bd = INFINITY;
        for (int s = 0; s < pop->n_sp; s++) {
            if (!pop->sp[s].n_members) continue;
            float d = gd_neat_distance(&pop->sp[s].rep, &pop->g[i], p);
            if (d < p->compat_threshold && d < bd) best = s, bd = d;
        }
        if (best < 0) {
            gd_status st = species_new(pop, &pop->g[i], err);
            if (st) return st;
            best = pop->n_sp - 1;
        }
        pop->g[i].species = pop->sp[best].id;
        pop->sp[best].n_members++;
    }
    species_compact(pop, has_members);
    for (int s = 0; s < pop->n_sp; s++) pop->sp[s].rep.species = pop->sp[s].id;
    return GD_OK;
}

void gd_neat_population_free(gd_neat_population* pop) {
    if (!pop) return;
    for (int i = 0; i < pop->P; i++) {
        if (pop->g) gd_neat_genome_free(&pop->g[i]);
        if (pop->next) gd_neat_genome_free(&pop->next[i]);
    }
    for (int s = 0; s < pop->n_sp; s++) gd_neat_genome_free(&pop->sp[s].rep);
    free(pop->g);
    free(pop->next);
    free(pop->sp);
    free(pop->rank);
    free(pop->members);
    gd_neat_innovations_free(&pop->innov);
    gd_neat_render_free(&pop->ws);
    free(pop);
}

gd_status gd_neat_population_create(gd_neat_population** out, const gd_neat_params* p, uint64_t seed,
                                    uint64_t index, gd_error* err) {
    *out = NULL;
    gd_status s = gd_neat_params_check(p, err);
    if (s) return s;
    gd_neat_population* pop = calloc(1, sizeof *pop);
    if (!pop) return OOM("NEAT population");
    pop->p = *p;
    pop->P = p->pop_size;
    gd_rng_init(&pop->rng, seed, GD_STREAM_NEAT, index);
    gd_neat_innovations_init(&pop->innov, 4, GD_NEAT_N_FIXED);
    pop->g = calloc((size_t)pop->P, sizeof *pop->g);
    pop->next = calloc((size_t)pop->P, sizeof *pop->next);
    pop->members = calloc((size_t)pop->P, sizeof *pop->members);
    if (!pop->g || !pop->next || !pop->members) {
        gd_neat_population_free(pop);
        return OOM("NEAT population");
    }
    for (int i = 0; i < pop->P && !s; i++) s = gd_neat_genome_create(&pop->g[i], i, p, &pop->rng, err);
    pop->next_key = pop->P;
    if (!s) s = speciate(pop, err);
    if (s) {
        gd_neat_population_free(pop);
        return s;
    }
    *out = pop;
    return GD_OK;
}

gd_status gd_neat_population_set_fitness(gd_neat_population* pop, const float* fitness, gd_error* err) {
    for (int i = 0; i < pop->P; i++)
        if (!isfinite(fitness[i]))
            return gd_error_set(err, GD_ENUMERIC, NULL, 0, 0, "check the classifier's output",
                                "NEAT fitness of genome %d (key %lld) is not finite", i, (long long)pop->g[i].key);
    for (int i = 0; i < pop->P; i++) pop->g[i].fitness = fitness[i];
    pop->fitness_set = 1;
    return GD_OK;
}

gd_status gd_neat_population_render(gd_neat_population* pop, int H, int W, float* out, gd_error* err) {
    size_t hw = (size_t)H * W;
    for (int i = 0; i < pop->P; i++) {
        gd_status s = gd_neat_render(&pop->g[i], &pop->p, H, W, &pop->ws, out + (size_t)i * hw, err);
        if (s) return s;
    }
    return GD_OK;
}

/* Sorts member indices by fitness descending, then key ascending (a total order: deterministic). */
static void sort_members(const gd_neat_genome* g, int* idx, int n) {
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i;
        while (j > 0) {
            const gd_neat_genome *a = &g[idx[j - 1]], *b = &g[v];
            int after = a->fitness < b->fitness || (a->fitness == b->fitness && a->key > b->key);
            if (!after) break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/* Spawn amounts: neat-python's rule (target proportional to adjusted fitness, at least min_species_size,
 * moved halfway from the previous size), then apportioned to sum exactly to P with the same minimum. */
static void compute_spawn(gd_neat_population* pop) {
    const gd_neat_params* p = &pop->p;
    double af_sum = 0.0, total = 0.0;
    int S = 0;
    for (int s = 0; s < pop->n_sp; s++)
        if (pop->sp[s].alive) af_sum += pop->sp[s].adjusted, S++;
    for (int s = 0; s < pop->n_sp; s++) {
        neat_species* sp = &pop->sp[s];
        if (!sp->alive) continue;
        double t = af_sum > 0.0 ? sp->adjusted / af_sum * pop->P : (double)pop->P / S;
        if (t < p->min_species_size) t = p->min_species_size;
        double prev = sp->n_members, d = (t - prev) * 0.5;
        long c = lround(d);
        double spawn = prev + (c != 0 ? (double)c : d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0);
        if (spawn < 1.0) spawn = 1.0;
        sp->target = spawn;
        total += spawn;
    }
    int sum = 0;
    for (int s = 0; s < pop->n_sp; s++) {
        neat_species* sp = &pop->sp[s];
        if (!sp->alive) continue;
        sp->target = sp->target * pop->P / total;
        sp->spawn = (int)floor(sp->target);
        if (sp->spawn < p->min_species_size) sp->spawn = p->min_species_size;
        sum += sp->spawn;
    }
    while (sum != pop->P) {
        int best = -1;
        double bv = 0.0;
        for (int s = 0; s < pop->n_sp; s++) {
            neat_species* sp = &pop->sp[s];
            if (!sp->alive) continue;
            if (sum > pop->P && sp->spawn <= p->min_species_size) continue;
            double v = sum > pop->P ? sp->spawn - sp->target : sp->target - sp->spawn;
            if (best < 0 || v > bv) best = s, bv = v;
        }
        if (best < 0) break; /* cannot happen: S * min_species_size <= P */
        pop->sp[best].spawn += sum > pop->P ? -1 : 1;
        sum += sum > pop->P ? -1 : 1;
    }
}

gd_status gd_neat_population_evolve(gd_neat_population* pop, gd_error* err) {
    const gd_neat_params* p = &pop->p;
    if (!pop->fitness_set)
        return gd_error_set(err, GD_ESTATE, NULL, 0, 0, "call gd_neat_population_set_fitness first",
                            "NEAT generation %d has no fitness yet", pop->generation);
    gd_neat_innovations_new_generation(&pop->innov);
    /* Member statistics and stagnation. */
    float minf = INFINITY, maxf = -INFINITY;
    for (int s = 0; s < pop->n_sp; s++) {
        neat_species* sp = &pop->sp[s];
        double sum = 0.0;
        int n = 0;
        sp->max_f = -INFINITY;
        for (int i = 0; i < pop->P; i++)
            if (pop->g[i].species == sp->id) {
                sum += pop->g[i].fitness, n++;
                if (pop->g[i].fitness > sp->max_f) sp->max_f = pop->g[i].fitness;
            }
        sp->n_members = n;
        sp->mean_f = n ? (float)(sum / n) : 0.0f;
        if (sp->max_f > sp->best) sp->best = sp->max_f, sp->last_improved = pop->generation;
        pop->rank[s] = s;
    }
    /* Rank species by maximum fitness (then id): the best species_elitism (at least 1) never stagnate. */
    for (int i = 1; i < pop->n_sp; i++) {
        int v = pop->rank[i], j = i;
        while (j > 0) {
            const neat_species *a = &pop->sp[pop->rank[j - 1]], *b = &pop->sp[v];
            if (!(a->max_f < b->max_f || (a->max_f == b->max_f && a->id > b->id))) break;
            pop->rank[j] = pop->rank[j - 1];
            j--;
        }
        pop->rank[j] = v;
    }
    int protect = p->species_elitism > 1 ? p->species_elitism : 1;
    int max_species = pop->P / p->min_species_size, n_alive = 0;
    for (int r = 0; r < pop->n_sp; r++) {
        neat_species* sp = &pop->sp[pop->rank[r]];
        sp->rank = r;
        int stagnant = pop->generation - sp->last_improved >= p->max_stagnation && r >= protect;
        sp->alive = !stagnant && sp->n_members > 0 && n_alive < max_species;
        n_alive += sp->alive;
    }
    for (int s = 0; s < pop->n_sp; s++)
        if (pop->sp[s].alive)
            for (int i = 0; i < pop->P; i++)
                if (pop->g[i].species == pop->sp[s].id) {
                    if (pop->g[i].fitness < minf) minf = pop->g[i].fitness;
                    if (pop->g[i].fitness > maxf) maxf = pop->g[i].fitness;
                }
    /* Fitness sharing: a species' share follows its mean fitness, shifted by the minimum. */
    double range = maxf - minf > 1.0 ? maxf - minf : 1.0;
    for (int s = 0; s < pop->n_sp; s++) pop->sp[s].adjusted = pop->sp[s].alive ? (pop->sp[s].mean_f - minf) / range : 0.0;
    compute_spawn(pop);
    /* Offspring, species by species. */
    int k = 0;
    for (int s = 0; s < pop->n_sp; s++) {
        neat_species* sp = &pop->sp[s];
        if (!sp->alive) continue;
        int n = 0;
        for (int i = 0; i < pop->P; i++)
            if (pop->g[i].species == sp->id) pop->members[n++] = i;
        sort_members(pop->g, pop->members, n);
        int elites = p->elitism < sp->spawn ? p->elitism : sp->spawn;
        if (elites > n) elites = n;
        gd_status st;
        for (int e = 0; e < elites; e++)
            if ((st = gd_neat_genome_copy(&pop->next[k++], &pop->g[pop->members[e]], err))) return st;
        int cutoff = (int)ceil(p->survival_threshold * n);
        if (cutoff < 2) cutoff = 2;
        if (cutoff > n) cutoff = n;
        for (int c = elites; c < sp->spawn; c++) {
            const gd_neat_genome* a = &pop->g[pop->members[gd_rng_below(&pop->rng, (uint32_t)cutoff)]];
            const gd_neat_genome* b = &pop->g[pop->members[gd_rng_below(&pop->rng, (uint32_t)cutoff)]];
            gd_neat_genome* child = &pop->next[k++];
            if ((st = gd_neat_crossover(a, b, pop->next_key++, p, &pop->rng, child, err))) return st;
            if ((st = gd_neat_mutate(child, &pop->innov, p, &pop->rng, err))) return st;
        }
    }
    if (k != pop->P)
        return gd_error_set(err, GD_ESTATE, NULL, 0, 0, NULL, "NEAT reproduction made %d genomes instead of %d", k,
                            pop->P);
    gd_neat_genome* t = pop->g;
    pop->g = pop->next;
    pop->next = t;
    species_compact(pop, is_alive);
    pop->generation++;
    pop->fitness_set = 0;
    return speciate(pop, err);
}
