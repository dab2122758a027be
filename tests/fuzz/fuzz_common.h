/* Shared by the libFuzzer harnesses: the fuzz input written to a per-process scratch file, for readers
 * that take a path. */
#ifndef GD_FUZZ_COMMON_H
#define GD_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data[0..size) to a scratch file and returns its path (the same path on every call). */
static const char* fuzz_file(const uint8_t* data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/gendec-fuzz-%d.bin", dir, (int)getpid());
    }
    FILE* f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path;
}

#endif
