/* NEAT (Stanley & Miikkulainen 2002) evolving CPPNs (compositional pattern-producing networks) that are
 * rendered to images, for the fooling-image attack of PAPER.md §4 (Nguyen et al. 2015).
 *
 * - A genome is a list of node genes (sorted by id) and connection genes (sorted by innovation number).
 *   Node ids 0..3 are the CPPN inputs x, y, d (distance to the centre) and the bias input (constant 1);
 *   node 4 is the single output; hidden nodes get ids >= 5 from the population's registry.
 * - Networks are feed-forward: the graph of *all* connections (enabled or not) is kept acyclic, so toggling
 *   a connection never creates a cycle.
 * - A node computes act(bias + response * sum_j w_j * in_j) (neat-python's "sum" aggregation).
 * - No global state: innovation numbers and node ids come from a gd_neat_innovations registry owned by a
 *   population; every random draw comes from the population's gd_rng stream (seed, GD_STREAM_NEAT, index),
 *   so a population evolves identically on whichever rank runs it.
 * The defaults follow neat-python's usual settings (PAPER.md §4); gd_neat_params documents each one. */
#ifndef GENDEC_NEAT_H
#define GENDEC_NEAT_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* ---- genes ----------------------------------------------------------------------------------------- */

typedef enum { GD_NEAT_INPUT = 0, GD_NEAT_BIAS = 1, GD_NEAT_HIDDEN = 2, GD_NEAT_OUTPUT = 3 } gd_neat_node_type;

/* Activation functions, defined as in neat-python (z is bias + response * sum):
 *   sigmoid 1/(1+exp(-5z)), tanh tanh(2.5z), sin sin(5z)  (5z, 2.5z clamped to [-60, 60]),
 *   gauss exp(-5 z^2) (z clamped to [-3.4, 3.4]), abs |z|, identity z, relu max(0, z),
 *   cos cos(5z) (5z clamped like sin), square z^2, clamped min(1, max(-1, z)). */
typedef enum {
    GD_NEAT_ACT_SIGMOID = 0,
    GD_NEAT_ACT_TANH,
    GD_NEAT_ACT_SIN,
    GD_NEAT_ACT_GAUSS,
    GD_NEAT_ACT_ABS,
    GD_NEAT_ACT_IDENTITY,
    GD_NEAT_ACT_RELU,
    GD_NEAT_ACT_COS,
    GD_NEAT_ACT_SQUARE,
    GD_NEAT_ACT_CLAMPED,
    GD_NEAT_ACT_COUNT
} gd_neat_activation;
#define GD_NEAT_ACT_ALL ((1u << GD_NEAT_ACT_COUNT) - 1u)
/* The seven of the specification: sigmoid, tanh, sin, gauss, abs, identity, relu (the default options). */
#define GD_NEAT_ACT_CPPN ((1u << (GD_NEAT_ACT_RELU + 1)) - 1u)
#define GD_NEAT_ACT_RANDOM (-1) /* for gd_neat_params.new_node_activation: draw from activation_options */

/* Name ("sigmoid", ...) of an activation; "?" when out of range. */
const char* gd_neat_activation_name(int act);
/* The activation with that name, or -1. */
int gd_neat_activation_parse(const char* name);

/* How the output node's value becomes a pixel in [0, 1]. */
typedef enum {
    GD_NEAT_SQUASH_CLAMP = 0,  /* min(1, max(0, v)): a no-op for the sigmoid and gauss outputs */
    GD_NEAT_SQUASH_SIGMOID = 1 /* 1 / (1 + exp(-v)) */
} gd_neat_squash;

/* The fixed CPPN node ids. */
enum {
    GD_NEAT_ID_X = 0,
    GD_NEAT_ID_Y = 1,
    GD_NEAT_ID_D = 2,
    GD_NEAT_ID_BIAS = 3,
    GD_NEAT_ID_OUTPUT = 4,
    GD_NEAT_N_FIXED = 5 /* first hidden node id; number of initial innovation numbers is 4 */
};

