/* font5x7.h — the plot font (internal): ctcd_font5x7[c - 32] for printable ASCII c. */
#ifndef CTCD_FONT5X7_H
#define CTCD_FONT5X7_H

#include <stdint.h>

#define CTCD_FONT_W 5
#define CTCD_FONT_H 7
extern const uint8_t ctcd_font5x7[95][7];

#endif
