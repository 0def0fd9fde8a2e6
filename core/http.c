#include "http.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mestys/utf8.h>

#include "config.h"
#include "http_chunked.h"
#include "http_listen.h"
#include "log.h"
#include "util.h"

#define WRITE_CHUNK 65536

struct route {
    struct mst__list link;
    void *owner;
    char method[8];
    char *path;  /* without the trailing "*" for prefix routes */
    int prefix;  /* path ends in "/" and takes everything below */
    enum mst_role role;
    mst_http_cb cb;
    void *arg;
};

struct ws_endpoint {
    struct mst__list link;
    void *owner;
    char *path;
    int prefix;
    char *subprotocol; /* NULL: none asked for */
    enum mst_role role;
    struct mst_ws_handlers handlers;
    void *arg;
};

struct header {
    char *name;
    char *value;
};

struct mst_http_request {
    struct mst__list link; /* in h->pending while a plugin holds it */
    struct mst__http *h;
    struct lws *wsi;       /* NULL once the client has gone */
    void *owner;
    char method[8];
    char peer[64];
    char *path;
    char *query;
    const char *subpath;
    struct header *headers;
    size_t n_headers;
    struct header *params; /* the query's name=value pairs, decoded */
    size_t n_params;
    struct mst__buf body;
    struct mst__buf out_headers; /* "Name: value\0" pairs set by the handler */
    struct mst__buf out;
    size_t out_sent;
    int status;
    char *content_type;
    int responded;
    int headers_sent;
    int head_only;
    int close_after;
    int body_too_large;
    int chunked;              /* the body comes in chunks, decoded here */
    struct mst__chunked chunks;
    const char *nul_header;   /* a header holding a NUL byte: refused */
    struct route *route;
    uint64_t start_ns;
};

struct out_frame {
    struct mst__list link;
    int binary;
    size_t len;
    unsigned char data[]; /* LWS_PRE + payload */
};

struct mst_ws_conn {
    struct mst__list link; /* in h->ws_conns */
    struct mst__http *h;
    struct lws *wsi;
    struct ws_endpoint *ep; /* NULL once the owner dropped it */
    struct mst__list outq;
    struct mst__buf rx;
    int closing;
};

struct session {
    mst_http_request *req;
    mst_ws_conn *ws;
    int refused; /* a request line lws could not parse: answered 501 */
};

static const struct {
    const char *name;
    enum lws_token_indexes token;
} known_headers[] = {
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"accept-encoding", WSI_TOKEN_HTTP_ACCEPT_ENCODING},
    {"accept-language", WSI_TOKEN_HTTP_ACCEPT_LANGUAGE},
    {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
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
static char *copy_token_len(struct lws *wsi, enum lws_token_indexes t, size_t *len)
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

static char *copy_token(struct lws *wsi, enum lws_token_indexes t)
{
    return copy_token_len(wsi, t, NULL);
}

/* --- request life ------------------------------------------------------- */

static void request_free(mst_http_request *req)
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

static void count_response(struct mst__http *h, int status, uint64_t start_ns)
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
    count_response(req->h, req->status, req->start_ns);
    mst__list_remove(&req->link);
    if (!req->wsi) {
        request_free(req); /* the client went away meanwhile */
        return 0;
    }
    if (req->h->answering == req)
        return 0; /* answered inside its own LWS_CALLBACK_HTTP: written when that returns */
    lws_callback_on_writable(req->wsi);
    return 0;
}

void mst__http_error_body(struct mst__buf *body, int status, const char *message)
{
    mst__buf_puts(body, "{\"error\":");
    mst__buf_json_string(body, message ? message : "");
    mst__buf_printf(body, ",\"status\":%d}\n", status);
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

/* --- writing ------------------------------------------------------------ */

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
                                    req->head_only ? 0 : req->out.len, &p, end))
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
static int write_response(struct session *s)
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
    request_free(req);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* --- routing and authorization ------------------------------------------ */

