/* libFuzzer harness: the idx reader (raw or gzip) must reject any malformed file cleanly. */
#include "gendec/data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* path = fuzz_file(data, size);
    gd_error err;
    uint8_t* pixels = NULL;
    int64_t n = 0;
    int rows = 0, cols = 0;
    if (gd_idx_read_images(path, &pixels, &n, &rows, &cols, &err) == GD_OK) {
        /* Touch every byte: a wrong length check shows up as an ASan report here. */
        volatile unsigned sum = 0;
        for (int64_t i = 0; i < n * rows * cols; i++) sum += pixels[i];
        gd_free(pixels);
    } else if (err.code == GD_OK) {
        abort();
    }
    uint8_t* labels = NULL;
    if (gd_idx_read_labels(path, 10, &labels, &n, &err) == GD_OK) {
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= 10) abort();
        gd_free(labels);
    }
    return 0;
}
