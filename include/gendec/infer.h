/* infer: classification by optimisation (paper §3.2, ../shared/docs/PAPER.md §2).
 *
 * Given an image x, solve  min_{z, y ∈ [0,1]^n}  F = D(Sig(x_f(z, y)), Sig(x)) + c·‖y‖₁,  Sig(v) = sigmoid(β·v + b),
 * with D the squared L2 (paper) or L1 (authors' code) distance, as a per-pixel mean (default) or a sum. Then
 * decide: F > l → noise; y_i < yl → 0, y_i > yu → 1, the rest ambiguous → every binary completion is a
 * candidate, z is refined for each by minimising Eq. 2 (plain reconstruction ‖x_f − x‖², same scale), and the
 * candidate with the lowest Eq. 2 loss is the answer y†.
 *
 * infer sees the model only through gd_generator: a table of functions over flat batches, implemented by the
 * model module's adapter (or by a hand-made generator in the tests).
 */
#ifndef GENDEC_INFER_H
#define GENDEC_INFER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* ---- the generator interface ----------------------------------------------------------------------------
 * x_f(z, y) = G(z, y) with n components of k latent numbers each (p = n·k), images of npix pixels. In the
 * paper G = Σ_i y_i·Dec_i(z_i); the authors' code uses sigmoid(Σ_i y_i·logit_i(z_i)); infer does not care.
 *
 * Contract:
 * - Every function works on B ≤ max_batch rows, each row independent of the others (the result of a row must
 *   not depend on B or on the other rows' values beyond what BLAS blocking does - the same call shapes give
 *   the same bits).
 * - decode keeps what decode_backward needs in ctx's workspace; decode_backward is called at most once after
 *   a decode, with the same B, and OVERWRITES dz and dy (these are gradients wrt the decode inputs, not
 *   parameter gradients; the generator's parameter gradients must be left untouched).
 * - want_dy = 0 promises that decode_backward will be called with dy == NULL (or not at all): the generator
 *   may then skip sub-network i on rows where y[b, i] == 0 exactly, since it contributes nothing to x_f or to
 *   dz ("refinement only needs the decoders that a candidate switches on"). With want_dy = 1 every
 *   sub-network must run, because dF/dy_i needs Dec_i(z_i) even when y_i = 0.
 * - encode_mean gives the encoder's posterior mean (the solver's z₀); it may be NULL, then z₀ = 0.
 * - All functions return GD_OK or fill err; they never print. */
typedef struct gd_generator {
    void* ctx;
    int n;         /* components */
    int k;         /* latent numbers per component; z of a row is (n*k), component i at [i*k, (i+1)*k) */
    int npix;      /* pixels per image (H*W*channels) */
    int max_batch; /* the largest B accepted by every function */
    gd_status (*decode)(void* ctx,
                        const float* z, /* (B, n*k) */
                        const float* y, /* (B, n) */
                        float* xf,      /* (B, npix) out */
                        int B, int want_dy, gd_error* err);
    gd_status (*decode_backward)(void* ctx,
                                 const float* dxf, /* (B, npix) dF/dx_f */
                                 float* dz,        /* (B, n*k) out, overwritten */
                                 float* dy,        /* (B, n) out, overwritten; NULL when want_dy was 0 */
                                 int B, gd_error* err);
    gd_status (*encode_mean)(void* ctx,
                             const float* x, /* (B, npix) */
                             float* z,       /* (B, n*k) out */
                             int B, gd_error* err);
} gd_generator;


/* ---- options ------------------------------------------------------------------------------------------ */

#define GD_INFER_MAX_COMPONENTS 32 /* n limit (candidates are bit masks) */
#define GD_INFER_MAX_AMBIGUOUS 16  /* upper limit of max_ambiguous: 2^16 candidates per image */

