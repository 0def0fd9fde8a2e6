/* csv.h - devices from a CSV file (RFC 4180: a header row naming the
 * fields, quoted fields may hold commas, quotes and newlines). */
#ifndef LORA_CSV_H
#define LORA_CSV_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* A JSON array of objects, one per row, keyed by the header; numbers for
 * lat/lon, booleans for relax_fcnt.  NULL with *why on malformed input. */
cJSON *csv_devices(const char *text, size_t len, const char **why);

/* 0 if the text is well-formed UTF-8, else the number (from 1) of the
 * first line that is not. */
int csv_bad_utf8_line(const char *text, size_t len);

#endif
