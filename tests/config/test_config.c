/* Config: schema, parsing, overrides, quick overlay, errors with positions, emit round trip, hashes,
 * getter misuse. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gd_test.h"
#include "gendec/config.h"

/* Parses text with overrides; returns the config or NULL (the error in *err). */
static gd_config* parse(const char* text, const char* const* sets, size_t n_sets, gd_error* err) {
    gd_config* cfg = NULL;
    gd_error_clear(err);
    if (gd_config_parse(&cfg, text, strlen(text), "exp.yaml", sets, n_sets, err) != GD_OK) return NULL;
    return cfg;
}

/* Expects parsing to fail with GD_ECONFIG at file:line:col, the message containing `msg` and the hint
 * containing `hint` (either may be NULL). */
static void expect_error(const char* text, const char* const* sets, size_t n_sets, const char* file, int line,
                         int col, const char* msg, const char* hint, int src_line) {
    gd_error err;
    gd_config* cfg = parse(text, sets, n_sets, &err);
    char buf[2048];
    gd_error_format(&err, buf, sizeof buf);
    CHECK_MSG(cfg == NULL, "line %d: parse succeeded", src_line);
    gd_config_free(cfg);
    CHECK_MSG(err.code == GD_ECONFIG, "line %d: code %d: %s", src_line, err.code, buf);
    CHECK_MSG(!strcmp(err.file, file), "line %d: file '%s' != '%s'", src_line, err.file, file);
    CHECK_MSG(err.line == line && err.col == col, "line %d: at %d:%d, want %d:%d: %s", src_line, err.line, err.col,
              line, col, buf);
    if (msg) CHECK_MSG(strstr(err.msg, msg) != NULL, "line %d: message '%s' lacks '%s'", src_line, err.msg, msg);
    if (hint) CHECK_MSG(strstr(err.hint, hint) != NULL, "line %d: hint '%s' lacks '%s'", src_line, err.hint, hint);
}
#define EXPECT_ERROR(text, sets, n, file, line, col, msg, hint) \
    expect_error(text, sets, n, file, line, col, msg, hint, __LINE__)

static void test_schema(void) {
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    CHECK(n > 100);
    /* keys unique; each section's keys contiguous (the emitter relies on it) */
    for (size_t i = 0; i < n; i++) {
        CHECK_MSG(s[i].doc && s[i].doc[0], "%s has no doc", s[i].key);
        CHECK_MSG(gd_config_lookup(s[i].key) == &s[i], "%s is not unique", s[i].key);
        for (const char* p = s[i].key; *p; p++)
            if (*p == '.') {
                size_t m = (size_t)(p - s[i].key);
                /* once a later key leaves this section, no key after it may return to it */
                int left = 0;
                for (size_t j = i + 1; j < n; j++) {
                    int in = !strncmp(s[j].key, s[i].key, m) && s[j].key[m] == '.';
                    if (!in) left = 1;
                    else CHECK_MSG(!left, "section '%.*s' is split (key %s)", (int)m, s[i].key, s[j].key);
                    if (left && in) break;
                }
                /* a section name is never also a key */
                char sec[256];
                snprintf(sec, sizeof sec, "%.*s", (int)m, s[i].key);
                CHECK_MSG(gd_config_lookup(sec) == NULL, "'%s' is both a key and a section", sec);
            }
    }
    CHECK(gd_config_lookup("infer.beta") != NULL);
    CHECK(gd_config_lookup("infer") == NULL);
    CHECK(gd_config_lookup("nope") == NULL);
}

