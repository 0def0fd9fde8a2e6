/* booking.h - the fleet's and carsharing's booking calendar.
 *
 * The town's cars are id tags.  A booking gives one car a slot [from, to) at
 * one station's connector (connector 0: any connector of the station) or at
 * any station of a site.  Inside its slot (from `grace` before its start)
 * the car's tag is authorized there; outside it, the booking authorizes
 * nothing.  Two bookings of one car may not overlap, nor two bookings of
 * one connector (connector 0 overlaps every connector of its station).
 *
 * If the plugin is configured to, a booking of a station reserves a
 * connector with ReserveNow at (from - lead) until `to`: chg_bookings_due
 * says which bookings need that now, chg_booking_reserve_now builds the
 * payload, chg_bookings_mark_reserved records that it was sent.
 *
 * Pure and in memory: the plugin keeps bookings in its SQLite file and
 * loads them at start with chg_bookings_add.  Lookups are linear: a town has
 * hundreds of bookings a week, not millions.  The library is booking.c
 * alone (cJSON, mestys/time.h).
 */
#ifndef CHARGING_BOOKING_H
#define CHARGING_BOOKING_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include <mestys/error.h>

struct chg_booking {
    int64_t id;               /* the plugin's (SQLite rowid); unique */
    const char *id_tag;       /* the car */
    const char *station;      /* a station's id, or NULL when booked at a site */
    const char *site;         /* a site's name when station is NULL (no ReserveNow then) */
    int connector;            /* 1.. at a station; 0: any of its connectors */
    int64_t from_ms, to_ms;   /* the slot [from, to), Unix ms */
    int reservation_id;       /* the ReserveNow sent for it, 0 if none yet (set by mark_reserved) */
};

struct chg_booking_opts {
    int64_t grace_ms;         /* the tag works this long before the slot starts (default 15 min) */
    int reserve;              /* 1: reserve a connector with ReserveNow for bookings of a station */
    int64_t lead_ms;          /* ...this long before the slot starts (default 10 min) */
};

struct chg_bookings;

/* An empty calendar; opts copied (NULL: the defaults above, no ReserveNow).
 * MST_EINVAL for a grace or lead negative or over a week, MST_ENOMEM. */
int chg_bookings_new(const struct chg_booking_opts *opts, struct chg_bookings **out);
void chg_bookings_free(struct chg_bookings *b);

/* Adds a copy of *bk (its strings copied).  MST_EINVAL (why says: an empty
 * tag, neither or both of station and site, to <= from, a negative
 * connector, a connector at a site), MST_EEXIST (the id is taken, or it
 * overlaps a booking of the same car or the same connector: why names the
 * other booking's id), MST_ENOMEM. */
int chg_bookings_add(struct chg_bookings *b, const struct chg_booking *bk, char *why, size_t whylen);
/* MST_ENOENT if there is no such booking. */
int chg_bookings_remove(struct chg_bookings *b, int64_t id);
/* The booking with that id, or NULL.  Valid until the calendar changes. */
const struct chg_booking *chg_bookings_get(const struct chg_bookings *b, int64_t id);
size_t chg_bookings_count(const struct chg_bookings *b);
/* The i-th booking, ordered by slot start (then id). */
const struct chg_booking *chg_bookings_at(const struct chg_bookings *b, size_t i);

/* The booking that authorizes `id_tag` at `station` (which belongs to
 * `site`, NULL if to none) on `connector` (0: not known yet, as in
 * Authorize) at time t, or NULL.  A booking of a station's connector 0 or of
 * the site matches any connector. */
const struct chg_booking *chg_bookings_authorizing(const struct chg_bookings *b, const char *id_tag,
                                                   const char *station, const char *site,
                                                   int connector, int64_t t_ms);
/* Whether the tag is one of the calendar's cars at all (it has any booking):
 * the plugin refuses such a tag outside its slots rather than treating it as
 * a public card. */
int chg_bookings_knows_tag(const struct chg_bookings *b, const char *id_tag);

/* Bookings that need a ReserveNow at `now`: opts.reserve set, booked at a
 * station, (from - lead) <= now < to, and not yet marked reserved.  Up to
 * `max` pointers into out; returns how many there are in all. */
size_t chg_bookings_due(const struct chg_bookings *b, int64_t now_ms,
                        const struct chg_booking **out, size_t max);
/* Records the reservation sent for a booking (so it is not due again).
 * MST_ENOENT if there is no such booking. */
int chg_bookings_mark_reserved(struct chg_bookings *b, int64_t id, int reservation_id);

/* The ReserveNow.req payload for a booking: {"connectorId", "expiryDate":
 * its slot end (ISO 8601 UTC), "idTag", "reservationId"}.  NULL for a
 * booking at a site or no memory; free with cJSON_Delete. */
cJSON *chg_booking_reserve_now(const struct chg_booking *bk, int reservation_id);

/* A booking from the operator API's JSON: {"id_tag", "station" or "site",
 * "connector" (at a station, default 0: any), "from", "to" (ISO 8601 with a
 * zone)}.  out's strings point into obj (valid while it lives); id and
 * reservation_id are 0.  Only the JSON is checked here (types, times, no
 * other keys); chg_bookings_add checks the rest.  MST_EINVAL, *why naming
 * the field. */
int chg_booking_from_json(const cJSON *obj, struct chg_booking *out, const char **why);
/* {"id", "id_tag", "station" or "site", "connector", "from", "to",
 * "reservation_id"} for the operator API; NULL without memory. */
cJSON *chg_booking_json(const struct chg_booking *bk);

/* Bookings that ended before `now` are dropped from memory (the plugin
 * keeps its history in SQLite); returns how many. */
size_t chg_bookings_expire(struct chg_bookings *b, int64_t now_ms);

#endif
