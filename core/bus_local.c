/* bus_local.c - requests to a server on this node, without nng.
 *
 * Through nng, a query and its reply cross five threads (the loop, nng's
 * task threads, the mailbox back to the loop, and again for the reply):
 * measured on two cores, that was most of the cost of a small query.  When
 * the server is on this node the loop hands the query over itself.  What a
 * plugin sees does not change: the server gets the query on a later loop
 * turn than request() was called on, the reply reaches the requester on a
 * later turn than respond() was called on, timeouts and a server that stops
 * answer MST_ETIMEDOUT and MST_ECLOSED as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "util.h"

enum local_state { LOCAL_QUEUED, LOCAL_SERVING, LOCAL_REPLIED, LOCAL_DONE };

struct mst__local_op {
    struct mst__list link; /* bus->local_ops: every op until its reply is delivered */
    struct mst__list turn; /* bus->local_due: waiting for the next loop turn */
    struct mst__bus *bus;
    void *owner;
    mst_reply_cb cb;
    void *arg;
    uint64_t deadline;
    enum local_state state;
    struct mst_request *req; /* while a server holds it */
    char *topic;
    char *data; /* the query, then the reply */
    size_t len;
    int status;
};

static void on_local_turn(uv_idle_t *idle);
static void on_local_timeout(uv_timer_t *timer);

void mst__bus_local_init(struct mst__bus *bus)
{
    mst__list_init(&bus->local_ops);
    mst__list_init(&bus->local_due);
    uv_idle_init(bus->loop, &bus->local_idle);
    uv_timer_init(bus->loop, &bus->local_timer);
    bus->local_idle.data = bus->local_timer.data = bus;
}

static void op_free(struct mst__local_op *op)
{
    mst__list_remove(&op->link);
    mst__list_remove(&op->turn);
    op->bus->n_requests--;
    free(op->topic);
    free(op->data);
    free(op);
}

void mst__bus_local_close(struct mst__bus *bus)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->local_ops)
    {
        struct mst__local_op *op = mst__container_of(pos, struct mst__local_op, link);
        if (op->req)
            op->req->local = NULL;
        op_free(op);
    }
    uv_close((uv_handle_t *)&bus->local_idle, NULL);
    uv_close((uv_handle_t *)&bus->local_timer, NULL);
}

static void due_next_turn(struct mst__local_op *op)
{
    struct mst__bus *bus = op->bus;
    mst__list_remove(&op->turn);
    mst__list_push(&bus->local_due, &op->turn);
    if (!uv_is_active((uv_handle_t *)&bus->local_idle))
        uv_idle_start(&bus->local_idle, on_local_turn); /* keeps the loop from blocking in poll */
}

static void set_reply(struct mst__local_op *op, int status, const void *body, size_t len)
{
    free(op->data);
    op->data = mst__xmalloc(len + 1);
    if (len)
        memcpy(op->data, body, len);
    op->data[len] = '\0';
    op->len = len;
    op->status = status;
    op->state = LOCAL_REPLIED;
    if (op->req) {
        op->req->local = NULL;
        op->req = NULL;
    }
    due_next_turn(op);
}

static void set_error(struct mst__local_op *op, int status, const char *why)
{
    struct mst__buf b = {0};
    mst__bus_error_body(&b, status, why);
    set_reply(op, status, b.data, b.len);
    mst__buf_free(&b);
}

static void arm_timer(struct mst__bus *bus)
{
    uint64_t first = UINT64_MAX;
    struct mst__list *pos;
    for (pos = bus->local_ops.next; pos != &bus->local_ops; pos = pos->next) {
        struct mst__local_op *op = mst__container_of(pos, struct mst__local_op, link);
        if (op->state < LOCAL_REPLIED && op->deadline < first)
            first = op->deadline;
    }
    if (first == UINT64_MAX) {
        uv_timer_stop(&bus->local_timer);
        bus->local_timer_at = 0;
        return;
    }
    uint64_t now = uv_now(bus->loop);
    uv_timer_start(&bus->local_timer, on_local_timeout, first > now ? first - now : 0, 0);
    bus->local_timer_at = first;
}

