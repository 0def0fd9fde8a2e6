#include "bus.h"

#include <nng/protocol/pubsub0/pub.h>
#include <nng/supplemental/util/platform.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "topic.h"
#include "util.h"

enum letter_kind { L_LOCAL_EVENT = 1, L_REMOTE_EVENT, L_QUERY, L_REPLY };

struct mst__sub {
    struct mst__list link;
    void *owner;
    char *pattern;
    mst_message_cb cb;
    void *arg;
    struct mst_metric *delivered;
    int dead;
};

struct mst__topic_stats {
    struct mst_metric *messages, *bytes, *backpressure, *dropped, *received;
};

/* A context of the rep socket: RECV (waiting for a query) -> SERVE (a
 * plugin holds it) -> SEND (the reply is on its way) -> RECV. */
struct mst__rep_ctx {
    struct mst__bus *bus;
    nng_ctx ctx;
    nng_aio *aio;
    enum { REP_RECV, REP_SERVE, REP_SEND } state;
};

/* An outgoing request: SEND -> RECV -> done (posted to the loop). */
struct mst__req_op {
    struct mst__list link;
    struct mst__bus *bus;
    nng_ctx ctx;
    nng_aio *aio;
    void *owner;
    mst_reply_cb cb;
    void *arg;
    int sending;
};

static struct mst__topic_stats *topic_stats(struct mst__bus *bus, const char *topic)
{
    struct mst__topic_stats *ts = mst__strmap_get(&bus->topics, topic);
    if (ts)
        return ts;
    ts = mst__xcalloc(1, sizeof *ts);
    char *labels = mst__xasprintf("topic=\"%s\"", topic);
    mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_messages_total",
                     "events published on this node, per topic", labels, &ts->messages);
    mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_bytes_total",
                     "event body bytes published on this node, per topic", labels, &ts->bytes);
    mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_backpressure_total",
                     "publishes refused with MST_EAGAIN because the queue was full", labels,
                     &ts->backpressure);
    mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_dropped_total",
                     "events the transport would not take", labels, &ts->dropped);
    mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_received_total",
                     "events received from other nodes, per topic", labels, &ts->received);
    free(labels);
    mst__strmap_put(&bus->topics, topic, ts);
    return ts;
}

void mst__bus_count_refused(struct mst__bus *bus, const char *topic, const char *reason)
{
    struct mst_metric *m;
    char *labels = mst__xasprintf("topic=\"%s\",reason=\"%s\"",
                                  mst__valid_topic(topic) ? topic : "(invalid)", reason);
    if (mst__metrics_get(bus->metrics, MST_METRIC_COUNTER, "mestys_bus_refused_total",
                         "bus calls refused by the core, per topic and reason", labels, &m) == 0)
        mst__metric_add(m, 1);
    free(labels);
}

/* --- nng callbacks: nng's threads; post and re-arm, nothing else ------- */

static void on_sub_recv(struct mst__bus *bus, nng_socket sock, nng_aio *aio, int kind)
{
    if (nng_aio_result(aio) != 0)
        return; /* stopped or closed */
    mst__mailbox_post(&bus->mailbox, kind, nng_aio_get_msg(aio));
    if (!atomic_load(&bus->closing))
        nng_recv_aio(sock, aio);
}

static void on_local_sub(void *arg)
{
    struct mst__bus *bus = arg;
    on_sub_recv(bus, bus->local_sub, bus->local_sub_aio, L_LOCAL_EVENT);
}

static void on_remote_sub(void *arg)
{
    struct mst__bus *bus = arg;
    on_sub_recv(bus, bus->remote_sub, bus->remote_sub_aio, L_REMOTE_EVENT);
}

static void on_rep(void *arg)
{
    struct mst__rep_ctx *rc = arg;
    int rv = nng_aio_result(rc->aio);
    if (rc->state == REP_SEND) {
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(rc->aio));
        if (atomic_load(&rc->bus->closing))
            return;
        rc->state = REP_RECV;
        nng_ctx_recv(rc->ctx, rc->aio);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED && rv != NNG_ECANCELED && !atomic_load(&rc->bus->closing))
            nng_ctx_recv(rc->ctx, rc->aio);
        return;
    }
    rc->state = REP_SERVE;
    mst__mailbox_post(&rc->bus->mailbox, L_QUERY, rc);
}

