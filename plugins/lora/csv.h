/* csv.h - devices from a CSV file (RFC 4180: a header row naming the
 * fields, quoted fields may hold commas, quotes and newlines).  The text
 * is UTF-8: the core refuses a text/csv body that is not, naming the line. */
#ifndef LORA_CSV_H
#define LORA_CSV_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* A JSON array of objects, one per row, keyed by the header; numbers for
 * lat/lon, booleans for relax_fcnt.  NULL with *why on malformed input. */
cJSON *csv_devices(const char *text, size_t len, const char **why);

#endif
