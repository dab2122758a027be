/* Runs a fuzz harness over files named on the command line (seed corpora and saved crashes), so every build
 * - not only the libFuzzer one - replays them as regression tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

static int replay_file(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t* buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

/* Replays a file, or every regular file of a folder (not recursive). Returns the number of files run. */
static int replay(const char* path, int* failures) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s does not exist\n", path);
        (*failures)++;
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        *failures += replay_file(path);
        return 1;
    }
    DIR* d = opendir(path);
    int count = 0;
    struct dirent* e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            *failures += replay_file(full);
            count++;
        }
    }
    if (d) closedir(d);
    return count;
}

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int failures = 0, count = 0;
    for (int i = 1; i < argc; i++) count += replay(argv[i], &failures);
    printf("replayed %d inputs, %d passed, %d failed\n", count, count - failures, failures);
    return failures || count == 0 ? 1 : 0;
}