static void on_req(void *arg)
{
    struct mst__req_op *op = arg;
    if (op->sending && nng_aio_result(op->aio) == 0) {
        op->sending = 0;
        nng_ctx_recv(op->ctx, op->aio);
        return;
    }
    if (op->sending)
        nng_msg_free(nng_aio_get_msg(op->aio));
    op->sending = 0;
    mst__mailbox_post(&op->bus->mailbox, L_REPLY, op);
}

/* --- the loop side ------------------------------------------------------ */

static void free_sub(struct mst__sub *s)
{
    free(s->pattern);
    free(s);
}

static void collect_garbage(struct mst__bus *bus)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->garbage)
    {
        mst__list_remove(pos);
        free_sub(mst__container_of(pos, struct mst__sub, link));
    }
}

static void deliver_event(struct mst__bus *bus, nng_msg *msg, int remote)
{
    const char *data = nng_msg_body(msg);
    size_t n = nng_msg_len(msg);
    const char *nul = memchr(data, '\0', n);
    if (!nul) {
        mst__bus_count_refused(bus, "(invalid)", "malformed");
        return;
    }
    const char *topic = data;
    const char *body = nul + 1;
    size_t len = n - (size_t)(body - data);
    if (remote)
        mst__metric_add(topic_stats(bus, topic)->received, 1);
    struct mst__list *pos;
    for (pos = bus->subs.next; pos != &bus->subs; pos = pos->next) {
        struct mst__sub *s = mst__container_of(pos, struct mst__sub, link);
        if (s->dead || !mst__topic_matches(s->pattern, topic))
            continue;
        mst__metric_add(s->delivered, 1);
        s->cb(s->arg, topic, body, len);
    }
}

static void reply_now(struct mst__rep_ctx *rc, int status, const void *body, size_t len)
{
    nng_msg *msg;
    char head[16];
    int hl = snprintf(head, sizeof head, "%d", status) + 1;
    if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, head, (size_t)hl) != 0 ||
        nng_msg_append(msg, body, len) != 0) {
        rc->state = REP_RECV;
        nng_ctx_recv(rc->ctx, rc->aio);
        return;
    }
    rc->state = REP_SEND;
    nng_aio_set_msg(rc->aio, msg);
    nng_ctx_send(rc->ctx, rc->aio);
}

void mst__bus_error_body(struct mst__buf *b, int status, const char *why)
{
    mst__buf_puts(b, "{\"error\":");
    mst__buf_json_string(b, why);
    mst__buf_printf(b, ",\"code\":\"%s\"}", mst_err_name(status));
}

static void reply_error(struct mst__rep_ctx *rc, int status, const char *why)
{
    struct mst__buf b = {0};
    mst__bus_error_body(&b, status, why);
    reply_now(rc, status, b.data, b.len);
    mst__buf_free(&b);
}

static void serve_query(struct mst__bus *bus, struct mst__rep_ctx *rc)
{
    nng_msg *msg = nng_aio_get_msg(rc->aio);
    nng_aio_set_msg(rc->aio, NULL);
    const char *data = nng_msg_body(msg);
    size_t n = nng_msg_len(msg);
    const char *nul = memchr(data, '\0', n);
    struct mst__server *srv = nul ? mst__strmap_get(&bus->servers, data) : NULL;
    if (!nul) {
        reply_error(rc, MST_EINVAL, "malformed request: no topic");
    } else if (!srv) {
        reply_error(rc, MST_ENOSERVER, "no one on this node serves this topic");
    } else {
        struct mst_request *req = mst__xcalloc(1, sizeof *req);
        req->rc = rc;
        req->owner = srv->owner;
        mst__list_push(&bus->serving, &req->link);
        srv->cb(srv->arg, req, data, nul + 1, n - (size_t)(nul + 1 - data));
    }
    nng_msg_free(msg);
}

