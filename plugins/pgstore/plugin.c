/*
 * pgstore - a region's readings in PostgreSQL.
 *
 * Towns' uplink instances POST their outbox in batches; a batch is answered
 * 200 only once it is committed, so the town deletes nothing PostgreSQL
 * does not hold.  Batches arriving within commit_ms share one transaction
 * on a worker thread (writer.c); one group is in the worker at a time.
 * PostgreSQL down: batches are answered 503 with Retry-After at once (the
 * towns keep them), a probe with backoff finds it back; both logged once
 * and shown in /health.  Local `reading` messages are stored under `town`.
 */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgstore.h"

static const struct mst_config_key town_keys[] = {
    {.key = "town", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = 64,
     .description = "the town's name, as its uplink's `town` and in the batches' URL ([A-Za-z0-9_-])"},
    {.key = "token", .type = MST_CFG_STRING, .flags = MST_CFG_SECRET | MST_CFG_HAS_RANGE, .min = 16, .max = 512,
     .description = "the town's bearer token (or token_sha256)"},
    {.key = "token_sha256", .type = MST_CFG_STRING, .flags = MST_CFG_HAS_RANGE, .min = 64, .max = 64,
     .description = "SHA-256 of the token, 64 hex digits, so the config holds no secret"},
    {0},
};

static const struct mst_config_key config[] = {
    {.key = "conninfo", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_SECRET,
     .description = "libpq connection string, URI or \"service=name\" (pg_service.conf); may hold a password"},
    {.key = "town", .type = MST_CFG_STRING, .flags = MST_CFG_HAS_RANGE, .min = 1, .max = 64,
     .description = "the town local `reading` messages are stored under (default: the node's name)"},
    {.key = "towns", .type = MST_CFG_ARRAY, .fields = town_keys, .default_json = "[]",
     .description = "towns allowed to send, each with its own token"},
    {.key = "commit_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "500", .min = 1,
     .max = 60000, .description = "batches arriving within this share one transaction"},
    {.key = "max_pending_mb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "256", .min = 1,
     .max = 65536, .description = "MiB of batches waiting for a commit; past it batches are answered 503"},
    {.key = "max_batch_mb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "16", .min = 1,
     .max = 1024, .description = "largest batch once inflated (413 past it)"},
    {.key = "max_batch_messages", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "50000",
     .min = 1, .max = 10000000, .description = "most messages in one batch (413 past it)"},
    {.key = "retention_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "90", .min = 1,
     .max = 36500, .description = "raw readings older than this are dropped, a day partition at a time; "
                                  "older readings that arrive are acknowledged, not stored (counted)"},
    {.key = "days_ahead", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "2", .min = 1,
     .max = 30, .description = "day partitions created ahead of today"},
    {.key = "hourly_days", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "3650", .min = 1,
     .max = 36500, .description = "hourly min/max/sum/count are kept this long"},
    {.key = "topics", .type = MST_CFG_STRING_LIST, .default_json = "[]",
     .description = "local topics (patterns) kept as events, besides the towns' events"},
    {.key = "max_page", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "10000", .min = 1,
     .max = 1000000, .description = "largest page store/query returns (pgquery)"},
    {.key = "query_threads", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "2", .min = 1,
     .max = 16, .description = "store/query answered at once, each on its own connection (pgquery)"},
    {.key = "reconnect_max_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30000",
     .min = 100, .max = 600000, .description = "longest wait between two tries to reach PostgreSQL"},
    {0},
};

/* "#": the config may name any local topic to keep (`topics`). */
static const char *const subscribes[] = {"#", NULL};
static const char *const serves[] = {"store/query", NULL};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pgs_job_free(struct pgs_job *job)
{
    if (!job)
        return;
    pgs_batch_free(&job->b);
    free(job->town);
    free(job->body);
    free(job);
}

static const char *const reason_names[] = {"token", "town", "size", "format"};

void pgs_refuse(struct pgstore *p, int reason, const char *fmt, ...)
{
    p->host->metric_add(p->m_refused[reason], 1);
    p->host->metric_add(p->m_batches[PGS_B_REFUSED], 1);
    if (p->refusal_logged[reason])
        return; /* a town could fill the log: the first of each kind, then only the count */
    p->refusal_logged[reason] = 1;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->host->log(p->inst, MST_LOG_WARN, "%s (refusals for %s are counted in mestys_pgstore_refused_total, "
                 "logged once)", line, reason_names[reason]);
}

