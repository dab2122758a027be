/* NEAT genomes: genes, innovation registry, structural and attribute mutations, crossover, distance,
 * flat packing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/neat.h"

/* ---- parameters ------------------------------------------------------------------------------------ */

static const char* const act_names[GD_NEAT_ACT_COUNT] = {"sigmoid", "tanh", "sin", "gauss", "abs",
                                                        "identity", "relu", "cos", "square", "clamped"};

const char* gd_neat_activation_name(int act) {
    return act >= 0 && act < GD_NEAT_ACT_COUNT ? act_names[act] : "?";
}

int gd_neat_activation_parse(const char* name) {
    for (int a = 0; a < GD_NEAT_ACT_COUNT; a++)
        if (name && !strcmp(name, act_names[a])) return a;
    return -1;
}

void gd_neat_params_default(gd_neat_params* p) {
    memset(p, 0, sizeof *p);
    p->pop_size = 150;
    p->elitism = 2;
    p->survival_threshold = 0.2f;
    p->min_species_size = 2;
    p->max_stagnation = 15;
    p->species_elitism = 2;
    p->compat_threshold = 3.0f;
    p->compat_disjoint = 1.0f;
    p->compat_weight = 0.5f;
    p->conn_add_prob = 0.5f;
    p->conn_delete_prob = 0.5f;
    p->node_add_prob = 0.2f;
    p->node_delete_prob = 0.2f;
    p->weight_init_stdev = 1.0f;
    p->weight_mutate_rate = 0.8f;
    p->weight_mutate_power = 0.5f;
    p->weight_replace_rate = 0.1f;
    p->weight_min = -30.0f;
    p->weight_max = 30.0f;
    p->bias_init_stdev = 1.0f;
    p->bias_mutate_rate = 0.7f;
    p->bias_mutate_power = 0.5f;
    p->bias_replace_rate = 0.1f;
    p->bias_max = 30.0f;
    p->response_mutate_rate = 0.0f;
    p->response_mutate_power = 0.0f;
    p->response_max = 30.0f;
    p->enabled_mutate_rate = 0.01f;
    p->activation_mutate_rate = 0.1f;
    p->activation_options = GD_NEAT_ACT_CPPN;
    p->output_activation = GD_NEAT_ACT_SIGMOID;
    p->new_node_activation = GD_NEAT_ACT_RANDOM;
    p->disabled_inherit_rate = 0.75f;
    p->squash = GD_NEAT_SQUASH_CLAMP;
}

#define HINT "fix the NEAT parameters (attack.neat in the configuration)"

static gd_status check_rate(const char* name, float v, gd_error* err) {
    if (!(v >= 0.0f && v <= 1.0f))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT parameter %s = %g is not in [0, 1]", name,
                            (double)v);
    return GD_OK;
}

static gd_status check_nonneg(const char* name, float v, gd_error* err) {
    if (!(v >= 0.0f && isfinite(v)))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT parameter %s = %g must be finite and >= 0",
                            name, (double)v);
    return GD_OK;
}

