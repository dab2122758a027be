/* NEAT campaigns: one population per (target, seed), spread over MPI ranks; run results serialised for the
 * gather to rank 0. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gendec/dist.h"
#include "gendec/neat.h"

#define PACK_MAGIC 0x5441454Eu /* "NEAT" */
#define PACK_VERSION 1u

typedef struct {
    unsigned char* p;
    size_t n, cap;
    int failed;
} wbuf;

/* Appends n bytes (remembers an allocation failure). */
static void put(wbuf* b, const void* v, size_t n) {
    if (b->failed || !n) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char* q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_i32(wbuf* b, int32_t v) { put(b, &v, sizeof v); }

/* A genome: key, species, fitness, sizes, then the flat arrays of gd_neat_genome_pack. */
static void put_genome(wbuf* b, const gd_neat_genome* g) {
    put(b, &g->key, sizeof g->key);
    put_i32(b, g->species);
    put(b, &g->fitness, sizeof g->fitness);
    put_i32(b, g->n_nodes);
    put_i32(b, g->n_conns);
    size_t nn = (size_t)g->n_nodes, nc = (size_t)g->n_conns;
    int32_t* ni = malloc(sizeof(int32_t) * 3 * nn + 1);
    float* nf = malloc(sizeof(float) * 2 * nn + 1);
    int64_t* ci = malloc(sizeof(int64_t) * 4 * nc + 1);
    float* cw = malloc(sizeof(float) * nc + 1);
    if (!ni || !nf || !ci || !cw) {
        b->failed = 1;
    } else {
        gd_neat_genome_pack(g, ni, nf, ci, cw);
        put(b, ni, sizeof(int32_t) * 3 * nn);
        put(b, nf, sizeof(float) * 2 * nn);
        put(b, ci, sizeof(int64_t) * 4 * nc);
        put(b, cw, sizeof(float) * nc);
    }
    free(ni), free(nf), free(ci), free(cw);
}

gd_status gd_neat_run_result_pack(const gd_neat_run_result* r, void** buf, size_t* size, gd_error* err) {
    wbuf b = {0};
    size_t hw = (size_t)r->height * r->width, G = (size_t)r->n_generations;
    uint32_t head[2] = {PACK_MAGIC, PACK_VERSION};
    put(&b, head, sizeof head);
    int32_t dims[6] = {r->height, r->width, r->classes, r->target, r->n_generations, r->n_kept};
    put(&b, dims, sizeof dims);
    put(&b, &r->seed, sizeof r->seed);
    int64_t ev = r->evaluations;
    put(&b, &ev, sizeof ev);
    put(&b, &r->best_conf, sizeof r->best_conf);
    put(&b, r->best_fitness, sizeof(float) * G);
    put(&b, r->mean_fitness, sizeof(float) * G);
    put(&b, r->best_confidence, sizeof(float) * G);
    put(&b, r->n_species, sizeof(int32_t) * G);
    put(&b, r->best_image, sizeof(float) * hw);
    put_genome(&b, &r->best_genome);
    for (int k = 0; k < r->n_kept; k++) {
        put(&b, &r->confidence[k], sizeof(float));
        put_i32(&b, r->generation[k]);
        put(&b, r->images + hw * (size_t)k, sizeof(float) * hw);
        put_genome(&b, &r->genomes[k]);
    }
    if (b.failed) {
        free(b.p);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (packing a NEAT run)");
    }
    *buf = b.p;
    *size = b.n;
    return GD_OK;
}

typedef struct {
    const unsigned char* p;
    size_t n, at;
} rbuf;

/* Copies n bytes out; 0 when the buffer is too short. */
static int get(rbuf* b, void* v, size_t n) {
    if (n > b->n - b->at) return 0;
    memcpy(v, b->p + b->at, n);
    b->at += n;
    return 1;
}

#define TRUNC gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "packed NEAT run is truncated or corrupt")

static gd_status get_genome(rbuf* b, gd_neat_genome* g, gd_error* err) {
    int64_t key;
    int32_t species, nn, nc;
    float fitness;
    if (!get(b, &key, sizeof key) || !get(b, &species, 4) || !get(b, &fitness, 4) || !get(b, &nn, 4) ||
        !get(b, &nc, 4))
        return TRUNC;
    if (nn < 0 || nc < 0 || nn > 1000000 || nc > 10000000 ||
        (size_t)nn * 20 + (size_t)nc * 36 > b->n - b->at)
        return TRUNC;
    const unsigned char* base = b->p + b->at;
    /* The arrays may be unaligned in the buffer: copy them out. */
    int32_t* ni = malloc(sizeof(int32_t) * 3 * (size_t)nn + 1);
    float* nf = malloc(sizeof(float) * 2 * (size_t)nn + 1);
    int64_t* ci = malloc(sizeof(int64_t) * 4 * (size_t)nc + 1);
    float* cw = malloc(sizeof(float) * (size_t)nc + 1);
    gd_status s = GD_OK;
    if (!ni || !nf || !ci || !cw) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (unpacking a NEAT genome)");
    } else {
        size_t o = 0;
        memcpy(ni, base + o, sizeof(int32_t) * 3 * (size_t)nn), o += sizeof(int32_t) * 3 * (size_t)nn;
        memcpy(nf, base + o, sizeof(float) * 2 * (size_t)nn), o += sizeof(float) * 2 * (size_t)nn;
        memcpy(ci, base + o, sizeof(int64_t) * 4 * (size_t)nc), o += sizeof(int64_t) * 4 * (size_t)nc;
        memcpy(cw, base + o, sizeof(float) * (size_t)nc), o += sizeof(float) * (size_t)nc;
        b->at += o;
        if (nn == 0 && nc == 0) /* an empty genome (no best genome yet) */
            gd_neat_genome_free(g);
        else
            s = gd_neat_genome_unpack(g, nn, ni, nf, nc, ci, cw, err);
        g->key = key, g->species = species, g->fitness = fitness;
    }
    free(ni), free(nf), free(ci), free(cw);
    return s;
}

