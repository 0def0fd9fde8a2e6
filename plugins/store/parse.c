/* parse.c - `reading` message bodies into readings, on the worker thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* 0, -1 for a record that is not a reading, -2 when memory ran out. */
static int add(struct batch *b, const cJSON *o)
{
    const cJSON *sensor = cJSON_GetObjectItemCaseSensitive(o, "sensor");
    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(o, "metric");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(o, "time");
    if (!cJSON_IsString(sensor) || !*sensor->valuestring || !cJSON_IsString(metric) || !*metric->valuestring ||
        !cJSON_IsNumber(value) || !isfinite(value->valuedouble))
        return -1; /* 1e999 parses as an infinity, which no JSON answer can carry back */
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(o, "lon");
    int has_location = cJSON_IsNumber(lat) && cJSON_IsNumber(lon);
    if (has_location && !(fabs(lat->valuedouble) <= 90 && fabs(lon->valuedouble) <= 180))
        return -1; /* off the globe (or not a number at all) */
    int64_t t;
    if (cJSON_IsNumber(time)) {
        if (mst_time_from_number(time->valuedouble, &t) != 0)
            return -1; /* outside the years 0..9999 */
    } else if (!cJSON_IsString(time) || mst_time_parse(time->valuestring, &t) != 0)
        return -1;
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        struct reading *v = realloc(b->v, cap * sizeof *b->v);
        if (!v)
            return -2;
        b->v = v;
        b->cap = cap;
    }
    struct reading *r = &b->v[b->len];
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(o, "unit");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    r->sensor = strdup(sensor->valuestring);
    r->metric = strdup(metric->valuestring);
    r->unit = cJSON_IsString(unit) ? strdup(unit->valuestring) : NULL;
    r->tags = cJSON_IsObject(tags) ? cJSON_PrintUnformatted(tags) : NULL;
    if (!r->sensor || !r->metric || (cJSON_IsString(unit) && !r->unit) || (cJSON_IsObject(tags) && !r->tags)) {
        free(r->sensor), free(r->metric), free(r->unit), free(r->tags);
        return -2;
    }
    b->len++;
    r->time_ms = t;
    r->value = value->valuedouble;
    r->has_location = has_location;
    r->lat = r->has_location ? lat->valuedouble : 0;
    r->lon = r->has_location ? lon->valuedouble : 0;
    return 0;
}

static void count(struct batch *b, int rc)
{
    b->refused += rc == -1;
    b->no_memory += rc == -2;
}

void store_parse_batch(struct batch *b)
{
    for (size_t i = 0; i < b->n_msgs; i++) {
        if (b->msgs[i].topic)
            continue; /* an event: kept as it came, by the writer */
        cJSON *root = cJSON_ParseWithLength(b->msgs[i].body, b->msgs[i].len), *o;
        if (cJSON_IsArray(root))
            cJSON_ArrayForEach(o, root) count(b, add(b, o));
        else
            count(b, cJSON_IsObject(root) ? add(b, root) : -1);
        cJSON_Delete(root);
    }
}

void store_readings_free(struct batch *b)
{
    for (size_t i = 0; i < b->len; i++) {
        free(b->v[i].sensor);
        free(b->v[i].metric);
        free(b->v[i].unit);
        free(b->v[i].tags);
    }
    b->len = 0;
}
