/* libFuzzer harness: the YAML experiment loader must reject any text cleanly or resolve it fully. */
#include "gendec/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    gd_config* cfg = NULL;
    gd_error err;
    gd_error_clear(&err);
    if (gd_config_parse(&cfg, (const char*)data, size, "fuzz.yaml", NULL, 0, &err) == GD_OK) {
        /* A config that loaded must emit, and its emission must load to the same hash. */
        char* text = gd_config_emit(cfg);
        gd_config* again = NULL;
        if (!text || gd_config_parse(&again, text, strlen(text), "emitted.yaml", NULL, 0, &err) != GD_OK) abort();
        if (gd_config_hash(again) != gd_config_hash(cfg)) abort();
        gd_config_free(again);
        free(text);
        gd_config_free(cfg);
    } else if (err.code == GD_OK || err.msg[0] == '\0') {
        abort(); /* a failure must say what is wrong */
    }
    return 0;
}