static void on_local_timeout(uv_timer_t *timer)
{
    struct mst__bus *bus = timer->data;
    uint64_t now = uv_now(bus->loop);
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &bus->local_ops)
    {
        struct mst__local_op *op = mst__container_of(pos, struct mst__local_op, link);
        if (op->state < LOCAL_REPLIED && op->deadline <= now)
            set_reply(op, MST_ETIMEDOUT, "", 0);
    }
    arm_timer(bus);
}

static void serve(struct mst__local_op *op)
{
    struct mst__bus *bus = op->bus;
    struct mst__server *srv = mst__strmap_get(&bus->servers, op->topic);
    if (!srv) {
        set_error(op, MST_ENOSERVER, "no one on this node serves this topic");
        return;
    }
    struct mst_request *req = mst__xcalloc(1, sizeof *req);
    req->owner = srv->owner;
    req->local = op;
    op->req = req;
    op->state = LOCAL_SERVING;
    mst__list_push(&bus->serving, &req->link);
    char *query = op->data;
    size_t len = op->len;
    op->data = NULL;
    srv->cb(srv->arg, req, op->topic, query, len); /* may respond at once */
    free(query);
}

static void deliver(struct mst__local_op *op)
{
    op->state = LOCAL_DONE;
    if (op->cb)
        op->cb(op->arg, op->status, op->data, op->len);
    op_free(op);
}

static void on_local_turn(uv_idle_t *idle)
{
    struct mst__bus *bus = idle->data;
    /* only what was due when this turn began: what it makes due waits */
    struct mst__list now;
    mst__list_init(&now);
    if (bus->local_due.next != &bus->local_due) {
        now.next = bus->local_due.next;
        now.prev = bus->local_due.prev;
        now.next->prev = now.prev->next = &now;
        mst__list_init(&bus->local_due);
    }
    while (now.next != &now) {
        struct mst__local_op *op = mst__container_of(now.next, struct mst__local_op, turn);
        mst__list_remove(&op->turn);
        mst__list_init(&op->turn);
        if (op->state == LOCAL_QUEUED)
            serve(op);
        else if (op->state == LOCAL_REPLIED)
            deliver(op);
    }
    if (bus->local_due.next == &bus->local_due)
        uv_idle_stop(&bus->local_idle);
}

int mst__bus_local_request(struct mst__bus *bus, void *owner, const char *topic, const void *body, size_t len,
                           uint32_t timeout_ms, mst_reply_cb cb, void *arg)
{
    struct mst__local_op *op = mst__xcalloc(1, sizeof *op);
    mst__list_init(&op->turn);
    op->bus = bus;
    op->owner = owner;
    op->cb = cb;
    op->arg = arg;
    op->topic = mst__xstrdup(topic);
    op->data = mst__xmalloc(len + 1);
    if (len)
        memcpy(op->data, body, len);
    op->data[len] = '\0';
    op->len = len;
    op->deadline = uv_now(bus->loop) + (timeout_ms ? timeout_ms : bus->request_timeout_ms);
    op->state = LOCAL_QUEUED;
    mst__list_push(&bus->local_ops, &op->link);
    bus->n_requests++;
    due_next_turn(op);
    if (!bus->local_timer_at || op->deadline < bus->local_timer_at) {
        uv_timer_start(&bus->local_timer, on_local_timeout, op->deadline - uv_now(bus->loop), 0);
        bus->local_timer_at = op->deadline;
    }
    return 0;
}

void mst__bus_local_respond(struct mst_request *req, int status, const void *body, size_t len)
{
    if (req->local)
        set_reply(req->local, status, body, len);
}

void mst__bus_local_fail(struct mst_request *req, int status, const char *why)
{
    if (req->local)
        set_error(req->local, status, why);
}

void mst__bus_local_drop_owner(struct mst__bus *bus, void *owner)
{
    struct mst__list *pos;
    for (pos = bus->local_ops.next; pos != &bus->local_ops; pos = pos->next) {
        struct mst__local_op *op = mst__container_of(pos, struct mst__local_op, link);
        if (op->owner == owner)
            op->cb = NULL; /* the reply, when it comes, goes nowhere */
    }
}