static int path_matches(const char *pattern, int prefix, const char *path, const char **subpath)
{
    size_t n = strlen(pattern);
    if (!prefix) {
        /* "/api/x/" is the same resource as "/api/x" */
        size_t pl = strlen(path);
        if (pl > 1 && path[pl - 1] == '/')
            pl--;
        if (pl != n || strncmp(pattern, path, n) != 0)
            return 0;
        *subpath = "";
        return 1;
    }
    /* pattern "/api/x/devices/" takes "/api/x/devices" and everything below */
    if (strncmp(pattern, path, n) == 0) {
        *subpath = path + n;
        return 1;
    }
    if (strncmp(pattern, path, n - 1) == 0 && path[n - 1] == '\0') {
        *subpath = "";
        return 1;
    }
    return 0;
}

static void split_pattern(const char *path, char **out, int *prefix)
{
    if (mst__ends_with(path, "/*")) {
        *out = mst__xstrndup(path, strlen(path) - 1);
        *prefix = 1;
    } else {
        *out = mst__xstrdup(path);
        *prefix = 0;
    }
}

#define NO_TOKEN (-1)
#define UNKNOWN_TOKEN (-2)

/* The role the request's bearer token grants, NO_TOKEN or UNKNOWN_TOKEN. */
/* auth_len is the header's whole length: a NUL byte inside it (and what
 * follows) is part of what is compared, so "token\0junk" is not "token". */
static int token_role(struct mst__http *h, const char *auth, size_t auth_len)
{
    if (!auth || !auth_len)
        return NO_TOKEN;
    if (auth_len < 7 || strncasecmp(auth, "Bearer ", 7) != 0)
        return UNKNOWN_TOKEN;
    const char *tok = auth + 7, *end = auth + auth_len;
    while (tok < end && *tok == ' ')
        tok++;
    size_t tl = (size_t)(end - tok);
    for (size_t i = 0; i < h->n_tokens; i++) {
        const char *want = h->tokens[i].token;
        size_t wl = strlen(want);
        /* Compare every byte so the time taken says nothing of the token. */
        unsigned diff = (unsigned)(wl ^ tl);
        for (size_t j = 0; j < wl; j++)
            diff |= (unsigned char)want[j] ^ (unsigned char)(j < tl ? tok[j] : 0);
        if (diff == 0)
            return h->tokens[i].role;
    }
    return UNKNOWN_TOKEN;
}

/* 0 if allowed; otherwise answers 401/403 and returns -1. */
static int authorize(struct mst__http *h, mst_http_request *req, enum mst_role need)
{
    if (need == MST_ROLE_PUBLIC)
        return 0;
    const char *auth = mst__http_header(req, "authorization");
    int role = token_role(h, auth, auth ? strlen(auth) : 0); /* no NUL inside: refused before */
    if (role >= (int)need)
        return 0;
    mst__metric_add(h->unauthorized, 1);
    if (role < 0) {
        mst__http_set_header(req, "WWW-Authenticate", "Bearer");
        mst__http_error(req, 401, "%s; this route needs a bearer token with the %s role",
                        role == NO_TOKEN ? "no bearer token" : "unknown bearer token",
                        mst__role_name((int)need));
    } else {
        mst__http_error(req, 403, "your token's role (%s) may not call this route, which needs %s",
                        mst__role_name(role), mst__role_name((int)need));
    }
    return -1;
}

static void dispatch(struct mst__http *h, mst_http_request *req)
{
    struct route *r = req->route;
    req->owner = r->owner;
    mst__list_push(&h->pending, &req->link);
    r->cb(r->arg, req);
}

