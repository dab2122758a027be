/* nn: the numerical core. Layers as forward/backward pairs over flat float32 arrays (llm.c style), losses,
 * a parameter block with named views, and Adam.
 *
 * Conventions for every function here:
 *  - Arrays are row-major; images are NCHW; the shape of every array is written beside it.
 *    Flattening an NCHW tensor to (N, C*H*W) is free: the memory is the same, no reshape call exists.
 *  - `*_forward` OVERWRITES its output. `*_backward` ACCUMULATES (+=) into every gradient buffer it is given,
 *    so the caller zeroes gradients once per step (gd_params_zero_grad). A NULL gradient pointer means
 *    "not needed" and that part of the work is skipped.
 *  - Outputs never alias inputs unless a comment says so. Shapes are the caller's responsibility (only the
 *    *_init functions that compute shapes check and return a gd_status).
 *  - No function allocates memory inside forward/backward; convolutions take a caller-owned workspace
 *    whose size is given by a function.
 *  - Every matrix product is one or more cblas_sgemm calls.
 */
#ifndef GENDEC_NN_H
#define GENDEC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* ==== parameter block ======================================================================================
 * All parameters of a model in ONE contiguous float allocation (`data`) with named views, and their gradient
 * in a second allocation (`grad`) with the same layout. Views are packed in the order they were added, without
 * padding, so offsets depend only on the sequence of gd_params_add calls: a whole gradient is one buffer for
 * MPI_Allreduce and one dataset in a checkpoint.
 * Life cycle: gd_params p = {0} (or gd_params_init) -> gd_params_add ... -> gd_params_alloc -> use ->
 * gd_params_free. The fields may be read directly; change them only through these functions. */

#define GD_PARAMS_NAME_MAX 64
#define GD_PARAMS_MAX_DIMS 4

typedef struct {
    char name[GD_PARAMS_NAME_MAX]; /* unique within the block, e.g. "dec3.deconv1.w" */
    int ndim;                      /* 1..GD_PARAMS_MAX_DIMS */
    int shape[GD_PARAMS_MAX_DIMS]; /* entries past ndim are 1 */
    size_t offset;                 /* index of the view's first float in data and in grad */
    size_t count;                  /* number of floats: the product of shape */
} gd_param_view;

typedef struct {
    gd_param_view* views; /* (n_views) in the order added */
    int n_views, cap_views;
    size_t total;         /* floats in data (and in grad) */
    float* data;          /* (total) NULL until gd_params_alloc */
    float* grad;          /* (total) NULL until gd_params_alloc */
} gd_params;

/* Makes an empty block (same as zero-initialising the struct). */
void gd_params_init(gd_params* p);

/* Appends a view `name` of shape (shape[0], ..., shape[ndim-1]) and returns its offset (in floats) through
 * `offset` (may be NULL). Fails (GD_EINVAL) after gd_params_alloc, on a duplicate or too long name, on
 * ndim outside 1..GD_PARAMS_MAX_DIMS or a non-positive extent; GD_ENOMEM if the total would overflow. */
gd_status gd_params_add(gd_params* p, const char* name, int ndim, const int* shape, size_t* offset,
                        gd_error* err);

/* Allocates data and grad (64-byte aligned, zero-filled) for the views added so far. */
gd_status gd_params_alloc(gd_params* p, gd_error* err);

/* The index of the view called `name`, or -1. */
int gd_params_find(const gd_params* p, const char* name);

/* The view called `name`, or NULL. */
const gd_param_view* gd_params_view(const gd_params* p, const char* name);

/* Pointers to the values / gradient of view `name`, or NULL when there is no such view or no allocation. */
float* gd_params_data(gd_params* p, const char* name);
float* gd_params_grad(gd_params* p, const char* name);

/* Total number of parameters (floats in data). */
size_t gd_params_count(const gd_params* p);

/* Sets the whole gradient to zero. */
void gd_params_zero_grad(gd_params* p);

/* Frees everything and leaves an empty block. Safe on an empty or already freed block. */
void gd_params_free(gd_params* p);

