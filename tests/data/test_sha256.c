/* SHA-256 against the FIPS 180-4 / NIST example vectors, in one piece and split at awkward places. */
#include <string.h>

#include "gd_test.h"
#include "gendec/data.h"

static void hex(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const char* msg, size_t n, size_t split, const char* want) {
    gd_sha256_ctx c;
    uint8_t d[32];
    char h[65];
    gd_sha256_init(&c);
    gd_sha256_update(&c, msg, split);
    gd_sha256_update(&c, msg + split, n - split);
    gd_sha256_final(&c, d);
    hex(d, h);
    CHECK_MSG(!strcmp(h, want), "sha256 of %zu bytes (split %zu) = %s, want %s", n, split, h, want);
}

int main(void) {
    const char* l448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (size_t split = 0; split <= 3; split++) {
        check("", 0, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        check("abc", 3, split, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    for (size_t split = 0; split <= strlen(l448); split += 7)
        check(l448, strlen(l448), split, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a' in uneven pieces */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    gd_sha256_ctx c;
    gd_sha256_init(&c);
    size_t done = 0, step = 1;
    while (done < sizeof a) {
        size_t k = step < sizeof a - done ? step : sizeof a - done;
        gd_sha256_update(&c, a + done, k);
        done += k;
        step = step * 3 % 1001 + 1;
    }
    uint8_t d[32];
    char h[65];
    gd_sha256_final(&c, d);
    hex(d, h);
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    /* the file variant */
    char path[600];
    snprintf(path, sizeof path, "%s/abc.txt", gd_test_tmpdir());
    FILE* f = fopen(path, "wb");
    fputs("abc", f);
    fclose(f);
    gd_error err;
    CHECK_OK(gd_sha256_file(path, h, &err), &err);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(gd_sha256_file("/nonexistent/x", h, &err) == GD_EIO && strstr(err.file, "/nonexistent/x"));
    remove(path);
    rmdir(gd_test_tmpdir());
    return gd_test_done("test_sha256");
}
