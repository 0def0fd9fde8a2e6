/* query_sql.c - one checked store/query request run on one PGconn (a
 * worker thread; the connection is this query's alone), the reply built
 * with cJSON exactly as the store builds its own, so the bytes match.
 *
 * Raw readings are walked a day at a time like store walks its "r_<day>"
 * tables: the days are the partitions of `readings`, each read through the
 * parent with that day's bounds (the planner prunes to one partition and
 * reads it in primary-key order, (sensor_id, metric_id, t)).  Every value
 * is bound; times go over the wire as binary timestamptz, exact to the
 * millisecond, and rows come back in binary. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <mestys/error.h>
#include <mestys/number.h>

#include "query.h"
#include "query_sql.h"

#define PG_EPOCH_MS 946684800000LL /* 2000-01-01, PostgreSQL's timestamp zero */
#define OID_INT8 20
#define OID_INT4 23
#define OID_FLOAT8 701
#define OID_TIMESTAMPTZ 1184
#define MAX_PARAMS 16

/* --- SQL text and its parameters ---------------------------------------- */

struct sql {
    char *p;
    size_t len, cap;
    int failed; /* out of memory: the text is incomplete and must not be run */
};

static void sqlf(struct sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sqlf(struct sql *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = q->failed ? -1 : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || q->len + (size_t)n + 1 > q->cap) {
        size_t cap = (q->len + (size_t)(n > 0 ? n : 0) + 256) * 2;
        char *p = n < 0 ? NULL : realloc(q->p, cap);
        if (!p) {
            q->failed = 1;
            return;
        }
        q->p = p;
        q->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(q->p + q->len, q->cap - q->len, fmt, ap);
    va_end(ap);
    q->len += (size_t)n;
}

struct params {
    int n;
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS], formats[MAX_PARAMS];
    Oid types[MAX_PARAMS];
    unsigned char bin[MAX_PARAMS][8];
};

static void put_be64(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* A binary parameter of 8 bytes; returns its number ($n). */
static int param_bin(struct params *ps, Oid type, uint64_t v)
{
    int i = ps->n++;
    put_be64(ps->bin[i], v);
    ps->values[i] = (const char *)ps->bin[i];
    ps->lengths[i] = 8;
    ps->formats[i] = 1;
    ps->types[i] = type;
    return i + 1;
}

static int param_int8(struct params *ps, int64_t v)
{
    return param_bin(ps, OID_INT8, (uint64_t)v);
}

static int param_float8(struct params *ps, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return param_bin(ps, OID_FLOAT8, bits);
}

/* A time in ms as timestamptz: microseconds since 2000; beyond the years
 * 0..9999 (an open end of a range) it is -infinity or infinity. */
static int param_time(struct params *ps, int64_t ms)
{
    int64_t us = ms < MST_TIME_MIN_MS ? INT64_MIN : ms > MST_TIME_MAX_MS ? INT64_MAX : (ms - PG_EPOCH_MS) * 1000;
    return param_bin(ps, OID_TIMESTAMPTZ, (uint64_t)us);
}

/* Text, typed by the SQL's cast ($n::jsonb). */
static int param_text(struct params *ps, const char *v)
{
    int i = ps->n++;
    ps->values[i] = v;
    ps->lengths[i] = 0;
    ps->formats[i] = 0;
    ps->types[i] = 0;
    return i + 1;
}

static PGresult *run_sql(PGconn *db, const struct sql *q, const struct params *ps)
{
    return PQexecParams(db, q->p, ps->n, ps->types, ps->values, ps->lengths, ps->formats, 1);
}

/* --- binary columns ------------------------------------------------------- */

static int64_t col_int(const PGresult *res, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
    if (PQgetlength(res, row, col) == 4)
        return (int32_t)ntohl(*(const uint32_t *)(const void *)v);
    return (int64_t)get_be64(v);
}

static double col_double(const PGresult *res, int row, int col)
{
    uint64_t bits = get_be64((const unsigned char *)PQgetvalue(res, row, col));
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static int64_t col_time_ms(const PGresult *res, int row, int col)
{
    int64_t us = (int64_t)get_be64((const unsigned char *)PQgetvalue(res, row, col));
    return (us >= 0 ? us / 1000 : -((-us + 999) / 1000)) + PG_EPOCH_MS;
}

/* --- the reply, built as store builds it ------------------------------------ */

static void add_number(cJSON *o, const char *key, double v)
{
    char text[32];
    mst_number_format(v, text);
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateRaw(text));
}

static void add_text(cJSON *o, const char *key, const char *v)
{
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateString(v));
}