typedef enum { GD_INFER_NORM_L2 = 0, GD_INFER_NORM_L1 } gd_infer_norm;    /* paper | authors' code */
typedef enum { GD_INFER_SCALE_MEAN = 0, GD_INFER_SCALE_SUM } gd_infer_scale; /* per-pixel mean | sum */
typedef enum { GD_INFER_RULE_ENUMERATE = 0, GD_INFER_RULE_TOP3 } gd_infer_rule; /* paper | authors' code */

typedef struct {
    int steps;           /* Adam steps of the Eq. 3 solve (50) */
    float lr;            /* Adam learning rate, Eq. 3 and refinement (0.01) */
    float y0;            /* initial y, every component (0.5) */
    int restarts;        /* extra starts of z ~ N(0, I) beside z0 = encoder mean (0) */
    float beta, b;       /* Sig(v) = sigmoid(beta*v + b) (5, -2) */
    float c;             /* weight of ||y||_1 (0.005) */
    float l;             /* noise threshold on the best Eq. 3 value (0.2); +inf disables rejection */
    float yl, yu;        /* y_i < yl -> 0, y_i > yu -> 1, else ambiguous (0.3, 0.6); 0 <= yl < yu <= 1 */
    gd_infer_norm norm;  /* distance in Eq. 3 (l2) */
    gd_infer_scale scale; /* image terms of Eq. 2 and Eq. 3 (mean) */
    gd_infer_rule rule;  /* decision rule (enumerate) */
    int max_ambiguous;   /* enumerate: at most this many ambiguous components are enumerated (10); past it the
                            ones with the largest y* are kept and the others set to 0 */
    int refine_steps;    /* Adam steps of each z-only refinement (50) */
    int binarize_input;  /* threshold x at 0.5 before classifying (0) */
    int batch;           /* images per chunk: one chunk's starts go through the generator together (32) */
    int trace;           /* record y at every Eq. 3 step (0) */
    uint64_t seed;       /* experiment seed for the restart streams (1) */
} gd_infer_opts;

/* The defaults above (the authors' MNIST values, the paper's rule, per-pixel means). */
void gd_infer_opts_default(gd_infer_opts* o);

/* Checks every option (ranges, yl < yu inside [0, 1], ...); GD_EINVAL naming the option otherwise. */
gd_status gd_infer_opts_check(const gd_infer_opts* o, gd_error* err);

struct gd_config; /* config.h */
/* Fills o from the infer.* keys (and seed) of a resolved experiment config and checks it; a value gendec cannot
 * use is a GD_ECONFIG at its place in the config. */
gd_status gd_infer_opts_from_config(const struct gd_config* cfg, gd_infer_opts* o, gd_error* err);

/* "l2"/"l1", "mean"/"sum", "enumerate"/"top3" -> enum; GD_EINVAL listing the choices otherwise. */
gd_status gd_infer_norm_parse(const char* s, gd_infer_norm* out, gd_error* err);
gd_status gd_infer_scale_parse(const char* s, gd_infer_scale* out, gd_error* err);
gd_status gd_infer_rule_parse(const char* s, gd_infer_rule* out, gd_error* err);
const char* gd_infer_norm_name(gd_infer_norm v);
const char* gd_infer_scale_name(gd_infer_scale v);
const char* gd_infer_rule_name(gd_infer_rule v);

/* ---- per-image results --------------------------------------------------------------------------------- */

/* Results of N images (flat arrays, row i = image i of the evaluated range). trace_len = steps + 1 when the
 * trace is recorded, else 0 (trace NULL). */
typedef struct {
    int64_t N;
    int n, p, trace_len;
    float* ystar;          /* (N, n) relaxed y at the best Eq. 3 iterate (best start) */
    float* zstar;          /* (N, p) z at that iterate */
    uint8_t* ydec;         /* (N, n) the decision y†; all 0 when rejected */
    float* loss3;          /* (N) best Eq. 3 value F */
    float* loss2;          /* (N) Eq. 2 value of the answer at its refined z†(y†); NaN when rejected */
    int32_t* steps;        /* (N) Adam steps spent on the image: Eq. 3 (all starts) + refinements */
    uint8_t* noise;        /* (N) 1 = rejected as noise */
    int32_t* n_ambiguous;  /* (N) ambiguous components before the cap (0 for top3 or noise) */
    int32_t* n_candidates; /* (N) candidates compared (0 when rejected) */
    float* time;           /* (N) seconds: wall time of the image's chunk divided by its image count */
    float* trace;          /* (N, trace_len, n) y per Eq. 3 step of the best start, or NULL */
} gd_infer_results;