static void append(struct pgstore *p, struct pgs_job *job)
{
    if (p->queue_tail)
        p->queue_tail->next = job;
    else
        p->queue = job;
    p->queue_tail = job;
}

void pgs_enqueue(struct pgstore *p, struct pgs_job *job)
{
    append(p, job);
    p->pending_bytes += (int64_t)job->len;
    p->host->metric_set(p->m_pending, (double)p->pending_bytes);
}

/* --- PostgreSQL up and down ------------------------------------------- */

static void probe_later(struct pgstore *p);

/* Logged once per outage, in both directions: a probe that finds the
 * server while the writer still cannot use it (a wrong password, a missing
 * database) only lets the next group try, it reports nothing. */
static void went_down(struct pgstore *p, const char *why)
{
    if (!p->reported_down) {
        char problem[400];
        snprintf(problem, sizeof problem, "PostgreSQL unreachable: %s", why);
        p->host->log(p->inst, MST_LOG_ERROR, "%s; batches are answered 503 until it is back", problem);
        if (MST_HOST_HAS(p->host, health_set))
            p->host->health_set(p->inst, problem);
        p->reported_down = 1;
    }
    p->db_up = 0;
    p->host->metric_set(p->m_db_up, 0);
    snprintf(p->db_why, sizeof p->db_why, "%s", why);
    probe_later(p);
}

/* The writer used PostgreSQL: the outage, if any, is over. */
static void came_back(struct pgstore *p)
{
    if (p->reported_down) {
        p->host->log(p->inst, MST_LOG_INFO, "PostgreSQL is reachable again");
        if (MST_HOST_HAS(p->host, health_set))
            p->host->health_set(p->inst, NULL);
        p->reported_down = 0;
    }
    p->db_up = 1;
    p->backoff_ms = 0;
    p->host->metric_set(p->m_db_up, 1);
}

static void probe_work(void *arg)
{
    struct pgstore *p = arg;
    p->probe_ok = pgs_ping(p->conninfo);
}

static void probe_done(void *arg, int status)
{
    struct pgstore *p = arg;
    p->probe_busy = 0;
    if (status != 0 || p->stopping)
        return;
    if (p->probe_ok) {
        p->db_up = 1;    /* admit batches again; the writer's next run says whether it is back */
        p->maintain = 1; /* that run comes even with no batch */
    } else
        probe_later(p);
}

static void on_probe(void *arg)
{
    struct pgstore *p = arg;
    p->probe_timer = NULL;
    if (p->stopping || p->probe_busy)
        return;
    p->probe_busy = 1;
    if (p->host->queue_work(p->inst, probe_work, probe_done, p) != 0)
        p->probe_busy = 0;
}

/* Full jitter between half and all of an exponential wait (0.5 s ...
 * reconnect_max_ms), so many regions' daemons do not knock at once. */
static void probe_later(struct pgstore *p)
{
    if (p->probe_timer || p->probe_busy || p->stopping)
        return;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 500;
    if (p->backoff_ms > p->reconnect_max_ms)
        p->backoff_ms = p->reconnect_max_ms;
    int64_t wait = p->backoff_ms / 2 + rand() % (p->backoff_ms / 2 + 1);
    p->retry_after_s = (p->backoff_ms + 999) / 1000;
    p->host->timer_start(p->inst, (uint64_t)wait, 0, on_probe, p, &p->probe_timer);
}

/* --- the writer's groups ------------------------------------------------ */

static void flush(struct pgstore *p);

/* PostgreSQL went away during the run: the local messages wait for the
 * next one, older first, before those that came meanwhile. */
static void requeue_local(struct pgstore *p, struct pgs_job *j)
{
    pgs_batch_free(&j->b);
    j->refused = 0;
    j->status = 0;
    j->next = NULL;
    p->pending_bytes += (int64_t)j->len;
    if (p->local) {
        char *body = realloc(j->body, j->len + p->local->len);
        if (!body) {
            p->host->metric_add(p->m_local_dropped, 1);
            p->pending_bytes -= (int64_t)j->len;
            pgs_job_free(j);
            return;
        }
        memcpy(body + j->len, p->local->body, p->local->len);
        j->body = body;
        j->len += p->local->len;
        pgs_job_free(p->local);
    }
    p->local = j;
}