static void add_next(cJSON *out, const char *next)
{
    if (next)
        cJSON_AddStringToObject(out, "next", next);
    else
        cJSON_AddNullToObject(out, "next");
}

/* Columns 0..6 are the reading's members in pgq_field order. */
static void add_reading(cJSON *list, const PGresult *res, int row, const struct pgq_req *rq)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    for (int i = 0; i < rq->n_fields; i++) {
        int f = rq->fields[i] < 0 ? -1 - rq->fields[i] : rq->fields[i];
        if (PQgetisnull(res, row, f)) {
            if (rq->fields[i] >= 0)
                cJSON_AddItemToObjectCS(o, pgq_field_names[f], cJSON_CreateNull());
        } else if (f == PGQ_TIME) {
            mst_time_format(col_time_ms(res, row, f), t);
            add_text(o, "time", t);
        } else if (f >= PGQ_VALUE) {
            add_number(o, pgq_field_names[f], col_double(res, row, f));
        } else {
            add_text(o, pgq_field_names[f], PQgetvalue(res, row, f));
        }
    }
    cJSON_AddItemToArray(list, o);
}

static void add_hour(cJSON *list, const PGresult *res, int row)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    add_text(o, "sensor", PQgetvalue(res, row, 0));
    add_text(o, "metric", PQgetvalue(res, row, 1));
    if (!PQgetisnull(res, row, 2))
        add_text(o, "unit", PQgetvalue(res, row, 2));
    mst_time_format(col_time_ms(res, row, 3), t);
    add_text(o, "hour", t);
    add_number(o, "min", col_double(res, row, 4));
    add_number(o, "max", col_double(res, row, 5));
    add_number(o, "avg", col_double(res, row, 6) / (double)col_int(res, row, 7));
    add_number(o, "count", (double)col_int(res, row, 7));
    if (!PQgetisnull(res, row, 8)) {
        add_number(o, "lat", col_double(res, row, 8));
        add_number(o, "lon", col_double(res, row, 9));
    }
    cJSON_AddItemToArray(list, o);
}

static void add_event(cJSON *list, const PGresult *res, int row)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "topic", PQgetvalue(res, row, 1));
    mst_time_format(col_time_ms(res, row, 2), t);
    cJSON_AddStringToObject(o, "time", t);
    const char *body = PQgetvalue(res, row, 3);
    cJSON *parsed = cJSON_Parse(body);
    cJSON_AddItemToObject(o, "body", parsed ? parsed : cJSON_CreateString(body));
    cJSON_AddItemToArray(list, o);
}

/* --- the run ------------------------------------------------------------- */

struct run {
    PGconn *db;
    const struct pgq_req *rq;
    cJSON *list;
    int64_t sent;
    long long last[4];
    int more;
    int failed;      /* out of memory */
    char *db_error;  /* PostgreSQL refused or went away: its message */
};

/* PGRES_TUPLES_OK, or the result freed and the error kept. */
static PGresult *checked(struct run *r, PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    if (!r->db_error) {
        const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(r->db);
        r->db_error = strndup(m && *m ? m : "no answer", strcspn(m && *m ? m : "no answer", "\n"));
    }
    PQclear(res);
    return NULL;
}

/* The filters of a readings query, on r (readings, latest or hourly) and
 * its sensor s; the sensor is matched as "<town>/<name>" and has the tag
 * "town" besides its own. */
