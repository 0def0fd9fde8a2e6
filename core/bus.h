/* bus.h - the message bus: nng pub/sub for events, req/rep for queries.
 *
 * Inside a node, events go through an inproc pub socket to an inproc sub
 * socket whose completions reach the loop through a mailbox; other nodes
 * join through the `bus.listen` URLs and `bus.peers`.  A message is
 * topic "\0" body.  A reply is "<status>\0" body, status 0 or an MST_E code.
 * A request to a topic served on this node does not touch nng: the loop
 * hands it over (bus_local.c). */
#ifndef MST__BUS_H
#define MST__BUS_H

#include <nng/nng.h>
#include <stdatomic.h>
#include <uv.h>

#include <mestys/host.h>

#include "list.h"
#include "mailbox.h"
#include "metrics.h"
#include "strmap.h"

struct mst__bus_opts {
    const char *node_name;
    const char *const *events_listen;
    size_t n_events_listen;
    const char *const *queries_listen;
    size_t n_queries_listen;
    const char *const *peer_events;
    size_t n_peer_events;
    const char *const *peer_queries;
    size_t n_peer_queries;
    size_t queue_depth;
    uint32_t request_timeout_ms;
    size_t max_message;
};

#define MST__REP_CONTEXTS 32
#define MST__MAX_REQUESTS 1024

struct mst__rep_ctx;
struct mst__topic_stats;
struct mst__local_op;

struct mst__server {
    void *owner;
    mst_serve_cb cb;
    void *arg;
};

/* A query a plugin serves: from nng (rc) or from this node (local). */
struct mst_request {
    struct mst__list link; /* bus->serving */
    struct mst__rep_ctx *rc;
    struct mst__local_op *local; /* NULL once the requester stopped waiting */
    void *owner;
};

struct mst__bus {
    uv_loop_t *loop;
    struct mst__metrics *metrics;
    struct mst__mailbox mailbox;
    nng_socket pub, local_sub, remote_sub, rep, remote_req;
    nng_aio *local_sub_aio, *remote_sub_aio;
    int has_remote_sub, has_remote_req;
    struct mst__rep_ctx *rep_ctx;
    atomic_int closing;
    atomic_int local_pipe_ready;
    nng_listener inproc_listener;

    struct mst__list subs;    /* struct mst__sub */
    struct mst__list garbage; /* unsubscribed while dispatching */
    int dispatching;
    struct mst__strmap servers; /* topic -> struct mst__server */
    struct mst__list requests;  /* struct mst__req_op in flight */
    struct mst__list serving;   /* struct mst_request handed to plugins */
    struct mst__list local_ops; /* bus_local.c: requests served on this node */
    struct mst__list local_due; /* ... waiting for the next loop turn */
    uv_idle_t local_idle;
    uv_timer_t local_timer;
    uint64_t local_timer_at;    /* the deadline local_timer is set for, 0 if none */
    size_t n_requests;
    size_t in_flight; /* local events published, not yet delivered */
    size_t queue_depth;
    uint32_t request_timeout_ms;
    size_t max_message;
    struct mst__strmap topics; /* topic -> struct mst__topic_stats */
    struct mst_metric *queue_gauge;
    struct mst_metric *remote_dropped;
    char *inproc_events;
};

int mst__bus_init(struct mst__bus *bus, uv_loop_t *loop, struct mst__metrics *metrics,
                  const struct mst__bus_opts *opts, char *err, size_t errlen);
/* Stops every socket; pending requests are answered MST_ECLOSED.  The
 * mailbox handle closes on the next loop turn. */
void mst__bus_close(struct mst__bus *bus);

/* `owner` identifies who registered what, so it can all be dropped at once. */
int mst__bus_publish(struct mst__bus *bus, const char *topic, const void *body, size_t len);
int mst__bus_subscribe(struct mst__bus *bus, void *owner, const char *pattern, mst_message_cb cb,
                       void *arg, struct mst_metric *delivered);
int mst__bus_unsubscribe(struct mst__bus *bus, void *owner, const char *pattern);
int mst__bus_serve(struct mst__bus *bus, void *owner, const char *topic, mst_serve_cb cb, void *arg);
int mst__bus_request(struct mst__bus *bus, void *owner, const char *topic, const void *body,
                     size_t len, uint32_t timeout_ms, mst_reply_cb cb, void *arg);
int mst__bus_respond(mst_request *req, int status, const void *body, size_t len);
/* Drops owner's subscriptions and servers, forgets its requests, answers
 * what it was serving with MST_ECLOSED. */
void mst__bus_drop_owner(struct mst__bus *bus, void *owner);

/* The body of an error reply: {"error": why, "code": "MST_E..."}. */
struct mst__buf;
void mst__bus_error_body(struct mst__buf *b, int status, const char *why);

/* bus_local.c: requests to a server on this node, handed over by the loop. */
void mst__bus_local_init(struct mst__bus *bus);
void mst__bus_local_close(struct mst__bus *bus);
int mst__bus_local_request(struct mst__bus *bus, void *owner, const char *topic, const void *body, size_t len,
                           uint32_t timeout_ms, mst_reply_cb cb, void *arg);
void mst__bus_local_respond(struct mst_request *req, int status, const void *body, size_t len);
void mst__bus_local_fail(struct mst_request *req, int status, const char *why);
void mst__bus_local_drop_owner(struct mst__bus *bus, void *owner);

/* Counts a refusal (ACL or bad topic) against a topic in /metrics. */
void mst__bus_count_refused(struct mst__bus *bus, const char *topic, const char *reason);

#endif
