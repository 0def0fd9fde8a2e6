/* http_ws_ping.c - the ping schedule of WebSocket connections: one loop
 * timer for all of them, ticking every second while any is pinged.
 *
 * Not one lws timer per connection: lws keeps its timers in one list
 * sorted by due time and walks it at each insertion, so re-arming 10,000
 * connections' pings cost ~5e7 steps on the loop at every round (measured:
 * answers of the daemon stalled over a second when they came due).  Here
 * an endpoint's connections wait on its ping_due list in the order their
 * pings come due: they all share the endpoint's ping_s and join or rejoin
 * at the tail with now + ping_s, so the list stays sorted without a
 * search.  A tick takes the due ones off the head: O(1) per connection. */
#include "http_internal.h"

#define PING_TICK_MS 1000

static uint64_t ping_ms(const mst_ws_conn *c)
{
    return (uint64_t)c->ep->ping_s * 1000;
}

/* A ping is due: a pong must have come since the last one, or the peer is
 * gone (or not reading) and the connection is closed at once, from lws's
 * timer callback (mst__ws_on_timer counts and logs it) -- no close
 * handshake with a peer that does not answer.  lws puts a timer due now at
 * the head of its list: no walk. */
static void ping_due(mst_ws_conn *c, uint64_t now)
{
    mst__ws_ping_leave(c);
    if (c->ping_unanswered) {
        c->no_pong = 1;
        lws_set_timer_usecs(c->wsi, 1);
        return;
    }
    c->ping_unanswered = 1;
    c->want_ping = 1;
    lws_callback_on_writable(c->wsi);
    c->ping_at = now + ping_ms(c);
    mst__list_push(&c->ep->ping_due, &c->ping_link);
    c->h->ping_joined++;
}

static void on_tick(uv_timer_t *t)
{
    struct mst__http *h = mst__container_of(t, struct mst__http, ping_timer);
    uint64_t now = uv_now(h->loop);
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        /* a connection rejoins at the tail, due ping_s later: the walk
         * stops at it, or before */
        while (!mst__list_empty(&ep->ping_due)) {
            mst_ws_conn *c = mst__container_of(ep->ping_due.next, mst_ws_conn, ping_link);
            if (c->ping_at > now)
                break;
            ping_due(c, now);
        }
    }
    if (!h->ping_joined)
        uv_timer_stop(t); /* an idle daemon does not wake up for nothing */
}

void mst__ws_ping_join(struct mst__http *h, mst_ws_conn *c)
{
    if (!h->ping_timer_init) {
        uv_timer_init(h->loop, &h->ping_timer);
        h->ping_timer_init = 1;
    }
    mst__ws_ping_leave(c);
    c->ping_at = uv_now(h->loop) + ping_ms(c);
    mst__list_push(&c->ep->ping_due, &c->ping_link);
    if (h->ping_joined++ == 0)
        uv_timer_start(&h->ping_timer, on_tick, PING_TICK_MS, PING_TICK_MS);
}

void mst__ws_ping_leave(mst_ws_conn *c)
{
    if (mst__list_empty(&c->ping_link))
        return; /* not joined: its link points at itself */
    mst__list_remove(&c->ping_link);
    c->h->ping_joined--;
}

void mst__ws_ping_close(struct mst__http *h)
{
    if (h->ping_timer_init)
        uv_close((uv_handle_t *)&h->ping_timer, NULL);
    h->ping_timer_init = 0;
}