static void filters_sql(const struct pgq_req *rq, struct sql *q, struct params *ps)
{
    if (rq->no_match) { /* and its text unbound: PostgreSQL would refuse it */
        sqlf(q, " AND false");
        return;
    }
    if (rq->sensors)
        sqlf(q, " AND r.sensor_id IN (SELECT n.id FROM sensors n JOIN jsonb_array_elements_text($%d::jsonb) v(name)"
                " ON strpos(v.name, '/') > 0 AND n.town = left(v.name, strpos(v.name, '/') - 1)"
                " AND n.name = substr(v.name, strpos(v.name, '/') + 1))",
             param_text(ps, rq->sensors));
    if (rq->metrics)
        sqlf(q, " AND r.metric_id IN (SELECT id FROM metrics WHERE name IN (SELECT jsonb_array_elements_text($%d::jsonb)))",
             param_text(ps, rq->metrics));
    if (rq->has_bbox) {
        int a = param_float8(ps, rq->bbox[0]), b = param_float8(ps, rq->bbox[1]), c = param_float8(ps, rq->bbox[2]),
            d = param_float8(ps, rq->bbox[3]);
        sqlf(q, " AND s.lon BETWEEN $%d AND $%d AND s.lat BETWEEN $%d AND $%d", a, c, b, d);
    }
    /* As SQLite's json_extract compares: strings with strings, numbers and
     * booleans (true is 1) by value.  CASE keeps every cast on its type. */
    if (rq->tags)
        sqlf(q, " AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($%d::jsonb) f, LATERAL (SELECT"
                " (COALESCE(s.tags::jsonb, '{}'::jsonb) || jsonb_build_object('town', s.town)) -> (f->>0) AS have,"
                " CASE jsonb_typeof(f->1) WHEN 'number' THEN (f->>1)::numeric"
                " WHEN 'boolean' THEN (f->>1)::boolean::int::numeric END AS want) x"
                " WHERE NOT COALESCE(CASE jsonb_typeof(x.have)"
                " WHEN 'string' THEN jsonb_typeof(f->1) = 'string' AND x.have #>> '{}' = f->>1"
                " WHEN 'number' THEN (x.have #>> '{}')::numeric = x.want"
                " WHEN 'boolean' THEN (x.have #>> '{}')::boolean::int::numeric = x.want END, false))",
             param_text(ps, rq->tags));
}

/* An hour number (a cursor's) in ms; beyond the years 0..9999 it stays
 * beyond them (param_time makes it infinite) instead of overflowing. */
static int64_t hour_ms(long long hour)
{
    const long long edge = MST_TIME_MAX_MS / 3600000 + 1;
    return hour > edge ? INT64_MAX / 2 : hour < -edge ? INT64_MIN / 2 : (int64_t)hour * 3600000;
}

