/* Gradient attacks (PAPER.md §4): the fast gradient method (FGM, Goodfellow et al. 2015) in its L-infinity
 * ("FGSM") and L2 forms, projected gradient descent (PGD, Madry et al. 2018), and the binarization defense.
 * They work over any model through a callback giving the gradient of the loss with respect to the input;
 * the CNN of include/gendec/model.h provides grad_x of the cross-entropy. NEAT fooling images: neat.h.
 *
 * Images are flat rows x (B, D) with pixel values in [0, 1]. */
#ifndef GENDEC_ATTACK_H
#define GENDEC_ATTACK_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"
#include "gendec/infer.h"

/* grad (B, D) = d loss(model(x_b), labels_b) / d x_b for each row of x (B, D). The attack maximises the loss. */
typedef gd_status (*gd_attack_grad_fn)(void* ctx, const float* x, const int32_t* labels, int B, float* grad,
                                       gd_error* err);

typedef enum {
    GD_ATTACK_LINF = 0, /* step eps * sign(g); the eps-ball is the L-infinity ball */
    GD_ATTACK_L2 = 1    /* step eps * g / ||g||_2 (no step when g = 0); the eps-ball is the L2 ball */
} gd_attack_norm;

/* Checks an attack radius: for L-infinity eps must lie in [0, 1] (pixels are in [0, 1]); for L2 in
 * [0, sqrt(D)] (the diameter of [0,1]^D). GD_EINVAL with the allowed range otherwise. */
gd_status gd_attack_check_eps(float eps, gd_attack_norm norm, int D, gd_error* err);

/* FGM: x_adv = clip(x + eps * step(grad), 0, 1) with step = sign (L-infinity) or g/||g||_2 (L2), one gradient
 * call. grad (B, D) is caller-owned scratch; x_adv (B, D) may alias x. */
gd_status gd_attack_fgm(const float* x, const int32_t* labels, int B, int D, float eps, gd_attack_norm norm,
                        gd_attack_grad_fn grad_fn, void* ctx, float* grad, float* x_adv, gd_error* err);

typedef struct {
    gd_attack_norm norm;
    float eps;         /* radius of the ball around x */
    float alpha;       /* step size (> 0) */
    int steps;         /* k >= 1 */
    int random_start;  /* start from a uniform point of the ball (L-infinity: per pixel in [-eps, eps];
                        * L2: uniform in the ball), drawn from (seed, GD_STREAM_ATTACK, first_index + b) */
    uint64_t seed;
} gd_pgd_params;

/* PGD: k steps x <- P(x + alpha * step(grad)), P projecting onto the eps-ball around the original x and then
 * onto [0, 1] (the result stays in both). Image b of the batch uses the stream of image first_index + b, so
 * results do not depend on batching or ranks. grad (B, D) scratch; x_adv (B, D) must not alias x. */
gd_status gd_attack_pgd(const gd_pgd_params* p, const float* x, const int32_t* labels, int B, int D,
                        uint64_t first_index, gd_attack_grad_fn grad_fn, void* ctx, float* grad, float* x_adv,
                        gd_error* err);

/* Projects x_adv (B, D) in place onto the eps-ball (norm) around x (B, D), then onto [0, 1]. */
void gd_attack_project(const float* x, int B, int D, float eps, gd_attack_norm norm, float* x_adv);

/* The binarization defense: out[i] = x[i] > threshold ? 1 : 0 (threshold 0.5 in the paper); out may alias x. */
void gd_attack_binarize(const float* x, size_t n, float threshold, float* out);

/* ---- FGM sweeps over MPI ----------------------------------------------------------------------------- */

/* probs (B, classes) = softmax of the classifier for x (B, D). */
typedef gd_status (*gd_attack_classify_fn)(void* ctx, const float* x, int B, float* probs, gd_error* err);

/* The model an attack runs against, as callbacks (each rank passes its own copy of the same model). */
typedef struct {
    gd_attack_grad_fn grad;         /* loss gradient wrt the input (the attack's source) */
    gd_attack_classify_fn classify; /* the classifier judged on the adversarial images */
    void* ctx;
    int classes;
} gd_attack_model;

struct gd_cnn; /* model.h */

/* The CNN of model.h as an attack model: grad = gd_cnn_input_grad (each image's own cross-entropy),
 * classify = gd_cnn_predict, both in batches of at most the CNN's max_batch (any B works). ctx = the gd_cnn. */
