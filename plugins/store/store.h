/* store.h - the time-series store: readings from the bus into SQLite,
 * in daily partitions keyed (sensor, metric, time), with hourly aggregates
 * kept longer, and `store/query` to read them back.
 *   plugin.c  lifecycle, config, batching on the loop
 *   writer.c  the commit job (worker thread): partitions, latest, hourly, retention
 *   query.c   store/query (worker thread, its own read connection) */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <mestys/mestys.h>
#include <mestys/number.h>
#include <mestys/time.h>

/* A reading as it waits for its commit: names are resolved to ids in the
 * writer, which owns the sensor and metric tables. */
struct reading {
    char *sensor;
    char *metric;
    char *unit;
    int64_t time_ms;
    double value;
    double lat, lon;
    int has_location;
    char *tags; /* the sensor's labels as JSON text, or NULL */
};

struct message {
    char *body;
    size_t len;
    char *topic;        /* NULL for `reading`; else an event to keep as is */
    int64_t received_ms;
};

/* Bodies of `reading` messages as they came: the worker parses them, so
 * the loop only copies bytes. */
struct batch {
    struct message *msgs;
    size_t n_msgs, cap_msgs, bytes;
    struct reading *v; /* filled by the worker */
    size_t len, cap;
    size_t refused;    /* records the worker found invalid */
    size_t no_memory;  /* readings the worker could not hold: memory ran out */
    uint64_t oldest_ns; /* when its first message arrived, for latency */
};

#define STORE_MAX_READERS 16

struct store {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *writer;
    sqlite3 *readers[STORE_MAX_READERS]; /* one per query running at once (WAL readers) */
    int reader_busy[STORE_MAX_READERS];
    void *stmt_caches[STORE_MAX_READERS]; /* query.c: statements kept per reader */
    int64_t n_readers;
    sqlite3_stmt *find_id[2], *add_id[2]; /* writer.c: sensor, metric */
    struct batch filling;   /* the loop appends here */
    struct batch committing;/* a worker writes this one */
    int commit_busy;
    int tick_missed; /* a commit was due while one was still running */
    struct query *queries, *queries_tail; /* waiting for a free reader */
    int64_t commit_ms, max_pending_bytes, retention_days, hourly_days, max_page;
    int64_t last_retention_ms;
    mst_timer *commit_timer;
    mst_metric *stored, *dropped, *bad, *commits, *commit_seconds, *queries_metric, *queries_refused,
        *pending_gauge;
    char commit_error[256]; /* set by the worker, logged on the loop; "" if none */
    int stopping;
    int refusal_logged; /* the first refused store/query is logged, the rest only counted */
};

/* writer.c (parse.c) */
void store_parse_batch(struct batch *b);
/* Frees the parsed readings' strings; the batch keeps its array. */
void store_readings_free(struct batch *b);
int store_writer_open(struct store *s, char **err);
void store_writer_close(struct store *s);
/* The work and after-work halves of a commit of s->committing. */
void store_commit_work(void *arg);
void store_apply_retention(struct store *s, int64_t now_ms);

/* query.c */
struct query;
void store_serve_query(void *arg, mst_request *req, const char *topic, const char *body, size_t len);
void store_queries_free(struct store *s);
/* Finalizes the kept statements (before the readers are closed). */
void store_query_close(struct store *s);
/* Runs one query on a read connection (worker thread); the reply is JSON. */
char *store_query(struct store *s, sqlite3 *db, const char *body, size_t len, int *status);

/* Day number (days since 1970-01-01 UTC) and its table name. */
static inline int64_t store_day(int64_t time_ms)
{
    return time_ms >= 0 ? time_ms / 86400000 : (time_ms - 86399999) / 86400000;
}


#endif
