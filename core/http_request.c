/* http_request.c - a request copied out of libwebsockets (method, path,
 * query, known headers), its body read in (Content-Length or chunked), and
 * what a handler reads of it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mestys/utf8.h>

#include "http_internal.h"
#include "log.h"

static const struct {
    const char *name;
    enum lws_token_indexes token;
} known_headers[] = {
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"accept-encoding", WSI_TOKEN_HTTP_ACCEPT_ENCODING},
    {"accept-language", WSI_TOKEN_HTTP_ACCEPT_LANGUAGE},
    {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
    {"content-encoding", WSI_TOKEN_HTTP_CONTENT_ENCODING},
    {"content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH},
    {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
    {"host", WSI_TOKEN_HOST},
    {"if-modified-since", WSI_TOKEN_HTTP_IF_MODIFIED_SINCE},
    {"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH},
    {"origin", WSI_TOKEN_ORIGIN},
    {"range", WSI_TOKEN_HTTP_RANGE},
    {"referer", WSI_TOKEN_HTTP_REFERER},
    {"transfer-encoding", WSI_TOKEN_HTTP_TRANSFER_ENCODING},
    {"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
    {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR},
};

static const struct {
    const char *name;
    enum lws_token_indexes token;
} methods[] = {
    {"GET", WSI_TOKEN_GET_URI},       {"POST", WSI_TOKEN_POST_URI},
    {"PUT", WSI_TOKEN_PUT_URI},       {"PATCH", WSI_TOKEN_PATCH_URI},
    {"DELETE", WSI_TOKEN_DELETE_URI}, {"OPTIONS", WSI_TOKEN_OPTIONS_URI},
    {"HEAD", WSI_TOKEN_HEAD_URI},
};

/* The header's value, NUL-terminated; *len (if asked) is its whole length,
 * which is more than strlen when the value holds a NUL byte. */
char *mst__lws_header(struct lws *wsi, enum lws_token_indexes t, size_t *len)
{
    int n = lws_hdr_total_length(wsi, t);
    if (n <= 0)
        return NULL;
    char *s = mst__xmalloc((size_t)n + 1);
    if (lws_hdr_copy(wsi, s, n + 1, t) < 0) {
        free(s);
        return NULL;
    }
    if (len)
        *len = (size_t)n;
    return s;
}

void mst__request_free(mst_http_request *req)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    for (size_t i = 0; i < req->n_params; i++) {
        free(req->params[i].name);
        free(req->params[i].value);
    }
    free(req->params);
    free(req->path);
    free(req->query);
    free(req->content_type);
    mst__buf_free(&req->body);
    mst__buf_free(&req->out_headers);
    mst__buf_free(&req->out);
    free(req);
}

