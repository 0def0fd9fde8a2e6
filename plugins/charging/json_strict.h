/* json_strict.h - is a text one JSON value as RFC 8259 defines it?
 *
 * cJSON is lenient: it takes "01", "1.", raw control characters in strings, bytes that are not UTF-8,
 * text after the value (cJSON_Parse), and cuts a string at an escaped \u0000.  A charge point's message
 * that another implementation would refuse must be refused here too, so the text is checked before
 * cJSON reads it.  Refused besides the grammar: a string holding U+0000 (a C string cannot hold it)
 * and nesting deeper than CHG_JSON_MAX_DEPTH (OCPP 1.6 payloads nest 6 deep at most). */
#ifndef CHG_JSON_STRICT_H
#define CHG_JSON_STRICT_H

#include <stddef.h>

#define CHG_JSON_MAX_DEPTH 32

/* 0 if the len bytes at s are exactly one JSON value (whitespace around allowed), else -1 with a
 * short reason and its byte offset in why. */
int chg_json_strict(const char *s, size_t len, char *why, size_t whylen);

#endif
