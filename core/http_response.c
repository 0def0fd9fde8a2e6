/* http_response.c - answers written to libwebsockets: headers and a small
 * body in one write, larger bodies in 64-KiB pieces as the socket drains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "metrics.h"

#define WRITE_CHUNK 65536

void mst__response_count(struct mst__http *h, int status, uint64_t start_ns)
{
    struct mst_metric *m;
    char labels[32];
    snprintf(labels, sizeof labels, "code=\"%d\"", status);
    if (mst__metrics_get(h->metrics, MST_METRIC_COUNTER, "mestys_http_requests_total",
                         "HTTP requests answered, per status code", labels, &m) == 0)
        mst__metric_add(m, 1);
    if (mst__metrics_get(h->metrics, MST_METRIC_HISTOGRAM, "mestys_http_request_seconds",
                         "time from request to response, in seconds", "", &m) == 0)
        mst__metric_observe(m, (double)(mst__now_ns() - start_ns) / 1e9);
}

/* Small answers leave in one write with their headers: one syscall and
 * one loop turn instead of two.  Only over plain HTTP/1: on TLS the
 * connection may be HTTP/2, where headers and data are separate frames. */
#define INLINE_BODY (64 * 1024)

static int write_headers(mst_http_request *req)
{
    int inline_body = req->out.len && req->out.len <= INLINE_BODY && !lws_is_ssl(req->wsi);
    size_t size = LWS_PRE + 8192 + (inline_body ? req->out.len : 0);
    unsigned char *buf = mst__xmalloc(size);
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + 8192 - 1;
    int rc = -1;
    if (lws_add_http_common_headers(req->wsi, (unsigned)req->status, req->content_type,
                                    req->head_only ? req->head_length : req->out.len, &p, end))
        goto out;
    for (size_t off = 0; off < req->out_headers.len;) {
        const char *name = req->out_headers.data + off;
        const char *value = name + strlen(name) + 1;
        off += strlen(name) + strlen(value) + 2;
        char lname[256];
        snprintf(lname, sizeof lname, "%s:", name);
        if (lws_add_http_header_by_name(req->wsi, (const unsigned char *)lname,
                                        (const unsigned char *)value, (int)strlen(value), &p, end))
            goto out;
    }
    if (req->close_after &&
        lws_add_http_header_by_name(req->wsi, (const unsigned char *)"connection:",
                                    (const unsigned char *)"close", 5, &p, end))
        goto out;
    if (inline_body) {
        if (lws_finalize_http_header(req->wsi, &p, end))
            goto out;
        memcpy(p, req->out.data, req->out.len);
        p += req->out.len;
        if (lws_write(req->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
            goto out;
        req->out_sent = req->out.len;
    } else if (lws_finalize_write_http_header(req->wsi, start, &p, end)) {
        goto out;
    }
    req->headers_sent = 1;
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Returns -1 to close the connection, 0 to keep it. */
int mst__response_write(struct session *s)
{
    mst_http_request *req = s->req;
    if (!req->headers_sent) {
        if (write_headers(req))
            return -1;
        if (req->out_sent < req->out.len) {
            lws_callback_on_writable(req->wsi);
            return 0;
        }
    } else if (req->out_sent < req->out.len) {
        size_t n = req->out.len - req->out_sent;
        if (n > WRITE_CHUNK)
            n = WRITE_CHUNK;
        unsigned char *chunk = mst__xmalloc(LWS_PRE + n);
        memcpy(chunk + LWS_PRE, req->out.data + req->out_sent, n);
        int last = req->out_sent + n == req->out.len;
        int w = lws_write(req->wsi, chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
        free(chunk);
        if (w < 0)
            return -1;
        req->out_sent += n;
        if (!last) {
            lws_callback_on_writable(req->wsi);
            return 0;
        }
    }
    int close_after = req->close_after;
    struct lws *wsi = req->wsi;
    s->req = NULL;
    mst__request_free(req);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* An answer given while lws was still in the request's own callback is
 * written right away: lws_write is allowed there for HTTP/1, as
 * lws_return_http_status does, and it saves asking for POLLOUT (two
 * epoll_ctl calls and a loop turn per request). */
int mst__response_write_now(struct session *s)
{
    if (s->req && s->req->responded && !s->req->headers_sent)
        return mst__response_write(s);
    return 0;
}

int mst__response_raw_501(struct mst__http *h, struct lws *wsi)
{
    struct mst__buf body = {0}, out = {0};
    mst__http_error_body(&body, 501, "method not supported");
    mst__buf_reserve(&out, LWS_PRE);
    out.len = LWS_PRE;
    mst__buf_printf(&out, "HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\n"
                          "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                    body.len, body.data);
    lws_write(wsi, (unsigned char *)out.data + LWS_PRE, out.len - LWS_PRE, LWS_WRITE_RAW);
    mst__response_count(h, 501, mst__now_ns());
    mst__buf_free(&body);
    mst__buf_free(&out);
    return -1;
}
