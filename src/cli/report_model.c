/* What gendec report computes with the trained models (the report module itself only reads result files):
 * the CNN's answers on the evaluated images (cnn.h5), the component and class names of the data set, the
 * generations of Fig. 3 and 4 (model.h5), and Fig. 2 through `gendec sample`. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gendec/data.h"
#include "gendec/io.h"
#include "gendec/model.h"
#include "gendec/report.h"
#include "report_model.h"

void cli_report_extra_free(gd_report_extra* x) {
    free((void*)x->inputs);
    free((void*)x->gen_final);
    free((void*)x->gen_parts);
    memset(x, 0, sizeof *x);
}

static int exists(const char* path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The CNN's argmax on x (N, D) in batches. */
static gd_status cnn_predict(const char* path, const float* x, int64_t N, int D, int32_t* pred, gd_error* err) {
    gd_cnn* m = NULL;
    const int B = 256;
    gd_status s = gd_cnn_load(path, B, &m, err);
    if (s) return s;
    const gd_cnn_spec* sp = gd_cnn_get_spec(m);
    if (sp->h * sp->w != D) {
        gd_cnn_free(m);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, "re-train the CNN on this data set",
                            "the CNN takes %d x %d images, the evaluated images have %d pixels", sp->h, sp->w, D);
    }
    int C = sp->n_classes;
    float* probs = malloc((size_t)B * C * sizeof(float));
    if (!probs) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (int64_t i = 0; !s && i < N; i += B) {
        int b = (int)(N - i < B ? N - i : B);
        s = gd_cnn_predict(m, x + (size_t)i * D, probs, b, err);
        for (int r = 0; !s && r < b; r++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (probs[(size_t)r * C + c] > probs[(size_t)r * C + best]) best = c;
            pred[i + r] = best;
        }
    }
    free(probs);
    gd_cnn_free(m);
    return s;
}

/* The generations of the first m evaluated images x (m, D) from model.h5 and eval.h5's z* and y†. */
static gd_status generations(const char* model_path, const char* eval_path, const float* x, int m, int D,
                             gd_report_extra* ex, gd_error* err) {
    if (m < 1) return GD_OK;
    gd_cvae* cv = NULL;
    gd_status s = gd_cvae_load(model_path, m, 0, &cv, err);
    if (s) return s;
    const gd_cvae_spec* sp = gd_cvae_get_spec(cv);
    int n = sp->n, nk = sp->n * sp->k;
    if (sp->h * sp->w != D) {
        gd_cvae_free(cv);
        return gd_error_set(err, GD_EFORMAT, model_path, 0, 0, NULL, "the model makes %d x %d images, the data has %d pixels",
                            sp->h, sp->w, D);
    }
    float* z = malloc((size_t)m * nk * sizeof(float));
    float* y = malloc((size_t)m * n * sizeof(float));
    float* final = malloc((size_t)m * D * sizeof(float));
    float* gparts = malloc((size_t)m * n * D * sizeof(float));
    float* inputs = malloc((size_t)m * D * sizeof(float));
    uint8_t* ydec = malloc((size_t)m * n);
    if (!z || !y || !final || !gparts || !inputs || !ydec)
        s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    gd_h5* f = NULL;
    if (!s) s = gd_h5_open(eval_path, "eval", MPI_COMM_NULL, &f, err);
    size_t dz[2] = {0, (size_t)nk}, dy[2] = {0, (size_t)n};
    if (!s) s = gd_h5_read_rows(f, "eval/z_star", GD_F32, 2, dz, 0, (size_t)m, z, err);
    if (!s) s = gd_h5_read_rows(f, "eval/y_dec", GD_U8, 2, dy, 0, (size_t)m, ydec, err);
    gd_h5_close(f);
    for (int i = 0; !s && i < m * n; i++) y[i] = ydec[i] ? 1.0f : 0.0f;
    if (!s) s = gd_cvae_decode(cv, z, y, final, m, 0, err);
    if (!s) s = gd_cvae_decode_parts(cv, z, gparts, m, err);
    if (!s) memcpy(inputs, x, (size_t)m * D * sizeof(float));
    free(z);
    free(y);
    free(ydec);
    gd_cvae_free(cv);
    if (s) {
        free(final);
        free(gparts);
        free(inputs);
        return s;
    }
    ex->n_comp = n;
    ex->inputs = inputs;
    ex->gen_final = final;
    ex->gen_parts = gparts;
    ex->n_gen = m;
    return GD_OK;
}