static void finished(void *arg, int status)
{
    struct pgstore *p = arg;
    struct pgs_job *j = p->group, *next;
    p->group = NULL;
    p->busy = 0;
    if (status != 0 || p->stopping) {
        /* stopping: the core has answered the requests 503 already */
        for (; j; j = next) {
            next = j->next;
            pgs_job_free(j);
        }
        return;
    }
    if (p->writer_down)
        went_down(p, p->writer_why);
    else if (p->writer_up)
        came_back(p);
    if (p->maintain_why[0]) {
        p->host->log(p->inst, MST_LOG_ERROR, "partitions or retention: %s (tried again in an hour)", p->maintain_why);
        p->maintain_why[0] = '\0';
    }
    if (p->dropped_days) {
        p->host->log(p->inst, MST_LOG_INFO, "retention: %lld day partition(s) dropped", (long long)p->dropped_days);
        p->dropped_days = 0;
    }
    int committed = 0;
    for (; j; j = next) {
        next = j->next;
        p->pending_bytes -= (int64_t)j->len;
        if (j->kind == PGS_JOB_LOCAL && j->status == 0 && p->writer_down) {
            requeue_local(p, j);
            continue;
        }
        if (j->status == 0)
            j->status = 503;
        committed |= j->status == 200 && j->kind != PGS_JOB_POSITION;
        pgs_answer(p, j);
        pgs_job_free(j);
    }
    if (committed) {
        p->host->metric_add(p->m_commits, 1);
        p->host->metric_observe(p->m_commit_seconds, (double)(mono_ns() - p->group_started_ns) / 1e9);
    }
    p->host->metric_set(p->m_pending, (double)p->pending_bytes);
    if (p->tick_missed) {
        p->tick_missed = 0;
        flush(p);
    }
}

static void flush(struct pgstore *p)
{
    if (p->busy) {
        p->tick_missed = 1;
        return;
    }
    if (p->stopping || (!p->queue && !p->maintain && !(p->local && p->db_up)))
        return;
    if (!p->db_up && !p->queue)
        return; /* the local readings wait for the probe */
    if (p->local && p->db_up) {
        append(p, p->local); /* its bytes are counted since they came */
        p->local = NULL;
    }
    p->group = p->queue;
    p->queue = p->queue_tail = NULL;
    p->busy = 1;
    p->group_started_ns = mono_ns();
    if (p->host->queue_work(p->inst, pgs_writer_work, finished, p) != 0) {
        p->busy = 0;
        p->queue = p->group; /* tried again on the next tick */
        for (p->queue_tail = p->queue; p->queue_tail && p->queue_tail->next;)
            p->queue_tail = p->queue_tail->next;
        p->group = NULL;
    }
}

static void on_tick(void *arg)
{
    flush(arg);
}

static void on_maintenance(void *arg)
{
    struct pgstore *p = arg;
    p->maintain = 1;
}

/* --- local messages ---------------------------------------------------- */

static void keep_local(struct pgstore *p, const char *topic, const char *body, size_t len)
{
    size_t tl = strlen(topic), need = 8 + tl + len;
    if (p->pending_bytes + (int64_t)need > p->max_pending_bytes) {
        p->host->metric_add(p->m_local_dropped, 1);
        return;
    }
    struct pgs_job *j = p->local;
    if (!j) {
        j = calloc(1, sizeof *j);
        if (!j) {
            p->host->metric_add(p->m_local_dropped, 1);
            return;
        }
        j->kind = PGS_JOB_LOCAL;
        p->local = j;
    }
    char *body_all = realloc(j->body, j->len + need);
    if (!body_all) {
        p->host->metric_add(p->m_local_dropped, 1);
        return;
    }
    j->body = body_all;
    uint32_t t32 = (uint32_t)tl, b32 = (uint32_t)len;
    memcpy(j->body + j->len, &t32, 4);
    memcpy(j->body + j->len + 4, topic, tl);
    memcpy(j->body + j->len + 4 + tl, &b32, 4);
    memcpy(j->body + j->len + 8 + tl, body, len);
    j->len += need;
    p->pending_bytes += (int64_t)need;
    p->host->metric_set(p->m_pending, (double)p->pending_bytes);
}

static void on_message(void *arg, const char *topic, const char *body, size_t len)
{
    keep_local(arg, topic, body, len);
}

