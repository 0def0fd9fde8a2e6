/* http_ws.c - WebSocket endpoints: the upgrade refused with a real HTTP
 * status, messages reassembled and handed over, frames queued out. */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "log.h"

struct out_frame {
    struct mst__list link;
    int binary;
    size_t len;
    unsigned char data[]; /* LWS_PRE + payload */
};

static struct ws_endpoint *find_endpoint(struct mst__http *h, const char *path, const char *proto)
{
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; pos != &h->ws_endpoints; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        const char *sub;
        if (!mst__path_matches(ep->path, ep->prefix, path, &sub))
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
int mst__ws_on_confirm(struct mst__http *h, struct lws *wsi)
{
    char *uri = mst__lws_header(wsi, WSI_TOKEN_GET_URI, NULL);
    char *protos = mst__lws_header(wsi, WSI_TOKEN_PROTOCOL, NULL);
    struct ws_endpoint *found = NULL;
    struct mst__list *pos;
    for (pos = h->ws_endpoints.next; uri && pos != &h->ws_endpoints && !found; pos = pos->next) {
        struct ws_endpoint *ep = mst__container_of(pos, struct ws_endpoint, link);
        const char *sub;
        if (mst__path_matches(ep->path, ep->prefix, uri, &sub) &&
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
        char *auth = mst__lws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &auth_len);
        int role = mst__http_token_role(h, auth, auth_len);
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

int mst__ws_on_filter(struct mst__http *h, struct lws *wsi)
{
    char *uri = mst__lws_header(wsi, WSI_TOKEN_GET_URI, NULL);
    struct ws_endpoint *ep = uri ? find_endpoint(h, uri, chosen_subprotocol(wsi)) : NULL;
    int ok = ep != NULL;
    if (ep && ep->role != MST_ROLE_PUBLIC) {
        size_t auth_len = 0;
        char *auth = mst__lws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &auth_len);
        ok = mst__http_token_role(h, auth, auth_len) >= (int)ep->role;
        if (!ok)
            mst__metric_add(h->unauthorized, 1);
        free(auth);
    }
    if (!ep)
        mst__log_info("websocket upgrade refused: no endpoint %s", uri ? uri : "?");
    free(uri);
    return ok ? 0 : 1;
}

void mst__ws_on_established(struct mst__http *h, struct session *s, struct lws *wsi)
{
    char *uri = mst__lws_header(wsi, WSI_TOKEN_GET_URI, NULL);
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

int mst__ws_on_receive(struct mst__http *h, mst_ws_conn *c, struct lws *wsi, const void *in, size_t len)
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

int mst__ws_on_writeable(mst_ws_conn *c)
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

void mst__ws_on_closed(struct session *s)
{
    mst_ws_conn *c = s->ws;
    if (!c)
        return;
    s->ws = NULL;
    if (c->ep && c->ep->handlers.close)
        c->ep->handlers.close(c->ep->arg, c);
    ws_free(c);
}

void mst__ws_drop_owner(struct mst__http *h, void *owner)
{
    struct mst__list *pos, *tmp;
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
}

void mst__ws_clear(struct mst__http *h)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, &h->ws_conns)
    {
        mst_ws_conn *c = mst__container_of(pos, mst_ws_conn, link);
        c->ep = NULL;
    }
    mst__list_foreach_safe(pos, tmp, &h->ws_endpoints)
    {
        mst__list_remove(pos);
        free_endpoint(mst__container_of(pos, struct ws_endpoint, link));
    }
}
