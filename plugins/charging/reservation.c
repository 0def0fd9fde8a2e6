/* reservation.c - reservations the operator makes (OCPP 1.6 Reservation
 * profile), kept in the SQLite file with their state:
 *   Sent -> Accepted (the station took it) | Faulted | Occupied | Rejected |
 *           Unavailable (its answer) | Failed (no answer)
 *   Accepted -> Used (a StartTransaction named it) | Cancelled (the
 *               operator cancelled it) | Expired (past its expiry)
 * The station expires a reservation itself; the plugin marks it Expired at
 * the same time (a timer every 10 s), so the town's view agrees.
 *   POST stations/{id}/reserve {"connector", "id_tag", "expiry"}  ReserveNow
 *   POST stations/{id}/cancel-reservation {"reservation"}         CancelReservation
 *   GET  reservations?station=                                    operator */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

struct reserving {
    struct charging *c;
    mst_http_request *req;
    int64_t id;
    int cancel;
};

static int set_status(struct charging *c, int64_t id, const char *status)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "UPDATE reservation SET status = ?2 WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
    return chg_db_finish(q);
}

static void answered(void *arg, const struct chg_reply *r)
{
    struct reserving *w = arg;
    const cJSON *status = r->outcome == CHG_CALL_RESULT ? cJSON_GetObjectItemCaseSensitive(r->payload, "status") : NULL;
    const char *s = cJSON_IsString(status) ? status->valuestring : "Failed";
    if (w->cancel)
        s = strcmp(s, "Accepted") == 0 ? "Cancelled" : NULL;
    if (s)
        set_status(w->c, w->id, s);
    if (r->outcome == CHG_CALL_RESULT) {
        cJSON *out = cJSON_Duplicate(r->payload, 1);
        if (out && !w->cancel)
            cJSON_AddNumberToObject(out, "reservation", (double)w->id);
        chg_respond_json(w->c, w->req, 200, out);
    } else {
        chg_respond_error(w->c, w->req, r->outcome == CHG_CALL_TIMEOUT ? 504 : 502,
                          r->text ? r->text : "the charge point did not take it");
    }
    free(w);
}

/* Sends action (payload taken) for reservation id; answers req with the .conf. */
static void send(struct charging *c, mst_http_request *req, struct chg_station *st, const char *action, cJSON *p,
                 int64_t id, int cancel)
{
    char why[256] = "";
    struct reserving *w = calloc(1, sizeof *w);
    int rc = w && p ? 0 : MST_ENOMEM;
    if (rc == 0) {
        *w = (struct reserving){c, req, id, cancel};
        rc = chg_call(c, st, action, p, answered, w, why, sizeof why);
    }
    cJSON_Delete(p);
    if (rc == 0)
        return;
    free(w);
    if (!cancel)
        set_status(c, id, "Failed");
    chg_respond_error(c, req, rc == MST_ECLOSED ? 409 : rc == MST_EINVAL ? 400 : 500,
                      why[0] ? why : mst_strerror(rc));
}

static int64_t insert(struct charging *c, const char *station, int connector, const char *tag, int64_t expiry)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO reservation (station, connector, id_tag, expiry_ms, status)"
                           " VALUES (?1, ?2, ?3, ?4, 'Sent')",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, connector);
    sqlite3_bind_text(q, 3, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, expiry);
    return chg_db_finish(q) == 0 ? sqlite3_last_insert_rowid(c->db) : -1;
}

