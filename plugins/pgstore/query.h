/* query.h - store/query answered from PostgreSQL, with exactly the store
 * plugin's contract (docs/plugins/store.md), sensors named "<town>/<name>".
 *   query_parse.c  the request read and checked, as store checks it (no libpq: fuzzed)
 *   query_sql.c    one request run on one PGconn (worker thread), the reply built
 *   query.c        the loop side: queue, query threads each with its own PGconn */
#ifndef PGSTORE_QUERY_H
#define PGSTORE_QUERY_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <mestys/time.h>

/* What a request asks for. */
enum pgq_shape { PGQ_RAW, PGQ_LATEST, PGQ_HOURLY, PGQ_EVENTS };

/* The members of a reading, in the order of the SELECT's first seven
 * columns (as store's). */
enum pgq_field { PGQ_SENSOR, PGQ_METRIC, PGQ_UNIT, PGQ_TIME, PGQ_VALUE, PGQ_LAT, PGQ_LON, PGQ_N_FIELDS };
extern const char *const pgq_field_names[PGQ_N_FIELDS];

/* A checked store/query request.  The JSON texts are what the SQL binds
 * (jsonb parameters); NULL when the request has no such filter. */
struct pgq_req {
    enum pgq_shape shape;
    int64_t limit, t0, t1; /* t0/t1 are open (beyond MST_TIME_MIN/MAX_MS) when absent */
    /* raw/latest/hourly: day (0 for latest/hourly), sensor id, metric id,
     * time in ms (hours when hourly) of the last row sent; events: c[0] is
     * the last event id.  has_cursor 0: the walk starts at the beginning. */
    long long c[4];
    int has_cursor;
    int fields[PGQ_N_FIELDS], n_fields; /* negative: the default (unknown members left out) */
    char *sensors; /* ["town/name", ...] as JSON */
    char *metrics; /* ["name", ...] */
    char *tags;    /* [["key", value], ...]: pairs, so a repeated key is checked twice, as store does */
    int no_match;  /* a name or tag that no stored sensor can have (not UTF-8): nothing matches */
    int has_bbox;
    double bbox[4];
    char *topic; /* events: the topic, or the prefix with its '/' when it ended "/#" */
    int topic_prefix;
};

/* Reads and checks a request body.  0, or 400 with *why (a constant or
 * thread-local text) exactly as store words it, or 503 when memory ran
 * out.  max_page bounds "limit". */
int pgq_parse(const char *body, size_t len, int64_t max_page, struct pgq_req *rq, const char **why);
void pgq_req_free(struct pgq_req *rq);

/* Day number (days since 1970-01-01 UTC), as store numbers its tables. */
static inline int64_t pgq_day(int64_t time_ms)
{
    return time_ms >= 0 ? time_ms / 86400000 : (time_ms - 86399999) / 86400000;
}

#endif
