/* Classifier options from an experiment config: values arrive, and a value the classifier cannot use is a
 * config error at its line. */
#include <string.h>

#include "gd_test.h"
#include "gendec/config.h"
#include "gendec/infer.h"

int main(void) {
    gd_error err;
    gd_config* cfg = NULL;
    const char* text = "seed: 7\ninfer:\n  beta: 3\n  b: -1.5\n  rule: top3\n  norm: l1\n  scale: sum\n  yl: 0.25\n"
                       "  yu: 0.75\n  batch: 64\n  restarts: 2\n  binarize_input: true\n";
    CHECK_OK(gd_config_parse(&cfg, text, strlen(text), "exp.yaml", NULL, 0, &err), &err);
    gd_infer_opts o;
    CHECK_OK(gd_infer_opts_from_config(cfg, &o, &err), &err);
    CHECK(o.beta == 3.0f && o.b == -1.5f && o.rule == GD_INFER_RULE_TOP3 && o.norm == GD_INFER_NORM_L1);
    CHECK(o.scale == GD_INFER_SCALE_SUM && o.yl == 0.25f && o.yu == 0.75f && o.batch == 64 && o.restarts == 2);
    CHECK(o.binarize_input == 1 && o.seed == 7 && o.steps == 50 && o.c == 0.005f && o.l == 0.2f);
    gd_config_free(cfg);

    /* the config allows max_ambiguous up to 30, the classifier up to 16: an error at the line of the value */
    const char* bad = "infer:\n  steps: 10\n  max_ambiguous: 20\n";
    CHECK_OK(gd_config_parse(&cfg, bad, strlen(bad), "exp.yaml", NULL, 0, &err), &err);
    gd_error_clear(&err);
    CHECK(gd_infer_opts_from_config(cfg, &o, &err) == GD_ECONFIG);
    CHECK_MSG(!strcmp(err.file, "exp.yaml") && err.line == 3 && strstr(err.msg, "max_ambiguous"), "%s:%d: %s",
              err.file, err.line, err.msg);
    gd_config_free(cfg);
    /* yl >= yu is refused by the config itself */
    const char* pair = "infer:\n  yl: 0.7\n  yu: 0.6\n";
    CHECK(gd_config_parse(&cfg, pair, strlen(pair), "exp.yaml", NULL, 0, &err) == GD_ECONFIG);
    return gd_test_done("infer/opts_config");
}
