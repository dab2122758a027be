/* io: atomic HDF5 output with gendec's standard attributes, typed datasets and attributes, collective
 * per-rank row writes, model-agnostic checkpoints, whole-file atomic writes, and PNG images / grids / plots.
 *
 * Every output file is written as "<path>.tmp.<pid>" in the folder of <path> and renamed to <path> only by
 * gd_h5_commit (after complete=1 is written, the file closed and fsync'ed). A failure anywhere leaves any
 * previous file at <path> untouched and removes the temporary. Readers (gd_h5_open) refuse a file whose
 * integrity seal (a CRC-32 in the user block, see below) does not match, and one without complete=1 or of
 * another kind. The schema and conventions: docs/hdf5-schema.md.
 *
 * HDF5's own error printing is silenced inside these functions; failures come back as gd_error records that
 * name the file (and dataset) and say how to fix them. Serial files are written through a small POSIX file
 * driver (src/io/vfd.c) so that a full disk or `ulimit -f` gives GD_EIO instead of crashing HDF5 1.10; the
 * process should ignore SIGXFSZ (the CLI's job) so that `ulimit -f` is an error and not a kill.
 * A process killed while writing leaves its "<path>.tmp.<pid>" behind (never a file at <path>); such leftovers
 * can be deleted. Not thread-safe (HDF5 is built without thread safety).
 *
 * Parallel mode: gd_h5_create / gd_h5_open with a communicator of more than one rank open the file with the
 * MPI-IO driver; then EVERY function taking that gd_h5* is collective (all ranks call it in the same order with
 * the same names, shapes and attribute values) unless it says otherwise. With MPI_COMM_NULL (or a one-rank
 * communicator) the file is serial and private to the calling process; MPI need not be initialised then.
 * Known limit of parallel mode (MPI-IO driver, HDF5 1.10.8): when a write fails there (disk full, `ulimit -f`),
 * the error is returned and the temporary removed as usual, but HDF5 then crashes in MPI_Finalize (a failed
 * H5Fclose leaves a dangling id; fixed in HDF5 1.14.1). Files that must survive a full disk cleanly should be
 * written serially (e.g. gather to rank 0). */
#ifndef GENDEC_IO_H
#define GENDEC_IO_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gendec/core.h"

/* ---- HDF5 files ------------------------------------------------------------------------------------ */

typedef struct gd_h5 gd_h5; /* an open HDF5 file (opaque) */

/* Element types of datasets (stored little-endian, native layout). */
typedef enum {
    GD_F32 = 1, /* float    -> H5T_IEEE_F32LE */
    GD_F64,     /* double   -> H5T_IEEE_F64LE */
    GD_I32,     /* int32_t  -> H5T_STD_I32LE */
    GD_I64,     /* int64_t  -> H5T_STD_I64LE */
    GD_U8,      /* uint8_t  -> H5T_STD_U8LE */
    GD_U64      /* uint64_t -> H5T_STD_U64LE */
} gd_dtype;

#define GD_H5_MAX_RANK 8

/* Bytes per element of a type (0 for an unknown value). */
size_t gd_dtype_size(gd_dtype t);

/* The name of a type ("float32", "float64", "int32", "int64", "uint8", "uint64"). */
const char* gd_dtype_name(gd_dtype t);

/* Creates "<path>.tmp.<pid>" (pid of rank 0) for writing and stores the standard attributes on the root group:
 * gendec_version, git_revision, config_yaml (`config_yaml`, may be NULL = ""), world_size (size of
 * MPI_COMM_WORLD when MPI is initialised, else 1), created (UTC ISO 8601), kind (`kind`, e.g. "model", "eval",
 * "data", "checkpoint"; non-empty, <= 63 chars) and complete=0. `comm`: MPI_COMM_NULL for a serial file, or a
 * communicator (collective call; parallel MPI-IO when it has > 1 rank). The folder of `path` must exist.
 * On success *out must later go to gd_h5_commit, gd_h5_abort or gd_h5_close. */
