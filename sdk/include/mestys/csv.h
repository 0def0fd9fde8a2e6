/*
 * mestys/csv.h - one field of RFC 4180 CSV text, header-only.
 *
 * Plugins that import CSV (the lora plugin's devices, the voting plugin's
 * register) read it the same way: fields separated by commas, a field in
 * double quotes may hold commas, line breaks and doubled quotes, rows end
 * in LF or CRLF (blank lines between rows are skipped).  Pure and
 * thread-safe.
 */
#ifndef MESTYS_CSV_H
#define MESTYS_CSV_H

#include <stddef.h>
#include <stdlib.h>

/* What was wrong with a field (0: nothing). */
enum mst_csv_bad {
    MST_CSV_UNCLOSED = 1, /* a quoted field runs to the end of the text */
    MST_CSV_TOO_LONG,     /* longer than the caller's maximum */
    MST_CSV_NUL,          /* a NUL byte, which would cut a C string short */
};

/* Reads the field at *pos and moves *pos past it (and past its comma, or
 * its row's line end).  Returns the field's text (free with free()), or
 * NULL when memory runs out.  *end_of_row is set when the row ends after
 * it; *bad (left alone when all is well) to an mst_csv_bad.  max: the
 * longest field accepted in bytes, 0 for no limit. */
static inline char *mst_csv_field(const char *t, size_t len, size_t *pos, size_t max, int *end_of_row, int *bad)
{
    size_t cap = 64, n = 0;
    char *out = (char *)malloc(cap);
    if (!out)
        return NULL;
    int quoted = *pos < len && t[*pos] == '"';
    if (quoted)
        (*pos)++;
    for (; *pos < len; (*pos)++) {
        char c = t[*pos];
        if (quoted && c == '"') {
            if (*pos + 1 < len && t[*pos + 1] == '"') {
                (*pos)++;
            } else {
                quoted = 0;
                continue;
            }
        } else if (!quoted && (c == ',' || c == '\n' || c == '\r')) {
            break;
        }
        if (c == '\0' || (max && n == max)) {
            *bad = c == '\0' ? MST_CSV_NUL : MST_CSV_TOO_LONG;
            quoted = 0;
            *pos = len; /* the rest is not read */
            break;
        }
        if (n + 2 > cap) {
            char *bigger = (char *)realloc(out, cap * 2);
            if (!bigger) {
                free(out);
                return NULL;
            }
            out = bigger;
            cap *= 2;
        }
        out[n++] = c;
    }
    if (quoted)
        *bad = MST_CSV_UNCLOSED;
    out[n] = '\0';
    *end_of_row = *pos >= len || t[*pos] != ',';
    if (*pos < len && t[*pos] == ',')
        (*pos)++;
    else
        while (*pos < len && (t[*pos] == '\r' || t[*pos] == '\n'))
            (*pos)++;
    return out;
}

#endif /* MESTYS_CSV_H */