/* Allocates zeroed results; trace_len 0 = no trace. */
gd_status gd_infer_results_alloc(gd_infer_results* r, int64_t N, int n, int p, int trace_len, gd_error* err);
void gd_infer_results_free(gd_infer_results* r);

/* ---- the solver -------------------------------------------------------------------------------------- */

typedef struct gd_infer gd_infer; /* generator + options + workspaces (opaque) */

/* Checks the options and the generator (n ≤ GD_INFER_MAX_COMPONENTS, k, npix, max_batch ≥ 1, decode and
 * decode_backward set) and sizes every workspace once. The generator must outlive the solver. */
gd_status gd_infer_create(gd_infer** out, const gd_generator* gen, const gd_infer_opts* o, gd_error* err);
void gd_infer_free(gd_infer* s);
const gd_infer_opts* gd_infer_options(const gd_infer* s);
/* The generator's shape: components, latent numbers in all (n·k), pixels. */
int gd_infer_n(const gd_infer* s);
int gd_infer_p(const gd_infer* s);
int gd_infer_npix(const gd_infer* s);

/* Replaces the options (same generator); re-sizes workspaces when batch, restarts, steps or trace grew. */
gd_status gd_infer_set_options(gd_infer* s, const gd_infer_opts* o, gd_error* err);

/* Checks that a dataset fits the generator: GD_EINVAL naming `what` (the data file) when its component count
 * or pixel count differs. */
gd_status gd_infer_check_data(const gd_infer* s, int n_components, int npix, const char* what, gd_error* err);

/* Eq. 3 for B ≤ batch images x (B, npix) whose random streams are gd_rng_init(&r, seed, GD_STREAM_INFER,
 * index0 + b): every start of every image optimised together, y projected onto [0, 1] after each Adam step.
 * Fills rows [row, row + B) of ystar, zstar, loss3, trace (when recorded) and sets steps. */
gd_status gd_infer_solve(gd_infer* s, const float* x, uint64_t index0, int B, gd_infer_results* r, int64_t row,
                         gd_error* err);

/* The decision for rows [row, row + B) of r, whose ystar, zstar, loss3 come from gd_infer_solve on the same
 * images x (B, npix): noise test, candidates, refinement of all candidates of all images together, answer.
 * Fills ydec, loss2, noise, n_ambiguous, n_candidates and adds the refinement steps to steps. Uses the rule
 * and thresholds of the solver's current options, so it can be re-run with other (l, yl, yu, rule). */
gd_status gd_infer_decide(gd_infer* s, const float* x, int B, gd_infer_results* r, int64_t row, gd_error* err);

/* solve + decide on one chunk, and the time per image. */
gd_status gd_infer_classify(gd_infer* s, const float* x, uint64_t index0, int B, gd_infer_results* r, int64_t row,
                            gd_error* err);

/* The candidate y vectors (bit i = component i) of one image with relaxed y (n): for rule enumerate every
 * completion of the ambiguous components (at most 2^max_ambiguous, see gd_infer_opts), in the order of the
 * binary counter over the kept ambiguous components in index order; for top3 the one-hot vectors of the 3
 * largest y_i (ties: lower index first). Writes at most gd_infer_max_candidates() masks, returns their count;
 * *n_ambiguous (may be NULL) gets the ambiguous count before the cap. Does not apply the noise test. */
int gd_infer_candidates(const gd_infer_opts* o, const float* y, int n, uint64_t* masks, int* n_ambiguous);
int gd_infer_max_candidates(const gd_infer_opts* o, int n);

