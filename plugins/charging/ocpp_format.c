/* ocpp_format.c - RFC 3339 date-time and RFC 3986 URI checks, accepting what ajv-formats 3.0.1 (full
 * formats) accepts, so a payload valid for the independent peers is valid here and the reverse. */
#include "ocpp_format.h"

#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int two(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }
static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* --- date-time ---------------------------------------------------------------------------------- */

static int leap_year(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

/* YYYY-MM-DD whose day exists */
static int full_date(const char *s)
{
    static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return 0;
    int year = two(s) * 100 + two(s + 2), month = two(s + 5), day = two(s + 8);
    if (month < 1 || month > 12 || day < 1)
        return 0;
    return day <= (month == 2 && leap_year(year) ? 29 : days[month]);
}

/* The separator ajv splits on (/t|\s/i): "T", "t", or one of JavaScript's whitespace characters, here
 * in UTF-8.  Returns its length in bytes at s, 0 if s does not start with one. */
static size_t separator(const char *s, size_t len)
{
    static const char *const wide[] = {
        "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81", "\xe2\x80\x82", "\xe2\x80\x83",
        "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89",
        "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
        "\xef\xbb\xbf"};
    if (len == 0)
        return 0;
    if (strchr("Tt \t\n\v\f\r", s[0]) && s[0] != '\0')
        return 1;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
        size_t n = strlen(wide[i]);
        if (len >= n && memcmp(s, wide[i], n) == 0)
            return n;
    }
    return 0;
}

/* Whether "NN.<frac>" as a double (what JavaScript's Number() makes of it) reaches NN + 1.  Near 60
 * the doubles are 2^-47 apart, so a fraction of at least 1 - 2^-48 rounds up (the tie goes to the even
 * NN + 1 for NN = 59 and 60), exactly; compared as decimal digits, independent of the locale. */
static int fraction_rounds_up(const char *frac, size_t n)
{
    static const char limit[] = "999999999999996447286321199499070644378662109375"; /* 1 - 2^-48 */
    for (size_t i = 0; i < sizeof limit - 1; i++) {
        char d = i < n ? frac[i] : '0';
        if (d != limit[i])
            return d > limit[i];
    }
    return 1; /* equal to the limit: the tie rounds up */
}

/* partial-time time-offset: hh:mm:ss[.frac] then Z or ±hh[[:]mm] (required) */
static int full_time(const char *s, size_t len)
{
    if (len < 9 || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' || !digits(s + 6, 2))
        return 0;
    int hour = two(s), minute = two(s + 3), second = two(s + 6);
    size_t i = 8, frac_at = 0, frac_len = 0;
    if (i < len && s[i] == '.') {
        frac_at = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        frac_len = i - frac_at;
        if (frac_len == 0)
            return 0;
    }
    int sign = 1, tz_h = 0, tz_m = 0;
    if (len - i == 1 && (s[i] == 'Z' || s[i] == 'z')) {
        /* UTC */
    } else if (len - i >= 3 && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2)) {
        sign = s[i] == '-' ? -1 : 1;
        tz_h = two(s + i + 1);
        const char *m = s + i + 3;
        size_t rest = len - i - 3;
        if (rest == 3 && m[0] == ':' && digits(m + 1, 2))
            tz_m = two(m + 1);
        else if (rest == 2 && digits(m, 2))
            tz_m = two(m);
        else if (rest != 0)
            return 0;
    } else {
        return 0;
    }
    if (tz_h > 23 || tz_m > 59)
        return 0;
    int up = frac_len && fraction_rounds_up(s + frac_at, frac_len);
    if (hour <= 23 && minute <= 59 && second + up < 60)
        return 1;
    /* a leap second: 23:59:60 in UTC, whatever the offset written */
    int utc_min = minute - tz_m * sign;
    int utc_hour = hour - tz_h * sign - (utc_min < 0 ? 1 : 0);
    return (utc_hour == 23 || utc_hour == -1) && (utc_min == 59 || utc_min == -1) && second + up < 61;
}

int chg_format_date_time(const char *s, size_t len)
{
    if (len < 10 || !full_date(s))
        return 0;
    size_t sep = separator(s + 10, len - 10);
    return sep && full_time(s + 10 + sep, len - 10 - sep);
}

/* --- uri ---------------------------------------------------------------------------------------- */

enum { UNRESERVED = 1, SUB_DELIM = 2, COLON = 4, AT = 8, SLASH = 16, QUESTION = 32 };
#define PCHAR (UNRESERVED | SUB_DELIM | COLON | AT)

static int char_class(char c)
{
    if (is_alpha(c) || is_digit(c) || (c && strchr("-._~", c)))
        return UNRESERVED;
    if (c && strchr("!$&'()*+,;=", c))
        return SUB_DELIM;
    switch (c) {
    case ':': return COLON;
    case '@': return AT;
    case '/': return SLASH;
    case '?': return QUESTION;
    default: return 0;
    }
}

