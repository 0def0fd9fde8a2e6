/*
 * mestys/time.h - ISO 8601 times <-> Unix milliseconds, header-only.
 *
 * Every plugin that takes a time from a person or a message and gives one
 * back needs the same two functions; they live here so each plugin does not
 * grow its own.  Both are pure and thread-safe (worker threads may call them).
 */
#ifndef MESTYS_TIME_H
#define MESTYS_TIME_H

#include <stdint.h>
#include <string.h>

/* The times this header reads and writes: 0000-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z in Unix milliseconds.  A time from outside is
 * checked against them before use: outside them no ISO 8601 text with a
 * four-digit year says it, and far outside them the arithmetic overflows. */
#define MST_TIME_MIN_MS (-62167219200000LL)
#define MST_TIME_MAX_MS (253402300799999LL)

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil): no timegm, no TZ, no locale. */
static inline int64_t mst_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static inline int mst__time_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (**s < '0' || **s > '9')
            return 0;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return 1;
}

/* Parses "2026-11-21T10:00:00Z", "…T10:00:00.250+01:00" (a zone is
 * required: a time without one means nothing to a server) or a bare date
 * "2026-11-21" (midnight UTC).  Fields are range-checked.  Returns 0 and
 * sets *ms, or -1. */
static inline int mst_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (!s || !mst__time_digits(&s, 4, &y) || *s++ != '-' || !mst__time_digits(&s, 2, &mo) || *s++ != '-' ||
        !mst__time_digits(&s, 2, &d))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return -1;
    if (*s) {
        if ((*s != 'T' && *s != 't' && *s != ' ') || (s++, !mst__time_digits(&s, 2, &h)) || *s++ != ':' ||
            !mst__time_digits(&s, 2, &mi) || *s++ != ':' || !mst__time_digits(&s, 2, &sec))
            return -1;
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
        if (*s == '.') {
            int digits = 0;
            for (s++; *s >= '0' && *s <= '9'; s++, digits++)
                if (digits < 3)
                    frac = frac * 10 + (*s - '0');
            if (digits == 0)
                return -1;
            for (; digits < 3; digits++)
                frac *= 10;
        }
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (!mst__time_digits(&s, 2, &oh) || *s++ != ':' || !mst__time_digits(&s, 2, &om) || oh > 23 ||
                om > 59)
                return -1;
            off = sign * (oh * 60 + om);
        } else {
            return -1;
        }
        if (*s)
            return -1;
    }
    int64_t days = mst_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)off * 60) * 1000 + frac;
    if (t < MST_TIME_MIN_MS || t > MST_TIME_MAX_MS) /* a zone moved it out of the years 0..9999 */
        return -1;
    *ms = t;
    return 0;
}

/* Unix milliseconds given as a number (a JSON number is a double): 0 and
 * *ms (a fraction of a millisecond dropped), or -1 for a value outside
 * MST_TIME_MIN_MS..MST_TIME_MAX_MS, NaN or an infinity, which a cast to an
 * integer would turn into undefined behaviour. */
static inline int mst_time_from_number(double v, int64_t *ms)
{
    if (!(v >= (double)MST_TIME_MIN_MS && v <= (double)MST_TIME_MAX_MS))
        return -1;
    *ms = (int64_t)v;
    return 0;
}

/* y-m-d of a day number (the inverse of mst_days_from_civil). */
static inline void mst_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static inline char *mst__time_put(char *p, unsigned v, int digits)
{
    for (int i = digits - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + digits;
}

/* "2026-11-21T10:00:00.000Z" (24 characters and a NUL).  Written digit by
 * digit: it runs for every row of every page, and printf would be most of
 * the cost.  A time outside MST_TIME_MIN_MS..MST_TIME_MAX_MS is clamped to
 * the nearer one, so the text is always a real time. */
static inline void mst_time_format(int64_t ms, char out[32])
{
    if (ms < MST_TIME_MIN_MS)
        ms = MST_TIME_MIN_MS;
    if (ms > MST_TIME_MAX_MS)
        ms = MST_TIME_MAX_MS;
    int64_t day = (ms >= 0 ? ms : ms - 86399999) / 86400000, y;
    int64_t rest = ms - day * 86400000;
    unsigned m, d;
    mst_civil_from_days(day, &y, &m, &d);
    char *p = mst__time_put(out, (unsigned)y, 4);
    *p++ = '-';
    p = mst__time_put(p, m, 2);
    *p++ = '-';
    p = mst__time_put(p, d, 2);
    *p++ = 'T';
    p = mst__time_put(p, (unsigned)(rest / 3600000), 2);
    *p++ = ':';
    p = mst__time_put(p, (unsigned)(rest / 60000 % 60), 2);
    *p++ = ':';
    p = mst__time_put(p, (unsigned)(rest / 1000 % 60), 2);
    *p++ = '.';
    p = mst__time_put(p, (unsigned)(rest % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

/* "2026-11-21" of the UTC day that holds ms. */
static inline void mst_date_format(int64_t ms, char out[16])
{
    char t[32];
    mst_time_format(ms, t);
    memcpy(out, t, 10);
    out[10] = '\0';
}

#endif /* MESTYS_TIME_H */
