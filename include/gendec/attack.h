/* Gradient attacks (PAPER.md §4): the fast gradient method (FGM, Goodfellow et al. 2015) in its L-infinity
 * ("FGSM") and L2 forms, projected gradient descent (PGD, Madry et al. 2018), and the binarization defense.
 * They work over any model through a callback giving the gradient of the loss with respect to the input;
 * the CNN of include/gendec/model.h provides grad_x of the cross-entropy. NEAT fooling images: neat.h.
 *
 * Images are flat rows x (B, D) with pixel values in [0, 1]. */
#ifndef GENDEC_ATTACK_H
#define GENDEC_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

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

#endif
