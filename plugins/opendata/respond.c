/* respond.c - conditional answers (ETag / If-None-Match, Last-Modified /
 * If-Modified-Since, RFC 9110 section 13), Cache-Control and JSON errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <mestys/http_cache.h>

#include "opendata.h"

/* FNV-1a taken eight bytes at a time (a page is hashed for its ETag on
 * every answer made): a fingerprint, not a secret. */
uint64_t od_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
    }
    for (; len; p++, len--)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

void od_etag(const void *data, size_t len, char out[24])
{
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)od_hash(data, len));
}

void od_answer_compress(struct od_answer *a)
{
    if (a->len < 1024)
        return; /* a packet either way */
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) /* 15 + 16: gzip */
        return;
    uLong bound = deflateBound(&z, (uLong)a->len);
    char *out = malloc(bound);
    z.next_in = (Bytef *)a->body;
    z.avail_in = (uInt)a->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < a->len) {
        a->gz = realloc(out, z.total_out);
        a->gz_len = z.total_out;
        /* a strong ETag names one representation: the gzip one has its own */
        snprintf(a->gz_etag, sizeof a->gz_etag, "%.17s-gz\"", a->etag);
    } else {
        free(out);
    }
    deflateEnd(&z);
}

/* Accept-Encoding names gzip (or *) without q=0. */
static int takes_gzip(const char *accept);

int od_takes_gzip(const struct opendata *od, mst_http_request *req)
{
    return takes_gzip(od->host->http_header(req, "accept-encoding"));
}

static int takes_gzip(const char *accept)
{
    for (const char *p = accept; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        const char *end = p + strcspn(p, ",");
        const char *q = strstr(p, "q=");
        int refused = q && q < end && strtod(q + 2, NULL) == 0;
        if (!refused && ((n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 1 && *p == '*')))
            return 1;
        p = end;
    }
    return 0;
}

void od_http_date(int64_t unix_s, char out[40])
{
    mst_http_date(unix_s, out);
}

static int not_modified(mst_http_request *req, const struct mst_host *host, const char *etag, int64_t modified_s)
{
    return mst_http_not_modified(host->http_header(req, "if-none-match"), host->http_header(req, "if-modified-since"),
                                 etag, modified_s);
}

void od_respond_answer(struct opendata *od, mst_http_request *req, const struct od_answer *a)
{
    const struct mst_host *host = od->host;
    char date[40], cc[48];
    int gz = a->gz && takes_gzip(host->http_header(req, "accept-encoding"));
    const char *etag = gz ? a->gz_etag : a->etag;
    if (a->gz)
        host->http_set_header(req, "Vary", "Accept-Encoding");
    if (gz)
        host->http_set_header(req, "Content-Encoding", "gzip");
    host->http_set_header(req, "ETag", etag);
    if (a->modified_s > 0) {
        od_http_date(a->modified_s, date);
        host->http_set_header(req, "Last-Modified", date);
    }
    snprintf(cc, sizeof cc, "public, max-age=%d", a->max_age_s);
    host->http_set_header(req, "Cache-Control", cc);
    host->http_set_header(req, "Access-Control-Allow-Origin", "*");
    if (a->link)
        host->http_set_header(req, "Link", a->link);
    if (not_modified(req, host, etag, a->modified_s)) {
        host->metric_add(od->m_not_modified, 1);
        host->http_respond(req, 304, a->content_type, NULL, 0);
        return;
    }
    host->http_respond(req, 200, a->content_type, gz ? a->gz : a->body, gz ? a->gz_len : a->len);
}

void od_respond_static(struct opendata *od, mst_http_request *req, const char *body, const char *type,
                       const char *etag)
{
    struct od_answer a = {.body = (char *)body, .len = strlen(body), .content_type = type,
                          .modified_s = od->started_s, .max_age_s = 300};
    memcpy(a.etag, etag, sizeof a.etag);
    od_respond_answer(od, req, &a);
}

void od_respond_error(struct opendata *od, mst_http_request *req, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "status", status);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (status >= 400 && status < 500 && status != 404 && status != 429) {
        od->host->metric_add(od->m_bad, 1);
        if (!od->logged_bad) {
            od->logged_bad = 1; /* once: a crawler with a bad link must not flood the log */
            od->host->log(od->inst, MST_LOG_WARN, "refused a request (%d): %s (further ones are only counted)",
                          status, msg);
        }
    }
    od->host->http_set_header(req, "Access-Control-Allow-Origin", "*");
    od->host->http_respond(req, status, "application/json", body, strlen(body));
    free(body);
}
