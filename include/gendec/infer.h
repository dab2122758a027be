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

#endif
