/* NEAT parameters from the configuration: defaults match neat-python's, bad values name their key. */
#include <string.h>

#include "gd_test.h"
#include "gendec/config.h"
#include "gendec/neat.h"

int main(void) {
    gd_error err;
    gd_config* cfg;
    CHECK_OK(gd_config_defaults(&cfg, &err), &err);
    gd_neat_params p, d;
    gd_neat_params_default(&d);
    CHECK_OK(gd_neat_params_from_config(cfg, &p, &err), &err);
    CHECK(p.pop_size == 150 && p.elitism == 2 && p.max_stagnation == 15 && p.species_elitism == 2);
    CHECK(p.compat_threshold == 3.0f && p.compat_disjoint == 1.0f && p.compat_weight == 0.5f);
    CHECK(p.conn_add_prob == 0.5f && p.conn_delete_prob == 0.5f && p.node_add_prob == 0.2f &&
          p.node_delete_prob == 0.2f);
    CHECK(p.weight_mutate_rate == 0.8f && p.weight_mutate_power == 0.5f && p.weight_replace_rate == 0.1f);
    CHECK(p.weight_min == -30.0f && p.weight_max == 30.0f && p.survival_threshold == 0.2f);
    CHECK(p.new_node_activation == GD_NEAT_ACT_SIGMOID);
    CHECK(p.activation_options & (1u << GD_NEAT_ACT_SIN) && p.activation_options & (1u << GD_NEAT_ACT_GAUSS));
    CHECK(p.bias_init_stdev == d.bias_init_stdev && p.squash == d.squash);
    CHECK_OK(gd_config_set(cfg, "attack.neat.activations=[cos, square]", &err), &err);
    CHECK_OK(gd_config_set(cfg, "attack.neat.activation_default=clamped", &err), &err);
    CHECK_OK(gd_neat_params_from_config(cfg, &p, &err), &err);
    CHECK(p.activation_options == ((1u << GD_NEAT_ACT_COS) | (1u << GD_NEAT_ACT_SQUARE)));
    CHECK(p.new_node_activation == GD_NEAT_ACT_CLAMPED);
    /* A population smaller than the elite count: a config error at that key. */
    CHECK_OK(gd_config_set(cfg, "attack.neat.elitism=5", &err), &err);
    CHECK_OK(gd_config_set(cfg, "attack.neat.population=3", &err), &err);
    CHECK(gd_neat_params_from_config(cfg, &p, &err) == GD_ECONFIG);
    CHECK_MSG(strstr(err.msg, "elite") != NULL, "%s", err.msg);
    CHECK_OK(gd_config_set(cfg, "attack.neat.population=30", &err), &err);
    CHECK_OK(gd_neat_params_from_config(cfg, &p, &err), &err);
    CHECK(p.min_species_size == 5);
    CHECK_OK(gd_config_set(cfg, "attack.neat.weight_mutate_rate=0.95", &err), &err);
    CHECK(gd_neat_params_from_config(cfg, &p, &err) == GD_ECONFIG);
    CHECK_MSG(strstr(err.msg, "weight_mutate_rate") != NULL, "%s", err.msg);
    gd_config_free(cfg);
    return gd_test_done("test_neat_config");
}