static struct route *find_route(struct mst__http *h, mst_http_request *req, struct mst__buf *allow)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    struct mst__list *pos;
    for (pos = h->routes.next; pos != &h->routes; pos = pos->next) {
        struct route *r = mst__container_of(pos, struct route, link);
        const char *sub;
        if (!path_matches(r->path, r->prefix, req->path, &sub))
            continue;
        if (strcmp(r->method, method) == 0) {
            req->subpath = sub;
            return r;
        }
        mst__buf_printf(allow, "%s%s", allow->len ? ", " : "", r->method);
    }
    return NULL;
}

static void percent_encode(struct mst__buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            mst__buf_append(b, p, 1);
        else
            mst__buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
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
        percent_encode(&raw, p->name);
        if (eq) {
            mst__buf_puts(&raw, "=");
            percent_encode(&raw, p->value);
        }
        free(frag);
    }
    req->query = raw.data;
}

static mst_http_request *request_new(struct mst__http *h, struct lws *wsi, const char *uri)
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
        char *v = copy_token_len(wsi, known_headers[i].token, &n);
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

/* An answer given while lws was still in the request's own callback is
 * written right away: lws_write is allowed there for HTTP/1, as
 * lws_return_http_status does, and it saves asking for POLLOUT (two
 * epoll_ctl calls and a loop turn per request). */
static int write_now(struct session *s)
{
    if (s->req && s->req->responded && !s->req->headers_sent)
        return write_response(s);
    return 0;
}

static int handle_http(struct mst__http *h, struct session *s);

/* LWS_CALLBACK_HTTP: headers are in.  Returns what the callback returns. */
static int on_http(struct mst__http *h, struct session *s, struct lws *wsi, const char *uri)
{
    mst_http_request *req = request_new(h, wsi, uri);
    s->req = req;
    h->answering = req;
    int rc = handle_http(h, s);
    h->answering = NULL;
    return rc ? rc : write_now(s);
}

static int handle_http(struct mst__http *h, struct session *s)
{
    mst_http_request *req = s->req;
    if (!req->method[0]) {
        mst__metric_add(h->bad_requests, 1);
        req->close_after = 1;
        return mst__http_error(req, 501, "method not supported"), 0;
    }
    if (req->nul_header) {
        /* RFC 9110 5.5: a NUL in a field value is refused, never cut at */
        mst__metric_add(h->bad_requests, 1);
        req->close_after = 1;
        mst__log_info("http: refused a request from %s: header %s holds a NUL byte", req->peer,
                      req->nul_header);
        return mst__http_error(req, 400, "the %s header holds a NUL byte", req->nul_header), 0;
    }
    struct mst__buf allow = {0};
    req->route = find_route(h, req, &allow);
    if (!req->route) {
        if (allow.len) {
            mst__http_set_header(req, "Allow", allow.data);
            mst__http_error(req, 405, "%s is not allowed on %s; allowed: %s", req->method, req->path,
                            allow.data);
        } else {
            mst__http_error(req, 404, "no route %s", req->path);
        }
        mst__buf_free(&allow);
        return 0;
    }
    mst__buf_free(&allow);
    if (authorize(h, req, req->route->role) != 0)
        return 0;
    const char *cl = mst__http_header(req, "content-length");
    const char *te = mst__http_header(req, "transfer-encoding");
    unsigned long long clen = cl ? strtoull(cl, NULL, 10) : 0;
    if (clen > h->body_limit) {
        mst__metric_add(h->too_large, 1);
        req->close_after = 1; /* the body is still on the wire: do not read it */
        mst__http_error(req, 413, "the body is %llu bytes; this server takes at most %zu", clen,
                        h->body_limit);
        return 0;
    }
    if (te && strcasestr(te, "chunked")) {
        /* lws reads it as a body of unknown length that never ends: the
         * connection closes after the answer, since lws cannot tell where
         * the next request would begin */
        req->chunked = 1;
        req->close_after = 1;
        return 0;
    }
    if (clen > 0)
        return 0; /* the body comes next */
    dispatch(h, req);
    return 0;
}

static void body_complete(struct mst__http *h, struct session *s);

