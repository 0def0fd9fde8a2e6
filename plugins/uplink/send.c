/*
 * send.c - one send job, on a worker thread (host->queue_work).
 *
 * libcurl's easy interface blocks, so it runs here and never on the loop;
 * the instance keeps one easy handle (its connection and TLS session are
 * reused) and the loop lets one job run at a time, so no two threads ever
 * touch it together (libcurl-thread(3)).  A job: ask the region's position
 * once after start, read the oldest rows, gzip them, POST, and act on the
 * answer -- rows leave the outbox only on a 200 naming the committed mark.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "uplink.h"

#define UP_ANSWER_MAX (64 * 1024) /* the region's answers are small JSON */

struct up_exchange {
    struct up_buf answer;
    int64_t retry_after_ms;
    int truncated;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct up_exchange *x = arg;
    size_t len = size * n;
    if (x->answer.len + len > UP_ANSWER_MAX) {
        x->truncated = 1;
        return len; /* keep the connection; what we kept says enough */
    }
    return up_buf_append(&x->answer, data, len) == 0 ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct up_exchange *x = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && len < 256 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[256];
        memcpy(value, data + sizeof name - 1, len - (sizeof name - 1));
        value[len - (sizeof name - 1)] = '\0';
        x->retry_after_ms = up_retry_after_ms(value, (int64_t)time(NULL));
    }
    return len;
}

/* A send in flight when the daemon stops is abandoned at once (its rows
 * stay in the outbox), instead of holding the shutdown up to timeout_ms. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct uplink *u = arg;
    return atomic_load(&u->abort_send) ? 1 : 0;
}

int up_send_init(struct uplink *u, char *why, size_t why_len)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, why_len, "libcurl could not start");
        return MST_ENOMEM;
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM for timeouts */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)u->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)u->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (u->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, u->ca_file);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, u);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    u->curl = c;
    return 0;
}

void up_send_free(struct uplink *u)
{
    if (u->curl)
        curl_easy_cleanup(u->curl);
    u->curl = NULL;
}

static int gzip(const char *in, size_t len, int level, struct up_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip wrapper, as Content-Encoding: gzip says */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return MST_ENOMEM;
    size_t cap = deflateBound(&z, (uLong)len) + 1;
    int rc = MST_ENOMEM;
    out->data = malloc(cap);
    if (!out->data)
        goto out;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        rc = MST_EIO;
        goto out;
    }
    out->len = z.total_out;
    out->cap = cap;
    rc = 0;
out:
    deflateEnd(&z);
    return rc;
}

/* One exchange: GET when body is NULL, else POST of the gzip bytes. */
static CURLcode exchange(struct uplink *u, const char *url, const struct up_buf *body, struct up_exchange *x,
                         long *status)
{
    CURL *c = u->curl;
    struct curl_slist *h = curl_slist_append(NULL, u->auth_header);
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/x-ndjson");
        h = curl_slist_append(h, "Content-Encoding: gzip");
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    }
    memset(x, 0, sizeof *x);
    x->retry_after_ms = -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(c);
    *status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return cc;
}

