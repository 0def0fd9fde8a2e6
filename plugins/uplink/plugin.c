/*
 * uplink - sends a town's messages to its region, exactly once.
 *
 * The loop only copies bus messages; every commit_ms a worker appends them
 * to the outbox (so kill -9 loses at most what came in the last interval,
 * as with store), and one send job at a time carries the oldest rows to
 * the region.  A row leaves the outbox when the region answers 200 naming
 * it as committed in PostgreSQL, or when it is dropped and counted: the
 * outbox bound (oldest first), a batch the region refuses as malformed
 * (400), a single message too large for it (413).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "uplink.h"

static const struct mst_config_key config[] = {
    {.key = "region_url", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED,
     .description = "the region's pgstore API, e.g. https://region.example.cz/api/pgstore"},
    {.key = "town", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_HAS_RANGE, .min = 1, .max = 64,
     .description = "this town's name at the region (letters, digits, '.', '_', '-')"},
    {.key = "token", .type = MST_CFG_STRING, .flags = MST_CFG_REQUIRED | MST_CFG_SECRET | MST_CFG_HAS_RANGE,
     .min = 16, .max = 512, .description = "this town's bearer token at the region"},
    {.key = "topics", .type = MST_CFG_STRING_LIST, .default_json = "[\"reading\"]",
     .description = "topics (patterns) whose messages go to the region"},
    {.key = "file", .type = MST_CFG_STRING, .default_json = "\"outbox.sqlite\"",
     .description = "the outbox, in the instance's state directory"},
    {.key = "commit_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "500", .min = 10,
     .max = 60000, .description = "messages wait at most this long (plus one commit) for the outbox file"},
    {.key = "max_outbox_mb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "512", .min = 1,
     .max = 1048576, .description = "MiB of messages kept for the region; past it the oldest are dropped (counted)"},
    {.key = "batch_max_messages", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "2000",
     .min = 1, .max = 1000000, .description = "messages in one batch at most"},
    {.key = "batch_max_kb", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "768", .min = 1,
     .max = 1048576, .description = "KiB of NDJSON in one batch at most, before gzip"},
    {.key = "gzip_level", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "6", .min = 1,
     .max = 9, .description = "zlib compression level of a batch"},
    {.key = "timeout_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "30000", .min = 100,
     .max = 600000, .description = "a send that takes longer is abandoned and retried"},
    {.key = "connect_timeout_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "5000",
     .min = 100, .max = 600000, .description = "connecting to the region takes at most this long"},
    {.key = "retry_base_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "1000", .min = 10,
     .max = 3600000, .description = "the shortest wait before a retry"},
    {.key = "retry_cap_ms", .type = MST_CFG_INT, .flags = MST_CFG_HAS_RANGE, .default_json = "60000", .min = 10,
     .max = 86400000, .description = "the longest wait before a retry (Retry-After may ask for more)"},
    {.key = "ca_file", .type = MST_CFG_STRING,
     .description = "PEM file of the CA(s) the region's certificate must chain to (default: the system's)"},
    {0},
};

static const char *const subscribes[] = {"#", NULL};
static const char *const requests[] = {"store/query", NULL};

int64_t up_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_totals(struct uplink *u, const struct up_delta *d)
{
    if (d->seq < u->seq)
        return; /* another job's newer totals came back first */
    u->seq = d->seq;
    u->messages = d->messages;
    u->bytes = d->bytes;
    u->oldest_at_ms = d->oldest_at_ms;
    const struct mst_host *h = u->host;
    h->metric_set(u->m_messages, (double)u->messages);
    h->metric_set(u->m_bytes, (double)u->bytes);
    h->metric_set(u->m_oldest, u->oldest_at_ms ? (double)(up_wall_ms() - u->oldest_at_ms) / 1000.0 : 0.0);
}

/* --- keeping messages on the loop ------------------------------------- */

