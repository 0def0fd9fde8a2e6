/*
 * mestys/host.h - the services the daemon lends a plugin.
 *
 * init() receives `const struct mst_host *host`.  Plugins call the daemon only
 * through this table and never link against daemon symbols.  The table is
 * append-only: new functions go at the end, and a plugin that needs one checks
 * `host->struct_size` first (MST_HOST_HAS(host, field)).
 *
 * Threading: every callback runs on the daemon's single loop thread, except a
 * work function passed to queue_work, which runs on a worker thread and must
 * not call the host (script_call excepted, see there).  A plugin never needs
 * a lock for its own state.
 *
 * Ownership: strings and buffers handed to a callback are valid only during
 * that callback; copy what you keep.  Strings returned by the host are owned by
 * the host unless the comment says "free with host->free".
 */
#ifndef MESTYS_HOST_H
#define MESTYS_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "plugin.h"

struct sqlite3;
struct sockaddr;

typedef struct mst_timer mst_timer;
typedef struct mst_request mst_request;
typedef struct mst_http_request mst_http_request;
typedef struct mst_ws_conn mst_ws_conn;
typedef struct mst_metric mst_metric;
typedef struct mst_udp mst_udp;
typedef struct mst_script mst_script;

enum mst_log_level {
    MST_LOG_ERROR = 0,
    MST_LOG_WARN,
    MST_LOG_INFO,
    MST_LOG_DEBUG,
};

/* Who may call an HTTP route: the request's bearer token must carry at least
 * this role.  PUBLIC routes need no token. */
enum mst_role {
    MST_ROLE_PUBLIC = 0,
    MST_ROLE_OPERATOR = 1,
    MST_ROLE_ADMIN = 2,
};

enum mst_metric_kind {
    MST_METRIC_COUNTER = 1,
    MST_METRIC_GAUGE,
    MST_METRIC_HISTOGRAM,
};

/* A bus event.  topic and body are valid during the call only. */
typedef void (*mst_message_cb)(void *arg, const char *topic, const char *body, size_t len);
/* A reply to request(): status 0 with the server's body, or a negative
 * MST_E* code (MST_ETIMEDOUT, MST_ENOSERVER, MST_EPLUGIN with a JSON error). */
typedef void (*mst_reply_cb)(void *arg, int status, const char *body, size_t len);
/* A request to a served topic.  Answer it, now or later, with respond(). */
typedef void (*mst_serve_cb)(void *arg, mst_request *req, const char *topic, const char *body,
                             size_t len);
typedef void (*mst_timer_cb)(void *arg);
/* Runs on a worker thread: no host calls, no loop state. */
typedef void (*mst_work_cb)(void *arg);
/* Back on the loop thread: status 0, or MST_ECLOSED if cancelled at shutdown. */
typedef void (*mst_after_work_cb)(void *arg, int status);
/* An HTTP request.  Answer it, now or later, with http_respond(). */
typedef void (*mst_http_cb)(void *arg, mst_http_request *req);
/* A datagram; data and from are valid during the call only. */
typedef void (*mst_udp_cb)(void *arg, mst_udp *sock, const void *data, size_t len,
                           const struct sockaddr *from);

/* What a WebSocket endpoint's handshake hook sees, before the upgrade.
 * Every string is valid during the hook only. */
struct mst_ws_handshake {
    uint32_t struct_size;
    const char *path;          /* the request path, e.g. "/api/charging/ocpp/CP-1" */
    const char *subpath;       /* what the endpoint's last "*" segment matched: "CP-1" ("" if none) */
    const char *subprotocol;   /* the subprotocol the endpoint was registered with, or NULL */
    const char *authorization; /* the Authorization header as sent, or NULL */
    const char *peer;          /* the client's address, as http_peer gives it */
    int tls;                   /* 1 over TLS */
    const char *client_cn;     /* subject CN of the TLS client certificate, only if it verified against
                                  node.http.tls.client_ca; NULL otherwise */
};

/* A WebSocket endpoint's callbacks.  A connection's life: handshake (if
 * given), then open, message..., close.  close() is called exactly once for
 * every connection whose handshake was accepted -- also when the client goes
 * away before open() (then open() never came: free what the hook put in
 * *conn_data).  After close() returns, conn is gone; ws_close() and ws_send()
 * on a connection that is closing are safe (ws_send says MST_ECLOSED).  When
 * the instance stops, close() runs for each of its connections after stop()
 * and before fini(). */
