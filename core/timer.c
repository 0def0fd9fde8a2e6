#include "timer.h"

#include <stdlib.h>

#include "util.h"

struct mst_timer {
    uv_timer_t handle;
    struct mst__list link;      /* in the owner's list */
    struct mst__list soon_link; /* in the soon queue while waiting for the next turn */
    struct mst__soon *soon;
    uint64_t repeat_ms;
    mst_timer_cb cb;
    void *arg;
};

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void mst__timer_stop(mst_timer *t)
{
    if (!t || uv_is_closing((uv_handle_t *)&t->handle))
        return;
    mst__list_remove(&t->link);
    mst__list_remove(&t->soon_link);
    uv_timer_stop(&t->handle);
    uv_close((uv_handle_t *)&t->handle, timer_closed);
}

void mst__timer_stop_all(struct mst__list *owner_timers)
{
    struct mst__list *pos, *tmp;
    mst__list_foreach_safe(pos, tmp, owner_timers)
        mst__timer_stop(mst__container_of(pos, struct mst_timer, link));
}

/* Calls the timer; a one-shot timer is freed after, unless its callback
 * already stopped it. */
static void fire(struct mst_timer *t, int once)
{
    t->cb(t->arg);
    if (once && !uv_is_closing((uv_handle_t *)&t->handle))
        mst__timer_stop(t);
}

static void on_timer(uv_timer_t *h)
{
    struct mst_timer *t = h->data;
    fire(t, uv_timer_get_repeat(h) == 0);
}

static void on_check(uv_check_t *c)
{
    struct mst__soon *s = c->data;
    struct mst__list now;
    mst__list_init(&now);
    mst__list_move_all(&s->queue, &now); /* what is queued during this pass waits a turn */
    while (!mst__list_empty(&now)) {
        struct mst_timer *t = mst__container_of(now.next, struct mst_timer, soon_link);
        mst__list_remove(&t->soon_link);
        if (t->repeat_ms)
            uv_timer_start(&t->handle, on_timer, t->repeat_ms, t->repeat_ms);
        fire(t, t->repeat_ms == 0);
    }
    if (mst__list_empty(&s->queue) && s->active) {
        uv_idle_stop(&s->idle);
        uv_check_stop(&s->check);
        s->active = 0;
    }
}

static void on_idle(uv_idle_t *i)
{
    (void)i;
}

int mst__soon_init(uv_loop_t *loop, struct mst__soon *s)
{
    mst__list_init(&s->queue);
    s->active = 0;
    uv_check_init(loop, &s->check);
    uv_idle_init(loop, &s->idle);
    s->check.data = s;
    return 0;
}

void mst__soon_close(struct mst__soon *s)
{
    uv_check_stop(&s->check);
    uv_idle_stop(&s->idle);
    uv_close((uv_handle_t *)&s->check, NULL);
    uv_close((uv_handle_t *)&s->idle, NULL);
}

int mst__timer_start(uv_loop_t *loop, struct mst__soon *soon, struct mst__list *owner_timers,
                     uint64_t after_ms, uint64_t repeat_ms, mst_timer_cb cb, void *arg, mst_timer **out)
{
    if (!cb)
        return MST_EINVAL;
    struct mst_timer *t = mst__xcalloc(1, sizeof *t);
    uv_timer_init(loop, &t->handle);
    t->handle.data = t;
    t->cb = cb;
    t->arg = arg;
    t->repeat_ms = repeat_ms;
    t->soon = soon;
    mst__list_init(&t->soon_link);
    mst__list_push(owner_timers, &t->link);
    if (after_ms == 0 && soon) {
        mst__list_push(&soon->queue, &t->soon_link);
        if (!soon->active) {
            uv_check_start(&soon->check, on_check);
            uv_idle_start(&soon->idle, on_idle);
            soon->active = 1;
        }
    } else {
        uv_timer_start(&t->handle, on_timer, after_ms, repeat_ms);
    }
    if (out)
        *out = t;
    return 0;
}