void up_keep(struct uplink *u, const char *topic, const char *body, size_t len, int replay)
{
    struct up_pending *p = &u->filling;
    /* the bound is the outbox file's (oldest dropped there); this one only
     * keeps memory in check while the file is far behind */
    if (p->bytes + u->appending.bytes + len > UP_MAX_PENDING) {
        u->host->metric_add(u->m_dropped, 1);
        if (!u->behind_logged) {
            u->behind_logged = 1;
            u->host->log(u->inst, MST_LOG_WARN, "new messages dropped: %zu bytes wait for the outbox file "
                         "(counted, logged once)", p->bytes + u->appending.bytes);
        }
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct up_msg *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            goto no_memory;
        p->v = v;
        p->cap = cap;
    }
    char *t = strdup(topic), *b = malloc(len + 1); /* NUL: the worker minifies in place */
    if (!t || !b) {
        free(t);
        free(b);
        goto no_memory;
    }
    memcpy(b, body, len);
    b[len] = '\0';
    p->v[p->n++] = (struct up_msg){t, b, len, up_wall_ms(), replay};
    p->bytes += len;
    return;
no_memory:
    u->host->metric_add(u->m_dropped, 1);
    u->host->log(u->inst, MST_LOG_ERROR, "a %s message dropped: out of memory", topic);
}

static void on_message(void *arg, const char *topic, const char *body, size_t len)
{
    up_keep(arg, topic, body, len, 0);
}

/* --- sending ----------------------------------------------------------- */

static void send_kick(struct uplink *u);

static void on_retry(void *arg)
{
    struct uplink *u = arg;
    u->retry_timer = NULL; /* a one-shot timer frees itself */
    send_kick(u);
}

static void retry_later(struct uplink *u, int64_t wait_ms)
{
    u->host->metric_add(u->m_retried, 1);
    if (u->host->timer_start(u->inst, (uint64_t)wait_ms, 0, on_retry, u, &u->retry_timer) != 0)
        u->retry_timer = NULL; /* the next append kicks the sender again */
}

static void refused(struct uplink *u, int slot, int64_t dropped)
{
    struct up_job *j = &u->job;
    u->host->metric_add(u->m_refused[slot], 1);
    u->host->metric_add(u->m_dropped, (double)dropped);
    if (!u->refused_logged) {
        u->refused_logged = 1; /* a region could refuse every batch: once, then only counted */
        u->host->log(u->inst, MST_LOG_ERROR, "%s; %lld message(s) %lld..%lld dropped (counted in "
                     "mestys_uplink_messages_dropped_total, further refusals only counted)",
                     j->why, (long long)dropped, (long long)j->first, (long long)j->last);
    }
}

/* /health shows it (node degraded): a token the region refuses is a
 * configuration error that only the town's IT can fix. */
static void problem(struct uplink *u, const char *text)
{
    if (MST_HOST_HAS(u->host, health_set))
        u->host->health_set(u->inst, text);
}

static void after_send(void *arg, int status)
{
    struct uplink *u = arg;
    struct up_job *j = &u->job;
    const struct mst_host *h = u->host;
    u->send_busy = 0;
    set_totals(u, &j->delta);
    if (status != 0 || u->stopping)
        return;
    if (j->positioned) {
        u->positioned = 1;
        if (j->position_deleted)
            h->log(u->inst, MST_LOG_INFO, "the region had already committed %lld message(s) of the outbox",
                   (long long)j->position_deleted);
    }
    switch (j->outcome) {
    case UP_EMPTY:
        u->attempt = 0;
        return;
    case UP_SENT:
        h->metric_add(u->m_sent, 1);
        h->metric_observe(u->m_send_seconds, j->seconds);
        if (u->attempt || u->auth_logged)
            h->log(u->inst, MST_LOG_INFO, "the region takes batches again");
        if (u->auth_logged)
            problem(u, NULL);
        u->attempt = 0;
        u->retry_logged = u->auth_logged = 0;
        if (u->split_max < u->batch_max_messages)
            u->split_max *= 2; /* grow back after a 413 */
        break;
    case UP_REFUSED:
        refused(u, 0, (int64_t)j->n);
        break;
    case UP_SPLIT:
        h->metric_add(u->m_refused[3], 1);
        u->split_max = (int64_t)j->n / 2;
        break;
    case UP_TOO_LARGE:
        refused(u, 3, 1);
        break;
    case UP_AUTH:
        h->metric_add(u->m_refused[j->http_status == 401 ? 1 : 2], 1);
        if (!u->auth_logged) {
            u->auth_logged = 1;
            h->log(u->inst, MST_LOG_ERROR, "%s; the outbox is kept, retrying every %lld ms", j->why,
                   (long long)u->retry_cap_ms);
            problem(u, j->why);
        }
        retry_later(u, u->retry_cap_ms);
        return;
    case UP_RETRY:
        if (!u->retry_logged) {
            u->retry_logged = 1; /* once per outage: "back" is logged when it ends */
            h->log(u->inst, MST_LOG_WARN, "the region is not taking batches (%s); the outbox keeps them, "
                   "retrying with backoff", j->why);
        }
        u->attempt++;
        retry_later(u, up_backoff_ms(&u->rng, u->attempt, u->retry_base_ms, u->retry_cap_ms, j->retry_after_ms));
        return;
    }
    send_kick(u);
}

