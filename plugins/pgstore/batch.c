/* batch.c - a town's batch: gzip, NDJSON, each message and reading checked.
 * Runs on a worker thread; everything here is outside input (fuzzed by
 * tests/fuzz/pgstore_batch.c).  A batch is all or nothing: one bad line
 * refuses it (400 naming the line), so a town learns at once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cjson/cJSON.h>
#include <mestys/time.h>

#include "pgstore.h"

/* JSON numbers are doubles: an integer past 2^53 would come back as
 * another one, so epochs and ids stay below it (JavaScript's safe range). */
#define PGS_MAX_SAFE 9007199254740991.0

static int safe_int(const cJSON *v, double min, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= PGS_MAX_SAFE) ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    *failed |= !d;
    return d;
}

int pgs_reading_add(struct pgs_batch *b, const void *record, int64_t o, const char **why)
{
    const cJSON *r = record;
    if (!cJSON_IsObject(r))
        return *why = "a reading is a JSON object", MST_EINVAL;
    const cJSON *sensor = cJSON_GetObjectItemCaseSensitive(r, "sensor");
    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(r, "metric");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(r, "value");
    const cJSON *time = cJSON_GetObjectItemCaseSensitive(r, "time");
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(r, "unit");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r, "tags");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(r, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(r, "lon");
    if (!cJSON_IsString(sensor) || !*sensor->valuestring)
        return *why = "a reading needs a \"sensor\" name", MST_EINVAL;
    if (!cJSON_IsString(metric) || !*metric->valuestring)
        return *why = "a reading needs a \"metric\" name", MST_EINVAL;
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
        return *why = "a reading needs a finite numeric \"value\"", MST_EINVAL;
    int64_t t;
    if (cJSON_IsNumber(time) ? mst_time_from_number(time->valuedouble, &t) != 0
                             : !cJSON_IsString(time) || mst_time_parse(time->valuestring, &t) != 0)
        return *why = "a reading needs a \"time\": Unix ms or ISO 8601 with a zone, years 0000-9999", MST_EINVAL;
    int has_location = cJSON_IsNumber(lat) && cJSON_IsNumber(lon);
    if (has_location && !(fabs(lat->valuedouble) <= 90 && fabs(lon->valuedouble) <= 180))
        return *why = "\"lat\"/\"lon\" off the globe", MST_EINVAL;
    if (b->n_r == b->cap_r) {
        size_t cap = b->cap_r ? b->cap_r * 2 : 256;
        struct pgs_reading *v = realloc(b->r, cap * sizeof *v);
        if (!v)
            return *why = "out of memory", MST_ENOMEM;
        b->r = v;
        b->cap_r = cap;
    }
    int failed = 0;
    struct pgs_reading *x = &b->r[b->n_r];
    *x = (struct pgs_reading){.o = o, .time_ms = t, .value = value->valuedouble, .has_location = has_location,
                              .lat = has_location ? lat->valuedouble : 0, .lon = has_location ? lon->valuedouble : 0};
    x->sensor = dup_or_null(sensor->valuestring, &failed);
    x->metric = dup_or_null(metric->valuestring, &failed);
    x->unit = dup_or_null(cJSON_IsString(unit) ? unit->valuestring : NULL, &failed);
    if (cJSON_IsObject(tags))
        failed |= !(x->tags = cJSON_PrintUnformatted(tags));
    if (failed) {
        free(x->sensor), free(x->metric), free(x->unit), free(x->tags);
        return *why = "out of memory", MST_ENOMEM;
    }
    b->n_r++;
    return 0;
}

static int add_event(struct pgs_batch *b, int64_t o, const char *topic, int64_t at, const cJSON *body)
{
    if (b->n_e == b->cap_e) {
        size_t cap = b->cap_e ? b->cap_e * 2 : 64;
        struct pgs_event *v = realloc(b->e, cap * sizeof *v);
        if (!v)
            return MST_ENOMEM;
        b->e = v;
        b->cap_e = cap;
    }
    struct pgs_event *e = &b->e[b->n_e];
    e->o = o;
    e->at_ms = at;
    e->topic = strdup(topic);
    e->body = cJSON_PrintUnformatted(body);
    if (!e->topic || !e->body) {
        free(e->topic), free(e->body);
        return MST_ENOMEM;
    }
    b->n_e++;
    return 0;
}

static int header(struct pgs_batch *b, const cJSON *h, const char **why)
{
    if (!cJSON_IsObject(h))
        return *why = "the first line is the header object {\"epoch\",\"first\",\"last\",\"replay\"}", -1;
    if (safe_int(cJSON_GetObjectItemCaseSensitive(h, "epoch"), 1, &b->epoch) != 0)
        return *why = "\"epoch\" must be an integer 1..2^53-1", -1;
    if (safe_int(cJSON_GetObjectItemCaseSensitive(h, "first"), 1, &b->first) != 0 ||
        safe_int(cJSON_GetObjectItemCaseSensitive(h, "last"), 1, &b->last) != 0 || b->first > b->last)
        return *why = "\"first\" and \"last\" must be integers 1..2^53-1, first <= last", -1;
    const cJSON *replay = cJSON_GetObjectItemCaseSensitive(h, "replay");
    if (replay && !cJSON_IsBool(replay))
        return *why = "\"replay\" must be true or false", -1;
    b->replay = cJSON_IsTrue(replay);
    return 0;
}

