/* utf8.h — decoding one UTF-8 code point (the tokenizer and the GLUE loader's text checks). */
#ifndef CTCD_UTF8_H
#define CTCD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s[*pos] (len bytes in all), as strictly as Python's
 * decoder: no overlong forms, no surrogates, nothing above U+10FFFF. Returns 1 and
 * advances *pos, or 0 (leaving *pos) when the bytes there are not valid UTF-8. */
static inline int ctcd_utf8_next(const uint8_t *s, size_t len, size_t *pos, int32_t *cp) {
    size_t i = *pos;
    uint32_t c = s[i];
    if (c < 0x80) {
        *cp = (int32_t)c;
        *pos = i + 1;
        return 1;
    }
    int n;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
        n = 1, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len - i <= (size_t)n) return 0;
    for (int k = 1; k <= n; k++) {
        uint32_t b = s[i + (size_t)k];
        if ((b & 0xC0) != 0x80) return 0;
        c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = (int32_t)c;
    *pos = i + (size_t)n + 1;
    return 1;
}

#endif