gd_status gd_neat_params_check(const gd_neat_params* p, gd_error* err) {
    gd_status s;
    if (p->elitism < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT elitism = %d must be >= 0", p->elitism);
    if (p->min_species_size < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT min_species_size = %d must be >= 1",
                            p->min_species_size);
    if (p->min_species_size < p->elitism)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "raise min_species_size or lower elitism",
                            "NEAT min_species_size = %d is smaller than elitism = %d", p->min_species_size,
                            p->elitism);
    if (p->pop_size < 2 || p->pop_size < p->elitism || p->pop_size < p->min_species_size)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, "use a population of at least max(2, elitism, min_species_size)",
                            "NEAT population size %d is smaller than the elite count %d or the minimum species "
                            "size %d (or < 2)",
                            p->pop_size, p->elitism, p->min_species_size);
    if (p->pop_size > 1000000)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT population size %d is too large", p->pop_size);
    if (p->max_stagnation < 1)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT max_stagnation = %d must be >= 1",
                            p->max_stagnation);
    if (p->species_elitism < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT species_elitism = %d must be >= 0",
                            p->species_elitism);
    if (!(p->survival_threshold > 0.0f && p->survival_threshold <= 1.0f))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT survival_threshold = %g is not in (0, 1]",
                            (double)p->survival_threshold);
    const struct {
        const char* n;
        float v;
    } rates[] = {{"conn_add_prob", p->conn_add_prob},
                 {"conn_delete_prob", p->conn_delete_prob},
                 {"node_add_prob", p->node_add_prob},
                 {"node_delete_prob", p->node_delete_prob},
                 {"weight_mutate_rate", p->weight_mutate_rate},
                 {"weight_replace_rate", p->weight_replace_rate},
                 {"bias_mutate_rate", p->bias_mutate_rate},
                 {"bias_replace_rate", p->bias_replace_rate},
                 {"response_mutate_rate", p->response_mutate_rate},
                 {"enabled_mutate_rate", p->enabled_mutate_rate},
                 {"activation_mutate_rate", p->activation_mutate_rate},
                 {"disabled_inherit_rate", p->disabled_inherit_rate}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if ((s = check_rate(rates[i].n, rates[i].v, err))) return s;
    if (p->weight_mutate_rate + p->weight_replace_rate > 1.0f)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT weight_mutate_rate + weight_replace_rate > 1");
    if (p->bias_mutate_rate + p->bias_replace_rate > 1.0f)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT bias_mutate_rate + bias_replace_rate > 1");
    const struct {
        const char* n;
        float v;
    } nonneg[] = {{"compat_threshold", p->compat_threshold}, {"compat_disjoint", p->compat_disjoint},
                  {"compat_weight", p->compat_weight},       {"weight_init_stdev", p->weight_init_stdev},
                  {"weight_mutate_power", p->weight_mutate_power},
                  {"bias_init_stdev", p->bias_init_stdev},   {"bias_mutate_power", p->bias_mutate_power},
                  {"bias_max", p->bias_max},                 {"response_mutate_power", p->response_mutate_power},
                  {"response_max", p->response_max}};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        if ((s = check_nonneg(nonneg[i].n, nonneg[i].v, err))) return s;
    if (!(p->weight_min < p->weight_max) || !isfinite(p->weight_min) || !isfinite(p->weight_max))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT weight_min = %g must be below weight_max = %g",
                            (double)p->weight_min, (double)p->weight_max);
    if (p->activation_options == 0 || (p->activation_options & ~GD_NEAT_ACT_ALL))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT activation_options 0x%x: choose among %u activations",
                            p->activation_options, (unsigned)GD_NEAT_ACT_COUNT);
    if (p->output_activation < 0 || p->output_activation >= GD_NEAT_ACT_COUNT)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT output_activation %d is unknown",
                            p->output_activation);
    if (p->new_node_activation != GD_NEAT_ACT_RANDOM &&
        (p->new_node_activation < 0 || p->new_node_activation >= GD_NEAT_ACT_COUNT))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT new_node_activation %d is unknown",
                            p->new_node_activation);
    if (p->squash != GD_NEAT_SQUASH_CLAMP && p->squash != GD_NEAT_SQUASH_SIGMOID)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, HINT, "NEAT squash %d is unknown", p->squash);
    return GD_OK;
}

/* ---- registry -------------------------------------------------------------------------------------- */

enum { INNOV_CONN = 0, INNOV_SPLIT = 1 };

struct gd_neat_innovation_entry {
    int32_t kind;
    int32_t a, b;        /* INNOV_CONN: in, out; INNOV_SPLIT: unused */
    int64_t key;         /* INNOV_SPLIT: innovation of the split connection */
    int64_t innovation;  /* INNOV_CONN: the connection's; INNOV_SPLIT: of in->new (out: +1) */
    int32_t node;        /* INNOV_SPLIT: the new node id */
};

void gd_neat_innovations_init(gd_neat_innovations* r, int64_t next_innovation, int32_t next_node_id) {
    memset(r, 0, sizeof *r);
    r->next_innovation = next_innovation;
    r->next_node_id = next_node_id;
}

void gd_neat_innovations_new_generation(gd_neat_innovations* r) { r->n = 0; }

void gd_neat_innovations_free(gd_neat_innovations* r) {
    free(r->entries);
    r->entries = NULL;
    r->n = r->cap = 0;
}

static gd_status registry_push(gd_neat_innovations* r, gd_neat_innovation_entry e, gd_error* err) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        gd_neat_innovation_entry* q = realloc(r->entries, sizeof *q * (size_t)cap);
        if (!q) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT innovation registry)");
        r->entries = q;
        r->cap = cap;
    }
    r->entries[r->n++] = e;
    return GD_OK;
}

/* The innovation number of connection in -> out this generation (new if not yet seen). */
static gd_status registry_conn(gd_neat_innovations* r, int32_t in, int32_t out, int64_t* innov, gd_error* err) {
    for (int i = 0; i < r->n; i++)
        if (r->entries[i].kind == INNOV_CONN && r->entries[i].a == in && r->entries[i].b == out) {
            *innov = r->entries[i].innovation;
            return GD_OK;
        }
    gd_neat_innovation_entry e = {INNOV_CONN, in, out, 0, r->next_innovation, -1};
    gd_status s = registry_push(r, e, err);
    if (s) return s;
    *innov = r->next_innovation++;
    return GD_OK;
}

