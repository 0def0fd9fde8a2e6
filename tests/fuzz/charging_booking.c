/* fuzz_charging_booking - bookings from the operator API (an array of
 * booking objects) into the calendar, then every question the plugin asks
 * it: who is authorized, which ReserveNow is due, the booking as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charging/booking.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int overlap(const struct chg_booking *a, const struct chg_booking *b)
{
    return a->from_ms < b->to_ms && b->from_ms < a->to_ms;
}

static int same_connector(const struct chg_booking *a, const struct chg_booking *b)
{
    return a->station && b->station && strcmp(a->station, b->station) == 0 &&
           (a->connector == b->connector || !a->connector || !b->connector);
}

/* What the calendar promises: no car and no connector booked twice at once. */
static void check_calendar(const struct chg_bookings *b)
{
    size_t n = chg_bookings_count(b);
    for (size_t i = 0; i < n; i++) {
        const struct chg_booking *x = chg_bookings_at(b, i);
        if (i > 0 && chg_bookings_at(b, i - 1)->from_ms > x->from_ms)
            abort();
        for (size_t j = i + 1; j < n; j++) {
            const struct chg_booking *y = chg_bookings_at(b, j);
            if (overlap(x, y) && (strcasecmp(x->id_tag, y->id_tag) == 0 || same_connector(x, y)))
                abort();
        }
    }
}

/* The booking as JSON reads back as the same booking. */
static void check_json(const struct chg_booking *bk)
{
    cJSON *o = chg_booking_json(bk);
    cJSON_DeleteItemFromObject(o, "id");
    cJSON_DeleteItemFromObject(o, "reservation_id");
    struct chg_booking back;
    const char *why;
    if (chg_booking_from_json(o, &back, &why) < 0 || strcmp(back.id_tag, bk->id_tag) != 0 ||
        back.connector != bk->connector || back.from_ms != bk->from_ms || back.to_ms != bk->to_ms)
        abort();
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    struct chg_booking_opts opts = {.grace_ms = 15 * 60000, .reserve = 1, .lead_ms = 10 * 60000};
    struct chg_bookings *b;
    if (!root || chg_bookings_new(&opts, &b) < 0) {
        cJSON_Delete(root);
        return 0;
    }
    int64_t id = 1;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        struct chg_booking bk;
        const char *why = NULL;
        char err[128] = "";
        if (chg_booking_from_json(item, &bk, &why) < 0) {
            if (!why)
                abort();
            continue;
        }
        bk.id = id++;
        int rc = chg_bookings_add(b, &bk, err, sizeof err);
        if (rc < 0 && !err[0])
            abort(); /* a refusal always says why */
        if (rc == 0 && !chg_bookings_authorizing(b, bk.id_tag, bk.station, bk.site, bk.connector, bk.from_ms))
            abort(); /* a booking authorizes its car at its start */
    }
    check_calendar(b);
    for (size_t i = 0; i < chg_bookings_count(b); i++) {
        const struct chg_booking *bk = chg_bookings_at(b, i);
        check_json(bk);
        cJSON *req = chg_booking_reserve_now(bk, (int)i + 1);
        if (!req != !bk->station)
            abort();
        cJSON_Delete(req);
        const struct chg_booking *due[4];
        chg_bookings_due(b, bk->from_ms, due, 4);
    }
    chg_bookings_expire(b, 0);
    chg_bookings_free(b);
    cJSON_Delete(root);
    return 0;
}