static void send_kick(struct uplink *u)
{
    if (u->send_busy || u->retry_timer || u->stopping || (u->positioned && !u->messages))
        return;
    struct up_job *j = &u->job;
    memset(j, 0, sizeof *j);
    j->max_messages = u->split_max;
    j->max_bytes = u->batch_max_bytes;
    j->need_position = !u->positioned;
    u->send_busy = 1;
    if (u->host->queue_work(u->inst, up_send_work, after_send, u) != 0)
        u->send_busy = 0;
}

/* --- appending --------------------------------------------------------- */

static void append_work(void *arg)
{
    struct uplink *u = arg;
    up_outbox_append(u, &u->appending, &u->append_delta);
}

static void after_append(void *arg, int status)
{
    struct uplink *u = arg;
    struct up_delta *d = &u->append_delta;
    const struct mst_host *h = u->host;
    u->append_busy = 0;
    u->appends_done++;
    if (d->failed) {
        h->metric_add(u->m_dropped, (double)u->appending.n);
        h->log(u->inst, MST_LOG_ERROR, "%zu message(s) lost: the outbox file failed (%s)", u->appending.n, d->why);
    }
    if (d->bad) {
        h->metric_add(u->m_bad, (double)d->bad);
        if (!u->bad_logged) {
            u->bad_logged = 1;
            h->log(u->inst, MST_LOG_WARN, "%lld message(s) were not JSON and are not sent (counted, not logged "
                   "again)", (long long)d->bad);
        }
    }
    if (d->dropped) {
        h->metric_add(u->m_dropped, (double)d->dropped);
        if (!u->drop_logged)
            h->log(u->inst, MST_LOG_WARN, "the outbox is over max_outbox_mb: the oldest %lld message(s) dropped "
                   "(counted; logged again after the outbox has room)", (long long)d->dropped);
        u->drop_logged = 1;
    } else if (u->drop_logged && !d->failed && u->bytes < u->max_outbox_bytes) {
        u->drop_logged = 0; /* the episode is over */
    }
    set_totals(u, d);
    up_pending_clear(&u->appending);
    if (status != 0)
        return;
    send_kick(u);
    up_backfill_appended(u);
    if (u->filling.n && u->filling.bytes >= (size_t)u->batch_max_bytes)
        up_commit_now(u); /* a backfill page: no need to wait for the tick */
}

void up_commit_now(struct uplink *u)
{
    if (u->append_busy || !u->filling.n || u->stopping)
        return;
    struct up_pending t = u->appending;
    u->appending = u->filling;
    u->filling = t;
    u->append_busy = 1;
    u->appends_started++;
    if (u->host->queue_work(u->inst, append_work, after_append, u) != 0) {
        u->append_busy = 0; /* fini appends what is left */
        u->appends_started--;
        t = u->appending;
        u->appending = u->filling;
        u->filling = t;
    }
}

static void on_tick(void *arg)
{
    struct uplink *u = arg;
    up_commit_now(u);
    if (u->oldest_at_ms)
        u->host->metric_set(u->m_oldest, (double)(up_wall_ms() - u->oldest_at_ms) / 1000.0);
    send_kick(u); /* e.g. rows left from before a restart */
}

/* --- lifecycle --------------------------------------------------------- */

