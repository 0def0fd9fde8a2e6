/*
 * mestys/number.h - a double as the short decimal text that reads back as
 * the same double, header-only.
 *
 * printf("%.17g") plus a strtod check (what JSON libraries do) costs about
 * a microsecond a number; a reading has a few, a page has hundreds.  Sensor
 * values almost always have a handful of decimals, so those are written from
 * an integer, and only the rest go through printf.  Thread-safe.
 */
#ifndef MESTYS_NUMBER_H
#define MESTYS_NUMBER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes v into out (NUL-terminated) and returns the length.  JSON-safe:
 * NaN and infinities, which JSON cannot say, become "null". */
static inline int mst_number_format(double v, char out[32])
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    if (!isfinite(v)) {
        memcpy(out, "null", 5);
        return 4;
    }
    for (int d = 0; d <= 6 && fabs(v) < 1e15; d++) {
        double scaled = v * pow10[d];
        if (fabs(scaled) >= 9007199254740992.0) /* 2^53: k would not be exact */
            break;
        long long k = llround(scaled);
        /* k / 10^d, correctly rounded, is what strtod gives for the text */
        if ((double)k / pow10[d] != v)
            continue;
        char digits[24];
        unsigned long long u = k < 0 ? 0ull - (unsigned long long)k : (unsigned long long)k;
        int n = 0, len = 0;
        do {
            digits[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u || n <= d); /* at least one digit before the point */
        if (k < 0)
            out[len++] = '-';
        while (n > d)
            out[len++] = digits[--n];
        if (d) {
            out[len++] = '.';
            while (n > 0)
                out[len++] = digits[--n];
        }
        out[len] = '\0';
        return len;
    }
    int len = snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v)
        len = snprintf(out, 32, "%.17g", v);
    return len;
}

#endif /* MESTYS_NUMBER_H */
