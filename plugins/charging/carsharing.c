/* carsharing.c - the fleet's and carsharing's bookings wired to the charge
 * points: kept in the SQLite file, held in booking.c's calendar, managed
 * over HTTP (GET/POST bookings, DELETE bookings/{id}), asked at Authorize
 * and StartTransaction, and reserving their connector with ReserveNow when
 * bookings.reserve is set.
 *
 * A tag with bookings is a car of the town's: inside a slot (from
 * grace_min before it) it is Accepted there, in the carsharing class of load
 * management; anywhere else, or outside its slots, it is Invalid -- never
 * taken for a public card.  A booking's reservation id is its own id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

#define DUE_MAX 64

static int load(struct charging *c)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, id_tag, station, site, connector, from_ms, to_ms, reservation_id FROM booking"
                           " WHERE to_ms > ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_int64(q, 1, chg_wall_ms());
    int rc = 0;
    while (rc != MST_ENOMEM && sqlite3_step(q) == SQLITE_ROW) {
        struct chg_booking bk = {.id = sqlite3_column_int64(q, 0),
                                 .id_tag = (const char *)sqlite3_column_text(q, 1),
                                 .station = (const char *)sqlite3_column_text(q, 2),
                                 .site = (const char *)sqlite3_column_text(q, 3),
                                 .connector = sqlite3_column_int(q, 4),
                                 .from_ms = sqlite3_column_int64(q, 5),
                                 .to_ms = sqlite3_column_int64(q, 6),
                                 .reservation_id = sqlite3_column_int(q, 7)};
        char why[200];
        rc = chg_bookings_add(c->bookings, &bk, why, sizeof why);
        if (rc != 0 && rc != MST_ENOMEM)
            c->host->log(c->inst, MST_LOG_WARN, "booking %lld in the file: %s (left out)", (long long)bk.id, why);
    }
    sqlite3_finalize(q);
    return rc == MST_ENOMEM ? rc : 0;
}

int chg_bookings_init(struct charging *c)
{
    int64_t grace = 15, lead = 10;
    int reserve = 0;
    c->host->config_int(c->inst, "bookings.grace_min", &grace);
    c->host->config_int(c->inst, "bookings.lead_min", &lead);
    c->host->config_bool(c->inst, "bookings.reserve", &reserve);
    struct chg_booking_opts o = {.grace_ms = grace * 60000, .reserve = reserve, .lead_ms = lead * 60000};
    int rc = chg_bookings_new(&o, &c->bookings);
    return rc == 0 ? load(c) : rc;
}

int chg_bookings_judge(struct charging *c, const struct chg_station *st, int connector, const char *tag,
                       const char **status)
{
    if (!chg_bookings_knows_tag(c->bookings, tag))
        return 0;
    int in_slot = chg_bookings_authorizing(c->bookings, tag, st->id, st->site, connector, chg_wall_ms()) != NULL;
    *status = in_slot ? "Accepted" : "Invalid";
    return in_slot ? 1 : -1;
}

/* --- ReserveNow ahead of a slot ----------------------------------------------- */

static void reserved(void *arg, const struct chg_reply *r)
{
    (void)arg, (void)r; /* a station that refuses keeps the slot open; the booking still authorizes */
}

static void tick(void *arg)
{
    struct charging *c = arg;
    const struct chg_booking *due[DUE_MAX];
    chg_bookings_expire(c->bookings, chg_wall_ms());
    size_t n = chg_bookings_due(c->bookings, chg_wall_ms(), due, DUE_MAX);
    for (size_t i = 0; i < n && i < DUE_MAX; i++) {
        struct chg_station *st = chg_station_find(c, due[i]->station);
        cJSON *p = chg_booking_reserve_now(due[i], (int)due[i]->id);
        char why[256];
        int64_t id = due[i]->id;
        if (st && p && chg_call(c, st, "ReserveNow", p, reserved, NULL, why, sizeof why) == 0 &&
            chg_bookings_mark_reserved(c->bookings, id, (int)id) == 0) {
            char text[24];
            snprintf(text, sizeof text, "%lld", (long long)id);
            chg_db_exec1(c, "UPDATE booking SET reservation_id = id WHERE id = CAST(?1 AS INTEGER)", text);
        }
        cJSON_Delete(p);
    }
}

int chg_bookings_start(struct charging *c)
{
    return c->host->timer_start(c->inst, 1000, 30000, tick, c, &c->bookings_timer);
}

/* --- the operator API ------------------------------------------------------------ */

static cJSON *listing(struct charging *c)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < chg_bookings_count(c->bookings); i++) {
        cJSON *o = chg_booking_json(chg_bookings_at(c->bookings, i));
        if (!o || !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

static int insert(struct charging *c, struct chg_booking *bk)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO booking (id_tag, station, site, connector, from_ms, to_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(q, 1, bk->id_tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, bk->station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, bk->site, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, bk->connector);
    sqlite3_bind_int64(q, 5, bk->from_ms);
    sqlite3_bind_int64(q, 6, bk->to_ms);
    int rc = chg_db_finish(q);
    bk->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void add(struct charging *c, mst_http_request *req)
{
    size_t len;
    const char *body = c->host->http_body(req, &len);
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    struct chg_booking bk;
    const char *why = NULL;
    char msg[300];
    int rc = chg_unknown_key(j, (const char *const[]){"id_tag", "station", "connector", "site", "from", "to", NULL},
                             msg, sizeof msg)
                 ? (why = msg, MST_EINVAL)
                 : chg_booking_from_json(j, &bk, &why);
    if (rc == 0 && bk.station && !chg_station_find(c, bk.station)) {
        rc = MST_EINVAL;
        why = "station: no such charge point";
    }
    if (rc != 0) {
        chg_respond_error(c, req, 400, why ? why : "send a booking object");
        cJSON_Delete(j);
        return;
    }
    sqlite3_exec(c->db, "SAVEPOINT booking", NULL, NULL, NULL);
    rc = insert(c, &bk);
    if (rc == 0 && (rc = chg_bookings_add(c->bookings, &bk, msg, sizeof msg)) != 0)
        chg_respond_error(c, req, rc == MST_EEXIST ? 409 : rc == MST_EINVAL ? 400 : 500, msg);
    else if (rc != 0)
        chg_respond_error(c, req, 500, "the booking could not be stored");
    sqlite3_exec(c->db, rc == 0 ? "RELEASE booking" : "ROLLBACK TO booking; RELEASE booking", NULL, NULL, NULL);
    if (rc == 0) {
        tick(c); /* a booking whose reservation is due now gets it now, not at the next tick */
        chg_respond_json(c, req, 201, chg_booking_json(chg_bookings_get(c->bookings, bk.id)));
    }
    cJSON_Delete(j);
}

void chg_api_bookings(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *method = c->host->http_method(req), *sub = c->host->http_subpath(req);
    if (method[0] == 'G') {
        chg_respond_json(c, req, 200, listing(c));
        return;
    }
    if (method[0] == 'P') {
        add(c, req);
        return;
    }
    char *end;
    long long id = strtoll(sub, &end, 10);
    if (end == sub || *end || chg_bookings_remove(c->bookings, id) != 0) {
        chg_respond_error(c, req, 404, "no such booking");
        return;
    }
    char text[24];
    snprintf(text, sizeof text, "%lld", id);
    chg_db_exec1(c, "DELETE FROM booking WHERE id = CAST(?1 AS INTEGER)", text);
    c->host->http_respond(req, 204, "application/json", "", 0);
}