gd_status cli_report_prepare(gd_report* r, size_t run, int n_examples, gd_report_extra* ex, gd_error* err) {
    memset(ex, 0, sizeof *ex);
    ex->run = run;
    const gd_report_run* info = gd_report_run_info(r, run);
    if (!info || !info->has_eval) return GD_OK;
    char data_path[1200], eval_path[1200], model_path[1200], cnn_path[1200];
    snprintf(eval_path, sizeof eval_path, "%s/eval.h5", info->dir);
    snprintf(model_path, sizeof model_path, "%s/model.h5", info->dir);
    snprintf(cnn_path, sizeof cnn_path, "%s/cnn.h5", info->dir);
    int64_t* index = NULL;
    int64_t N = 0;
    gd_status s = gd_report_eval_images(r, run, data_path, sizeof data_path, &index, &N, err);
    if (s) return s;
    if (!data_path[0] || !exists(data_path)) {
        if (data_path[0])
            fprintf(stderr, "gendec report: %s: the data file '%s' named by eval/data is not here: no CNN answers "
                            "or generations for this run (run 'gendec data prepare' on its config to rebuild it)\n",
                    eval_path, data_path);
        else
            fprintf(stderr, "gendec report: %s names no data file (attribute eval/data): no CNN answers or "
                            "generations for this run\n", eval_path);
        gd_free(index);
        return GD_OK;
    }
    gd_dataset ds;
    memset(&ds, 0, sizeof ds);
    s = gd_dataset_load_h5(data_path, &ds, NULL, 0, NULL, err);
    if (s) {
        gd_free(index);
        return s;
    }
    const char* comps[GD_DATA_MAX_COMPONENTS];
    const char* classes[GD_DATA_MAX_CLASSES];
    for (int i = 0; i < ds.n_components; i++) comps[i] = ds.component_names[i];
    for (int i = 0; i < ds.n_classes; i++) classes[i] = ds.class_names[i];
    s = gd_report_set_names(r, run, comps, ds.n_components, classes, ds.n_classes, err);
    const int D = ds.h * ds.w;
    float* x = malloc((size_t)(N ? N : 1) * D * sizeof(float));
    if (!s && !x) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
    for (int64_t i = 0; !s && i < N; i++) {
        if (index[i] < 0 || index[i] >= ds.n)
            s = gd_error_set(err, GD_EFORMAT, eval_path, 0, 0, "the data file changed since the evaluation: re-run it",
                             "eval/index %lld is outside the %lld images of %s", (long long)index[i], (long long)ds.n,
                             data_path);
        else memcpy(x + (size_t)i * D, ds.images + (size_t)index[i] * D, (size_t)D * sizeof(float));
    }
    if (!s && info->has_cnn) {
        int32_t* pred = malloc((size_t)(N ? N : 1) * sizeof(int32_t));
        if (!pred) s = gd_error_set(err, GD_ENOMEM, NULL, 0, 0, NULL, "out of memory");
        if (!s) s = cnn_predict(cnn_path, x, N, D, pred, err);
        if (!s) s = gd_report_set_cnn(r, run, pred, N, cnn_path, err);
        free(pred);
    }
    if (!s && info->has_model) {
        int m = (int)(N < n_examples ? N : n_examples);
        s = generations(model_path, eval_path, x, m, D, ex, err);
        ex->h = ds.h;
        ex->w = ds.w;
    }
    free(x);
    gd_free(index);
    gd_dataset_free(&ds);
    return s;
}
