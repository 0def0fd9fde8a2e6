/* pgstore.h - a region's readings in PostgreSQL.
 *
 * Towns' uplink plugins POST batches of their outbox (gzip'ed NDJSON); the
 * region answers 200 only once the batch is committed.  Local `reading`
 * messages are stored too, under the region's own town.
 *   plugin.c  description, config, life, the loop's queue of jobs
 *   ingest.c  the HTTP routes: token per town, sizes, answers
 *   batch.c   gzip + NDJSON + row checks (worker thread; fuzzed)
 *   writer.c  one transaction per group of batches (worker thread): high-water
 *             marks, sensors and metrics, binary COPY, latest, hourly
 *   schema.c  migrations, day partitions ahead and on demand, retention
 *   conn.c    libpq connect/reset, error classes, PQping probe
 *   ids.c     sensor and metric ids the writer has seen
 * pgquery (query.c, later) answers store/query from the same schema with
 * its own connections: it reads `struct pgstore`, never the writer's conn. */
#ifndef PGSTORE_PGSTORE_H
#define PGSTORE_PGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <mestys/mestys.h>

/* --- batch.c: a town's batch, parsed ------------------------------------ */

struct pgs_reading {
    int64_t o;          /* the outbox id of the message it came in (0: local) */
    char *sensor, *metric, *unit, *tags; /* unit, tags (JSON text) may be NULL */
    int64_t time_ms;
    double value, lat, lon;
    int has_location;
};

struct pgs_event {
    int64_t o, at_ms;
    char *topic, *body; /* body: JSON text as the town published it */
};

struct pgs_batch {
    int64_t epoch, first, last; /* the header line */
    int replay;                 /* a backfill: readings may exist already */
    size_t n_msgs;
    struct pgs_reading *r;
    size_t n_r, cap_r;
    struct pgs_event *e;
    size_t n_e, cap_e;
};

/* Parses NDJSON (header line, then one line per outbox message).  0, or
 * MST_EINVAL with `why` naming the line ("line 17: ..."), MST_ETOOBIG past
 * max_messages, MST_ENOMEM.  On error b is left empty. */
int pgs_batch_parse(const char *text, size_t len, size_t max_messages, struct pgs_batch *b, char *why,
                    size_t why_len);
void pgs_batch_free(struct pgs_batch *b);
/* gzip (or zlib) into *out (malloc'ed), at most cap bytes: MST_ETOOBIG past
 * it (a gzip bomb), MST_EINVAL for a broken stream. */
int pgs_inflate(const void *in, size_t len, size_t cap, char **out, size_t *out_len, char *why, size_t why_len);
/* One reading record (store's rules): 0, or MST_EINVAL with why. */
int pgs_reading_add(struct pgs_batch *b, const void *cjson_record, int64_t o, const char **why);

/* --- conn.c ---------------------------------------------------------------- */

enum pgs_class {
    PGS_OK = 0,
    PGS_DOWN,      /* connection, shutdown, resources, conflicts, unknown: 503, retry */
    PGS_BAD,       /* the data: class 22, 23502, 23514 after the partition retry */
    PGS_DUPLICATE, /* 23505: redo on the slow path */
};

PGconn *pgs_connect(const char *conninfo, char *why, size_t why_len);
/* The class of a failed result (or of a NULL result), its message in why. */
enum pgs_class pgs_classify(PGconn *c, const PGresult *r, char *why, size_t why_len);
/* Runs one statement, clears the result; PGS_OK or the class. */
enum pgs_class pgs_exec(PGconn *c, const char *sql, char *why, size_t why_len);
/* PQping with the plugin's fallbacks: 1 if a server accepts connections. */
int pgs_ping(const char *conninfo);

/* --- ids.c ------------------------------------------------------------------ */

struct pgs_ids {
    char **keys;
    int32_t *vals;
    size_t cap, len;
};
int32_t pgs_ids_get(const struct pgs_ids *m, const char *key);
int pgs_ids_put(struct pgs_ids *m, const char *key, int32_t id);
void pgs_ids_clear(struct pgs_ids *m);

/* --- the plugin -------------------------------------------------------- */

struct pgs_town {
    char *town;
    uint8_t token_sha256[32];
};

enum pgs_job_kind { PGS_JOB_BATCH, PGS_JOB_POSITION, PGS_JOB_LOCAL };

/* A unit of the writer's work: a POSTed batch, a position request, or the
 * local readings.  The loop fills the request half, the worker the answer. */