static int refuse_too_large(struct mst__http *h, mst_http_request *req)
{
    req->body_too_large = 1;
    req->close_after = 1;
    mst__metric_add(h->too_large, 1);
    return mst__http_error(req, 413, "the body is larger than this server takes (%zu bytes)", h->body_limit);
}

static int on_chunk(struct mst__http *h, struct session *s, const void *in, size_t len)
{
    mst_http_request *req = s->req;
    int rc = mst__chunked_feed(&req->chunks, in, len, &req->body, h->body_limit);
    if (rc == MST_ETOOBIG) {
        refuse_too_large(h, req);
    } else if (rc == MST_EINVAL) {
        req->body_too_large = 1; /* read no more of it */
        mst__metric_add(h->bad_requests, 1);
        mst__log_info("http: refused a request from %s: broken chunked encoding", req->peer);
        mst__http_error(req, 400, "the chunked body is not well-formed");
    } else if (rc == 1) {
        body_complete(h, s);
    }
    return 0;
}

static int on_body(struct mst__http *h, struct session *s, const void *in, size_t len)
{
    mst_http_request *req = s->req;
    if (!req || req->responded || req->body_too_large)
        return 0;
    if (req->chunked)
        return on_chunk(h, s, in, len);
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

/* The whole body is in: the route gets the request, unless it is text
 * that is not UTF-8, which would be stored and later served back as
 * invalid JSON. */
static void body_complete(struct mst__http *h, struct session *s)
{
    mst_http_request *req = s->req;
    if (!req || req->responded)
        return;
    h->answering = req;
    if (text_body(mst__http_header(req, "content-type")) && !mst_utf8_valid(req->body.data, req->body.len)) {
        mst__metric_add(h->bad_utf8, 1);
        mst__log_info("http: refused %s %s from %s: the body is not valid UTF-8", req->method, req->path,
                      req->peer);
        mst__http_error(req, 400, "the body is not valid UTF-8 (Content-Type %s)",
                        mst__http_header(req, "content-type") ? mst__http_header(req, "content-type")
                                                               : "not given");
    } else {
        dispatch(h, req);
    }
    h->answering = NULL;
}

static void on_http_closed(struct session *s)
{
    mst_http_request *req = s->req;
    if (!req)
        return;
    s->req = NULL;
    req->wsi = NULL;
    if (req->responded)
        request_free(req);
    /* else a plugin still holds it: freed when it responds */
}

/* --- WebSocket ----------------------------------------------------------- */

static struct ws_endpoint *find_endpoint(struct mst__http *h, const char *path, const char *proto)
{
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        const char *sub;
        if (!path_matches(ep->path, ep->prefix, path, &sub))
            continue;
        if ((!ep->subprotocol && !proto) || (ep->subprotocol && proto && strcmp(ep->subprotocol, proto) == 0))
            return ep;
    }
    return NULL;
}

static const char *chosen_subprotocol(struct lws *wsi)
{
    const struct lws_protocols *p = lws_get_protocol(wsi);
    /* protocols[0] is the plain HTTP/WebSocket one: no subprotocol */
    return p && strcmp(p->name, "http") != 0 ? p->name : NULL;
}