/* The SQL of one part: a day of readings, or the latest or hourly table. */
static void part_sql(const struct pgq_req *rq, int64_t day, int64_t want, struct sql *q, struct params *ps)
{
    const char *key = rq->shape == PGQ_HOURLY ? "r.hour" : "r.t";
    if (rq->shape == PGQ_HOURLY)
        sqlf(q, "SELECT s.town || '/' || s.name, m.name, m.unit, r.hour, r.min, r.max, r.sum, r.count, s.lat, s.lon,"
                " r.sensor_id, r.metric_id, r.hour FROM hourly r");
    else
        sqlf(q, "SELECT s.town || '/' || s.name, m.name, m.unit, r.t, r.value, s.lat, s.lon, r.sensor_id, r.metric_id,"
                " r.t FROM %s r", rq->shape == PGQ_LATEST ? "latest" : "readings");
    sqlf(q, " JOIN sensors s ON s.id = r.sensor_id JOIN metrics m ON m.id = r.metric_id WHERE true");
    filters_sql(rq, q, ps);
    if (rq->shape == PGQ_HOURLY) { /* store's hours are time_ms / 3600000, as C divides */
        int a = param_time(ps, rq->t0 / 3600000 * 3600000), b = param_time(ps, rq->t1 / 3600000 * 3600000);
        sqlf(q, " AND r.hour BETWEEN $%d AND $%d", a, b);
    } else if (rq->shape == PGQ_RAW) {
        int64_t lo = day * 86400000, hi = (day + 1) * 86400000;
        int a = param_time(ps, rq->t0 > lo ? rq->t0 : lo), b = param_time(ps, rq->t1 < hi ? rq->t1 : hi);
        sqlf(q, " AND r.t >= $%d AND r.t < $%d", a, b);
    }
    if (rq->has_cursor && day == rq->c[0]) {
        int a = param_int8(ps, rq->c[1]), b = param_int8(ps, rq->c[2]);
        int c = param_time(ps, rq->shape == PGQ_HOURLY ? hour_ms(rq->c[3]) : rq->c[3]);
        sqlf(q, " AND (r.sensor_id, r.metric_id, %s) > ($%d, $%d, $%d)", key, a, b, c);
    }
    sqlf(q, " ORDER BY r.sensor_id, r.metric_id, %s LIMIT $%d", key, param_int8(ps, want));
}

/* Adds one part's rows to the page until it is full (then r->more). */
static int read_part(struct run *r, int64_t day)
{
    const struct pgq_req *rq = r->rq;
    struct sql q = {0};
    struct params ps = {0};
    part_sql(rq, day, rq->limit - r->sent + 1, &q, &ps); /* what is left of the page, and one more */
    if (q.failed) {
        free(q.p);
        r->failed = 1;
        return -1;
    }
    PGresult *res = checked(r, run_sql(r->db, &q, &ps));
    free(q.p);
    if (!res)
        return -1;
    int key = rq->shape == PGQ_HOURLY ? 10 : 7;
    for (int i = 0; i < PQntuples(res); i++) {
        if (r->sent == rq->limit) {
            r->more = 1;
            break;
        }
        if (rq->shape == PGQ_HOURLY)
            add_hour(r->list, res, i);
        else
            add_reading(r->list, res, i, rq);
        r->last[0] = (long long)day;
        r->last[1] = col_int(res, i, key);
        r->last[2] = col_int(res, i, key + 1);
        r->last[3] = col_time_ms(res, i, key + 2) / (rq->shape == PGQ_HOURLY ? 3600000 : 1);
        r->sent++;
    }
    PQclear(res);
    return 0;
}

/* The days that have a partition, first..last, in order. */
static PGresult *days_between(struct run *r, int64_t first, int64_t last)
{
    struct params ps = {0};
    int a = param_int8(&ps, first), b = param_int8(&ps, last);
    struct sql q = {0};
    sqlf(&q, "SELECT day FROM (SELECT CASE WHEN c.relname ~ '^r_-?[0-9]{1,12}$' THEN substr(c.relname, 3)::int8 END"
             " AS day FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
             " WHERE i.inhparent = 'readings'::regclass AND NOT i.inhdetachpending) p"
             " WHERE day BETWEEN $%d AND $%d ORDER BY day", a, b);
    PGresult *res = q.failed ? NULL : checked(r, run_sql(r->db, &q, &ps));
    r->failed |= q.failed;
    free(q.p);
    return res;
}

/* Whether any reading lies in the days first..last: store has a table for
 * a day only once a reading came for it, so "another day follows" means
 * one with readings (our partitions are made ahead, empty). */
static int any_reading(struct run *r, int64_t first, int64_t last)
{
    struct params ps = {0};
    int a = param_time(&ps, first * 86400000), b = param_time(&ps, (last + 1) * 86400000);
    struct sql q = {0};
    sqlf(&q, "SELECT 1 FROM readings WHERE t >= $%d AND t < $%d LIMIT 1", a, b);
    PGresult *res = q.failed ? NULL : checked(r, run_sql(r->db, &q, &ps));
    r->failed |= q.failed;
    free(q.p);
    int found = res && PQntuples(res) > 0;
    PQclear(res);
    return found;
}

