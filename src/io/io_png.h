/* io internals for images: 8-bit canvases, the 5x7 font, atomic PNG output (not a public header). */
#ifndef GENDEC_IO_PNG_H
#define GENDEC_IO_PNG_H

#include <stdint.h>

#include "gendec/io.h"

#define IO_GLYPH_W 5
#define IO_GLYPH_H 7
#define IO_GLYPH_ADVANCE 6 /* glyph width + 1 pixel of spacing */

/* An 8-bit image being drawn: pix (h, w, c), c = 1 (gray) or 3 (RGB). */
typedef struct {
    uint8_t* pix;
    int w, h, c;
} io_canvas;

/* Sets (x, y) to colour 0xRRGGBB (converted to gray on gray canvases); outside the canvas: nothing. */
void io_canvas_set(io_canvas* cv, int x, int y, uint32_t rgb);

/* Mixes colour rgb into (x, y) with opacity alpha in [0, 1]. */
void io_canvas_blend(io_canvas* cv, int x, int y, uint32_t rgb, float alpha);

/* Fills the rectangle [x0, x1) x [y0, y1), clipped to the canvas. */
void io_canvas_fill(io_canvas* cv, int x0, int y0, int x1, int y1, uint32_t rgb);

/* Draws text with its top-left corner at (x, y), glyphs magnified by `scale`; vertical = 1 draws it rotated a
 * quarter turn counter-clockwise, reading upwards from (x, y) (its bottom-left corner). */
void io_draw_text(io_canvas* cv, int x, int y, const char* text, int scale, uint32_t rgb, int vertical);

/* Width in pixels of text drawn at `scale`; its height is IO_GLYPH_H * scale. */
int io_text_width(const char* text, int scale);

/* 1 if the font has a glyph for c (lower case counts as upper case). */
int io_font_has(char c);

#endif