/* Node id and the two innovation numbers for splitting connection `split` this generation. */
static gd_status registry_split(gd_neat_innovations* r, int64_t split, int32_t* node, int64_t* innov_in,
                                gd_error* err) {
    for (int i = 0; i < r->n; i++)
        if (r->entries[i].kind == INNOV_SPLIT && r->entries[i].key == split) {
            *node = r->entries[i].node;
            *innov_in = r->entries[i].innovation;
            return GD_OK;
        }
    gd_neat_innovation_entry e = {INNOV_SPLIT, 0, 0, split, r->next_innovation, r->next_node_id};
    gd_status s = registry_push(r, e, err);
    if (s) return s;
    *node = r->next_node_id++;
    *innov_in = r->next_innovation;
    r->next_innovation += 2;
    return GD_OK;
}

/* ---- genes ----------------------------------------------------------------------------------------- */

void gd_neat_genome_free(gd_neat_genome* g) {
    free(g->nodes);
    free(g->conns);
    memset(g, 0, sizeof *g);
    g->species = -1;
}

static gd_status reserve_nodes(gd_neat_genome* g, int n, gd_error* err) {
    if (n <= g->cap_nodes) return GD_OK;
    int cap = g->cap_nodes ? g->cap_nodes : 8;
    while (cap < n) cap *= 2;
    gd_neat_node* q = realloc(g->nodes, sizeof *q * (size_t)cap);
    if (!q) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT genome nodes)");
    g->nodes = q;
    g->cap_nodes = cap;
    return GD_OK;
}

static gd_status reserve_conns(gd_neat_genome* g, int n, gd_error* err) {
    if (n <= g->cap_conns) return GD_OK;
    int cap = g->cap_conns ? g->cap_conns : 8;
    while (cap < n) cap *= 2;
    gd_neat_conn* q = realloc(g->conns, sizeof *q * (size_t)cap);
    if (!q) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT genome connections)");
    g->conns = q;
    g->cap_conns = cap;
    return GD_OK;
}

gd_status gd_neat_genome_copy(gd_neat_genome* dst, const gd_neat_genome* src, gd_error* err) {
    if (dst == src) return GD_OK;
    dst->n_nodes = dst->n_conns = 0;
    gd_status s;
    if ((s = reserve_nodes(dst, src->n_nodes, err)) || (s = reserve_conns(dst, src->n_conns, err))) return s;
    if (src->n_nodes) memcpy(dst->nodes, src->nodes, sizeof *src->nodes * (size_t)src->n_nodes);
    if (src->n_conns) memcpy(dst->conns, src->conns, sizeof *src->conns * (size_t)src->n_conns);
    dst->n_nodes = src->n_nodes;
    dst->n_conns = src->n_conns;
    dst->key = src->key;
    dst->species = src->species;
    dst->fitness = src->fitness;
    return GD_OK;
}

