/* ocpp_format.h - the two string formats the OCPP 1.6 schemas name: "date-time" (RFC 3339 §5.6) and
 * "uri" (RFC 3986), each accepting exactly what ajv-formats 3.0.1's full mode accepts (the validator
 * pinned in tests/integration; tests/unit/ocpp_differential.js compares the two on a generated corpus).
 * Pure functions on a UTF-8 string of len bytes; no locale, no allocation. */
#ifndef CHG_OCPP_FORMAT_H
#define CHG_OCPP_FORMAT_H

#include <stddef.h>

/* 1 if s is an RFC 3339 date-time: full-date, "T"/"t" or one whitespace character, partial-time with
 * optional fraction, and a time zone ("Z"/"z" or ±hh, ±hhmm, ±hh:mm with hh <= 23, mm <= 59); the day
 * exists in its month (29 February in leap years only); second 60 only at 23:59 UTC. */
int chg_format_date_time(const char *s, size_t len);
/* 1 if s is an absolute URI: scheme ":" then an authority (after "/" or "//": userinfo@, a registered
 * name, IPv4, or a bracketed IPv6 / IPvFuture literal, :port) with an absolute path, or an absolute or
 * rootless path; then ?query and #fragment.  Percent escapes must be two hex digits; case-insensitive. */
int chg_format_uri(const char *s, size_t len);

#endif
