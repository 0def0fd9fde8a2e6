/* booking.c - the booking calendar: an array ordered by slot start, each
 * booking owning copies of its strings. */
#include "booking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mestys/error.h>
#include <mestys/time.h>

#define BOOKING_TAG_MAX 20 /* OCPP 1.6 IdToken: CiString20Type */
#define BOOKING_NAME_MAX 255
#define BOOKING_WEEK_MS (7 * 86400000LL) /* longer grace or lead than this is a typo in the config */

struct chg_bookings {
    struct chg_booking_opts opts;
    struct chg_booking *v;
    size_t n, cap;
};

int chg_bookings_new(const struct chg_booking_opts *opts, struct chg_bookings **out)
{
    *out = NULL;
    if (opts && (opts->grace_ms < 0 || opts->grace_ms > BOOKING_WEEK_MS || opts->lead_ms < 0 ||
                 opts->lead_ms > BOOKING_WEEK_MS))
        return MST_EINVAL;
    struct chg_bookings *b = calloc(1, sizeof *b);
    if (!b)
        return MST_ENOMEM;
    if (opts)
        b->opts = *opts;
    else
        b->opts = (struct chg_booking_opts){.grace_ms = 15 * 60000, .reserve = 0, .lead_ms = 10 * 60000};
    *out = b;
    return 0;
}

static void booking_clear(struct chg_booking *e)
{
    free((char *)e->id_tag);
    free((char *)e->station);
    free((char *)e->site);
}

void chg_bookings_free(struct chg_bookings *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        booking_clear(&b->v[i]);
    free(b->v);
    free(b);
}

static int booking_overlaps(const struct chg_booking *a, const struct chg_booking *b)
{
    return a->from_ms < b->to_ms && b->from_ms < a->to_ms;
}

/* One connector: the same station, and the same connector or either being
 * "any" (connector 0). */
static int booking_same_connector(const struct chg_booking *a, const struct chg_booking *b)
{
    return a->station && b->station && strcmp(a->station, b->station) == 0 &&
           (a->connector == b->connector || a->connector == 0 || b->connector == 0);
}

static int booking_name_ok(const char *s)
{
    return s && *s && strlen(s) <= BOOKING_NAME_MAX;
}

static const char *booking_invalid(const struct chg_booking *bk)
{
    if (!bk->id_tag || !*bk->id_tag || strlen(bk->id_tag) > BOOKING_TAG_MAX)
        return "the car's id tag is 1 to 20 characters";
    if (!bk->station == !bk->site)
        return "a booking is at a station or at a site, one of the two";
    if (!booking_name_ok(bk->station ? bk->station : bk->site))
        return "the station's or site's name is 1 to 255 characters";
    if (bk->connector < 0 || (bk->site && bk->connector != 0))
        return "a connector is 1.. at a station, or 0 (any)";
    if (bk->from_ms < MST_TIME_MIN_MS || bk->to_ms > MST_TIME_MAX_MS || bk->to_ms <= bk->from_ms)
        return "a slot ends after it starts";
    return NULL;
}

/* Refuses a booking that clashes with one already there. */
static int booking_check_clash(const struct chg_bookings *b, const struct chg_booking *bk, char *why,
                               size_t whylen)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct chg_booking *e = &b->v[i];
        const char *clash = NULL;
        if (e->id == bk->id)
            clash = "the id is taken by booking";
        else if (booking_overlaps(e, bk) && strcasecmp(e->id_tag, bk->id_tag) == 0)
            clash = "the car is already booked then, by booking";
        else if (booking_overlaps(e, bk) && booking_same_connector(e, bk))
            clash = "the connector is already booked then, by booking";
        if (clash) {
            snprintf(why, whylen, "%s %lld", clash, (long long)e->id);
            return MST_EEXIST;
        }
    }
    return 0;
}

