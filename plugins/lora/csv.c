#include "csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

/* Reads one field at *pos; returns it (malloc'd) and sets *end_of_row;
 * NULL when memory runs out. */
static char *field(const char *t, size_t len, size_t *pos, int *end_of_row, int *bad)
{
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
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
        if (n + 2 > cap) {
            char *bigger = realloc(out, cap * 2);
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

/* A coordinate in degrees: the whole field a number, in range (atof took
 * "abc" for 0 and "1e999" for an infinity).  NULL, or why not. */
static const char *degrees(const char *v, enum lora_axis axis, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (end == v || *end)
        return lora_degrees_refused(axis, NAN);
    return lora_degrees_refused(axis, *out);
}

/* One row's value under its header name into row: -1 with *why if the
 * value is bad; *nomem set when memory runs out. */
static int add_value(cJSON *row, const char *k, const char *v, const char **why, int *nomem)
{
    double d;
    if (!strcmp(k, "lat") || !strcmp(k, "lon")) {
        const char *refused = degrees(v, k[1] == 'a' ? LORA_LAT : LORA_LON, &d);
        if (refused) { /* the row's other fields are still read: *why keeps the first refusal */
            *why = refused;
            return -1;
        }
        *nomem = !cJSON_AddNumberToObject(row, k, d);
    } else if (!strcmp(k, "relax_fcnt")) {
        *nomem = !cJSON_AddBoolToObject(row, k, !strcmp(v, "true") || !strcmp(v, "1"));
    } else {
        *nomem = !cJSON_AddStringToObject(row, k, v);
    }
    return 0;
}

#define CSV_MAX_COLUMNS 32

cJSON *csv_devices(const char *t, size_t len, const char **why)
{
    size_t pos = 0;
    *why = NULL;
    if (len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3))
        pos = 3; /* a BOM from a spreadsheet */
    char *header[CSV_MAX_COLUMNS];
    int cols = 0, end = 0, bad = 0, nomem = 0;
    while (!end && cols < CSV_MAX_COLUMNS && !nomem)
        if ((header[cols] = field(t, len, &pos, &end, &bad)))
            cols++;
        else
            nomem = 1;
    if (!end && !nomem) {
        *why = "the header has more than 32 columns";
        bad = 1;
    }
    cJSON *list = cJSON_CreateArray();
    nomem |= !list;
    while (pos < len && !bad && !nomem) {
        cJSON *row = cJSON_CreateObject();
        if (!row || !cJSON_AddItemToArray(list, row)) {
            cJSON_Delete(row);
            nomem = 1;
            break;
        }
        end = 0;
        for (int c = 0; !end && !nomem; c++) {
            char *v = field(t, len, &pos, &end, &bad);
            if (!v) {
                nomem = 1;
            } else if (c >= cols) {
                if (!*why)
                    *why = "a row has more fields than the header";
                bad = 1;
            } else if (*v && add_value(row, header[c], v, why, &nomem) != 0) {
                bad = 1;
            }
            free(v);
        }
    }
    for (int c = 0; c < cols; c++)
        free(header[c]);
    if (bad || nomem) {
        if (nomem)
            *why = "out of memory";
        else if (!*why)
            *why = "a quoted field is not closed";
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