static int town_ok(const char *t)
{
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '.' ||
              *t == '_' || *t == '-'))
            return 0;
    return 1;
}

static int read_config(struct uplink *u, char *why, size_t why_len)
{
    const struct mst_host *h = u->host;
    mst_instance *inst = u->inst;
    h->config_int(inst, "commit_ms", &u->commit_ms);
    h->config_int(inst, "max_outbox_mb", &u->max_outbox_bytes);
    u->max_outbox_bytes <<= 20;
    h->config_int(inst, "batch_max_messages", &u->batch_max_messages);
    h->config_int(inst, "batch_max_kb", &u->batch_max_bytes);
    u->batch_max_bytes <<= 10;
    h->config_int(inst, "gzip_level", &u->gzip_level);
    h->config_int(inst, "timeout_ms", &u->timeout_ms);
    h->config_int(inst, "connect_timeout_ms", &u->connect_timeout_ms);
    h->config_int(inst, "retry_base_ms", &u->retry_base_ms);
    h->config_int(inst, "retry_cap_ms", &u->retry_cap_ms);
    u->split_max = u->batch_max_messages;
    const char *url = h->config_string(inst, "region_url"), *town = h->config_string(inst, "town");
    const char *token = h->config_string(inst, "token"), *ca = h->config_string(inst, "ca_file");
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(why, why_len, "region_url: must start with https:// (or http:// on a trusted link)");
        return MST_EINVAL;
    }
    if (!town_ok(town)) {
        snprintf(why, why_len, "town: only letters, digits, '.', '_' and '-'");
        return MST_EINVAL;
    }
    if (strpbrk(token, "\r\n")) {
        snprintf(why, why_len, "token: no line breaks");
        return MST_EINVAL;
    }
    if (u->retry_cap_ms < u->retry_base_ms) {
        snprintf(why, why_len, "retry_cap_ms: must not be below retry_base_ms");
        return MST_EINVAL;
    }
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (asprintf(&u->batches_url, "%.*s/towns/%s/batches", (int)n, url, town) < 0 ||
        asprintf(&u->position_url, "%.*s/towns/%s/position", (int)n, url, town) < 0 ||
        asprintf(&u->auth_header, "Authorization: Bearer %s", token) < 0 || (ca && !(u->ca_file = strdup(ca)))) {
        snprintf(why, why_len, "out of memory");
        return MST_ENOMEM;
    }
    return 0;
}

static int register_metrics(struct uplink *u)
{
    const struct mst_metric_def metrics[] = {
        {MST_METRIC_GAUGE, "outbox_messages", "messages in the outbox, not yet committed by the region",
         &u->m_messages},
        {MST_METRIC_GAUGE, "outbox_bytes", "bytes of messages in the outbox", &u->m_bytes},
        {MST_METRIC_GAUGE, "outbox_oldest_seconds", "age of the oldest message in the outbox", &u->m_oldest},
        {MST_METRIC_COUNTER, "batches_sent_total", "batches the region committed (200)", &u->m_sent},
        {MST_METRIC_COUNTER, "batches_retried_total", "sends that failed and wait for a retry", &u->m_retried},
        {MST_METRIC_COUNTER, "batches_refused_total{status=\"400\"}", "batches the region refused",
         &u->m_refused[0]},
        {MST_METRIC_COUNTER, "batches_refused_total{status=\"401\"}", "batches the region refused",
         &u->m_refused[1]},
        {MST_METRIC_COUNTER, "batches_refused_total{status=\"403\"}", "batches the region refused",
         &u->m_refused[2]},
        {MST_METRIC_COUNTER, "batches_refused_total{status=\"413\"}", "batches the region refused",
         &u->m_refused[3]},
        {MST_METRIC_COUNTER, "messages_dropped_total",
         "messages dropped unsent: outbox bound, refused as malformed, too large alone", &u->m_dropped},
        {MST_METRIC_COUNTER, "messages_invalid_total", "bus messages that were not JSON (not sent)", &u->m_bad},
        {MST_METRIC_HISTOGRAM, "send_seconds", "duration of a batch's POST", &u->m_send_seconds},
    };
    return mst_metrics_register(u->host, u->inst, metrics, sizeof metrics / sizeof metrics[0]);
}