/* Fan-in and fan-out of a view by PyTorch's rule (torch.nn.init._calculate_fan_in_and_fan_out):
 * fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, receptive field = product of
 * shape[2..]. For a 1-D view both are shape[0]. Dense (OC,C): fan_in C; conv (OC,IC,KH,KW): IC*KH*KW. */
void gd_param_fans(const gd_param_view* v, int* fan_in, int* fan_out);

typedef enum {
    GD_INIT_ZERO = 0,       /* 0 */
    GD_INIT_CONST,          /* scale */
    GD_INIT_UNIFORM,        /* U(-scale, scale) */
    GD_INIT_NORMAL,         /* N(0, scale^2) */
    GD_INIT_HE_UNIFORM,     /* U(-b, b), b = scale * sqrt(6 / fan_in)               (kaiming_uniform_, ReLU) */
    GD_INIT_HE_NORMAL,      /* N(0, s^2), s = scale * sqrt(2 / fan_in)              (kaiming_normal_, ReLU) */
    GD_INIT_GLOROT_UNIFORM, /* U(-b, b), b = scale * sqrt(6 / (fan_in + fan_out))   (xavier_uniform_) */
    GD_INIT_GLOROT_NORMAL,  /* N(0, s^2), s = scale * sqrt(2 / (fan_in + fan_out))  (xavier_normal_) */
    GD_INIT_TORCH_DEFAULT   /* U(-b, b), b = scale / sqrt(fan_in): torch.nn.Linear/Conv2d default for weight
                               AND bias (for a bias pass the weight's fan_in) */
} gd_init_kind;

/* Fills the values of view number `index` deterministically from `seed`: the random stream is
 * (seed, GD_STREAM_INIT, index), so the result depends only on the seed and the view number. `fan_in` /
 * `fan_out` <= 0 mean "from the view's shape" (gd_param_fans). Requires gd_params_alloc. */
gd_status gd_params_fill(gd_params* p, int index, gd_init_kind kind, int fan_in, int fan_out, float scale,
                         uint64_t seed, gd_error* err);

/* ==== Adam =================================================================================================
 * torch.optim.Adam with its defaults (no weight decay, no amsgrad, not maximize), operation for operation:
 *   t += 1;  m = m + (1-β1)(g - m);  v = β2 v + (1-β2) g g;
 *   bc1 = 1 - β1^t, bc2 = 1 - β2^t (in double);  step = lr / bc1;
 *   θ = θ - step * m / (sqrt(v) / sqrt(bc2) + ε).
 * The state (m, v, t) is exposed for checkpointing: m and v share one allocation, state = [m | v]. */
typedef struct {
    double lr, beta1, beta2, eps; /* 1e-3, 0.9, 0.999, 1e-8 after gd_adam_init unless changed */
    size_t n;                     /* number of parameters */
    int64_t t;                    /* steps taken */
    float* state;                 /* (2, n): m then v; one buffer for a checkpoint */
    float* m;                     /* (n) = state */
    float* v;                     /* (n) = state + n */
} gd_adam;

/* Allocates zeroed moments for n parameters and sets lr (β1, β2, ε take their defaults; change the
 * fields before the first step if needed). */
gd_status gd_adam_init(gd_adam* a, size_t n, double lr, gd_error* err);

/* Zeroes m, v and t (a fresh optimiser, same n and hyperparameters). */
void gd_adam_reset(gd_adam* a);

/* One step on params[0..n) with gradient grad[0..n); n must equal a->n. */
void gd_adam_step(gd_adam* a, float* params, const float* grad, size_t n);

/* One step on params[0..n) whose gradient is scale · (grads[0] + grads[1] + ... + grads[n_grads-1]) (summed in
 * that order, then scaled, each in float: bitwise gd_adam_step on the summed and scaled gradient), with the moments
 * m[0..n), v[0..n) given explicitly (a->m / a->v are not used; a->t and the hyperparameters are). zero_grads = 1
 * sets every grads[k][0..n) to 0 after reading it. One pass over the data: the data-parallel trainer's fused
 * reduce + Adam over node-shared gradients. The arrays must not overlap. */
