/*
 * backfill.c - refills the outbox from the town's own store.
 *
 * `POST /api/<uplink>/backfill {"from":"DAY","to":"DAY"}` (operator) pages
 * through store/query and appends each page as one `reading` message
 * flagged replay (the region upserts replayed rows, as store's INSERT OR
 * REPLACE does); `GET /api/<uplink>/backfill` shows the progress
 * (mestys-uplink-backfill, `mestys region backfill`, polls it).  One page
 * at a time, and the next is asked only once the page is in the outbox
 * file, so a backfill of a year holds one page in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mestys/cjson.h>
#include <mestys/time.h>

#include "uplink.h"

#define UP_PAGE 1000
#define UP_QUERY_TIMEOUT_MS 30000

struct up_backfill {
    struct uplink *u;
    int running;
    char from[16], to[16];
    int64_t from_ms, to_ms;
    char *cursor;        /* store's `next`, NULL before the first page */
    int64_t pages, readings;
    uint64_t wait_append; /* the append job that carries the last page */
    int waiting, last_page;
    char error[256];
};

static void respond_state(struct up_backfill *bf, mst_http_request *req, int status)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "state", bf->running ? "running" : bf->error[0] ? "failed"
                                                      : bf->pages || bf->from[0] ? "done" : "idle");
        cJSON_AddStringToObject(o, "from", bf->from);
        cJSON_AddStringToObject(o, "to", bf->to);
        cJSON_AddNumberToObject(o, "pages", (double)bf->pages);
        cJSON_AddNumberToObject(o, "readings", (double)bf->readings);
        if (bf->error[0])
            cJSON_AddStringToObject(o, "error", bf->error);
    }
    mst_http_respond_json(bf->u->host, req, status, o);
}

static void finish(struct up_backfill *bf, const char *error)
{
    struct uplink *u = bf->u;
    bf->running = bf->waiting = 0;
    free(bf->cursor);
    bf->cursor = NULL;
    if (error) {
        snprintf(bf->error, sizeof bf->error, "%s", error);
        u->host->log(u->inst, MST_LOG_ERROR, "backfill %s..%s stopped after %lld reading(s): %s", bf->from, bf->to,
                     (long long)bf->readings, error);
    } else {
        u->host->log(u->inst, MST_LOG_INFO, "backfill %s..%s: %lld reading(s) in the outbox", bf->from, bf->to,
                     (long long)bf->readings);
    }
}

static void ask_page(struct up_backfill *bf);

static void on_page(void *arg, int status, const char *body, size_t len)
{
    struct up_backfill *bf = arg;
    struct uplink *u = bf->u;
    if (!bf->running || u->stopping)
        return;
    if (status != 0) {
        char why[200];
        snprintf(why, sizeof why, "store/query: %s: %.*s", mst_strerror(status), (int)(len < 120 ? len : 120), body);
        finish(bf, why);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "readings");
    cJSON *next = cJSON_GetObjectItemCaseSensitive(root, "next");
    char *text = cJSON_IsArray(rows) ? cJSON_PrintUnformatted(rows) : NULL;
    if (!text) {
        cJSON_Delete(root);
        finish(bf, "store/query answered without a readings array");
        return;
    }
    int n = cJSON_GetArraySize(rows);
    if (n) {
        up_keep(u, "reading", text, strlen(text), 1);
        bf->wait_append = u->appends_started + 1; /* the job that takes the filling set */
        bf->waiting = 1;
    }
    bf->pages++;
    bf->readings += n;
    free(bf->cursor);
    bf->cursor = cJSON_IsString(next) ? strdup(next->valuestring) : NULL;
    bf->last_page = !bf->cursor;
    cJSON_free(text);
    cJSON_Delete(root);
    if (bf->waiting)
        up_commit_now(u);
    else if (bf->last_page)
        finish(bf, NULL);
    else
        ask_page(bf);
}

