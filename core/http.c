/* http.c - the HTTP server's life (libwebsockets on the daemon's loop,
 * bound to exactly node.http.listen), lws's callback, and a request's way
 * from its headers to the route.  The rest: http_request.c (what is read),
 * http_response.c (what is written), http_route.c (the routing table),
 * http_auth.c (tokens), http_ws.c (WebSocket). */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "http_internal.h"
#include "http_listen.h"
#include "http_static.h"
#include "log.h"

static void dispatch(struct mst__http *h, mst_http_request *req)
{
    struct mst__route *r = req->route;
    req->owner = r->owner;
    mst__list_push(&h->pending, &req->link);
    r->cb(r->arg, req);
}

/* Headers are in: answer what the core refuses, or hand the request to its
 * route, or wait for the body. */
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
    struct mst__route_match m;
    mst__routes_match(&h->routes, req->method, req->path, &m);
    if (!m.route && m.status == 404 && mst__static_serve(h, req)) {
        mst__route_match_free(&m);
        return 0;
    }
    if (!m.route) {
        if (m.status == 405)
            mst__http_set_header(req, "Allow", m.allow.data);
        mst__http_error(req, m.status, "%s", m.message.data);
        mst__route_match_free(&m);
        return 0;
    }
    req->route = m.route;
    req->subpath = m.subpath;
    mst__route_match_free(&m);
    if (mst__http_authorize(h, req, req->route->role) != 0)
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

/* LWS_CALLBACK_HTTP: headers are in.  Returns what the callback returns. */
static int on_http(struct mst__http *h, struct session *s, struct lws *wsi, const char *uri)
{
    mst_http_request *req = mst__request_new(h, wsi, uri);
    s->req = req;
    h->answering = req;
    int rc = handle_http(h, s);
    h->answering = NULL;
    return rc ? rc : mst__response_write_now(s);
}

/* The whole body is in: the route gets the request, unless the body is
 * refused (text that is not UTF-8). */
static void body_complete(struct mst__http *h, struct session *s)
{
    mst_http_request *req = s->req;
    if (!req || req->responded)
        return;
    h->answering = req;
    if (mst__request_check_body(h, req) == 0)
        dispatch(h, req);
    h->answering = NULL;
}

static int on_body(struct mst__http *h, struct session *s, const void *in, size_t len)
{
    if (s->req && mst__request_body(h, s->req, in, len) == 1)
        body_complete(h, s); /* a chunked body ended: lws does not know it has */
    return mst__response_write_now(s);
}

/* lws 4.1 answers a method it does not know (PROPFIND, FOO) with its own
 * HTML 403.  With LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG
 * it hands the connection over raw instead, and the documented JSON 501 is
 * written once (http_response.c), before closing. */
static int on_raw_rx(struct mst__http *h, struct session *s, struct lws *wsi, size_t len)
{
    if (!s || !len)
        return -1; /* plain text on the TLS port: closed, as before */
    if (!s->refused) {
        char peer[64] = "";
        lws_get_peer_simple(wsi, peer, sizeof peer);
        mst__log_info("http: refused a request from %s: a method this server does not know (501)", peer);
        s->refused = 1;
        mst__metric_add(h->bad_requests, 1);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct mst__http *h = lws_context_user(lws_get_context(wsi));
    struct session *s = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(h, s, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(h, s, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        body_complete(h, s);
        return mst__response_write_now(s);
    case LWS_CALLBACK_RAW_RX:
        return on_raw_rx(h, s, wsi, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        return mst__response_raw_501(h, wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s || !s->req || !s->req->responded)
            return 0;
        return mst__response_write(s);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s)
            mst__request_detach(s);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return mst__ws_on_confirm(h, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return mst__ws_on_filter(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return mst__ws_on_established(h, s, wsi);
    case LWS_CALLBACK_RECEIVE:
        return s->ws ? mst__ws_on_receive(h, s->ws, wsi, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (s && s->ws)
            mst__ws_on_pong(s->ws);
        return 0;
    case LWS_CALLBACK_TIMER:
        return s && s->ws ? mst__ws_on_timer(s->ws) : 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s->ws ? mst__ws_on_writeable(s->ws) : 0;
    case LWS_CALLBACK_CLOSED:
        if (s)
            mst__ws_on_closed(s);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        mst__ws_on_destroy(wsi);
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return mst__ws_on_load_verify(h, user); /* user is the vhost's SSL_CTX */
    case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
        return mst__ws_on_client_cert((int)len); /* len is OpenSSL's preverify_ok */
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
    mst__routes_init(&h->routes);
    mst__list_init(&h->ws_endpoints);
    mst__list_init(&h->pending);
    mst__list_init(&h->ws_conns);
    mst__static_mounts_init(&h->statics);
    mst__static_cache_init(&h->static_cache, metrics);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total",
                     "HTTP requests refused before a handler saw them, per reason",
                     "reason=\"body_too_large\"", &h->too_large);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"unauthorized\"", &h->unauthorized);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"bad_request\"", &h->bad_requests);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_http_refused_total", NULL,
                     "reason=\"invalid_utf8\"", &h->bad_utf8);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_ws_closed_total",
                     "WebSocket connections the core closed, per reason", "reason=\"message_too_large\"",
                     &h->ws_too_large);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_ws_closed_total", NULL, "reason=\"no_pong\"",
                     &h->ws_no_pong);
    mst__metrics_get(metrics, MST_METRIC_GAUGE, "mestys_ws_connections", "open WebSocket connections", "",
                     &h->ws_open);
    mst__metrics_get(metrics, MST_METRIC_COUNTER, "mestys_ws_send_refused_total",
                     "ws_send calls answered MST_EAGAIN: the connection's queue was full (a peer not reading)", "",
                     &h->ws_queue_full);
    return 0;
}

