/* query.c - store/query: readings by sensor, metric, time range and
 * bounding box, the latest value per sensor, hourly aggregates; keyset
 * paging with a cursor that stays valid while readings keep arriving.
 * Runs on a worker thread with the read connection, one query at a time. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct query {
    struct query *next;
    struct store *s;
    int reader; /* which of s->readers runs it */
    mst_request *req;
    char *body;
    size_t len;
    char *reply;
    int status;
};

struct sql {
    char *p;
    size_t len, cap;
    int failed; /* out of memory: the text is incomplete and must not be run */
};

static void sqlf(struct sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sqlf(struct sql *q, const char *fmt, ...)
{
    va_list ap;
    while (!q->failed) {
        va_start(ap, fmt);
        int n = vsnprintf(q->p ? q->p + q->len : NULL, q->p ? q->cap - q->len : 0, fmt, ap);
        va_end(ap);
        if (q->p && n >= 0 && (size_t)n < q->cap - q->len) {
            q->len += (size_t)n;
            return;
        }
        size_t cap = (q->cap + (size_t)(n > 0 ? n : 0) + 256) * 2;
        char *p = realloc(q->p, cap);
        if (!p) {
            q->failed = 1;
            return;
        }
        q->p = p;
        q->cap = cap;
        if (!q->len)
            q->p[0] = '\0';
    }
}

static char *error_reply(const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", msg);
    char *t = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    return t;
}

/* Statements are prepared once per read connection and kept: the SQL of
 * a query depends only on its shape (which filters, which day table), every
 * value is bound.  Preparing was an eighth of the cost of a page. */
#define STMT_CACHE 32

struct stmt_cache {
    char *sql[STMT_CACHE];
    sqlite3_stmt *st[STMT_CACHE];
    unsigned next;
};

static sqlite3_stmt *prepared(struct store *s, sqlite3 *db, const char *sql)
{
    int r = 0;
    while (r < STORE_MAX_READERS && s->readers[r] != db)
        r++;
    if (r == STORE_MAX_READERS) { /* not one of ours (bench_store): prepare each time */
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        return st;
    }
    if (!s->stmt_caches[r])
        s->stmt_caches[r] = calloc(1, sizeof(struct stmt_cache));
    struct stmt_cache *c = s->stmt_caches[r];
    if (!c) { /* no memory for a cache: prepared each time, finalized by release() */
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        return st;
    }
    for (int i = 0; i < STMT_CACHE; i++)
        if (c->sql[i] && strcmp(c->sql[i], sql) == 0)
            return c->st[i];
    unsigned slot = c->next++ % STMT_CACHE;
    sqlite3_finalize(c->st[slot]);
    free(c->sql[slot]);
    c->sql[slot] = NULL;
    c->st[slot] = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->st[slot], NULL) != SQLITE_OK) {
        sqlite3_finalize(c->st[slot]);
        c->st[slot] = NULL;
        return NULL;
    }
    c->sql[slot] = strdup(sql); /* without its text it is used once, then its slot is reused */
    return c->st[slot];
}

/* Done with a statement from prepared(): reset it if kept, else finalize. */
static void release(struct store *s, sqlite3 *db, sqlite3_stmt *st)
{
    for (int r = 0; r < STORE_MAX_READERS; r++)
        if (s->readers[r] == db && s->stmt_caches[r]) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    sqlite3_finalize(st);
}

void store_query_close(struct store *s)
{
    for (int r = 0; r < STORE_MAX_READERS; r++) {
        struct stmt_cache *c = s->stmt_caches[r];
        for (int i = 0; c && i < STMT_CACHE; i++) {
            sqlite3_finalize(c->st[i]);
            free(c->sql[i]);
        }
        free(c);
        s->stmt_caches[r] = NULL;
    }
}

/* Names become a JSON array bound to ?n: one statement for any number. */
static int names_filter(const cJSON *names, const char *table, const char *col, int param, struct sql *out,
                        char **bound)
{
    if (!names)
        return 0;
    if (!cJSON_IsArray(names))
        return -1;
    const cJSON *n;
    cJSON_ArrayForEach(n, names) if (!cJSON_IsString(n)) return -1;
    sqlf(out, " AND %s IN (SELECT id FROM %s WHERE name IN (SELECT value FROM json_each(?%d)))", col, table, param);
    *bound = cJSON_PrintUnformatted(names);
    return 0;
}