static void read_days(struct run *r)
{
    const struct pgq_req *rq = r->rq;
    int64_t d0 = pgq_day(rq->t0), d1 = pgq_day(rq->t1);
    if (rq->has_cursor && rq->c[0] > d0)
        d0 = rq->c[0];
    PGresult *days = days_between(r, d0, d1);
    int n = days ? PQntuples(days) : 0;
    for (int i = 0; i < n && !r->more && !r->db_error; i++) {
        int64_t day = col_int(days, i, 0);
        if (read_part(r, day) != 0 || r->more)
            break;
        if (r->sent == rq->limit && i + 1 < n && any_reading(r, day + 1, d1))
            r->more = 1; /* the page is full and another day follows */
    }
    PQclear(days);
}

static void read_events(struct run *r)
{
    const struct pgq_req *rq = r->rq;
    struct params ps = {0};
    struct sql q = {0};
    int topic = param_text(&ps, rq->no_match ? "" : rq->topic), a = param_time(&ps, rq->t0), b = param_time(&ps, rq->t1),
        after = param_int8(&ps, rq->c[0]), limit = param_int8(&ps, rq->limit + 1);
    sqlf(&q, "SELECT id, topic, at, body FROM events WHERE %s AND at >= $%d AND at < $%d AND id > $%d%s"
             " ORDER BY id LIMIT $%d",
         rq->topic_prefix ? "starts_with(topic, $1) AND topic <> $1" : "topic = $1", a, b, after,
         rq->no_match ? " AND false" : "", limit);
    (void)topic;
    PGresult *res = q.failed ? NULL : checked(r, run_sql(r->db, &q, &ps));
    r->failed |= q.failed;
    free(q.p);
    int n = res ? PQntuples(res) : 0;
    for (int i = 0; i < n; i++) {
        if (r->sent == rq->limit) {
            r->more = 1;
            break;
        }
        add_event(r->list, res, i);
        r->last[0] = col_int(res, i, 0);
        r->sent++;
    }
    PQclear(res);
}

static const char *list_name(enum pgq_shape shape)
{
    return shape == PGQ_LATEST ? "latest" : shape == PGQ_HOURLY ? "hourly" : shape == PGQ_EVENTS ? "events" : "readings";
}

/* Fills out with the page; 0, or the reason it failed in *r. */
static void fill_page(struct run *r, cJSON *out)
{
    const struct pgq_req *rq = r->rq;
    r->list = cJSON_AddArrayToObject(out, list_name(rq->shape));
    if (rq->shape == PGQ_EVENTS)
        read_events(r);
    else if (rq->shape == PGQ_RAW)
        read_days(r);
    else if (!rq->has_cursor || rq->c[0] <= 0) /* one part; a cursor past it means the end */
        read_part(r, 0);
    char next[96];
    if (rq->shape == PGQ_EVENTS)
        snprintf(next, sizeof next, "e%lld", r->last[0]);
    else
        snprintf(next, sizeof next, "%lld.%lld.%lld.%lld", r->last[0], r->last[1], r->last[2], r->last[3]);
    add_next(out, r->more ? next : NULL);
}

char *pgq_error_reply(const char *why)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", why);
    char *t = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    return t;
}

char *pgq_run(PGconn *db, const struct pgq_req *rq, int *status, char **db_error)
{
    struct run r = {.db = db, .rq = rq};
    cJSON *out = cJSON_CreateObject();
    char *reply = NULL;
    if (out)
        fill_page(&r, out);
    *db_error = r.db_error;
    *status = 0;
    if (r.db_error) {
        *status = MST_EDB;
        reply = pgq_error_reply("the region's database is not answering; try again later");
    } else if (!out || r.failed || !(reply = cJSON_PrintUnformatted(out))) {
        *status = MST_ENOMEM;
        reply = pgq_error_reply("the store is out of memory; try again later");
    }
    cJSON_Delete(out);
    return reply;
}
