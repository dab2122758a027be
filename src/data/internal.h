/* Pieces shared by the files of src/data (not part of the public API). */
#ifndef GENDEC_DATA_INTERNAL_H
#define GENDEC_DATA_INTERNAL_H

#include "gendec/data.h"

/* One idx image file and its label file, as read. */
typedef struct {
    uint8_t* pixels; /* (n, rows, cols) */
    uint8_t* labels; /* (n) */
    int64_t n;
    int rows, cols;
    char image_path[1100], label_path[1100];
    char image_sha[65], label_sha[65];
} gd_idx_pair;

/* Reads the train (test = 0) or test (test = 1) pair of MNIST or Fashion-MNIST (kind) from the folder that
 * opts designates, checking that both files agree in count. with_sha: fill the sha256 fields. */
gd_status gd_data_read_idx_pair(const gd_data_opts* opts, gd_data_kind kind, int test, int with_sha,
                                gd_idx_pair* out, gd_error* err);
void gd_idx_pair_free(gd_idx_pair* p);

/* Loaders per set (gd_dataset_load dispatches). */
gd_status gd_data_load_idx_set(const gd_data_opts* opts, gd_dataset* ds, gd_error* err);
gd_status gd_data_load_norb(const gd_data_opts* opts, gd_dataset* ds, gd_error* err);
gd_status gd_data_make_multimnist(const gd_data_opts* opts, gd_dataset* ds, gd_data_stats* stats, gd_error* err);
gd_status gd_data_make_ts(const gd_data_opts* opts, gd_dataset* ds, gd_error* err);

/* gd_ts_render with the adaptive shortcut switchable (adaptive = 0: sample every pixel; for tests). */
void gd_ts_render_ex(const gd_ts_opts* o, uint64_t seed, uint64_t index, int sign, float* img, float* parts,
                     int adaptive);

#endif