struct mst_ws_handlers {
    uint32_t struct_size;
    void (*open)(void *arg, mst_ws_conn *conn, const char *path);
    void (*message)(void *arg, mst_ws_conn *conn, const void *data, size_t len, int binary);
    void (*close)(void *arg, mst_ws_conn *conn);
    /* Before the upgrade, after the core's role check (a PUBLIC endpoint
     * skips it).  Return 0 to accept, or an HTTP status (400..599) that the
     * client gets instead of the upgrade (with a short text/plain reason);
     * refusals are counted per status in /metrics.  *conn_data (NULL on
     * entry) is handed to the connection: host->ws_data(conn) returns it in
     * open/message/close.  On a refusal the core ignores *conn_data. */
    int (*handshake)(void *arg, const struct mst_ws_handshake *hs, void **conn_data);
    void *reserved[3];
};

/* Options of http_static; NULL for the defaults. */
struct mst_http_static_opts {
    uint32_t struct_size; /* sizeof(struct mst_http_static_opts) */
    /* Extra origins allowed in the CSP's img-src of EVERY page the daemon
     * serves (the map's tile server), space-separated, e.g.
     * "https://tile.openstreetmap.org"; NULL for none.  Each is a scheme
     * ("https:") or an origin ("https://a.tile.example.org:8443", "*." for
     * subdomains allowed); anything else is MST_EINVAL. */
    const char *img_src;
};

