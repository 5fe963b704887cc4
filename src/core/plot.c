/* plot.c — line charts rendered into an RGB raster and written as PNG (include/ctcd/plot.h).
 * Layout: title on top, y axis with tick labels on the left, x axis below, legend on the
 * right. Data ranges get "nice" ticks (1, 2 or 5 times a power of ten). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/plot.h"
#include "font5x7.h"

typedef struct canvas {
    int w, h;
    uint8_t *px; /* (h, w, 3) */
} canvas;

static void set_px(canvas *c, int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = (uint8_t)(rgb >> 16);
    p[1] = (uint8_t)(rgb >> 8);
    p[2] = (uint8_t)rgb;
}

static void fill_rect(canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb) {
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) set_px(c, x, y, rgb);
}

/* Bresenham line, `thick` pixels wide (a square brush); dashed lines draw 8 pixels of every
 * 14 along the line. */
static void line(canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, int thick,
                 int dashed) {
    const int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, n = 0;
    for (;;) {
        if (!dashed || n % 14 < 8) fill_rect(c, x0, y0, x0 + thick - 1, y0 + thick - 1, rgb);
        n++;
        if (x0 == x1 && y0 == y1) break;
        const int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* Text at scale s, top-left at (x, y); vertical text reads bottom to top (rotated 90°
 * counter-clockwise) with (x, y) its bottom-left. */
static void text(canvas *c, int x, int y, const char *s, int scale, uint32_t rgb, int vertical) {
    for (int i = 0; s[i]; i++) {
        const unsigned char ch = (unsigned char)s[i];
        const uint8_t *g = ctcd_font5x7[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        const int adv = i * (CTCD_FONT_W + 1) * scale;
        for (int r = 0; r < CTCD_FONT_H; r++)
            for (int col = 0; col < CTCD_FONT_W; col++) {
                if (!(g[r] >> (CTCD_FONT_W - 1 - col) & 1)) continue;
                if (vertical)
                    fill_rect(c, x + r * scale, y - adv - (col + 1) * scale + 1,
                              x + r * scale + scale - 1, y - adv - col * scale, rgb);
                else
                    fill_rect(c, x + adv + col * scale, y + r * scale,
                              x + adv + col * scale + scale - 1, y + r * scale + scale - 1, rgb);
            }
    }
}

static int text_w(const char *s, int scale) {
    const int n = (int)strlen(s);
    return n ? n * (CTCD_FONT_W + 1) * scale - scale : 0;
}

/* A tick step of 1, 2 or 5 x 10^k giving about `want` intervals over span. */
static double nice_step(double span, int want) {
    const double raw = span / want, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

/* Range [lo, hi] of the data widened to whole tick steps. */
static axis make_axis(double lo, double hi, int want) {
    axis a;
    if (!(hi > lo)) {
        const double pad = lo != 0 ? fabs(lo) * 0.05 : 1.0;
        lo -= pad;
        hi += pad;
    }
    a.step = nice_step(hi - lo, want);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    const int d = (int)-floor(log10(a.step) + 1e-9);
    a.decimals = d > 0 ? d : 0;
    return a;
}

typedef struct frame {
    int x0, x1, y0, y1; /* plot area: x0 left, y0 top */
    axis ax, ay;
} frame;

static int map_x(const frame *f, double x) {
    return f->x0 + (int)lround((x - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0));
}
static int map_y(const frame *f, double y) {
    return f->y1 - (int)lround((y - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0));
}

static void draw_axes(canvas *c, const frame *f, const ctcd_plot *p) {
    const uint32_t grid = 0xe4e4e4, ink = 0x202020;
    char buf[64];
    for (double v = f->ay.lo; v <= f->ay.hi + f->ay.step * 1e-6; v += f->ay.step) {
        const int y = map_y(f, v);
        line(c, f->x0, y, f->x1, y, grid, 1, 0);
        snprintf(buf, sizeof buf, "%.*f", f->ay.decimals, fabs(v) < 1e-12 ? 0.0 : v);
        text(c, f->x0 - 8 - text_w(buf, 2), y - 7, buf, 2, ink, 0);
    }
    for (double v = f->ax.lo; v <= f->ax.hi + f->ax.step * 1e-6; v += f->ax.step) {
        const int x = map_x(f, v);
        line(c, x, f->y0, x, f->y1, grid, 1, 0);
        snprintf(buf, sizeof buf, "%.*f", f->ax.decimals, fabs(v) < 1e-12 ? 0.0 : v);
        text(c, x - text_w(buf, 2) / 2, f->y1 + 8, buf, 2, ink, 0);
    }
    line(c, f->x0, f->y0, f->x0, f->y1, ink, 2, 0);
    line(c, f->x0, f->y1, f->x1, f->y1, ink, 2, 0);
    if (p->title) text(c, (c->w - text_w(p->title, 2)) / 2, 10, p->title, 2, ink, 0);
    if (p->xlabel)
        text(c, (f->x0 + f->x1 - text_w(p->xlabel, 2)) / 2, f->y1 + 30, p->xlabel, 2, ink, 0);
    if (p->ylabel)
        text(c, 8, (f->y0 + f->y1 + text_w(p->ylabel, 2)) / 2, p->ylabel, 2, ink, 1);
}

static void draw_series(canvas *c, const frame *f, const ctcd_plot_series *s) {
    int have_prev = 0, px = 0, py = 0;
    for (int i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) continue;
        const int x = map_x(f, s->x[i]), y = map_y(f, s->y[i]);
        if (have_prev && !s->markers_only) line(c, px, py, x, y, s->rgb, 2, s->dashed);
        fill_rect(c, x - 3, y - 3, x + 3, y + 3, s->rgb);
        px = x;
        py = y;
        have_prev = 1;
    }
}

static void draw_legend(canvas *c, const frame *f, const ctcd_plot *p) {
    int y = f->y0 + 4;
    for (int i = 0; i < p->n_series; i++, y += 24) {
        const ctcd_plot_series *s = &p->series[i];
        if (!s->markers_only) line(c, f->x1 + 20, y + 6, f->x1 + 56, y + 6, s->rgb, 3, s->dashed);
        fill_rect(c, f->x1 + 35, y + 4, f->x1 + 41, y + 10, s->rgb);
        text(c, f->x1 + 64, y, s->label ? s->label : "", 2, 0x202020, 0);
    }
}

/* Data range over every finite point; 0 when there is none. */
static int data_range(const ctcd_plot *p, double *xlo, double *xhi, double *ylo, double *yhi) {
    int any = 0;
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (int i = 0; i < p->n_series; i++)
        for (int k = 0; k < p->series[i].n; k++) {
            const double x = p->series[i].x[k], y = p->series[i].y[k];
            if (!isfinite(x) || !isfinite(y)) continue;
            any = 1;
            *xlo = fmin(*xlo, x);
            *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y);
            *yhi = fmax(*yhi, y);
        }
    return any;
}

ctcd_status ctcd_plot_write_png(const ctcd_plot *p, const char *path) {
    int legend_w = 0;
    for (int i = 0; i < p->n_series; i++) {
        const int w = text_w(p->series[i].label ? p->series[i].label : "", 2);
        if (w > legend_w) legend_w = w;
    }
    canvas c = {.w = p->width > 0 ? p->width : 900, .h = p->height > 0 ? p->height : 560};
    frame f = {.x0 = 110, .y0 = 40, .x1 = c.w - legend_w - 90, .y1 = c.h - 60};
    if (f.x1 - f.x0 < 100 || f.y1 - f.y0 < 100)
        return CTCD_ERR(CTCD_E_INVALID, "%s: a %d x %d plot is too small for its legend", path,
                        c.w, c.h);
    double xlo, xhi, ylo, yhi;
    if (!data_range(p, &xlo, &xhi, &ylo, &yhi)) xlo = ylo = 0, xhi = yhi = 1;
    f.ax = make_axis(xlo, xhi, 6);
    f.ay = make_axis(ylo, yhi, 5);
    c.px = malloc((size_t)c.w * (size_t)c.h * 3);
    if (!c.px) return CTCD_ERR(CTCD_E_NOMEM, "out of memory drawing %s", path);
    memset(c.px, 0xff, (size_t)c.w * (size_t)c.h * 3);
    draw_axes(&c, &f, p);
    for (int i = 0; i < p->n_series; i++) draw_series(&c, &f, &p->series[i]);
    draw_legend(&c, &f, p);
    ctcd_status st = ctcd_png_write_rgb(path, c.px, c.w, c.h);
    free(c.px);
    return st;
}
