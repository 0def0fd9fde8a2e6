/* render.c - a page of store/query rows as CSV (RFC 4180, UTF-8, CRLF),
 * JSON or GeoJSON, with only the dataset's public fields.
 *
 * A row is a reading ({"sensor", "metric", "value", ...}) or a kept event
 * ({"time", "body": {...}}); field() hides the difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opendata.h"

/* The public columns, in order. */
static size_t columns(const struct od_dataset *ds, const char **out, size_t max)
{
    size_t n = 0;
    if (ds->topic) {
        out[n++] = "time";
        for (size_t i = 0; i < ds->n_body_fields && n < max; i++)
            if (strcmp(ds->body_fields[i], "time") != 0)
                out[n++] = ds->body_fields[i];
        return n;
    }
    for (int i = 0; i < OD_N_READING_FIELDS; i++)
        if (ds->fields & (1u << i))
            out[n++] = od_reading_fields[i];
    return n;
}

static const cJSON *field(const struct od_dataset *ds, const cJSON *row, const char *name)
{
    if (!ds->topic || strcmp(name, "time") == 0)
        return cJSON_GetObjectItemCaseSensitive(row, name);
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(row, "body"), name);
}

static cJSON *rows_of(const struct od_dataset *ds, const cJSON *reply)
{
    return cJSON_GetObjectItemCaseSensitive(reply, ds->topic ? "events" : "readings");
}

static void number(FILE *f, double v)
{
    char buf[32];
    fwrite(buf, 1, (size_t)mst_number_format(v, buf), f);
}

static void csv_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_value(FILE *f, const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return;
    if (cJSON_IsNumber(v)) {
        number(f, v->valuedouble);
    } else if (cJSON_IsString(v)) {
        csv_text(f, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    } else {
        char *json = cJSON_PrintUnformatted(v);
        csv_text(f, json);
        free(json);
    }
}

char *od_csv_header(const struct od_dataset *ds, int bom)
{
    const char *cols[64];
    size_t n = columns(ds, cols, 64), len = 0;
    char *out = NULL;
    FILE *f = open_memstream(&out, &len);
    if (bom)
        fputs("\xEF\xBB\xBF", f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        csv_text(f, cols[i]);
    }
    fputs("\r\n", f);
    fclose(f);
    return out;
}

void od_render_csv_rows(const struct od_dataset *ds, const cJSON *reply, FILE *f)
{
    const char *cols[64];
    size_t n = columns(ds, cols, 64);
    const cJSON *row;
    cJSON_ArrayForEach(row, rows_of(ds, reply)) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', f);
            csv_value(f, field(ds, row, cols[i]));
        }
        fputs("\r\n", f);
    }
}

/* The row's public fields, moved (not copied) into a new object: the reply
 * is thrown away after rendering.  Numbers become raw text, written once
 * by mst_number_format instead of cJSON's printf-and-check. */
static cJSON *public_object(const struct od_dataset *ds, cJSON *row, int skip_position)
{
    const char *cols[64];
    size_t n = columns(ds, cols, 64);
    cJSON *o = cJSON_CreateObject();
    cJSON *body = ds->topic ? cJSON_GetObjectItemCaseSensitive(row, "body") : NULL;
    for (size_t i = 0; i < n; i++) {
        if (skip_position && (strcmp(cols[i], "lat") == 0 || strcmp(cols[i], "lon") == 0))
            continue;
        cJSON *from = ds->topic && strcmp(cols[i], "time") != 0 ? body : row;
        cJSON *v = cJSON_IsObject(from) ? cJSON_DetachItemFromObjectCaseSensitive(from, cols[i]) : NULL;
        if (!v) {
            v = cJSON_CreateNull();
        } else if (cJSON_IsNumber(v)) {
            char text[32];
            mst_number_format(v->valuedouble, text);
            v->type = cJSON_Raw;
            v->valuestring = strdup(text);
        }
        cJSON_AddItemToObjectCS(o, cols[i], v); /* the names outlive o */
    }
    return o;
}

static char *render_json(const struct od_dataset *ds, cJSON *reply, const char *next_url)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "dataset", ds->id);
    cJSON *data = cJSON_AddArrayToObject(out, "data");
    cJSON *row;
    cJSON_ArrayForEach(row, rows_of(ds, reply)) cJSON_AddItemToArray(data, public_object(ds, row, 0));
    if (next_url)
        cJSON_AddStringToObject(out, "next", next_url);
    else
        cJSON_AddNullToObject(out, "next");
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

/* RFC 7946: a Point per reading at its sensor's position (null geometry
 * when the position is unknown or not public); the next page as an OGC
 * API style link. */
static char *render_geojson(const struct od_dataset *ds, cJSON *reply, const char *next_url)
{
    int positions = (ds->fields & OD_LAT) && (ds->fields & OD_LON);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", "FeatureCollection");
    cJSON *features = cJSON_AddArrayToObject(out, "features");
    cJSON *row;
    cJSON_ArrayForEach(row, rows_of(ds, reply)) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "Feature");
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(row, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(row, "lon");
        if (positions && cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
            cJSON *g = cJSON_AddObjectToObject(f, "geometry");
            cJSON_AddStringToObject(g, "type", "Point");
            char lon_text[32], lat_text[32];
            mst_number_format(lon->valuedouble, lon_text);
            mst_number_format(lat->valuedouble, lat_text);
            cJSON *c = cJSON_AddArrayToObject(g, "coordinates");
            cJSON_AddItemToArray(c, cJSON_CreateRaw(lon_text));
            cJSON_AddItemToArray(c, cJSON_CreateRaw(lat_text));
        } else {
            cJSON_AddNullToObject(f, "geometry");
        }
        cJSON_AddItemToObject(f, "properties", public_object(ds, row, 1));
        cJSON_AddItemToArray(features, f);
    }
    cJSON *links = cJSON_AddArrayToObject(out, "links");
    if (next_url) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "rel", "next");
        cJSON_AddStringToObject(l, "type", "application/geo+json");
        cJSON_AddStringToObject(l, "href", next_url);
        cJSON_AddItemToArray(links, l);
    }
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

char *od_render(const struct od_dataset *ds, enum od_format f, cJSON *reply, const char *next_url, int bom,
                size_t *len)
{
    char *s;
    if (f == OD_CSV) {
        char *header = od_csv_header(ds, bom);
        s = NULL;
        FILE *out = open_memstream(&s, len);
        fputs(header, out);
        free(header);
        od_render_csv_rows(ds, reply, out);
        fclose(out);
        return s;
    }
    s = f == OD_GEOJSON ? render_geojson(ds, reply, next_url) : render_json(ds, reply, next_url);
    *len = strlen(s);
    return s;
}

const char *od_format_type(enum od_format f)
{
    switch (f) {
    case OD_CSV:
        return "text/csv; charset=utf-8; header=present";
    case OD_GEOJSON:
        return "application/geo+json";
    default:
        return "application/json";
    }
}
