/* parse.c - `reading` message bodies into readings, on the worker thread. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

static int add(struct batch *b, const cJSON *o)
{
    const cJSON *sensor = cJSON_GetObjectItemCaseSensitive(o, "sensor");
    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(o, "metric");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(o, "time");
    if (!cJSON_IsString(sensor) || !*sensor->valuestring || !cJSON_IsString(metric) || !*metric->valuestring ||
        !cJSON_IsNumber(value))
        return -1;
    int64_t t;
    if (cJSON_IsNumber(time))
        t = (int64_t)time->valuedouble;
    else if (!cJSON_IsString(time) || mst_time_parse(time->valuestring, &t) != 0)
        return -1;
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        b->v = realloc(b->v, b->cap * sizeof *b->v);
    }
    struct reading *r = &b->v[b->len++];
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(o, "unit");
    r->sensor = strdup(sensor->valuestring);
    r->metric = strdup(metric->valuestring);
    r->unit = cJSON_IsString(unit) ? strdup(unit->valuestring) : NULL;
    r->time_ms = t;
    r->value = value->valuedouble;
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(o, "lon");
    r->has_location = cJSON_IsNumber(lat) && cJSON_IsNumber(lon);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    r->tags = cJSON_IsObject(tags) ? cJSON_PrintUnformatted(tags) : NULL;
    r->lat = r->has_location ? lat->valuedouble : 0;
    r->lon = r->has_location ? lon->valuedouble : 0;
    return 0;
}

void store_parse_batch(struct batch *b)
{
    for (size_t i = 0; i < b->n_msgs; i++) {
        if (b->msgs[i].topic)
            continue; /* an event: kept as it came, by the writer */
        cJSON *root = cJSON_ParseWithLength(b->msgs[i].body, b->msgs[i].len), *o;
        if (cJSON_IsArray(root)) {
            cJSON_ArrayForEach(o, root) b->refused += add(b, o) != 0;
        } else if (!cJSON_IsObject(root) || add(b, root) != 0) {
            b->refused++;
        }
        cJSON_Delete(root);
    }
}