static void finish_request(struct mst__bus *bus, struct mst__req_op *op)
{
    int rv = nng_aio_result(op->aio);
    nng_msg *msg = rv == 0 ? nng_aio_get_msg(op->aio) : NULL;
    mst__list_remove(&op->link);
    bus->n_requests--;
    if (op->cb) {
        if (rv != 0) {
            int status = rv == NNG_ETIMEDOUT ? MST_ETIMEDOUT : MST_ECLOSED;
            op->cb(op->arg, status, "", 0);
        } else {
            const char *data = nng_msg_body(msg);
            size_t n = nng_msg_len(msg);
            const char *nul = memchr(data, '\0', n);
            if (!nul)
                op->cb(op->arg, MST_EIO, "", 0);
            else
                op->cb(op->arg, atoi(data), nul + 1, n - (size_t)(nul + 1 - data));
        }
    }
    if (msg)
        nng_msg_free(msg);
    nng_ctx_close(op->ctx);
    nng_aio_free(op->aio);
    free(op);
}

static void on_letters(struct mst__mailbox *mb, const struct mst__letter *letters, size_t n)
{
    struct mst__bus *bus = mb->data;
    bus->dispatching++;
    for (size_t i = 0; i < n; i++) {
        switch (letters[i].kind) {
        case L_LOCAL_EVENT:
        case L_REMOTE_EVENT:
            if (letters[i].kind == L_LOCAL_EVENT && bus->in_flight > 0)
                bus->in_flight--;
            deliver_event(bus, letters[i].ptr, letters[i].kind == L_REMOTE_EVENT);
            nng_msg_free(letters[i].ptr);
            break;
        case L_QUERY:
            if (atomic_load(&bus->closing))
                nng_msg_free(nng_aio_get_msg(((struct mst__rep_ctx *)letters[i].ptr)->aio));
            else
                serve_query(bus, letters[i].ptr);
            break;
        case L_REPLY:
            finish_request(bus, letters[i].ptr);
            break;
        }
    }
    mst__metric_set(bus->queue_gauge, (double)bus->in_flight);
    if (--bus->dispatching == 0)
        collect_garbage(bus);
}

/* --- set-up ------------------------------------------------------------- */

static int set_err(char *err, size_t errlen, const char *what, const char *url, int rv)
{
    snprintf(err, errlen, "%s %s: %s", what, url, nng_strerror(rv));
    return MST_EIO;
}

/* nng attaches a pipe to the pub side asynchronously: an event published
 * before that is dropped without a word.  Start-up waits for the local
 * pipe, so the first publish is as safe as the millionth. */
static void on_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct mst__bus *bus = arg;
    (void)ev;
    if (nng_listener_id(nng_pipe_listener(p)) == nng_listener_id(bus->inproc_listener))
        atomic_store(&bus->local_pipe_ready, 1);
}

static int wait_local_pipe(struct mst__bus *bus)
{
    for (int i = 0; i < 2000 && !atomic_load(&bus->local_pipe_ready); i++)
        nng_msleep(1);
    return atomic_load(&bus->local_pipe_ready) ? 0 : MST_ETIMEDOUT;
}