gd_status gd_h5_create(const char* path, const char* kind, const char* config_yaml, MPI_Comm comm, gd_h5** out,
                       gd_error* err);

/* Sets complete=1, flushes, closes, fsyncs and renames the temporary to the final path (rank 0 renames in
 * parallel mode, then all ranks agree on the outcome). Frees f in every case; on failure the temporary is
 * removed and any previous file at the final path is left as it was. */
gd_status gd_h5_commit(gd_h5* f, gd_error* err);

/* Closes a file being written without committing it and deletes its temporary. Frees f; NULL is a no-op. */
void gd_h5_abort(gd_h5* f);

/* Opens a committed file for reading. Refuses with GD_EFORMAT a file that is not HDF5, is truncated or lacks
 * complete=1 ("<path>: not a complete gendec <kind> file (written by an interrupted run?); delete it and re-run
 * the stage"), and with GD_ESTATE a complete file whose kind attribute differs from `kind` (NULL accepts any
 * kind). A missing or unreadable file is GD_EIO.
 * `comm`: MPI_COMM_NULL for serial reading (any number of processes may do this at once), else collective. */
gd_status gd_h5_open(const char* path, const char* kind, MPI_Comm comm, gd_h5** out, gd_error* err);

/* Closes a file from gd_h5_open; on a file from gd_h5_create that was not committed, same as gd_h5_abort.
 * NULL is a no-op. */
void gd_h5_close(gd_h5* f);

/* The final path of the file (not the temporary). */
const char* gd_h5_path(const gd_h5* f);

/* The standard attributes of a file (config_yaml is read separately: gd_h5_config_yaml). */
typedef struct {
    char kind[64];
    char gendec_version[64];
    char git_revision[128];
    char created[64];
    int64_t world_size;
    int64_t complete;
} gd_h5_meta;

/* Reads the standard attributes of the root group; GD_EFORMAT naming the file and attribute when one is
 * missing or of the wrong type. Not collective (any rank may call it). */
gd_status gd_h5_meta_read(gd_h5* f, gd_h5_meta* meta, gd_error* err);

/* The config_yaml attribute as a new NUL-terminated string (free with free()). Not collective. */
gd_status gd_h5_config_yaml(gd_h5* f, char** yaml, gd_error* err);

/* ---- datasets --------------------------------------------------------------------------------------
 * Names are paths relative to the root ("params/data", "eval/y_star"); missing groups are created. */

/* Writes a whole dataset `name` of `rank` (0..GD_H5_MAX_RANK; 0 = scalar) dimensions dims[0..rank) from
 * `data` (row-major, prod(dims) elements of type t). deflate_level 0 stores it contiguous; 1..9 stores it
 * chunked (about 1 MiB chunks along the first dimension) and deflate-compressed. The dataset must not exist.
 * Parallel mode: collective; the data of rank 0 is written (other ranks' `data` is ignored, may be NULL). */
gd_status gd_h5_write(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, const void* data,
                      int deflate_level, gd_error* err);

/* Writes rows [row_begin, row_begin + row_count) of the dataset `name` of global shape dims[0..rank)
 * (rank >= 1; rows run along dims[0]) from `data` ((row_count, dims[1], ..., dims[rank-1]) elements of type t).
 * The dataset is created (contiguous, unwritten rows read back as 0) when it does not exist, else its type and
 * shape must match. Parallel mode: collective, each rank writes its own block (row_count may be 0) with one
 * H5FD_MPIO_COLLECTIVE hyperslab write. Serial mode: may be called repeatedly to fill the rows in pieces. */
gd_status gd_h5_write_rows(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, size_t row_begin,
                           size_t row_count, const void* data, gd_error* err);

/* 1 when the last gd_h5_write_rows on f was done collectively by MPI-IO (H5Pget_mpio_actual_io_mode reported
 * a collective mode), 0 otherwise (serial files always 0). For tests and diagnostics. */
