/*
 * mestys/http_cache.h - conditional requests (RFC 9110 section 13) for
 * plugins that answer with their own ETag and Last-Modified.
 *
 * Header-only.  HTTP dates are IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 * GMT"), in UTC, without the C library's time zone.
 */
#ifndef MESTYS_HTTP_CACHE_H
#define MESTYS_HTTP_CACHE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "time.h"

static const char mst_http_months_[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Unix seconds as an IMF-fixdate; out holds at least 30 bytes. */
static inline void mst_http_date(int64_t unix_s, char out[40])
{
    static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* 1970-01-01: Thu */
    int64_t day = unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400);
    int64_t sec = unix_s - day * 86400;
    int64_t y;
    unsigned m, d;
    mst_civil_from_days(day, &y, &m, &d);
    snprintf(out, 40, "%s, %02u %s %04lld %02d:%02d:%02d GMT", days[((day % 7) + 7) % 7], d,
             mst_http_months_[(m - 1) % 12], (long long)y, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

/* An IMF-fixdate to Unix seconds; -1 if it is not one. */
static inline int64_t mst_http_date_parse(const char *s)
{
    char wd[4], mon[4];
    int d, y, h, mi, sec;
    if (!s || sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &d, mon, &y, &h, &mi, &sec) != 7)
        return -1;
    if (d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return -1;
    for (unsigned m = 0; m < 12; m++)
        if (strcmp(mon, mst_http_months_[m]) == 0)
            return mst_days_from_civil(y, m + 1, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    return -1;
}

/* If-None-Match (a list of entity tags, or "*") names etag; a weak W/
 * form matches too (the weak comparison RFC 9110 asks for here). */
static inline int mst_etag_listed(const char *if_none_match, const char *etag)
{
    size_t el = strlen(etag);
    for (const char *p = if_none_match ? if_none_match : ""; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ", \t");
        if (n == el && strncmp(p, etag, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* The answer to a request with these headers (either may be NULL) is 304:
 * If-None-Match decides when present, else If-Modified-Since against
 * modified_s (ignored when modified_s <= 0). */
static inline int mst_http_not_modified(const char *if_none_match, const char *if_modified_since, const char *etag,
                                        int64_t modified_s)
{
    if (if_none_match)
        return mst_etag_listed(if_none_match, etag);
    if (if_modified_since && modified_s > 0) {
        int64_t since = mst_http_date_parse(if_modified_since);
        return since >= 0 && modified_s <= since;
    }
    return 0;
}

#endif