gd_status gd_neat_run_result_unpack(const void* buf, size_t size, gd_neat_run_result* r, gd_error* err) {
    memset(r, 0, sizeof *r);
    r->best_genome.species = -1;
    rbuf b = {buf, size, 0};
    uint32_t head[2];
    int32_t dims[6];
    int64_t ev;
    if (!get(&b, head, sizeof head) || head[0] != PACK_MAGIC || head[1] != PACK_VERSION || !get(&b, dims, sizeof dims) ||
        !get(&b, &r->seed, sizeof r->seed) || !get(&b, &ev, sizeof ev) || !get(&b, &r->best_conf, 4))
        return TRUNC;
    r->height = dims[0], r->width = dims[1], r->classes = dims[2], r->target = dims[3];
    int G = dims[4], K = dims[5];
    if (r->height < 1 || r->width < 1 || (size_t)r->height * r->width > (1u << 24) || G < 0 || K < 0 ||
        (size_t)G * 16 > size || (size_t)K * 4 * r->height * r->width > size)
        return TRUNC;
    size_t hw = (size_t)r->height * r->width;
    r->evaluations = (long)ev;
    r->n_generations = G;
    r->best_fitness = malloc(sizeof(float) * (size_t)G + 1);
    r->mean_fitness = malloc(sizeof(float) * (size_t)G + 1);
    r->best_confidence = malloc(sizeof(float) * (size_t)G + 1);
    r->n_species = malloc(sizeof(int32_t) * (size_t)G + 1);
    r->best_image = malloc(sizeof(float) * hw);
    r->cap = K;
    r->images = malloc(sizeof(float) * hw * (size_t)K + 1);
    r->confidence = malloc(sizeof(float) * (size_t)K + 1);
    r->generation = malloc(sizeof(int32_t) * (size_t)K + 1);
    r->genomes = calloc((size_t)K + 1, sizeof *r->genomes);
    gd_status s = GD_OK;
    if (!r->best_fitness || !r->mean_fitness || !r->best_confidence || !r->n_species || !r->best_image ||
        !r->images || !r->confidence || !r->generation || !r->genomes) {
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (unpacking a NEAT run)");
        goto fail;
    }
    if (!get(&b, r->best_fitness, 4 * (size_t)G) || !get(&b, r->mean_fitness, 4 * (size_t)G) ||
        !get(&b, r->best_confidence, 4 * (size_t)G) || !get(&b, r->n_species, 4 * (size_t)G) ||
        !get(&b, r->best_image, 4 * hw)) {
        s = TRUNC;
        goto fail;
    }
    if ((s = get_genome(&b, &r->best_genome, err))) goto fail;
    for (int k = 0; k < K; k++) {
        if (!get(&b, &r->confidence[k], 4) || !get(&b, &r->generation[k], 4) ||
            !get(&b, r->images + hw * (size_t)k, 4 * hw)) {
            s = TRUNC;
            goto fail;
        }
        r->genomes[k].species = -1;
        r->n_kept = k + 1; /* so that a failure frees this genome too */
        if ((s = get_genome(&b, &r->genomes[k], err))) goto fail;
    }
    if (b.at != size) {
        s = gd_error_set(err, GD_EFORMAT, NULL, 0, 0, NULL, "packed NEAT run has %zu trailing bytes", size - b.at);
        goto fail;
    }
    return GD_OK;
fail:
    gd_neat_run_result_free(r);
    return s;
}

