/* query_parse.c - a store/query request read and checked exactly as the
 * store plugin checks it (plugins/store/query.c): the same members, the
 * same order of checks, the same words in every refusal, so a client cannot
 * tell the two apart.  No libpq here: tests/fuzz/pgstore_query.c runs it. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/utf8.h>

#include "query.h"

const char *const pgq_field_names[PGQ_N_FIELDS] = {"sensor", "metric", "unit", "time", "value", "lat", "lon"};

static const char cursor_refused[] = "cursor: not one this store gave (give back the \"next\" of the previous page)";
static const char no_memory[] = "the store is out of memory; try again later";

/* "limit: must be 1..<max_page>", in the thread's own buffer: the text is
 * copied into the reply before the thread takes the next query. */
static const char *limit_refused(int64_t max_page)
{
    static _Thread_local char text[48];
    snprintf(text, sizeof text, "limit: must be 1..%lld", (long long)max_page);
    return text;
}

/* PostgreSQL refuses text that is not UTF-8, where SQLite would only find
 * no match: a name that is not cannot be a stored one. */
static int utf8_valid(const char *s)
{
    return mst_utf8_valid(s, strlen(s));
}

/* The whole of text as n integers joined by '.', each within lo..hi.
 * strtoll reports overflow (sscanf would not) but takes spaces and '+',
 * which no cursor has: only [-]digits reach it. */
static int cursor_numbers(const char *text, int n, const long long *lo, const long long *hi, long long *out)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        if (i > 0 && *p++ != '.')
            return -1;
        const char *digits = p + (*p == '-');
        if (*digits < '0' || *digits > '9')
            return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno == ERANGE || v < lo[i] || v > hi[i])
            return -1;
        out[i] = v;
        p = end;
    }
    return *p ? -1 : 0;
}

/* limit, then from and to: every shape has them.  The limit is checked as
 * a double: casting 1e300 or an infinity to an integer is undefined. */
static int read_page_bounds(const cJSON *q, int64_t max_page, struct pgq_req *rq, const char **why)
{
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(q, "limit");
    rq->limit = max_page < 1000 ? max_page : 1000;
    if (lim) {
        double v = cJSON_IsNumber(lim) ? lim->valuedouble : 0;
        if (!(v >= 1 && v <= (double)max_page && v == floor(v))) {
            *why = limit_refused(max_page);
            return 400;
        }
        rq->limit = (int64_t)v;
    }
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(q, "from"), *to = cJSON_GetObjectItemCaseSensitive(q, "to");
    rq->t0 = INT64_MIN / 2;
    rq->t1 = INT64_MAX / 2;
    if ((from && (!cJSON_IsString(from) || mst_time_parse(from->valuestring, &rq->t0) != 0)) ||
        (to && (!cJSON_IsString(to) || mst_time_parse(to->valuestring, &rq->t1) != 0)) || rq->t0 > rq->t1) {
        *why = "from/to must be ISO 8601 times with a zone, from before to";
        return 400;
    }
    return 0;
}

static int read_events(const cJSON *q, const cJSON *events, int64_t max_page, struct pgq_req *rq, const char **why)
{
    if (!cJSON_IsString(events) || !*events->valuestring) {
        *why = "events: the topic (or prefix/#) whose kept messages you want";
        return 400;
    }
    rq->shape = PGQ_EVENTS;
    int rc = read_page_bounds(q, max_page, rq, why);
    if (rc != 0)
        return rc;
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(q, "cursor");
    static const long long lo[1] = {0}, hi[1] = {LLONG_MAX};
    rq->c[0] = 0;
    if (cursor && (!cJSON_IsString(cursor) || cursor->valuestring[0] != 'e' ||
                   cursor_numbers(cursor->valuestring + 1, 1, lo, hi, rq->c) != 0)) {
        *why = cursor_refused;
        return 400;
    }
    const char *topic = events->valuestring;
    size_t tl = strlen(topic);
    rq->topic_prefix = tl >= 2 && !strcmp(topic + tl - 2, "/#");
    rq->topic = rq->topic_prefix ? strndup(topic, tl - 1) : strdup(topic);
    rq->no_match |= !utf8_valid(topic);
    if (!rq->topic) {
        *why = no_memory;
        return 503;
    }
    return 0;
}

static int read_shape(const cJSON *q, struct pgq_req *rq, const char **why)
{
    const cJSON *agg = cJSON_GetObjectItemCaseSensitive(q, "aggregate");
    int hourly = cJSON_IsString(agg) && strcmp(agg->valuestring, "hour") == 0;
    if (agg && !hourly) {
        *why = "aggregate: only \"hour\" is kept";
        return 400;
    }
    rq->shape = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "latest")) ? PGQ_LATEST
                : hourly                                                   ? PGQ_HOURLY
                                                                           : PGQ_RAW;
    return 0;
}

static int read_cursor(const cJSON *q, struct pgq_req *rq, const char **why)
{
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(q, "cursor");
    const long long lo[4] = {pgq_day(MST_TIME_MIN_MS), 0, 0, MST_TIME_MIN_MS},
                    hi[4] = {pgq_day(MST_TIME_MAX_MS), LLONG_MAX, LLONG_MAX, MST_TIME_MAX_MS};
    if (!cursor)
        return 0;
    if (!cJSON_IsString(cursor) || cursor_numbers(cursor->valuestring, 4, lo, hi, rq->c) != 0) {
        *why = cursor_refused;
        return 400;
    }
    rq->has_cursor = 1;
    return 0;
}