/* Whether a client's Sec-WebSocket-Protocol list names proto. */
static int offers(const char *list, const char *proto)
{
    size_t n = strlen(proto);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, proto, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* Before the upgrade: refuse with a real HTTP status, so the client (and
 * the person reading its log) learns why. */
static int on_ws_confirm(struct mst__http *h, struct lws *wsi)
{
    char *uri = copy_token(wsi, WSI_TOKEN_GET_URI);
    char *protos = copy_token(wsi, WSI_TOKEN_PROTOCOL);
    struct ws_endpoint *found = NULL;
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; uri && pos != &h->ws_endpoints && !found; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        const char *sub;
        if (path_matches(ep->path, ep->prefix, uri, &sub) &&
            (ep->subprotocol ? offers(protos, ep->subprotocol) : !protos))
            found = ep;
    }
    int rc = 0;
    if (!found) {
        mst__log_info("websocket upgrade refused: no endpoint %s%s%s", uri ? uri : "?",
                      protos ? " for subprotocol " : "", protos ? protos : "");
        lws_return_http_status(wsi, 404, "no WebSocket endpoint here for that subprotocol");
        rc = 1;
    } else if (found->role != MST_ROLE_PUBLIC) {
        size_t auth_len = 0;
        char *auth = copy_token_len(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &auth_len);
        int role = token_role(h, auth, auth_len);
        free(auth);
        if (role < (int)found->role) {
            mst__metric_add(h->unauthorized, 1);
            lws_return_http_status(wsi, role < 0 ? 401 : 403, "this endpoint needs a bearer token with a higher role");
            rc = 1;
        }
    }
    free(uri);
    free(protos);
    return rc;
}

static int on_ws_filter(struct mst__http *h, struct lws *wsi)
{
    char *uri = copy_token(wsi, WSI_TOKEN_GET_URI);
    struct ws_endpoint *ep = uri ? find_endpoint(h, uri, chosen_subprotocol(wsi)) : NULL;
    int ok = ep != NULL;
    if (ep && ep->role != MST_ROLE_PUBLIC) {
        size_t auth_len = 0;
        char *auth = copy_token_len(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &auth_len);
        ok = token_role(h, auth, auth_len) >= (int)ep->role;
        if (!ok)
            mst__metric_add(h->unauthorized, 1);
        free(auth);
    }
    if (!ep)
        mst__log_info("websocket upgrade refused: no endpoint %s", uri ? uri : "?");
    free(uri);
    return ok ? 0 : 1;
}

static void on_ws_established(struct mst__http *h, struct session *s, struct lws *wsi)
{
    char *uri = copy_token(wsi, WSI_TOKEN_GET_URI);
    mst_ws_conn *c = mst__xcalloc(1, sizeof *c);
    c->h = h;
    c->wsi = wsi;
    c->ep = uri ? find_endpoint(h, uri, chosen_subprotocol(wsi)) : NULL;
    mst__list_init(&c->outq);
    mst__list_push(&h->ws_conns, &c->link);
    s->ws = c;
    if (c->ep && c->ep->handlers.open)
        c->ep->handlers.open(c->ep->arg, c, uri ? uri : "");
    free(uri);
}

static void ws_free(mst_ws_conn *c)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &c->outq)
    {
        mst__list_remove(pos);
        free(mst__container_of(pos, struct out_frame, link));
    }
    mst__list_remove(&c->link);
    mst__buf_free(&c->rx);
    free(c);
}

static int on_ws_receive(struct mst__http *h, mst_ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->rx.len + len > h->body_limit) {
        mst__metric_add(h->too_large, 1);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
    }
    mst__buf_append(&c->rx, in, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    if (c->ep && c->ep->handlers.message)
        c->ep->handlers.message(c->ep->arg, c, c->rx.data, c->rx.len, lws_frame_is_binary(wsi));
    c->rx.len = 0;
    return 0;
}

