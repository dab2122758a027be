/* 2x2 max pooling with stride 2 (LeNet baseline). */
#include <math.h>

#include "gendec/nn.h"

void gd_maxpool2_forward(float* out, int32_t* idx, const float* in, int N, int C, int H, int W) {
    const int OH = H / 2, OW = W / 2;
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float* x = in + p * H * W;
        float* y = out + p * OH * OW;
        int32_t* ix = idx + p * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int best = 2 * oh * W + 2 * ow;
                const int cand[3] = {best + 1, best + W, best + W + 1};
                for (int k = 0; k < 3; k++) /* PyTorch's rule: strictly greater, or NaN */
                    if (x[cand[k]] > x[best] || isnan(x[cand[k]])) best = cand[k];
                y[oh * OW + ow] = x[best];
                ix[oh * OW + ow] = best;
            }
    }
}

void gd_maxpool2_backward(float* din, const float* dout, const int32_t* idx, int N, int C, int H, int W) {
    const size_t OP = (size_t)(H / 2) * (W / 2);
    for (size_t p = 0; p < (size_t)N * C; p++) {
        float* dx = din + p * H * W;
        for (size_t i = 0; i < OP; i++) dx[idx[p * OP + i]] += dout[p * OP + i];
    }
}
