/* mailbox.h - hands completions from nng's threads to the loop thread.
 *
 * Any thread posts (kind, pointer); the loop drains everything posted so far
 * in one go.  uv_async_send coalesces wake-ups, so a burst of thousands of
 * posts costs one loop iteration.  Two vectors swap under the lock, so the
 * steady state allocates nothing per message. */
#ifndef MST__MAILBOX_H
#define MST__MAILBOX_H

#include <pthread.h>
#include <stddef.h>
#include <uv.h>

struct mst__letter {
    int kind;
    void *ptr;
};

struct mst__letters {
    struct mst__letter *v;
    size_t len;
    size_t cap;
};

struct mst__mailbox;
typedef void (*mst__deliver_cb)(struct mst__mailbox *mb, const struct mst__letter *letters, size_t n);

struct mst__mailbox {
    uv_async_t async;
    pthread_mutex_t mu;
    struct mst__letters pending; /* guarded by mu */
    struct mst__letters draining; /* loop thread only */
    mst__deliver_cb deliver;
    void *data;
};

int mst__mailbox_init(uv_loop_t *loop, struct mst__mailbox *mb, mst__deliver_cb deliver, void *data);
/* Any thread. */
void mst__mailbox_post(struct mst__mailbox *mb, int kind, void *ptr);
/* Loop thread: delivers whatever is pending now. */
void mst__mailbox_drain(struct mst__mailbox *mb);
/* Delivers what is left, then closes the async handle (close_cb may be NULL). */
void mst__mailbox_close(struct mst__mailbox *mb, uv_close_cb close_cb);

#endif