/* --- life ------------------------------------------------------------------- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int read_towns(struct pgstore *p)
{
    p->n_towns = p->host->config_count(p->inst, "towns");
    p->towns = calloc(p->n_towns ? p->n_towns : 1, sizeof *p->towns);
    if (!p->towns)
        return MST_ENOMEM;
    for (size_t i = 0; i < p->n_towns; i++) {
        char path[64];
        snprintf(path, sizeof path, "towns[%zu].town", i);
        const char *town = p->host->config_string(p->inst, path);
        if (strspn(town, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(town)) {
            p->host->log(p->inst, MST_LOG_ERROR, "towns[%zu].town \"%s\": only A-Z a-z 0-9 _ -", i, town);
            return MST_ECONFIG;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(p->towns[k].town, town) == 0) {
                p->host->log(p->inst, MST_LOG_ERROR, "towns[%zu].town \"%s\" is listed twice", i, town);
                return MST_ECONFIG;
            }
        if (!(p->towns[i].town = strdup(town)))
            return MST_ENOMEM;
        snprintf(path, sizeof path, "towns[%zu].token", i);
        const char *token = p->host->config_string(p->inst, path);
        snprintf(path, sizeof path, "towns[%zu].token_sha256", i);
        const char *hex = p->host->config_string(p->inst, path);
        if (!token == !hex) {
            p->host->log(p->inst, MST_LOG_ERROR, "towns[%zu] (%s): give either token or token_sha256", i, town);
            return MST_ECONFIG;
        }
        if (token) {
            unsigned n = 32;
            EVP_Digest(token, strlen(token), p->towns[i].token_sha256, &n, EVP_sha256(), NULL);
            continue;
        }
        for (int b = 0; b < 32; b++) {
            int hi = hex_digit(hex[2 * b]), lo = hex_digit(hex[2 * b + 1]);
            if (hi < 0 || lo < 0) {
                p->host->log(p->inst, MST_LOG_ERROR, "towns[%zu].token_sha256: 64 hex digits", i);
                return MST_ECONFIG;
            }
            p->towns[i].token_sha256[b] = (uint8_t)(hi << 4 | lo);
        }
    }
    return 0;
}

static void pgs_fini(void *state);

static int register_metrics(struct pgstore *p)
{
    const struct mst_metric_def defs[] = {
        {MST_METRIC_COUNTER, "batches_total{result=\"committed\"}", "towns' batches by result", &p->m_batches[0]},
        {MST_METRIC_COUNTER, "batches_total{result=\"duplicate\"}", NULL, &p->m_batches[1]},
        {MST_METRIC_COUNTER, "batches_total{result=\"refused\"}", NULL, &p->m_batches[2]},
        {MST_METRIC_COUNTER, "batches_total{result=\"unavailable\"}", NULL, &p->m_batches[3]},
        {MST_METRIC_COUNTER, "refused_total{reason=\"token\"}", "batches refused, by reason (logged once each)",
         &p->m_refused[0]},
        {MST_METRIC_COUNTER, "refused_total{reason=\"town\"}", NULL, &p->m_refused[1]},
        {MST_METRIC_COUNTER, "refused_total{reason=\"size\"}", NULL, &p->m_refused[2]},
        {MST_METRIC_COUNTER, "refused_total{reason=\"format\"}", NULL, &p->m_refused[3]},
        {MST_METRIC_COUNTER, "readings_stored_total", "readings and events committed", &p->m_stored},
        {MST_METRIC_COUNTER, "readings_duplicate_total", "readings and events already delivered (acknowledged again)",
         &p->m_duplicate},
        {MST_METRIC_COUNTER, "readings_out_of_window_total",
         "readings older than retention_days or over a day ahead: acknowledged, not stored", &p->m_out_of_window},
        {MST_METRIC_COUNTER, "commits_total", "transactions committed", &p->m_commits},
        {MST_METRIC_HISTOGRAM, "commit_seconds", "from a group's start to its commit", &p->m_commit_seconds},
        {MST_METRIC_GAUGE, "pending_bytes", "bytes of batches and local messages waiting for a commit",
         &p->m_pending},
        {MST_METRIC_GAUGE, "db_up", "1 while PostgreSQL is reachable", &p->m_db_up},
        {MST_METRIC_COUNTER, "queries_total", "store/query requests answered", &p->m_queries},
        {MST_METRIC_COUNTER, "queries_refused_total", "store/query requests refused as not valid", &p->m_queries_refused},
        {MST_METRIC_COUNTER, "local_dropped_total",
         "local messages dropped: max_pending_mb full, or refused as not a reading", &p->m_local_dropped},
    };
    int rc = mst_metrics_register(p->host, p->inst, defs, sizeof defs / sizeof defs[0]);
    if (rc == 0)
        p->host->metric_set(p->m_db_up, 1);
    return rc;
}

static int pgs_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct pgstore *p = calloc(1, sizeof *p);
    if (!p)
        return MST_ENOMEM;
    p->inst = inst;
    p->host = host;
    p->db_up = 1; /* until the first run says otherwise */
    *state = p;
    const char *town = host->config_string(inst, "town");
    p->conninfo = strdup(host->config_string(inst, "conninfo"));
    p->town = strdup(town ? town : host->node_name(inst));
    host->config_int(inst, "commit_ms", &p->commit_ms);
    host->config_int(inst, "max_pending_mb", &p->max_pending_bytes);
    p->max_pending_bytes <<= 20;
    host->config_int(inst, "max_batch_mb", &p->max_batch_bytes);
    p->max_batch_bytes <<= 20;
    host->config_int(inst, "max_batch_messages", &p->max_batch_messages);
    host->config_int(inst, "retention_days", &p->retention_days);
    host->config_int(inst, "days_ahead", &p->days_ahead);
    host->config_int(inst, "hourly_days", &p->hourly_days);
    host->config_int(inst, "max_page", &p->max_page);
    host->config_int(inst, "query_threads", &p->query_threads);
    host->config_int(inst, "reconnect_max_ms", &p->reconnect_max_ms);
    int rc = p->conninfo && p->town ? read_towns(p) : MST_ENOMEM;
    if (rc == 0)
        rc = register_metrics(p);
    if (rc == 0)
        rc = host->subscribe(inst, "reading", on_message, p);
    size_t n_topics = host->config_count(inst, "topics");
    for (size_t i = 0; rc == 0 && i < n_topics; i++) {
        char path[32];
        snprintf(path, sizeof path, "topics[%zu]", i);
        const char *pattern = host->config_string(inst, path);
        if (strcmp(pattern, "reading") != 0)
            rc = host->subscribe(inst, pattern, on_message, p);
    }
    if (rc == 0)
        rc = pgs_ingest_routes(p);
    if (rc == 0)
        rc = pgq_start(p);
    if (rc != 0) {
        pgs_fini(p);
        return rc;
    }
    return 0;
}

