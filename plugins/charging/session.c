/* session.c - charging sessions (OCPP transactions) and their meter
 * values in the SQLite file.
 *
 * Everything is keyed by what the charge point says, so it survives a
 * restart of the daemon or a reconnect of the station: a StopTransaction
 * finds its session by (station, transactionId) in the file, whatever
 * happened in between; a resent start finds the session it opened the
 * first time (db.c's UNIQUE key); a resent stop changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "charging.h"

/* What identifies a start (db.c's UNIQUE key): ?1 station, ?2 connector,
 * ?3 idTag, ?4 timestamp, ?6 meterStart. */
static void bind_start(sqlite3_stmt *q, const struct chg_start *s)
{
    sqlite3_bind_text(q, 1, s->station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, s->connector);
    sqlite3_bind_text(q, 3, s->id_tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, s->timestamp, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, s->meter_start);
}

int chg_session_start(struct charging *c, const struct chg_start *s, int64_t *txn, int *existed)
{
    sqlite3_stmt *q;
    int rc = MST_EDB;
    *existed = 0;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO txn (station, connector, id_tag, start_time, start_ms, meter_start,"
                           " reservation_id, authorized) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                           " ON CONFLICT (station, connector, id_tag, start_time, meter_start) DO NOTHING",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    bind_start(q, s);
    sqlite3_bind_int64(q, 5, s->start_ms);
    if (s->has_reservation)
        sqlite3_bind_int64(q, 7, s->reservation_id);
    sqlite3_bind_int(q, 8, !s->unauthorized);
    if (sqlite3_step(q) == SQLITE_DONE) {
        rc = 0;
        *existed = sqlite3_changes(c->db) == 0;
    }
    sqlite3_finalize(q);
    if (rc != 0 || sqlite3_prepare_v2(c->db,
                                      "SELECT id FROM txn WHERE station = ?1 AND connector = ?2 AND id_tag = ?3 AND"
                                      " start_time = ?4 AND meter_start = ?6",
                                      -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    bind_start(q, s);
    rc = MST_EDB;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *txn = sqlite3_column_int64(q, 0);
        rc = 0;
    }
    sqlite3_finalize(q);
    return rc;
}

int chg_session_find(struct charging *c, const char *station, int64_t txn, struct chg_session *out)
{
    sqlite3_stmt *q = chg_db_cached(c, CHG_STMT_FIND_SESSION);
    if (!q)
        return MST_EDB;
    sqlite3_bind_int64(q, 1, txn);
    sqlite3_bind_text(q, 2, station, -1, SQLITE_STATIC);
    int rc = MST_ENOENT;
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->id = txn;
        out->connector = sqlite3_column_int(q, 0);
        out->start_ms = sqlite3_column_int64(q, 1);
        out->meter_start = sqlite3_column_int64(q, 2);
        out->stopped = sqlite3_column_type(q, 3) != SQLITE_NULL;
        out->stop_ms = sqlite3_column_int64(q, 3);
        out->meter_stop = sqlite3_column_int64(q, 4);
        rc = 0;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

#define COST_SAMPLES 4096 /* energy readings a cost is computed from (the newest are kept) */

/* The cost of the session just stopped, from its tariff and readings. */
static int price(struct charging *c, const struct chg_stop *s, const struct chg_tariff *t)
{
    struct chg_session found;
    sqlite3_stmt *q;
    int rc = chg_session_find(c, s->station, s->txn, &found);
    struct chg_meter_sample *samples = calloc(COST_SAMPLES, sizeof *samples);
    size_t n = 0;
    if (rc == 0 && !samples)
        rc = MST_ENOMEM;
    if (rc == 0 && sqlite3_prepare_v2(c->db,
                                      "SELECT time_ms, value FROM (SELECT time_ms, value FROM meter_value WHERE txn = ?1"
                                      " AND measurand = 'Energy.Active.Import.Register' AND phase IS NULL"
                                      " ORDER BY time_ms DESC LIMIT ?2) ORDER BY time_ms",
                                      -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, s->txn);
        sqlite3_bind_int(q, 2, COST_SAMPLES);
        while (sqlite3_step(q) == SQLITE_ROW && n < COST_SAMPLES)
            samples[n++] = (struct chg_meter_sample){sqlite3_column_int64(q, 0), (int64_t)sqlite3_column_double(q, 1)};
        sqlite3_finalize(q);
    }
    struct chg_session_usage u = {.meter_start_wh = found.meter_start, .meter_stop_wh = s->meter_stop,
                                  .start_ms = found.start_ms, .stop_ms = s->stop_ms, .samples = samples,
                                  .n_samples = n};
    struct chg_cost cost;
    if (rc == 0)
        rc = chg_tariff_cost(t, &u, &cost);
    free(samples);
    if (rc != 0 || sqlite3_prepare_v2(c->db, "UPDATE txn SET cost = ?2, currency = ?3 WHERE id = ?1 AND authorized", -1, &q,
                                      NULL) != SQLITE_OK)
        return rc ? rc : MST_EDB;
    sqlite3_bind_int64(q, 1, s->txn);
    sqlite3_bind_double(q, 2, (double)cost.total / 100);
    sqlite3_bind_text(q, 3, t->currency, -1, SQLITE_STATIC);
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_finalize(q);
    return rc;
}

int chg_session_stop(struct charging *c, const struct chg_stop *s, const struct chg_tariff *t)
{
    sqlite3_stmt *q;
    /* "stop_ms IS NULL": a stop sent again changes nothing */
    if (sqlite3_prepare_v2(c->db,
                           "UPDATE txn SET stop_time = ?3, stop_ms = ?4, meter_stop = ?5, stop_reason = ?6,"
                           " stop_id_tag = ?7 WHERE id = ?1 AND station = ?2 AND stop_ms IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_int64(q, 1, s->txn);
    sqlite3_bind_text(q, 2, s->station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->timestamp, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, s->stop_ms);
    sqlite3_bind_int64(q, 5, s->meter_stop);
    sqlite3_bind_text(q, 6, s->reason, -1, SQLITE_STATIC);
    if (s->id_tag)
        sqlite3_bind_text(q, 7, s->id_tag, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : MST_EDB;
    int stopped = rc == 0 && sqlite3_changes(c->db) == 1;
    sqlite3_finalize(q);
    if (stopped && price(c, s, t) != 0)
        c->host->log(c->inst, MST_LOG_WARN, "session %lld: no cost computed (its meter readings do not add up)",
                     (long long)s->txn);
    return rc;
}

int chg_session_meter(struct charging *c, const struct chg_sample *m)
{
    sqlite3_stmt *q = chg_db_cached(c, CHG_STMT_METER);
    if (!q)
        return MST_EDB;
    if (m->txn > 0)
        sqlite3_bind_int64(q, 1, m->txn);
    sqlite3_bind_text(q, 2, m->station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, m->connector);
    sqlite3_bind_int64(q, 4, m->time_ms);
    sqlite3_bind_text(q, 5, m->measurand, -1, SQLITE_STATIC);
    if (m->phase)
        sqlite3_bind_text(q, 6, m->phase, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, m->unit, -1, SQLITE_STATIC);
    if (m->context)
        sqlite3_bind_text(q, 8, m->context, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 9, m->value);
    return chg_db_reuse(q);
}

/* One row of the sessions listing. */
static cJSON *session_row(sqlite3_stmt *q, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    int64_t start_ms = sqlite3_column_int64(q, 4), meter_start = sqlite3_column_int64(q, 5);
    int stopped = sqlite3_column_type(q, 6) != SQLITE_NULL;
    int64_t end_ms = stopped ? sqlite3_column_int64(q, 6) : now_ms;
    /* energy: the stop reading, else the last energy register reading */
    int has_energy = stopped || sqlite3_column_type(q, 9) != SQLITE_NULL;
    double wh = stopped ? (double)sqlite3_column_int64(q, 7) : sqlite3_column_double(q, 9);
    char when[32];
    int ok = o && cJSON_AddNumberToObject(o, "transaction", (double)sqlite3_column_int64(q, 0)) &&
             cJSON_AddStringToObject(o, "station", (const char *)sqlite3_column_text(q, 1)) &&
             cJSON_AddNumberToObject(o, "connector", sqlite3_column_int(q, 2)) &&
             cJSON_AddStringToObject(o, "id_tag", (const char *)sqlite3_column_text(q, 3));
    mst_time_format(start_ms, when);
    ok = ok && cJSON_AddStringToObject(o, "start", when);
    mst_time_format(end_ms, when);
    ok = ok && (stopped ? cJSON_AddStringToObject(o, "stop", when) : cJSON_AddNullToObject(o, "stop")) &&
         cJSON_AddNumberToObject(o, "duration_s", end_ms > start_ms ? (double)(end_ms - start_ms) / 1000 : 0) &&
         (has_energy ? cJSON_AddNumberToObject(o, "energy_kwh", (wh - (double)meter_start) / 1000)
                     : cJSON_AddNullToObject(o, "energy_kwh")) &&
         (sqlite3_column_type(q, 8) != SQLITE_NULL
              ? cJSON_AddStringToObject(o, "stop_reason", (const char *)sqlite3_column_text(q, 8))
              : cJSON_AddNullToObject(o, "stop_reason")) &&
         (sqlite3_column_type(q, 10) != SQLITE_NULL ? cJSON_AddNumberToObject(o, "cost", sqlite3_column_double(q, 10))
                                                    : cJSON_AddNullToObject(o, "cost")) &&
         (sqlite3_column_type(q, 11) != SQLITE_NULL
              ? cJSON_AddStringToObject(o, "currency", (const char *)sqlite3_column_text(q, 11))
              : cJSON_AddNullToObject(o, "currency")) &&
         cJSON_AddBoolToObject(o, "authorized", sqlite3_column_int(q, 12));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *chg_sessions_json(struct charging *c, const char *station, int open_only, int64_t limit)
{
    sqlite3_stmt *q;
    cJSON *list = cJSON_CreateArray();
    if (!list ||
        sqlite3_prepare_v2(
            c->db,
            "SELECT id, station, connector, id_tag, start_ms, meter_start, stop_ms, meter_stop, stop_reason,"
            " (SELECT value FROM meter_value m WHERE m.txn = t.id AND m.measurand = 'Energy.Active.Import.Register'"
            "  ORDER BY time_ms DESC LIMIT 1), cost, currency, authorized"
            " FROM txn t WHERE (?1 IS NULL OR station = ?1) AND (?2 = 0 OR stop_ms IS NULL)"
            " ORDER BY id DESC LIMIT ?3",
            -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(list);
        return NULL;
    }
    if (station)
        sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, open_only);
    sqlite3_bind_int64(q, 3, limit);
    int64_t now = chg_wall_ms();
    int ok = 1;
    while (ok && sqlite3_step(q) == SQLITE_ROW) {
        cJSON *row = session_row(q, now);
        ok = row && cJSON_AddItemToArray(list, row);
        if (!ok)
            cJSON_Delete(row);
    }
    sqlite3_finalize(q);
    if (!ok) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}
