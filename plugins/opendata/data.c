/* data.c - GET datasets/<id>/data[.csv|.json|.geojson]: the filters are
 * checked here (so the error names what the person typed), the page comes
 * from store/query, and the answer is kept in the response cache for
 * cache_ms under its URL and format. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "opendata.h"

static const char *const known_params[] = {"from", "to", "sensor", "metric", "bbox", "limit", "cursor", "bom", NULL};

struct od_pending {
    struct od_pending *next, **prevp;
    struct opendata *od;
    mst_http_request *req;
    struct od_dataset *ds;
    enum od_format fmt;
    int bom;
    int gzip; /* the client takes gzip */
    int max_age_s;
    char *cache_key;
    char *page_url; /* this page's URL without cursor, for the next link */
    char *reply;    /* the store's answer, rendered on a worker into answer */
    size_t reply_len;
    struct od_answer *answer;
};

static void pending_free(struct od_pending *p)
{
    if (p->prevp) {
        *p->prevp = p->next;
        if (p->next)
            p->next->prevp = p->prevp;
    }
    free(p->cache_key);
    free(p->page_url);
    free(p->reply);
    free(p);
}

void od_data_cancel_all(struct opendata *od)
{
    while (od->pending)
        pending_free(od->pending); /* the core has answered their requests with 503 */
}

void od_answer_free(void *value)
{
    struct od_answer *a = value;
    free(a->body);
    free(a->gz);
    free(a->link);
    free(a);
}

/* --- the request --------------------------------------------------------- */

static int pick_format(struct opendata *od, mst_http_request *req, const char *ext, enum od_format *f)
{
    if (*ext) {
        if (!strcmp(ext, ".json"))
            *f = OD_JSON;
        else if (!strcmp(ext, ".csv"))
            *f = OD_CSV;
        else if (!strcmp(ext, ".geojson"))
            *f = OD_GEOJSON;
        else
            return od_respond_error(od, req, 404, "unknown format \"%s\"; use data.csv, data.json or data.geojson",
                                    ext + 1),
                   -1;
        return 0;
    }
    const char *accept = od->host->http_header(req, "accept");
    *f = OD_JSON;
    if (!accept || !*accept)
        return 0;
    /* the first type listed that we have, ignoring q-values but not q=0 */
    for (const char *p = accept; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        const char *end = p + strcspn(p, ","), *q = strstr(p, "q=");
        int refused = q && q < end && strtod(q + 2, NULL) == 0;
        if (!refused) {
            if (n == 8 && !strncasecmp(p, "text/csv", 8)) {
                *f = OD_CSV;
                return 0;
            }
            if (n == 20 && !strncasecmp(p, "application/geo+json", 20)) {
                *f = OD_GEOJSON;
                return 0;
            }
            if ((n == 16 && !strncasecmp(p, "application/json", 16)) || (n == 3 && !strncmp(p, "*/*", 3)) ||
                (n == 13 && !strncasecmp(p, "application/*", 13)))
                return 0;
        }
        p = end;
    }
    od_respond_error(od, req, 406, "none of the types in Accept (%s) is served here; ask for text/csv, "
                                   "application/json or application/geo+json, or use data.csv / data.json / "
                                   "data.geojson", accept);
    return -1;
}

/* The names in the canonical query string must all be ours: a typo
 * ("form=") silently ignored would return the wrong data. */
static int check_names(struct opendata *od, mst_http_request *req)
{
    const char *q = od->host->http_query(req);
    while (*q) {
        size_t n = strcspn(q, "=&");
        int ok = 0;
        for (size_t i = 0; known_params[i]; i++)
            ok |= strlen(known_params[i]) == n && !strncmp(q, known_params[i], n);
        if (!ok)
            return od_respond_error(od, req, 400, "unknown parameter \"%.*s\"; the data takes from, to, sensor, "
                                                  "metric, bbox, limit, cursor and bom",
                                    (int)(n > 64 ? 64 : n), q),
                   -1;
        q += strcspn(q, "&");
        q += *q == '&';
    }
    return 0;
}