/* The region's error text for the log: its JSON as sent, cut short. */
static void say(struct up_job *j, const char *what, const struct up_exchange *x)
{
    snprintf(j->why, sizeof j->why, "%s%s%.160s", what, x->answer.len ? ": " : "",
             x->answer.len ? x->answer.data : "");
    for (char *p = j->why; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static enum up_outcome classify(struct up_job *j, CURLcode cc, const struct up_exchange *x)
{
    j->retry_after_ms = x->retry_after_ms;
    if (cc != CURLE_OK) {
        snprintf(j->why, sizeof j->why, "%s", curl_easy_strerror(cc));
        return UP_RETRY;
    }
    if (j->http_status == 401 || j->http_status == 403) {
        say(j, j->http_status == 401 ? "the region does not know this town's token (401)"
                                     : "the region refuses this token for this town (403)", x);
        return UP_AUTH;
    }
    say(j, "the region answered", x);
    return UP_RETRY;
}

/* The region's position, once after start: rows it committed before a
 * crash left no trace here are deleted at once instead of resent. */
static int ask_position(struct uplink *u, struct up_job *j)
{
    struct up_exchange x;
    CURLcode cc = exchange(u, u->position_url, NULL, &x, &j->http_status);
    int rc = -1;
    if (cc != CURLE_OK || j->http_status != 200) {
        j->outcome = classify(j, cc, &x);
        goto out;
    }
    int64_t epoch = 0, committed = 0;
    int known = 0;
    const char *why = NULL;
    if (up_answer_position(x.answer.data ? x.answer.data : "", x.answer.len, &epoch, &committed, &known, &why)) {
        snprintf(j->why, sizeof j->why, "position: %s", why);
        j->outcome = UP_RETRY;
        goto out;
    }
    j->positioned = 1;
    rc = 0;
    if (known && epoch == u->epoch && committed > 0) {
        int64_t before = j->delta.deleted;
        if (up_outbox_delete(u->db_send, 0, committed, &j->delta) != 0) {
            snprintf(j->why, sizeof j->why, "delete: %s", sqlite3_errmsg(u->db_send));
            j->outcome = UP_RETRY;
            rc = -1;
        }
        j->position_deleted = j->delta.deleted - before;
    }
out:
    free(x.answer.data);
    return rc;
}

static void act(struct uplink *u, struct up_job *j, const struct up_batch *b, const struct up_exchange *x)
{
    const char *why = NULL;
    switch (j->http_status) {
    case 200:
        if (up_answer_batch(x->answer.data ? x->answer.data : "", x->answer.len, u->epoch, &j->committed, &why)) {
            snprintf(j->why, sizeof j->why, "200 but %s", why);
            j->outcome = UP_RETRY;
            return;
        }
        if (j->committed < b->first) {
            /* a region that forgot what it committed (restored from an old
             * backup?) must not make the town resend in a tight loop */
            snprintf(j->why, sizeof j->why, "200 but the committed mark %lld is below the batch's first id %lld",
                     (long long)j->committed, (long long)b->first);
            j->outcome = UP_RETRY;
            return;
        }
        j->outcome = UP_SENT;
        /* only what this batch carried: a mark beyond it says nothing of rows not sent */
        if (up_outbox_delete(u->db_send, b->first, j->committed < b->last ? j->committed : b->last, &j->delta))
            snprintf(j->why, sizeof j->why, "delete: %s", sqlite3_errmsg(u->db_send));
        return;
    case 400:
        say(j, "the region refused a batch as malformed (400)", x);
        j->outcome = UP_REFUSED;
        break;
    case 413:
        say(j, "the region refused a batch as too large (413)", x);
        if (b->n > 1) {
            j->outcome = UP_SPLIT;
            return;
        }
        j->outcome = UP_TOO_LARGE;
        break;
    default:
        j->outcome = classify(j, CURLE_OK, x);
        return;
    }
    /* refused for good: kept, the link would be stuck on it forever */
    if (up_outbox_delete(u->db_send, b->first, b->last, &j->delta))
        snprintf(j->why, sizeof j->why, "delete: %s", sqlite3_errmsg(u->db_send));
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void up_send_work(void *arg)
{
    struct uplink *u = arg;
    struct up_job *j = &u->job;
    struct up_batch b = {0};
    struct up_buf gz = {0};
    struct up_exchange x = {0};
    j->outcome = UP_EMPTY;
    if (j->need_position && ask_position(u, j) != 0)
        goto out;
    if (up_outbox_read(u, j->max_messages, j->max_bytes, &b) != 0) {
        snprintf(j->why, sizeof j->why, "read: %s", sqlite3_errmsg(u->db_send));
        j->outcome = UP_RETRY;
        goto out;
    }
    if (!b.n)
        goto out;
    j->n = b.n;
    j->first = b.first;
    j->last = b.last;
    if (gzip(b.ndjson, b.len, (int)u->gzip_level, &gz) != 0) {
        snprintf(j->why, sizeof j->why, "gzip failed");
        j->outcome = UP_RETRY;
        goto out;
    }
    double t0 = mono_s();
    CURLcode cc = exchange(u, u->batches_url, &gz, &x, &j->http_status);
    j->seconds = mono_s() - t0;
    if (cc != CURLE_OK)
        j->outcome = classify(j, cc, &x);
    else
        act(u, j, &b, &x);
out:
    free(x.answer.data);
    free(gz.data);
    up_batch_free(&b);
    struct up_delta d = {0};
    d.deleted = j->delta.deleted;
    j->delta = d;
    up_outbox_totals(u->db_send, &j->delta); /* as they are now: the appender may have added */
}
