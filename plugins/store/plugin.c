/*
 * store - keeps every reading.
 *
 * Subscribes `reading` (a record or an array of records), batches them on
 * the loop and commits a batch per commit interval in one transaction on a
 * worker thread: kill -9 loses at most what came in the last interval (and
 * during the commit in progress), and the database (WAL) is never left
 * corrupt.  Serves `store/query`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static const struct mst_config_key config[] = {
    {.key = "file", .type = MST_CFG_STRING, .default_json = "\"store.sqlite\"",
     .description = "the database, in the instance's state directory"},
    /* 500: with the lora plugin's 200 ms dedup window in front, nothing
     * sent more than a second before a crash is lost (docs/plugins/store.md) */
    {.key = "commit_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "500", .min = 10,
     .max = 60000, .description = "commit interval: a reading waits at most this long (plus one commit) for the disk"},
    {.key = "max_pending_mb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "256",
     .min = 1, .max = 65536, .description = "MiB of readings held in memory before new ones are dropped (counted)"},
    {.key = "retention_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "90", .min = 1,
     .max = 36500, .description = "raw readings older than this are dropped, a day at a time"},
    {.key = "hourly_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "3650", .min = 1,
     .max = 36500, .description = "hourly min/max/avg/count are kept this long"},
    {.key = "topics", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "other topics (patterns) whose messages are kept as events, e.g. charging/session"},
    {.key = "max_page", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000", .min = 1,
     .max = 1000000, .description = "largest page store/query returns"},
    {.key = "query_threads", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "2", .min = 1,
     .max = STORE_MAX_READERS, .description = "queries answered at once, each on its own read connection"},
    {0},
};

/* "#": the config may name any topic to keep (`topics`); the store
 * subscribes to nothing but `reading` and those. */
static const char *const subscribes[] = {"#", NULL};
static const char *const serves[] = {"store/query", NULL};
static const char *const migrations[] = {"SELECT 1", NULL}; /* writer.c creates the tables */

static void batch_clear(struct batch *b)
{
    store_readings_free(b);
    for (size_t i = 0; i < b->n_msgs; i++) {
        free(b->msgs[i].body);
        free(b->msgs[i].topic);
    }
    b->len = b->n_msgs = b->bytes = b->refused = b->no_memory = 0;
}