/* One message line: {"o", "t", "b"[, "at"]}. */
static int message(struct pgs_batch *b, const cJSON *m, int64_t *prev_o, const char **why)
{
    int64_t o, at = 0;
    if (!cJSON_IsObject(m))
        return *why = "a message is a JSON object {\"o\",\"t\",\"b\"}", MST_EINVAL;
    if (safe_int(cJSON_GetObjectItemCaseSensitive(m, "o"), 1, &o) != 0)
        return *why = "\"o\" (the outbox id) must be an integer 1..2^53-1", MST_EINVAL;
    if (o <= *prev_o || o < b->first || o > b->last)
        return *why = "\"o\" must increase and stay within the header's first..last", MST_EINVAL;
    *prev_o = o;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "t");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "b");
    if (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) > 256)
        return *why = "\"t\" (the topic) must be a string of 1-256 bytes", MST_EINVAL;
    if (!body)
        return *why = "\"b\" (the message body) is missing", MST_EINVAL;
    if (strcmp(t->valuestring, "reading") != 0) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "at");
        if (!cJSON_IsNumber(a) || mst_time_from_number(a->valuedouble, &at) != 0)
            return *why = "an event needs \"at\", Unix ms of its arrival at the town", MST_EINVAL;
        int rc = add_event(b, o, t->valuestring, at, body);
        return rc ? (*why = "out of memory", rc) : 0;
    }
    if (!cJSON_IsArray(body))
        return pgs_reading_add(b, body, o, why);
    const cJSON *r;
    cJSON_ArrayForEach(r, body)
    {
        int rc = pgs_reading_add(b, r, o, why);
        if (rc)
            return rc;
    }
    return 0;
}

int pgs_batch_parse(const char *text, size_t len, size_t max_messages, struct pgs_batch *b, char *why,
                    size_t why_len)
{
    memset(b, 0, sizeof *b);
    size_t line = 0;
    int64_t prev_o = 0;
    int rc = 0;
    const char *reason = NULL;
    for (size_t off = 0; off < len && rc == 0;) {
        const char *s = text + off, *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        off += n + (nl != NULL);
        line++;
        if (n == 0 || (n == 1 && s[0] == '\r')) {
            if (line == 1)
                rc = MST_EINVAL, reason = "the first line is the header";
            continue; /* a blank line (the last newline) */
        }
        if (line > 1 && b->n_msgs == max_messages) {
            snprintf(why, why_len, "more than %zu messages in one batch (max_batch_messages)", max_messages);
            pgs_batch_free(b);
            return MST_ETOOBIG;
        }
        cJSON *j = cJSON_ParseWithLength(s, n);
        if (!j)
            rc = MST_EINVAL, reason = "not JSON";
        else if (line == 1)
            rc = header(b, j, &reason) ? MST_EINVAL : 0;
        else if ((rc = message(b, j, &prev_o, &reason)) == 0)
            b->n_msgs++;
        cJSON_Delete(j);
    }
    if (rc == 0 && line == 0)
        rc = MST_EINVAL, reason = "empty: the first line is the header", line = 1;
    if (rc != 0) {
        snprintf(why, why_len, "line %zu: %s", line, reason ? reason : "out of memory");
        pgs_batch_free(b);
    }
    return rc;
}

void pgs_batch_free(struct pgs_batch *b)
{
    for (size_t i = 0; i < b->n_r; i++) {
        free(b->r[i].sensor);
        free(b->r[i].metric);
        free(b->r[i].unit);
        free(b->r[i].tags);
    }
    for (size_t i = 0; i < b->n_e; i++) {
        free(b->e[i].topic);
        free(b->e[i].body);
    }
    free(b->r);
    free(b->e);
    memset(b, 0, sizeof *b);
}

int pgs_inflate(const void *in, size_t len, size_t cap, char **out, size_t *out_len, char *why, size_t why_len)
{
    z_stream z = {0};
    size_t size = len * 4 < cap ? (len * 4 > 4096 ? len * 4 : 4096) : cap;
    char *buf = malloc(size + 1);
    int rc = MST_ENOMEM, zrc = Z_OK;
    *out = NULL;
    if (!buf || inflateInit2(&z, 15 + 32) != Z_OK) /* gzip or zlib, by its header */
        goto out;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (zrc != Z_STREAM_END) {
        if (z.total_out == size) {
            if (size == cap) {
                snprintf(why, why_len, "the batch inflates to more than %zu bytes (max_batch_mb)", cap);
                rc = MST_ETOOBIG;
                goto out;
            }
            size_t grown = size * 2 < cap ? size * 2 : cap;
            char *more = realloc(buf, grown + 1);
            if (!more)
                goto out;
            buf = more;
            size = grown;
        }
        z.next_out = (Bytef *)buf + z.total_out;
        z.avail_out = (uInt)(size - z.total_out);
        zrc = inflate(&z, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END && !(zrc == Z_BUF_ERROR && z.avail_out == 0)) {
            snprintf(why, why_len, "line 1: not a complete gzip stream (%s)", z.msg ? z.msg : "truncated");
            rc = MST_EINVAL;
            goto out;
        }
    }
    buf[z.total_out] = '\0';
    *out_len = z.total_out;
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    inflateEnd(&z);
    free(buf);
    if (rc == MST_ENOMEM)
        snprintf(why, why_len, "out of memory");
    return rc;
}