/* Every character of s[0..n) in `allowed`, or (if pct) a %XX escape. */
static int all_of(const char *s, size_t n, int allowed, int pct)
{
    for (size_t i = 0; i < n; i++) {
        if (pct && s[i] == '%') {
            if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 2;
        } else if (!(char_class(s[i]) & allowed)) {
            return 0;
        }
    }
    return 1;
}

/* 1-4 hex digits */
static int h16(const char *s, size_t n)
{
    if (n < 1 || n > 4)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i]))
            return 0;
    return 1;
}

/* dotted quad, each part 1-3 digits up to 255 (leading zeros allowed, as the regex allows them) */
static int ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        int value = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            value = value * 10 + (s[i++] - '0');
        if (i == start || value > 255)
            return 0;
        if (part < 3 && (i >= n || s[i++] != '.'))
            return 0;
    }
    return i == n;
}

/* Groups of an IPv6 address part separated by ":", the last one may be a dotted quad (counted as
 * two groups) if allowed; -1 if malformed. */
static int ipv6_groups(const char *s, size_t n, int quad_allowed)
{
    int count = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0;;) {
        const char *colon = memchr(s + i, ':', n - i);
        size_t end = colon ? (size_t)(colon - s) : n;
        if (!colon && quad_allowed && memchr(s + i, '.', end - i))
            return ipv4(s + i, end - i) ? count + 2 : -1;
        if (!h16(s + i, end - i))
            return -1;
        count++;
        if (!colon)
            return count;
        i = end + 1;
    }
}

static int ipv6(const char *s, size_t n)
{
    const char *gap = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == ':' && s[i + 1] == ':') {
            gap = s + i;
            break;
        }
    if (!gap)
        return ipv6_groups(s, n, 1) == 8;
    size_t left_len = (size_t)(gap - s), right_at = left_len + 2;
    int left = ipv6_groups(s, left_len, 0), right = ipv6_groups(s + right_at, n - right_at, 1);
    /* "::" stands for at least one group */
    return left >= 0 && right >= 0 && left + right <= 7;
}

/* What is between "[" and "]": an IPv6 address or "v" hex+ "." (unreserved / sub-delims / ":")+ */
static int ip_literal(const char *s, size_t n)
{
    if (n && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < n && is_hex(s[i]))
            i++;
        if (i == 1 || i >= n || s[i] != '.' || i + 1 == n)
            return 0;
        return all_of(s + i + 1, n - i - 1, UNRESERVED | SUB_DELIM | COLON, 0);
    }
    return ipv6(s, n);
}

/* [userinfo "@"] host [":" port] */
static int authority(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at) {
        if (!all_of(s, (size_t)(at - s), UNRESERVED | SUB_DELIM | COLON, 1))
            return 0;
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    size_t host_end;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || !ip_literal(s + 1, (size_t)(close - s - 1)))
            return 0;
        host_end = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        host_end = colon ? (size_t)(colon - s) : n;
        if (!all_of(s, host_end, UNRESERVED | SUB_DELIM, 1))
            return 0;
    }
    if (host_end == n)
        return 1;
    return s[host_end] == ':' && digits(s + host_end + 1, n - host_end - 1);
}

/* What follows "scheme:" up to "?" or "#".  The regex ajv-formats uses allows an authority after "/"
 * as well as after "//", then a path of segments; or a path without authority (absolute: not
 * starting with "//"; or rootless); an empty one is refused. */
static int hier_part(const char *s, size_t n)
{
    if (n && all_of(s, n, PCHAR | SLASH, 1) && !(n >= 2 && s[0] == '/' && s[1] == '/'))
        return 1;
    for (size_t slashes = 1; slashes <= 2 && slashes <= n && s[slashes - 1] == '/'; slashes++) {
        const char *rest = s + slashes;
        size_t rest_n = n - slashes;
        const char *path = memchr(rest, '/', rest_n);
        size_t auth_n = path ? (size_t)(path - rest) : rest_n;
        if (authority(rest, auth_n) && all_of(rest + auth_n, rest_n - auth_n, PCHAR | SLASH, 1))
            return 1;
    }
    return 0;
}

int chg_format_uri(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_alpha(s[0]))
        return 0;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i == len || s[i] != ':')
        return 0;
    const char *hier = s + i + 1;
    size_t hier_n = 0;
    while (hier + hier_n < s + len && hier[hier_n] != '?' && hier[hier_n] != '#')
        hier_n++;
    if (!hier_part(hier, hier_n))
        return 0;
    const char *p = hier + hier_n, *end = s + len;
    if (p < end && *p == '?') {
        const char *q = memchr(p, '#', (size_t)(end - p));
        size_t qn = q ? (size_t)(q - p) : (size_t)(end - p);
        if (!all_of(p + 1, qn - 1, PCHAR | SLASH | QUESTION, 1))
            return 0;
        p += qn;
    }
    if (p < end && *p == '#' && !all_of(p + 1, (size_t)(end - p - 1), PCHAR | SLASH | QUESTION, 1))
        return 0;
    return 1;
}