int gd_h5_last_write_collective(const gd_h5* f);

/* 1 if the object (group or dataset) at `name` exists, 0 if not. Not collective. */
int gd_h5_exists(gd_h5* f, const char* name);

/* The type and shape of dataset `name`: *t, *rank and dims[0..GD_H5_MAX_RANK). GD_EFORMAT if it is missing,
 * of a type gendec does not use, or of rank > GD_H5_MAX_RANK. Not collective. */
gd_status gd_h5_info(gd_h5* f, const char* name, gd_dtype* t, int* rank, size_t* dims, gd_error* err);

/* Reads the whole dataset `name` into `out`, checking that it has exactly type t, rank `rank` and shape
 * dims[0..rank); GD_EFORMAT naming the file and dataset (with both shapes) otherwise. Not collective (each rank
 * reads independently). */
gd_status gd_h5_read(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, void* out,
                     gd_error* err);

/* Reads rows [row_begin, row_begin + row_count) of dataset `name`, which must have type t, rank `rank` and
 * dims[1..rank) as given (dims[0] is the expected row count, 0 = any, and the block must lie inside). `out`
 * holds (row_count, dims[1], ...) elements. Not collective. */
gd_status gd_h5_read_rows(gd_h5* f, const char* name, gd_dtype t, int rank, const size_t* dims, size_t row_begin,
                          size_t row_count, void* out, gd_error* err);

/* Reads dataset `name` of type t and rank `rank`, whatever its shape, into a new gd_alloc'ed buffer *out
 * (free with gd_free; NULL when it has no elements) and its shape into dims[0..rank). Refuses (GD_EFORMAT)
 * before allocating when it has more than max_elems elements. Not collective. */
gd_status gd_h5_read_alloc(gd_h5* f, const char* name, gd_dtype t, int rank, size_t* dims, size_t max_elems,
                           void** out, gd_error* err);

/* The names of the direct members (groups and datasets) of group `group` ("" or "/" = root), in name order,
 * as *names[0..*n) (free with gd_h5_names_free). Not collective. */
gd_status gd_h5_list(gd_h5* f, const char* group, char*** names, size_t* n, gd_error* err);
void gd_h5_names_free(char** names, size_t n);

/* ---- attributes ------------------------------------------------------------------------------------
 * `obj` is the path of a group or dataset ("" or "/" = root group); groups are created as needed on write.
 * Writing replaces an existing attribute of the same name. Strings are stored fixed-length, NUL-terminated,
 * UTF-8 (never variable-length: libhdf5 1.10.8 can loop forever on a damaged global heap). */

gd_status gd_h5_attr_set_str(gd_h5* f, const char* obj, const char* name, const char* value, gd_error* err);
gd_status gd_h5_attr_set_i64(gd_h5* f, const char* obj, const char* name, int64_t value, gd_error* err);
gd_status gd_h5_attr_set_u64(gd_h5* f, const char* obj, const char* name, uint64_t value, gd_error* err);
gd_status gd_h5_attr_set_f64(gd_h5* f, const char* obj, const char* name, double value, gd_error* err);
/* A 1-D attribute of n doubles (e.g. a grid of ε values). */
gd_status gd_h5_attr_set_f64s(gd_h5* f, const char* obj, const char* name, const double* v, size_t n,
                              gd_error* err);

/* Readers: GD_EFORMAT naming file, object and attribute when it is missing or of another type/size.
 * gd_h5_attr_get_str copies into buf[0..n) and fails if it does not fit; the _alloc variant returns a new
 * string (free with free()), refusing values over 64 MiB. Integer readers accept any stored integer type that
 * fits; gd_h5_attr_get_f64 accepts any float or integer. Not collective. */