static void batch_free(struct batch *b)
{
    batch_clear(b);
    free(b->v);
    free(b->msgs);
    memset(b, 0, sizeof *b);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void no_memory(struct store *s, const char *topic)
{
    s->host->metric_add(s->dropped, 1);
    s->host->log(s->inst, MST_LOG_ERROR, "a %s message dropped: out of memory", topic);
}

/* The loop only keeps the bytes; the worker parses them at commit time. */
static void keep(struct store *s, const char *topic, const char *body, size_t len, int is_event)
{
    struct batch *b = &s->filling;
    if ((int64_t)(b->bytes + s->committing.bytes + len) > s->max_pending_bytes) {
        s->host->metric_add(s->dropped, 1);
        s->host->log(s->inst, MST_LOG_WARN, "a %s message dropped: %zu bytes wait for the disk (max_pending_mb)",
                     topic, b->bytes + s->committing.bytes);
        return;
    }
    if (b->n_msgs == b->cap_msgs) {
        size_t cap = b->cap_msgs ? b->cap_msgs * 2 : 256;
        struct message *msgs = realloc(b->msgs, cap * sizeof *b->msgs);
        if (!msgs) {
            no_memory(s, topic);
            return;
        }
        b->msgs = msgs;
        b->cap_msgs = cap;
    }
    char *copy = malloc(len ? len : 1), *kept_topic = is_event ? strdup(topic) : NULL;
    if (!copy || (is_event && !kept_topic)) {
        free(copy);
        free(kept_topic);
        no_memory(s, topic);
        return;
    }
    if (!b->n_msgs)
        b->oldest_ns = mono_ns();
    memcpy(copy, body, len);
    b->msgs[b->n_msgs++] = (struct message){copy, len, kept_topic, wall_ms()};
    b->bytes += len;
    s->host->metric_set(s->pending_gauge, (double)(b->bytes + s->committing.bytes));
}

static void on_reading(void *arg, const char *topic, const char *body, size_t len)
{
    keep(arg, topic, body, len, 0);
}

static void on_event(void *arg, const char *topic, const char *body, size_t len)
{
    keep(arg, topic, body, len, 1);
}

static void commit_now(struct store *s);

static void after_commit(void *arg, int status)
{
    struct store *s = arg;
    s->commit_busy = 0;
    if (s->committing.no_memory) {
        s->host->metric_add(s->dropped, (double)s->committing.no_memory);
        s->host->log(s->inst, MST_LOG_ERROR, "%zu reading(s) dropped: out of memory", s->committing.no_memory);
    }
    if (s->commit_error[0]) {
        s->host->log(s->inst, MST_LOG_ERROR, "commit of %zu readings failed: %s", s->committing.len,
                     s->commit_error);
        s->commit_error[0] = '\0';
    } else {
        if (s->committing.refused) {
            s->host->metric_add(s->bad, (double)s->committing.refused);
            s->host->log(s->inst, MST_LOG_DEBUG, "%zu reading(s) refused: a reading needs \"sensor\", "
                         "\"metric\", a numeric \"value\" and an ISO 8601 or Unix-ms \"time\"", s->committing.refused);
        }
        s->host->metric_add(s->stored, (double)s->committing.len);
        s->host->metric_add(s->commits, 1);
        s->host->metric_observe(s->commit_seconds, (double)(mono_ns() - s->committing.oldest_ns) / 1e9);
    }
    batch_clear(&s->committing);
    s->host->metric_set(s->pending_gauge, (double)s->filling.bytes);
    /* a tick came while this commit ran: the next batch is due now */
    if (status == 0 && s->tick_missed) {
        s->tick_missed = 0;
        commit_now(s);
    }
}

static void commit_now(struct store *s)
{
    if (s->commit_busy)
        s->tick_missed = 1;
    if (s->commit_busy || !s->filling.n_msgs || s->stopping)
        return;
    struct batch t = s->committing;
    s->committing = s->filling;
    s->filling = t;
    s->commit_busy = 1;
    if (s->host->queue_work(s->inst, store_commit_work, after_commit, s) != 0) {
        s->commit_busy = 0; /* leave it for fini's final commit */
        t = s->committing;
        s->committing = s->filling;
        s->filling = t;
    }
}

static void on_tick(void *arg)
{
    commit_now(arg);
}

static void store_fini(void *state);

static int store_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return MST_ENOMEM;
    s->inst = inst;
    s->host = host;
    *state = s;
    host->config_int(inst, "commit_ms", &s->commit_ms);
    host->config_int(inst, "max_pending_mb", &s->max_pending_bytes);
    s->max_pending_bytes <<= 20;
    host->config_int(inst, "retention_days", &s->retention_days);
    host->config_int(inst, "hourly_days", &s->hourly_days);
    host->config_int(inst, "max_page", &s->max_page);
    const char *file = host->config_string(inst, "file");
    char *err = NULL;
    int rc = host->db_open(inst, file, migrations, &s->writer);
    if (rc == 0 && (rc = store_writer_open(s, &err)) != 0)
        host->log(inst, MST_LOG_ERROR, "%s: %s", file, err ? err : "out of memory");
    free(err);
    host->config_int(inst, "query_threads", &s->n_readers);
    for (int64_t r = 0; rc == 0 && r < s->n_readers; r++)
        rc = host->db_open(inst, file, migrations, &s->readers[r]);
    const struct mst_metric_def metrics[] = {
        {MST_METRIC_COUNTER, "readings_stored_total", "readings committed", &s->stored},
        {MST_METRIC_COUNTER, "messages_dropped_total",
         "reading messages dropped because max_pending_mb were waiting for the disk", &s->dropped},
        {MST_METRIC_COUNTER, "readings_refused_total", "readings that were not valid", &s->bad},
        {MST_METRIC_COUNTER, "commits_total", "transactions committed", &s->commits},
        {MST_METRIC_HISTOGRAM, "commit_delay_seconds", "from the first reading of a batch to its commit",
         &s->commit_seconds},
        {MST_METRIC_COUNTER, "queries_total", "store/query requests answered", &s->queries_metric},
        {MST_METRIC_COUNTER, "queries_refused_total", "store/query requests refused as not valid (logged)",
         &s->queries_refused},
        {MST_METRIC_GAUGE, "pending_bytes", "bytes of readings waiting for a commit", &s->pending_gauge},
    };
    if (rc == 0)
        rc = mst_metrics_register(host, inst, metrics, sizeof metrics / sizeof metrics[0]);
    if (rc == 0)
        rc = host->subscribe(inst, "reading", on_reading, s);
    size_t n_topics = host->config_count(inst, "topics");
    for (size_t i = 0; rc == 0 && i < n_topics; i++) {
        char path[32];
        snprintf(path, sizeof path, "topics[%zu]", i);
        const char *pattern = host->config_string(inst, path);
        if (strcmp(pattern, "reading") != 0)
            rc = host->subscribe(inst, pattern, on_event, s);
    }
    if (rc == 0)
        rc = host->serve(inst, "store/query", store_serve_query, s);
    if (rc != 0) {
        store_fini(s);
        return rc;
    }
    return 0;
}

static int store_start(void *state)
{
    struct store *s = state;
    return s->host->timer_start(s->inst, (uint64_t)s->commit_ms, (uint64_t)s->commit_ms, on_tick, s, &s->commit_timer);
}

static void store_stop(void *state)
{
    struct store *s = state;
    s->stopping = 1;
}

static void store_fini(void *state)
{
    struct store *s = state;
    /* every worker job is back: commit what is left, here, before closing */
    if (s->writer && s->filling.n_msgs) {
        struct batch t = s->committing;
        s->committing = s->filling;
        s->filling = t;
        store_commit_work(s);
        if (!s->commit_error[0])
            s->host->log(s->inst, MST_LOG_INFO, "committed the last %zu reading(s)", s->committing.len);
        else
            s->host->log(s->inst, MST_LOG_ERROR, "the last %zu reading(s) could not be committed: %s",
                         s->committing.len, s->commit_error);
    }
    store_queries_free(s);
    store_writer_close(s);
    batch_free(&s->filling);
    batch_free(&s->committing);
    store_query_close(s);
    for (int r = 0; r < STORE_MAX_READERS; r++)
        sqlite3_close(s->readers[r]);
    sqlite3_close(s->writer);
    free(s);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "store",
    .version = "0.1.0",
    .description = "time-series store of readings in SQLite; serves store/query",
    .config = config,
    .subscribes = subscribes,
    .serves = serves,
    .init = store_init,
    .start = store_start,
    .stop = store_stop,
    .fini = store_fini,
};