static void test_defaults(void) {
    gd_error err;
    gd_config* cfg = NULL;
    CHECK_OK(gd_config_defaults(&cfg, &err), &err);
    if (!cfg) return;
    /* the values of PAPER.md */
    CHECK_NEAR(gd_config_float(cfg, "infer.beta"), 5, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.b"), -2, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.c"), 0.005, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.l"), 0.2, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.yl"), 0.3, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.yu"), 0.6, 0);
    CHECK(gd_config_int(cfg, "infer.steps") == 50);
    CHECK_NEAR(gd_config_float(cfg, "infer.lr"), 0.01, 0);
    CHECK(gd_config_int(cfg, "train.batch") == 32);
    CHECK_NEAR(gd_config_float(cfg, "train.lr"), 0.001, 0);
    CHECK_NEAR(gd_config_float(cfg, "train.eps"), 1e-8, 0);
    CHECK(gd_config_int(cfg, "attack.neat.population") == 150);
    CHECK_NEAR(gd_config_float(cfg, "attack.neat.compat_threshold"), 3.0, 0);
    CHECK(gd_config_bool(cfg, "infer.binarize_input") == 0);
    CHECK(gd_config_bool(cfg, "slurm.requeue") == 1);
    CHECK(gd_config_is(cfg, "infer.rule", "enumerate"));
    CHECK(gd_config_is(cfg, "infer.scale", "mean"));
    CHECK(gd_config_is(cfg, "scale", "full"));
    CHECK(!strcmp(gd_config_string(cfg, "data.dir"), ""));
    CHECK(!strcmp(gd_config_string(cfg, "slurm.time"), "01:00:00"));
    /* an int key read as float */
    CHECK_NEAR(gd_config_float(cfg, "train.batch"), 32, 0);
    size_t n;
    const double* eps = gd_config_floats(cfg, "attack.fgm.eps", &n);
    CHECK(n == 5 && eps && eps[0] == 0 && eps[4] == 0.4);
    const int64_t* t = gd_config_ints(cfg, "attack.neat.targets", &n);
    CHECK(n == 10 && t && t[0] == 0 && t[9] == 9);
    const char* const* nov = gd_config_strings(cfg, "data.ts.novel", &n);
    CHECK(n == 1 && nov && !strcmp(nov[0], "no_left_turn"));
    const double* sw = gd_config_floats(cfg, "sweep.beta", &n);
    CHECK(n == 0 && sw != NULL); /* empty list: non-NULL, n = 0 */
    const char* file;
    int line, col;
    CHECK(gd_config_place(cfg, "infer.beta", &file, &line, &col) == 0 && !strcmp(file, "defaults") && line == 0);
    CHECK(gd_config_place(cfg, "infer.nope", &file, &line, &col) == -1);
    CHECK(gd_config_misuses(cfg, NULL) == 0);
    gd_config_free(cfg);
}