int gd_neat_genome_find_node(const gd_neat_genome* g, int32_t id) {
    int lo = 0, hi = g->n_nodes - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (g->nodes[mid].id == id) return mid;
        if (g->nodes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int find_innovation(const gd_neat_genome* g, int64_t innov) {
    int lo = 0, hi = g->n_conns - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (g->conns[mid].innovation == innov) return mid;
        if (g->conns[mid].innovation < innov)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int gd_neat_genome_find_conn(const gd_neat_genome* g, int32_t in, int32_t out) {
    for (int i = 0; i < g->n_conns; i++)
        if (g->conns[i].in == in && g->conns[i].out == out) return i;
    return -1;
}

int gd_neat_genome_creates_cycle(const gd_neat_genome* g, int32_t in, int32_t out) {
    if (in == out) return 1;
    /* Is `in` reachable from `out`? Grow the reachable set until it stops changing (n is small). */
    int n = g->n_nodes;
    unsigned char small[256];
    unsigned char* seen = n <= 256 ? small : calloc((size_t)n, 1);
    if (!seen) return 1; /* cannot tell: refuse the connection */
    memset(seen, 0, (size_t)n);
    int o = gd_neat_genome_find_node(g, out);
    int cycle = 0;
    if (o >= 0) {
        seen[o] = 1;
        for (int added = 1; added && !cycle;) {
            added = 0;
            for (int c = 0; c < g->n_conns; c++) {
                int a = gd_neat_genome_find_node(g, g->conns[c].in);
                int b = gd_neat_genome_find_node(g, g->conns[c].out);
                if (a < 0 || b < 0 || !seen[a] || seen[b]) continue;
                if (g->conns[c].out == in) {
                    cycle = 1;
                    break;
                }
                seen[b] = 1;
                added = 1;
            }
        }
    }
    if (seen != small) free(seen);
    return cycle;
}

gd_status gd_neat_genome_add_node(gd_neat_genome* g, int32_t id, int type, int act, float bias, float response,
                                  gd_error* err) {
    if (type < GD_NEAT_INPUT || type > GD_NEAT_OUTPUT)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT node %d: unknown type %d", id, type);
    if (act < 0 || act >= GD_NEAT_ACT_COUNT)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT node %d: unknown activation %d", id, act);
    if (id < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT node id %d is negative", id);
    if (gd_neat_genome_find_node(g, id) >= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT node id %d already exists", id);
    gd_status s = reserve_nodes(g, g->n_nodes + 1, err);
    if (s) return s;
    int pos = g->n_nodes;
    while (pos > 0 && g->nodes[pos - 1].id > id) {
        g->nodes[pos] = g->nodes[pos - 1];
        pos--;
    }
    g->nodes[pos] = (gd_neat_node){id, type, act, bias, response};
    g->n_nodes++;
    return GD_OK;
}

gd_status gd_neat_genome_add_conn(gd_neat_genome* g, int64_t innovation, int32_t in, int32_t out, float weight,
                                  int enabled, gd_error* err) {
    int a = gd_neat_genome_find_node(g, in), b = gd_neat_genome_find_node(g, out);
    if (a < 0 || b < 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT connection %d -> %d: unknown node", in, out);
    if (g->nodes[b].type == GD_NEAT_INPUT || g->nodes[b].type == GD_NEAT_BIAS)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT connection %d -> %d goes into an input", in,
                            out);
    if (innovation < 0 || find_innovation(g, innovation) >= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT innovation %lld is negative or already used",
                            (long long)innovation);
    if (gd_neat_genome_find_conn(g, in, out) >= 0)
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT connection %d -> %d already exists", in, out);
    if (gd_neat_genome_creates_cycle(g, in, out))
        return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "NEAT connection %d -> %d would close a cycle", in,
                            out);
    if (!isfinite(weight))
        return gd_error_set(err, GD_ENUMERIC, NULL, 0, 0, NULL, "NEAT connection %d -> %d: weight not finite", in,
                            out);
    gd_status s = reserve_conns(g, g->n_conns + 1, err);
    if (s) return s;
    int pos = g->n_conns;
    while (pos > 0 && g->conns[pos - 1].innovation > innovation) {
        g->conns[pos] = g->conns[pos - 1];
        pos--;
    }
    g->conns[pos] = (gd_neat_conn){innovation, in, out, weight, enabled ? 1 : 0};
    g->n_conns++;
    return GD_OK;
}

#define FMT(...) gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, __VA_ARGS__)

gd_status gd_neat_genome_check(const gd_neat_genome* g, gd_error* err) {
    static const int fixed_type[GD_NEAT_N_FIXED] = {GD_NEAT_INPUT, GD_NEAT_INPUT, GD_NEAT_INPUT, GD_NEAT_BIAS,
                                                    GD_NEAT_OUTPUT};
    if (g->n_nodes < GD_NEAT_N_FIXED) return FMT("NEAT genome %lld has %d nodes (< 5)", (long long)g->key, g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        const gd_neat_node* n = &g->nodes[i];
        if (i > 0 && n->id <= g->nodes[i - 1].id)
            return FMT("NEAT genome %lld: node ids not strictly increasing at %d", (long long)g->key, n->id);
        if (i < GD_NEAT_N_FIXED && (n->id != i || n->type != fixed_type[i]))
            return FMT("NEAT genome %lld: node %d must be the fixed %s node", (long long)g->key, i,
                       i < 3 ? "input" : i == 3 ? "bias" : "output");
        if (i >= GD_NEAT_N_FIXED && n->type != GD_NEAT_HIDDEN)
            return FMT("NEAT genome %lld: node %d has type %d, only hidden nodes may be added", (long long)g->key,
                       n->id, n->type);
        if (n->act < 0 || n->act >= GD_NEAT_ACT_COUNT)
            return FMT("NEAT genome %lld: node %d has unknown activation %d", (long long)g->key, n->id, n->act);
        if (!isfinite(n->bias) || !isfinite(n->response))
            return FMT("NEAT genome %lld: node %d has a non-finite bias or response", (long long)g->key, n->id);
    }
    for (int c = 0; c < g->n_conns; c++) {
        const gd_neat_conn* k = &g->conns[c];
        if (c > 0 && k->innovation <= g->conns[c - 1].innovation)
            return FMT("NEAT genome %lld: innovations not strictly increasing at %lld", (long long)g->key,
                       (long long)k->innovation);
        int a = gd_neat_genome_find_node(g, k->in), b = gd_neat_genome_find_node(g, k->out);
        if (a < 0 || b < 0)
            return FMT("NEAT genome %lld: connection %d -> %d names an unknown node", (long long)g->key, k->in,
                       k->out);
        if (g->nodes[b].type == GD_NEAT_INPUT || g->nodes[b].type == GD_NEAT_BIAS)
            return FMT("NEAT genome %lld: connection %d -> %d goes into an input", (long long)g->key, k->in,
                       k->out);
        if (k->enabled != 0 && k->enabled != 1)
            return FMT("NEAT genome %lld: connection %d -> %d has enabled = %d", (long long)g->key, k->in, k->out,
                       k->enabled);
        if (!isfinite(k->weight))
            return FMT("NEAT genome %lld: connection %d -> %d has a non-finite weight", (long long)g->key, k->in,
                       k->out);
        for (int d = 0; d < c; d++)
            if (g->conns[d].in == k->in && g->conns[d].out == k->out)
                return FMT("NEAT genome %lld: connection %d -> %d appears twice", (long long)g->key, k->in, k->out);
    }
    /* Acyclic: Kahn's algorithm over all connections must consume every node. */
    int n = g->n_nodes;
    int* indeg = calloc((size_t)n * 2, sizeof(int));
    if (!indeg) return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT genome check)");
    int* queue = indeg + n;
    for (int c = 0; c < g->n_conns; c++) indeg[gd_neat_genome_find_node(g, g->conns[c].out)]++;
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!indeg[i]) queue[tail++] = i;
    while (head < tail) {
        int32_t id = g->nodes[queue[head++]].id;
        for (int c = 0; c < g->n_conns; c++)
            if (g->conns[c].in == id) {
                int b = gd_neat_genome_find_node(g, g->conns[c].out);
                if (--indeg[b] == 0) queue[tail++] = b;
            }
    }
    free(indeg);
    if (tail != n) return FMT("NEAT genome %lld: its connections form a cycle", (long long)g->key);
    return GD_OK;
}

/* ---- random attributes ----------------------------------------------------------------------------- */

static float clampf(float v, float m) { return v < -m ? -m : v > m ? m : v; }
static float clamp_weight(float v, const gd_neat_params* p) {
    return v < p->weight_min ? p->weight_min : v > p->weight_max ? p->weight_max : v;
}

/* A random activation among the allowed options. */
static int random_activation(const gd_neat_params* p, gd_rng* rng) {
    int opts[GD_NEAT_ACT_COUNT], n = 0;
    for (int a = 0; a < GD_NEAT_ACT_COUNT; a++)
        if (p->activation_options & (1u << a)) opts[n++] = a;
    return opts[gd_rng_below(rng, (uint32_t)n)];
}

/* neat-python's float attribute mutation: perturb with prob `rate`, replace with prob `replace`; the result
 * is clamped to [lo, hi]. */
static float mutate_float(float v, float rate, float power, float replace, float init_stdev, float init_mean,
                          float lo, float hi, gd_rng* rng) {
    float r = gd_rng_uniform(rng);
    if (r < rate) v = v + power * gd_rng_normal(rng);
    else if (r < rate + replace) v = init_mean + init_stdev * gd_rng_normal(rng);
    return v < lo ? lo : v > hi ? hi : v;
}

gd_status gd_neat_genome_create(gd_neat_genome* g, int64_t key, const gd_neat_params* p, gd_rng* rng,
                                gd_error* err) {
    gd_neat_genome_free(g);
    g->key = key;
    gd_status s = GD_OK;
    for (int i = 0; i < 3 && !s; i++) s = gd_neat_genome_add_node(g, i, GD_NEAT_INPUT, GD_NEAT_ACT_IDENTITY, 0, 1, err);
    if (!s) s = gd_neat_genome_add_node(g, GD_NEAT_ID_BIAS, GD_NEAT_BIAS, GD_NEAT_ACT_IDENTITY, 0, 1, err);
    if (!s)
        s = gd_neat_genome_add_node(g, GD_NEAT_ID_OUTPUT, GD_NEAT_OUTPUT, p->output_activation,
                                    clampf(p->bias_init_stdev * gd_rng_normal(rng), p->bias_max), 1.0f, err);
    for (int i = 0; i < 4 && !s; i++)
        s = gd_neat_genome_add_conn(g, i, i, GD_NEAT_ID_OUTPUT,
                                    clamp_weight(p->weight_init_stdev * gd_rng_normal(rng), p), 1, err);
    if (s) gd_neat_genome_free(g);
    return s;
}

/* ---- structural mutations -------------------------------------------------------------------------- */

gd_status gd_neat_mutate_add_conn(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p,
                                  gd_rng* rng, gd_error* err) {
    if (g->n_nodes < 2) return GD_OK;
    /* Source: any node; destination: any hidden or output node (both drawn uniformly). */
    int n_dst = 0;
    for (int i = 0; i < g->n_nodes; i++) n_dst += g->nodes[i].type >= GD_NEAT_HIDDEN;
    if (!n_dst) return GD_OK;
    int a = (int)gd_rng_below(rng, (uint32_t)g->n_nodes);
    int k = (int)gd_rng_below(rng, (uint32_t)n_dst), b = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].type >= GD_NEAT_HIDDEN && k-- == 0) {
            b = i;
            break;
        }
    int32_t in = g->nodes[a].id, out = g->nodes[b].id;
    int existing = gd_neat_genome_find_conn(g, in, out);
    if (existing >= 0) {
        g->conns[existing].enabled = 1;
        return GD_OK;
    }
    if (g->nodes[a].type == GD_NEAT_OUTPUT && g->nodes[b].type == GD_NEAT_OUTPUT) return GD_OK;
    if (gd_neat_genome_creates_cycle(g, in, out)) return GD_OK;
    int64_t innov;
    gd_status s = registry_conn(r, in, out, &innov, err);
    if (s) return s;
    if (find_innovation(g, innov) >= 0) innov = r->next_innovation++; /* numbers from elsewhere (a file) */
    return gd_neat_genome_add_conn(g, innov, in, out, clamp_weight(p->weight_init_stdev * gd_rng_normal(rng), p),
                                   1, err);
}

