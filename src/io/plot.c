/* A small line plot to PNG: series with optional shaded bands, axes with round ticks, title, labels, legend. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io_internal.h"
#include "io_png.h"

static const uint32_t palette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

typedef struct {
    double lo, hi, step; /* axis range and tick step */
} axis;

/* A "round" step (1, 2 or 5 times a power of ten) giving about `want` intervals over span. */
static double nice_step(double span, int want) {
    double raw = span / want, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Sets a to [lo, hi] widened to whole ticks (or kept exactly when `fixed`). */
static void make_axis(axis* a, double lo, double hi, int fixed, int want) {
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        lo -= d;
        hi += d;
    }
    a->step = nice_step(hi - lo, want);
    a->lo = fixed ? lo : floor(lo / a->step + 1e-9) * a->step;
    a->hi = fixed ? hi : ceil(hi / a->step - 1e-9) * a->step;
}

/* Tick label text for value v on an axis with step `step`. */
static void tick_text(char* buf, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    double mag = fabs(v) > step ? fabs(v) : step;
    if (mag >= 1e6 || step < 1e-4) {
        snprintf(buf, n, "%.2g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec, v);
}

typedef struct {
    io_canvas* cv;
    int x0, y0, x1, y1; /* plot area (pixels, inclusive) */
    axis ax, ay;
} frame;

static double px_x(const frame* f, double x) { return f->x0 + (x - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0); }
static double px_y(const frame* f, double y) { return f->y1 - (y - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0); }

/* A dot of width `thick` at (x, y), clipped to the plot area. */
static void dot(const frame* f, int x, int y, int thick, uint32_t rgb) {
    for (int dy = 0; dy < thick; dy++)
        for (int dx = 0; dx < thick; dx++) {
            int px = x + dx - thick / 2, py = y + dy - thick / 2;
            if (px >= f->x0 && px <= f->x1 && py >= f->y0 && py <= f->y1) io_canvas_set(f->cv, px, py, rgb);
        }
}

/* A straight line between two pixel positions (clipped, sampled densely enough to leave no gaps). */
static void line(const frame* f, double xa, double ya, double xb, double yb, int thick, uint32_t rgb) {
    double len = fmax(fabs(xb - xa), fabs(yb - ya));
    if (len > 1e5) len = 1e5; /* wildly out-of-range points: bounded work */
    int steps = (int)ceil(len) + 1;
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps;
        dot(f, (int)lround(xa + t * (xb - xa)), (int)lround(ya + t * (yb - ya)), thick, rgb);
    }
}

static double xval(const gd_plot_series* s, size_t i) { return s->x ? (double)s->x[i] : (double)i; }

/* Shades the band between s->lo and s->hi, column by column between consecutive finite points. */
static void band(const frame* f, const gd_plot_series* s, uint32_t rgb) {
    for (size_t i = 0; i + 1 < s->n; i++) {
        double a0 = s->lo[i], a1 = s->lo[i + 1], b0 = s->hi[i], b1 = s->hi[i + 1];
        if (!isfinite(a0) || !isfinite(a1) || !isfinite(b0) || !isfinite(b1)) continue;
        double xa = px_x(f, xval(s, i)), xb = px_x(f, xval(s, i + 1));
        if (!isfinite(xa) || !isfinite(xb) || xb <= xa) continue;
        int c0 = (int)ceil(xa), c1 = (int)floor(xb);
        if (i + 2 < s->n) c1 = (int)ceil(xb) - 1; /* the next segment draws column ceil(xb) */
        for (int x = c0 < f->x0 ? f->x0 : c0; x <= c1 && x <= f->x1; x++) {
            double t = (x - xa) / (xb - xa);
            double ylo = px_y(f, a0 + t * (a1 - a0)), yhi = px_y(f, b0 + t * (b1 - b0));
            int top = (int)lround(fmin(ylo, yhi)), bot = (int)lround(fmax(ylo, yhi));
            for (int y = top < f->y0 ? f->y0 : top; y <= bot && y <= f->y1; y++) io_canvas_blend(f->cv, x, y, rgb, 0.22f);
        }
    }
}

gd_status gd_png_plot(const char* path, const gd_plot_series* series, size_t ns, const gd_plot* opt,
                      gd_error* err) {
    int W = opt && opt->width > 0 ? opt->width : 640, H = opt && opt->height > 0 ? opt->height : 480;
    if (W < 160 || H < 120 || W > 8192 || H > 8192)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "plot size %d x %d outside 160x120 .. 8192x8192", W, H);
    if (ns > 0 && !series) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "plot: no series");
    /* Data ranges over finite values. */
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < ns; k++) {
        const gd_plot_series* s = &series[k];
        if (s->n > 0 && !s->y) return gd_error_set(err, GD_EINVAL, path, 0, 0, NULL, "plot: series %zu has no y", k);
        for (size_t i = 0; i < s->n; i++) {
            double x = xval(s, i), v[3] = {s->y[i], s->lo ? s->lo[i] : NAN, s->hi ? s->hi[i] : NAN};
            if (!isfinite(x)) continue;
            int any = 0;
            for (int j = 0; j < 3; j++)
                if (isfinite(v[j])) {
                    ymin = fmin(ymin, v[j]);
                    ymax = fmax(ymax, v[j]);
                    any = 1;
                }
            if (any) {
                xmin = fmin(xmin, x);
                xmax = fmax(xmax, x);
            }
        }
    }
    if (!(xmin <= xmax)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    int fixed_y = opt && opt->ymax > opt->ymin;
    if (fixed_y) ymin = opt->ymin, ymax = opt->ymax;
    int ts = W >= 560 && H >= 400 ? 2 : 1; /* text magnification */
    int th = IO_GLYPH_H * ts;
    frame f;
    make_axis(&f.ax, xmin, xmax, 0, W >= 560 ? 8 : 5);
    make_axis(&f.ay, ymin, ymax, fixed_y, H >= 400 ? 6 : 4);
    /* Margins from the widest y tick label. */
    int ylab_w = 0;
    char buf[64];
    for (double v = ceil(f.ay.lo / f.ay.step - 1e-9) * f.ay.step; v <= f.ay.hi + f.ay.step * 1e-9; v += f.ay.step) {
        tick_text(buf, sizeof buf, v, f.ay.step);
        int w = io_text_width(buf, ts);
        ylab_w = w > ylab_w ? w : ylab_w;
    }
    const char* title = opt ? opt->title : NULL;
    const char* xl = opt ? opt->xlabel : NULL;
    const char* yl = opt ? opt->ylabel : NULL;
    f.x0 = 8 + (yl ? th + 10 : 0) + ylab_w + 8;
    f.x1 = W - 16 - 1;
    f.y0 = title ? th + 20 : 14;
    f.y1 = H - 1 - (8 + th + 8 + (xl ? th + 10 : 0));
    if (f.x1 - f.x0 < 40 || f.y1 - f.y0 < 40)
        return gd_error_set(err, GD_EINVAL, path, 0, 0, "make the plot larger", "plot %d x %d leaves no room", W, H);

    io_canvas cv = {gd_alloc((size_t)W * (size_t)H * 3), W, H, 3};
    if (!cv.pix) return gd_error_set(err, GD_ENOMEM, path, 0, 0, NULL, "no memory for a %d x %d plot", W, H);
    f.cv = &cv;
    memset(cv.pix, 255, (size_t)W * (size_t)H * 3);
    /* Grid lines, ticks and their numbers. */
    for (double v = ceil(f.ay.lo / f.ay.step - 1e-9) * f.ay.step; v <= f.ay.hi + f.ay.step * 1e-9; v += f.ay.step) {
        int y = (int)lround(px_y(&f, v));
        io_canvas_fill(&cv, f.x0, y, f.x1 + 1, y + 1, 0xE6E6E6);
        io_canvas_fill(&cv, f.x0 - 5, y, f.x0, y + 1, 0x000000);
        tick_text(buf, sizeof buf, v, f.ay.step);
        io_draw_text(&cv, f.x0 - 8 - io_text_width(buf, ts), y - th / 2, buf, ts, 0x000000, 0);
    }
    for (double v = ceil(f.ax.lo / f.ax.step - 1e-9) * f.ax.step; v <= f.ax.hi + f.ax.step * 1e-9; v += f.ax.step) {
        int x = (int)lround(px_x(&f, v));
        io_canvas_fill(&cv, x, f.y0, x + 1, f.y1 + 1, 0xE6E6E6);
        io_canvas_fill(&cv, x, f.y1 + 1, x + 1, f.y1 + 6, 0x000000);
        tick_text(buf, sizeof buf, v, f.ax.step);
        io_draw_text(&cv, x - io_text_width(buf, ts) / 2, f.y1 + 8, buf, ts, 0x000000, 0);
    }
    /* Bands under lines, then lines. */
    for (size_t k = 0; k < ns; k++) {
        const gd_plot_series* s = &series[k];
        uint32_t rgb = s->rgb ? s->rgb : palette[k % 10];
        if (s->lo && s->hi) band(&f, s, rgb);
    }
    for (size_t k = 0; k < ns; k++) {
        const gd_plot_series* s = &series[k];
        uint32_t rgb = s->rgb ? s->rgb : palette[k % 10];
        int thick = ts + 1;
        for (size_t i = 0; i + 1 < s->n; i++) {
            double xa = px_x(&f, xval(s, i)), ya = px_y(&f, s->y[i]);
            double xb = px_x(&f, xval(s, i + 1)), yb = px_y(&f, s->y[i + 1]);
            if (isfinite(xa) && isfinite(ya) && isfinite(xb) && isfinite(yb)) line(&f, xa, ya, xb, yb, thick, rgb);
        }
        if (s->n == 1 && isfinite(s->y[0])) dot(&f, (int)lround(px_x(&f, xval(s, 0))), (int)lround(px_y(&f, s->y[0])),
                                                 thick + 2, rgb);
    }
    /* Frame, title, axis labels. */
    io_canvas_fill(&cv, f.x0, f.y0, f.x1 + 1, f.y0 + 1, 0x000000);
    io_canvas_fill(&cv, f.x0, f.y1, f.x1 + 1, f.y1 + 1, 0x000000);
    io_canvas_fill(&cv, f.x0, f.y0, f.x0 + 1, f.y1 + 1, 0x000000);
    io_canvas_fill(&cv, f.x1, f.y0, f.x1 + 1, f.y1 + 1, 0x000000);
    if (title) io_draw_text(&cv, (f.x0 + f.x1 - io_text_width(title, ts)) / 2, 8, title, ts, 0x000000, 0);
    if (xl) io_draw_text(&cv, (f.x0 + f.x1 - io_text_width(xl, ts)) / 2, H - 8 - th, xl, ts, 0x000000, 0);
    if (yl) io_draw_text(&cv, 8, (f.y0 + f.y1 + io_text_width(yl, ts)) / 2, yl, ts, 0x000000, 1);
    /* Legend in the top-right corner of the plot area. */
    int n_leg = 0, leg_w = 0;
    for (size_t k = 0; k < ns; k++)
        if (series[k].label) {
            n_leg++;
            int w = io_text_width(series[k].label, ts);
            leg_w = w > leg_w ? w : leg_w;
        }
    if (n_leg > 0) {
        int row = th + 6, bw = 10 + 24 * ts / 2 + 8 + leg_w + 10, bh = 8 + n_leg * row + 2;
        /* The corner (or middle of a side) of the plot area that hides the fewest data pixels; top right on ties. */
        int right = f.x1 - 8 - bw, left = f.x0 + 8, top = f.y0 + 8, bottom = f.y1 - 8 - bh, mid = (f.y0 + f.y1 - bh) / 2;
        int cx[6] = {right, left, right, left, right, left}, cy[6] = {top, top, bottom, bottom, mid, mid};
        int best = 0;
        long best_ink = -1;
        for (int q = 0; q < 6; q++) {
            long ink = 0;
            for (int y = cy[q] < 0 ? 0 : cy[q]; y < cy[q] + bh && y < H; y++)
                for (int x = cx[q] < 0 ? 0 : cx[q]; x < cx[q] + bw && x < W; x++) {
                    const uint8_t* px = cv.pix + ((size_t)y * (size_t)W + (size_t)x) * 3;
                    ink += !(px[0] == px[1] && px[1] == px[2] && (px[0] == 255 || px[0] == 0xE6));
                }
            if (best_ink < 0 || ink < best_ink) best_ink = ink, best = q;
        }
        int bx = cx[best], by = cy[best];
        io_canvas_fill(&cv, bx, by, bx + bw, by + bh, 0xFFFFFF);
        io_canvas_fill(&cv, bx, by, bx + bw, by + 1, 0x999999);
        io_canvas_fill(&cv, bx, by + bh - 1, bx + bw, by + bh, 0x999999);
        io_canvas_fill(&cv, bx, by, bx + 1, by + bh, 0x999999);
        io_canvas_fill(&cv, bx + bw - 1, by, bx + bw, by + bh, 0x999999);
        int j = 0;
        for (size_t k = 0; k < ns; k++) {
            if (!series[k].label) continue;
            uint32_t rgb = series[k].rgb ? series[k].rgb : palette[k % 10];
            int y = by + 8 + j * row;
            io_canvas_fill(&cv, bx + 10, y + th / 2 - ts / 2 - 1, bx + 10 + 24 * ts / 2, y + th / 2 + ts / 2 + 1, rgb);
            io_draw_text(&cv, bx + 10 + 24 * ts / 2 + 8, y, series[k].label, ts, 0x000000, 0);
            j++;
        }
    }
    gd_status st = gd_png_write(path, cv.pix, H, W, 3, err);
    gd_free(cv.pix);
    return st;
}
