/* http_ws.c - WebSocket endpoints and their connections once upgraded:
 * messages reassembled up to the endpoint's limit and handed over, frames
 * queued out, pings, and the close.  The upgrade itself (role check, the
 * plugin's handshake hook, refusals) is http_ws_upgrade.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "log.h"

#define WS_CLOSE_DEADLINE_S 10
#define WS_QUEUE_MIN (1u << 20)

struct out_frame {
    struct mst__list link;
    int binary;
    size_t len;
    unsigned char data[]; /* LWS_PRE + payload */
};

mst_ws_conn *mst__ws_conn_new(struct mst__http *h, struct lws *wsi, struct ws_endpoint *ep, void *data)
{
    mst_ws_conn *c = mst__xcalloc(1, sizeof *c);
    c->h = h;
    c->wsi = wsi;
    c->ep = ep;
    c->data = data;
    mst__list_init(&c->outq);
    mst__list_init(&c->ping_link);
    mst__list_push(&h->ws_conns, &c->link);
    /* lws gives the upgraded connection fresh per-session memory; this
     * pointer stays with the wsi */
    lws_set_opaque_user_data(wsi, c);
    return c;
}

int mst__ws_on_established(struct mst__http *h, struct session *s, struct lws *wsi)
{
    mst_ws_conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return -1; /* not through CONFIRM_UPGRADE: no endpoint accepted it */
    s->ws = c;
    c->established = 1;
    mst__metric_add(h->ws_open, 1);
    if (!c->ep || c->closing) {
        /* its owner stopped, or ws_close came, during the upgrade: the
         * close that mst__ws_close left for now */
        c->closing = 0;
        mst__ws_close(c);
        return 0;
    }
    if (c->ep->ping_s)
        mst__ws_ping_join(h, c);
    if (c->ep->handlers.open) {
        char *uri = mst__lws_header(wsi, WSI_TOKEN_GET_URI, NULL);
        c->ep->handlers.open(c->ep->arg, c, uri ? uri : "");
        free(uri);
    }
    return 0;
}

static void ws_free(mst_ws_conn *c)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &c->outq)
    {
        mst__list_remove(pos);
        free(mst__container_of(pos, struct out_frame, link));
    }
    mst__ws_ping_leave(c);
    lws_set_opaque_user_data(c->wsi, NULL);
    mst__list_remove(&c->link);
    mst__buf_free(&c->rx);
    free(c);
}

/* A misbehaving peer can do it again and again: said once per endpoint,
 * then only counted. */
static void log_once(mst_ws_conn *c, unsigned what, const char *why)
{
    if (!c->ep || (c->ep->logged & what))
        return;
    c->ep->logged |= what;
    char peer[64] = "";
    lws_get_peer_simple(c->wsi, peer, sizeof peer);
    mst__log_warn("WebSocket %s%s: closed the connection from %s: %s; further ones are only counted "
                  "(mestys_ws_closed_total)", c->ep->path, c->ep->prefix ? "*" : "", peer, why);
}

int mst__ws_on_receive(struct mst__http *h, mst_ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    size_t max = c->ep && c->ep->max_message ? c->ep->max_message : h->body_limit;
    /* the frame's header said how long it is: refuse before holding it */
    if (c->rx.len + len + lws_remaining_packet_payload(wsi) > max) {
        char why[96];
        snprintf(why, sizeof why, "a message longer than %zu bytes (1009)", max);
        mst__metric_add(h->ws_too_large, 1);
        log_once(c, WS_LOGGED_TOO_LARGE, why);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"message too large", 17);
        return -1;
    }
    if (c->closing)
        return 0; /* the plugin closed it: nothing more for it */
    mst__buf_append(&c->rx, in, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    if (c->ep && c->ep->handlers.message)
        c->ep->handlers.message(c->ep->arg, c, c->rx.data, c->rx.len, lws_frame_is_binary(wsi));
    c->rx.len = 0;
    return 0;
}

