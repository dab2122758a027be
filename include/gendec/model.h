/* model: the decomposing c-VAE of the paper (§3.1, ../shared/docs/PAPER.md §1) and the LeNet-like CNN baseline
 * (§4). Both keep every parameter in one gd_params block (nn.h) and all activations / workspaces in buffers
 * sized once at creation for a maximum batch; no step allocates.
 *
 * ==== The c-VAE ================================================================================================
 * Images are single-channel H x W, D = H*W pixels, x ∈ [0,1]^D. n components, k latent numbers each (nk = n*k).
 *   Encoder (shared):  x (D) -> hidden -> μ (nk), log σ² (nk)   (two linear heads on the last hidden layer)
 *   Sampling:          z = μ + exp(log σ² / 2) ⊙ ε, ε ~ N(0, I) supplied by the caller (gd_cvae_fill_noise)
 *   Decoder i:         z_i = z[i*k .. (i+1)*k) -> out_i (D), no activation on the last layer
 *   Generator:         recon = mse:         x_f = Σ_i y_i · out_i
 *                      recon = mse_sigmoid: x_f = Σ_i y_i · sigmoid(out_i)   (each Dec_i an image in (0,1)^D)
 *                      recon = bce_logits:  L = Σ_i y_i · out_i (logits), x_f = sigmoid(L)   (authors' code)
 * mse leaves Dec_i unbounded, so Eq. 3 can trade a small y_i for a large decoder output through the free z;
 * mse_sigmoid bounds every component's image, so drawing a stroke of intensity ~1 needs y_i ~ 1.
 * Loss of one image b (what a training step minimises, as the MEAN over the images of the global batch):
 *   loss_b = R_b + C · K_b
 *   R_b  (mse, mse_sigmoid) = Σ_p (x_f,p − x_p)²                            per-image SUM over pixels = ‖x_f − x‖²
 *   R_b  (bce_logits)  = Σ_p [max(L_p,0) − x_p L_p + log(1 + e^−|L_p|)]     per-image SUM (authors: 784 · mean)
 *   KL_i               = −½ Σ_{j<k} (1 + log σ²_ij − μ_ij² − σ²_ij)          KL(N(μ_i, σ_i²) ‖ N(0, I)), a SUM over k
 *   K_b  (gated)       = Σ_i y_i · KL_i                                     (paper, Eq. 1)
 *   K_b  (mean)        = (1/n) Σ_i KL_i                                     (authors' code; use C = 1 to match it)
 * The sums over pixels (not means) are the scale of Eq. 1 and of the authors' training code; the per-pixel mean
 * scale used by classification (infer.scale) is a separate, inference-time choice. The reported training
 * metrics are the means over images of loss_b, R_b and K_b.
 *
 * Architectures (gd_cvae_spec.arch):
 *   mlp:  encoder D -> enc[0] -> ... -> enc[m-1] (act) -> heads; decoder k -> dec[0] -> ... (act) -> D.
 *   conv: encoder: L = n_ch convs, channels ch[0..L), kernel kc, stride 2, pad (kc−1)/2, act; flatten -> heads.
 *         Spatial: s -> floor((s + 2·pad − kc)/2) + 1 (k3: 28 -> 14 -> 7 -> 4).
 *         decoder i: FC k -> ch[L−1]·S·S (act), S = dec_start; L transposed convs (kernel kc, stride 2,
 *         pad (kc−1)/2, out_pad 2 + 2·pad − kc, so each doubles the side: S·2^L), output channels
 *         ch[L−1], ch[L−2], ..., ch[0], act; then a conv to 1 channel with kernel ko = out_kernel, stride 1:
 *           "valid" (pad 0) when S·2^L − (ko − 1) = H   (MNIST 28: S 4 -> 8 -> 16 -> 32 -> 28; multiMNIST 36: S 5)
 *           "same"  (pad (ko−1)/2, ko odd) when S·2^L = H  (traffic signs 64: S 8 -> 16 -> 32 -> 64 -> 64;
 *                                                         smallNORB 48: S 6)
 *         Any other combination is refused as an impossible shape (GD_ECONFIG); H must equal W.
 *   Hidden activation: relu or elu (traffic signs).
 * Decoders run "routed": for each component i only the images with y_i != 0 go through Dec_i, as one GEMM
 * per layer on those rows (nn's gd_dense_routed_*, and per-group conv calls), so a one-hot label costs one
 * decoder per image. Passing all = 1 (needed for ∂/∂y) runs every decoder on every image.
 *
 * Parameters (views of one gd_params block, in this order; W is (out, in) like torch.nn.Linear):
 *   mlp:  enc.fc<l>.w (enc[l], in), enc.fc<l>.b; enc.mu.w (nk, last), enc.mu.b; enc.lv.w, enc.lv.b;
 *         dec.fc<l>.w (n, out, in), dec.fc<l>.b (n, out)  for l = 0 .. n_dec (the last one outputs D)
 *   conv: enc.conv<l>.w (ch[l], in_ch, kc, kc), enc.conv<l>.b; enc.mu.*; enc.lv.*;
 *         dec.fc.w (n, ch[L−1]·S·S, k), dec.fc.b (n, ch[L−1]·S·S);
 *         dec.deconv<l>.w (n·in_ch, out_ch, kc, kc) = n stacked ConvTranspose2d weights, dec.deconv<l>.b (n, out_ch);
 *         dec.out.w (n·ch[0], 1, ko, ko), dec.out.b (n, 1)
 * Initialisation: PyTorch's default for Linear / Conv2d / ConvTranspose2d (U(±1/sqrt(fan_in)) for weights and
 * biases), each view from the stream (seed, GD_STREAM_INIT, view number).
 *
 * A gd_cvae holds the activations of its last call; it is not reentrant (one per thread of use).
 *
 * ==== The CNN (LeNet-like) =====================================================================================
 *   x (1,H,W) -> conv c1 (5x5, pad 2) -> ReLU -> maxpool 2 -> conv c2 (5x5, pad 2) -> ReLU -> maxpool 2
 *             -> FC fc -> ReLU -> FC n_classes -> softmax;  loss = cross-entropy, mean over images.
 *   Spatial: H -> H/2 -> H/4 (floor). Views: cnn.conv1.w/b, cnn.conv2.w/b, cnn.fc1.w/b, cnn.fc2.w/b.
 *
 * ==== Files ====================================================================================================
 * `gendec train` writes model.h5 / cnn.h5 through io's checkpoint helpers (see train.h): the architecture
 * signature (gd_cvae_spec_format / gd_cnn_spec_format, prefixed "cvae " / "cnn ") is ckpt/arch and the weights
 * are ckpt/params. gd_cvae_load / gd_cnn_load rebuild the model from that signature and read the weights.
 */