/* lws finds a connection by its descriptor directly only when its table
 * covers every descriptor the process may get (ulimit -n).  Sized smaller
 * (fd_limit_per_thread below the limit) it searches the whole table on every
 * event instead: at 10,000 OCPP stations that search was 17-28 % of the
 * loop.  So the process's soft limit becomes the table's size: max_connections
 * (at least 1024, what a shell or systemd gives anyway), within the hard
 * limit; raised for many connections, lowered where it is huge (a million
 * descriptors would cost lws 16 MB of tables). */
static unsigned fd_table_size(unsigned max_connections)
{
    unsigned want = max_connections > 1024 ? max_connections : 1024;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = (unsigned)rl.rlim_max;
    if (rl.rlim_cur != want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            mst__log_warn("cannot set the open-file limit to %u (%s): connections are found more slowly", want,
                          strerror(errno));
    }
    return want;
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
    unsigned fds = fd_table_size(o->max_connections);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    if (o->tls_cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.user = h;
    info.fd_limit_per_thread = fds;
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
    if (o->tls_cert && o->tls_client_ca) {
        /* OCPP security profile 3: a client certificate is asked for and
         * verified, but not required, so a browser without one still gets
         * the pages; a certificate that does not verify ends the TLS
         * handshake (mst__ws_on_client_cert) */
        free(h->tls_client_ca);
        h->tls_client_ca = mst__xstrdup(o->tls_client_ca);
        info.ssl_ca_filepath = h->tls_client_ca;
        info.options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                        LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
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
            req->responded = 1; /* mst__request_detach frees it */
        else
            mst__request_free(req);
    }
    mst__ws_clear(h); /* before lws closes the connections: no handler runs */
    mst__ws_ping_close(h);
    /* On a foreign loop this only begins: lws finishes once the loop has
     * run its handles' close callbacks (see mst__http_finish). */
    if (h->ctx)
        lws_context_destroy(h->ctx);
    mst__routes_clear(&h->routes);
    mst__static_mounts_clear(&h->statics);
    mst__static_cache_free(&h->static_cache);
}

void mst__http_free(struct mst__http *h)
{
    for (size_t i = 0; i < h->n_protocols; i++)
        free((char *)h->protocols[i].name);
    free(h->protocols);
    h->protocols = NULL;
    free(h->tls_client_ca);
    h->tls_client_ca = NULL;
    h->n_protocols = 0;
    mst__static_mounts_free(&h->statics);
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
    return mst__routes_add(&h->routes, owner, method, path, role, cb, arg);
}

int mst__http_static(struct mst__http *h, void *owner, const char *instance, const char *plugin,
                     const char *prefix, const char *dir, const char *www_dir,
                     const struct mst_http_static_opts *opts, struct mst__buf *why)
{
    return mst__static_mounts_add(&h->statics, owner, instance, plugin, prefix, dir, www_dir, opts, why);
}

int mst__http_has_route(struct mst__http *h, const char *method, const char *path)
{
    struct mst__route_match m;
    mst__routes_match(&h->routes, method, path, &m);
    mst__route_match_free(&m);
    return m.route != NULL;
}

void mst__http_drop_owner(struct mst__http *h, void *owner)
{
    mst__routes_drop_owner(&h->routes, owner);
    mst__ws_drop_owner(h, owner);
    mst__static_mounts_drop_owner(&h->statics, owner);
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &h->pending)
    {
        mst_http_request *req = mst__container_of(pos, mst_http_request, link);
        if (req->owner == owner)
            mst__http_error(req, 503, "the plugin instance serving this route stopped");
    }
}