/* {"street": "Husova", "kind": "parking"}: sensors whose tags have all of
 * these; bound to ?13 as JSON.  Keys are plain words (they go into a JSON
 * path). */
static int tags_filter(const cJSON *tags, const char *col, struct sql *out, char **bound)
{
    if (!tags)
        return 0;
    if (!cJSON_IsObject(tags) || !tags->child)
        return -1;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        if (!(cJSON_IsString(t) || cJSON_IsNumber(t) || cJSON_IsBool(t)) || !*t->string ||
            strspn(t->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(t->string))
            return -1;
    }
    sqlf(out, " AND %s IN (SELECT t.id FROM sensor t WHERE NOT EXISTS (SELECT 1 FROM json_each(?13) f"
              " WHERE json_extract(t.tags, '$.\"' || f.key || '\"') IS NOT f.value))", col);
    *bound = cJSON_PrintUnformatted(tags);
    return 0;
}

static int bbox_filter(const cJSON *bbox, const char *col, struct sql *out, double b[4])
{
    if (!bbox)
        return 0;
    if (!cJSON_IsArray(bbox) || cJSON_GetArraySize(bbox) != 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetArrayItem(bbox, i);
        if (!cJSON_IsNumber(v))
            return -1;
        b[i] = v->valuedouble;
    }
    if (b[0] > b[2] || b[1] > b[3] || b[1] < -90 || b[3] > 90 || b[0] < -180 || b[2] > 180)
        return -1;
    sqlf(out, " AND %s IN (SELECT id FROM sensor WHERE lon BETWEEN ?3 AND ?5 AND lat BETWEEN ?4 AND ?6)", col);
    return 0;
}

/* from/to of a query; absent ends are open. */
static int time_range(const cJSON *q, int64_t *t0, int64_t *t1)
{
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(q, "from"), *to = cJSON_GetObjectItemCaseSensitive(q, "to");
    *t0 = INT64_MIN / 2;
    *t1 = INT64_MAX / 2;
    if (from && (!cJSON_IsString(from) || mst_time_parse(from->valuestring, t0) != 0))
        return -1;
    if (to && (!cJSON_IsString(to) || mst_time_parse(to->valuestring, t1) != 0))
        return -1;
    return *t0 > *t1 ? -1 : 0;
}

/* Keys are constants (no copy each) and numbers go in as raw text: cJSON
 * would print each with printf and check it with sscanf, the largest cost
 * of a page of readings. */
static void add_number(cJSON *o, const char *key, double v)
{
    char text[32];
    mst_number_format(v, text);
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateRaw(text));
}

static void add_text(cJSON *o, const char *key, const unsigned char *v)
{
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateString((const char *)v));
}

/* The members of a reading, as "fields" names them, in the order of the
 * SELECT's first seven columns. */
enum field { F_SENSOR, F_METRIC, F_UNIT, F_TIME, F_VALUE, F_LAT, F_LON, F_COUNT };
static const char *const field_names[F_COUNT] = {"sensor", "metric", "unit", "time", "value", "lat", "lon"};

/* "fields": which members each reading has, in that order (a proxy can then
 * pass the rows on as they are); requested and unknown is null. */
static int read_fields(const cJSON *list, int out[F_COUNT], int *n)
{
    *n = 0;
    if (!list) {
        for (int f = 0; f < F_COUNT; f++)
            out[(*n)++] = -1 - f; /* negative: the default, members left out when unknown */
        return 0;
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > F_COUNT)
        return -1;
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        int f = 0;
        while (f < F_COUNT && !(cJSON_IsString(v) && strcmp(v->valuestring, field_names[f]) == 0))
            f++;
        if (f == F_COUNT)
            return -1;
        out[(*n)++] = f;
    }
    return 0;
}