/* Refines z for M candidate rows: row m belongs to image img[m] of x (B, npix), starts from zstart
 * (B, p)[img[m]] and keeps y = mask[m] fixed; minimises Eq. 2 (mean or sum of (x_f − x)², the options' scale)
 * for refine_steps Adam steps, all rows in generator batches of up to max_batch. loss (M) gets the best
 * Eq. 2 value, zout (M, p) (may be NULL) its z. Only the decoders a candidate switches on are needed. */
gd_status gd_infer_refine(gd_infer* s, const float* x, const float* zstart, int B, int M, const int32_t* img,
                          const uint64_t* mask, float* loss, float* zout, gd_error* err);

/* Eq. 3 value F and its gradient wrt z and y at given points, one row per image x (B, npix) (B ≤ batch, and
 * B ≤ max_batch): for tests and diagnostics. dz (B, p) and dy (B, n) may be NULL. The gradient of c·|y_i|
 * is c·sign(y_i) with sign(0) = +1 (the feasible side). */
gd_status gd_infer_eq3_eval(gd_infer* s, const float* x, const float* z, const float* y, int B, float* F,
                            float* dz, float* dy, gd_error* err);

/* ---- evaluation over MPI ------------------------------------------------------------------------------ */

typedef struct {
    int dynamic; /* 0: MPI_Scatterv of equal blocks of chunks; 1: chunks handed out on request (rank 0 computes
                    too), for uneven costs per image */
    /* rank 0, optional: images done so far of total */
    void (*progress)(void* ctx, int64_t done, int64_t total);
    void* progress_ctx;
    /* gd_infer_eval only: also decide every image with the other rule (alt_rule = 1: the one not in infer.rule,
     * e.g. the authors' top3 beside the paper's enumeration) from the same Eq. 3 solution, into rank 0's `alt`
     * (N rows): ydec, loss2, noise, n_ambiguous, n_candidates, steps (Eq. 3 + the alternative's refinements). */
    int alt_rule;
    gd_infer_results* alt;
} gd_infer_eval_opts;

/* Classifies N images over comm (collective). Rank 0 holds x (N, npix) and N (other ranks may pass NULL and
 * any N); image i uses the random stream index index0 + i. Chunk c is images [c·batch, min(N, (c+1)·batch))
 * whoever computes it, so the results do not depend on the number of ranks or the mode. Rank 0's `out` must
 * have N rows (and the trace when infer.trace is on); other ranks' `out` is not touched (may be NULL). Every
 * rank's solver must have the same options (checked). */
gd_status gd_infer_eval(gd_infer* s, const float* x, int64_t N, uint64_t index0, const gd_infer_eval_opts* eo,
                        gd_infer_results* out, MPI_Comm comm, gd_error* err);

/* ---- metrics ------------------------------------------------------------------------------------------- */

/* Counts over evaluated images. Labels are 0/1 vectors of n components. */
typedef struct {
    int n;
    int64_t count;         /* images */
    int64_t rejected;      /* noise flag set */
    int64_t exact;         /* y† equals the label (a rejected image counts as y† = 0: right only when the
                              label is all 0, e.g. a fooling image) */
    int64_t single;        /* images with exactly one label bit */
    int64_t argmax_ok;     /* ... whose argmax y* is that component (no rejection) */
    int64_t answer_ok;     /* ... whose answer is exactly that one component (= exact on these images) */
    int64_t pairs;         /* images with exactly two label bits */
    int64_t top2_ok;       /* ... whose two largest y* are those components (CapsNet rule, no rejection) */
    int64_t tp[GD_INFER_MAX_COMPONENTS], fp[GD_INFER_MAX_COMPONENTS], fn[GD_INFER_MAX_COMPONENTS]; /* of y† */
} gd_infer_metrics;

/* Zeroes m for n components. */
void gd_infer_metrics_init(gd_infer_metrics* m, int n);