static int in_list(char **list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len))
            return 1;
    return 0;
}

/* "a,b" -> ["a","b"], each one the dataset's own; none: the dataset's selection. */
static int names(struct opendata *od, mst_http_request *req, const char *param, char **allowed, size_t n_allowed,
                 const char *what, cJSON *body, const char *key)
{
    const char *v = od->host->http_query_param(req, param);
    if (!v) {
        if (n_allowed)
            cJSON_AddItemToObject(body, key, cJSON_CreateStringArray((const char *const *)allowed, (int)n_allowed));
        return 0;
    }
    cJSON *list = cJSON_AddArrayToObject(body, key);
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 128 || (n_allowed && !in_list(allowed, n_allowed, p, n)))
            return od_respond_error(od, req, 400, "%s \"%.*s\" is not in this dataset%s", what, (int)(n > 128 ? 128 : n),
                                    p, n_allowed ? "; its metadata lists the ones it has" : ""),
                   -1;
        char *name = strndup(p, n);
        cJSON_AddItemToArray(list, cJSON_CreateString(name));
        free(name);
        p += n;
        p += *p == ',';
    }
    return 0;
}

static int time_param(struct opendata *od, mst_http_request *req, const char *name, int64_t *ms, cJSON *body)
{
    const char *v = od->host->http_query_param(req, name);
    if (!v)
        return 1;
    if (mst_time_parse(v, ms) != 0)
        return od_respond_error(od, req, 400, "%s: \"%.64s\" is not a time; use ISO 8601 with a zone, e.g. "
                                              "2026-11-21T00:00:00+01:00 or 2026-11-21T00:00:00Z, or a date "
                                              "2026-11-21",
                                name, v),
               -1;
    char t[32];
    mst_time_format(*ms, t);
    cJSON_AddStringToObject(body, name, t);
    return 0;
}

static int bbox_param(struct opendata *od, mst_http_request *req, cJSON *body)
{
    const char *v = od->host->http_query_param(req, "bbox");
    if (!v)
        return 0;
    double b[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        char *end;
        b[i] = strtod(p, &end);
        if (end == p || !isfinite(b[i]) || *end != (i < 3 ? ',' : '\0'))
            goto bad;
        p = end + 1;
    }
    if (b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 || b[0] > b[2] || b[1] > b[3])
        goto bad;
    cJSON_AddItemToObject(body, "bbox", cJSON_CreateDoubleArray(b, 4));
    return 0;
bad:
    od_respond_error(od, req, 400, "bbox: \"%.100s\" is not a bounding box; give min_lon,min_lat,max_lon,max_lat "
                                   "in degrees (WGS84), e.g. 17.20,49.55,17.30,49.62",
                     v);
    return -1;
}