static int pgs_start(void *state)
{
    struct pgstore *p = state;
    p->maintain = 1; /* connect, migrate, partitions ahead at once */
    int rc = p->host->timer_start(p->inst, 0, (uint64_t)p->commit_ms, on_tick, p, &p->commit_timer);
    if (rc == 0)
        rc = p->host->timer_start(p->inst, 3600000, 3600000, on_maintenance, p, &p->daily_timer);
    return rc;
}

static void pgs_stop(void *state)
{
    struct pgstore *p = state;
    p->stopping = 1;
    /* the core answers their requests 503 after this: only free them */
    for (struct pgs_job *j = p->queue, *next; j; j = next) {
        next = j->next;
        pgs_job_free(j);
    }
    p->queue = p->queue_tail = NULL;
}

static void pgs_fini(void *state)
{
    struct pgstore *p = state;
    pgq_stop(p);
    /* every worker job is back: the last local messages are committed
     * here, as store does, if PostgreSQL is there */
    if (p->local && p->conn && p->db_up) {
        p->group = p->local;
        p->local = NULL;
        pgs_writer_work(p);
        if (p->group->status == 200)
            p->host->log(p->inst, MST_LOG_INFO, "committed the last %" PRId64 " local reading(s)", p->group->stored);
        else
            p->host->log(p->inst, MST_LOG_ERROR, "the last local messages could not be committed: %s",
                         p->writer_why[0] ? p->writer_why : p->group->why);
        pgs_job_free(p->group);
        p->group = NULL;
    }
    if (p->local && p->local->len)
        p->host->log(p->inst, MST_LOG_WARN, "%zu bytes of local messages were not committed", p->local->len);
    pgs_job_free(p->local);
    for (struct pgs_job *j = p->queue, *next; j; j = next) {
        next = j->next;
        pgs_job_free(j);
    }
    pgs_writer_close(p);
    for (size_t i = 0; i < p->n_towns; i++)
        free(p->towns[i].town);
    free(p->towns);
    free(p->conninfo);
    free(p->town);
    free(p);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "pgstore",
    .version = "0.1.0",
    .description = "a region's readings in PostgreSQL: towns' batches (uplink) and local readings",
    .config = config,
    .subscribes = subscribes,
    .serves = serves,
    .init = pgs_init,
    .start = pgs_start,
    .stop = pgs_stop,
    .fini = pgs_fini,
};