typedef struct {
    int32_t id;
    int32_t type;       /* gd_neat_node_type */
    int32_t act;        /* gd_neat_activation (unused for inputs) */
    float bias;         /* unused for inputs */
    float response;     /* unused for inputs */
} gd_neat_node;

typedef struct {
    int64_t innovation; /* historical marking: same structural origin <=> same number */
    int32_t in, out;    /* node ids */
    float weight;
    int32_t enabled;    /* 0 or 1 */
} gd_neat_conn;

/* A genome owns its two arrays (free with gd_neat_genome_free). Zero-initialised = empty genome. */
typedef struct {
    int64_t key;        /* unique within a population; elites keep their key */
    int32_t species;    /* species id, -1 when not speciated */
    float fitness;
    int n_nodes, cap_nodes;
    gd_neat_node* nodes; /* (n_nodes), sorted by id */
    int n_conns, cap_conns;
    gd_neat_conn* conns; /* (n_conns), sorted by innovation */
} gd_neat_genome;

/* ---- parameters ------------------------------------------------------------------------------------ */

typedef struct {
    int pop_size;               /* 150 genomes */
    int elitism;                /* 2: best genomes of each species copied unchanged to the next generation */
    float survival_threshold;   /* 0.2: fraction of a species (best first, at least 2) allowed to reproduce */
    int min_species_size;       /* 2: offspring a surviving species gets at least; must be >= elitism */
    int max_stagnation;         /* 15: generations without improving its best fitness before a species dies */
    int species_elitism;        /* 2: the best species are never removed for stagnation (at least 1) */
    float compat_threshold;     /* 3.0: genomes closer than this to a representative join its species */
    float compat_disjoint;      /* 1.0: distance per disjoint/excess gene */
    float compat_weight;        /* 0.5: factor of attribute differences of matching genes */
    float conn_add_prob;        /* 0.5 */
    float conn_delete_prob;     /* 0.5 */
    float node_add_prob;        /* 0.2 */
    float node_delete_prob;     /* 0.2 */
    float weight_init_stdev;    /* 1.0: new weights ~ N(0, stdev) */
    float weight_mutate_rate;   /* 0.8: per connection, chance of a perturbation N(0, power) */
    float weight_mutate_power;  /* 0.5 */
    float weight_replace_rate;  /* 0.1: per connection, chance of a fresh N(0, init stdev) weight */
    float weight_min;           /* -30: weights are clamped to [weight_min, weight_max] */
    float weight_max;           /* 30 */
    float bias_init_stdev;      /* 1.0 */
    float bias_mutate_rate;     /* 0.7 */
    float bias_mutate_power;    /* 0.5 */
    float bias_replace_rate;    /* 0.1 */
    float bias_max;             /* 30: biases are clamped to [-bias_max, bias_max] */
    float response_mutate_rate; /* 0.0 (response starts at 1) */
    float response_mutate_power;/* 0.0 */
    float response_max;         /* 30 */
    float enabled_mutate_rate;  /* 0.01: per connection, chance to toggle enabled */
    float activation_mutate_rate; /* 0.1: per non-input node, chance of a new activation from the options */
    uint32_t activation_options;  /* bit mask over gd_neat_activation; default GD_NEAT_ACT_CPPN */
    int output_activation;      /* activation of the output node in new genomes: sigmoid */
    int new_node_activation;    /* activation of a node made by add-node: GD_NEAT_ACT_RANDOM (from the
                                 * options); GD_NEAT_ACT_IDENTITY keeps the network's function exactly */
    float disabled_inherit_rate;/* 0.75: a gene disabled in either parent is disabled in the child */
    int squash;                 /* gd_neat_squash: GD_NEAT_SQUASH_CLAMP */
} gd_neat_params;

/* Fills the defaults listed above. */
void gd_neat_params_default(gd_neat_params* p);

/* Checks ranges (rates in [0,1], population >= elitism and >= min_species_size, ...): GD_EINVAL naming the
 * parameter otherwise. */
