/* The CNN baseline as an attack model (gradient source and judged classifier). */
#include "gendec/attack.h"
#include "gendec/model.h"

gd_status gd_attack_cnn_grad(void* cnn, const float* x, const int32_t* labels, int B, float* grad, gd_error* err) {
    gd_cnn* m = cnn;
    int mb = gd_cnn_max_batch(m), D = gd_cnn_get_spec(m)->h * gd_cnn_get_spec(m)->w;
    for (int b = 0; b < B; b += mb) {
        int n = B - b < mb ? B - b : mb;
        gd_status s = gd_cnn_input_grad(m, x + (size_t)b * D, labels + b, grad + (size_t)b * D, NULL, NULL, n, err);
        if (s) return s;
    }
    return GD_OK;
}

gd_status gd_attack_cnn_classify(void* cnn, const float* x, int B, float* probs, gd_error* err) {
    gd_cnn* m = cnn;
    const gd_cnn_spec* sp = gd_cnn_get_spec(m);
    int mb = gd_cnn_max_batch(m), D = sp->h * sp->w;
    for (int b = 0; b < B; b += mb) {
        int n = B - b < mb ? B - b : mb;
        gd_status s = gd_cnn_predict(m, x + (size_t)b * D, probs + (size_t)b * sp->n_classes, n, err);
        if (s) return s;
    }
    return GD_OK;
}

void gd_attack_model_cnn(gd_attack_model* m, gd_cnn* cnn) {
    m->grad = gd_attack_cnn_grad;
    m->classify = gd_attack_cnn_classify;
    m->ctx = cnn;
    m->classes = gd_cnn_get_spec(cnn)->n_classes;
}