static int open_sockets(struct mst__bus *bus, const struct mst__bus_opts *o, char *err, size_t errlen)
{
    int rv;
    if ((rv = nng_pub0_open(&bus->pub)) || (rv = nng_sub0_open(&bus->local_sub)) ||
        (rv = nng_rep0_open(&bus->rep)))
        return set_err(err, errlen, "open", "socket", rv);
    /* Deep buffers: publish is refused (MST_EAGAIN) at queue_depth, before
     * nng would have to drop anything on the inproc path. */
    nng_socket_set_int(bus->pub, NNG_OPT_SENDBUF, 8192);
    nng_socket_set_int(bus->local_sub, NNG_OPT_RECVBUF, 8192);
    nng_socket_set_size(bus->local_sub, NNG_OPT_RECVMAXSZ, o->max_message + 256);
    nng_socket_set_size(bus->rep, NNG_OPT_RECVMAXSZ, o->max_message + 256);
    nng_socket_set(bus->local_sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);

    nng_pipe_notify(bus->pub, NNG_PIPE_EV_ADD_POST, on_pipe_added, bus);
    if ((rv = nng_listen(bus->pub, bus->inproc_events, &bus->inproc_listener, 0)))
        return set_err(err, errlen, "listen", bus->inproc_events, rv);
    if ((rv = nng_dial(bus->local_sub, bus->inproc_events, NULL, 0)))
        return set_err(err, errlen, "dial", bus->inproc_events, rv);
    if (wait_local_pipe(bus) != 0)
        return set_err(err, errlen, "connect", bus->inproc_events, NNG_ETIMEDOUT);
    for (size_t i = 0; i < o->n_events_listen; i++)
        if ((rv = nng_listen(bus->pub, o->events_listen[i], NULL, 0)))
            return set_err(err, errlen, "listen for events on", o->events_listen[i], rv);
    for (size_t i = 0; i < o->n_queries_listen; i++)
        if ((rv = nng_listen(bus->rep, o->queries_listen[i], NULL, 0)))
            return set_err(err, errlen, "listen for queries on", o->queries_listen[i], rv);

    if (o->n_peer_events) {
        if ((rv = nng_sub0_open(&bus->remote_sub)))
            return set_err(err, errlen, "open", "socket", rv);
        bus->has_remote_sub = 1;
        nng_socket_set_int(bus->remote_sub, NNG_OPT_RECVBUF, 8192);
        nng_socket_set_size(bus->remote_sub, NNG_OPT_RECVMAXSZ, o->max_message + 256);
        nng_socket_set(bus->remote_sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
        /* NONBLOCK: a peer that is down now is redialled in the background. */
        for (size_t i = 0; i < o->n_peer_events; i++)
            if ((rv = nng_dial(bus->remote_sub, o->peer_events[i], NULL, NNG_FLAG_NONBLOCK)))
                return set_err(err, errlen, "dial", o->peer_events[i], rv);
    }
    if (o->n_peer_queries) {
        if ((rv = nng_req0_open(&bus->remote_req)))
            return set_err(err, errlen, "open", "socket", rv);
        bus->has_remote_req = 1;
        for (size_t i = 0; i < o->n_peer_queries; i++)
            if ((rv = nng_dial(bus->remote_req, o->peer_queries[i], NULL, NNG_FLAG_NONBLOCK)))
                return set_err(err, errlen, "dial", o->peer_queries[i], rv);
    }
    return 0;
}

int mst__bus_init(struct mst__bus *bus, uv_loop_t *loop, struct mst__metrics *metrics,
                  const struct mst__bus_opts *o, char *err, size_t errlen)
{
    static atomic_int seq;
    memset(bus, 0, sizeof *bus);
    bus->loop = loop;
    bus->metrics = metrics;
    bus->queue_depth = o->queue_depth ? o->queue_depth : 4096;
    bus->request_timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : 5000;
    bus->max_message = o->max_message ? o->max_message : 4u << 20;
    mst__list_init(&bus->subs);
    mst__list_init(&bus->garbage);
    mst__list_init(&bus->requests);
    mst__list_init(&bus->serving);
    /* Unique per bus, so tests may run several in one process. */
    int n = atomic_fetch_add(&seq, 1);
    bus->inproc_events = mst__xasprintf("inproc://mestys/%s/%d/events", o->node_name, n);
    mst__metrics_get(metrics, MST_METRIC_GAUGE, "mestys_bus_queue_depth",
                     "local events published and not yet delivered", "", &bus->queue_gauge);
    mst__mailbox_init(loop, &bus->mailbox, on_letters, bus);
    mst__bus_local_init(bus);

    int rc = open_sockets(bus, o, err, errlen);
    if (rc == 0) {
        nng_aio_alloc(&bus->local_sub_aio, on_local_sub, bus);
        nng_recv_aio(bus->local_sub, bus->local_sub_aio);
        if (bus->has_remote_sub) {
            nng_aio_alloc(&bus->remote_sub_aio, on_remote_sub, bus);
            nng_recv_aio(bus->remote_sub, bus->remote_sub_aio);
        }
        bus->rep_ctx = mst__xcalloc(MST__REP_CONTEXTS, sizeof *bus->rep_ctx);
        for (int i = 0; i < MST__REP_CONTEXTS; i++) {
            struct mst__rep_ctx *rc2 = &bus->rep_ctx[i];
            rc2->bus = bus;
            nng_ctx_open(&rc2->ctx, bus->rep);
            nng_aio_alloc(&rc2->aio, on_rep, rc2);
            rc2->state = REP_RECV;
            nng_ctx_recv(rc2->ctx, rc2->aio);
        }
    } else {
        mst__bus_close(bus);
    }
    return rc;
}

void mst__bus_close(struct mst__bus *bus)
{
    atomic_store(&bus->closing, 1);
    /* From the loop thread, never from an nng callback: stop waits for
     * callbacks in flight, which may still post to the mailbox. */
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->requests)
    {
        struct mst__req_op *op = mst__container_of(pos, struct mst__req_op, link);
        nng_aio_stop(op->aio);
    }
    if (bus->local_sub_aio)
        nng_aio_stop(bus->local_sub_aio);
    if (bus->remote_sub_aio)
        nng_aio_stop(bus->remote_sub_aio);
    if (bus->rep_ctx)
        for (int i = 0; i < MST__REP_CONTEXTS; i++)
            nng_aio_stop(bus->rep_ctx[i].aio);
    mst__bus_local_close(bus);
    /* Answer what plugins still hold, then deliver what the mailbox has. */
    mst__list_foreach_safe(pos, tmp, &bus->serving)
    {
        struct mst_request *req = mst__container_of(pos, struct mst_request, link);
        mst__list_remove(&req->link);
        free(req);
    }
    mst__mailbox_close(&bus->mailbox, NULL);
    if (bus->rep_ctx) {
        for (int i = 0; i < MST__REP_CONTEXTS; i++) {
            nng_ctx_close(bus->rep_ctx[i].ctx);
            nng_aio_free(bus->rep_ctx[i].aio);
        }
        free(bus->rep_ctx);
    }
    nng_aio_free(bus->local_sub_aio);
    nng_aio_free(bus->remote_sub_aio);
    nng_close(bus->pub);
    nng_close(bus->local_sub);
    nng_close(bus->rep);
    if (bus->has_remote_sub)
        nng_close(bus->remote_sub);
    if (bus->has_remote_req)
        nng_close(bus->remote_req);
    mst__list_foreach_safe(pos, tmp, &bus->subs)
    {
        mst__list_remove(pos);
        free_sub(mst__container_of(pos, struct mst__sub, link));
    }
    collect_garbage(bus);
    mst__strmap_free(&bus->servers, free);
    mst__strmap_free(&bus->topics, free);
    free(bus->inproc_events);
}

