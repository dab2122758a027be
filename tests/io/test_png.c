/* PNG: images and labelled grids written and re-read with libpng (sizes, pixel values, label ink), line plots
 * (size, series colours, bands), errors. Set GD_KEEP_PNG=<folder> to keep the pictures for a look. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gd_test.h"
#include "gendec/io.h"

static char dir[600];

static void out_path(char* buf, size_t n, const char* name) {
    const char* keep = getenv("GD_KEEP_PNG");
    snprintf(buf, n, "%s/%s", keep && *keep ? keep : dir, name);
}

static void test_plain(void) {
    gd_error err;
    char p[700];
    out_path(p, sizeof p, "gray.png");
    uint8_t g[3 * 4];
    for (int i = 0; i < 12; i++) g[i] = (uint8_t)(i * 21);
    CHECK_OK(gd_png_write(p, g, 3, 4, 1, &err), &err);
    uint8_t* back = NULL;
    int h, w, c;
    CHECK_OK(gd_png_read(p, &back, &h, &w, &c, &err), &err);
    CHECK(h == 3 && w == 4 && c == 1 && back && memcmp(back, g, 12) == 0);
    gd_free(back);
    out_path(p, sizeof p, "rgb.png");
    uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    CHECK_OK(gd_png_write(p, rgb, 2, 2, 3, &err), &err);
    CHECK_OK(gd_png_read(p, &back, &h, &w, &c, &err), &err);
    CHECK(h == 2 && w == 2 && c == 3 && back && memcmp(back, rgb, 12) == 0);
    gd_free(back);
    /* Errors. */
    CHECK(gd_png_write(p, rgb, 2, 2, 2, &err) == GD_EINVAL);
    char under[800];
    snprintf(under, sizeof under, "%s/x.png", p); /* a path under a file */
    CHECK(gd_png_write(under, rgb, 2, 2, 3, &err) == GD_EIO && strstr(err.file, under));
    CHECK_OK(gd_file_write_atomic(p, "not a png", 9, &err), &err);
    CHECK(gd_png_read(p, &back, &h, &w, &c, &err) == GD_EFORMAT && back == NULL);
}

/* Is the pixel at (x, y) of a gray image of width w dark? */
static int dark(const uint8_t* im, int w, int x, int y) { return im[y * w + x] < 64; }

static void test_grid(void) {
    gd_error err;
    char p[700];
    out_path(p, sizeof p, "grid.png");
    enum { N = 4, H = 8, W = 8 };
    float imgs[N * H * W];
    for (int k = 0; k < N; k++)
        for (int i = 0; i < H * W; i++) imgs[k * H * W + i] = (float)(k + 1) / 5.0f + (i == 0 ? 0.5f : 0.0f);
    imgs[3 * H * W + 1] = NAN;
    imgs[3 * H * W + 2] = -3;
    const char* labels[N] = {"7 0.93", NULL, "A-Z:%", "x"};
    gd_png_grid g = {.rows = 2, .cols = 2, .pad = 2, .scale = 2, .labels = labels, .background = 1.0f};
    CHECK_OK(gd_png_write_grid(p, imgs, N, 1, H, W, &g, &err), &err);
    uint8_t* im = NULL;
    int h, w, c;
    CHECK_OK(gd_png_read(p, &im, &h, &w, &c, &err), &err);
    /* Cells are widened to the widest label: "7 0.93" is 6 glyphs * 6 - 1 = 35 px; label rows are 10 px. */
    int slot = 35, cell = 16, lab = 10;
    CHECK_MSG(w == 2 + 2 * (slot + 2) && h == 2 + 2 * (cell + lab + 2) && c == 1, "grid is %d x %d x %d", h, w, c);
    if (im && w == 76 && h == 58) {
        int x0 = 2 + (slot - cell) / 2, y0 = 2;
        CHECK(im[y0 * w + x0] == (uint8_t)lrintf(imgs[0] * 255.0f)); /* 0.2 + 0.5 */
        CHECK(im[(y0 + 3) * w + x0 + 5] == (uint8_t)lrintf(0.2f * 255)); /* image 0, scaled 2x */
        int x1 = 2 + slot + 2 + (slot - cell) / 2;
        CHECK(im[(y0 + 15) * w + x1 + 15] == (uint8_t)lrintf(0.4f * 255));
        int y3 = 2 + cell + lab + 2;
        CHECK(im[y3 * w + x1 + 2] == 0); /* NaN -> 0 */
        CHECK(im[y3 * w + x1 + 4] == 0); /* -3 -> 0 */
        CHECK(im[(y3 + 1) * w + x1 + 6] == (uint8_t)lrintf(0.8f * 255));
        /* Label "7 0.93" of cell 0 starts at x = 2, top row of '7' is five dark pixels, then a light one. */
        int ly = y0 + cell + 2;
        CHECK(dark(im, w, 2, ly) && dark(im, w, 6, ly) && !dark(im, w, 7, ly));
        /* '7' second row: only the rightmost pixel. */
        CHECK(!dark(im, w, 2, ly + 1) && dark(im, w, 6, ly + 1));
        /* Cell 1 has no label: its label strip is background. */
        int ink = 0;
        for (int y = ly; y < ly + 7; y++)
            for (int x = 2 + slot + 2; x < 2 + 2 * slot + 2; x++) ink += dark(im, w, x, y);
        CHECK(ink == 0);
        /* Cell 2 ("A-Z:%") has ink. */
        ink = 0;
        for (int y = y3 + cell + 2; y < y3 + cell + 9; y++)
            for (int x = 2; x < 2 + slot; x++) ink += dark(im, w, x, y);
        CHECK(ink > 20);
    }
    gd_free(im);
    /* RGB grid, dark background (white labels), no labels, no scale. */
    float rgbimg[2 * 3 * 4 * 4];
    for (int i = 0; i < 2 * 3 * 16; i++) rgbimg[i] = (float)((i / 16) % 3) / 2.0f; /* R=0, G=0.5, B=1 */
    gd_png_grid g2 = {.rows = 1, .cols = 3, .pad = 1, .scale = 0, .labels = NULL, .background = 0.0f};
    out_path(p, sizeof p, "grid_rgb.png");
    CHECK_OK(gd_png_write_grid(p, rgbimg, 2, 3, 4, 4, &g2, &err), &err);
    CHECK_OK(gd_png_read(p, &im, &h, &w, &c, &err), &err);
    CHECK(h == 6 && w == 16 && c == 3);
    if (im && c == 3 && w == 16) {
        uint8_t* px = im + (1 * w + 1) * 3;
        CHECK(px[0] == 0 && px[1] == 128 && px[2] == 255);
        CHECK(im[(1 * w + 12) * 3 + 1] == 0); /* the empty third cell is background */
    }
    gd_free(im);
    gd_png_grid bad = {.rows = 1, .cols = 1, .pad = 0, .scale = 1};
    CHECK(gd_png_write_grid(p, imgs, 2, 1, H, W, &bad, &err) == GD_EINVAL);
}