static void add_reading(cJSON *list, sqlite3_stmt *st, const int *fields, int n)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    for (int i = 0; i < n; i++) {
        int f = fields[i] < 0 ? -1 - fields[i] : fields[i], col = (int)f; /* the SELECT has them in this order */
        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
            if (fields[i] >= 0)
                cJSON_AddItemToObjectCS(o, field_names[f], cJSON_CreateNull());
        } else if (f == F_TIME) {
            mst_time_format(sqlite3_column_int64(st, 3), t);
            add_text(o, "time", (const unsigned char *)t);
        } else if (f >= F_VALUE) {
            add_number(o, field_names[f], sqlite3_column_double(st, col));
        } else {
            add_text(o, field_names[f], sqlite3_column_text(st, col));
        }
    }
    cJSON_AddItemToArray(list, o);
}

static void add_hour(cJSON *list, sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    add_text(o, "sensor", sqlite3_column_text(st, 0));
    add_text(o, "metric", sqlite3_column_text(st, 1));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        add_text(o, "unit", sqlite3_column_text(st, 2));
    mst_time_format(sqlite3_column_int64(st, 3) * 3600000, t);
    add_text(o, "hour", (const unsigned char *)t);
    add_number(o, "min", sqlite3_column_double(st, 4));
    add_number(o, "max", sqlite3_column_double(st, 5));
    add_number(o, "avg", sqlite3_column_double(st, 6) / (double)sqlite3_column_int64(st, 7));
    add_number(o, "count", (double)sqlite3_column_int64(st, 7));
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
        add_number(o, "lat", sqlite3_column_double(st, 8));
        add_number(o, "lon", sqlite3_column_double(st, 9));
    }
    cJSON_AddItemToArray(list, o);
}

/* "limit: must be 1..<max_page>".  The text is the thread's own: a query
 * runs on one worker thread, which copies it into the reply before it
 * takes the next query. */
static const char *limit_refused(int64_t max_page)
{
    static _Thread_local char text[48];
    snprintf(text, sizeof text, "limit: must be 1..%lld", (long long)max_page);
    return text;
}

/* limit, from and to, which every query has.  The limit is range-checked
 * as a double: a cast of 1e300 (or of an infinity) to an integer is
 * undefined behaviour. */
static int read_page_bounds(struct store *s, const cJSON *q, int64_t *limit, int64_t *t0, int64_t *t1,
                            const char **why)
{
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(q, "limit");
    *limit = s->max_page < 1000 ? s->max_page : 1000;
    if (lim) {
        double v = cJSON_IsNumber(lim) ? lim->valuedouble : 0;
        if (!(v >= 1 && v <= (double)s->max_page && v == floor(v))) {
            *why = limit_refused(s->max_page);
            return 400;
        }
        *limit = (int64_t)v;
    }
    if (time_range(q, t0, t1) != 0) {
        *why = "from/to must be ISO 8601 times with a zone, from before to";
        return 400;
    }
    return 0;
}

/* "next": the cursor of the following page, or null on the last one. */
static void add_next(cJSON *out, const char *next)
{
    if (next)
        cJSON_AddStringToObject(out, "next", next);
    else
        cJSON_AddNullToObject(out, "next");
}

static const char cursor_refused[] = "cursor: not one this store gave (give back the \"next\" of the previous page)";

/* Reads n integers separated by '.', the whole of text, each within
 * lo[i]..hi[i].  strtoll says when a number overflows; sscanf's %lld does
 * not (undefined behaviour), and it skips spaces and '+' no cursor has. */
static int cursor_numbers(const char *text, int n, const long long *lo, const long long *hi, long long *out)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        if (i > 0 && *p++ != '.')
            return -1;
        if (*p != '-' && (*p < '0' || *p > '9'))
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

static void add_event(cJSON *list, sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "topic", (const char *)sqlite3_column_text(st, 1));
    mst_time_format(sqlite3_column_int64(st, 2), t);
    cJSON_AddStringToObject(o, "time", t);
    const char *body = (const char *)sqlite3_column_text(st, 3);
    cJSON *parsed = cJSON_Parse(body);
    cJSON_AddItemToObject(o, "body", parsed ? parsed : cJSON_CreateString(body));
    cJSON_AddItemToArray(list, o);
}

