/*
 * mestys/utf8.h - is a byte string well-formed UTF-8? Header-only.
 *
 * Text from outside (request bodies, CSV imports) is checked once at the
 * door, so nothing stored is later served back as invalid JSON.  The rules
 * are those of RFC 3629 / Unicode's "well-formed UTF-8 byte sequences"
 * table: no overlong forms (C0, C1, E0 80..9F, F0 80..8F), no UTF-16
 * surrogates (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF), no lone
 * continuation bytes and no sequence cut short by the end of the text.
 * A NUL byte is a valid code point here; callers that cannot hold one check
 * for it themselves.  Thread-safe, no allocation.
 */
#ifndef MESTYS_UTF8_H
#define MESTYS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* True when the len bytes at s are well-formed UTF-8 (len 0 is valid). */
static inline bool mst_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t n;               /* continuation bytes that follow */
        unsigned char lo = 0x80; /* allowed range of the second byte */
        unsigned char hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong below U+0800 */
            else if (c == 0xED)
                hi = 0x9F; /* U+D800..DFFF are surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return false; /* 80..C1 (continuation, overlong lead), F5..FF */
        }
        if (len - i <= n)
            return false; /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

/* The line (from 1) holding the first byte that is not well-formed UTF-8,
 * or 0 if the text is valid: for errors that say where (a CSV import saved
 * in Windows-1250).  A newline is never inside a sequence, so each line is
 * checked alone. */
static inline size_t mst_utf8_invalid_line(const char *s, size_t len)
{
    size_t line = 1;
    for (size_t start = 0; start < len; line++) {
        const char *nl = memchr(s + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - s) : len;
        if (!mst_utf8_valid(s + start, end - start))
            return line;
        start = end + 1;
    }
    return 0;
}

#endif /* MESTYS_UTF8_H */
