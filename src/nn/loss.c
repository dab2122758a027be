/* Losses (value, per-row values, gradient in one pass), the Gaussian KL, reparameterisation, gated sum. */
#include <math.h>
#include <string.h>

#include "gendec/nn.h"

/* Mean of the B row losses (computed in double). */
static float mean_rows(const double* sum, int B) { return B > 0 ? (float)(*sum / B) : 0.0f; }

float gd_mse_loss(float* dpred, float* row_loss, const float* pred, const float* target, int B, int D,
                  float dloss) {
    const float g = (float)(2.0 * dloss / ((double)B * D));
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float* p = pred + (size_t)b * D;
        const float* t = target + (size_t)b * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) {
            float e = p[d] - t[d];
            s += (double)e * e;
        }
        if (dpred) {
            float* dp = dpred + (size_t)b * D;
            for (int d = 0; d < D; d++) dp[d] += g * (p[d] - t[d]);
        }
        if (row_loss) row_loss[b] = (float)(s / D);
        total += s / D;
    }
    return mean_rows(&total, B);
}

float gd_l1_loss(float* dpred, float* row_loss, const float* pred, const float* target, int B, int D,
                 float dloss) {
    const float g = (float)(dloss / ((double)B * D));
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float* p = pred + (size_t)b * D;
        const float* t = target + (size_t)b * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) s += fabsf(p[d] - t[d]);
        if (dpred) {
            float* dp = dpred + (size_t)b * D;
            for (int d = 0; d < D; d++) {
                float e = p[d] - t[d];
                dp[d] += e > 0.0f ? g : e < 0.0f ? -g : 0.0f;
            }
        }
        if (row_loss) row_loss[b] = (float)(s / D);
        total += s / D;
    }
    return mean_rows(&total, B);
}

float gd_sigmoid_xent_loss(float* dlogits, float* row_loss, const float* logits, const float* target, int B,
                           int D, float dloss) {
    const float g = (float)(dloss / ((double)B * D));
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float* x = logits + (size_t)b * D;
        const float* t = target + (size_t)b * D;
        float* dx = dlogits ? dlogits + (size_t)b * D : NULL;
        double s = 0.0;
        for (int d = 0; d < D; d++) {
            float e = expf(-fabsf(x[d])); /* in (0, 1]: no overflow */
            s += (double)((x[d] > 0.0f ? x[d] : 0.0f) - x[d] * t[d] + log1pf(e));
            if (dx) {
                float sig = x[d] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
                dx[d] += g * (sig - t[d]);
            }
        }
        if (row_loss) row_loss[b] = (float)(s / D);
        total += s / D;
    }
    return mean_rows(&total, B);
}

float gd_softmax_xent_loss(float* dlogits, float* row_loss, float* probs, const float* logits,
                           const int32_t* labels, int B, int K, float dloss) {
    const float g = (float)(dloss / (double)B);
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float* x = logits + (size_t)b * K;
        float mx = x[0];
        for (int k = 1; k < K; k++) mx = x[k] > mx ? x[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)(x[k] - mx));
        const int y = labels[b];
        const double lse = mx + log(sum);
        const double l = y >= 0 && y < K ? lse - x[y] : NAN;
        if (probs || dlogits)
            for (int k = 0; k < K; k++) {
                float p = (float)(exp((double)(x[k] - mx)) / sum);
                if (probs) probs[(size_t)b * K + k] = p;
                if (dlogits) dlogits[(size_t)b * K + k] += g * (p - (k == y ? 1.0f : 0.0f));
            }
        if (row_loss) row_loss[b] = (float)l;
        total += l;
    }
    return mean_rows(&total, B);
}

float gd_gauss_kl_loss(float* dmu, float* dlogvar, float* seg_kl, const float* mu, const float* logvar,
                       const float* gate, int B, int G, int K, float dloss) {
    const float inv_b = (float)(dloss / (double)B);
    double total = 0.0;
    for (int b = 0; b < B; b++)
        for (int g = 0; g < G; g++) {
            const size_t o = ((size_t)b * G + g) * K;
            const float y = gate ? gate[(size_t)b * G + g] : 1.0f;
            double s = 0.0;
            for (int j = 0; j < K; j++) {
                float m = mu[o + j], lv = logvar[o + j], e = expf(lv);
                s += (double)(1.0f + lv - m * m - e);
                if (dmu) dmu[o + j] += inv_b * y * m;
                if (dlogvar) dlogvar[o + j] += 0.5f * inv_b * y * (e - 1.0f);
            }
            const double kl = -0.5 * s;
            if (seg_kl) seg_kl[(size_t)b * G + g] = (float)kl;
            total += y * kl;
        }
    return mean_rows(&total, B);
}

void gd_gauss_kl_gate_backward(float* dgate, const float* seg_kl, int B, int G, float dloss) {
    const float inv_b = (float)(dloss / (double)B);
    for (size_t i = 0; i < (size_t)B * G; i++) dgate[i] += inv_b * seg_kl[i];
}

void gd_reparam_forward(float* z, const float* mu, const float* logvar, const float* eps, size_t n) {
    for (size_t i = 0; i < n; i++) z[i] = mu[i] + expf(0.5f * logvar[i]) * eps[i];
}

void gd_reparam_backward(float* dmu, float* dlogvar, const float* dz, const float* logvar, const float* eps,
                         size_t n) {
    if (dmu)
        for (size_t i = 0; i < n; i++) dmu[i] += dz[i];
    if (dlogvar)
        for (size_t i = 0; i < n; i++) dlogvar[i] += 0.5f * dz[i] * eps[i] * expf(0.5f * logvar[i]);
}

void gd_gated_sum_forward(float* out, const float* parts, const float* gate, int G, int B, int P) {
    memset(out, 0, sizeof(float) * (size_t)B * P);
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++) {
            const float y = gate[(size_t)b * G + g];
            if (y == 0.0f) continue; /* inactive components need not have been computed */
            const float* x = parts + ((size_t)g * B + b) * P;
            float* o = out + (size_t)b * P;
            for (int p = 0; p < P; p++) o[p] += y * x[p];
        }
}

void gd_gated_sum_backward(float* dparts, float* dgate, const float* dout, const float* parts, const float* gate,
                           int G, int B, int P) {
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++) {
            const float* d = dout + (size_t)b * P;
            const size_t o = ((size_t)g * B + b) * P;
            const float y = gate[(size_t)b * G + g];
            if (dparts && y != 0.0f)
                for (int p = 0; p < P; p++) dparts[o + p] += y * d[p];
            if (dgate) {
                double s = 0.0;
                for (int p = 0; p < P; p++) s += (double)d[p] * parts[o + p];
                dgate[(size_t)b * G + g] += (float)s;
            }
        }
}
