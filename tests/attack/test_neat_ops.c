/* NEAT genome operators: crossover alignment, add-node function preservation, acyclic add-connection,
 * innovation registry, compatibility distance on hand-made genomes, packing, CPPN rendering by hand. */
#include <math.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/neat.h"

static gd_error err;

/* The fixed nodes: inputs x, y, d, bias and the output with the given activation and bias. */
static void base(gd_neat_genome* g, int out_act, float out_bias) {
    gd_neat_genome_free(g);
    for (int i = 0; i < 3; i++) CHECK_OK(gd_neat_genome_add_node(g, i, GD_NEAT_INPUT, GD_NEAT_ACT_IDENTITY, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(g, 3, GD_NEAT_BIAS, GD_NEAT_ACT_IDENTITY, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(g, 4, GD_NEAT_OUTPUT, out_act, out_bias, 1, &err), &err);
}

static int conn_index(const gd_neat_genome* g, int64_t innov) {
    for (int c = 0; c < g->n_conns; c++)
        if (g->conns[c].innovation == innov) return c;
    return -1;
}

static void test_crossover(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    gd_neat_genome a = {0}, b = {0}, child = {0};
    /* a: hidden 5 (splitting x->out), connections 0, 1, 4 (x->5), 5 (5->out); b: hidden 6, connections 0, 1, 2,
     * 7 (y->6), 8 (6->out). Matching: node 4, innovations 0 and 1. */
    base(&a, GD_NEAT_ACT_SIGMOID, 0.25f);
    base(&b, GD_NEAT_ACT_TANH, -0.75f);
    CHECK_OK(gd_neat_genome_add_node(&a, 5, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0.1f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(&b, 6, GD_NEAT_HIDDEN, GD_NEAT_ACT_GAUSS, 0.2f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 0, 0, 4, 1.0f, 0, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 1, 1, 4, 2.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 4, 0, 5, 1.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 5, 5, 4, 3.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 0, 0, 4, -1.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 1, 1, 4, -2.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 2, 2, 4, 0.5f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 7, 1, 6, 0.7f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 8, 6, 4, 0.9f, 1, &err), &err);
    gd_rng rng;
    gd_rng_init(&rng, 1, GD_STREAM_USER, 0);
    for (int fitter = 0; fitter < 2; fitter++) {
        a.fitness = fitter == 0 ? 2.0f : 1.0f;
        b.fitness = fitter == 0 ? 1.0f : 2.0f;
        const gd_neat_genome* f = fitter == 0 ? &a : &b;
        const gd_neat_genome* o = fitter == 0 ? &b : &a;
        int from_other_w = 0, from_fitter_w = 0, disabled = 0, trials = 400;
        for (int t = 0; t < trials; t++) {
            /* Argument order must not matter, only fitness. */
            if (t % 2)
                CHECK_OK(gd_neat_crossover(&a, &b, 100 + t, &p, &rng, &child, &err), &err);
            else
                CHECK_OK(gd_neat_crossover(&b, &a, 100 + t, &p, &rng, &child, &err), &err);
            CHECK(child.key == 100 + t);
            CHECK_OK(gd_neat_genome_check(&child, &err), &err);
            /* Exactly the fitter parent's genes. */
            CHECK(child.n_conns == f->n_conns && child.n_nodes == f->n_nodes);
            for (int c = 0; c < child.n_conns && c < f->n_conns; c++) {
                const gd_neat_conn* k = &child.conns[c];
                CHECK(k->innovation == f->conns[c].innovation && k->in == f->conns[c].in && k->out == f->conns[c].out);
                int j = conn_index(o, k->innovation);
                if (j < 0) {
                    CHECK(k->weight == f->conns[c].weight && k->enabled == f->conns[c].enabled); /* disjoint/excess */
                } else {
                    CHECK(k->weight == f->conns[c].weight || k->weight == o->conns[j].weight);
                    from_other_w += k->weight == o->conns[j].weight;
                    from_fitter_w += k->weight == f->conns[c].weight;
                    if (k->innovation == 0) disabled += !k->enabled; /* disabled in a */
                    else CHECK(k->enabled);
                }
            }
            for (int i = 0; i < child.n_nodes && i < f->n_nodes; i++) {
                CHECK(child.nodes[i].id == f->nodes[i].id);
                if (child.nodes[i].id == 4)
                    CHECK(child.nodes[i].bias == a.nodes[4].bias || child.nodes[i].bias == b.nodes[4].bias);
                else if (child.nodes[i].id >= 5)
                    CHECK(child.nodes[i].bias == f->nodes[i].bias && child.nodes[i].act == f->nodes[i].act);
            }
        }
        /* Both parents contribute matching genes (2 per trial), about half each. */
        CHECK(from_other_w > trials / 2 && from_fitter_w > trials / 2);
        /* Innovation 0 is disabled in a: disabled in the child with probability 0.75. */
        CHECK_MSG(disabled > trials * 0.65 && disabled < trials * 0.85, "disabled %d of %d", disabled, trials);
    }
    /* Ties: the first argument counts as fitter. */
    a.fitness = b.fitness = 1.0f;
    CHECK_OK(gd_neat_crossover(&b, &a, 7, &p, &rng, &child, &err), &err);
    CHECK(child.n_conns == b.n_conns && conn_index(&child, 7) >= 0);
    gd_neat_genome_free(&a);
    gd_neat_genome_free(&b);
    gd_neat_genome_free(&child);
}

/* Max |difference| of two renders of genomes under the same parameters. */
static double render_diff(const gd_neat_genome* g1, const gd_neat_genome* g2, const gd_neat_params* p) {
    enum { H = 12, W = 9 };
    float i1[H * W], i2[H * W];
    gd_neat_render_ws ws = {0};
    CHECK_OK(gd_neat_render(g1, p, H, W, &ws, i1, &err), &err);
    CHECK_OK(gd_neat_render(g2, p, H, W, &ws, i2, &err), &err);
    gd_neat_render_free(&ws);
    double m = 0;
    for (int k = 0; k < H * W; k++) m = fmax(m, fabs((double)i1[k] - i2[k]));
    return m;
}

static void test_add_node_keeps_function(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    p.new_node_activation = GD_NEAT_ACT_IDENTITY;
    p.output_activation = GD_NEAT_ACT_IDENTITY;
    p.squash = GD_NEAT_SQUASH_SIGMOID; /* no clamping that could hide a difference */
    gd_neat_innovations reg;
    gd_neat_innovations_init(&reg, 4, GD_NEAT_N_FIXED);
    gd_rng rng;
    gd_rng_init(&rng, 2, GD_STREAM_USER, 0);
    gd_neat_genome g = {0}, before = {0};
    int tested = 0;
    for (int trial = 0; trial < 40; trial++) {
        CHECK_OK(gd_neat_genome_create(&g, trial, &p, &rng, &err), &err);
        /* Grow a random network with every activation in it. */
        gd_neat_params q = p;
        q.new_node_activation = GD_NEAT_ACT_RANDOM;
        q.activation_mutate_rate = 0.5f;
        for (int m = 0; m < 6; m++) CHECK_OK(gd_neat_mutate(&g, &reg, &q, &rng, &err), &err);
        CHECK_OK(gd_neat_genome_copy(&before, &g, &err), &err);
        int enabled = 0;
        for (int c = 0; c < g.n_conns; c++) enabled += g.conns[c].enabled;
        CHECK_OK(gd_neat_mutate_add_node(&g, &reg, &p, &rng, &err), &err);
        CHECK_OK(gd_neat_genome_check(&g, &err), &err);
        if (!enabled) {
            CHECK(g.n_nodes == before.n_nodes);
            continue;
        }
        tested++;
        CHECK(g.n_nodes == before.n_nodes + 1 && g.n_conns == before.n_conns + 2);
        CHECK(g.nodes[g.n_nodes - 1].type == GD_NEAT_HIDDEN && g.nodes[g.n_nodes - 1].act == GD_NEAT_ACT_IDENTITY);
        double d = render_diff(&before, &g, &p);
        CHECK_MSG(d < 1e-5, "add-node changed the image by %g (trial %d)", d, trial);
        gd_neat_innovations_new_generation(&reg);
    }
    CHECK(tested >= 30);
    /* Splitting with a sine node does change the image: the check above can fail. */
    p.new_node_activation = GD_NEAT_ACT_SIN;
    CHECK_OK(gd_neat_genome_create(&g, 99, &p, &rng, &err), &err);
    CHECK_OK(gd_neat_genome_copy(&before, &g, &err), &err);
    CHECK_OK(gd_neat_mutate_add_node(&g, &reg, &p, &rng, &err), &err);
    CHECK(render_diff(&before, &g, &p) > 1e-3);
    gd_neat_genome_free(&g);
    gd_neat_genome_free(&before);
    gd_neat_innovations_free(&reg);
}

static void test_no_cycles(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    gd_neat_innovations reg;
    gd_neat_innovations_init(&reg, 4, GD_NEAT_N_FIXED);
    gd_rng rng;
    gd_rng_init(&rng, 3, GD_STREAM_USER, 0);
    gd_neat_genome g = {0};
    CHECK_OK(gd_neat_genome_create(&g, 0, &p, &rng, &err), &err);
    /* Grow deep networks: many add-node, add-connection attempts (every pair eventually proposed). */
    int ok = 1, max_conns = 0;
    for (int step = 0; step < 3000 && ok; step++) {
        float r = gd_rng_uniform(&rng);
        if (r < 0.15f)
            CHECK_OK(gd_neat_mutate_add_node(&g, &reg, &p, &rng, &err), &err);
        else if (r < 0.9f)
            CHECK_OK(gd_neat_mutate_add_conn(&g, &reg, &p, &rng, &err), &err);
        else if (r < 0.95f)
            gd_neat_mutate_delete_conn(&g, &rng);
        else
            gd_neat_mutate_delete_node(&g, &rng);
        if (g.n_conns) g.conns[gd_rng_below(&rng, (uint32_t)g.n_conns)].enabled ^= 1; /* toggles are harmless */
        ok = gd_neat_genome_check(&g, &err) == GD_OK;
        if (g.n_nodes > 25) gd_neat_mutate_delete_node(&g, &rng);
        if (g.n_conns > max_conns) max_conns = g.n_conns;
        if (step % 50 == 0) gd_neat_innovations_new_generation(&reg);
    }
    CHECK_MSG(ok, "a mutation produced an invalid genome: %s", err.msg);
    CHECK(max_conns > 20); /* the test did build dense networks */
    /* Direct checks. */
    base(&g, GD_NEAT_ACT_SIGMOID, 0);
    CHECK_OK(gd_neat_genome_add_node(&g, 5, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(&g, 6, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 10, 5, 6, 1, 0, &err), &err); /* disabled still counts */
    CHECK_OK(gd_neat_genome_add_conn(&g, 11, 6, 4, 1, 1, &err), &err);
    CHECK(gd_neat_genome_creates_cycle(&g, 6, 5));
    CHECK(gd_neat_genome_creates_cycle(&g, 4, 5));
    CHECK(gd_neat_genome_creates_cycle(&g, 5, 5));
    CHECK(!gd_neat_genome_creates_cycle(&g, 5, 4));
    CHECK(!gd_neat_genome_creates_cycle(&g, 0, 6));
    CHECK(gd_neat_genome_add_conn(&g, 12, 6, 5, 1, 1, &err) == GD_EINVAL);
    CHECK(gd_neat_genome_add_conn(&g, 12, 4, 0, 1, 1, &err) == GD_EINVAL); /* into an input */
    CHECK(gd_neat_genome_add_conn(&g, 11, 0, 5, 1, 1, &err) == GD_EINVAL); /* innovation reused */
    CHECK(gd_neat_genome_add_conn(&g, 13, 5, 6, 1, 1, &err) == GD_EINVAL); /* pair exists */
    gd_neat_genome_free(&g);
    gd_neat_innovations_free(&reg);
}

static void test_registry(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    gd_neat_innovations reg;
    gd_neat_innovations_init(&reg, 4, GD_NEAT_N_FIXED);
    gd_rng rng;
    gd_rng_init(&rng, 4, GD_STREAM_USER, 0);
    /* Two identical genomes split the same connection (forced: only one enabled) in the same generation. */
    gd_neat_genome a = {0}, b = {0};
    CHECK_OK(gd_neat_genome_create(&a, 0, &p, &rng, &err), &err);
    for (int c = 1; c < 4; c++) a.conns[c].enabled = 0;
    CHECK_OK(gd_neat_genome_copy(&b, &a, &err), &err);
    CHECK_OK(gd_neat_mutate_add_node(&a, &reg, &p, &rng, &err), &err);
    CHECK_OK(gd_neat_mutate_add_node(&b, &reg, &p, &rng, &err), &err);
    CHECK(a.n_nodes == 6 && b.n_nodes == 6 && a.nodes[5].id == 5 && b.nodes[5].id == 5);
    CHECK(a.n_conns == 6 && b.n_conns == 6 && a.conns[4].innovation == 4 && b.conns[4].innovation == 4 &&
          a.conns[5].innovation == 5 && b.conns[5].innovation == 5);
    CHECK(a.conns[4].in == 0 && a.conns[4].out == 5 && a.conns[4].weight == 1.0f);
    CHECK(a.conns[5].in == 5 && a.conns[5].out == 4 && a.conns[5].weight == a.conns[0].weight);
    /* Next generation: the same split gets new numbers. */
    gd_neat_innovations_new_generation(&reg);
    gd_neat_genome c = {0};
    CHECK_OK(gd_neat_genome_create(&c, 2, &p, &rng, &err), &err);
    for (int k = 1; k < 4; k++) c.conns[k].enabled = 0;
    CHECK_OK(gd_neat_mutate_add_node(&c, &reg, &p, &rng, &err), &err);
    CHECK(c.nodes[5].id == 6 && c.conns[4].innovation == 6 && c.conns[5].innovation == 7);
    CHECK(reg.next_innovation == 8 && reg.next_node_id == 7);
    gd_neat_genome_free(&a);
    gd_neat_genome_free(&b);
    gd_neat_genome_free(&c);
    gd_neat_innovations_free(&reg);
}

static void test_distance(void) {
    gd_neat_params p;
    gd_neat_params_default(&p); /* disjoint 1.0, weight 0.5 */
    gd_neat_genome a = {0}, b = {0};
    base(&a, GD_NEAT_ACT_SIGMOID, 0.5f);
    base(&b, GD_NEAT_ACT_TANH, -0.5f);
    CHECK_OK(gd_neat_genome_add_node(&a, 5, GD_NEAT_HIDDEN, GD_NEAT_ACT_IDENTITY, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 0, 0, 4, 1.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 1, 1, 4, 2.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 4, 0, 5, 0.5f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&a, 5, 5, 4, -1.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 0, 0, 4, 1.5f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 1, 1, 4, 2.0f, 0, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 2, 2, 4, 0.3f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&b, 3, 3, 4, 0.1f, 1, &err), &err);
    /* Nodes: output matches (|0.5 - -0.5| + 0 + 1 activation) = 2, node 5 disjoint; max 2 nodes:
     *   (0.5 * 2 + 1.0 * 1) / 2 = 1.0.
     * Connections: 0 matches (|1 - 1.5| = 0.5), 1 matches (0 + 1 enabled) = 1, disjoint 4, 5, 2, 3; max 4:
     *   (0.5 * 1.5 + 1.0 * 4) / 4 = 1.1875.   Total 2.1875. */
    CHECK_NEAR(gd_neat_distance(&a, &b, &p), 2.1875, 1e-6);
    CHECK_NEAR(gd_neat_distance(&b, &a, &p), 2.1875, 1e-6);
    CHECK_NEAR(gd_neat_distance(&a, &a, &p), 0.0, 0);
    /* Other coefficients: disjoint 2, weight 1: nodes (2 + 2) / 2 = 2, conns (1.5 + 8) / 4 = 2.375. */
    p.compat_disjoint = 2.0f;
    p.compat_weight = 1.0f;
    CHECK_NEAR(gd_neat_distance(&a, &b, &p), 4.375, 1e-6);
    gd_neat_genome_free(&a);
    gd_neat_genome_free(&b);
}

static void test_pack(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    gd_neat_innovations reg;
    gd_neat_innovations_init(&reg, 4, GD_NEAT_N_FIXED);
    gd_rng rng;
    gd_rng_init(&rng, 5, GD_STREAM_USER, 0);
    gd_neat_genome g = {0}, h = {0};
    CHECK_OK(gd_neat_genome_create(&g, 42, &p, &rng, &err), &err);
    for (int m = 0; m < 10; m++) CHECK_OK(gd_neat_mutate(&g, &reg, &p, &rng, &err), &err);
    int32_t ni[3 * 64];
    float nf[2 * 64], cw[64];
    int64_t ci[4 * 64];
    CHECK(g.n_nodes <= 64 && g.n_conns <= 64);
    gd_neat_genome_pack(&g, ni, nf, ci, cw);
    CHECK_OK(gd_neat_genome_unpack(&h, g.n_nodes, ni, nf, g.n_conns, ci, cw, &err), &err);
    CHECK(h.n_nodes == g.n_nodes && h.n_conns == g.n_conns);
    CHECK(!memcmp(h.nodes, g.nodes, sizeof *g.nodes * (size_t)g.n_nodes));
    CHECK(!memcmp(h.conns, g.conns, sizeof *g.conns * (size_t)g.n_conns));
    CHECK(render_diff(&g, &h, &p) == 0.0);
    /* Corrupt data is refused: an unknown node, a cycle. */
    if (g.n_conns > 0) {
        int64_t save = ci[2];
        ci[2] = 9999;
        CHECK(gd_neat_genome_unpack(&h, g.n_nodes, ni, nf, g.n_conns, ci, cw, &err) == GD_EFORMAT);
        ci[2] = save;
    }
    base(&h, GD_NEAT_ACT_SIGMOID, 0);
    CHECK_OK(gd_neat_genome_add_node(&h, 5, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(&h, 6, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&h, 0, 5, 6, 1, 1, &err), &err);
    gd_neat_genome_pack(&h, ni, nf, ci, cw);
    ci[4 * 0 + 1] = 6, ci[4 * 0 + 2] = 5; /* fine alone */
    CHECK_OK(gd_neat_genome_unpack(&g, h.n_nodes, ni, nf, 1, ci, cw, &err), &err);
    ci[4] = 1, ci[5] = 5, ci[6] = 6, ci[7] = 1, cw[1] = 1; /* 6 -> 5 and 5 -> 6 */
    CHECK(gd_neat_genome_unpack(&g, h.n_nodes, ni, nf, 2, ci, cw, &err) == GD_EFORMAT);
    CHECK(strstr(err.msg, "cycle") != NULL);
    gd_neat_genome_free(&g);
    gd_neat_genome_free(&h);
    gd_neat_innovations_free(&reg);
}

static void test_render_by_hand(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    gd_neat_genome g = {0};
    /* out = identity(0.1 + 0.5x - 0.25y + 0.2d + 0.3*1 + 0.4 h), h = sin(5 (0.2 + 1.0 x)); a disabled y -> h
     * connection and a dangling hidden node 6 must not count. */
    base(&g, GD_NEAT_ACT_IDENTITY, 0.1f);
    CHECK_OK(gd_neat_genome_add_node(&g, 5, GD_NEAT_HIDDEN, GD_NEAT_ACT_SIN, 0.2f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_node(&g, 6, GD_NEAT_HIDDEN, GD_NEAT_ACT_RELU, 5.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 0, 0, 4, 0.5f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 1, 1, 4, -0.25f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 2, 2, 4, 0.2f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 3, 3, 4, 0.3f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 4, 0, 5, 1.0f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 5, 5, 4, 0.4f, 1, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 6, 1, 5, 7.0f, 0, &err), &err);
    CHECK_OK(gd_neat_genome_add_conn(&g, 7, 0, 6, 1.0f, 1, &err), &err);
    float img[3 * 4];
    gd_neat_render_ws ws = {0};
    CHECK_OK(gd_neat_render(&g, &p, 3, 4, &ws, img, &err), &err);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            double x = -1 + 2.0 * j / 3, y = -1 + i, d = sqrt(x * x + y * y);
            double h = sin(5 * (0.2 + x));
            double v = 0.1 + 0.5 * x - 0.25 * y + 0.2 * d + 0.3 + 0.4 * h;
            CHECK_NEAR(img[i * 4 + j], fmin(1, fmax(0, v)), 2e-6);
        }
    /* A literal: pixel (1, 1) has x = -1/3, y = 0, d = 1/3, h = sin(-2/3) = -0.6183698;
     * v = 0.1 - 1/6 + 1/15 + 0.3 - 0.2473479 = 0.0526521. */
    CHECK_NEAR(img[1 * 4 + 1], 0.0526521, 1e-6);
    /* The sigmoid squash, and each activation at one point (the centre pixel of a 3x3 image: x=y=d=0). */
    p.squash = GD_NEAT_SQUASH_SIGMOID;
    CHECK_OK(gd_neat_render(&g, &p, 3, 4, &ws, img, &err), &err);
    CHECK_NEAR(img[1 * 4 + 1], 1 / (1 + exp(-0.0526521)), 1e-6);
    const double z = 0.3; /* out = act(0.3): only the bias input with weight 1 */
    const double expect[GD_NEAT_ACT_COUNT] = {1 / (1 + exp(-5 * z)), tanh(2.5 * z), sin(5 * z), exp(-5 * z * z),
                                              z, z, z, cos(5 * z), z * z, z};
    for (int a = 0; a < GD_NEAT_ACT_COUNT; a++) {
        base(&g, a, 0.0f);
        CHECK_OK(gd_neat_genome_add_conn(&g, 0, 3, 4, (float)z, 1, &err), &err);
        float c[9];
        CHECK_OK(gd_neat_render(&g, &p, 3, 3, &ws, c, &err), &err);
        CHECK_NEAR(c[4], 1 / (1 + exp(-expect[a])), 1e-6);
        CHECK(!strcmp(gd_neat_activation_name(a), gd_neat_activation_name(gd_neat_activation_parse(gd_neat_activation_name(a)))));
    }
    /* Negative arguments for abs and relu; gauss clamps at 3.4. */
    p.squash = GD_NEAT_SQUASH_CLAMP;
    base(&g, GD_NEAT_ACT_ABS, -0.75f);
    CHECK_OK(gd_neat_genome_add_conn(&g, 0, 0, 4, 0.0f, 1, &err), &err);
    float c[1];
    CHECK_OK(gd_neat_render(&g, &p, 1, 1, &ws, c, &err), &err);
    CHECK_NEAR(c[0], 0.75, 1e-7);
    g.nodes[4].act = GD_NEAT_ACT_RELU;
    CHECK_OK(gd_neat_render(&g, &p, 1, 1, &ws, c, &err), &err);
    CHECK(c[0] == 0.0f);
    gd_neat_render_free(&ws);
    gd_neat_genome_free(&g);
}

static void test_params(void) {
    gd_neat_params p;
    gd_neat_params_default(&p);
    CHECK_OK(gd_neat_params_check(&p, &err), &err);
    p.pop_size = 1;
    CHECK(gd_neat_params_check(&p, &err) == GD_EINVAL && strstr(err.msg, "elite"));
    gd_neat_params_default(&p);
    p.conn_add_prob = 1.5f;
    CHECK(gd_neat_params_check(&p, &err) == GD_EINVAL && strstr(err.msg, "conn_add_prob"));
    gd_neat_params_default(&p);
    p.elitism = 3;
    CHECK(gd_neat_params_check(&p, &err) == GD_EINVAL);
    gd_neat_params_default(&p);
    p.activation_options = 0;
    CHECK(gd_neat_params_check(&p, &err) == GD_EINVAL);
}

int main(void) {
    test_crossover();
    test_add_node_keeps_function();
    test_no_cycles();
    test_registry();
    test_distance();
    test_pack();
    test_render_by_hand();
    test_params();
    return gd_test_done("test_neat_ops");
}