gd_status gd_neat_params_check(const gd_neat_params* p, gd_error* err);

struct gd_config; /* config.h */

/* Fills p from the attack.neat.* keys of a resolved config (population, activations, activation_default for
 * new nodes, rates, coefficients, weight clamps, elitism, stagnation; the rest keep their defaults) and checks
 * it; an impossible value is a GD_ECONFIG at its place in the configuration. */
gd_status gd_neat_params_from_config(const struct gd_config* cfg, gd_neat_params* p, gd_error* err);

/* ---- innovation registry --------------------------------------------------------------------------- */

typedef struct gd_neat_innovation_entry gd_neat_innovation_entry;

/* Numbers new structure. Within one generation the same structural mutation (adding connection a->b, or
 * splitting the connection with innovation i) gets the same numbers in every genome; across generations
 * numbers are never reused. */
typedef struct {
    int64_t next_innovation;
    int32_t next_node_id;
    int n, cap;
    gd_neat_innovation_entry* entries; /* this generation's mutations */
} gd_neat_innovations;

/* Starts a registry whose next numbers are the given ones (4 and GD_NEAT_N_FIXED after initial genomes). */
void gd_neat_innovations_init(gd_neat_innovations* r, int64_t next_innovation, int32_t next_node_id);
/* Forgets this generation's mutations (numbers keep increasing). */
void gd_neat_innovations_new_generation(gd_neat_innovations* r);
void gd_neat_innovations_free(gd_neat_innovations* r);

/* ---- genome operations ----------------------------------------------------------------------------- */

void gd_neat_genome_free(gd_neat_genome* g);
/* Deep copy (dst is freed first; dst may be a zero-initialised genome). */
gd_status gd_neat_genome_copy(gd_neat_genome* dst, const gd_neat_genome* src, gd_error* err);

/* Inserts a node gene (kept sorted); GD_EINVAL on a duplicate id or bad type/activation. */
gd_status gd_neat_genome_add_node(gd_neat_genome* g, int32_t id, int type, int act, float bias, float response,
                                  gd_error* err);
/* Inserts a connection gene (kept sorted); GD_EINVAL on a duplicate innovation or (in, out) pair, an unknown
 * node, a connection into an input/bias node, or one that would close a cycle. */
gd_status gd_neat_genome_add_conn(gd_neat_genome* g, int64_t innovation, int32_t in, int32_t out, float weight,
                                  int enabled, gd_error* err);
/* Index of the node with that id, or -1. */
int gd_neat_genome_find_node(const gd_neat_genome* g, int32_t id);
/* Index of the connection in -> out, or -1. */
int gd_neat_genome_find_conn(const gd_neat_genome* g, int32_t in, int32_t out);
/* 1 if adding in -> out would close a cycle over all connections (enabled or not), including in == out. */
int gd_neat_genome_creates_cycle(const gd_neat_genome* g, int32_t in, int32_t out);
/* Checks every invariant (sorted unique ids/innovations, the fixed inputs and output, known endpoints, no
 * connection into an input, acyclic): GD_EFORMAT describing the first violation. */
gd_status gd_neat_genome_check(const gd_neat_genome* g, gd_error* err);

/* A new CPPN genome: the fixed inputs and output, every input connected to the output with innovations 0..3,
 * weights and output bias drawn from `rng`. */
gd_status gd_neat_genome_create(gd_neat_genome* g, int64_t key, const gd_neat_params* p, gd_rng* rng,
                                gd_error* err);

/* Structural mutations (each a no-op when impossible, e.g. no connection to split):
 * add a connection between random nodes (enabling it if it exists; skipped if it would close a cycle or join
 * two outputs); delete a random connection; split a random enabled connection a->b with weight w: disable it,
 * add node n (bias 0, response 1, activation p->new_node_activation), a->n with weight 1 and n->b with w;
 * delete a random hidden node and its connections. */