#ifndef GENDEC_MODEL_H
#define GENDEC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"
#include "gendec/nn.h"

struct gd_config;    /* config.h */
struct gd_generator; /* infer.h: the interface infer optimises through */

#define GD_MODEL_MAX_LAYERS 8

typedef enum { GD_CVAE_MLP = 0, GD_CVAE_CONV = 1 } gd_cvae_arch;
typedef enum { GD_RECON_MSE = 0, GD_RECON_BCE_LOGITS = 1, GD_RECON_MSE_SIGMOID = 2 } gd_recon_kind;
typedef enum { GD_KL_GATED = 0, GD_KL_MEAN = 1 } gd_kl_kind;
typedef enum { GD_ACT_RELU = 0, GD_ACT_ELU = 1 } gd_act_kind;

/* Everything that determines the c-VAE's shapes and loss. */
typedef struct {
    gd_cvae_arch arch;
    int h, w;                         /* image size (one channel) */
    int n, k;                         /* components, latent numbers per component */
    gd_recon_kind recon;
    gd_kl_kind kl;
    float C;                          /* KL weight */
    gd_act_kind act;
    int n_enc, enc[GD_MODEL_MAX_LAYERS]; /* mlp: encoder hidden widths */
    int n_dec, dec[GD_MODEL_MAX_LAYERS]; /* mlp: decoder hidden widths */
    int n_ch, ch[GD_MODEL_MAX_LAYERS];   /* conv: encoder channels (decoders in reverse) */
    int kernel;                       /* conv: kernel of the strided (de)convolutions */
    int dec_start;                    /* conv: S, side of each decoder's first feature map */
    int out_kernel;                   /* conv: kernel of the final convolution to one channel */
} gd_cvae_spec;

/* Sums over the B images of a step (divide by B for means). */
typedef struct {
    double loss, recon, kl;
} gd_cvae_sums;

typedef struct gd_cvae gd_cvae;