static int on_ws_writeable(mst_ws_conn *c)
{
    if (mst__list_empty(&c->outq)) {
        if (!c->closing)
            return 0;
        /* lws sends a close frame with this status as it closes */
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    struct out_frame *f = mst__container_of(c->outq.next, struct out_frame, link);
    mst__list_remove(&f->link);
    int w = lws_write(c->wsi, f->data + LWS_PRE, f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    free(f);
    if (w < 0)
        return -1;
    if (!mst__list_empty(&c->outq) || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int mst__ws_send(mst_ws_conn *c, const void *data, size_t len, int binary)
{
    if (!c || c->closing)
        return MST_ECLOSED;
    struct out_frame *f = mst__xmalloc(sizeof *f + LWS_PRE + len);
    f->binary = binary;
    f->len = len;
    memcpy(f->data + LWS_PRE, data, len);
    mst__list_push(&c->outq, &f->link);
    lws_callback_on_writable(c->wsi);
    return 0;
}

void mst__ws_close(mst_ws_conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    lws_callback_on_writable(c->wsi);
}

/* --- request lines lws cannot parse --------------------------------------- */

/* lws 4.1 answers a method it does not know (PROPFIND, FOO) with its own
 * HTML 403.  With LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG
 * it hands the connection over raw instead, and the documented JSON 501 is
 * written here, once, before closing. */
static int on_raw_rx(struct mst__http *h, struct session *s, struct lws *wsi, size_t len)
{
    if (!s || !len)
        return -1; /* plain text on the TLS port: closed, as before */
    if (!s->refused) {
        s->refused = 1;
        mst__metric_add(h->bad_requests, 1);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int on_raw_writeable(struct mst__http *h, struct lws *wsi)
{
    struct mst__buf body = {0}, out = {0};
    mst__http_error_body(&body, 501, "method not supported");
    mst__buf_reserve(&out, LWS_PRE);
    out.len = LWS_PRE;
    mst__buf_printf(&out, "HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\n"
                          "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                    body.len, body.data);
    lws_write(wsi, (unsigned char *)out.data + LWS_PRE, out.len - LWS_PRE, LWS_WRITE_RAW);
    count_response(h, 501, mst__now_ns());
    mst__buf_free(&body);
    mst__buf_free(&out);
    return -1;
}

/* --- the libwebsockets callback ----------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct mst__http *h = lws_context_user(lws_get_context(wsi));
    struct session *s = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(h, s, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(h, s, in, len) ? -1 : write_now(s);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        body_complete(h, s);
        return write_now(s);
    case LWS_CALLBACK_RAW_RX:
        return on_raw_rx(h, s, wsi, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        return on_raw_writeable(h, wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s || !s->req || !s->req->responded)
            return 0;
        return write_response(s);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            on_http_closed(s);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_ws_confirm(h, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_ws_filter(h, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        on_ws_established(h, s, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return s->ws ? on_ws_receive(h, s->ws, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s->ws ? on_ws_writeable(s->ws) : 0;
    case LWS_CALLBACK_CLOSED:
        if (s && s->ws) {
            mst_ws_conn *c = s->ws;
            s->ws = NULL;
            if (c->ep && c->ep->handlers.close)
                c->ep->handlers.close(c->ep->arg, c);
            ws_free(c);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* --- set-up ------------------------------------------------------------- */

static void lws_to_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    mst__log(level == LLL_ERR ? MST_LOG_ERROR : MST_LOG_WARN, "http", "%.*s", (int)n, line);
}

int mst__http_init(struct mst__http *h, uv_loop_t *loop, struct mst__metrics *metrics)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->metrics = metrics;
    h->body_limit = 1 << 20;
    mst__list_init(&h->routes);
    mst__list_init(&h->ws_endpoints);
    mst__list_init(&h->pending);
    mst__list_init(&h->ws_conns);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total",
                     "HTTP requests refused before a handler saw them, per reason",
                     "reason=\"body_too_large\"", &h->too_large);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"unauthorized\"", &h->unauthorized);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"bad_request\"", &h->bad_requests);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"invalid_utf8\"", &h->bad_utf8);
    return 0;
}

static void add_protocol(struct mst__http *h, const char *name)
{
    for (size_t i = 0; i < h->n_protocols; i++)
        if (strcmp(h->protocols[i].name, name) == 0)
            return;
    h->protocols = mst__xrealloc(h->protocols, (h->n_protocols + 2) * sizeof *h->protocols);
    struct lws_protocols *p = &h->protocols[h->n_protocols++];
    memset(p, 0, 2 * sizeof *p);
    p->name = mst__xstrdup(name); /* outlives the endpoint that asked for it */
    p->callback = callback;
    p->per_session_data_size = sizeof(struct session);
    p->rx_buffer_size = 0;
}

int mst__http_listen(struct mst__http *h, const struct mst__http_opts *o, char *err, size_t errlen)
{
    if (!o->listen || !*o->listen)
        return 0;
    h->body_limit = o->body_limit;
    struct mst__listen l;
    char why[384];
    if (mst__listen_parse(o->listen, &l, why, sizeof why) != 0) {
        snprintf(err, errlen, "node.http.listen %s", why);
        return MST_ECONFIG;
    }
    /* lws reports a failed bind only as "cannot create the vhost": try it
     * first, for the operator's sake, with the OS's reason. */
    int rc = mst__listen_probe(&l);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", o->listen, strerror(-rc));
        return MST_EIO;
    }
    snprintf(h->listen_ip, sizeof h->listen_ip, "%s", l.ip); /* lws keeps the pointer */

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
    add_protocol(h, "http");
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        if (ep->subprotocol)
            add_protocol(h, ep->subprotocol);
    }

    void *foreign[1] = {h->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    if (o->tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.user = h;
    info.fd_limit_per_thread = o->max_connections ? o->max_connections : 1024;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = h->protocols;
    info.pcontext = &h->ctx; /* lws clears it when its destruction has finished */
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        snprintf(err, errlen, "cannot start the HTTP server (libwebsockets context)");
        return MST_EIO;
    }
    memset(&info, 0, sizeof info);
    info.port = l.port;
    info.protocols = h->protocols;
    info.vhost_name = "mestys";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG;
    /* lws takes an IP literal as iface, but on an IPv6 socket it writes an
     * IPv4 literal where the IPv6 address belongs and binds [::], every
     * interface: an IPv4 address gets an IPv4-only vhost. */
    if (!l.any)
        info.iface = h->listen_ip;
    if (l.family == AF_INET)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    else if (!l.any)
        info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
    if (o->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = o->tls_cert;
        info.ssl_private_key_filepath = o->tls_key;
    }
    h->vhost = lws_create_vhost(h->ctx, &info);
    if (!h->vhost) {
        snprintf(err, errlen, "cannot listen on %s (in use, or the address is not on this machine%s)",
                 o->listen, o->tls_cert ? ", or the certificate/key could not be read" : "");
        return MST_EIO;
    }
    h->port = lws_get_vhost_listen_port(h->vhost);
    return 0;
}