void gd_attack_model_cnn(gd_attack_model* m, struct gd_cnn* cnn);
gd_status gd_attack_cnn_grad(void* cnn, const float* x, const int32_t* labels, int B, float* grad, gd_error* err);
gd_status gd_attack_cnn_classify(void* cnn, const float* x, int B, float* probs, gd_error* err);

typedef struct {
    const float* eps;      /* (n_eps) radii, each checked with gd_attack_check_eps */
    int n_eps;
    gd_attack_norm norm;
    int pgd_steps;         /* 0: one-step FGM; > 0: PGD with these steps, step pgd_alpha, random start */
    float pgd_alpha;
    int pgd_random_start;
    uint64_t seed;         /* PGD random starts: image i uses (seed, GD_STREAM_ATTACK, i) */
    int chunk;             /* images per work item (> 0) */
    float binarize;        /* threshold of the binarization defense (0.5) */
    int dynamic;           /* gd_dist_run mode: 0 static blocks, 1 work queue */
    /* rank 0, optional: work items done of total */
    void (*progress)(void* ctx, size_t done, size_t total);
    void* progress_ctx;
} gd_fgm_sweep_opts;

/* Outcome of the sweep on rank 0; e indexes eps, i the image. */
typedef struct {
    int n_eps, D, classes;
    int64_t N;
    float* eps;         /* (n_eps) */
    float* x_adv;       /* (n_eps, N, D) adversarial images (eps = 0: the images themselves) */
    int32_t* pred;      /* (n_eps, N) classifier's argmax on x_adv */
    float* p_pred;      /* (n_eps, N) its probability */
    float* p_true;      /* (n_eps, N) probability of the true label */
    int32_t* bin_pred;  /* (n_eps, N) argmax on binarize(x_adv) (the defense) */
    float* bin_p_pred;  /* (n_eps, N) */
    double* acc;        /* (n_eps) fraction with pred == label */
    double* bin_acc;    /* (n_eps) fraction with bin_pred == label */
    double* mean_linf;  /* (n_eps) mean over images of max |x_adv - x| */
    double* mean_l2;    /* (n_eps) mean of ||x_adv - x||_2 */
} gd_fgm_sweep_result;
void gd_fgm_sweep_result_free(gd_fgm_sweep_result* r);

/* Attacks N images x (N, D) with labels (N) at every eps (collective over comm): work item (e, c) is eps e on
 * images [c*chunk, min(N, (c+1)*chunk)), items spread over ranks by gd_dist_run; each item makes the
 * adversarial images with the model's gradient and classifies them raw and binarized. Every rank holds x and
 * labels; rank 0 receives the result in *out (other ranks' out is left zeroed). The result does not depend on
 * the number of ranks, the mode or (for FGM) on chunk. */
gd_status gd_fgm_sweep(const gd_fgm_sweep_opts* o, const float* x, const int32_t* labels, int64_t N, int D,
                       const gd_attack_model* m, gd_fgm_sweep_result* out, MPI_Comm comm, gd_error* err);

/* ---- files ---------------------------------------------------------------------------------------- */

struct gd_h5;            /* io.h */

/* Writes a sweep into a file being written (kind "fgm"; see docs/hdf5-schema.md): attribute eps (float64
 * list) and norm on the root; labels (N) int32; x_adv (E, N, H, W) float32 (deflate 1); cnn/{pred, p_pred,
 * p_true} and binarized_cnn/{pred, p_pred} (E, N); cnn/accuracy, binarized_cnn/accuracy, mean_linf, mean_l2
 * (E) float64. Rank 0 only (serial file). */
gd_status gd_fgm_sweep_write(struct gd_h5* f, const gd_fgm_sweep_result* r, const int32_t* labels, int H, int W,
                             gd_error* err);

/* Writes the generative classifier's verdicts on N images under `group`: with E > 0 as row e of (E, N, ...)
 * datasets (call once per e, any order), with E = 0 as (N, ...) datasets. Datasets: ystar (N, n) float32,
 * ydec (N, n) uint8, noise (N) uint8, loss3, loss2 (N) float32, n_candidates (N) int32. */
gd_status gd_attack_write_verdicts(struct gd_h5* f, const char* group, int e, int E,
                                   const gd_infer_results* r, gd_error* err);

#endif
