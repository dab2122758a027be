/* Error records format as "<file>:<line>:<col>: <what> (<how to fix>)". */
#include "gendec/core.h"
#include "gd_test.h"

#include <string.h>

int main(void) {
    gd_error err;
    gd_error_clear(&err);
    CHECK(err.code == GD_OK);
    char buf[2048];
    gd_status s = gd_error_set(&err, GD_ECONFIG, "exp.yaml", 12, 5, "use a number", "key 'lr' must be %s", "a float");
    CHECK(s == GD_ECONFIG);
    gd_error_format(&err, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "exp.yaml:12:5: key 'lr' must be a float (use a number)") == 0, "got '%s'", buf);
    gd_error_prefix(&err, "loading %s", "config");
    gd_error_format(&err, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "exp.yaml:12:5: loading config: key 'lr' must be a float (use a number)") == 0, "got '%s'", buf);
    gd_error_set(&err, GD_EIO, NULL, 0, 0, NULL, "disk full");
    gd_error_format(&err, buf, sizeof buf);
    CHECK(strcmp(buf, "disk full") == 0);
    gd_error_set(&err, GD_EFORMAT, "a.idx", 0, 0, NULL, "bad magic");
    gd_error_format(&err, buf, sizeof buf);
    CHECK(strcmp(buf, "a.idx: bad magic") == 0);
    char small[8];
    gd_error_format(&err, small, sizeof small);
    CHECK(strlen(small) == 7);
    CHECK(gd_error_set(NULL, GD_EINVAL, NULL, 0, 0, NULL, "x") == GD_EINVAL);
    size_t out;
    CHECK(gd_mul_overflows(SIZE_MAX / 2, 3, &out) == -1);
    CHECK(gd_mul_overflows(1000, 1000, &out) == 0 && out == 1000000);
    void* p = gd_alloc(100);
    CHECK(p && ((uintptr_t)p % 64) == 0 && ((unsigned char*)p)[99] == 0);
    gd_free(p);
    return gd_test_done("core/error");
}