struct mst_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* --- the instance ------------------------------------------------- */
    const char *(*instance_name)(mst_instance *inst);
    const char *(*node_name)(mst_instance *inst);
    /* The instance's own directory under node.state_dir, created on demand. */
    const char *(*state_dir)(mst_instance *inst);
    /* Milliseconds of the loop clock (monotonic). */
    uint64_t (*now_ms)(mst_instance *inst);
    void (*free)(void *ptr);

    /* --- log ---------------------------------------------------------- */
    void (*log)(mst_instance *inst, enum mst_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    void (*vlog)(mst_instance *inst, enum mst_log_level level, const char *fmt, va_list ap);

    /* --- config ------------------------------------------------------- *
     * Paths are dotted with [i] for array items: "gateways[0].name".
     * Defaults from the schema are already filled in. */
    const char *(*config_string)(mst_instance *inst, const char *path);
    int (*config_int)(mst_instance *inst, const char *path, int64_t *out);
    int (*config_number)(mst_instance *inst, const char *path, double *out);
    int (*config_bool)(mst_instance *inst, const char *path, int *out);
    /* Number of items of an array, or members of an object; 0 if absent. */
    size_t (*config_count)(mst_instance *inst, const char *path);
    /* The subtree as JSON text ("" path: the whole config); free with host->free. */
    char *(*config_json)(mst_instance *inst, const char *path);

    /* --- bus ---------------------------------------------------------- *
     * Topics are slash-separated nouns; a pattern is a topic, "prefix/#" or
     * "#".  The core refuses (MST_EACCES) what the plugin did not declare. */
    int (*publish)(mst_instance *inst, const char *topic, const void *body, size_t len);
    int (*subscribe)(mst_instance *inst, const char *pattern, mst_message_cb cb, void *arg);
    int (*unsubscribe)(mst_instance *inst, const char *pattern);
    int (*request)(mst_instance *inst, const char *topic, const void *body, size_t len,
                   uint32_t timeout_ms, mst_reply_cb cb, void *arg);
    int (*serve)(mst_instance *inst, const char *topic, mst_serve_cb cb, void *arg);
    /* status 0: body is the answer; negative: body is a JSON error object. */
    int (*respond)(mst_request *req, int status, const void *body, size_t len);

    /* --- timers and work ---------------------------------------------- */
    int (*timer_start)(mst_instance *inst, uint64_t after_ms, uint64_t repeat_ms,
                       mst_timer_cb cb, void *arg, mst_timer **out);
    /* Stops and frees the timer; safe inside its own callback. */
    void (*timer_stop)(mst_timer *timer);
    int (*queue_work)(mst_instance *inst, mst_work_cb work, mst_after_work_cb after, void *arg);

    /* --- storage ------------------------------------------------------ *
     * Opens (creating) `file` in the state directory with WAL,
     * synchronous=NORMAL and a busy timeout, then runs migrations[v..] while
     * PRAGMA user_version is v.  migrations is NULL-terminated; entry i
     * moves the schema from version i to i+1.  Close with sqlite3_close(). */
    int (*db_open)(mst_instance *inst, const char *file, const char *const *migrations,
                   struct sqlite3 **out);

    /* --- HTTP and WebSocket ------------------------------------------- *
     * Routes live under /api/<instance>/; `path` is relative to that.  A
     * last segment of "*" takes every path below (e.g. "devices" + "/" + "*"). */
    int (*http_route)(mst_instance *inst, const char *method, const char *path,
                      enum mst_role role, mst_http_cb cb, void *arg);
    const char *(*http_method)(mst_http_request *req);
    const char *(*http_path)(mst_http_request *req);
    /* The part of the path the "*" segment of the route matched ("" if none). */
    const char *(*http_subpath)(mst_http_request *req);
    /* The query string without '?', "" if none, percent-encoded in a
     * canonical form ("a=1&b=x%20y"); http_query_param decodes for you. */
    const char *(*http_query)(mst_http_request *req);
    /* A request header by case-insensitive name, NULL if absent. */
    const char *(*http_header)(mst_http_request *req, const char *name);
    const void *(*http_body)(mst_http_request *req, size_t *len);
    /* Adds a response header; call before http_respond. */
    int (*http_set_header)(mst_http_request *req, const char *name, const char *value);
    /* Sends the whole response and releases req.  Call exactly once. */
    int (*http_respond)(mst_http_request *req, int status, const char *content_type,
                        const void *body, size_t len);
    /* `path` as for http_route: "ocpp" + "/" + "*" takes /api/<instance>/ocpp/<anything>
     * (the handshake hook sees <anything> as subpath). */
    int (*ws_endpoint)(mst_instance *inst, const char *path, const char *subprotocol,
                       enum mst_role role, const struct mst_ws_handlers *handlers, void *arg);
    /* Queues a frame; MST_ECLOSED once the connection is closing, MST_EAGAIN
     * when the connection already holds more unsent than twice its
     * endpoint's largest message (at least 1 MiB): the peer is not reading. */
    int (*ws_send)(mst_ws_conn *conn, const void *data, size_t len, int binary);
    /* Closes after the queued frames (1000).  Safe on any of the endpoint's
     * connections from any callback, e.g. the older connection of a station
     * from the newer one's open(); that connection's close() runs later,
     * once, from the loop. */
    void (*ws_close)(mst_ws_conn *conn);

    /* --- metrics ------------------------------------------------------ *
     * `name` may carry labels: "frames_total{reason=\"mic\"}".  The core
     * prefixes "mestys_" and adds plugin and instance labels. */
    int (*metric)(mst_instance *inst, enum mst_metric_kind kind, const char *name,
                  const char *help, mst_metric **out);
    void (*metric_add)(mst_metric *m, double delta);
    void (*metric_set)(mst_metric *m, double value);
    void (*metric_observe)(mst_metric *m, double value);

    /* --- appended (still ABI 1) ------------------------------------------ */
    /* A query parameter, decoded; the first if repeated; NULL if absent. */
    const char *(*http_query_param)(mst_http_request *req, const char *name);

    /* UDP on the loop (recvmmsg underneath).  address "0.0.0.0", "::" or
     * an interface address; rcvbuf the kernel receive buffer in bytes (0:
     * the system's).  Sockets close with the instance, or udp_close. */
    int (*udp_bind)(mst_instance *inst, const char *address, uint16_t port, size_t rcvbuf,
                    mst_udp_cb cb, void *arg, mst_udp **out);
    int (*udp_send)(mst_udp *sock, const struct sockaddr *to, const void *data, size_t len);
    void (*udp_close)(mst_udp *sock);
    /* The port a socket is bound to (useful after binding port 0). */
    int (*udp_port)(mst_udp *sock);

    /* Lua scripts a C plugin runs for its users (payload decoders): each
     * in its own sandbox with the instance's instruction budget per call
     * and memory cap (node.lua / plugins[].lua).  `path` is relative to
     * the SDK's lua/ folder or to the config file's folder and stays in it:
     * an absolute path or ".." is MST_EINVAL, a symbolic link that leads
     * out MST_EACCES, a missing file MST_ENOENT.  The script's top level
     * runs once, at open. */
    int (*script_open)(mst_instance *inst, const char *path, mst_script **out);
    /* Calls the global `function` with the JSON value decoded to Lua, and
     * gives back its result as JSON (free with host->free).  On error the
     * result is {"error": "..."} and the return MST_ETIMEDOUT (budget),
     * MST_ENOMEM (memory cap) or MST_EPLUGIN (the script failed).
     * The one host call allowed in a queue_work function: a script is its
     * own Lua state, so it may run on a worker thread, as long as only one
     * thread uses a given script at a time. */
    int (*script_call)(mst_script *script, const char *function, const char *json, size_t len,
                       char **result);
    void (*script_close)(mst_script *script);

    /* The address the request came from ("192.0.2.7", "2001:db8::1"), as
     * the socket says: behind a proxy, that is the proxy. */
    const char *(*http_peer)(mst_http_request *req);

    /* What the endpoint's handshake hook put in *conn_data, or what
     * ws_set_data stored last; NULL if neither. */
    void *(*ws_data)(mst_ws_conn *conn);
    void (*ws_set_data)(mst_ws_conn *conn, void *data);
    /* Limits of an endpoint registered by ws_endpoint (same inst and path):
     * the largest message accepted (bigger: the connection is closed with
     * 1009 and counted, as soon as a frame's length says so -- it is never
     * buffered whole), and a ping every ping_s seconds; a connection that
     * answers no ping within ping_s is closed (close() called).  0 keeps the
     * core's default: node.http.body_limit, and no pings.  Applies to
     * connections opened afterwards.  MST_ENOENT if no such endpoint. */
    int (*ws_endpoint_limits)(mst_instance *inst, const char *path, size_t max_message, unsigned ping_s);

    /* The role the request's bearer token grants: what a PUBLIC route shows
     * more to an operator (no token, or one the node does not know, is
     * MST_ROLE_PUBLIC). */
    enum mst_role (*http_role)(mst_http_request *req);

    /* Serves the files under folder `dir` at "/<prefix>/..." ("" or "/": at
     * "/"; only one instance may take "/").  `prefix` is one or more
     * segments of [A-Za-z0-9._-] not starting with '.', and not "api".  A
     * relative `dir` is looked up in the daemon's www folder (build tree:
     * build/www/<dir>; installed: <prefix>/share/mestys/www/<dir>); an
     * absolute one is used as is.  GET and HEAD only; every file is public.
     * Routes registered with http_route win over files.  The core answers
     * with the content type from the extension, a strong ETag (304 on
     * If-None-Match), gzip for text when the client takes it,
     * Cache-Control: no-cache and the daemon's Content-Security-Policy
     * (docs/http.md).  "/p/" answers "/p/index.html", a folder without its
     * slash is 301; no listing, dotfiles, ".." or symbolic links leading
     * out of the folder: 404.  The mount ends with the instance.  Returns
     * 0, MST_EEXIST (prefix taken), MST_EINVAL (prefix, dir or img_src
     * malformed), MST_ENOENT (no such folder). */
    int (*http_static)(mst_instance *inst, const char *prefix, const char *dir,
                       const struct mst_http_static_opts *opts);

    /* What is wrong with the instance while it keeps running (e.g. "PostgreSQL
     * unreachable: connection refused"), shown in /health as the instance's
     * "problem" with the node "degraded"; NULL (or "") clears it.  The text is
     * copied.  Call it when the state changes, not per message: it is a state,
     * not a log line. */
    int (*health_set)(mst_instance *inst, const char *problem);

    void *reserved[10];
};

#define MST_HOST_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(struct mst_host, field) + sizeof((host)->field))

/* A plugin's metrics as a table, registered at once by mst_metrics_register. */
struct mst_metric_def {
    enum mst_metric_kind kind;
    const char *name;
    const char *help;
    mst_metric **out;
};

/* Registers each metric in order and stops at the first error, which it
 * returns as it came: error codes are negative numbers, and OR-ing two of
 * them gives a third that means something else (-5 | -2 == -1).  Header-only,
 * so a plugin needs no daemon symbol for it. */
static inline int mst_metrics_register(const struct mst_host *host, mst_instance *inst,
                                       const struct mst_metric_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = host->metric(inst, defs[i].kind, defs[i].name, defs[i].help, defs[i].out);
        if (rc != 0)
            return rc;
    }
    return 0;
}

#endif /* MESTYS_HOST_H */