/* Adds B images: label (B, n) 0/1, ystar (B, n), ydec (B, n), noise (B). */
void gd_infer_metrics_add(gd_infer_metrics* m, const uint8_t* label, const float* ystar, const uint8_t* ydec,
                          const uint8_t* noise, int64_t B);

/* Summary fractions: exact / count, rejected / count, argmax_ok / single, answer_ok / single, top2_ok / pairs
 * (NaN when the denominator is 0), and per-component precision tp/(tp+fp) and recall tp/(tp+fn). */
typedef struct {
    double exact, rejection, argmax, answer, top2;
    double precision[GD_INFER_MAX_COMPONENTS], recall[GD_INFER_MAX_COMPONENTS];
} gd_infer_summary;
void gd_infer_metrics_summary(const gd_infer_metrics* m, gd_infer_summary* s);

/* ---- hyperparameter sweep ---------------------------------------------------------------------------------
 * A grid over (beta, b, c) x (l, yl, yu). The Eq. 3 optimisation depends only on (beta, b, c): it runs once
 * per (beta, b, c) and chunk; per image the candidates of every (yl, yu) pair are pooled, each distinct
 * candidate is refined once, and every (l, yl, yu) point is then decided by look-up (the noise test needs only
 * the Eq. 3 value). The answers equal what gd_infer_classify gives at each point (same candidate order and
 * tie rule; bit for bit up to BLAS blocking of the pooled refinement batches). Work items are (beta, b, c, chunk)
 * pairs spread over the ranks (static or dynamic); as in gd_infer_eval the results do not depend on the number
 * of ranks. */
typedef struct {
    const double* v[6]; /* values of beta, b, c, l, yl, yu; a NULL/empty list = the solver's current value */
    size_t len[6];
    size_t slice, slices; /* slices > 1: only block `slice` of the (beta, b, c) groups (gd_dist_block), e.g. one
                             Slurm array task each; the slices' points are consecutive ranges of the whole grid */
    size_t group_first, group_count; /* group_count > 0: only the (beta, b, c) groups [group_first, group_first +
                                        group_count) of the whole grid, in place of the slice (a resumable sweep
                                        runs a slice in such segments; the points and metrics are the same) */
} gd_sweep_grid;

enum { GD_SWEEP_BETA = 0, GD_SWEEP_B, GD_SWEEP_C, GD_SWEEP_L, GD_SWEEP_YL, GD_SWEEP_YU };

typedef struct {
    size_t n_points;           /* grid points with yl < yu, in order beta, b, c, l, yl, yu (yu fastest) */
    size_t first_point, total_points; /* this slice's range in the whole grid */
    double (*point)[6];        /* (n_points, 6) */
    gd_infer_metrics* metrics; /* (n_points) */
    size_t n_solve_groups;     /* distinct (beta, b, c) */
    int64_t chunks_solved;     /* Eq. 3 solves of a chunk (= groups x chunks: the reuse) */
    int64_t candidates_refined; /* distinct candidates refined, all groups */
    int64_t candidates_asked;  /* candidates the points asked for in all (without the pooling) */
    size_t best;               /* the point with the highest exact-match accuracy (first on ties) */
    double seconds;
} gd_sweep_result;

/* Runs the grid on N images x (N, npix) with labels (N, n) (both on rank 0 only), image i using stream index
 * index0 + i (collective over comm; rank 0 gets the result). Every rank's solver must have the same options;
 * the grid's other settings (rule, steps, ...) are the solver's. GD_EINVAL when no point has yl < yu or a value
 * is out of range. */
gd_status gd_infer_sweep(gd_infer* s, const gd_sweep_grid* grid, const float* x, const uint8_t* labels, int64_t N,
                         uint64_t index0, const gd_infer_eval_opts* eo, gd_sweep_result* out, MPI_Comm comm,
                         gd_error* err);
void gd_sweep_result_free(gd_sweep_result* r);

#endif
