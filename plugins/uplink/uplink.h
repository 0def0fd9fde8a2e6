/* uplink.h - a town's messages to its region, exactly once.
 *
 * Bus messages (default `reading`) are appended to an outbox in the
 * plugin's own SQLite file; one batch at a time goes to the region's
 * pgstore over HTTPS (gzip NDJSON, the town's bearer token) and leaves the
 * outbox only when the region answers 200 naming the committed high-water
 * mark of outbox ids.  docs/plugins/uplink.md has the whole contract.
 *   plugin.c   lifecycle, config, metrics, the sender's state on the loop
 *   outbox.c   the outbox file: append, read a batch, delete, bound (workers)
 *   send.c     one send job: read, gzip, POST with libcurl, act on the answer
 *   answer.c   the region's JSON answers (outside input: fuzzed)
 *   backoff.c  full-jitter waits between retries, Retry-After
 *   backfill.c refills the outbox from the town's store through store/query */
#ifndef UPLINK_UPLINK_H
#define UPLINK_UPLINK_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <mestys/mestys.h>

/* A growing byte buffer; `data` NUL-terminated while not NULL. */
struct up_buf {
    char *data;
    size_t len, cap;
};
int up_buf_append(struct up_buf *b, const void *data, size_t len);
int up_buf_printf(struct up_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes the loop holds for the next append job at most. */
#define UP_MAX_PENDING ((size_t)64 << 20)

/* A message as the loop keeps it until the next append job. */
struct up_msg {
    char *topic;
    char *body;
    size_t len;
    int64_t at_ms; /* wall clock when it arrived */
    int replay;    /* from a backfill: the region upserts it */
};

struct up_pending {
    struct up_msg *v;
    size_t n, cap, bytes;
};

/* What a worker's transaction left in the outbox (triggers keep the totals
 * in `meta`, so they are exact inside the transaction), and what it did. */
struct up_delta {
    int64_t messages, bytes;   /* in the outbox after the job */
    int64_t oldest_at_ms;      /* `at` of the first row left, 0 if empty */
    int64_t seq;               /* changes ever made: the larger, the newer these totals */
    int64_t deleted;           /* rows the job deleted */
    int64_t dropped;           /* of those, unsent: the bound (append job) */
    int64_t bad;               /* messages that were not JSON (never appended) */
    int failed;                /* the transaction failed: why in `why` */
    char why[160];
};

/* One batch as read from the outbox. */
struct up_batch {
    int64_t first, last;
    size_t n;
    int replay;
    char *ndjson; /* header line + one line per row */
    size_t len;
};

enum up_outcome {
    UP_EMPTY = 0,  /* nothing to send */
    UP_SENT,       /* 200: rows up to `committed` deleted */
    UP_REFUSED,    /* 400: the batch deleted and counted */
    UP_SPLIT,      /* 413 of several messages: send half at once */
    UP_TOO_LARGE,  /* 413 of one message: deleted and counted */
    UP_AUTH,       /* 401/403: kept, retry at the cap */
    UP_RETRY,      /* 5xx, other status, transport error: kept, retry with backoff */
};

/* A send job: filled on the loop, done on a worker, read back on the loop. */
struct up_job {
    /* in */
    int64_t max_messages, max_bytes;
    int need_position;
    /* out */
    enum up_outcome outcome;
    long http_status;
    int64_t retry_after_ms; /* -1: none given */
    int64_t committed;
    size_t n;               /* messages in the batch */
    int64_t first, last;
    double seconds;         /* the POST's duration */
    int positioned;         /* the position question was answered */
    int64_t position_deleted;
    struct up_delta delta;
    char why[256];          /* for the log: what went wrong */
};

struct uplink {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *db_append, *db_send; /* one connection per kind of job: they may run at once */
    int64_t epoch;
    /* config */
    char *batches_url, *position_url, *auth_header, *ca_file;
    int64_t commit_ms, max_outbox_bytes, batch_max_messages, batch_max_bytes, gzip_level;
    int64_t timeout_ms, connect_timeout_ms, retry_base_ms, retry_cap_ms;
    /* appending */
    struct up_pending filling, appending;
    int append_busy;
    uint64_t appends_started, appends_done; /* append jobs, for the backfill's pacing */
    struct up_delta append_delta;
    int drop_logged;     /* the bound's drops are logged once per episode */
    int behind_logged;   /* UP_MAX_PENDING reached */
    int bad_logged;
    mst_timer *commit_timer;
    /* sending: one job at a time */
    int curl_inited;
    void *curl;          /* CURL *, used only by the one running send job */
    struct up_job job;
    int send_busy, positioned;
    atomic_int abort_send; /* set by stop(): the worker's transfer gives up */
    int64_t split_max;   /* after a 413: the largest batch to try */
    unsigned attempt;    /* failures in a row, for the backoff */
    mst_timer *retry_timer;
    int retry_logged, auth_logged, refused_logged;
    uint64_t rng;
    /* totals (the loop's) */
    int64_t messages, bytes, oldest_at_ms, seq;
    int stopping;
    struct up_backfill *backfill;
    mst_metric *m_messages, *m_bytes, *m_oldest, *m_sent, *m_retried, *m_refused[4], *m_dropped,
        *m_send_seconds, *m_bad;
};

/* outbox.c (worker threads unless said) */
extern const char *const up_migrations[];
/* On the loop at init: reads or makes the epoch, counts what is there. */
int up_outbox_open(struct uplink *u, char *why, size_t why_len);
void up_outbox_append(struct uplink *u, struct up_pending *p, struct up_delta *d);
int up_outbox_read(struct uplink *u, int64_t max_messages, int64_t max_bytes, struct up_batch *b);
/* Deletes rows first..last (ids present in that range); counts them in d. */
int up_outbox_delete(sqlite3 *db, int64_t first, int64_t last, struct up_delta *d);
void up_batch_free(struct up_batch *b);
/* Count, bytes and the oldest row's time as db's transaction sees them. */
void up_outbox_totals(sqlite3 *db, struct up_delta *d);
void up_pending_clear(struct up_pending *p);

/* send.c */
int up_send_init(struct uplink *u, char *why, size_t why_len);
void up_send_free(struct uplink *u);
void up_send_work(void *arg);

/* answer.c: the region's 200 bodies.  0, or -1 with why set. */
int up_answer_batch(const char *body, size_t len, int64_t epoch, int64_t *committed, const char **why);
/* Position: *known 0 when the region has nothing of this town yet. */
int up_answer_position(const char *body, size_t len, int64_t *epoch, int64_t *committed, int *known,
                       const char **why);
/* Retry-After as delta-seconds or an HTTP date; -1 if neither. */
int64_t up_retry_after_ms(const char *value, int64_t now_s);

/* backoff.c */
uint64_t up_rand(uint64_t *state);
/* The wait before retry number `attempt` (1 = first retry). */
int64_t up_backoff_ms(uint64_t *rng, unsigned attempt, int64_t base_ms, int64_t cap_ms, int64_t retry_after_ms);

/* backfill.c */
int up_backfill_init(struct uplink *u);
void up_backfill_free(struct uplink *u);
/* After an append job: a backfill waiting for the outbox goes on. */
void up_backfill_appended(struct uplink *u);

/* plugin.c */
int64_t up_wall_ms(void);
void up_keep(struct uplink *u, const char *topic, const char *body, size_t len, int replay);
void up_commit_now(struct uplink *u);

#endif