/* The kept messages of a topic, or of every topic under "prefix/#". */
static sqlite3_stmt *events_statement(sqlite3 *db, const char *topic)
{
    size_t tl = strlen(topic);
    int prefix = tl >= 2 && !strcmp(topic + tl - 2, "/#");
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       prefix ? "SELECT id, topic, time, body FROM event WHERE topic > ?1 AND topic < ?1 || x'ff'"
                                " AND time >= ?2 AND time < ?3 AND id > ?4 ORDER BY id LIMIT ?5"
                              : "SELECT id, topic, time, body FROM event WHERE topic = ?1"
                                " AND time >= ?2 AND time < ?3 AND id > ?4 ORDER BY id LIMIT ?5",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, topic, prefix ? (int)tl - 1 : -1, SQLITE_TRANSIENT);
    return st;
}

/* Events: {"events": "<topic>", from, to, limit, cursor} -> the kept
 * messages of a topic (or "prefix/#"), oldest first, keyset by id. */
static int run_events(struct store *s, sqlite3 *db, const cJSON *q, const char *topic, cJSON *out, const char **why)
{
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(q, "cursor");
    long long after = 0;
    int64_t limit, t0, t1;
    int rc = read_page_bounds(s, q, &limit, &t0, &t1, why);
    if (rc != 0)
        return rc;
    static const long long lo[1] = {0}, hi[1] = {LLONG_MAX};
    if (cursor && (!cJSON_IsString(cursor) || cursor->valuestring[0] != 'e' ||
                   cursor_numbers(cursor->valuestring + 1, 1, lo, hi, &after) != 0)) {
        *why = cursor_refused;
        return 400;
    }
    sqlite3_stmt *st = events_statement(db, topic);
    sqlite3_bind_int64(st, 2, t0);
    sqlite3_bind_int64(st, 3, t1);
    sqlite3_bind_int64(st, 4, after);
    sqlite3_bind_int64(st, 5, limit + 1);
    cJSON *list = cJSON_AddArrayToObject(out, "events");
    int64_t n = 0, last = 0;
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        add_event(list, st);
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_finalize(st);
    char next[32];
    snprintf(next, sizeof next, "e%lld", (long long)last);
    add_next(out, more ? next : NULL);
    return 0;
}

/* A query for readings, as read from its JSON: what to return (raw
 * readings, the latest per series, or hourly aggregates), which page, and
 * the filters as SQL with the values they bind. */
enum shape { RAW, LATEST, HOURLY };

struct readings_query {
    enum shape shape;
    int64_t limit, t0, t1;
    /* The cursor: "<part>.<sensor_id>.<metric_id>.<time>" of the last row
     * sent; part is the day (raw), or 0 for latest/hourly. */
    long long c_part, c_sensor, c_metric, c_time;
    int fields[F_COUNT], n_fields;
    struct sql filter;
    char *names[2]; /* ?1 sensors, ?2 metrics, as JSON arrays */
    char *tags;     /* ?13 */
    double bbox[4]; /* ?3 .. ?6 */
};

/* What has gone into the answer so far, across day tables. */
struct page {
    cJSON *list;
    int64_t sent;
    long long last[4];
    int more;
    int failed; /* out of memory: the page would be wrong, the query fails */
};

static void readings_query_free(struct readings_query *rq)
{
    free(rq->filter.p);
    free(rq->names[0]);
    free(rq->names[1]);
    free(rq->tags);
}

static int read_shape(const cJSON *q, struct readings_query *rq, const char **why)
{
    const cJSON *agg = cJSON_GetObjectItemCaseSensitive(q, "aggregate");
    int hourly = cJSON_IsString(agg) && strcmp(agg->valuestring, "hour") == 0;
    if (agg && !hourly) {
        *why = "aggregate: only \"hour\" is kept";
        return 400;
    }
    rq->shape = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "latest")) ? LATEST : hourly ? HOURLY : RAW;
    return 0;
}

