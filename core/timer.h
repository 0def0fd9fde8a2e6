/* timer.h - plugin timers on the loop.
 *
 * A timer of 0 ms means "on the next turn of the loop", not "now again":
 * libuv 1.44 runs a 0 ms timer started from a timer callback in the same
 * pass, so a plugin that re-arms one to yield (a producer waiting for
 * backpressure to clear) would starve the loop.  Those timers wait in a
 * queue that a uv_check handle runs once per turn, after I/O. */
#ifndef MST__TIMER_H
#define MST__TIMER_H

#include <uv.h>

#include <mestys/host.h>

#include "list.h"

struct mst__soon {
    uv_check_t check;
    uv_idle_t idle; /* keeps the poll from blocking while the queue has work */
    struct mst__list queue;
    int active;
};

int mst__soon_init(uv_loop_t *loop, struct mst__soon *s);
void mst__soon_close(struct mst__soon *s);

/* owner_timers: the owner's list, so all its timers can be stopped at once */
int mst__timer_start(uv_loop_t *loop, struct mst__soon *soon, struct mst__list *owner_timers,
                     uint64_t after_ms, uint64_t repeat_ms, mst_timer_cb cb, void *arg, mst_timer **out);
void mst__timer_stop(mst_timer *t);
void mst__timer_stop_all(struct mst__list *owner_timers);

#endif