/* The paper's MNIST defaults for images h x w with n components: mlp [512,256] / [256,512], k = 4, mse,
 * gated, C = 1, relu, conv channels 16-32-64, kernel 3, dec_start 4, out_kernel 5. */
void gd_cvae_spec_default(gd_cvae_spec* s, int h, int w, int n);

/* Fills a spec from the model.* keys of a resolved config for images h x w and checks it; a bad value is a
 * GD_ECONFIG at its place in the config. model.n_components must equal n_data when n_data > 0. */
gd_status gd_cvae_spec_from_config(const struct gd_config* cfg, int h, int w, int n_data, gd_cvae_spec* s,
                                   gd_error* err);

/* Checks a spec: positive sizes within limits, and that the conv decoder reaches h x w (see above).
 * GD_ECONFIG with a message naming the impossible shape and how to fix it. */
gd_status gd_cvae_spec_check(const gd_cvae_spec* s, gd_error* err);

/* The architecture signature: a canonical one-line text of every field ("arch=conv h=28 w=28 n=10 k=4 ...").
 * Equal specs give equal strings. Returns the length (truncated to n-1 like snprintf). */
int gd_cvae_spec_format(const gd_cvae_spec* s, char* buf, size_t n);

/* Parses a signature from gd_cvae_spec_format (GD_EFORMAT when it is not one) and checks it. */
gd_status gd_cvae_spec_parse(const char* text, gd_cvae_spec* s, gd_error* err);

/* Creates a c-VAE for batches of up to max_batch images and up to max_rows (image, component) decoder rows per
 * call (0 = max_batch * n, which every use needs that asks for all = 1). Parameters are allocated, zero. */
gd_status gd_cvae_create(const gd_cvae_spec* s, int max_batch, int max_rows, gd_cvae** out, gd_error* err);

/* Frees the model; NULL is a no-op. */
void gd_cvae_free(gd_cvae* m);

const gd_cvae_spec* gd_cvae_get_spec(const gd_cvae* m);
gd_params* gd_cvae_params(gd_cvae* m);
int gd_cvae_max_batch(const gd_cvae* m);
int gd_cvae_max_rows(const gd_cvae* m);

/* Initialises every parameter from `seed` (PyTorch's default rule, see above). */
gd_status gd_cvae_init_params(gd_cvae* m, uint64_t seed, gd_error* err);

/* Fills eps (B, nk) with standard normals: row b from the stream (seed, GD_STREAM_NOISE, first + b), so a row's
 * noise depends only on its global sample number. */
void gd_cvae_fill_noise(float* eps, int B, int nk, uint64_t seed, uint64_t first);

/* One training step on B images: x (B, D), y (B, n) (0/1 labels; any value works, rows are routed where
 * y != 0), eps (B, nk). Adds the sums of loss_b, R_b, K_b to *sums (may be NULL). When backward != 0,
 * ACCUMULATES grad_scale · ∂(Σ_b loss_b)/∂θ into the parameter gradient (the trainer passes
 * world_size / global_batch). Fails (GD_EINVAL) when B > max_batch or the active (image, component) pairs
 * exceed max_rows. */
gd_status gd_cvae_loss(gd_cvae* m, const float* x, const float* y, const float* eps, int B, int backward,
                       float grad_scale, gd_cvae_sums* sums, gd_error* err);

/* The encoder: mu, logvar (B, nk) for x (B, D); either output may be NULL. */
gd_status gd_cvae_encode(gd_cvae* m, const float* x, float* mu, float* logvar, int B, gd_error* err);

/* The generator: x_f (B, D) for z (B, nk), y (B, n) as defined above (for bce_logits x_f = sigmoid(L)).
 * all = 0 skips decoder i on rows with y_i == 0 exactly; all = 1 runs every decoder (required before a
 * gd_cvae_decode_backward that asks for dy). Keeps what the backward needs. */
gd_status gd_cvae_decode(gd_cvae* m, const float* z, const float* y, float* xf, int B, int all, gd_error* err);

/* Gradients of a scalar F through the last gd_cvae_decode (same B): given dxf = ∂F/∂x_f (B, D), OVERWRITES
 * dz (B, nk) and, when not NULL, dy (B, n) (requires the decode to have used all = 1). Parameter gradients are
 * not touched. */
gd_status gd_cvae_decode_backward(gd_cvae* m, const float* dxf, float* dz, float* dy, int B, gd_error* err);