/* --- API ---------------------------------------------------------------- */

int mst__bus_publish(struct mst__bus *bus, const char *topic, const void *body, size_t len)
{
    if (atomic_load(&bus->closing))
        return MST_ECLOSED;
    if (len > bus->max_message)
        return MST_ETOOBIG;
    struct mst__topic_stats *ts = topic_stats(bus, topic);
    if (bus->in_flight >= bus->queue_depth) {
        mst__metric_add(ts->backpressure, 1);
        return MST_EAGAIN;
    }
    size_t tl = strlen(topic) + 1;
    nng_msg *msg;
    if (nng_msg_alloc(&msg, tl + len) != 0)
        return MST_ENOMEM;
    char *p = nng_msg_body(msg);
    memcpy(p, topic, tl);
    if (len)
        memcpy(p + tl, body, len);
    if (nng_sendmsg(bus->pub, msg, NNG_FLAG_NONBLOCK) != 0) {
        nng_msg_free(msg);
        mst__metric_add(ts->dropped, 1);
        return MST_EAGAIN;
    }
    bus->in_flight++;
    mst__metric_add(ts->messages, 1);
    mst__metric_add(ts->bytes, (double)len);
    return 0;
}

int mst__bus_subscribe(struct mst__bus *bus, void *owner, const char *pattern, mst_message_cb cb,
                       void *arg, struct mst_metric *delivered)
{
    if (!cb || !mst__valid_pattern(pattern))
        return MST_EINVAL;
    struct mst__sub *s = mst__xcalloc(1, sizeof *s);
    s->owner = owner;
    s->pattern = mst__xstrdup(pattern);
    s->cb = cb;
    s->arg = arg;
    s->delivered = delivered;
    mst__list_push(&bus->subs, &s->link);
    return 0;
}

static void kill_sub(struct mst__bus *bus, struct mst__sub *s)
{
    s->dead = 1;
    mst__list_remove(&s->link);
    if (bus->dispatching)
        mst__list_push(&bus->garbage, &s->link);
    else
        free_sub(s);
}

int mst__bus_unsubscribe(struct mst__bus *bus, void *owner, const char *pattern)
{
    int found = 0;
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->subs)
    {
        struct mst__sub *s = mst__container_of(pos, struct mst__sub, link);
        if (s->owner == owner && strcmp(s->pattern, pattern) == 0) {
            kill_sub(bus, s);
            found = 1;
        }
    }
    return found ? 0 : MST_ENOENT;
}