void gd_neat_mutate_delete_conn(gd_neat_genome* g, gd_rng* rng) {
    if (!g->n_conns) return;
    int c = (int)gd_rng_below(rng, (uint32_t)g->n_conns);
    memmove(&g->conns[c], &g->conns[c + 1], sizeof *g->conns * (size_t)(g->n_conns - c - 1));
    g->n_conns--;
}

gd_status gd_neat_mutate_add_node(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p,
                                  gd_rng* rng, gd_error* err) {
    int n_enabled = 0;
    for (int c = 0; c < g->n_conns; c++) n_enabled += g->conns[c].enabled;
    if (!n_enabled) return GD_OK;
    int k = (int)gd_rng_below(rng, (uint32_t)n_enabled), c = 0;
    for (; c < g->n_conns; c++)
        if (g->conns[c].enabled && k-- == 0) break;
    gd_neat_conn split = g->conns[c];
    int act = p->new_node_activation == GD_NEAT_ACT_RANDOM ? random_activation(p, rng) : p->new_node_activation;
    int32_t node;
    int64_t innov;
    gd_status s = registry_split(r, split.innovation, &node, &innov, err);
    if (s) return s;
    if (gd_neat_genome_find_node(g, node) >= 0 || find_innovation(g, innov) >= 0 ||
        find_innovation(g, innov + 1) >= 0) {
        /* This genome already split that connection this generation (it was re-enabled since): fresh numbers. */
        node = r->next_node_id++;
        innov = r->next_innovation;
        r->next_innovation += 2;
    }
    g->conns[c].enabled = 0;
    if ((s = gd_neat_genome_add_node(g, node, GD_NEAT_HIDDEN, act, 0.0f, 1.0f, err))) return s;
    if ((s = gd_neat_genome_add_conn(g, innov, split.in, node, 1.0f, 1, err))) return s;
    return gd_neat_genome_add_conn(g, innov + 1, node, split.out, split.weight, 1, err);
}