void gd_adam_step_sum(gd_adam* a, float* params, float* m, float* v, float* const* grads, int n_grads, float scale,
                      int zero_grads, size_t n);

/* Frees the moments. Safe to call twice. */
void gd_adam_free(gd_adam* a);

/* ==== dense (linear) =======================================================================================
 * out = in · Wᵀ + b, W stored (OC, C) like torch.nn.Linear and llm.c's matmul. */

/* out (B,OC) = in (B,C) · w (OC,C)ᵀ + b (OC); b may be NULL. */
void gd_dense_forward(float* out, const float* in, const float* w, const float* b, int B, int C, int OC);

/* din (B,C) += dout·w; dw (OC,C) += doutᵀ·in; db (OC) += Σ_b dout. Any of din, dw, db may be NULL. */
void gd_dense_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                       int B, int C, int OC);

/* Layout of a grouped tensor of G groups of B rows of X numbers. */
typedef enum {
    GD_LAYOUT_GBX = 0, /* (G, B, X): each group's rows contiguous */
    GD_LAYOUT_BGX = 1  /* (B, G, X): e.g. a latent z (B, G*k) split into G segments of k */
} gd_group_layout;

/* G independent dense layers on the same number of rows: for each g,
 * out[g] (B,OC) = in[g] (B,C) · w[g] (OC,C)ᵀ + b[g] (OC), with w (G,OC,C), b (G,OC) (may be NULL), and in / out
 * laid out as `in_layout` / `out_layout` ((G,B,C) or (B,G,C); (G,B,OC) or (B,G,OC)). */
void gd_dense_grouped_forward(float* out, const float* in, const float* w, const float* b, int G, int B,
                              int C, int OC, gd_group_layout in_layout, gd_group_layout out_layout);

/* Backward of gd_dense_grouped_forward with the same layouts; din, dw (G,OC,C), db (G,OC) may be NULL. */
void gd_dense_grouped_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                               const float* w, int G, int B, int C, int OC, gd_group_layout in_layout,
                               gd_group_layout out_layout);

/* G independent dense layers on variable numbers of rows (routing each image to its active sub-networks):
 * rows row_off[g] .. row_off[g+1]-1 of in (R,C) go through w[g] (OC,C) and b[g] into the same rows of
 * out (R,OC); R = row_off[G], row_off[0] = 0, row_off non-decreasing (a group may have no rows).
 * w (G,OC,C), b (G,OC) (may be NULL). */
void gd_dense_routed_forward(float* out, const float* in, const float* w, const float* b, const int* row_off,
                             int G, int C, int OC);

/* Backward of gd_dense_routed_forward; din (R,C), dw (G,OC,C), db (G,OC) may be NULL. */
void gd_dense_routed_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                              const float* w, const int* row_off, int G, int C, int OC);

/* ==== 2-D convolution and transposed convolution ===========================================================
 * One shape struct for both. Square stride and padding, kernels KH x KW (may differ).
 *  conv2d:           in (N,C,H,W), weight (OC,C,KH,KW) like torch.nn.Conv2d, bias (OC), out (N,OC,OH,OW),
 *                    OH = (H + 2 pad - KH) / stride + 1 (floor), out_pad = 0.
 *  conv_transpose2d: in (N,C,H,W), weight (C,OC,KH,KW) like torch.nn.ConvTranspose2d, bias (OC),
 *                    out (N,OC,OH,OW), OH = (H - 1) stride - 2 pad + KH + out_pad, out_pad < stride.
 * conv_transpose2d is exactly the adjoint (and the input gradient) of conv2d with the same stride, pad and
 * kernel, mapping (OC,OH,OW) -> (C,H,W). */
typedef struct {
    int N;          /* batch */
    int C, H, W;    /* input channels, height, width */
    int OC;         /* output channels */
    int KH, KW;     /* kernel */
    int stride, pad, out_pad;
    int OH, OW;     /* output height, width (computed) */
} gd_conv_shape;

/* Checks the arguments and computes OH, OW for a convolution. GD_EINVAL when an extent is non-positive,
 * pad < 0, stride < 1, or the output would be empty. */
