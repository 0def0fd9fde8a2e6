/* http.h - the daemon's HTTP/1.1 and WebSocket server: libwebsockets on
 * the daemon's own libuv loop.  Routes carry a role; the core checks the
 * bearer token before a plugin sees the request. */
#ifndef MST__HTTP_H
#define MST__HTTP_H

#include <uv.h>

#include <mestys/host.h>

#include "http_route.h"
#include "http_static_cache.h"
#include "http_static_mount.h"
#include "list.h"
#include "metrics.h"
#include "util.h"

struct lws_context;
struct lws_vhost;
struct lws_protocols;
struct mst__token;

struct mst__http_opts {
    const char *listen; /* "host:port" */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_client_ca; /* PEM CAs client certificates are verified against, or NULL */
    size_t body_limit;
    unsigned max_connections;
};

struct mst__http {
    uv_loop_t *loop;
    struct mst__metrics *metrics;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols *protocols;
    size_t n_protocols;
    struct mst__routes routes;
    struct mst__list ws_endpoints;
    struct mst__list pending;  /* requests handed to a route, not answered */
    mst_http_request *answering; /* the request whose LWS_CALLBACK_HTTP is running */
    struct mst__list ws_conns;
    const struct mst__token *tokens;
    size_t n_tokens;
    size_t body_limit;
    int port; /* the port actually bound */
    char listen_ip[64]; /* lws keeps a pointer to its iface string */
    uint64_t started_ns;
    struct mst_metric *too_large, *unauthorized, *bad_requests, *bad_utf8;
    struct mst_metric *ws_too_large, *ws_no_pong, *ws_open, *ws_queue_full;
    char *tls_client_ca; /* read by lws when the vhost is made */
    unsigned ws_logged; /* refusals of the core's own already logged once */
    uv_timer_t ping_timer; /* http_ws_ping.c: ticks while a connection is pinged */
    int ping_timer_init;
    size_t ping_joined;    /* connections on the endpoints' ping_due lists */
    struct mst__static_mounts statics;    /* folders plugins mounted (http_static.c) */
    struct mst__static_cache static_cache; /* their files' bytes, gzip and ETags */
};

/* Creates the libwebsockets context on loop (no listening yet). */
int mst__http_init(struct mst__http *h, uv_loop_t *loop, struct mst__metrics *metrics);
/* Starts listening with every WebSocket subprotocol registered so far. */
int mst__http_listen(struct mst__http *h, const struct mst__http_opts *o, char *err, size_t errlen);
void mst__http_set_tokens(struct mst__http *h, const struct mst__token *tokens, size_t n);
void mst__http_set_body_limit(struct mst__http *h, size_t limit);
/* Destroys the context; its handles close on the next loop turns. */
void mst__http_close(struct mst__http *h);
/* After the loop has run dry: completes the context's destruction if lws
 * still holds it.  Returns 1 if there was something to finish. */
int mst__http_finish(struct mst__http *h);
/* Frees what lws needed to the very end (protocol names); after finish. */
void mst__http_free(struct mst__http *h);

/* `path` is absolute; a last segment "*" makes it a prefix route. */
int mst__http_route(struct mst__http *h, void *owner, const char *method, const char *path,
                    enum mst_role role, mst_http_cb cb, void *arg);
/* Whether a route takes method on path (e.g. GET /api/<instance>/datasets). */
int mst__http_has_route(struct mst__http *h, const char *method, const char *path);
int mst__http_ws_endpoint(struct mst__http *h, void *owner, const char *path,
                          const char *subprotocol, enum mst_role role,
                          const struct mst_ws_handlers *handlers, void *arg);
/* Mounts a folder for owner (host->http_static); see mst__static_mounts_add. */
int mst__http_static(struct mst__http *h, void *owner, const char *instance, const char *plugin,
                     const char *prefix, const char *dir, const char *www_dir,
                     const struct mst_http_static_opts *opts, struct mst__buf *why);
/* Removes owner's routes, endpoints and mounts; its unanswered requests get 503,
 * its WebSocket connections are closed. */
void mst__http_drop_owner(struct mst__http *h, void *owner);

const char *mst__http_method(mst_http_request *req);
const char *mst__http_path(mst_http_request *req);
const char *mst__http_subpath(mst_http_request *req);
const char *mst__http_query(mst_http_request *req);
const char *mst__http_peer(mst_http_request *req);
/* The role the request's bearer token grants (MST_ROLE_PUBLIC without a known one). */
enum mst_role mst__http_role(mst_http_request *req);
const char *mst__http_header(mst_http_request *req, const char *name);
const char *mst__http_query_param(mst_http_request *req, const char *name);
/* The i-th query parameter, decoded; -1 past the last. */
int mst__http_param_at(mst_http_request *req, size_t i, const char **name, const char **value);
const void *mst__http_body(mst_http_request *req, size_t *len);
int mst__http_set_header(mst_http_request *req, const char *name, const char *value);
int mst__http_respond(mst_http_request *req, int status, const char *content_type,
                      const void *body, size_t len);
/* A JSON error: {"error": message, "status": status} (mst__http_error_body). */
int mst__http_error(mst_http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An endpoint's limits (see ws_endpoint_limits in host.h); MST_ENOENT if
 * owner registered no endpoint at path. */
int mst__http_ws_limits(struct mst__http *h, void *owner, const char *path, size_t max_message,
                        unsigned ping_s);

int mst__ws_send(mst_ws_conn *conn, const void *data, size_t len, int binary);
void mst__ws_close(mst_ws_conn *conn);
void *mst__ws_data(mst_ws_conn *conn);
void mst__ws_set_data(mst_ws_conn *conn, void *data);

#endif