static int booking_copy(struct chg_booking *dst, const struct chg_booking *src)
{
    *dst = *src;
    dst->station = dst->site = NULL;
    dst->id_tag = strdup(src->id_tag);
    if (src->station)
        dst->station = strdup(src->station);
    if (src->site)
        dst->site = strdup(src->site);
    if (!dst->id_tag || (src->station && !dst->station) || (src->site && !dst->site)) {
        booking_clear(dst);
        return MST_ENOMEM;
    }
    return 0;
}

/* Where a booking goes to keep the array ordered by (from, id). */
static size_t booking_position(const struct chg_bookings *b, const struct chg_booking *bk)
{
    size_t i = b->n;
    while (i > 0 && (b->v[i - 1].from_ms > bk->from_ms ||
                     (b->v[i - 1].from_ms == bk->from_ms && b->v[i - 1].id > bk->id)))
        i--;
    return i;
}

int chg_bookings_add(struct chg_bookings *b, const struct chg_booking *bk, char *why, size_t whylen)
{
    const char *invalid = booking_invalid(bk);
    if (invalid) {
        snprintf(why, whylen, "%s", invalid);
        return MST_EINVAL;
    }
    int rc = booking_check_clash(b, bk, why, whylen);
    if (rc < 0)
        return rc;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct chg_booking *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return MST_ENOMEM;
        b->v = v;
        b->cap = cap;
    }
    struct chg_booking copy;
    if ((rc = booking_copy(&copy, bk)) < 0)
        return rc;
    size_t at = booking_position(b, bk);
    memmove(&b->v[at + 1], &b->v[at], (b->n - at) * sizeof *b->v);
    b->v[at] = copy;
    b->n++;
    return 0;
}

static void booking_remove_at(struct chg_bookings *b, size_t i)
{
    booking_clear(&b->v[i]);
    memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof *b->v);
    b->n--;
}

static struct chg_booking *booking_find(const struct chg_bookings *b, int64_t id)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].id == id)
            return &b->v[i];
    return NULL;
}

int chg_bookings_remove(struct chg_bookings *b, int64_t id)
{
    struct chg_booking *e = booking_find(b, id);
    if (!e)
        return MST_ENOENT;
    booking_remove_at(b, (size_t)(e - b->v));
    return 0;
}

const struct chg_booking *chg_bookings_get(const struct chg_bookings *b, int64_t id)
{
    return booking_find(b, id);
}

size_t chg_bookings_count(const struct chg_bookings *b)
{
    return b->n;
}

const struct chg_booking *chg_bookings_at(const struct chg_bookings *b, size_t i)
{
    return i < b->n ? &b->v[i] : NULL;
}

/* Whether booking e covers that station (of that site) and connector. */
static int booking_covers(const struct chg_booking *e, const char *station, const char *site, int connector)
{
    if (e->site)
        return site && strcmp(e->site, site) == 0;
    return station && strcmp(e->station, station) == 0 &&
           (e->connector == 0 || connector == 0 || e->connector == connector);
}

const struct chg_booking *chg_bookings_authorizing(const struct chg_bookings *b, const char *id_tag,
                                                   const char *station, const char *site, int connector,
                                                   int64_t t_ms)
{
    if (!id_tag)
        return NULL;
    for (size_t i = 0; i < b->n; i++) {
        const struct chg_booking *e = &b->v[i];
        /* from - grace cannot overflow: from is within the years 0..9999 and grace a config duration */
        if (t_ms >= e->from_ms - b->opts.grace_ms && t_ms < e->to_ms && strcasecmp(e->id_tag, id_tag) == 0 &&
            booking_covers(e, station, site, connector))
            return e;
    }
    return NULL;
}

int chg_bookings_knows_tag(const struct chg_bookings *b, const char *id_tag)
{
    for (size_t i = 0; id_tag && i < b->n; i++)
        if (strcasecmp(b->v[i].id_tag, id_tag) == 0)
            return 1;
    return 0;
}

size_t chg_bookings_due(const struct chg_bookings *b, int64_t now_ms, const struct chg_booking **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; b->opts.reserve && i < b->n; i++) {
        const struct chg_booking *e = &b->v[i];
        if (e->station && !e->reservation_id && now_ms >= e->from_ms - b->opts.lead_ms && now_ms < e->to_ms) {
            if (k < max)
                out[k] = e;
            k++;
        }
    }
    return k;
}

