/* core: error records, counter-based random streams, aligned memory, clocks.
 *
 * Every library function that can fail returns a gd_status and fills a caller-owned gd_error; it never
 * prints and never exits. The CLI turns the record into one line:
 *     gendec: <file>:<line>:<col>: <what> (<how to fix>)
 */
#ifndef GENDEC_CORE_H
#define GENDEC_CORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GD_OK = 0,
    GD_EINVAL,   /* an argument or option is impossible */
    GD_ECONFIG,  /* a configuration file or override is wrong */
    GD_EIO,      /* a file could not be opened, read or written */
    GD_EFORMAT,  /* a file exists but its contents are not what they must be */
    GD_ENOMEM,   /* an allocation failed or would exceed a sanity limit */
    GD_EMPI,     /* an MPI call failed or ranks disagree */
    GD_ENUMERIC, /* NaN or Inf where a finite number is needed */
    GD_EINTR,    /* stopped by a signal; state was saved and the work can resume */
    GD_ESTATE    /* the request does not fit the current state (wrong checkpoint kind, ...) */
} gd_status;

/* A caller-owned error record. `file` is the file the problem is in (may be empty), `line`/`col` are
 * 1-based positions in it (0 when they do not apply), `hint` says how to fix it (may be empty). */
typedef struct {
    gd_status code;
    int line, col;
    char file[512];
    char msg[1024];
    char hint[512];
} gd_error;

/* Clears the record to GD_OK. `err` may be NULL. */
void gd_error_clear(gd_error* err);

/* Fills `err` (may be NULL) and returns `code`, so that callers can write `return gd_error_set(...)`.
 * `file` and `hint` may be NULL; `fmt` is printf-style for the message. */
gd_status gd_error_set(gd_error* err, gd_status code, const char* file, int line, int col,
                       const char* hint, const char* fmt, ...) __attribute__((format(printf, 7, 8)));

/* Prefixes the message of an already-set error with context ("while loading X: ..."). */
void gd_error_prefix(gd_error* err, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "<file>:<line>:<col>: <msg> (<hint>)" into buf, omitting empty parts. */
void gd_error_format(const gd_error* err, char* buf, size_t n);

/* A short name for a status ("invalid argument", "I/O error", ...). */
const char* gd_status_name(gd_status code);

/* ---- random numbers -------------------------------------------------------------------------------
 * Philox4x32-10 (Salmon et al., SC 2011): a counter-based generator. A stream is identified by
 * (seed, purpose, index) - never by MPI rank - so item i of an experiment draws the same numbers on any
 * number of ranks. The whole state is four integers and can be checkpointed. */
typedef enum {
    GD_STREAM_INIT = 1,     /* parameter initialisation; index = parameter tensor number */
    GD_STREAM_SHUFFLE = 2,  /* epoch shuffles; index = epoch */
    GD_STREAM_NOISE = 3,    /* reparameterisation noise; index = global sample number within training */
    GD_STREAM_DATA = 4,     /* generated datasets; index = image number */
    GD_STREAM_INFER = 5,    /* classification restarts; index = test image number */
    GD_STREAM_ATTACK = 6,   /* attacks (PGD starts); index = image number */
    GD_STREAM_NEAT = 7,     /* NEAT populations; index = population number */
    GD_STREAM_SPLIT = 8,    /* dataset splits; index = 0 */
    GD_STREAM_USER = 100    /* first free purpose number */
} gd_stream_purpose;

typedef struct {
    uint64_t seed;     /* the experiment seed (Philox key) */
    uint64_t stream;   /* gd_stream_id(purpose, index) */
    uint64_t counter;  /* number of 128-bit blocks consumed */
    uint32_t buf[4];   /* the current block */
    uint32_t used;     /* words of buf already returned (4 = empty) */
    uint32_t has_spare;
    float spare;       /* second normal of a Box-Muller pair */
} gd_rng;

/* Combines a purpose and an item index into one stream number (bijective for index < 2^56). */
uint64_t gd_stream_id(uint32_t purpose, uint64_t index);

/* Starts the stream (seed, purpose, index) at its beginning. */
void gd_rng_init(gd_rng* rng, uint64_t seed, uint32_t purpose, uint64_t index);

/* The next 32 random bits. */
uint32_t gd_rng_u32(gd_rng* rng);

/* A uniform float in [0, 1) with 24 random bits. */
float gd_rng_uniform(gd_rng* rng);

/* A uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint32_t gd_rng_below(gd_rng* rng, uint32_t n);

/* A standard normal float (Box-Muller; pairs are cached in the state). */
float gd_rng_normal(gd_rng* rng);

/* Fills out[0..n) with standard normals times `scale`. */
void gd_rng_fill_normal(gd_rng* rng, float* out, size_t n, float scale);

/* Fisher-Yates shuffle of idx[0..n). */
void gd_rng_shuffle(gd_rng* rng, uint32_t* idx, size_t n);

/* One raw Philox4x32-10 block: exposed for the known-answer test. */
void gd_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* ---- memory ---------------------------------------------------------------------------------------- */

/* 64-byte aligned allocation, zero-filled; NULL on failure or when `bytes` is 0. Free with gd_free. */
void* gd_alloc(size_t bytes);
void gd_free(void* p);

/* Multiplies a*b*c... checking for overflow; returns 0 and sets *out on success, -1 on overflow. */
int gd_mul_overflows(size_t a, size_t b, size_t* out);

/* ---- time ------------------------------------------------------------------------------------------ */

/* Monotonic wall-clock seconds. */
double gd_now(void);

/* Current UTC time as ISO 8601 ("2026-11-29T17:43:59Z") into buf (at least 21 bytes). */
void gd_utc_iso8601(char* buf, size_t n);

#endif