static int read_cursor(const cJSON *q, struct readings_query *rq, const char **why)
{
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(q, "cursor");
    /* part (a day, or 0), sensor id, metric id, time in ms (hours when hourly) */
    const long long lo[4] = {store_day(MST_TIME_MIN_MS), 0, 0, MST_TIME_MIN_MS},
                    hi[4] = {store_day(MST_TIME_MAX_MS), LLONG_MAX, LLONG_MAX, MST_TIME_MAX_MS};
    long long c[4] = {INT64_MIN / 2, -1, -1, INT64_MIN / 2};
    if (cursor && (!cJSON_IsString(cursor) || cursor_numbers(cursor->valuestring, 4, lo, hi, c) != 0)) {
        *why = cursor_refused;
        return 400;
    }
    rq->c_part = c[0], rq->c_sensor = c[1], rq->c_metric = c[2], rq->c_time = c[3];
    return 0;
}

static int read_filters(const cJSON *q, struct readings_query *rq, const char **why)
{
    if (read_fields(cJSON_GetObjectItemCaseSensitive(q, "fields"), rq->fields, &rq->n_fields) != 0) {
        *why = "fields: a list of sensor, metric, unit, time, value, lat, lon";
        return 400;
    }
    sqlf(&rq->filter, "1");
    if (names_filter(cJSON_GetObjectItemCaseSensitive(q, "sensors"), "sensor", "r.sensor_id", 1, &rq->filter,
                     &rq->names[0]) ||
        names_filter(cJSON_GetObjectItemCaseSensitive(q, "metrics"), "metric", "r.metric_id", 2, &rq->filter,
                     &rq->names[1]))
        *why = "sensors and metrics are arrays of names";
    else if (bbox_filter(cJSON_GetObjectItemCaseSensitive(q, "bbox"), "r.sensor_id", &rq->filter, rq->bbox))
        *why = "bbox: [min_lon, min_lat, max_lon, max_lat], degrees of longitude -180..180 and latitude -90..90, "
               "min before max";
    else if (tags_filter(cJSON_GetObjectItemCaseSensitive(q, "tags"), "r.sensor_id", &rq->filter, &rq->tags))
        *why = "tags: an object of word: value";
    else
        return 0;
    return 400;
}

static int read_readings_query(struct store *s, const cJSON *q, struct readings_query *rq, const char **why)
{
    int rc = read_shape(q, rq, why);
    if (rc == 0)
        rc = read_page_bounds(s, q, &rq->limit, &rq->t0, &rq->t1, why);
    if (rc == 0)
        rc = read_cursor(q, rq, why);
    if (rc == 0)
        rc = read_filters(q, rq, why);
    return rc;
}

/* The SQL for one part (a day table, or the latest or hourly table); its
 * text depends only on the query's shape, so the statement is cached. */
static void part_sql(const struct readings_query *rq, int64_t part, struct sql *sql)
{
    const char *key_time = rq->shape == HOURLY ? "r.hour" : "r.time";
    if (rq->shape == LATEST)
        sqlf(sql, "SELECT s.name, m.name, m.unit, r.time, r.value, s.lat, s.lon, r.sensor_id, r.metric_id, r.time"
                  " FROM latest r");
    else if (rq->shape == HOURLY)
        sqlf(sql, "SELECT s.name, m.name, m.unit, r.hour, r.min, r.max, r.sum, r.count, s.lat, s.lon,"
                  " r.sensor_id, r.metric_id, r.hour FROM hourly r");
    else
        sqlf(sql, "SELECT s.name, m.name, m.unit, r.time, r.value, s.lat, s.lon, r.sensor_id, r.metric_id, r.time"
                  " FROM \"r_%lld\" r", (long long)part);
    sqlf(sql, " JOIN sensor s ON s.id = r.sensor_id JOIN metric m ON m.id = r.metric_id WHERE %s", rq->filter.p);
    if (rq->shape == HOURLY)
        sqlf(sql, " AND r.hour BETWEEN ?7 AND ?8");
    else if (rq->shape == RAW)
        sqlf(sql, " AND r.time >= ?7 AND r.time < ?8");
    if (part == rq->c_part)
        sqlf(sql, " AND (r.sensor_id, r.metric_id, %s) > (?9, ?10, ?11)", key_time);
    sqlf(sql, " ORDER BY r.sensor_id, r.metric_id, %s LIMIT ?12", key_time);
}

