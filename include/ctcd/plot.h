/* plot.h — PNG line charts without dependencies: an RGB raster, lines, markers and a 5x7
 * bitmap font, written as a PNG whose zlib stream uses stored (uncompressed) deflate blocks.
 *
 * Why our own writer: learning-curve plots must work wherever ctcd builds (CI containers,
 * the GPU machine) without zlib, libpng or gnuplot, and a chart of a few hundred pixels a
 * side is well under a megabyte uncompressed. Every reader (browsers, PIL, libpng) accepts
 * stored blocks: they are plain deflate. */
#ifndef CTCD_PLOT_H
#define CTCD_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32 (ISO-HDLC, as PNG and zlib's crc32 compute it) of n bytes, continuing from crc
 * (start with 0). */
uint32_t ctcd_crc32(uint32_t crc, const void *p, size_t n);
/* Adler-32 of n bytes (zlib's trailer), continuing from adler (start with 1). */
uint32_t ctcd_adler32(uint32_t adler, const void *p, size_t n);

/* Encodes a W x H 8-bit RGB image (rows top to bottom, 3 bytes per pixel) as a complete PNG
 * file in memory: signature, IHDR, one IDAT, IEND. *out is malloc'd (caller frees). */
ctcd_status ctcd_png_encode_rgb(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len);
/* ctcd_png_encode_rgb written atomically to path. */
ctcd_status ctcd_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h);

/* One curve: n points (x[i], y[i]), drawn in colour rgb (0xRRGGBB), solid or dashed, with a
 * marker at every point (markers_only: the points alone, a scatter). Non-finite points are
 * skipped. */
typedef struct ctcd_plot_series {
    const char *label;
    int n;
    const double *x, *y;   /* (n) */
    uint32_t rgb;
    int dashed;
    int markers_only;
} ctcd_plot_series;

typedef struct ctcd_plot {
    const char *title, *xlabel, *ylabel;
    int width, height;     /* pixels; 0 = 900 x 560 */
    int n_series;
    const ctcd_plot_series *series;
} ctcd_plot;

/* Draws the chart (axes with ticks chosen from the data range, legend at the right) and
 * writes it to path as a PNG. Text is ASCII; other bytes print as '?'. */
ctcd_status ctcd_plot_write_png(const ctcd_plot *p, const char *path);

#ifdef __cplusplus
}
#endif
#endif