void up_backfill_appended(struct uplink *u)
{
    struct up_backfill *bf = u->backfill;
    if (!bf || !bf->running || !bf->waiting)
        return;
    if (u->appends_done < bf->wait_append) {
        up_commit_now(u); /* the page is still in the filling set */
        return;
    }
    bf->waiting = 0;
    if (bf->last_page)
        finish(bf, NULL);
    else
        ask_page(bf);
}

static void ask_page(struct up_backfill *bf)
{
    struct uplink *u = bf->u;
    char from[32], to[32];
    mst_time_format(bf->from_ms, from);
    mst_time_format(bf->to_ms, to);
    cJSON *q = cJSON_CreateObject();
    char *json = NULL;
    if (q && cJSON_AddStringToObject(q, "from", from) && cJSON_AddStringToObject(q, "to", to) &&
        cJSON_AddNumberToObject(q, "limit", UP_PAGE) && (!bf->cursor || cJSON_AddStringToObject(q, "cursor", bf->cursor)))
        json = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    int rc = json ? u->host->request(u->inst, "store/query", json, strlen(json), UP_QUERY_TIMEOUT_MS, on_page, bf)
                  : MST_ENOMEM;
    cJSON_free(json);
    if (rc != 0) {
        char why[128];
        snprintf(why, sizeof why, "store/query: %s", mst_strerror(rc));
        finish(bf, why);
    }
}

static int day_of(const cJSON *v, char out[16], int64_t *ms)
{
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 10 || mst_time_parse(v->valuestring, ms) != 0)
        return -1;
    memcpy(out, v->valuestring, 11);
    return 0;
}

static void on_start(void *arg, mst_http_request *req)
{
    struct up_backfill *bf = arg;
    struct uplink *u = bf->u;
    size_t len;
    const char *body = u->host->http_body(req, &len);
    if (bf->running) {
        respond_state(bf, req, 409);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(root, "to");
    char from_day[16], to_day[16];
    int64_t from_ms, to_ms;
    const char *why = NULL;
    if (day_of(cJSON_GetObjectItemCaseSensitive(root, "from"), from_day, &from_ms) != 0)
        why = "from: a day as YYYY-MM-DD is required";
    else if (to && day_of(to, to_day, &to_ms) != 0)
        why = "to: a day as YYYY-MM-DD";
    cJSON_Delete(root);
    if (!why && !to) {
        char today[16];
        mst_date_format(up_wall_ms(), today);
        memcpy(to_day, today, 11);
        mst_time_parse(to_day, &to_ms);
    }
    if (!why && to_ms < from_ms)
        why = "to: must not be before from";
    if (why) {
        mst_http_respond_error(u->host, req, 400, why);
        return;
    }
    memset(bf->error, 0, sizeof bf->error);
    memcpy(bf->from, from_day, sizeof bf->from);
    memcpy(bf->to, to_day, sizeof bf->to);
    bf->from_ms = from_ms;
    bf->to_ms = to_ms + 86400000 - 1; /* the whole last day */
    bf->pages = bf->readings = 0;
    bf->running = 1;
    bf->last_page = bf->waiting = 0;
    u->host->log(u->inst, MST_LOG_INFO, "backfill %s..%s from the store started", bf->from, bf->to);
    ask_page(bf);
    respond_state(bf, req, bf->running ? 202 : 500);
}

static void on_state(void *arg, mst_http_request *req)
{
    respond_state(arg, req, 200);
}

int up_backfill_init(struct uplink *u)
{
    struct up_backfill *bf = calloc(1, sizeof *bf);
    if (!bf)
        return MST_ENOMEM;
    bf->u = u;
    u->backfill = bf;
    int rc = u->host->http_route(u->inst, "POST", "backfill", MST_ROLE_OPERATOR, on_start, bf);
    if (rc == 0)
        rc = u->host->http_route(u->inst, "GET", "backfill", MST_ROLE_OPERATOR, on_state, bf);
    return rc;
}

void up_backfill_free(struct uplink *u)
{
    if (!u->backfill)
        return;
    free(u->backfill->cursor);
    free(u->backfill);
    u->backfill = NULL;
}