gd_status gd_neat_mutate_add_conn(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p,
                                  gd_rng* rng, gd_error* err);
void gd_neat_mutate_delete_conn(gd_neat_genome* g, gd_rng* rng);
gd_status gd_neat_mutate_add_node(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p,
                                  gd_rng* rng, gd_error* err);
void gd_neat_mutate_delete_node(gd_neat_genome* g, gd_rng* rng);

/* One full mutation round as in neat-python: add node, delete node, add connection, delete connection, each
 * with its probability; then every connection's weight (perturb / replace) and enabled flag, and every
 * non-input node's bias, response and activation. */
gd_status gd_neat_mutate(gd_neat_genome* g, gd_neat_innovations* r, const gd_neat_params* p, gd_rng* rng,
                         gd_error* err);

/* Crossover: the child has exactly the genes of the fitter parent (a when the fitnesses tie); each gene
 * present in both parents (same node id / innovation number) is taken whole from a parent chosen at random,
 * and a connection disabled in either parent is disabled with probability p->disabled_inherit_rate. The
 * child gets `key`, fitness 0 and species -1. child must not alias a or b. */
gd_status gd_neat_crossover(const gd_neat_genome* a, const gd_neat_genome* b, int64_t key,
                            const gd_neat_params* p, gd_rng* rng, gd_neat_genome* child, gd_error* err);

/* Compatibility distance (neat-python's form): over non-input nodes matched by id and connections matched by
 * innovation,
 *   d = (c_w * sum_matching(|db| + |dr| + [act differs]) + c_d * disjoint_nodes) / max(#nodes a, #nodes b)
 *     + (c_w * sum_matching(|dw| + [enabled differs]) + c_d * disjoint_conns) / max(#conns a, #conns b),
 * a term being 0 when both genomes have none of those genes. c_d = compat_disjoint, c_w = compat_weight. */
float gd_neat_distance(const gd_neat_genome* a, const gd_neat_genome* b, const gd_neat_params* p);

/* Flat arrays of a genome, for HDF5:
 *   node_i (n_nodes, 3) = id, type, activation; node_f (n_nodes, 2) = bias, response;
 *   conn_i (n_conns, 4) = innovation, in, out, enabled; conn_w (n_conns) = weight. */
void gd_neat_genome_pack(const gd_neat_genome* g, int32_t* node_i, float* node_f, int64_t* conn_i,
                         float* conn_w);
/* The inverse; validates everything (gd_neat_genome_check), GD_EFORMAT on bad data. g is replaced. */
gd_status gd_neat_genome_unpack(gd_neat_genome* g, int n_nodes, const int32_t* node_i, const float* node_f,
                                int n_conns, const int64_t* conn_i, const float* conn_w, gd_error* err);

/* ---- CPPN rendering -------------------------------------------------------------------------------- */

/* Pixel (i, j) of an H x W image has x = -1 + 2j/(W-1), y = -1 + 2i/(H-1) (0 when the size is 1),
 * d = sqrt(x^2 + y^2) and the bias input 1. Only nodes the output depends on through enabled connections are
 * evaluated, each over all pixels at once, in topological order. */

/* Workspace for rendering; zero-initialised is empty; grows on demand, free with gd_neat_render_free. */
typedef struct {
    float* values; size_t values_cap; /* (n_nodes, H*W) */
    int* ints; size_t ints_cap;
    float* coords; int h, w;          /* (4, H*W): x, y, d, 1 */
} gd_neat_render_ws;
void gd_neat_render_free(gd_neat_render_ws* ws);

/* Renders g into out (H, W) in [0, 1] with p->squash. The genome must be valid (gd_neat_genome_check). */
gd_status gd_neat_render(const gd_neat_genome* g, const gd_neat_params* p, int H, int W, gd_neat_render_ws* ws,
                         float* out, gd_error* err);

/* ---- populations ----------------------------------------------------------------------------------- */

typedef struct gd_neat_population gd_neat_population;

