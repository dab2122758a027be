/* NEAT parameters from the attack.neat.* configuration keys. */
#include <string.h>

#include "gendec/config.h"
#include "gendec/neat.h"

gd_status gd_neat_params_from_config(const gd_config* cfg, gd_neat_params* p, gd_error* err) {
    gd_neat_params_default(p);
    p->pop_size = (int)gd_config_int(cfg, "attack.neat.population");
    size_t n = 0;
    const char* const* acts = gd_config_strings(cfg, "attack.neat.activations", &n);
    p->activation_options = 0;
    for (size_t i = 0; i < n; i++) {
        int a = gd_neat_activation_parse(acts[i]);
        if (a < 0)
            return gd_config_error(cfg, "attack.neat.activations", err, NULL, "unknown CPPN activation '%s'", acts[i]);
        p->activation_options |= 1u << a;
    }
    const char* def = gd_config_string(cfg, "attack.neat.activation_default");
    p->new_node_activation = gd_neat_activation_parse(def);
    if (p->new_node_activation < 0)
        return gd_config_error(cfg, "attack.neat.activation_default", err, NULL, "unknown CPPN activation '%s'",
                               def ? def : "");
    p->activation_mutate_rate = (float)gd_config_float(cfg, "attack.neat.activation_mutate_rate");
    p->compat_threshold = (float)gd_config_float(cfg, "attack.neat.compat_threshold");
    p->compat_disjoint = (float)gd_config_float(cfg, "attack.neat.compat_disjoint_coeff");
    p->compat_weight = (float)gd_config_float(cfg, "attack.neat.compat_weight_coeff");
    p->conn_add_prob = (float)gd_config_float(cfg, "attack.neat.conn_add_prob");
    p->conn_delete_prob = (float)gd_config_float(cfg, "attack.neat.conn_delete_prob");
    p->node_add_prob = (float)gd_config_float(cfg, "attack.neat.node_add_prob");
    p->node_delete_prob = (float)gd_config_float(cfg, "attack.neat.node_delete_prob");
    p->weight_init_stdev = (float)gd_config_float(cfg, "attack.neat.weight_init_stdev");
    p->weight_mutate_rate = (float)gd_config_float(cfg, "attack.neat.weight_mutate_rate");
    p->weight_mutate_power = (float)gd_config_float(cfg, "attack.neat.weight_mutate_power");
    p->weight_replace_rate = (float)gd_config_float(cfg, "attack.neat.weight_replace_rate");
    p->weight_min = (float)gd_config_float(cfg, "attack.neat.weight_min");
    p->weight_max = (float)gd_config_float(cfg, "attack.neat.weight_max");
    p->bias_mutate_rate = (float)gd_config_float(cfg, "attack.neat.bias_mutate_rate");
    p->bias_mutate_power = (float)gd_config_float(cfg, "attack.neat.bias_mutate_power");
    p->bias_replace_rate = (float)gd_config_float(cfg, "attack.neat.bias_replace_rate");
    p->enabled_mutate_rate = (float)gd_config_float(cfg, "attack.neat.enabled_mutate_rate");
    p->elitism = (int)gd_config_int(cfg, "attack.neat.elitism");
    p->survival_threshold = (float)gd_config_float(cfg, "attack.neat.survival_threshold");
    p->max_stagnation = (int)gd_config_int(cfg, "attack.neat.max_stagnation");
    p->species_elitism = (int)gd_config_int(cfg, "attack.neat.species_elitism");
    if (p->min_species_size < p->elitism) p->min_species_size = p->elitism;
    gd_error e;
    if (gd_neat_params_check(p, &e)) {
        /* Name the key the message is about, when it is one of ours. */
        static const struct {
            const char* word;
            const char* key;
        } keys[] = {{"population", "attack.neat.population"}, {"elitism", "attack.neat.elitism"},
                    {"weight_min", "attack.neat.weight_min"},  {"weight_mutate_rate", "attack.neat.weight_mutate_rate"},
                    {"bias_mutate_rate", "attack.neat.bias_mutate_rate"},
                    {"survival_threshold", "attack.neat.survival_threshold"}};
        const char* key = "attack.neat.population";
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strstr(e.msg, keys[i].word)) {
                key = keys[i].key;
                break;
            }
        return gd_config_error(cfg, key, err, e.hint, "%s", e.msg);
    }
    return GD_OK;
}