/* Counts pixels of exactly colour rgb in an RGB image. */
static int count_rgb(const uint8_t* im, int n, uint32_t rgb) {
    int k = 0;
    for (int i = 0; i < n; i++)
        k += im[3 * i] == (uint8_t)(rgb >> 16) && im[3 * i + 1] == (uint8_t)(rgb >> 8) && im[3 * i + 2] == (uint8_t)rgb;
    return k;
}

static void test_plot(void) {
    gd_error err;
    char p[700];
    out_path(p, sizeof p, "plot.png");
    enum { T = 51 };
    float x[T], y[3][T], lo[3][T], hi[3][T];
    for (int i = 0; i < T; i++) {
        x[i] = (float)i;
        for (int s = 0; s < 3; s++) {
            float target = s == 0 ? 1.0f : 0.0f;
            y[s][i] = 0.5f + (target - 0.5f) * (1.0f - expf(-(float)i / (5.0f + 3 * s)));
            float sd = 0.08f * expf(-(float)i / 30.0f);
            lo[s][i] = y[s][i] - sd;
            hi[s][i] = y[s][i] + sd;
        }
    }
    y[2][20] = NAN; /* a gap */
    gd_plot_series s[3] = {
        {.label = "y true class", .x = x, .y = y[0], .lo = lo[0], .hi = hi[0], .n = T},
        {.label = "y other (mean)", .x = x, .y = y[1], .lo = lo[1], .hi = hi[1], .n = T},
        {.label = "y noise", .x = NULL, .y = y[2], .lo = NULL, .hi = NULL, .n = T, .rgb = 0x202020},
    };
    gd_plot opt = {.title = "Fig. 3: y during Eq. 3 optimisation", .xlabel = "step", .ylabel = "y"};
    CHECK_OK(gd_png_plot(p, s, 3, &opt, &err), &err);
    uint8_t* im = NULL;
    int h, w, c;
    CHECK_OK(gd_png_read(p, &im, &h, &w, &c, &err), &err);
    CHECK(h == 480 && w == 640 && c == 3);
    if (im && c == 3) {
        int blue = count_rgb(im, h * w, 0x1f77b4), orange = count_rgb(im, h * w, 0xff7f0e);
        int gray = count_rgb(im, h * w, 0x202020), black = count_rgb(im, h * w, 0x000000);
        CHECK_MSG(blue > 500 && orange > 500 && gray > 300 && black > 1500, "blue %d orange %d gray %d black %d", blue,
                  orange, gray, black);
        /* Band: light blue (white blended with 22% blue) exists. */
        int band = 0;
        for (int i = 0; i < h * w; i++)
            band += im[3 * i + 2] > 230 && im[3 * i] > 190 && im[3 * i] < 220 && im[3 * i + 1] < 235;
        CHECK_MSG(band > 200, "band pixels %d", band);
    }
    gd_free(im);
    /* Fixed y range, small size, a one-point series, no labels. */
    gd_plot small = {.width = 320, .height = 200, .ymin = -1, .ymax = 2};
    float one = 0.5f;
    gd_plot_series s1 = {.y = &one, .n = 1};
    out_path(p, sizeof p, "plot_small.png");
    CHECK_OK(gd_png_plot(p, &s1, 1, &small, &err), &err);
    CHECK_OK(gd_png_read(p, &im, &h, &w, &c, &err), &err);
    CHECK(h == 200 && w == 320);
    gd_free(im);
    gd_plot tiny = {.width = 50, .height = 50};
    CHECK(gd_png_plot(p, &s1, 1, &tiny, &err) == GD_EINVAL);
    /* No data at all still draws empty axes. */
    CHECK_OK(gd_png_plot(p, NULL, 0, NULL, &err), &err);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", gd_test_tmpdir());
    test_plain();
    test_grid();
    test_plot();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return gd_test_done("test_png");
}
