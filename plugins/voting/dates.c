/*
 * dates.c - when a budget's phases begin, for people: a page says what
 * phase a budget is in and what comes next ("voting opens on 1 May"), so
 * the public budget answer carries the configured dates (UTC, ISO 8601),
 * or null where the operator moves the phase by hand.  Dates are config,
 * not counts: nothing here says how a project stands.
 */
#include <mestys/time.h>

#include "voting.h"

void vote_dates_json(const struct vote_budget *b, cJSON *out)
{
    static const struct {
        const char *key;
        enum vote_phase phase;
    } dated[] = {{"review", VOTE_REVIEW}, {"voting", VOTE_VOTING}, {"counting", VOTE_COUNTING}};
    cJSON *dates = cJSON_AddObjectToObject(out, "dates");
    for (size_t i = 0; dates && i < sizeof dated / sizeof dated[0]; i++) {
        int64_t ms = b->dates[dated[i].phase];
        char iso[32];
        if (ms) {
            mst_time_format(ms, iso);
            cJSON_AddStringToObject(dates, dated[i].key, iso);
        } else {
            cJSON_AddNullToObject(dates, dated[i].key);
        }
    }
}