gd_status gd_neat_campaign(const gd_neat_params* p, const gd_neat_campaign_config* cfg,
                           gd_neat_classify_fn classify, void* ctx, gd_neat_run_result** runs, MPI_Comm comm,
                           gd_error* err) {
    *runs = NULL;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    gd_status s = GD_OK;
    if (cfg->n_targets < 1 || cfg->n_seeds < 1 || (int64_t)cfg->n_targets * cfg->n_seeds > 1000000)
        s = gd_error_set(err, GD_EINVAL, NULL, 0, 0, "list at least one target and one seed",
                         "NEAT campaign of %d targets x %d seeds", cfg->n_targets, cfg->n_seeds);
    if (!s) s = gd_neat_params_check(p, err);
    if ((s = gd_dist_agree(s, comm, err))) return s;
    size_t n_runs = (size_t)cfg->n_targets * cfg->n_seeds, begin, end;
    gd_dist_block(n_runs, rank, size, &begin, &end);
    /* Evolve this rank's runs and pack them one after the other: [u64 size][bytes] ... */
    wbuf mine = {0};
    for (size_t k = begin; k < end && !s; k++) {
        gd_neat_run_config rc = cfg->run;
        rc.target = cfg->targets[k / cfg->n_seeds];
        rc.seed = cfg->seeds[k % cfg->n_seeds];
        rc.index = (uint64_t)rc.target;
        gd_neat_run_result r;
        if ((s = gd_neat_run(p, &rc, classify, ctx, &r, err))) {
            gd_error_prefix(err, "NEAT run for target %d, seed %llu: ", rc.target, (unsigned long long)rc.seed);
            break;
        }
        void* blob;
        size_t bytes;
        s = gd_neat_run_result_pack(&r, &blob, &bytes, err);
        gd_neat_run_result_free(&r);
        if (s) break;
        uint64_t b64 = bytes;
        put(&mine, &b64, sizeof b64);
        put(&mine, blob, bytes);
        free(blob);
        if (mine.failed) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT results)");
    }
    if (!s && mine.n > INT_MAX)
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "keep fewer images per run (attack.neat.max_keep)",
                         "NEAT results of rank %d are %zu bytes (> 2 GiB)", rank, mine.n);
    if ((s = gd_dist_agree(s, comm, err))) {
        free(mine.p);
        return s;
    }
    /* Gather the packed runs on rank 0. */
    int my_bytes = (int)mine.n;
    int* counts = rank == 0 ? calloc((size_t)size, sizeof(int)) : NULL;
    int* displs = rank == 0 ? calloc((size_t)size, sizeof(int)) : NULL;
    MPI_Gather(&my_bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    unsigned char* all = NULL;
    int64_t total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++) displs[r] = (int)total, total += counts[r];
        if (total > INT_MAX)
            s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, "keep fewer images per run (attack.neat.max_keep)",
                             "NEAT results are %lld bytes (> 2 GiB)", (long long)total);
        else if (!(all = malloc((size_t)total + 1)))
            s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (gathering NEAT results)");
    }
    if ((s = gd_dist_agree(s, comm, err))) {
        free(mine.p), free(counts), free(displs), free(all);
        return s;
    }
    int rc = MPI_Gatherv(mine.p, my_bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, comm);
    free(mine.p);
    free(counts);
    free(displs);
    if (rc != MPI_SUCCESS) {
        free(all);
        return gd_error_set(err, GD_EMPI, NULL, 0, 0, NULL, "MPI_Gatherv of NEAT results failed");
    }
    if (rank != 0) return GD_OK;
    gd_neat_run_result* out = calloc(n_runs, sizeof *out);
    if (!out) {
        free(all);
        return gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory (NEAT results)");
    }
    size_t at = 0, k = 0;
    for (; k < n_runs && !s; k++) {
        uint64_t bytes;
        if ((size_t)total - at < sizeof bytes) {
            s = TRUNC;
            break;
        }
        memcpy(&bytes, all + at, sizeof bytes);
        at += sizeof bytes;
        if (bytes > (size_t)total - at) {
            s = TRUNC;
            break;
        }
        s = gd_neat_run_result_unpack(all + at, bytes, &out[k], err);
        at += bytes;
    }
    free(all);
    if (s) {
        for (size_t j = 0; j < n_runs; j++) gd_neat_run_result_free(&out[j]);
        free(out);
        return s;
    }
    *runs = out;
    return GD_OK;
}