struct pgs_job {
    struct pgs_job *next;
    enum pgs_job_kind kind;
    mst_http_request *req; /* NULL for local readings */
    char *town;
    char *body;            /* as it came (gzip'ed or not); local: records of u32 topic length,
                              topic, u32 body length, body */
    size_t len;
    int gzip;
    struct pgs_batch b;
    /* the answer */
    int status;            /* 200, 400, 413, 503 */
    char why[256];
    int64_t epoch, committed, stored, duplicate, out_of_window, refused;
    int has_epoch;
};

struct pgstore {
    mst_instance *inst;
    const struct mst_host *host;
    char *conninfo, *town;
    struct pgs_town *towns;
    size_t n_towns;
    int64_t commit_ms, max_pending_bytes, max_batch_bytes, max_batch_messages, retention_days, days_ahead,
        hourly_days, max_page, query_threads, reconnect_max_ms;
    char **topics;        /* local topics kept as events */
    size_t n_topics;

    /* the writer's, used by one worker job at a time (busy) */
    PGconn *conn;
    struct pgs_ids sensors, metrics;
    int64_t *days;        /* partitions known to exist */
    size_t n_days, cap_days;
    int maintain;         /* set on the loop: partitions ahead + retention in the next run */
    int64_t dropped_days; /* partitions dropped by the last maintenance (logged) */
    char maintain_why[256];
    int writer_down;      /* the last run found PostgreSQL unavailable (writer_why says why) */
    int writer_up;        /* the last run reached PostgreSQL */
    char writer_why[256];
    uint64_t group_started_ns;

    /* the loop's */
    struct pgs_job *queue, *queue_tail; /* waiting for the next group */
    struct pgs_job *group;              /* in the worker */
    struct pgs_job *local;              /* local readings filling */
    int64_t pending_bytes;
    int busy, tick_missed, stopping;
    int db_up;         /* batches are admitted (PostgreSQL up, or the probe says it may be) */
    int reported_down; /* "unreachable" logged and in /health, "reachable again" not yet */
    int probe_busy, probe_ok;
    int64_t backoff_ms, retry_after_s;
    char db_why[256];
    mst_timer *commit_timer, *probe_timer, *daily_timer;
    int refusal_logged[4]; /* token, town, size, format: the first of each is logged */

    mst_metric *m_batches[4];  /* committed, duplicate, refused, unavailable */
    mst_metric *m_refused[4];  /* token, town, size, format */
    mst_metric *m_stored, *m_duplicate, *m_out_of_window, *m_commits, *m_commit_seconds, *m_pending, *m_db_up,
        *m_queries, *m_queries_refused, *m_local_dropped;

    void *query; /* pgquery's (query.c): its own connections; NULL until it starts */
};

enum { PGS_R_TOKEN, PGS_R_TOWN, PGS_R_SIZE, PGS_R_FORMAT };
enum { PGS_B_COMMITTED, PGS_B_DUPLICATE, PGS_B_REFUSED, PGS_B_UNAVAILABLE };

/* plugin.c */
void pgs_enqueue(struct pgstore *p, struct pgs_job *job);
void pgs_job_free(struct pgs_job *job);
void pgs_refuse(struct pgstore *p, int reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ingest.c */
int pgs_ingest_routes(struct pgstore *p);
/* Answers a job back on the loop (200/400/413/503 with the wire format). */
void pgs_answer(struct pgstore *p, struct pgs_job *job);

/* writer.c: the worker half of a group (p->group); writer's conn. */
void pgs_writer_work(void *arg);
void pgs_writer_close(struct pgstore *p);

/* schema.c (worker thread, writer's conn) */
int pgs_schema_migrate(PGconn *c, char *why, size_t why_len);
/* Makes sure day's partition exists (outside a transaction). */
enum pgs_class pgs_partition_ensure(struct pgstore *p, int64_t day, char *why, size_t why_len);
/* Partitions ahead and retention; returns the class of the first failure. */
enum pgs_class pgs_maintain(struct pgstore *p, int64_t now_ms, char *why, size_t why_len);

/* pgquery (query.c): started and stopped by plugin.c once it exists. */
int pgq_start(struct pgstore *p);
void pgq_stop(struct pgstore *p);

/* Day number (days since 1970-01-01 UTC), as store's. */
static inline int64_t pgs_day(int64_t time_ms)
{
    return time_ms >= 0 ? time_ms / 86400000 : (time_ms - 86399999) / 86400000;
}

#endif
