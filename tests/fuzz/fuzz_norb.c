/* libFuzzer harness: the smallNORB matrix reader must reject any malformed file cleanly. */
#include "gendec/data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* path = fuzz_file(data, size);
    const uint32_t magics[2] = {GD_NORB_MAGIC_BYTE, GD_NORB_MAGIC_INT};
    for (int m = 0; m < 2; m++) {
        gd_error err;
        void* out = NULL;
        int ndim = 0;
        int64_t dims[8];
        if (gd_norb_read_matrix(path, magics[m], &out, &ndim, dims, &err) == GD_OK) {
            int64_t count = 1;
            for (int d = 0; d < ndim; d++) count *= dims[d];
            size_t bytes = (size_t)count * (m == 0 ? 1 : 4);
            volatile unsigned sum = 0;
            for (size_t i = 0; i < bytes; i++) sum += ((const uint8_t*)out)[i];
            gd_free(out);
        } else if (err.code == GD_OK) {
            abort();
        }
    }
    return 0;
}