/* Each decoder's own image for z (B, nk): parts (B, n, D); mse: out_i, mse_sigmoid and bce_logits: sigmoid(out_i). */
gd_status gd_cvae_decode_parts(gd_cvae* m, const float* z, float* parts, int B, gd_error* err);

/* Forward + backward multiply-adds ×2 (FLOP) of one training image whose label has `active` ones (dense
 * layers and convolutions only; what the GEMMs do). */
double gd_cvae_train_flops(const gd_cvae_spec* s, int active);

/* Fills g (infer.h) so that infer drives this model: decode = gd_cvae_decode (want_dy -> all),
 * decode_backward = gd_cvae_decode_backward, encode_mean = the encoder's μ. g->max_batch = max_batch.
 * The model must have max_rows >= max_batch * n. */
gd_status gd_cvae_generator(gd_cvae* m, struct gd_generator* g, gd_error* err);

/* Loads a c-VAE written by `gendec train` (ckpt/arch "cvae <signature>", weights ckpt/params) for batches up
 * to max_batch / max_rows (0 = max_batch * n). A file of another kind or architecture, or a truncated file:
 * GD_EFORMAT naming the file. */
gd_status gd_cvae_load(const char* path, int max_batch, int max_rows, gd_cvae** out, gd_error* err);

/* ==== CNN ====================================================================================================== */

typedef struct {
    int h, w;        /* image size (one channel) */
    int n_classes;
    int conv1, conv2; /* channels of the two 5x5 convolutions */
    int fc;          /* hidden width */
} gd_cnn_spec;

typedef struct gd_cnn gd_cnn;

/* Fills a spec from the cnn.* keys for images h x w and n_classes classes; checks it. */
gd_status gd_cnn_spec_from_config(const struct gd_config* cfg, int h, int w, int n_classes, gd_cnn_spec* s,
                                  gd_error* err);

/* Checks sizes (images at least 4 x 4, positive widths within limits). GD_ECONFIG otherwise. */
gd_status gd_cnn_spec_check(const gd_cnn_spec* s, gd_error* err);

/* Signature "h=28 w=28 classes=10 conv1=20 conv2=50 fc=500"; parse checks it. */
int gd_cnn_spec_format(const gd_cnn_spec* s, char* buf, size_t n);
gd_status gd_cnn_spec_parse(const char* text, gd_cnn_spec* s, gd_error* err);

gd_status gd_cnn_create(const gd_cnn_spec* s, int max_batch, gd_cnn** out, gd_error* err);
void gd_cnn_free(gd_cnn* m);
const gd_cnn_spec* gd_cnn_get_spec(const gd_cnn* m);
gd_params* gd_cnn_params(gd_cnn* m);
int gd_cnn_max_batch(const gd_cnn* m);
gd_status gd_cnn_init_params(gd_cnn* m, uint64_t seed, gd_error* err);

/* Training step on x (B, D) with labels (B) in [0, n_classes): adds the sum of the per-image cross-entropy
 * to *loss_sum and the number of correct argmax predictions to *correct (either may be NULL); when
 * backward != 0 ACCUMULATES grad_scale · ∂(Σ_b CE_b)/∂θ into the parameter gradient. A label outside
 * [0, n_classes) is GD_EINVAL. */
gd_status gd_cnn_loss(gd_cnn* m, const float* x, const int32_t* labels, int B, int backward, float grad_scale,
                      double* loss_sum, int64_t* correct, gd_error* err);

/* Softmax probabilities probs (B, n_classes) of x (B, D). */
gd_status gd_cnn_predict(gd_cnn* m, const float* x, float* probs, int B, gd_error* err);

/* ∇ₓ of each image's own cross-entropy: dx (B, D) = ∂CE_b/∂x_b (not divided by B; what FGM takes the sign
 * of). row_loss (B) and probs (B, n_classes) receive the CE and the softmax when not NULL. Parameter gradients
 * are not touched. */
gd_status gd_cnn_input_grad(gd_cnn* m, const float* x, const int32_t* labels, float* dx, float* row_loss,
                            float* probs, int B, gd_error* err);

/* FLOP of forward + backward (parameter gradients) for one image. */
double gd_cnn_train_flops(const gd_cnn_spec* s);

/* Loads a CNN written by `gendec train --model cnn` (ckpt/arch "cnn <signature>"). */
gd_status gd_cnn_load(const char* path, int max_batch, gd_cnn** out, gd_error* err);

#endif