/* A new population of p->pop_size initial genomes, speciated, at generation 0; its random stream is
 * (seed, GD_STREAM_NEAT, index). */
gd_status gd_neat_population_create(gd_neat_population** out, const gd_neat_params* p, uint64_t seed,
                                    uint64_t index, gd_error* err);
void gd_neat_population_free(gd_neat_population* pop);

int gd_neat_population_size(const gd_neat_population* pop);
int gd_neat_population_generation(const gd_neat_population* pop);
int gd_neat_population_species_count(const gd_neat_population* pop);
const gd_neat_params* gd_neat_population_params(const gd_neat_population* pop);
/* Genome i (0 <= i < size) of the current generation. */
const gd_neat_genome* gd_neat_population_genome(const gd_neat_population* pop, int i);

/* Sets the fitness of every genome of the current generation (finite values; GD_ENUMERIC otherwise). */
gd_status gd_neat_population_set_fitness(gd_neat_population* pop, const float* fitness /* (P) */,
                                         gd_error* err);

/* Renders the whole population into out (P, H, W). */
gd_status gd_neat_population_render(gd_neat_population* pop, int H, int W, float* out, gd_error* err);

/* One generation of reproduction after set_fitness: stagnant species removed (the species_elitism best by
 * maximum fitness are kept), offspring shared between species in proportion to their mean fitness shifted
 * by the population minimum (fitness sharing), exactly pop_size in total and at least min_species_size per
 * species (the species with the lowest best fitness are dropped if they cannot all get that); each species
 * keeps its `elitism` best genomes unchanged and fills the rest with mutated crossovers of parents drawn from
 * its best survival_threshold fraction; then the new generation is speciated. */
gd_status gd_neat_population_evolve(gd_neat_population* pop, gd_error* err);

/* ---- fooling-image evolution ----------------------------------------------------------------------- */

/* Classifies a batch: probs (P, classes) = softmax probabilities of images (P, H, W) in [0, 1]. */
typedef gd_status (*gd_neat_classify_fn)(void* ctx, const float* images, int P, float* probs, gd_error* err);

/* Fitness of a prediction: 1 - ||probs - onehot(target)||_2. Its range is [1 - sqrt(2), 1] for probability
 * vectors; 1 exactly when the target has probability 1. */
float gd_neat_fitness(const float* probs /* (classes) */, int classes, int target);

typedef struct {
    int height, width;  /* image size the classifier takes */
    int classes, target;
    int generations;    /* generations to run (>= 1) */
    float threshold;    /* 0.9: keep images whose target probability exceeds it */
    int max_keep;       /* stop keeping images after this many (0 = no limit) */
    int stop_after;     /* stop the run once this many images are kept (0 = run every generation) */
    int keep_per_generation; /* keep at most this many new images per generation, the most confident first
                              * (0 = every one above the threshold) */
    uint64_t seed, index; /* the population's stream (seed, GD_STREAM_NEAT, index) */
    /* optional: called after each generation is evaluated (generation number, best target probability so far,
     * images kept so far) */
    void (*progress)(void* ctx, int generation, float best_conf, int n_kept);
    void* progress_ctx;
} gd_neat_run_config;

/* What one run produced. Arrays are owned; free with gd_neat_run_result_free. */
typedef struct {
    int height, width, classes;
    int target;             /* the run's target class and seed */
    uint64_t seed;
    int n_kept, cap;
    float* images;          /* (n_kept, H, W) fooling images, each from a genome new in its generation */
    float* confidence;      /* (n_kept) target probability */
    int32_t* generation;    /* (n_kept) */
    gd_neat_genome* genomes;/* (n_kept) */
    int n_generations;      /* generations evaluated */
    float* best_fitness;    /* (n_generations) */
    float* mean_fitness;    /* (n_generations) */
    float* best_confidence; /* (n_generations) best target probability */
    int32_t* n_species;     /* (n_generations) */
    float best_conf;        /* best target probability over the run, its image and genome: */
    float* best_image;      /* (H, W) */
    gd_neat_genome best_genome;
    long evaluations;       /* genomes rendered and classified */
} gd_neat_run_result;