int chg_bookings_mark_reserved(struct chg_bookings *b, int64_t id, int reservation_id)
{
    struct chg_booking *e = booking_find(b, id);
    if (!e)
        return MST_ENOENT;
    e->reservation_id = reservation_id;
    return 0;
}

cJSON *chg_booking_reserve_now(const struct chg_booking *bk, int reservation_id)
{
    if (!bk->station)
        return NULL;
    char expiry[32];
    mst_time_format(bk->to_ms, expiry);
    cJSON *req = cJSON_CreateObject();
    if (!cJSON_AddNumberToObject(req, "connectorId", bk->connector) ||
        !cJSON_AddStringToObject(req, "expiryDate", expiry) || !cJSON_AddStringToObject(req, "idTag", bk->id_tag) ||
        !cJSON_AddNumberToObject(req, "reservationId", reservation_id)) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

static int booking_time(const cJSON *obj, const char *key, int64_t *out)
{
    return mst_time_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key)), out);
}

/* "station", "site": absent (NULL) or a string; anything else is -1. */
static int booking_optional_string(const cJSON *obj, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = cJSON_GetStringValue(v);
    return v && !*out ? -1 : 0;
}

static const char *booking_parse(const cJSON *obj, struct chg_booking *out)
{
    static const char *const keys[] = {"id_tag", "station", "site", "connector", "from", "to"};
    if (!cJSON_IsObject(obj))
        return "a booking is a JSON object";
    for (const cJSON *kv = obj->child; kv; kv = kv->next) {
        size_t i = 0;
        while (i < sizeof keys / sizeof *keys && strcmp(kv->string, keys[i]) != 0)
            i++;
        if (i == sizeof keys / sizeof *keys)
            return "unknown booking key (valid: id_tag, station, site, connector, from, to)";
    }
    out->id_tag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "id_tag"));
    if (!out->id_tag)
        return "id_tag: the car's id tag, a string";
    if (booking_optional_string(obj, "station", &out->station) < 0 ||
        booking_optional_string(obj, "site", &out->site) < 0)
        return "station, site: a name, a string";
    const cJSON *conn = cJSON_GetObjectItemCaseSensitive(obj, "connector");
    if (conn && !(cJSON_IsNumber(conn) && conn->valuedouble >= 0 && conn->valuedouble <= 1000 &&
                  conn->valuedouble == (int)conn->valuedouble))
        return "connector: 0 (any) or a connector's number";
    out->connector = conn ? (int)conn->valuedouble : 0;
    if (booking_time(obj, "from", &out->from_ms) < 0 || booking_time(obj, "to", &out->to_ms) < 0)
        return "from, to: ISO 8601 times with a zone, e.g. 2026-11-27T10:00:00Z";
    return NULL;
}

int chg_booking_from_json(const cJSON *obj, struct chg_booking *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = booking_parse(obj, out);
    if (*why) {
        memset(out, 0, sizeof *out);
        return MST_EINVAL;
    }
    return 0;
}

cJSON *chg_booking_json(const struct chg_booking *bk)
{
    char from[32], to[32];
    mst_time_format(bk->from_ms, from);
    mst_time_format(bk->to_ms, to);
    cJSON *o = cJSON_CreateObject();
    if (!cJSON_AddNumberToObject(o, "id", (double)bk->id) || !cJSON_AddStringToObject(o, "id_tag", bk->id_tag) ||
        !cJSON_AddStringToObject(o, bk->station ? "station" : "site", bk->station ? bk->station : bk->site) ||
        !cJSON_AddNumberToObject(o, "connector", bk->connector) || !cJSON_AddStringToObject(o, "from", from) ||
        !cJSON_AddStringToObject(o, "to", to) ||
        !cJSON_AddNumberToObject(o, "reservation_id", bk->reservation_id)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

size_t chg_bookings_expire(struct chg_bookings *b, int64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < b->n;) {
        if (b->v[i].to_ms <= now_ms) {
            booking_remove_at(b, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}