void mst__http_set_tokens(struct mst__http *h, const struct mst__token *tokens, size_t n)
{
    h->tokens = tokens;
    h->n_tokens = n;
}

void mst__http_set_body_limit(struct mst__http *h, size_t limit)
{
    h->body_limit = limit;
}

static void free_route(struct route *r)
{
    free(r->path);
    free(r);
}

static void free_endpoint(struct ws_endpoint *ep)
{
    free(ep->path);
    free(ep->subprotocol);
    free(ep);
}

void mst__http_close(struct mst__http *h)
{
    struct mst__list *pos, *tmp;
    /* Requests no handler answered: the clients are gone with the context. */
    mst__list_foreach_safe(pos, tmp, &h->pending)
    {
        mst_http_request *req = mst__container_of(pos, mst_http_request, link);
        mst__list_remove(&req->link);
        req->owner = NULL;
        if (req->wsi)
            req->responded = 1; /* on_http_closed frees it */
        else
            request_free(req);
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_conns)
    {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        c->ep = NULL;
    }
    /* On a foreign loop this only begins: lws finishes once the loop has
     * run its handles' close callbacks (see mst__http_finish). */
    if (h->ctx)
        lws_context_destroy(h->ctx);
    mst__list_foreach_safe(pos, tmp, &h->routes)
    {
        mst__list_remove(pos);
        free_route(mst__container_of(pos, struct route, link));
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_endpoints)
    {
        mst__list_remove(pos);
        free_endpoint(mst__container_of(pos, struct ws_endpoint, link));
    }
}