gd_status gd_conv_shape_init(gd_conv_shape* s, int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                             int pad, gd_error* err);

/* The same for a transposed convolution; also requires 0 <= out_pad < stride (PyTorch's rule). */
gd_status gd_convT_shape_init(gd_conv_shape* s, int N, int C, int H, int W, int OC, int KH, int KW, int stride,
                              int pad, int out_pad, gd_error* err);

/* Floats of workspace the conv2d forward and backward need (the caller allocates it once). Images are
 * processed one at a time, so the size does not depend on N: a workspace sized with N = 1 serves any batch. */
size_t gd_conv2d_workspace_size(const gd_conv_shape* s);

/* out (N,OC,OH,OW) = conv(in (N,C,H,W), w (OC,C,KH,KW)) + b (OC); b may be NULL.
 * work: gd_conv2d_workspace_size(s) floats. */
void gd_conv2d_forward(float* out, const float* in, const float* w, const float* b, const gd_conv_shape* s,
                       float* work);

/* din (N,C,H,W), dw (OC,C,KH,KW), db (OC) += gradients given dout (N,OC,OH,OW); each may be NULL. */
void gd_conv2d_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                        const gd_conv_shape* s, float* work);

/* Floats of workspace the conv_transpose2d forward and backward need (independent of N, as above). */
size_t gd_conv_transpose2d_workspace_size(const gd_conv_shape* s);

/* out (N,OC,OH,OW) = convT(in (N,C,H,W), w (C,OC,KH,KW)) + b (OC); b may be NULL. */
void gd_conv_transpose2d_forward(float* out, const float* in, const float* w, const float* b,
                                 const gd_conv_shape* s, float* work);

/* din (N,C,H,W), dw (C,OC,KH,KW), db (OC) += gradients given dout (N,OC,OH,OW); each may be NULL. */
void gd_conv_transpose2d_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                                  const float* w, const gd_conv_shape* s, float* work);

/* ==== max pooling 2x2, stride 2 ============================================================================
 * in (N,C,H,W) -> out (N,C,H/2,W/2) (floor: a last odd row/column is dropped, as PyTorch does);
 * idx (N,C,H/2,W/2) holds the position (h*W + w) of each maximum within its input plane (first maximum
 * on ties, NaN propagates like PyTorch). */
void gd_maxpool2_forward(float* out, int32_t* idx, const float* in, int N, int C, int H, int W);

/* din (N,C,H,W) += dout routed to the stored maxima. */
void gd_maxpool2_backward(float* din, const float* dout, const int32_t* idx, int N, int C, int H, int W);

/* ==== activations (elementwise over n numbers) =============================================================
 * Forward may run in place (out == in). Backward works from the forward OUTPUT: din (n) += dout * f'(.)
 * expressed through out, so the input need not be kept. */
void gd_relu_forward(float* out, const float* in, size_t n);
void gd_relu_backward(float* din, const float* dout, const float* out, size_t n);
/* ELU with α = 1: x > 0 ? x : exp(x) - 1; derivative out > 0 ? 1 : out + 1. */
void gd_elu_forward(float* out, const float* in, size_t n);
void gd_elu_backward(float* din, const float* dout, const float* out, size_t n);
/* Logistic sigmoid, numerically stable for large |x|; derivative out (1 - out). */
void gd_sigmoid_forward(float* out, const float* in, size_t n);
void gd_sigmoid_backward(float* din, const float* dout, const float* out, size_t n);
/* tanh; derivative 1 - out². */
void gd_tanh_forward(float* out, const float* in, size_t n);
void gd_tanh_backward(float* din, const float* dout, const float* out, size_t n);

/* Row-wise softmax: probs (B,K) = softmax(logits (B,K)) (max-subtracted). May run in place. */
void gd_softmax_forward(float* probs, const float* logits, int B, int K);

/* ==== losses ===============================================================================================
 * Each loss works on a batch of B rows, returns the MEAN OVER ROWS of the row losses defined below, writes
 * the row losses to `row_loss` (B) when it is not NULL, and when the gradient pointer is not NULL
 * accumulates  dloss * ∂(returned value)/∂(input)  into it. `dloss` is the upstream gradient (1 for a plain
 * loss; a weight C, or B to get the gradient of the sum over rows). Sums are accumulated in double. */