void chg_reserve(struct charging *c, mst_http_request *req, struct chg_station *st, const cJSON *body)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(body, "connector");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(body, "id_tag");
    const cJSON *expiry = cJSON_GetObjectItemCaseSensitive(body, "expiry");
    int64_t until;
    if (!cJSON_IsNumber(k) || k->valuedouble < 0 || k->valuedouble > CHG_MAX_CONNECTORS || !cJSON_IsString(tag) ||
        !cJSON_IsString(expiry) || mst_time_parse(expiry->valuestring, &until) != 0) {
        chg_respond_error(c, req, 400, "send {\"connector\": 1, \"id_tag\": \"...\", \"expiry\": \"ISO 8601 time\"}");
        return;
    }
    int64_t id = insert(c, st->id, (int)k->valuedouble, tag->valuestring, until);
    if (id <= 0 || id > INT32_MAX) {
        chg_respond_error(c, req, 500, "the reservation could not be stored");
        return;
    }
    char when[32];
    mst_time_format(until, when);
    cJSON *p = cJSON_CreateObject();
    if (p && !(cJSON_AddNumberToObject(p, "connectorId", k->valuedouble) &&
               cJSON_AddStringToObject(p, "expiryDate", when) &&
               cJSON_AddStringToObject(p, "idTag", tag->valuestring) &&
               cJSON_AddNumberToObject(p, "reservationId", (double)id))) {
        cJSON_Delete(p);
        p = NULL;
    }
    send(c, req, st, "ReserveNow", p, id, 0);
}

void chg_cancel_reservation(struct charging *c, mst_http_request *req, struct chg_station *st, const cJSON *body)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "reservation");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > INT32_MAX) {
        chg_respond_error(c, req, 400, "send {\"reservation\": <its id>}");
        return;
    }
    cJSON *p = cJSON_CreateObject();
    if (p && !cJSON_AddNumberToObject(p, "reservationId", id->valuedouble)) {
        cJSON_Delete(p);
        p = NULL;
    }
    send(c, req, st, "CancelReservation", p, (int64_t)id->valuedouble, 1);
}

void chg_reservation_used(struct charging *c, const char *station, int64_t id)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "UPDATE reservation SET status = 'Used' WHERE id = ?1 AND station = ?2", -1, &q,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, station, -1, SQLITE_STATIC);
    chg_db_finish(q);
}

static void expire(void *arg)
{
    struct charging *c = arg;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "UPDATE reservation SET status = 'Expired' WHERE status IN ('Sent', 'Accepted')"
                           " AND expiry_ms <= ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(q, 1, chg_wall_ms());
    chg_db_finish(q);
}

int chg_reservations_start(struct charging *c)
{
    return c->host->timer_start(c->inst, 10000, 10000, expire, c, &c->reservations_timer);
}

static cJSON *row(sqlite3_stmt *q)
{
    cJSON *o = cJSON_CreateObject();
    char when[32];
    mst_time_format(sqlite3_column_int64(q, 4), when);
    if (o && cJSON_AddNumberToObject(o, "reservation", (double)sqlite3_column_int64(q, 0)) &&
        cJSON_AddStringToObject(o, "station", (const char *)sqlite3_column_text(q, 1)) &&
        cJSON_AddNumberToObject(o, "connector", sqlite3_column_int(q, 2)) &&
        cJSON_AddStringToObject(o, "id_tag", (const char *)sqlite3_column_text(q, 3)) &&
        cJSON_AddStringToObject(o, "expiry", when) &&
        cJSON_AddStringToObject(o, "status", (const char *)sqlite3_column_text(q, 5)))
        return o;
    cJSON_Delete(o);
    return NULL;
}

void chg_api_reservations(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    const char *station = c->host->http_query_param(req, "station");
    sqlite3_stmt *q;
    cJSON *list = cJSON_CreateArray();
    expire(c); /* what the timer has not reached yet */
    if (!list || sqlite3_prepare_v2(c->db,
                                    "SELECT id, station, connector, id_tag, expiry_ms, status FROM reservation"
                                    " WHERE ?1 IS NULL OR station = ?1 ORDER BY id DESC LIMIT 1000",
                                    -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(list);
        chg_respond_json(c, req, 500, NULL);
        return;
    }
    if (station)
        sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    int ok = 1;
    while (ok && sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = row(q);
        ok = o && cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    sqlite3_finalize(q);
    if (!ok) {
        cJSON_Delete(list);
        list = NULL;
    }
    chg_respond_json(c, req, 200, list);
}
