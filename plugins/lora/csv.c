#include "csv.h"

#include <stdlib.h>
#include <string.h>

/* Reads one field at *pos; returns it (malloc'd) and sets *end_of_row. */
static char *field(const char *t, size_t len, size_t *pos, int *end_of_row, int *bad)
{
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
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
        if (n + 2 > cap)
            out = realloc(out, cap *= 2);
        out[n++] = c;
    }
    if (quoted)
        *bad = 1; /* an unterminated quote */
    out[n] = '\0';
    *end_of_row = *pos >= len || t[*pos] != ',';
    if (*pos < len && t[*pos] == ',')
        (*pos)++;
    else {
        while (*pos < len && (t[*pos] == '\r' || t[*pos] == '\n'))
            (*pos)++;
    }
    return out;
}

cJSON *csv_devices(const char *t, size_t len, const char **why)
{
    size_t pos = 0;
    if (len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3))
        pos = 3; /* a BOM from a spreadsheet */
    char *header[32];
    int cols = 0, end = 0, bad = 0;
    while (!end && cols < 32)
        header[cols++] = field(t, len, &pos, &end, &bad);
    cJSON *list = cJSON_CreateArray();
    while (pos < len && !bad) {
        cJSON *row = cJSON_CreateObject();
        end = 0;
        for (int c = 0; !end; c++) {
            char *v = field(t, len, &pos, &end, &bad);
            if (c >= cols) {
                *why = "a row has more fields than the header";
                bad = 1;
            } else if (*v) {
                const char *k = header[c];
                if (!strcmp(k, "lat") || !strcmp(k, "lon"))
                    cJSON_AddNumberToObject(row, k, atof(v));
                else if (!strcmp(k, "relax_fcnt"))
                    cJSON_AddBoolToObject(row, k, !strcmp(v, "true") || !strcmp(v, "1"));
                else
                    cJSON_AddStringToObject(row, k, v);
            }
            free(v);
        }
        cJSON_AddItemToArray(list, row);
    }
    for (int c = 0; c < cols; c++)
        free(header[c]);
    if (bad) {
        if (!*why)
            *why = "a quoted field is not closed";
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