static void test_parse_and_override(void) {
    const char* text = "experiment:\n"
                       "  name: demo\n"
                       "seed: 7\n"
                       "data:\n"
                       "  set: traffic_signs\n"
                       "  ts: {size: 32, novel: [no_left_turn, no_right_turn]}\n"
                       "infer.beta: 7\n"
                       "infer:\n"
                       "  b: -6\n"
                       "  binarize_input: yes\n"
                       "attack.fgm.eps:\n"
                       "  - 0\n"
                       "  - 0.25\n"
                       "model.enc_widths: 128\n"
                       "slurm.time: \"02:00:00\"\n"
                       "report: {}\n";
    gd_error err;
    gd_config* cfg = parse(text, NULL, 0, &err);
    CHECK_OK(cfg ? GD_OK : err.code, &err);
    if (!cfg) return;
    CHECK(!strcmp(gd_config_string(cfg, "experiment.name"), "demo"));
    CHECK(gd_config_int(cfg, "seed") == 7);
    CHECK(gd_config_is(cfg, "data.set", "traffic_signs"));
    CHECK(gd_config_int(cfg, "data.ts.size") == 32);
    size_t n;
    const char* const* nov = gd_config_strings(cfg, "data.ts.novel", &n);
    CHECK(n == 2 && !strcmp(nov[1], "no_right_turn"));
    CHECK_NEAR(gd_config_float(cfg, "infer.beta"), 7, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.b"), -6, 0);
    CHECK(gd_config_bool(cfg, "infer.binarize_input") == 1);
    const double* eps = gd_config_floats(cfg, "attack.fgm.eps", &n);
    CHECK(n == 2 && eps[1] == 0.25);
    const int64_t* w = gd_config_ints(cfg, "model.enc_widths", &n);
    CHECK(n == 1 && w[0] == 128); /* a scalar for a list key is a list of one */
    CHECK(!strcmp(gd_config_string(cfg, "slurm.time"), "02:00:00"));
    const char* file;
    int line, col;
    gd_config_place(cfg, "infer.b", &file, &line, &col);
    CHECK(!strcmp(file, "exp.yaml") && line == 9 && col == 6);
    gd_error e2;
    CHECK(gd_config_error(cfg, "data.ts.size", &e2, "fix it", "too small: %d", 32) == GD_ECONFIG);
    CHECK(!strcmp(e2.file, "exp.yaml") && e2.line == 6 && e2.col == 14 && strstr(e2.msg, "too small: 32"));

    /* gd_config_set: later wins, lists, sections as flow mappings */
    CHECK_OK(gd_config_set(cfg, "infer.beta=3", &err), &err);
    CHECK_OK(gd_config_set(cfg, " infer.beta = 4 ", &err), &err);
    CHECK_NEAR(gd_config_float(cfg, "infer.beta"), 4, 0);
    CHECK_OK(gd_config_set(cfg, "attack.fgm.eps=[0,0.1,0.3]", &err), &err);
    eps = gd_config_floats(cfg, "attack.fgm.eps", &n);
    CHECK(n == 3 && eps[2] == 0.3);
    CHECK_OK(gd_config_set(cfg, "infer={c: 0.5, l: 0.25}", &err), &err);
    CHECK_NEAR(gd_config_float(cfg, "infer.c"), 0.5, 0);
    CHECK_NEAR(gd_config_float(cfg, "infer.l"), 0.25, 0);
    CHECK_OK(gd_config_set(cfg, "experiment.description=", &err), &err);
    CHECK(!strcmp(gd_config_string(cfg, "experiment.description"), ""));
    CHECK_OK(gd_config_set(cfg, "sweep.l=[]", &err), &err);
    gd_config_place(cfg, "infer.c", &file, &line, &col);
    CHECK(!strcmp(file, "--set 'infer={c: 0.5, l: 0.25}'") && line == 0);

    /* a failing set leaves the config unchanged */
    uint64_t h = gd_config_hash(cfg);
    CHECK(gd_config_set(cfg, "infer.yl=0.9", &err) == GD_ECONFIG);
    CHECK(!strcmp(err.file, "--set 'infer.yl=0.9'") && strstr(err.msg, "smaller than infer.yu"));
    CHECK(gd_config_set(cfg, "infer.beta=oops", &err) == GD_ECONFIG);
    CHECK(gd_config_hash(cfg) == h);
    CHECK_NEAR(gd_config_float(cfg, "infer.yl"), 0.3, 0);
    /* both of a pair moved by overrides in a good order */
    CHECK_OK(gd_config_set(cfg, "infer.yu=0.95", &err), &err);
    CHECK_OK(gd_config_set(cfg, "infer.yl=0.9", &err), &err);
    gd_config_free(cfg);

    /* overrides passed to parse apply after the file, in order */
    const char* sets[] = {"seed=9", "seed=11", "data.set=mnist"};
    cfg = parse(text, sets, 3, &err);
    CHECK(cfg && gd_config_int(cfg, "seed") == 11 && gd_config_is(cfg, "data.set", "mnist"));
    gd_config_free(cfg);

    /* the experiment name defaults to the file name */
    cfg = NULL;
    CHECK_OK(gd_config_parse(&cfg, "seed: 2\n", 8, "some/dir/my_exp.yaml", NULL, 0, &err), &err);
    CHECK(cfg && !strcmp(gd_config_string(cfg, "experiment.name"), "my_exp"));
    gd_config_free(cfg);
    /* an empty file is all defaults */
    cfg = NULL;
    CHECK_OK(gd_config_parse(&cfg, "", 0, "empty.yaml", NULL, 0, &err), &err);
    CHECK(cfg && gd_config_int(cfg, "seed") == 1);
    gd_config_free(cfg);
}

static void test_errors(void) {
    /* unknown keys, with suggestions */
    EXPECT_ERROR("seed: 1\ninfer:\n  beat: 5\n", NULL, 0, "exp.yaml", 3, 3, "unknown key 'infer.beat'",
                 "did you mean 'infer.beta'?");
    EXPECT_ERROR("infr:\n  beta: 5\n", NULL, 0, "exp.yaml", 1, 1, "unknown key 'infr'", "'infer'");
    EXPECT_ERROR("data.ts.sise: 3\n", NULL, 0, "exp.yaml", 1, 1, "unknown key 'data.ts.sise'", "'data.ts.size'");
    EXPECT_ERROR("beta: 3\n", NULL, 0, "exp.yaml", 1, 1, "unknown key 'beta'", "'infer.beta'");
    /* wrong types */
    EXPECT_ERROR("train:\n  batch: 3.5\n", NULL, 0, "exp.yaml", 2, 10, "'3.5' is not an integer", "an integer in [1,");
    EXPECT_ERROR("infer:\n  beta: \"5\"\n", NULL, 0, "exp.yaml", 2, 9, "quoted string", "without quotes");
    EXPECT_ERROR("infer.beta: five\n", NULL, 0, "exp.yaml", 1, 13, "'five' is not a number", NULL);
    EXPECT_ERROR("data.binarize: maybe\n", NULL, 0, "exp.yaml", 1, 16, "not a boolean", "true or false");
    EXPECT_ERROR("model.arch: cnv\n", NULL, 0, "exp.yaml", 1, 13, "'cnv' is not allowed", "did you mean 'conv'?");
    EXPECT_ERROR("model.arch: [mlp]\n", NULL, 0, "exp.yaml", 1, 13, "got a list", "one of: mlp, conv");
    EXPECT_ERROR("infer.beta:\n", NULL, 0, "exp.yaml", 1, 12, "got nothing", NULL);
    EXPECT_ERROR("infer: 5\n", NULL, 0, "exp.yaml", 1, 8, "'infer' is a section", NULL);
    EXPECT_ERROR("attack.fgm.eps: {a: 1}\n", NULL, 0, "exp.yaml", 1, 17, "expected a list", NULL);
    EXPECT_ERROR("attack.fgm.eps: [0, [1]]\n", NULL, 0, "exp.yaml", 1, 21, "item 2 is a list", NULL);
    EXPECT_ERROR("data.ts.novel: [no_left_turn, stop]\n", NULL, 0, "exp.yaml", 1, 31, "'stop' is not allowed",
                 "no_right_turn");
    EXPECT_ERROR("data.ts.novel: []\n", NULL, 0, "exp.yaml", 1, 16, "at least 1 item", NULL);
    EXPECT_ERROR("- 1\n", NULL, 0, "exp.yaml", 1, 1, "top level must be a mapping", NULL);
    EXPECT_ERROR("? [a]\n: 1\n", NULL, 0, "exp.yaml", 1, 3, "a key must be a name", NULL);
    /* out of range */
    EXPECT_ERROR("attack:\n  fgm:\n    eps: [0, 0.1, 1.5]\n", NULL, 0, "exp.yaml", 3, 19, "1.5 is out of range",
                 "allowed: [0, 1]");
    EXPECT_ERROR("infer.y0: -0.5\n", NULL, 0, "exp.yaml", 1, 11, "out of range", "[0, 1]");
    EXPECT_ERROR("model.n_components: 0\n", NULL, 0, "exp.yaml", 1, 21, "out of range", "[1, 64]");
    EXPECT_ERROR("seed: -1\n", NULL, 0, "exp.yaml", 1, 7, "out of range", NULL);
    EXPECT_ERROR("seed: 99999999999999999999\n", NULL, 0, "exp.yaml", 1, 7, "not an integer", NULL);
    EXPECT_ERROR("infer.beta: .inf\n", NULL, 0, "exp.yaml", 1, 13, "not a number", NULL);
    EXPECT_ERROR("infer.beta: 1e999\n", NULL, 0, "exp.yaml", 1, 13, "not a number", NULL);
    /* duplicates: the same key twice in one mapping, and the same leaf nested and dotted */
    EXPECT_ERROR("infer:\n  beta: 5\n  beta: 6\n", NULL, 0, "exp.yaml", 3, 3, "duplicate key 'infer.beta'",
                 "first at line 2");
    EXPECT_ERROR("infer: {beta: 5}\nseed: 2\ninfer.beta: 6\n", NULL, 0, "exp.yaml", 3, 1,
                 "duplicate key 'infer.beta'", "first set at line 1");
    EXPECT_ERROR("infer:\n  beta: 5\ninfer:\n  b: 1\n", NULL, 0, "exp.yaml", 3, 1, "duplicate key 'infer'",
                 "first at line 1");
    /* pairs */
    EXPECT_ERROR("infer:\n  yl: 0.7\n", NULL, 0, "exp.yaml", 2, 7, "infer.yl = 0.7 must be smaller than infer.yu = 0.6",
                 "lower infer.yl or raise infer.yu");
    EXPECT_ERROR("infer:\n  yl: 0.6\n  yu: 0.6\n", NULL, 0, "exp.yaml", 3, 7, "smaller than", NULL);
    EXPECT_ERROR("data.ts: {scale_min: 1.2}\n", NULL, 0, "exp.yaml", 1, 22, "data.ts.scale_min = 1.2 must be at most",
                 NULL);
    EXPECT_ERROR("attack.neat:\n  weight_max: -40\n", NULL, 0, "exp.yaml", 2, 15,
                 "attack.neat.weight_min = -30 must be smaller than attack.neat.weight_max = -40", NULL);
    const char* yu_set[] = {"infer.yu=0.2"};
    EXPECT_ERROR("seed: 1\n", yu_set, 1, "--set 'infer.yu=0.2'", 0, 0, "must be smaller than", NULL);
    /* syntax */
    EXPECT_ERROR("infer:\n  beta: [5\n", NULL, 0, "exp.yaml", 3, 1, "YAML syntax error", "line 2, column 9");
    EXPECT_ERROR("a: b: c\n", NULL, 0, "exp.yaml", 1, 5, "YAML syntax error", NULL);
    EXPECT_ERROR("seed: 1\n---\nseed: 2\n", NULL, 0, "exp.yaml", 3, 1, "second YAML document", NULL);
    /* overrides: the place is the override itself */
    const char* s1[] = {"infer.beat=3"};
    EXPECT_ERROR("seed: 1\n", s1, 1, "--set 'infer.beat=3'", 0, 0, "unknown key 'infer.beat'", "'infer.beta'");
    const char* s2[] = {"seed"};
    EXPECT_ERROR("seed: 1\n", s2, 1, "--set 'seed'", 0, 0, "needs '='", NULL);
    const char* s3[] = {"=3"};
    EXPECT_ERROR("seed: 1\n", s3, 1, "--set '=3'", 0, 0, "needs a key", NULL);
    const char* s4[] = {"attack.fgm.eps=[0,2]"};
    EXPECT_ERROR("seed: 1\n", s4, 1, "--set 'attack.fgm.eps=[0,2]'", 0, 0, "2 is out of range", NULL);
    const char* s5[] = {"attack.fgm.eps=[0,"};
    EXPECT_ERROR("seed: 1\n", s5, 1, "--set 'attack.fgm.eps=[0,'", 0, 0, "YAML syntax error", NULL);
    const char* s6[] = {"seed=1", "model.kl=sum"};
    EXPECT_ERROR("seed: 1\n", s6, 2, "--set 'model.kl=sum'", 0, 0, "'sum' is not allowed", "gated, mean");
    /* quick: */
    EXPECT_ERROR("quick:\n  scale: full\n", NULL, 0, "exp.yaml", 2, 3, "'scale' cannot be set inside quick:", NULL);
    EXPECT_ERROR("quick:\n  train: {epoch: 1}\n", NULL, 0, "exp.yaml", 2, 11, "unknown key 'train.epoch'",
                 "'train.epochs'"); /* checked even when scale = full */
    EXPECT_ERROR("quick: 3\n", NULL, 0, "exp.yaml", 1, 8, "quick: must be a mapping", NULL);
    EXPECT_ERROR("quick:\n  quick: {}\n", NULL, 0, "exp.yaml", 2, 3, "unknown key 'quick", NULL);
    EXPECT_ERROR("scale: quick\nquick:\n  infer.yl: 0.9\n", NULL, 0, "exp.yaml", 3, 13, "must be smaller", NULL);
    EXPECT_ERROR("scale: quick\nquick:\n  seed: 1\n  seed: 2\n", NULL, 0, "exp.yaml", 4, 3, "duplicate key", NULL);

    /* a missing file */
    gd_config* cfg = NULL;
    gd_error err;
    CHECK(gd_config_load(&cfg, "/nonexistent/x.yaml", NULL, 0, &err) == GD_EIO && cfg == NULL);
    CHECK(!strcmp(err.file, "/nonexistent/x.yaml"));
}

static void test_quick(void) {
    const char* text = "train: {epochs: 100, batch: 64}\n"
                       "data.n_test: 0\n"
                       "quick:\n"
                       "  train:\n"
                       "    epochs: 1\n"
                       "  data.n_test: 50\n"
                       "  attack.fgm.eps: [0, 0.3]\n";
    gd_error err;
    gd_config* full = parse(text, NULL, 0, &err);
    CHECK(full && gd_config_int(full, "train.epochs") == 100 && gd_config_int(full, "data.n_test") == 0);
    const char* sq[] = {"scale=quick"};
    gd_config* quick = parse(text, sq, 1, &err);
    CHECK(quick && gd_config_int(quick, "train.epochs") == 1 && gd_config_int(quick, "data.n_test") == 50);
    CHECK(quick && gd_config_int(quick, "train.batch") == 64); /* untouched by quick: */
    size_t n = 0;
    if (quick) gd_config_floats(quick, "attack.fgm.eps", &n);
    CHECK(n == 2);
    /* in the file */
    char with_scale[512];
    snprintf(with_scale, sizeof with_scale, "scale: quick\n%s", text);
    gd_config* q2 = parse(with_scale, NULL, 0, &err);
    CHECK(q2 && gd_config_int(q2, "train.epochs") == 1);
    /* --set wins over quick:, and --set scale=full switches it off */
    const char* sq2[] = {"train.epochs=3", "scale=quick"};
    gd_config* q3 = parse(text, sq2, 2, &err);
    CHECK(q3 && gd_config_int(q3, "train.epochs") == 3 && gd_config_int(q3, "data.n_test") == 50);
    const char* sf[] = {"scale=full"};
    gd_config* f2 = parse(with_scale, sf, 1, &err);
    CHECK(f2 && gd_config_int(f2, "train.epochs") == 100);
    /* the resolved quick config re-parses to the same values (quick: already applied, not emitted) */
    if (quick) {
        char* y = gd_config_emit(quick);
        CHECK(y && !strstr(y, "quick:") && strstr(y, "scale: quick"));
        gd_config* back = y ? parse(y, NULL, 0, &err) : NULL;
        CHECK(back && gd_config_hash(back) == gd_config_hash(quick));
        gd_config_free(back);
        free(y);
    }
    gd_config_free(full);
    gd_config_free(quick);
    gd_config_free(q2);
    gd_config_free(q3);
    gd_config_free(f2);
}

/* FNV-1a 64 written out here, to pin the documented hash. */
static uint64_t ref_fnv(const char* s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void test_emit_and_hash(void) {
    const char* text = "experiment: {name: \"we\\\"ird: name # x\\n\", description: 'tab\there'}\n"
                       "seed: 123456789012\n"
                       "train: {lr: 0.0003, eps: 1.0e-10}\n"
                       "infer: {b: -6, c: 0.0015, beta: 7}\n"
                       "attack.fgm.eps: [0, 0.1, 0.30000000000000004, 1]\n"
                       "slurm.extra_args: ['--qos=short', \"a b\", '#c', 'x: y', '']\n"
                       "slurm.time: 1-00:00:00\n"
                       "data.ts.novel: [no_left_turn, left_turn]\n";
    gd_error err;
    gd_config* cfg = parse(text, NULL, 0, &err);
    CHECK_OK(cfg ? GD_OK : err.code, &err);
    if (!cfg) return;
    char* y = gd_config_emit(cfg);
    CHECK(y != NULL);
    if (!y) return;
    CHECK(strstr(y, "\ninfer:\n  steps: 50\n") != NULL);
    CHECK(strstr(y, "  fgm:\n    eps: [0.0, 0.1, 0.30000000000000004, 1.0]\n") != NULL);
    CHECK(strstr(y, "\n  eps: 1.0e-10\n") != NULL);
    CHECK(strstr(y, "  b: -6.0\n") != NULL);
    CHECK(strstr(y, "seed: 123456789012\n") != NULL);
    /* every key appears */
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    size_t lines = 0;
    for (const char* p = y; *p; p++) lines += *p == '\n';
    CHECK(lines > n);
    /* round trip: same values, same hash, same text */
    gd_config* back = parse(y, NULL, 0, &err);
    CHECK_OK(back ? GD_OK : err.code, &err);
    if (back) {
        CHECK(gd_config_hash(back) == gd_config_hash(cfg));
        char* y2 = gd_config_emit(back);
        CHECK(y2 && !strcmp(y, y2));
        free(y2);
        CHECK(!strcmp(gd_config_string(back, "experiment.name"), "we\"ird: name # x\n"));
        CHECK(!strcmp(gd_config_string(back, "experiment.description"), "tab\there"));
        size_t k;
        const char* const* ea = gd_config_strings(back, "slurm.extra_args", &k);
        CHECK(k == 5 && !strcmp(ea[1], "a b") && !strcmp(ea[3], "x: y") && !strcmp(ea[4], ""));
        const double* e = gd_config_floats(back, "attack.fgm.eps", &k);
        CHECK(k == 4 && e[2] == 0.30000000000000004);
        CHECK(gd_config_float(back, "train.eps") == 1e-10);
        CHECK(gd_config_int(back, "seed") == 123456789012LL);
    }
    gd_config_free(back);

    /* stability: the documented hash of "key: value" lines */
    CHECK(gd_config_hash_sections(cfg, "seed") == ref_fnv("seed: 123456789012\n"));
    CHECK(gd_config_hash_sections(cfg, "infer.beta") == ref_fnv("infer.beta: 7.0\n"));
    CHECK(gd_config_hash_sections(cfg, "seed, infer.beta") == ref_fnv("seed: 123456789012\ninfer.beta: 7.0\n"));
    char hex[17];
    gd_config_hash_hex(0x0123456789abcdefULL, hex);
    CHECK(!strcmp(hex, "0123456789abcdef"));
    /* independent of key order, nesting and how a value was written */
    gd_config* a = parse("infer: {beta: 7, b: -6}\nseed: 3\n", NULL, 0, &err);
    gd_config* b = parse("seed: 3\ninfer.b: -6.0\ninfer.beta: 7.00\n", NULL, 0, &err);
    CHECK(a && b && gd_config_hash(a) == gd_config_hash(b));
    /* the place a value came from is not hashed */
    const char* set_b[] = {"infer.b=-6"};
    gd_config* c = parse("seed: 3\ninfer.beta: 7\n", set_b, 1, &err);
    CHECK(a && c && gd_config_hash(a) == gd_config_hash(c));
    gd_config* cl = a ? gd_config_clone(a) : NULL;
    CHECK(cl && gd_config_hash(cl) == gd_config_hash(a));

    /* sensitivity: changing one value of each key changes the full hash and exactly the sections holding it */
    gd_config* base = NULL;
    CHECK_OK(gd_config_defaults(&base, &err), &err);
    uint64_t h0 = base ? gd_config_hash(base) : 0;
    uint64_t hd0 = base ? gd_config_hash_sections(base, "seed,data") : 0;
    uint64_t hm0 = base ? gd_config_hash_sections(base, "seed,data,model,train") : 0;
    const char* changes[] = {"data.n_test=10", "data.ts.novel=[left_turn]", "seed=2", "model.k=5",
                             "train.lr=0.0001", "infer.beta=6", "slurm.partition=gpu", "data.binarize=true",
                             "attack.fgm.eps=[0.1]", "experiment.name=other"};
    for (size_t i = 0; base && i < sizeof changes / sizeof changes[0]; i++) {
        gd_config* m = gd_config_clone(base);
        CHECK_OK(gd_config_set(m, changes[i], &err), &err);
        const char* key = changes[i];
        int is_data = !strncmp(key, "data.", 5) || !strncmp(key, "seed=", 5);
        int is_model = is_data || !strncmp(key, "model.", 6) || !strncmp(key, "train.", 6);
        CHECK_MSG(gd_config_hash(m) != h0, "%s: full hash unchanged", key);
        CHECK_MSG((gd_config_hash_sections(m, "seed,data") != hd0) == is_data, "%s: data hash", key);
        CHECK_MSG((gd_config_hash_sections(m, "seed,data,model,train") != hm0) == is_model, "%s: model hash", key);
        gd_config_free(m);
    }
    /* every key: a changed value changes the hash (uses the emitted default and a different value) */
    for (size_t i = 0; base && i < n; i++) {
        char set[512];
        switch (s[i].type) {
        case GD_CFG_BOOL: snprintf(set, sizeof set, "%s=%s", s[i].key, gd_config_bool(base, s[i].key) ? "false" : "true"); break;
        case GD_CFG_INT: snprintf(set, sizeof set, "%s=%lld", s[i].key, (long long)(gd_config_int(base, s[i].key) == (int64_t)s[i].min ? s[i].min + 1 : s[i].min)); break;
        case GD_CFG_FLOAT: snprintf(set, sizeof set, "%s=%.17g", s[i].key, gd_config_float(base, s[i].key) == s[i].max ? s[i].min : s[i].max); break;
        case GD_CFG_STRING: snprintf(set, sizeof set, "%s=changed", s[i].key); break;
        case GD_CFG_ENUM: {
            const char* cur = gd_config_string(base, s[i].key);
            const char* ch = s[i].choices;
            size_t m0 = strcspn(ch, "|");
            if (!strncmp(ch, cur, m0) && strlen(cur) == m0) ch += m0 + 1;
            snprintf(set, sizeof set, "%s=%.*s", s[i].key, (int)strcspn(ch, "|"), ch);
            break;
        }
        case GD_CFG_FLOATS: snprintf(set, sizeof set, "%s=[%.17g, %.17g]", s[i].key, s[i].min, s[i].max); break;
        case GD_CFG_INTS: snprintf(set, sizeof set, "%s=[%.0f, %.0f, %.0f]", s[i].key, s[i].min, s[i].min, s[i].max); break;
        case GD_CFG_STRINGS: snprintf(set, sizeof set, "%s=[%.*s, %.*s]", s[i].key, s[i].choices ? (int)strcspn(s[i].choices, "|") : 1,
                                      s[i].choices ? s[i].choices : "x", s[i].choices ? (int)strcspn(s[i].choices, "|") : 1,
                                      s[i].choices ? s[i].choices : "x"); break;
        }
        gd_config* m = gd_config_clone(base);
        gd_status st = gd_config_set(m, set, &err);
        if (st == GD_OK) CHECK_MSG(gd_config_hash(m) != h0, "%s: hash unchanged", set);
        else CHECK_MSG(strstr(err.msg, "must be") != NULL, "%s: %s", set, err.msg); /* only pair rules may refuse */
        gd_config_free(m);
    }
    gd_config_free(base);
    gd_config_free(a);
    gd_config_free(b);
    gd_config_free(c);
    gd_config_free(cl);
    gd_config_free(cfg);
    free(y);
}

static void test_misuse(void) {
    gd_error err;
    gd_config* cfg = NULL;
    CHECK_OK(gd_config_defaults(&cfg, &err), &err);
    if (!cfg) return;
    gd_config_set_strict(cfg, 0);
    const char* last = NULL;
    CHECK(isnan(gd_config_float(cfg, "infer.beat")));
    CHECK(gd_config_misuses(cfg, &last) == 1 && last && !strcmp(last, "infer.beat"));
    CHECK(gd_config_int(cfg, "infer.beta") == INT64_MIN); /* a float key read as int */
    CHECK(gd_config_bool(cfg, "seed") == -1);
    CHECK(gd_config_string(cfg, "seed") == NULL);
    CHECK(gd_config_is(cfg, "nope", "x") == 0);
    size_t n = 7;
    CHECK(gd_config_floats(cfg, "attack.fgm.norm", &n) == NULL && n == 0);
    CHECK(gd_config_ints(cfg, "attack.fgm.eps", &n) == NULL && n == 0);
    CHECK(gd_config_strings(cfg, "infer", &n) == NULL);
    CHECK(gd_config_hash_sections(cfg, "dta") == 0);
    CHECK(gd_config_hash_sections(cfg, "") == 0);
    CHECK(gd_config_misuses(cfg, &last) == 10 && !strcmp(last, ""));
    /* the stage section lists name existing sections */
    const char* stages[] = {GD_CONFIG_SECTIONS_DATA, GD_CONFIG_SECTIONS_MODEL, GD_CONFIG_SECTIONS_CNN,
                            GD_CONFIG_SECTIONS_EVAL, GD_CONFIG_SECTIONS_SWEEP, GD_CONFIG_SECTIONS_FGM,
                            GD_CONFIG_SECTIONS_NEAT};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) gd_config_hash_sections(cfg, stages[i]);
    CHECK(gd_config_misuses(cfg, NULL) == 10);
    /* a clone keeps the mode; a fresh config is strict: a misuse aborts */
    gd_config* strict = NULL;
    CHECK_OK(gd_config_defaults(&strict, &err), &err);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        gd_config_float(strict, "infer.beat");
        _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d", status);
    gd_config_free(strict);
    gd_config_free(cfg);
}

static void test_doc(void) {
    char* md = gd_config_doc_markdown();
    CHECK(md != NULL);
    if (!md) return;
    size_t n;
    const gd_config_key* s = gd_config_schema(&n);
    for (size_t i = 0; i < n; i++) {
        char cell[300];
        snprintf(cell, sizeof cell, "| `%s` |", s[i].key);
        CHECK_MSG(strstr(md, cell) != NULL, "%s missing from the doc", s[i].key);
    }
    CHECK(strstr(md, "| `infer.rule` | enum | `enumerate` | enumerate, top3 |") != NULL);
    free(md);
}

int main(void) {
    test_schema();
    test_defaults();
    test_parse_and_override();
    test_errors();
    test_quick();
    test_emit_and_hash();
    test_misuse();
    test_doc();
    return gd_test_done("test_config");
}