static void bind_part(sqlite3_stmt *st, const struct readings_query *rq, const struct page *pg)
{
    int hourly = rq->shape == HOURLY;
    for (int i = 0; i < 2; i++)
        if (rq->names[i])
            sqlite3_bind_text(st, 1 + i, rq->names[i], -1, SQLITE_STATIC);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(st, 3 + i, rq->bbox[i]);
    if (rq->tags)
        sqlite3_bind_text(st, 13, rq->tags, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, hourly ? rq->t0 / 3600000 : rq->t0);
    sqlite3_bind_int64(st, 8, hourly ? rq->t1 / 3600000 : rq->t1);
    sqlite3_bind_int64(st, 9, rq->c_sensor);
    sqlite3_bind_int64(st, 10, rq->c_metric);
    sqlite3_bind_int64(st, 11, rq->c_time);
    sqlite3_bind_int64(st, 12, rq->limit - pg->sent + 1);
}

/* Adds one part's rows to the page, until it is full (then pg->more).
 * -1 if the part is gone (a day dropped by retention meanwhile). */
static int read_part(struct store *s, sqlite3 *db, const struct readings_query *rq, int64_t part, struct page *pg)
{
    struct sql sql = {0};
    part_sql(rq, part, &sql);
    sqlite3_stmt *st = sql.failed ? NULL : prepared(s, db, sql.p);
    free(sql.p);
    if (sql.failed)
        pg->failed = 1;
    if (!st)
        return -1;
    bind_part(st, rq, pg);
    int key = rq->shape == HOURLY ? 10 : 7;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (pg->sent == rq->limit) {
            pg->more = 1;
            break;
        }
        if (rq->shape == HOURLY)
            add_hour(pg->list, st);
        else
            add_reading(pg->list, st, rq->fields, rq->n_fields);
        pg->last[0] = (long long)part;
        pg->last[1] = sqlite3_column_int64(st, key);
        pg->last[2] = sqlite3_column_int64(st, key + 1);
        pg->last[3] = sqlite3_column_int64(st, key + 2);
        pg->sent++;
    }
    release(s, db, st);
    return 0;
}

/* Raw readings live in a table per day: read the days from the cursor's
 * on, in order, until the page is full. */
static void read_days(struct store *s, sqlite3 *db, const struct readings_query *rq, struct page *pg)
{
    int64_t d0 = store_day(rq->t0), d1 = store_day(rq->t1);
    sqlite3_stmt *days = prepared(s, db, "SELECT day FROM partition WHERE day BETWEEN ?1 AND ?2 ORDER BY day");
    sqlite3_bind_int64(days, 1, d0 > rq->c_part ? d0 : rq->c_part);
    sqlite3_bind_int64(days, 2, d1);
    int have_day = sqlite3_step(days) == SQLITE_ROW;
    while (have_day && !pg->more) {
        if (read_part(s, db, rq, sqlite3_column_int64(days, 0), pg) != 0 || pg->more)
            break;
        have_day = sqlite3_step(days) == SQLITE_ROW;
        if (have_day && pg->sent == rq->limit)
            pg->more = 1; /* the page is full and another day follows */
    }
    release(s, db, days);
}

/* Reads the parts the query covers into out's list and sets "next". */
static int fill_page(struct store *s, sqlite3 *db, const struct readings_query *rq, cJSON *out, const char **why)
{
    struct page pg = {0};
    pg.list = cJSON_AddArrayToObject(out, rq->shape == LATEST ? "latest" : rq->shape == HOURLY ? "hourly" : "readings");
    if (rq->shape == RAW)
        read_days(s, db, rq, &pg);
    else if (rq->c_part <= 0) /* one part; a cursor past it means the end */
        read_part(s, db, rq, 0, &pg);
    char next[96];
    snprintf(next, sizeof next, "%lld.%lld.%lld.%lld", pg.last[0], pg.last[1], pg.last[2], pg.last[3]);
    add_next(out, pg.more ? next : NULL);
    if (pg.failed) {
        *why = "the store is out of memory; try again later";
        return 503;
    }
    return 0;
}

static int run_readings(struct store *s, sqlite3 *db, const cJSON *q, cJSON *out, const char **why)
{
    struct readings_query rq = {0};
    int rc = read_readings_query(s, q, &rq, why);
    if (rc == 0 && rq.filter.failed) {
        *why = "the store is out of memory; try again later";
        rc = 503;
    }
    if (rc == 0)
        rc = fill_page(s, db, &rq, out, why);
    readings_query_free(&rq);
    return rc;
}