/* Builds the store/query body, or answers the error and returns NULL. */
static cJSON *store_query_body(struct opendata *od, mst_http_request *req, struct od_dataset *ds, int *max_age_s)
{
    const struct mst_host *h = od->host;
    cJSON *body = cJSON_CreateObject();
    int64_t t0 = 0, t1 = 0;
    if (ds->topic) {
        cJSON_AddStringToObject(body, "events", ds->topic);
        static const char *const not_here[] = {"sensor", "metric", "bbox"};
        for (size_t i = 0; i < 3; i++)
            if (h->http_query_param(req, not_here[i])) {
                od_respond_error(od, req, 400, "dataset \"%s\" comes from messages, not sensors: it takes from, "
                                               "to, limit and cursor, not %s",
                                 ds->id, not_here[i]);
                goto fail;
            }
    } else if ((ds->tags && !cJSON_AddItemToObject(body, "tags", cJSON_Duplicate(ds->tags, 1))) ||
               names(od, req, "sensor", ds->sensors, ds->n_sensors, "sensor", body, "sensors") ||
               names(od, req, "metric", ds->metrics, ds->n_metrics, "metric", body, "metrics") ||
               bbox_param(od, req, body)) {
        goto fail;
    }
    /* each answers the request when it refuses: the second must not run then */
    int has0 = time_param(od, req, "from", &t0, body), has1 = has0 < 0 ? -1 : time_param(od, req, "to", &t1, body);
    if (has0 < 0 || has1 < 0)
        goto fail;
    if (has0 == 0 && has1 == 0 && t0 >= t1) {
        od_respond_error(od, req, 400, "the time range is empty: from (%s) must be before to (%s)",
                         h->http_query_param(req, "from"), h->http_query_param(req, "to"));
        goto fail;
    }
    int64_t now_s = (int64_t)time(NULL);
    *max_age_s = has1 == 0 && t1 / 1000 < now_s - 86400 ? 86400 : (int)(od->cache_ms / 1000);
    if (!ds->topic) { /* the public fields, in our column order: see pass_through */
        cJSON *fields = cJSON_AddArrayToObject(body, "fields");
        for (int i = 0; i < OD_N_READING_FIELDS; i++)
            if (ds->fields & (1u << i))
                cJSON_AddItemToArray(fields, cJSON_CreateString(od_reading_fields[i]));
    }
    int64_t limit = od->page_size;
    const char *lim = h->http_query_param(req, "limit");
    if (lim) {
        char *end;
        long long v = strtoll(lim, &end, 10);
        if (end == lim || *end || v < 1 || v > od->max_page) {
            od_respond_error(od, req, 400, "limit \"%.32s\" is not a page size from 1 to %lld (this server's "
                                           "maximum); follow the next links for more",
                             lim, (long long)od->max_page);
            goto fail;
        }
        limit = v;
    }
    cJSON_AddNumberToObject(body, "limit", (double)limit);
    const char *cursor = h->http_query_param(req, "cursor");
    if (cursor) {
        if (!*cursor || strlen(cursor) > 80 || strspn(cursor, "0123456789.-e") != strlen(cursor)) {
            od_respond_error(od, req, 400, "cursor: use the \"next\" link of the previous page as it is");
            goto fail;
        }
        cJSON_AddStringToObject(body, "cursor", cursor);
    }
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}

/* The page's URL under base_url without its cursor: the next link appends one. */
static char *page_url(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *ext)
{
    const char *q = od->host->http_query(req);
    char *kept = malloc(strlen(q) + 1);
    size_t n = 0;
    while (*q) {
        size_t len = strcspn(q, "&");
        if (strncmp(q, "cursor=", 7) != 0) {
            if (n)
                kept[n++] = '&';
            memcpy(kept + n, q, len);
            n += len;
        }
        q += len;
        q += *q == '&';
    }
    kept[n] = '\0';
    char *url = od_url(od, "/datasets/%s/data%s?%s%s", ds->id, ext, kept, n ? "&" : "");
    free(kept);
    return url;
}

/* --- the reply ------------------------------------------------------------ */

/* JSON of readings: the store wrote the rows with the public fields in our
 * order ("fields"), so they pass through as text; only the envelope is new.
 * The store's reply is {"readings":[...],"next":<string or null>} exactly
 * (cJSON, unformatted); anything else takes the general path. */