int mst__bus_serve(struct mst__bus *bus, void *owner, const char *topic, mst_serve_cb cb, void *arg)
{
    if (!cb || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (mst__strmap_get(&bus->servers, topic))
        return MST_EEXIST;
    struct mst__server *srv = mst__xcalloc(1, sizeof *srv);
    srv->owner = owner;
    srv->cb = cb;
    srv->arg = arg;
    mst__strmap_put(&bus->servers, topic, srv);
    return 0;
}

int mst__bus_respond(mst_request *req, int status, const void *body, size_t len)
{
    if (!req)
        return MST_EINVAL;
    struct mst__rep_ctx *rc = req->rc;
    mst__list_remove(&req->link);
    if (status > 0)
        status = MST_EINVAL;
    if (rc)
        reply_now(rc, status, body ? body : "", body ? len : 0);
    else
        mst__bus_local_respond(req, status, body ? body : "", body ? len : 0);
    free(req);
    return 0;
}

int mst__bus_request(struct mst__bus *bus, void *owner, const char *topic, const void *body,
                     size_t len, uint32_t timeout_ms, mst_reply_cb cb, void *arg)
{
    if (atomic_load(&bus->closing))
        return MST_ECLOSED;
    if (!cb || !mst__valid_topic(topic))
        return MST_EINVAL;
    if (len > bus->max_message)
        return MST_ETOOBIG;
    if (bus->n_requests >= MST__MAX_REQUESTS)
        return MST_EAGAIN;
    if (mst__strmap_get(&bus->servers, topic)) /* served on this node: no nng (bus_local.c) */
        return mst__bus_local_request(bus, owner, topic, body, len, timeout_ms, cb, arg);
    if (!bus->has_remote_req)
        return MST_ENOSERVER;
    nng_socket sock = bus->remote_req;
    struct mst__req_op *op = mst__xcalloc(1, sizeof *op);
    size_t tl = strlen(topic) + 1;
    nng_msg *msg = NULL;
    if (nng_ctx_open(&op->ctx, sock) != 0 || nng_aio_alloc(&op->aio, on_req, op) != 0 ||
        nng_msg_alloc(&msg, tl + len) != 0) {
        if (op->aio)
            nng_aio_free(op->aio);
        free(op);
        return MST_ENOMEM;
    }
    memcpy(nng_msg_body(msg), topic, tl);
    if (len)
        memcpy((char *)nng_msg_body(msg) + tl, body, len);
    op->bus = bus;
    op->owner = owner;
    op->cb = cb;
    op->arg = arg;
    op->sending = 1;
    mst__list_push(&bus->requests, &op->link);
    bus->n_requests++;
    nng_aio_set_timeout(op->aio, timeout_ms ? (nng_duration)timeout_ms
                                             : (nng_duration)bus->request_timeout_ms);
    nng_aio_set_msg(op->aio, msg);
    nng_ctx_send(op->ctx, op->aio);
    return 0;
}

void mst__bus_drop_owner(struct mst__bus *bus, void *owner)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->subs)
    {
        struct mst__sub *s = mst__container_of(pos, struct mst__sub, link);
        if (s->owner == owner)
            kill_sub(bus, s);
    }
    struct mst__strmap_slot *slot;
    mst__strmap_foreach(&bus->servers, slot)
    {
        struct mst__server *srv = slot->value;
        if (srv->owner == owner)
            free(mst__strmap_del(&bus->servers, slot->key));
    }
    mst__list_foreach_safe(pos, tmp, &bus->requests)
    {
        struct mst__req_op *op = mst__container_of(pos, struct mst__req_op, link);
        if (op->owner == owner)
            op->cb = NULL; /* the reply, when it comes, goes nowhere */
    }
    mst__bus_local_drop_owner(bus, owner);
    mst__list_foreach_safe(pos, tmp, &bus->serving)
    {
        struct mst_request *req = mst__container_of(pos, struct mst_request, link);
        if (req->owner == owner) {
            struct mst__rep_ctx *rc = req->rc;
            mst__list_remove(&req->link);
            if (rc)
                reply_error(rc, MST_ECLOSED, "the serving plugin instance stopped");
            else
                mst__bus_local_fail(req, MST_ECLOSED, "the serving plugin instance stopped");
            free(req);
        }
    }
}