void gd_neat_mutate_delete_node(gd_neat_genome* g, gd_rng* rng) {
    int n_hidden = 0;
    for (int i = 0; i < g->n_nodes; i++) n_hidden += g->nodes[i].type == GD_NEAT_HIDDEN;
    if (!n_hidden) return;
    int k = (int)gd_rng_below(rng, (uint32_t)n_hidden), i = 0;
    for (; i < g->n_nodes; i++)
        if (g->nodes[i].type == GD_NEAT_HIDDEN && k-- == 0) break;
    int32_t id = g->nodes[i].id;
    memmove(&g->nodes[i], &g->nodes[i + 1], sizeof *g->nodes * (size_t)(g->n_nodes - i - 1));
    g->n_nodes--;
    int m = 0;
    for (int c = 0; c < g->n_conns; c++)
        if (g->conns[c].in != id && g->conns[c].out != id) g->conns[m++] = g->conns[c];
    g->n_conns = m;
}

gd_status gd_neat_mutate(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p, gd_rng* rng,
                         gd_error* err) {
    gd_status s;
    if (gd_rng_uniform(rng) < p->node_add_prob && (s = gd_neat_mutate_add_node(g, r, p, rng, err))) return s;
    if (gd_rng_uniform(rng) < p->node_delete_prob) gd_neat_mutate_delete_node(g, rng);
    if (gd_rng_uniform(rng) < p->conn_add_prob && (s = gd_neat_mutate_add_conn(g, r, p, rng, err))) return s;
    if (gd_rng_uniform(rng) < p->conn_delete_prob) gd_neat_mutate_delete_conn(g, rng);
    for (int c = 0; c < g->n_conns; c++) {
        gd_neat_conn* k = &g->conns[c];
        k->weight = mutate_float(k->weight, p->weight_mutate_rate, p->weight_mutate_power, p->weight_replace_rate,
                                 p->weight_init_stdev, 0.0f, p->weight_min, p->weight_max, rng);
        if (gd_rng_uniform(rng) < p->enabled_mutate_rate) k->enabled = !k->enabled;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        gd_neat_node* n = &g->nodes[i];
        if (n->type != GD_NEAT_HIDDEN && n->type != GD_NEAT_OUTPUT) continue;
        n->bias = mutate_float(n->bias, p->bias_mutate_rate, p->bias_mutate_power, p->bias_replace_rate,
                               p->bias_init_stdev, 0.0f, -p->bias_max, p->bias_max, rng);
        n->response = mutate_float(n->response, p->response_mutate_rate, p->response_mutate_power, 0.0f, 0.0f, 1.0f,
                                   -p->response_max, p->response_max, rng);
        if (gd_rng_uniform(rng) < p->activation_mutate_rate) n->act = random_activation(p, rng);
    }
    return GD_OK;
}

