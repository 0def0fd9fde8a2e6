/*
 * backoff.c - how long to wait before the next try.
 *
 * Full jitter (a random wait between retry_base_ms and the exponential
 * ceiling, as Fluent Bit's scheduler does): towns that lost the region at
 * the same moment do not all come back at the same moment.  A Retry-After
 * from the region is a floor: it knows when it will take batches again.
 */
#include "uplink.h"

/* xorshift64*: spreading waits needs no cryptographic randomness. */
uint64_t up_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Du;
}

int64_t up_backoff_ms(uint64_t *rng, unsigned attempt, int64_t base_ms, int64_t cap_ms, int64_t retry_after_ms)
{
    int64_t ceiling = base_ms;
    for (unsigned i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    int64_t wait = base_ms;
    if (ceiling > base_ms)
        wait += (int64_t)(up_rand(rng) % (uint64_t)(ceiling - base_ms + 1));
    return retry_after_ms > wait ? retry_after_ms : wait;
}