static char *pass_through(struct od_pending *p, const char *next_url, size_t *len)
{
    static const char head[] = "{\"readings\":[", tail[] = "],\"next\":";
    const char *r = p->reply, *end = r + p->reply_len;
    if (p->fmt != OD_JSON || p->ds->topic || p->reply_len < sizeof head || memcmp(r, head, sizeof head - 1))
        return NULL;
    const char *rows = r + sizeof head - 1, *t = end - (sizeof tail - 1);
    while (t >= rows && memcmp(t, tail, sizeof tail - 1) != 0) /* the last "],\"next\":" */
        t--;
    if (t < rows)
        return NULL;
    size_t n = (size_t)(t - rows), id = strlen(p->ds->id), url = next_url ? strlen(next_url) + 2 : 4;
    char *out = malloc(sizeof "{\"dataset\":\"\",\"data\":[],\"next\":}" + id + n + url);
    /* the id is [a-z0-9_-] and the URL percent-encoded: both safe inside quotes */
    int k = sprintf(out, "{\"dataset\":\"%s\",\"data\":[", p->ds->id);
    memcpy(out + k, rows, n);
    k += (int)n;
    k += sprintf(out + k, "],\"next\":%s%s%s}", next_url ? "\"" : "", next_url ? next_url : "null",
                 next_url ? "\"" : "");
    *len = (size_t)k;
    return out;
}

/* The store's "next" without parsing the page: the value after the last
 * "next": (a cursor is digits, dots, '-' and 'e').  Offsets, not pointers:
 * a pointer before the start of the reply (a reply shorter than the key,
 * or one step past its first byte) is undefined behaviour even unread. */
static char *next_cursor(const char *reply, size_t len)
{
    static const char key[] = "\"next\":\"";
    const size_t kl = sizeof key - 1;
    for (size_t at = len >= kl ? len - kl + 1 : 0; at > 0; at--)
        if (memcmp(reply + at - 1, key, kl) == 0) {
            size_t v = at - 1 + kl, n = 0;
            while (v + n < len && reply[v + n] && strchr("0123456789.-e", reply[v + n]))
                n++;
            return v + n < len && reply[v + n] == '"' ? strndup(reply + v, n) : NULL;
        }
    return NULL;
}

/* The answer from the store's reply: on a worker thread when the page must
 * be parsed (CSV, GeoJSON, topic datasets, gzip), so the loop only moves
 * bytes; on the loop when the rows pass through. */
static void render_work(void *arg)
{
    struct od_pending *p = arg;
    struct od_answer *a = calloc(1, sizeof *a);
    char *next = next_cursor(p->reply, p->reply_len), *next_url = NULL;
    if (next) {
        next_url = malloc(strlen(p->page_url) + strlen(next) + 8);
        sprintf(next_url, "%scursor=%s", p->page_url, next);
        free(next);
    }
    a->body = pass_through(p, next_url, &a->len);
    if (!a->body) {
        cJSON *reply = cJSON_ParseWithLength(p->reply, p->reply_len);
        a->body = od_render(p->ds, p->fmt, reply, next_url, p->bom, &a->len);
        cJSON_Delete(reply);
    }
    a->content_type = od_format_type(p->fmt);
    a->max_age_s = p->max_age_s;
    od_etag(a->body, a->len, a->etag);
    if (p->gzip) /* only when asked: compressing costs more than sending, on a LAN */
        od_answer_compress(a);
    if (next_url) {
        a->link = malloc(strlen(next_url) + 16);
        sprintf(a->link, "<%s>; rel=\"next\"", next_url);
    }
    free(next_url);
    p->answer = a;
}

static void render_done(void *arg, int status)
{
    struct od_pending *p = arg;
    struct opendata *od = p->od;
    struct od_answer *a = p->answer;
    if (status != 0 || od->stopping) { /* the core has answered the request (503) */
        od_answer_free(a);
        pending_free(p);
        return;
    }
    struct od_answer *before = od_lru_get(od->cache, p->cache_key);
    a->modified_s = before && !strcmp(before->etag, a->etag) ? before->modified_s : (int64_t)time(NULL);
    a->expires_ms = (int64_t)od->host->now_ms(od->inst) + od->cache_ms;
    od->host->http_set_header(p->req, "Vary", "Accept");
    od_respond_answer(od, p->req, a);
    if (od->cache_ms > 0)
        od_lru_put(od->cache, p->cache_key, a, a->len + (a->link ? strlen(a->link) : 0));
    else
        od_answer_free(a);
    od->host->metric_set(od->m_cache_bytes, (double)od_lru_bytes(od->cache));
    pending_free(p);
}

