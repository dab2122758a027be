/* Private helpers shared by the model sources. */
#ifndef GENDEC_MODEL_INTERNAL_H
#define GENDEC_MODEL_INTERNAL_H

#include "gendec/model.h"

/* Side after a stride-2 convolution with kernel `kernel` and pad (kernel-1)/2. */
int gd_model_conv_out(int in, int kernel);

/* The final convolution's padding of a conv c-VAE (0 valid, (ko-1)/2 same); GD_ECONFIG when none fits. */
gd_status gd_cvae_conv_plan(const gd_cvae_spec* s, int* final_pad, gd_error* err);

/* In-place hidden activation / its backward (dpre += dpost * f'(post)). */
void gd_model_act_forward(gd_act_kind a, float* x, size_t n);
void gd_model_act_backward(gd_act_kind a, float* dpre, const float* dpost, const float* post, size_t n);

/* Opens a model file written by the trainer, checks ckpt/arch starts with "<kind> " and copies the rest
 * (the signature) into sig. */
gd_status gd_model_file_signature(const char* path, const char* kind, char* sig, size_t n, gd_error* err);

/* Reads ckpt/params of path (arch "<kind> <sig>") into p->data (p->total floats). */
gd_status gd_model_file_params(const char* path, const char* arch, gd_params* p, gd_error* err);

#endif
