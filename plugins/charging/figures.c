/* figures.c - what the town publishes about its charging, with nothing
 * about a person in it:
 *   GET energy?month=YYYY-MM         energy charged per station in a month (sessions stopped in it)
 *   GET availability?day=YYYY-MM-DD  uptime % per connector on a day (UTC)
 * Uptime comes from the connector log: every StatusNotification, and
 * "Offline" for every connector of a station whose connection closed.  A
 * connector is up while its last state is one a driver can use (Available,
 * Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing, Reserved) and
 * down otherwise (Unavailable, Faulted, Offline); time before its first
 * entry counts as down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

#define DAY_MS 86400000

void chg_figures_log(struct charging *c, const char *station, int connector, const char *status, int64_t at_ms)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO connector_log (station, connector, status, at_ms) VALUES (?1, ?2, ?3, ?4)",
                           -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, connector);
    sqlite3_bind_text(q, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, at_ms);
    chg_db_finish(q);
}

void chg_figures_offline(struct charging *c, const struct chg_station *st)
{
    int64_t now = chg_wall_ms();
    for (int i = 1; i <= st->n_connectors; i++)
        chg_figures_log(c, st->id, i, "Offline", now);
}

static int is_up(const char *status)
{
    static const char *const up[] = {"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
                                      "Finishing", "Reserved"};
    for (size_t i = 0; status && i < sizeof up / sizeof up[0]; i++)
        if (strcmp(status, up[i]) == 0)
            return 1;
    return 0;
}

/* Milliseconds connector (station, n) was up in [from, to). */
static int64_t up_ms(struct charging *c, const char *station, int n, int64_t from, int64_t to)
{
    sqlite3_stmt *q;
    /* the state it was in at `from`, then every change within the day */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT at_ms, status FROM (SELECT at_ms, status FROM connector_log WHERE station = ?1 AND"
                           " connector = ?2 AND at_ms < ?3 ORDER BY at_ms DESC, rowid DESC LIMIT 1)"
                           " UNION ALL SELECT at_ms, status FROM (SELECT at_ms, status FROM connector_log"
                           " WHERE station = ?1 AND connector = ?2 AND at_ms >= ?3 AND at_ms < ?4"
                           " ORDER BY at_ms, rowid)",
                           -1, &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, n);
    sqlite3_bind_int64(q, 3, from);
    sqlite3_bind_int64(q, 4, to);
    int64_t total = 0, since = from;
    int up = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(q, 0);
        at = at < from ? from : at;
        if (up)
            total += at - since;
        since = at;
        up = is_up((const char *)sqlite3_column_text(q, 1));
    }
    sqlite3_finalize(q);
    if (up)
        total += to - since;
    return total;
}

static void availability(struct charging *c, mst_http_request *req)
{
    const char *day = c->host->http_query_param(req, "day");
    int64_t from;
    if (!day || strlen(day) != 10 || mst_time_parse(day, &from) != 0) {
        chg_respond_error(c, req, 400, "day: YYYY-MM-DD (UTC)");
        return;
    }
    /* a day not over yet counts up to now */
    int64_t now = chg_wall_ms(), to = from + DAY_MS < now ? from + DAY_MS : now;
    cJSON *list = cJSON_CreateArray();
    for (const struct chg_station *st = c->stations; list && st; st = st->next) {
        for (int i = 1; i <= st->n_connectors; i++) {
            double pct = to > from ? 100.0 * (double)up_ms(c, st->id, i, from, to) / (double)(to - from) : 0;
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(list, o) || !cJSON_AddStringToObject(o, "station", st->id) ||
                !cJSON_AddNumberToObject(o, "connector", i) || !cJSON_AddStringToObject(o, "day", day) ||
                !cJSON_AddNumberToObject(o, "uptime_percent", pct)) {
                cJSON_Delete(list);
                list = NULL;
                break;
            }
        }
    }
    chg_respond_json(c, req, 200, list);
}

static void energy(struct charging *c, mst_http_request *req)
{
    const char *month = c->host->http_query_param(req, "month");
    char first[32];
    int64_t from, to;
    int y, m;
    if (!month || strlen(month) != 7 || sscanf(month, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12 ||
        (snprintf(first, sizeof first, "%s-01", month), mst_time_parse(first, &from) != 0)) {
        chg_respond_error(c, req, 400, "month: YYYY-MM (UTC)");
        return;
    }
    snprintf(first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    sqlite3_stmt *q;
    cJSON *list = cJSON_CreateArray();
    if (!list || mst_time_parse(first, &to) != 0 ||
        sqlite3_prepare_v2(c->db,
                           "SELECT station, SUM(meter_stop - meter_start), COUNT(*) FROM txn WHERE stop_ms >= ?1 AND"
                           " stop_ms < ?2 AND meter_stop >= meter_start GROUP BY station ORDER BY station",
                           -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(list);
        chg_respond_json(c, req, 500, NULL);
        return;
    }
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    int ok = 1;
    while (ok && sqlite3_step(q) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(list, o) &&
             cJSON_AddStringToObject(o, "station", (const char *)sqlite3_column_text(q, 0)) &&
             cJSON_AddStringToObject(o, "month", month) &&
             cJSON_AddNumberToObject(o, "energy_kwh", (double)sqlite3_column_int64(q, 1) / 1000) &&
             cJSON_AddNumberToObject(o, "sessions", sqlite3_column_int(q, 2));
    }
    sqlite3_finalize(q);
    if (!ok) {
        cJSON_Delete(list);
        list = NULL;
    }
    chg_respond_json(c, req, 200, list);
}

void chg_api_figures(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    if (strstr(c->host->http_path(req), "/availability"))
        availability(c, req);
    else
        energy(c, req);
}
