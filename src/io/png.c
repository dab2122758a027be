/* PNG files through libpng's simplified API: atomic writes, reading back, labelled image grids. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h"
#include "io_png.h"

#define PNG_MAX_SIDE 32768
#define PNG_MAX_PIXELS ((size_t)1 << 26)
#define LABEL_MAX_CHARS 32

gd_status gd_png_write(const char* path, const uint8_t* pix, int h, int w, int channels, gd_error* err) {
    if (!path || !path[0]) return gd_error_set(err, GD_EINVAL, NULL, 0, 0, NULL, "empty file path");
    if (!pix || h <= 0 || w <= 0 || h > PNG_MAX_SIDE || w > PNG_MAX_SIDE || (channels != 1 && channels != 3))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL,
                            "PNG of %d x %d pixels with %d channels: sides must be 1..%d, channels 1 or 3", h, w,
                            channels, PNG_MAX_SIDE);
    char tmp[IO_PATH_MAX];
    if (io_tmp_path(tmp, sizeof tmp, path, (long)getpid()))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "use a shorter path", "file path too long");
    FILE* fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot create the temporary file %s: %s", tmp,
                            strerror(e));
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    errno = 0;
    int ok = png_image_write_to_stdio(&img, fp, 0, pix, 0, NULL);
    int e = errno ? errno : EIO;
    char why[128];
    snprintf(why, sizeof why, "%s", img.message);
    png_image_free(&img);
    if (ok && (fflush(fp) != 0 || ferror(fp))) ok = 0, e = errno ? errno : EIO, why[0] = '\0';
    if (ok && fsync(fileno(fp)) != 0) ok = 0, e = errno, why[0] = '\0';
    if (fclose(fp) != 0 && ok) ok = 0, e = errno, why[0] = '\0';
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno, why[0] = '\0';
    if (!ok) {
        unlink(tmp);
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot write %s: %s%s%s", path, strerror(e),
                            why[0] ? ", libpng: " : "", why);
    }
    if ((e = io_fsync_dir_of(path)))
        return gd_error_set(err, GD_EIO, path, 0, 0, io_errno_hint(e), "cannot sync the folder of %s: %s", path,
                            strerror(e));
    return GD_OK;
}

gd_status gd_png_read(const char* path, uint8_t** pix, int* h, int* w, int* channels, gd_error* err) {
    *pix = NULL;
    *h = *w = *channels = 0;
    if (access(path, R_OK) != 0) {
        int e = errno;
        return gd_error_set(err, GD_EIO, path, 0, 0, NULL, "cannot read %s: %s", path, strerror(e));
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "not a readable PNG (%s)", img.message);
    if (img.width == 0 || img.height == 0 || img.width > PNG_MAX_SIDE || img.height > PNG_MAX_SIDE ||
        (size_t)img.width * img.height > PNG_MAX_PIXELS) {
        png_image_free(&img);
        return gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "PNG of %u x %u pixels is over the limit",
                            img.height, img.width);
    }
    int c = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    img.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    uint8_t* buf = gd_alloc(PNG_IMAGE_SIZE(img));
    if (!buf) {
        png_image_free(&img);
        return gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "no memory for a %u x %u PNG", img.height, img.width);
    }
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        gd_free(buf);
        gd_status st = gd_error_set(err, GD_EFORMAT, path, 0, 0, NULL, "damaged PNG (%s)", img.message);
        png_image_free(&img);
        return st;
    }
    *pix = buf;
    *h = (int)img.height;
    *w = (int)img.width;
    *channels = c;
    return GD_OK;
}

/* A float in [0, 1] (clamped; NaN = 0) as an 8-bit level. */
static uint8_t level(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return 255;
    return (uint8_t)lrintf(v * 255.0f);
}

gd_status gd_png_write_grid(const char* path, const float* imgs, int n, int channels, int h, int w,
                            const gd_png_grid* opt, gd_error* err) {
    if (!opt || opt->rows < 1 || opt->cols < 1 || n < 0 || (long)opt->rows * opt->cols < n || opt->pad < 0 ||
        opt->scale < 0 || h < 1 || w < 1 || (channels != 1 && channels != 3) || (n > 0 && !imgs))
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL,
                            "image grid: need rows, cols >= 1 with rows * cols >= n = %d, pad >= 0, images of "
                            "1 or 3 channels",
                            n);
    int scale = opt->scale > 1 ? opt->scale : 1;
    long cell_w = (long)w * scale, cell_h = (long)h * scale;
    int fs = cell_h >= 96 ? 2 : 1; /* label font magnification */
    int label_w = 0, has_labels = 0;
    char label[LABEL_MAX_CHARS + 1];
    for (int i = 0; opt->labels && i < n; i++)
        if (opt->labels[i]) {
            snprintf(label, sizeof label, "%s", opt->labels[i]);
            int lw = io_text_width(label, fs);
            label_w = lw > label_w ? lw : label_w;
            has_labels = 1;
        }
    long slot_w = cell_w > label_w ? cell_w : label_w;
    long label_h = has_labels ? IO_GLYPH_H * fs + 2 + fs : 0;
    long W = opt->pad + opt->cols * (slot_w + opt->pad), H = opt->pad + opt->rows * (cell_h + label_h + opt->pad);
    if (W > PNG_MAX_SIDE || H > PNG_MAX_SIDE || (size_t)W * (size_t)H > PNG_MAX_PIXELS)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "use fewer images or a smaller scale",
                            "image grid of %ld x %ld pixels is too large", H, W);
    io_canvas cv = {gd_alloc((size_t)W * (size_t)H * (size_t)channels), (int)W, (int)H, channels};
    if (!cv.pix) return gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "no memory for a %ld x %ld image", H, W);
    uint8_t bg = level(opt->background);
    memset(cv.pix, bg, (size_t)W * (size_t)H * (size_t)channels);
    uint32_t ink = bg < 128 ? 0xFFFFFF : 0x000000;
    for (int k = 0; k < n; k++) {
        long r = k / opt->cols, c = k % opt->cols;
        long sx = opt->pad + c * (slot_w + opt->pad), x0 = sx + (slot_w - cell_w) / 2;
        long y0 = opt->pad + r * (cell_h + label_h + opt->pad);
        const float* im = imgs + (size_t)k * (size_t)channels * (size_t)h * (size_t)w;
        for (long y = 0; y < cell_h; y++)
            for (long x = 0; x < cell_w; x++) {
                uint8_t* p = cv.pix + ((size_t)(y0 + y) * (size_t)W + (size_t)(x0 + x)) * (size_t)channels;
                size_t src = (size_t)(y / scale) * (size_t)w + (size_t)(x / scale);
                for (int ch = 0; ch < channels; ch++) p[ch] = level(im[(size_t)ch * (size_t)h * (size_t)w + src]);
            }
        if (has_labels && opt->labels[k]) {
            snprintf(label, sizeof label, "%s", opt->labels[k]);
            int lw = io_text_width(label, fs);
            io_draw_text(&cv, (int)(sx + (slot_w - lw) / 2), (int)(y0 + cell_h + 2), label, fs, ink, 0);
        }
    }
    gd_status st = gd_png_write(path, cv.pix, (int)H, (int)W, channels, err);
    gd_free(cv.pix);
    return st;
}
