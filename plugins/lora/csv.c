#include "csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/csv.h>

#include "geo.h"

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
        if ((header[cols] = mst_csv_field(t, len, &pos, 0, &end, &bad)))
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
            char *v = mst_csv_field(t, len, &pos, 0, &end, &bad);
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
            *why = bad == MST_CSV_NUL ? "the text holds a NUL byte" : "a quoted field is not closed";
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