gd_status gd_h5_attr_get_str(gd_h5* f, const char* obj, const char* name, char* buf, size_t n, gd_error* err);
gd_status gd_h5_attr_get_str_alloc(gd_h5* f, const char* obj, const char* name, char** value, gd_error* err);
gd_status gd_h5_attr_get_i64(gd_h5* f, const char* obj, const char* name, int64_t* value, gd_error* err);
gd_status gd_h5_attr_get_u64(gd_h5* f, const char* obj, const char* name, uint64_t* value, gd_error* err);
gd_status gd_h5_attr_get_f64(gd_h5* f, const char* obj, const char* name, double* value, gd_error* err);
/* Reads a 1-D float attribute of exactly n values. */
gd_status gd_h5_attr_get_f64s(gd_h5* f, const char* obj, const char* name, double* v, size_t n, gd_error* err);
/* 1 if the attribute exists on obj, 0 if not (or obj does not exist). */
int gd_h5_attr_exists(gd_h5* f, const char* obj, const char* name);

/* ---- checkpoints -----------------------------------------------------------------------------------
 * Model-agnostic: a set of named float arrays (weights, Adam moments, ...) and named 64-bit scalars (step, RNG
 * state words, ...), stored under the group "/ckpt" with the attribute ckpt/arch (an architecture signature
 * string the model builds, e.g. "cvae mlp n=10 k=8 enc=784-500-500"): loading into another architecture
 * is refused. Schema in docs/hdf5-schema.md. */

typedef struct {
    const char* name; /* dataset ckpt/<name>, e.g. "params", "adam_m" */
    float* data;      /* (n) the caller's buffer: read on save, filled on load */
    size_t n;
} gd_ckpt_array;

typedef struct {
    const char* name; /* attribute of /ckpt, e.g. "step", "rng_counter" */
    uint64_t value;   /* read on save, filled on load (store int64 values as their bit pattern) */
} gd_ckpt_scalar;

typedef struct {
    const char* kind;        /* file kind; NULL = "checkpoint" */
    const char* arch;        /* architecture signature; must match exactly on load */
    const char* config_yaml; /* resolved config text stored on save (NULL = ""); ignored on load */
    gd_ckpt_array* arrays;
    size_t n_arrays;
    gd_ckpt_scalar* scalars;
    size_t n_scalars;
} gd_ckpt;

/* Writes the checkpoint into an open file being written (group /ckpt), so that a stage can add its own
 * datasets (e.g. training metrics) to the same file before gd_h5_commit. Parallel mode: collective, rank 0's
 * data is written. */
gd_status gd_ckpt_write(gd_h5* f, const gd_ckpt* ck, gd_error* err);

/* Reads every array (its stored length must equal n) and scalar named in ck from an open file, after checking
 * ckpt/arch == ck->arch: GD_ESTATE naming both architectures when it differs, GD_EFORMAT naming the file and the
 * array or scalar that is missing or of another size. */
gd_status gd_ckpt_read(gd_h5* f, gd_ckpt* ck, gd_error* err);

/* One call: gd_h5_create(path, kind, config) (serial) + gd_ckpt_write + gd_h5_commit. Call on one rank only. */
gd_status gd_ckpt_save(const char* path, const gd_ckpt* ck, gd_error* err);

/* One call: gd_h5_open(path, kind) (serial) + gd_ckpt_read + close. A truncated or incomplete file:
 * GD_EFORMAT; a file of another kind or architecture: GD_ESTATE. */
gd_status gd_ckpt_load(const char* path, gd_ckpt* ck, gd_error* err);

/* The ckpt/arch string of an open checkpoint file into buf[0..n) (to build the model before loading). */
gd_status gd_ckpt_arch(gd_h5* f, char* buf, size_t n, gd_error* err);

/* ---- the integrity seal ---------------------------------------------------------------------------- */

/* Every file gd_h5_create writes starts with a GD_H5_SEAL_BYTES HDF5 user block that gd_h5_commit fills with a
 * CRC-32 of the rest of the file (src/io/seal.c documents the layout); gd_h5_open checks it before libhdf5
 * parses the file, because libhdf5 1.10 is not memory-safe on damaged files. */