/* Mean squared error. Row loss l_b = (1/D) Σ_d (pred - target)²; dpred (B,D) += dloss * 2 (pred - target)/(B D).
 * pred, target (B,D). */
float gd_mse_loss(float* dpred, float* row_loss, const float* pred, const float* target, int B, int D,
                  float dloss);

/* Mean absolute error. Row loss l_b = (1/D) Σ_d |pred - target|; dpred += dloss * sign(pred - target)/(B D)
 * (sign(0) = 0). */
float gd_l1_loss(float* dpred, float* row_loss, const float* pred, const float* target, int B, int D,
                 float dloss);

/* Sigmoid cross-entropy on logits (tf.nn.sigmoid_cross_entropy_with_logits, BCEWithLogits), stable form:
 * row loss l_b = (1/D) Σ_d [max(x,0) - x t + log(1 + exp(-|x|))], x = logits (B,D), t = target (B,D) in [0,1];
 * dlogits += dloss * (sigmoid(x) - t)/(B D). */
float gd_sigmoid_xent_loss(float* dlogits, float* row_loss, const float* logits, const float* target, int B,
                           int D, float dloss);

/* Softmax cross-entropy with integer labels (B) in 0..K-1: row loss l_b = -log softmax(logits_b)[label_b];
 * probs (B,K) receives the softmax when not NULL; dlogits (B,K) += dloss * (p - onehot)/B. */
float gd_softmax_xent_loss(float* dlogits, float* row_loss, float* probs, const float* logits,
                           const int32_t* labels, int B, int K, float dloss);

/* KL of N(μ, exp(logvar)) against N(0, 1) per latent segment. mu, logvar (B, G*K): G segments of K numbers.
 * KL_{b,g} = -1/2 Σ_{j in segment g} (1 + logvar - μ² - exp(logvar))  (a SUM over the segment's K numbers).
 * gate (B,G) weights each segment (may be NULL: all 1). Returns (1/B) Σ_b Σ_g gate_bg KL_bg; seg_kl (B,G)
 * receives the ungated KL_{b,g} when not NULL.
 * dmu += dloss gate μ / B;  dlogvar += dloss gate (exp(logvar) - 1) / (2B). */
float gd_gauss_kl_loss(float* dmu, float* dlogvar, float* seg_kl, const float* mu, const float* logvar,
                       const float* gate, int B, int G, int K, float dloss);

/* Gradient of that KL with respect to the gate: dgate (B,G) += dloss KL_{b,g} / B (not part of the loss above
 * so that the common case costs nothing; seg_kl from gd_gauss_kl_loss). */
void gd_gauss_kl_gate_backward(float* dgate, const float* seg_kl, int B, int G, float dloss);

/* ==== reparameterisation ===================================================================================
 * z = μ + exp(logvar / 2) ε, elementwise over n numbers; ε is supplied by the caller (gd_rng_fill_normal on
 * a GD_STREAM_NOISE stream) and kept for the backward. */
void gd_reparam_forward(float* z, const float* mu, const float* logvar, const float* eps, size_t n);

/* dmu += dz;  dlogvar += dz ε exp(logvar / 2) / 2. dmu / dlogvar may be NULL. */
void gd_reparam_backward(float* dmu, float* dlogvar, const float* dz, const float* logvar, const float* eps,
                         size_t n);

/* ==== gated sum of component images ========================================================================
 * out (B,P) = Σ_g gate (B,G) [b,g] * parts (G,B,P) [g,b,:] — the generator x_f = Σ_i y_i Dec_i(z_i). */
void gd_gated_sum_forward(float* out, const float* parts, const float* gate, int G, int B, int P);

/* dparts (G,B,P) += gate dout;  dgate (B,G) += <dout_b, parts_gb>. Either may be NULL. */
void gd_gated_sum_backward(float* dparts, float* dgate, const float* dout, const float* parts, const float* gate,
                           int G, int B, int P);

#endif