int mst__http_set_header(mst_http_request *req, const char *name, const char *value)
{
    if (!req || req->responded || !name || !value || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return MST_EINVAL;
    mst__buf_append(&req->out_headers, name, strlen(name) + 1);
    mst__buf_append(&req->out_headers, value, strlen(value) + 1);
    return 0;
}

int mst__http_respond(mst_http_request *req, int status, const char *content_type,
                      const void *body, size_t len)
{
    if (!req || req->responded)
        return MST_EINVAL;
    req->responded = 1;
    req->status = status >= 100 && status <= 599 ? status : 500;
    req->content_type = mst__xstrdup(content_type ? content_type : "application/octet-stream");
    if (len && !req->head_only)
        mst__buf_append(&req->out, body, len);
    req->out_sent = 0;
    mst__response_count(req->h, req->status, req->start_ns);
    mst__list_remove(&req->link);
    if (!req->wsi) {
        mst__request_free(req); /* the client went away meanwhile */
        return 0;
    }
    if (req->h->answering == req)
        return 0; /* answered inside its own LWS_CALLBACK_HTTP: written when that returns */
    lws_callback_on_writable(req->wsi);
    return 0;
}

int mst__http_error(mst_http_request *req, int status, const char *fmt, ...)
{
    struct mst__buf msg = {0}, body = {0};
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    mst__http_error_body(&body, status, msg.data);
    int rc = mst__http_respond(req, status, "application/json", body.data, body.len);
    mst__buf_free(&msg);
    mst__buf_free(&body);
    return rc;
}

const char *mst__http_method(mst_http_request *req) { return req->method; }
const char *mst__http_path(mst_http_request *req) { return req->path; }
const char *mst__http_subpath(mst_http_request *req) { return req->subpath ? req->subpath : ""; }
const char *mst__http_query(mst_http_request *req) { return req->query ? req->query : ""; }
const char *mst__http_peer(mst_http_request *req) { return req->peer; }

const char *mst__http_header(mst_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *mst__http_query_param(mst_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

int mst__http_param_at(mst_http_request *req, size_t i, const char **name, const char **value)
{
    if (i >= req->n_params)
        return -1;
    *name = req->params[i].name;
    *value = req->params[i].value;
    return 0;
}

const void *mst__http_body(mst_http_request *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

/* lws hands the query over as decoded name=value fragments (joined with
 * ',' by lws_hdr_copy, which loses information).  Keep the pairs, and
 * rebuild a canonical, percent-encoded query string from them. */
static void read_query(mst_http_request *req, struct lws *wsi)
{
    struct mst__buf raw = {0};
    for (int i = 0;; i++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        char *frag = mst__xmalloc((size_t)n + 1);
        if (lws_hdr_copy_fragment(wsi, frag, n + 1, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            free(frag);
            break;
        }
        char *eq = strchr(frag, '=');
        req->params = mst__xrealloc(req->params, (req->n_params + 1) * sizeof *req->params);
        struct header *p = &req->params[req->n_params++];
        p->name = eq ? mst__xstrndup(frag, (size_t)(eq - frag)) : mst__xstrdup(frag);
        p->value = mst__xstrdup(eq ? eq + 1 : "");
        if (raw.len)
            mst__buf_puts(&raw, "&");
        mst__buf_percent_encode(&raw, p->name, NULL);
        if (eq) {
            mst__buf_puts(&raw, "=");
            mst__buf_percent_encode(&raw, p->value, NULL);
        }
        free(frag);
    }
    req->query = raw.data;
}

mst_http_request *mst__request_new(struct mst__http *h, struct lws *wsi, const char *uri)
{
    mst_http_request *req = mst__xcalloc(1, sizeof *req);
    mst__list_init(&req->link);
    req->h = h;
    req->wsi = wsi;
    req->start_ns = mst__now_ns();
    req->path = mst__xstrdup(uri);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0) {
            snprintf(req->method, sizeof req->method, "%s", methods[i].name);
            break;
        }
    }
    req->head_only = strcmp(req->method, "HEAD") == 0;
    lws_get_peer_simple(wsi, req->peer, sizeof req->peer);
    read_query(req, wsi);
    size_t nk = sizeof known_headers / sizeof known_headers[0];
    req->headers = mst__xcalloc(nk, sizeof *req->headers);
    for (size_t i = 0; i < nk; i++) {
        size_t n = 0;
        char *v = mst__lws_header(wsi, known_headers[i].token, &n);
        if (v && memchr(v, '\0', n))
            req->nul_header = known_headers[i].name;
        if (v) {
            req->headers[req->n_headers].name = mst__xstrdup(known_headers[i].name);
            req->headers[req->n_headers].value = v;
            req->n_headers++;
        }
    }
    return req;
}

static int refuse_too_large(struct mst__http *h, mst_http_request *req)
{
    req->body_too_large = 1;
    req->close_after = 1;
    mst__metric_add(h->too_large, 1);
    return mst__http_error(req, 413, "the body is larger than this server takes (%zu bytes)", h->body_limit);
}

static int on_chunk(struct mst__http *h, mst_http_request *req, const void *in, size_t len)
{
    int rc = mst__chunked_feed(&req->chunks, in, len, &req->body, h->body_limit);
    if (rc == MST_ETOOBIG) {
        refuse_too_large(h, req);
    } else if (rc == MST_EINVAL) {
        req->body_too_large = 1; /* read no more of it */
        mst__metric_add(h->bad_requests, 1);
        mst__log_info("http: refused a request from %s: broken chunked encoding", req->peer);
        mst__http_error(req, 400, "the chunked body is not well-formed");
    }
    return rc == 1;
}

int mst__request_body(struct mst__http *h, mst_http_request *req, const void *in, size_t len)
{
    if (req->responded || req->body_too_large)
        return 0;
    if (req->chunked)
        return on_chunk(h, req, in, len);
    if (req->body.len + len > h->body_limit) {
        refuse_too_large(h, req);
        return 0;
    }
    mst__buf_append(&req->body, in, len);
    return 0;
}

/* Whether a body of this Content-Type is text we keep and serve back:
 * none given, application/json, application/(anything)+json, text/(any). */
static int text_body(const char *content_type)
{
    if (!content_type)
        return 1;
    while (*content_type == ' ')
        content_type++;
    size_t n = strcspn(content_type, "; \t");
    if (n == 0)
        return 1;
    if (n >= 5 && strncasecmp(content_type, "text/", 5) == 0)
        return 1;
    if (n < 12 || strncasecmp(content_type, "application/", 12) != 0)
        return 0;
    return (n == 16 && strncasecmp(content_type + 12, "json", 4) == 0) ||
           (n > 17 && strncasecmp(content_type + n - 5, "+json", 5) == 0);
}

int mst__request_check_body(struct mst__http *h, mst_http_request *req)
{
    const char *type = mst__http_header(req, "content-type");
    /* text that is not UTF-8 would be stored and later served back as
     * invalid JSON: refused at the door */
    if (!text_body(type) || mst_utf8_valid(req->body.data, req->body.len))
        return 0;
    mst__metric_add(h->bad_utf8, 1);
    /* the line, so a CSV file saved in another encoding is found at once */
    size_t line = mst_utf8_invalid_line(req->body.data, req->body.len);
    mst__log_info("http: refused %s %s from %s: the body is not valid UTF-8 (line %zu)", req->method, req->path,
                  req->peer, line);
    mst__http_error(req, 400, "the body is not valid UTF-8: line %zu (Content-Type %s; save it as UTF-8)", line,
                    type ? type : "not given");
    return -1;
}

void mst__request_detach(struct session *s)
{
    mst_http_request *req = s->req;
    if (!req)
        return;
    s->req = NULL;
    req->wsi = NULL;
    if (req->responded)
        mst__request_free(req);
    /* else a plugin still holds it: freed when it responds */
}
