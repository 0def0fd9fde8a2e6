/* ratelimit.c - a token bucket per client address: `rate` requests a
 * second on average, bursts of `burst`.  Buckets idle long enough to be
 * full again are forgotten. */
#include <math.h>
#include <stdlib.h>

#include "opendata.h"

struct bucket {
    double tokens;
    uint64_t at_ms; /* when tokens was computed */
};

int od_rate_take(struct opendata *od, const char *client)
{
    if (od->rate <= 0)
        return 0; /* no limit configured */
    uint64_t now = od->host->now_ms(od->inst);
    struct bucket *b = od_lru_get(od->buckets, client);
    if (!b) {
        b = malloc(sizeof *b);
        b->tokens = od->burst;
        b->at_ms = now;
        od_lru_put(od->buckets, client, b, sizeof *b);
    }
    b->tokens = fmin(od->burst, b->tokens + (double)(now - b->at_ms) * od->rate / 1000.0);
    b->at_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int wait = (int)ceil((1.0 - b->tokens) / od->rate);
    return wait < 1 ? 1 : wait;
}

struct sweep {
    uint64_t now;
    double full_after_ms;
};

static int is_full(void *value, void *arg)
{
    const struct bucket *b = value;
    const struct sweep *s = arg;
    return (double)(s->now - b->at_ms) >= s->full_after_ms;
}

void od_rate_sweep(struct opendata *od)
{
    if (od->rate <= 0)
        return;
    struct sweep s = {od->host->now_ms(od->inst), od->burst / od->rate * 1000.0};
    od_lru_trim_old(od->buckets, is_full, &s);
}