/* ---- crossover and distance ------------------------------------------------------------------------ */

gd_status gd_neat_crossover(const gd_neat_genome* a, const gd_neat_genome* b, int64_t key,
                            const gd_neat_params* p, gd_rng* rng, gd_neat_genome* child, gd_error* err) {
    if (b->fitness > a->fitness) {
        const gd_neat_genome* t = a;
        a = b;
        b = t;
    }
    /* a is the fitter parent: the child has exactly its genes. */
    child->n_nodes = child->n_conns = 0;
    gd_status s;
    if ((s = reserve_nodes(child, a->n_nodes, err)) || (s = reserve_conns(child, a->n_conns, err))) return s;
    for (int i = 0; i < a->n_nodes; i++) {
        int j = gd_neat_genome_find_node(b, a->nodes[i].id);
        int from_b = j >= 0 && (gd_rng_u32(rng) & 1u);
        gd_neat_node n = from_b ? b->nodes[j] : a->nodes[i];
        n.type = a->nodes[i].type;
        child->nodes[i] = n;
    }
    for (int c = 0; c < a->n_conns; c++) {
        const gd_neat_conn* ka = &a->conns[c];
        int j = find_innovation(b, ka->innovation);
        gd_neat_conn k = *ka;
        if (j >= 0) {
            const gd_neat_conn* kb = &b->conns[j];
            if (gd_rng_u32(rng) & 1u) k.weight = kb->weight;
            if (!ka->enabled || !kb->enabled) k.enabled = gd_rng_uniform(rng) >= p->disabled_inherit_rate;
        }
        child->conns[c] = k;
    }
    child->n_nodes = a->n_nodes;
    child->n_conns = a->n_conns;
    child->key = key;
    child->fitness = 0.0f;
    child->species = -1;
    return GD_OK;
}

