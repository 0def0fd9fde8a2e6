#include "mailbox.h"

#include <stdlib.h>

#include "util.h"

static void on_async(uv_async_t *a)
{
    mst__mailbox_drain(a->data);
}

int mst__mailbox_init(uv_loop_t *loop, struct mst__mailbox *mb, mst__deliver_cb deliver, void *data)
{
    mb->pending = (struct mst__letters){0};
    mb->draining = (struct mst__letters){0};
    mb->deliver = deliver;
    mb->data = data;
    pthread_mutex_init(&mb->mu, NULL);
    mb->async.data = mb;
    return uv_async_init(loop, &mb->async, on_async);
}

void mst__mailbox_post(struct mst__mailbox *mb, int kind, void *ptr)
{
    pthread_mutex_lock(&mb->mu);
    struct mst__letters *l = &mb->pending;
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = mst__xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->len++] = (struct mst__letter){kind, ptr};
    int first = l->len == 1;
    pthread_mutex_unlock(&mb->mu);
    if (first)
        uv_async_send(&mb->async);
}

void mst__mailbox_drain(struct mst__mailbox *mb)
{
    for (;;) {
        pthread_mutex_lock(&mb->mu);
        struct mst__letters tmp = mb->pending;
        mb->pending = mb->draining;
        mb->pending.len = 0;
        pthread_mutex_unlock(&mb->mu);
        mb->draining = tmp;
        if (tmp.len == 0)
            return;
        mb->deliver(mb, tmp.v, tmp.len);
        mb->draining.len = 0;
    }
}

void mst__mailbox_close(struct mst__mailbox *mb, uv_close_cb close_cb)
{
    mst__mailbox_drain(mb);
    free(mb->pending.v);
    free(mb->draining.v);
    mb->pending = (struct mst__letters){0};
    mb->draining = (struct mst__letters){0};
    pthread_mutex_destroy(&mb->mu);
    uv_close((uv_handle_t *)&mb->async, close_cb);
}