static void uplink_fini(void *state);

static int uplink_init(mst_instance *inst, const struct mst_host *host, void **state)
{
    struct uplink *u = calloc(1, sizeof *u);
    if (!u)
        return MST_ENOMEM;
    u->inst = inst;
    u->host = host;
    *state = u;
    char why[256] = "";
    const char *file = host->config_string(inst, "file");
    int rc = read_config(u, why, sizeof why);
    /* on the loop, before any worker uses libcurl (curl_global_init is not
     * thread-safe on every libcurl) */
    if (rc == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
            u->curl_inited = 1;
        } else {
            snprintf(why, sizeof why, "libcurl could not start");
            rc = MST_EIO;
        }
    }
    if (rc == 0 && (rc = host->db_open(inst, file, up_migrations, &u->db_append)) == 0 &&
        (rc = host->db_open(inst, file, up_migrations, &u->db_send)) == 0)
        rc = up_outbox_open(u, why, sizeof why);
    if (rc == 0)
        rc = up_send_init(u, why, sizeof why);
    if (rc == 0)
        rc = register_metrics(u);
    size_t n_topics = host->config_count(inst, "topics");
    for (size_t i = 0; rc == 0 && i < n_topics; i++) {
        char path[32];
        snprintf(path, sizeof path, "topics[%zu]", i);
        rc = host->subscribe(inst, host->config_string(inst, path), on_message, u);
    }
    if (rc == 0)
        rc = up_backfill_init(u);
    if (rc != 0) {
        if (why[0])
            host->log(inst, MST_LOG_ERROR, "%s", why);
        uplink_fini(u);
        return rc;
    }
    u->rng = (uint64_t)up_wall_ms() ^ ((uint64_t)u->epoch << 11);
    struct up_delta d = {.messages = u->messages, .bytes = u->bytes, .oldest_at_ms = u->oldest_at_ms, .seq = u->seq};
    set_totals(u, &d);
    host->log(inst, MST_LOG_INFO, "outbox epoch %lld holds %lld message(s) for %s", (long long)u->epoch,
              (long long)u->messages, u->batches_url);
    return 0;
}

static int uplink_start(void *state)
{
    struct uplink *u = state;
    send_kick(u); /* ask the region's position at once */
    return u->host->timer_start(u->inst, (uint64_t)u->commit_ms, (uint64_t)u->commit_ms, on_tick, u,
                                &u->commit_timer);
}

static void uplink_stop(void *state)
{
    struct uplink *u = state;
    u->stopping = 1;
    atomic_store(&u->abort_send, 1);
}

static void uplink_fini(void *state)
{
    struct uplink *u = state;
    /* every worker job is back: append what is left, here, before closing */
    if (u->db_append && u->filling.n) {
        struct up_pending t = u->appending;
        u->appending = u->filling;
        u->filling = t;
        up_outbox_append(u, &u->appending, &u->append_delta);
        u->host->log(u->inst, u->append_delta.failed ? MST_LOG_ERROR : MST_LOG_INFO,
                     "%zu last message(s) %s the outbox", u->appending.n,
                     u->append_delta.failed ? "could not be appended to" : "appended to");
    }
    up_backfill_free(u);
    up_pending_clear(&u->filling);
    up_pending_clear(&u->appending);
    free(u->filling.v);
    free(u->appending.v);
    up_send_free(u);
    if (u->curl_inited)
        curl_global_cleanup();
    sqlite3_close(u->db_send);
    sqlite3_close(u->db_append);
    free(u->batches_url);
    free(u->position_url);
    free(u->auth_header);
    free(u->ca_file);
    free(u);
}

MST_PLUGIN_EXPORT const struct mst_plugin mestys_plugin = {
    .abi_version = 1,
    .struct_size = sizeof(struct mst_plugin),
    .name = "uplink",
    .version = "0.1.0",
    .description = "sends the town's readings (and chosen topics) to its region's pgstore, exactly once",
    .config = config,
    .subscribes = subscribes,
    .requests = requests,
    .init = uplink_init,
    .start = uplink_start,
    .stop = uplink_stop,
    .fini = uplink_fini,
};