float gd_neat_distance(const gd_neat_genome* a, const gd_neat_genome* b, const gd_neat_params* p) {
    /* Nodes, merged by id over hidden and output nodes only. */
    double sum = 0.0;
    int disjoint = 0, na = 0, nb = 0, i = 0, j = 0;
    for (int k = 0; k < a->n_nodes; k++) na += a->nodes[k].type >= GD_NEAT_HIDDEN;
    for (int k = 0; k < b->n_nodes; k++) nb += b->nodes[k].type >= GD_NEAT_HIDDEN;
    while (i < a->n_nodes || j < b->n_nodes) {
        if (i < a->n_nodes && a->nodes[i].type < GD_NEAT_HIDDEN) {
            i++;
            continue;
        }
        if (j < b->n_nodes && b->nodes[j].type < GD_NEAT_HIDDEN) {
            j++;
            continue;
        }
        if (i < a->n_nodes && j < b->n_nodes && a->nodes[i].id == b->nodes[j].id) {
            const gd_neat_node *x = &a->nodes[i++], *y = &b->nodes[j++];
            sum += fabs((double)x->bias - y->bias) + fabs((double)x->response - y->response) + (x->act != y->act);
        } else if (j >= b->n_nodes || (i < a->n_nodes && a->nodes[i].id < b->nodes[j].id)) {
            disjoint++, i++;
        } else {
            disjoint++, j++;
        }
    }
    double d = 0.0;
    int nmax = na > nb ? na : nb;
    if (nmax) d += (p->compat_weight * sum + p->compat_disjoint * disjoint) / nmax;
    /* Connections, merged by innovation. */
    sum = 0.0;
    disjoint = 0, i = 0, j = 0;
    while (i < a->n_conns || j < b->n_conns) {
        if (i < a->n_conns && j < b->n_conns && a->conns[i].innovation == b->conns[j].innovation) {
            const gd_neat_conn *x = &a->conns[i++], *y = &b->conns[j++];
            sum += fabs((double)x->weight - y->weight) + (x->enabled != y->enabled);
        } else if (j >= b->n_conns || (i < a->n_conns && a->conns[i].innovation < b->conns[j].innovation)) {
            disjoint++, i++;
        } else {
            disjoint++, j++;
        }
    }
    nmax = a->n_conns > b->n_conns ? a->n_conns : b->n_conns;
    if (nmax) d += (p->compat_weight * sum + p->compat_disjoint * disjoint) / nmax;
    return (float)d;
}

/* ---- packing --------------------------------------------------------------------------------------- */

void gd_neat_genome_pack(const gd_neat_genome* g, int32_t* node_i, float* node_f, int64_t* conn_i,
                         float* conn_w) {
    for (int i = 0; i < g->n_nodes; i++) {
        node_i[3 * i + 0] = g->nodes[i].id;
        node_i[3 * i + 1] = g->nodes[i].type;
        node_i[3 * i + 2] = g->nodes[i].act;
        node_f[2 * i + 0] = g->nodes[i].bias;
        node_f[2 * i + 1] = g->nodes[i].response;
    }
    for (int c = 0; c < g->n_conns; c++) {
        conn_i[4 * c + 0] = g->conns[c].innovation;
        conn_i[4 * c + 1] = g->conns[c].in;
        conn_i[4 * c + 2] = g->conns[c].out;
        conn_i[4 * c + 3] = g->conns[c].enabled;
        conn_w[c] = g->conns[c].weight;
    }
}

gd_status gd_neat_genome_unpack(gd_neat_genome* g, int n_nodes, const int32_t* node_i, const float* node_f,
                                int n_conns, const int64_t* conn_i, const float* conn_w, gd_error* err) {
    if (n_nodes < 0 || n_conns < 0 || n_nodes > 1000000 || n_conns > 10000000)
        return FMT("NEAT genome with %d nodes and %d connections: sizes out of range", n_nodes, n_conns);
    g->n_nodes = g->n_conns = 0;
    gd_status s;
    if ((s = reserve_nodes(g, n_nodes, err)) || (s = reserve_conns(g, n_conns, err))) return s;
    for (int i = 0; i < n_nodes; i++)
        g->nodes[i] = (gd_neat_node){node_i[3 * i], node_i[3 * i + 1], node_i[3 * i + 2], node_f[2 * i],
                                     node_f[2 * i + 1]};
    for (int c = 0; c < n_conns; c++) {
        int64_t in = conn_i[4 * c + 1], out = conn_i[4 * c + 2];
        if (in < 0 || in > INT32_MAX || out < 0 || out > INT32_MAX)
            return FMT("NEAT connection %d has node ids out of range", c);
        g->conns[c] = (gd_neat_conn){conn_i[4 * c], (int32_t)in, (int32_t)out, conn_w[c], (int32_t)conn_i[4 * c + 3]};
        if (conn_i[4 * c + 3] != 0 && conn_i[4 * c + 3] != 1)
            return FMT("NEAT connection %d has enabled = %lld", c, (long long)conn_i[4 * c + 3]);
    }
    g->n_nodes = n_nodes;
    g->n_conns = n_conns;
    g->species = -1;
    return gd_neat_genome_check(g, err);
}