/* Evolves one population against `classify` for a target class: every generation renders all genomes as one
 * batch, classifies it, sets fitness = gd_neat_fitness, keeps new genomes above the threshold, reproduces.
 * `out` is filled (zero it first or pass a freed one). */
gd_status gd_neat_run(const gd_neat_params* p, const gd_neat_run_config* cfg, gd_neat_classify_fn classify,
                      void* ctx, gd_neat_run_result* out, gd_error* err);
void gd_neat_run_result_free(gd_neat_run_result* r);

/* Serialises a run result into one byte buffer (*buf malloc'ed, *size bytes) and back (for MPI transfers and
 * tests). unpack validates sizes and every genome (GD_EFORMAT). */
gd_status gd_neat_run_result_pack(const gd_neat_run_result* r, void** buf, size_t* size, gd_error* err);
gd_status gd_neat_run_result_unpack(const void* buf, size_t size, gd_neat_run_result* r, gd_error* err);

/* ---- campaigns over MPI ---------------------------------------------------------------------------- */

/* One population per (target, seed): run k = t * n_seeds + s evolves against target targets[t] with the stream
 * (seeds[s], GD_STREAM_NEAT, targets[t]), so its result depends only on (seed, target) and the settings. */
typedef struct {
    gd_neat_run_config run; /* size, classes, generations, threshold, keep rules (target/seed/index ignored) */
    const int32_t* targets;
    int n_targets;
    const uint64_t* seeds;
    int n_seeds;
} gd_neat_campaign_config;

/* Runs every (target, seed) population over comm (collective): rank r evolves the runs of its block
 * gd_dist_block(n_runs, r, size) with its own classifier (classify, ctx: every rank passes its own copy of
 * the same model), then rank 0 gathers every run's result. On rank 0 *runs receives n_targets * n_seeds
 * results in run order (free each with gd_neat_run_result_free, then free()); other ranks get NULL. A failure
 * on any rank fails every rank (gd_dist_agree). The results do not depend on the number of ranks. */
gd_status gd_neat_campaign(const gd_neat_params* p, const gd_neat_campaign_config* cfg,
                           gd_neat_classify_fn classify, void* ctx, gd_neat_run_result** runs, MPI_Comm comm,
                           gd_error* err);

/* ---- files ---------------------------------------------------------------------------------------- */

struct gd_h5; /* io.h */

/* Writes the runs of a campaign into a file being written (kind "neat"; docs/hdf5-schema.md):
 *   runs/{target (R) int32, seed (R) uint64, n_generations, n_kept (R) int32, best_conf (R) float32,
 *         evaluations (R) int64, best_image (R, H, W), best_fitness, mean_fitness, best_confidence (R, G)
 *         float32 (NaN after a run's last generation), n_species (R, G) int32}   (G = longest run)
 *   fooling/{images (K, H, W) float32, confidence (K) float32, target, run, generation (K) int32, key (K) int64}
 *   fooling/genomes/{node_offset, conn_offset (K + 1) int64, nodes_i (Nn, 3) int32 (id, type, activation),
 *         nodes_f (Nn, 2) float32 (bias, response), conns_i (Nc, 4) int64 (innovation, in, out, enabled),
 *         conns_w (Nc) float32}: genome k is nodes [node_offset[k], node_offset[k+1]) and likewise connections.
 * K = the kept images of all runs in run order. Rank 0 only (serial file). */
gd_status gd_neat_runs_write(struct gd_h5* f, const gd_neat_run_result* runs, int n_runs, gd_error* err);

/* Reads back the K genomes of fooling/genomes (validated; GD_EFORMAT naming the file otherwise): *genomes is a
 * new array (free each with gd_neat_genome_free, then free()). */
gd_status gd_neat_genomes_read(struct gd_h5* f, gd_neat_genome** genomes, int64_t* K, gd_error* err);

#endif