#define GD_H5_SEAL_BYTES 512

/* Writes the seal of a closed HDF5 file that was created with a GD_H5_SEAL_BYTES user block. */
gd_status gd_h5_seal(const char* path, gd_error* err);

/* GD_OK when path carries a seal that matches its size and contents; GD_EFORMAT (damaged, truncated, not
 * sealed) or GD_EIO otherwise. Reads the whole file once. */
gd_status gd_h5_seal_check(const char* path, gd_error* err);

/* ---- other files ----------------------------------------------------------------------------------- */

/* Writes bytes[0..len) to path atomically (temporary "<path>.tmp.<pid>", fsync, rename): for reports, tables,
 * sbatch scripts. On failure the previous file is intact and the temporary removed. */
gd_status gd_file_write_atomic(const char* path, const void* bytes, size_t len, gd_error* err);

/* ---- PNG ------------------------------------------------------------------------------------------- */

/* Writes an 8-bit image: pix (h, w, channels) interleaved, channels 1 (gray) or 3 (RGB), sides <= 32768.
 * Atomic (temporary "<path>.tmp.<pid>", fsync, rename). */
gd_status gd_png_write(const char* path, const uint8_t* pix, int h, int w, int channels, gd_error* err);

/* Reads an 8-bit gray or RGB PNG (palette/16-bit/alpha are converted: alpha dropped) into a new gd_alloc'ed
 * buffer *pix (h, w, channels); refuses images over 2^26 pixels. For tests and tools. */
gd_status gd_png_read(const char* path, uint8_t** pix, int* h, int* w, int* channels, gd_error* err);

typedef struct {
    int rows, cols;            /* grid size; cells filled row by row, rows*cols >= n */
    int pad;                   /* pixels between cells and around the grid (after scaling) */
    int scale;                 /* integer magnification of each image (0 or 1 = none) */
    const char* const* labels; /* NULL, or n short strings (NULL entries allowed) drawn under each cell */
    float background;          /* gray level in [0,1] of padding and empty cells */
} gd_png_grid;

/* Writes n images imgs (n, channels, h, w) (planar, values clamped to [0,1], NaN as 0; channels 1 or 3) as a
 * grid, gray or RGB like the images. Labels use the built-in 5x7 font: digits, A-Z (lower case drawn as upper
 * case), space . % - : + = ( ) / _ , and '?' for anything else; they are cut at 32 characters, the cells widen to
 * fit the widest label, and they are drawn in black on a light background, white on a dark one. Atomic. */
gd_status gd_png_write_grid(const char* path, const float* imgs, int n, int channels, int h, int w,
                            const gd_png_grid* opt, gd_error* err);

typedef struct {
    const char* label;   /* legend text (NULL = no legend entry) */
    const float* x;      /* (n) x values, or NULL for 0, 1, ..., n-1 */
    const float* y;      /* (n) the line (e.g. the mean) */
    const float* lo;     /* (n) lower edge of a shaded band (e.g. mean - std), or NULL */
    const float* hi;     /* (n) upper edge of the band, or NULL */
    size_t n;
    uint32_t rgb;        /* 0xRRGGBB; 0 picks the next colour of a built-in palette */
} gd_plot_series;

typedef struct {
    int width, height;           /* pixels (0 = 640 x 480) */
    const char* title;           /* NULL = none */
    const char* xlabel, *ylabel; /* NULL = none */
    float ymin, ymax;            /* y range; ymin == ymax = from the data */
} gd_plot;

/* Draws a line plot of ns series to an RGB PNG: shaded bands (drawn first), lines (non-finite points leave gaps),
 * x and y axes widened to round ticks with numbers and grid lines, title and axis labels in the 5x7 font, and a
 * legend placed where it hides the fewest data pixels. Atomic. */
gd_status gd_png_plot(const char* path, const gd_plot_series* series, size_t ns, const gd_plot* opt,
                      gd_error* err);

#endif