static void on_store_reply(void *arg, int status, const char *body, size_t len)
{
    struct od_pending *p = arg;
    struct opendata *od = p->od;
    mst_http_request *req = p->req;
    if (status == 0) {
        p->reply = malloc(len ? len : 1);
        memcpy(p->reply, body, len);
        p->reply_len = len;
        if (p->fmt == OD_JSON && !p->ds->topic && !p->gzip) {
            render_work(p); /* rows pass through as text: cheaper than a thread hand-off */
            render_done(p, 0);
            return;
        }
        if (od->host->queue_work(od->inst, render_work, render_done, p) == 0)
            return;
        status = MST_ECLOSED;
    }
    if (status == MST_EINVAL) {
        cJSON *reply = cJSON_ParseWithLength(body, len);
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "error"));
        od_respond_error(od, req, 400, "%s", why ? why : "the store refused the query");
        cJSON_Delete(reply);
    } else {
        od->host->metric_add(od->m_store_errors, 1);
        if (!od->logged_store) {
            od->logged_store = 1;
            od->host->log(od->inst, MST_LOG_WARN, "store/query failed (%s); answering 503 (further failures are "
                                                  "only counted)",
                          mst_strerror(status));
        }
        od->host->http_set_header(req, "Retry-After", "5");
        if (status == MST_ENOSERVER)
            od_respond_error(od, req, 503, "no plugin on this node serves store/query: the town's config needs "
                                           "the store plugin");
        else
            od_respond_error(od, req, 503, "the data store is not answering right now; try again in a few seconds");
    }
    pending_free(p);
}

void od_data_get(struct opendata *od, mst_http_request *req, struct od_dataset *ds, const char *ext)
{
    const struct mst_host *h = od->host;
    enum od_format fmt;
    if (pick_format(od, req, ext, &fmt) != 0 || check_names(od, req) != 0)
        return;
    const char *bom = h->http_query_param(req, "bom");
    char *key = malloc(strlen(ds->id) + strlen(h->http_query(req)) + 8);
    sprintf(key, "%s|%d|%s", ds->id, (int)fmt, h->http_query(req));
    struct od_answer *hit = od->cache_ms > 0 ? od_lru_get(od->cache, key) : NULL;
    if (hit && hit->expires_ms > (int64_t)h->now_ms(od->inst)) {
        h->metric_add(od->m_hits, 1);
        if (!hit->gz && od_takes_gzip(od, req))
            od_answer_compress(hit); /* the first client that wants it pays, once */
        h->http_set_header(req, "Vary", "Accept");
        od_respond_answer(od, req, hit);
        free(key);
        return;
    }
    h->metric_add(od->m_misses, 1);
    int max_age_s = 0;
    cJSON *body = store_query_body(od, req, ds, &max_age_s);
    if (!body) {
        free(key);
        return;
    }
    struct od_pending *p = calloc(1, sizeof *p);
    p->od = od;
    p->req = req;
    p->ds = ds;
    p->fmt = fmt;
    p->bom = bom && strcmp(bom, "0") != 0 && fmt == OD_CSV;
    p->max_age_s = max_age_s;
    p->gzip = od_takes_gzip(od, req);
    p->cache_key = key;
    p->page_url = page_url(od, req, ds, ext);
    p->next = od->pending;
    if (p->next)
        p->next->prevp = &p->next;
    p->prevp = &od->pending;
    od->pending = p;
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int rc = h->request(od->inst, "store/query", json, strlen(json), (uint32_t)od->query_timeout_ms, on_store_reply, p);
    free(json);
    if (rc != 0)
        on_store_reply(p, rc, "", 0);
}