static int run(struct store *s, sqlite3 *db, const cJSON *q, cJSON *out, const char **why)
{
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(q, "events");
    if (!events)
        return run_readings(s, db, q, out, why);
    if (!cJSON_IsString(events) || !*events->valuestring) {
        *why = "events: the topic (or prefix/#) whose kept messages you want";
        return 400;
    }
    return run_events(s, db, q, events->valuestring, out, why);
}

char *store_query(struct store *s, sqlite3 *db, const char *body, size_t len, int *status)
{
    cJSON *req = cJSON_ParseWithLength(body, len);
    const char *why = "the query must be a JSON object";
    char *reply = NULL;
    int rc = 400;
    if (cJSON_IsObject(req)) {
        cJSON *out = cJSON_CreateObject();
        rc = run(s, db, req, out, &why);
        if (rc == 0)
            reply = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
    }
    if (rc != 0)
        reply = error_reply(why);
    *status = rc == 0 ? 0 : rc == 503 ? MST_ENOMEM : MST_EINVAL;
    cJSON_Delete(req);
    return reply;
}

static void query_work(void *arg)
{
    struct query *q = arg;
    q->reply = store_query(q->s, q->s->readers[q->reader], q->body, q->len, &q->status);
}

static void start_next(struct store *s);

static void query_done(void *arg, int status)
{
    struct query *q = arg;
    struct store *s = q->s;
    s->reader_busy[q->reader] = 0;
    /* MST_ECLOSED: the instance is stopping and the core has answered for us */
    if (status == 0) {
        if (q->status == MST_EINVAL) { /* from another node: counted and logged here, answered there */
            s->host->metric_add(s->queries_refused, 1);
            if (!s->refusal_logged) {
                s->refusal_logged = 1;
                s->host->log(s->inst, MST_LOG_WARN,
                             "store/query refused: %s (further refusals only counted in "
                             "mestys_store_queries_refused_total)", q->reply);
            }
        }
        s->host->respond(q->req, q->status, q->reply, strlen(q->reply));
        s->host->metric_add(s->queries_metric, 1);
    }
    free(q->reply);
    free(q->body);
    free(q);
    if (status == 0)
        start_next(s);
}

/* Queries run in the order they came, as many at once as there are read
 * connections (WAL lets readers run beside each other and the writer). */
static void start_next(struct store *s)
{
    for (int r = 0; r < s->n_readers && s->queries; r++) {
        if (s->reader_busy[r])
            continue;
        struct query *q = s->queries;
        s->queries = q->next;
        if (!s->queries)
            s->queries_tail = NULL;
        q->reader = r;
        s->reader_busy[r] = 1;
        if (s->host->queue_work(s->inst, query_work, query_done, q) != 0) {
            s->reader_busy[r] = 0;
            const char err[] = "{\"error\":\"the store is stopping\"}";
            s->host->respond(q->req, MST_ECLOSED, err, sizeof err - 1);
            free(q->body);
            free(q);
        }
    }
}

void store_serve_query(void *arg, mst_request *req, const char *topic, const char *body, size_t len)
{
    (void)topic;
    struct store *s = arg;
    struct query *q = calloc(1, sizeof *q);
    char *copy = malloc(len + 1);
    if (!q || !copy) {
        const char err[] = "{\"error\":\"the store is out of memory; try again later\"}";
        s->host->respond(req, MST_ENOMEM, err, sizeof err - 1);
        free(q);
        free(copy);
        return;
    }
    q->s = s;
    q->req = req;
    q->body = copy;
    memcpy(q->body, body, len);
    q->body[len] = '\0';
    q->len = len;
    if (s->queries_tail)
        s->queries_tail->next = q;
    else
        s->queries = q;
    s->queries_tail = q;
    start_next(s);
}

void store_queries_free(struct store *s)
{
    while (s->queries) {
        struct query *q = s->queries;
        s->queries = q->next;
        free(q->body);
        free(q);
    }
    s->queries_tail = NULL;
}