void mst__http_free(struct mst__http *h)
{
    for (size_t i = 0; i < h->n_protocols; i++)
        free((char *)h->protocols[i].name);
    free(h->protocols);
    h->protocols = NULL;
    h->n_protocols = 0;
}

int mst__http_finish(struct mst__http *h)
{
    if (!h->ctx)
        return 0;
    lws_context_destroy(h->ctx);
    return 1;
}

int mst__http_route(struct mst__http *h, void *owner, const char *method, const char *path,
                    enum mst_role role, mst_http_cb cb, void *arg)
{
    if (!cb || !method || !path || path[0] != '/' || strlen(method) >= 8 ||
        role < MST_ROLE_PUBLIC || role > MST_ROLE_ADMIN)
        return MST_EINVAL;
    struct route *r = mst__xcalloc(1, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    for (char *m = r->method; *m; m++)
        if (*m >= 'a' && *m <= 'z')
            *m = (char)(*m - 32);
    split_pattern(path, &r->path, &r->prefix);
    struct mst__list *pos;
    for (pos = h->routes.next; pos != &h->routes; pos = pos->next) {
        struct route *o = mst__container_of(pos, struct route, link);
        if (strcmp(o->method, r->method) == 0 && strcmp(o->path, r->path) == 0 && o->prefix == r->prefix) {
            free_route(r);
            return MST_EEXIST;
        }
    }
    r->owner = owner;
    r->role = role;
    r->cb = cb;
    r->arg = arg;
    /* Exact routes first, so a prefix route never hides one. */
    if (r->prefix)
        mst__list_push(&h->routes, &r->link);
    else {
        r->link.next = h->routes.next;
        r->link.prev = &h->routes;
        h->routes.next->prev = &r->link;
        h->routes.next = &r->link;
    }
    return 0;
}

int mst__http_ws_endpoint(struct mst__http *h, void *owner, const char *path,
                          const char *subprotocol, enum mst_role role,
                          const struct mst_ws_handlers *handlers, void *arg)
{
    if (!handlers || !path || path[0] != '/')
        return MST_EINVAL;
    if (subprotocol && h->vhost) {
        int known = 0;
        for (size_t i = 0; i < h->n_protocols; i++)
            known |= strcmp(h->protocols[i].name, subprotocol) == 0;
        if (!known)
            return MST_ENOTSUP; /* subprotocols are fixed once the server listens */
    }
    struct ws_endpoint *ep = mst__xcalloc(1, sizeof *ep);
    split_pattern(path, &ep->path, &ep->prefix);
    ep->subprotocol = subprotocol ? mst__xstrdup(subprotocol) : NULL;
    ep->owner = owner;
    ep->role = role;
    size_t n = handlers->struct_size < sizeof ep->handlers ? handlers->struct_size : sizeof ep->handlers;
    memcpy(&ep->handlers, handlers, n);
    ep->arg = arg;
    mst__list_push(&h->ws_endpoints, &ep->link);
    return 0;
}

void mst__http_drop_owner(struct mst__http *h, void *owner)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &h->routes)
    {
        struct route *r = mst__container_of(pos, struct route, link);
        if (r->owner == owner) {
            mst__list_remove(pos);
            free_route(r);
        }
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_conns)
    {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        if (c->ep && c->ep->owner == owner) {
            c->ep = NULL;
            mst__ws_close(c);
        }
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_endpoints)
    {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        if (ep->owner == owner) {
            mst__list_remove(pos);
            free_endpoint(ep);
        }
    }
    mst__list_foreach_safe(pos, tmp, &h->pending)
    {
        mst_http_request *req = mst__container_of(pos, mst_http_request, link);
        if (req->owner == owner)
            mst__http_error(req, 503, "the plugin instance serving this route stopped");
    }
}
