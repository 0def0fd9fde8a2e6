/* http_internal.h - what the files of the HTTP server share: a request as
 * copied out of libwebsockets, a WebSocket connection, lws's per-connection
 * session, and the calls between the files.  Core-internal. */
#ifndef MST__HTTP_INTERNAL_H
#define MST__HTTP_INTERNAL_H

#include <libwebsockets.h>

#include "http.h"
#include "http_chunked.h"
#include "http_route.h"

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
    size_t head_length;       /* HEAD: the Content-Length a GET would have */
    int close_after;
    int body_too_large;
    int chunked;              /* the body comes in chunks, decoded here */
    struct mst__chunked chunks;
    const char *nul_header;   /* a header holding a NUL byte: refused */
    struct mst__route *route;
    uint64_t start_ns;
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
    size_t max_message; /* 0: node.http.body_limit */
    unsigned ping_s;    /* 0: no pings */
    unsigned logged;    /* WS_LOGGED_* already said once */
    struct mst__list ping_due; /* its connections, soonest ping first (http_ws_ping.c) */
};

#define WS_LOGGED_TOO_LARGE 1u
#define WS_LOGGED_NO_PONG 2u
#define WS_LOGGED_BAD_HOOK 4u

/* Made when the upgrade is accepted (lws's opaque user data carries it to
 * the established connection), freed after its close() has run. */
struct mst_ws_conn {
    struct mst__list link; /* in h->ws_conns */
    struct mst__http *h;
    struct lws *wsi;
    struct ws_endpoint *ep; /* NULL once the owner dropped it */
    void *data;             /* the plugin's: from the handshake hook or ws_set_data */
    struct mst__list outq;
    size_t queued; /* bytes in outq */
    struct mst__buf rx;
    int established;  /* open() has been called */
    int closing;      /* ws_close() asked for it, or the core is closing it */
    int want_ping;    /* a ping goes out at the next writeable */
    int ping_unanswered; /* sent, no pong yet */
    int no_pong;      /* the ping schedule found it silent: closed from the timer */
    struct mst__list ping_link; /* in ep->ping_due while it is pinged */
    uint64_t ping_at;           /* uv_now() ms when its next ping is due */
};

struct session {
    mst_http_request *req;
    mst_ws_conn *ws;
    int refused; /* a request line lws could not parse: answered 501 */
};

/* http_request.c: a request copied out of lws, its body read in */
mst_http_request *mst__request_new(struct mst__http *h, struct lws *wsi, const char *uri);
void mst__request_free(mst_http_request *req);
/* Reads the next piece of the body; the request may be answered meanwhile
 * (413, 400).  Returns 1 once the whole body is in and acceptable. */
int mst__request_body(struct mst__http *h, mst_http_request *req, const void *in, size_t len);
/* The body is complete: 0 if the route may have it, else answered (400). */
int mst__request_check_body(struct mst__http *h, mst_http_request *req);
/* The client went away: freed now, or when its handler answers. */
void mst__request_detach(struct session *s);
/* A header's value, NUL-terminated; *len is its whole length (it may
 * hold a NUL byte).  NULL if absent. */
char *mst__lws_header(struct lws *wsi, enum lws_token_indexes t, size_t *len);

/* http_response.c: answers written to lws */
void mst__response_count(struct mst__http *h, int status, uint64_t start_ns);
/* Returns -1 to close the connection, 0 to keep it. */
int mst__response_write(struct session *s);
/* Writes an answer given while lws is still in the request's callback. */
int mst__response_write_now(struct session *s);
/* The JSON 501 for a request line lws could not parse; returns -1 (close). */
int mst__response_raw_501(struct mst__http *h, struct lws *wsi);

/* http_auth.c: bearer tokens */
/* The role auth (auth_len bytes, all compared) grants, or MST__ROLE_NO_TOKEN
 * / MST__ROLE_UNKNOWN_TOKEN. */
int mst__http_token_role(struct mst__http *h, const char *auth, size_t auth_len);
/* 0 if allowed; otherwise answers 401/403 and returns -1. */
int mst__http_authorize(struct mst__http *h, mst_http_request *req, enum mst_role need);

/* http_ws_upgrade.c: the upgrade, accepted or refused with an HTTP status */
/* Returns what lws's CONFIRM_UPGRADE callback returns: 0 to go on (a
 * connection is made and tied to wsi), 1 after writing a refusal. */
int mst__ws_on_confirm(struct mst__http *h, struct lws *wsi);
int mst__ws_on_filter(struct lws *wsi);
/* The TLS client certificate: OpenSSL's verdict stands (0: accept). */
int mst__ws_on_client_cert(int preverify_ok);
/* The vhost's SSL_CTX: the CAs of node.http.tls.client_ca are named to
 * clients, so a browser is not asked for an unrelated certificate. */
int mst__ws_on_load_verify(struct mst__http *h, void *ssl_ctx);

/* http_ws.c: WebSocket endpoints and connections */
/* A connection for an accepted upgrade (not yet in a session). */
mst_ws_conn *mst__ws_conn_new(struct mst__http *h, struct lws *wsi, struct ws_endpoint *ep, void *data);
int mst__ws_on_established(struct mst__http *h, struct session *s, struct lws *wsi);
int mst__ws_on_receive(struct mst__http *h, mst_ws_conn *c, struct lws *wsi, const void *in, size_t len);
int mst__ws_on_writeable(mst_ws_conn *c);
int mst__ws_on_timer(mst_ws_conn *c);
void mst__ws_on_pong(mst_ws_conn *c);
void mst__ws_on_closed(struct session *s);
/* lws is freeing wsi: a connection whose upgrade never completed ends here. */
void mst__ws_on_destroy(struct lws *wsi);
void mst__ws_drop_owner(struct mst__http *h, void *owner);
/* http_ws_ping.c: the ping schedule, one loop timer for all connections */
/* c is pinged every c->ep->ping_s seconds from now on (ping_s > 0). */
void mst__ws_ping_join(struct mst__http *h, mst_ws_conn *c);
/* No more pings for c; a no-op if it has none. */
void mst__ws_ping_leave(mst_ws_conn *c);
/* At close: the timer's handle is closed (no connection is pinged any more). */
void mst__ws_ping_close(struct mst__http *h);
/* At close: connections forget their endpoints, which are freed. */
void mst__ws_clear(struct mst__http *h);

#endif
