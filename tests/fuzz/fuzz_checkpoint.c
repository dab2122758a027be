/* libFuzzer harness: loading a damaged checkpoint must fail cleanly (the bytes are an HDF5 file written by
 * gd_ckpt_save, then mutated). With GD_FUZZ_WRITE_SEED=<path> set, writes a valid seed file and exits.
 * Since the seal (src/io/seal.c), a mutated file is refused by its CRC-32 before libhdf5 parses it: this
 * harness checks that path (seal parsing, size and checksum checks). Reaching libhdf5 with a mutated file
 * would need a matching checksum; the inputs in tests/fuzz/regressions/checkpoint/ did reach it before the seal
 * (a heap overflow and an endless loop inside libhdf5 1.10.8) and are replayed to show they are now refused. */
#include "gendec/io.h"
#include "fuzz_common.h"

#include <hdf5.h>
#include <string.h>

enum { N_PARAMS = 37, N_MOMENT = 37 };

static gd_status load(const char* path, float* params, float* m, uint64_t* step, gd_error* err) {
    gd_ckpt_array arrays[2] = {{"params", params, N_PARAMS}, {"adam_m", m, N_MOMENT}};
    gd_ckpt_scalar scalars[1] = {{"step", 0}};
    gd_ckpt ck = {.arch = "fuzz mlp 37", .arrays = arrays, .n_arrays = 2, .scalars = scalars, .n_scalars = 1};
    gd_status s = gd_ckpt_load(path, &ck, err);
    *step = scalars[0].value;
    return s;
}

int LLVMFuzzerInitialize(int* argc, char*** argv) {
    (void)argc, (void)argv;
    const char* seed = getenv("GD_FUZZ_WRITE_SEED");
    if (seed) {
        float params[N_PARAMS], m[N_MOMENT];
        for (int i = 0; i < N_PARAMS; i++) params[i] = (float)i * 0.25f, m[i] = (float)-i;
        gd_ckpt_array arrays[2] = {{"params", params, N_PARAMS}, {"adam_m", m, N_MOMENT}};
        gd_ckpt_scalar scalars[1] = {{"step", 12}};
        gd_ckpt ck = {.arch = "fuzz mlp 37", .config_yaml = "seed: 1\n", .arrays = arrays, .n_arrays = 2,
                      .scalars = scalars, .n_scalars = 1};
        gd_error err;
        exit(gd_ckpt_save(seed, &ck, &err) == GD_OK ? 0 : 1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* path = fuzz_file(data, size);
    float params[N_PARAMS], m[N_MOMENT];
    uint64_t step;
    gd_error err;
    gd_error_clear(&err);
    if (load(path, params, m, &step, &err) != GD_OK && (err.code == GD_OK || !err.msg[0])) abort();
    return 0;
}