static int read_fields(const cJSON *list, struct pgq_req *rq)
{
    rq->n_fields = 0;
    if (!list) {
        for (int f = 0; f < PGQ_N_FIELDS; f++)
            rq->fields[rq->n_fields++] = -1 - f;
        return 0;
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PGQ_N_FIELDS)
        return -1;
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        int f = 0;
        while (f < PGQ_N_FIELDS && !(cJSON_IsString(v) && strcmp(v->valuestring, pgq_field_names[f]) == 0))
            f++;
        if (f == PGQ_N_FIELDS)
            return -1;
        rq->fields[rq->n_fields++] = f;
    }
    return 0;
}

/* An array of names as JSON, leaving out what no stored name can be. */
static int read_names(const cJSON *names, char **out, int *no_memory_hit)
{
    if (!names)
        return 0;
    if (!cJSON_IsArray(names))
        return -1;
    const cJSON *n;
    cJSON_ArrayForEach(n, names) if (!cJSON_IsString(n)) return -1;
    cJSON *kept = cJSON_CreateArray();
    cJSON_ArrayForEach(n, names) if (kept && utf8_valid(n->valuestring))
        cJSON_AddItemToArray(kept, cJSON_CreateString(n->valuestring));
    *out = kept ? cJSON_PrintUnformatted(kept) : NULL;
    cJSON_Delete(kept);
    *no_memory_hit |= !*out;
    return 0;
}

static int read_bbox(const cJSON *bbox, struct pgq_req *rq)
{
    if (!bbox)
        return 0;
    if (!cJSON_IsArray(bbox) || cJSON_GetArraySize(bbox) != 4)
        return -1;
    double *b = rq->bbox;
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetArrayItem(bbox, i);
        if (!cJSON_IsNumber(v))
            return -1;
        b[i] = v->valuedouble;
    }
    if (b[0] > b[2] || b[1] > b[3] || b[1] < -90 || b[3] > 90 || b[0] < -180 || b[2] > 180)
        return -1;
    rq->has_bbox = 1;
    return 0;
}

static int is_word(const char *s)
{
    return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

/* {"street": "Husova"} -> [["street","Husova"]]: every pair must hold. */
static int read_tags(const cJSON *tags, struct pgq_req *rq, int *no_memory_hit)
{
    if (!tags)
        return 0;
    if (!cJSON_IsObject(tags) || !tags->child)
        return -1;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        if (!(cJSON_IsString(t) || cJSON_IsNumber(t) || cJSON_IsBool(t)) || !is_word(t->string))
            return -1;
    }
    cJSON *pairs = cJSON_CreateArray();
    cJSON_ArrayForEach(t, tags) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(t->string));
        cJSON_AddItemToArray(pair, cJSON_Duplicate(t, 0));
        cJSON_AddItemToArray(pairs, pair);
        if (cJSON_IsString(t) && !utf8_valid(t->valuestring))
            rq->no_match = 1;
    }
    rq->tags = pairs ? cJSON_PrintUnformatted(pairs) : NULL;
    cJSON_Delete(pairs);
    *no_memory_hit |= !rq->tags;
    return 0;
}

static int read_filters(const cJSON *q, struct pgq_req *rq, const char **why)
{
    int oom = 0;
    if (read_fields(cJSON_GetObjectItemCaseSensitive(q, "fields"), rq) != 0)
        *why = "fields: a list of sensor, metric, unit, time, value, lat, lon";
    else if (read_names(cJSON_GetObjectItemCaseSensitive(q, "sensors"), &rq->sensors, &oom) ||
             read_names(cJSON_GetObjectItemCaseSensitive(q, "metrics"), &rq->metrics, &oom))
        *why = "sensors and metrics are arrays of names";
    else if (read_bbox(cJSON_GetObjectItemCaseSensitive(q, "bbox"), rq))
        *why = "bbox: [min_lon, min_lat, max_lon, max_lat], degrees of longitude -180..180 and latitude -90..90, "
               "min before max";
    else if (read_tags(cJSON_GetObjectItemCaseSensitive(q, "tags"), rq, &oom))
        *why = "tags: an object of word: value";
    else if (oom)
        return *why = no_memory, 503;
    else
        return 0;
    return 400;
}

static int read_request(const cJSON *q, int64_t max_page, struct pgq_req *rq, const char **why)
{
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(q, "events");
    if (events)
        return read_events(q, events, max_page, rq, why);
    int rc = read_shape(q, rq, why);
    if (rc == 0)
        rc = read_page_bounds(q, max_page, rq, why);
    if (rc == 0)
        rc = read_cursor(q, rq, why);
    if (rc == 0)
        rc = read_filters(q, rq, why);
    return rc;
}

int pgq_parse(const char *body, size_t len, int64_t max_page, struct pgq_req *rq, const char **why)
{
    memset(rq, 0, sizeof *rq);
    cJSON *q = cJSON_ParseWithLength(body, len);
    int rc = 400;
    *why = "the query must be a JSON object";
    if (cJSON_IsObject(q))
        rc = read_request(q, max_page, rq, why);
    cJSON_Delete(q);
    if (rc != 0)
        pgq_req_free(rq);
    return rc;
}

void pgq_req_free(struct pgq_req *rq)
{
    free(rq->sensors);
    free(rq->metrics);
    free(rq->tags);
    free(rq->topic);
    rq->sensors = rq->metrics = rq->tags = rq->topic = NULL;
}
