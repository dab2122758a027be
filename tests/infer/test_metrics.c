/* The accuracy definitions on hand-made outputs. */
#include <math.h>

#include "gd_test.h"
#include "gendec/infer.h"

int main(void) {
    enum { n = 4 };
    /* 6 images: labels, y*, y†, noise */
    const uint8_t label[6][n] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}, {0, 0, 0, 0}};
    const float ystar[6][n] = {{0.9f, 0.1f, 0, 0},     /* argmax ok, answer ok */
                               {0.8f, 0.7f, 0, 0},     /* argmax wrong; answer {0,1} wrong */
                               {0, 0, 0.9f, 0},        /* rejected: argmax ok, exact wrong */
                               {0.6f, 0.7f, 0.1f, 0},  /* top2 ok, answer ok */
                               {0.9f, 0, 0.8f, 0.1f},  /* top2 wrong, answer {2,3} ok */
                               {0.1f, 0, 0, 0}};       /* label 0 (fooling image), rejected: exact ok */
    const uint8_t ydec[6][n] = {{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}, {0, 0, 0, 0}};
    const uint8_t noise[6] = {0, 0, 1, 0, 0, 1};
    gd_infer_metrics m;
    gd_infer_metrics_init(&m, n);
    gd_infer_metrics_add(&m, &label[0][0], &ystar[0][0], &ydec[0][0], noise, 3);
    gd_infer_metrics_add(&m, &label[3][0], &ystar[3][0], &ydec[3][0], noise + 3, 3);
    CHECK(m.count == 6 && m.rejected == 2);
    CHECK(m.exact == 4); /* images 0, 3, 4, 5 */
    CHECK(m.single == 3 && m.argmax_ok == 2 && m.answer_ok == 1);
    CHECK(m.pairs == 2 && m.top2_ok == 1);
    /* component 0: predicted in 0, 1, 3 -> tp 0, 3; fp 1; fn none */
    CHECK(m.tp[0] == 2 && m.fp[0] == 1 && m.fn[0] == 0);
    /* component 2: label in 2, 4; predicted in 4 (2 rejected) -> tp 1, fn 1 */
    CHECK(m.tp[2] == 1 && m.fn[2] == 1 && m.fp[2] == 0);
    gd_infer_summary s;
    gd_infer_metrics_summary(&m, &s);
    CHECK_NEAR(s.exact, 4.0 / 6, 1e-12);
    CHECK_NEAR(s.rejection, 2.0 / 6, 1e-12);
    CHECK_NEAR(s.argmax, 2.0 / 3, 1e-12);
    CHECK_NEAR(s.answer, 1.0 / 3, 1e-12);
    CHECK_NEAR(s.top2, 0.5, 1e-12);
    CHECK_NEAR(s.precision[0], 2.0 / 3, 1e-12);
    CHECK_NEAR(s.recall[2], 0.5, 1e-12);
    gd_infer_metrics e;
    gd_infer_metrics_init(&e, n);
    gd_infer_metrics_summary(&e, &s);
    CHECK(isnan(s.exact) && isnan(s.top2) && isnan(s.precision[1]));
    return gd_test_done("infer/metrics");
}