static int write_ping(mst_ws_conn *c)
{
    /* not empty: lws 4.1 hands an empty pong to no callback */
    unsigned char ping[LWS_PRE + 6];
    memcpy(ping + LWS_PRE, "mestys", 6);
    c->want_ping = 0;
    if (lws_write(c->wsi, ping + LWS_PRE, 6, LWS_WRITE_PING) < 0)
        return -1;
    if (!mst__list_empty(&c->outq) || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int mst__ws_on_writeable(mst_ws_conn *c)
{
    if (c->want_ping && !c->closing)
        return write_ping(c);
    if (mst__list_empty(&c->outq)) {
        if (!c->closing)
            return 0;
        /* Not closed from here: Debian's lws 4.1.6 is built with _DEBUG,
         * whose libuv "repeat test" closes a connection a writeable
         * callback ended twice, the second time without the close frame
         * (the client saw 1006).  From the timer callback the close is
         * the polite one: 1000, then the client's answer. */
        lws_set_timer_usecs(c->wsi, 1);
        return 0;
    }
    struct out_frame *f = mst__container_of(c->outq.next, struct out_frame, link);
    mst__list_remove(&f->link);
    c->queued -= f->len;
    int w = lws_write(c->wsi, f->data + LWS_PRE, f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    free(f);
    if (w < 0)
        return -1;
    if (!mst__list_empty(&c->outq) || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* A closing connection whose frames are out is closed here (see
 * mst__ws_on_writeable), and so is one the ping schedule found silent
 * (http_ws_ping.c): it is closed at once -- no close handshake with a peer
 * that does not answer. */
int mst__ws_on_timer(mst_ws_conn *c)
{
    if (c->closing && mst__list_empty(&c->outq)) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (!c->no_pong || !c->ep || c->closing)
        return 0;
    char why[64];
    snprintf(why, sizeof why, "no pong within %u s", c->ep->ping_s);
    mst__metric_add(c->h->ws_no_pong, 1);
    log_once(c, WS_LOGGED_NO_PONG, why);
    return -1;
}

void mst__ws_on_pong(mst_ws_conn *c)
{
    c->ping_unanswered = 0;
}

/* What one connection may hold unsent: twice its endpoint's largest
 * message, at least WS_QUEUE_MIN.  A peer that stops reading must not make
 * the daemon hold without bound (its pings stall too, so with ping_s it is
 * closed soon). */
static size_t queue_max(const mst_ws_conn *c)
{
    size_t msg = c->ep && c->ep->max_message ? c->ep->max_message : c->h->body_limit;
    return msg > WS_QUEUE_MIN / 2 ? 2 * msg : WS_QUEUE_MIN;
}

int mst__ws_send(mst_ws_conn *c, const void *data, size_t len, int binary)
{
    if (!c || c->closing)
        return MST_ECLOSED;
    if (c->queued + len > queue_max(c)) {
        mst__metric_add(c->h->ws_queue_full, 1);
        return MST_EAGAIN;
    }
    c->queued += len;
    struct out_frame *f = mst__xmalloc(sizeof *f + LWS_PRE + len);
    f->binary = binary;
    f->len = len;
    memcpy(f->data + LWS_PRE, data, len);
    mst__list_push(&c->outq, &f->link);
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* Safe from any callback, on any connection: it only marks c.  The queued
 * frames go out from the writeable callback, then the timer callback
 * closes with 1000; close() runs later, from lws's CLOSED callback, once. */
void mst__ws_close(mst_ws_conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    mst__ws_ping_leave(c); /* no pings while it closes */
    if (!c->established)
        return; /* mst__ws_on_established comes back here */
    lws_callback_on_writable(c->wsi);
    /* a peer that does not take the queued frames (or the close) is
     * dropped after this long; close() runs then */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, WS_CLOSE_DEADLINE_S);
}

void *mst__ws_data(mst_ws_conn *c)
{
    return c ? c->data : NULL;
}

void mst__ws_set_data(mst_ws_conn *c, void *data)
{
    if (c)
        c->data = data;
}

static void free_endpoint(struct ws_endpoint *ep)
{
    free(ep->path);
    free(ep->subprotocol);
    free(ep);
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
    mst__list_init(&ep->ping_due);
    mst__path_pattern(path, &ep->path, &ep->prefix);
    ep->subprotocol = subprotocol ? mst__xstrdup(subprotocol) : NULL;
    ep->owner = owner;
    ep->role = role;
    size_t n = handlers->struct_size < sizeof ep->handlers ? handlers->struct_size : sizeof ep->handlers;
    memcpy(&ep->handlers, handlers, n);
    ep->arg = arg;
    mst__list_push(&h->ws_endpoints, &ep->link);
    return 0;
}

/* close() once, then c is gone.  Marked closing first, so a ws_send or
 * ws_close from inside close() is a clean no-op. */
static void ws_end(mst_ws_conn *c)
{
    c->closing = 1;
    if (c->established)
        mst__metric_add(c->h->ws_open, -1);
    if (c->ep && c->ep->handlers.close)
        c->ep->handlers.close(c->ep->arg, c);
    ws_free(c);
}

void mst__ws_on_closed(struct session *s)
{
    mst_ws_conn *c = s->ws;
    if (!c)
        return;
    s->ws = NULL;
    ws_end(c);
}

void mst__ws_on_destroy(struct lws *wsi)
{
    mst_ws_conn *c = lws_get_opaque_user_data(wsi);
    if (c)
        ws_end(c); /* accepted, but the upgrade never completed */
}

/* An endpoint's ping_s changed: its open connections are pinged at the new
 * interval from now on (ping_due stays in due order). */
static void reschedule_pings(struct mst__http *h, struct ws_endpoint *ep)
{
    struct mst__list *pos;
    for (pos = h->ws_conns.next; pos != &h->ws_conns; pos = pos->next) {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        if (c->ep != ep)
            continue;
        mst__ws_ping_leave(c);
        if (ep->ping_s && c->established && !c->closing)
            mst__ws_ping_join(h, c);
    }
}

int mst__http_ws_limits(struct mst__http *h, void *owner, const char *path, size_t max_message,
                        unsigned ping_s)
{
    char *pattern;
    int prefix, found = 0;
    mst__path_pattern(path, &pattern, &prefix);
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        if (ep->owner == owner && ep->prefix == prefix && strcmp(ep->path, pattern) == 0) {
            ep->max_message = max_message;
            if (ep->ping_s != ping_s) {
                ep->ping_s = ping_s;
                reschedule_pings(h, ep);
            }
            found = 1;
        }
    }
    free(pattern);
    return found ? 0 : MST_ENOENT;
}

void mst__ws_drop_owner(struct mst__http *h, void *owner)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &h->ws_conns)
    {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        if (c->ep && c->ep->owner == owner) {
            /* close() now, while the plugin's state lives (after its stop,
             * before its fini); lws closes the connection later */
            mst__ws_close(c);
            if (c->ep->handlers.close)
                c->ep->handlers.close(c->ep->arg, c);
            c->ep = NULL;
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
}

void mst__ws_clear(struct mst__http *h)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &h->ws_conns)
    {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        mst__ws_ping_leave(c); /* ep->ping_due goes with ep */
        c->ep = NULL;
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_endpoints)
    {
        mst__list_remove(pos);
        free_endpoint(mst__container_of(pos, struct ws_endpoint, link));
    }
}
