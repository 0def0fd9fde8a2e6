/* figures.c - what the town publishes about its charging, with nothing
 * about a person in it:
 *   GET energy?month=YYYY-MM         energy charged per station in a month (sessions stopped in it)
 *   GET availability?day=YYYY-MM-DD  uptime % per connector on a day (UTC)
 *   POST figures/publish             operator: one period's rows on the bus now
 * and the same rows on the bus (charging/energy, charging/uptime) for the
 * store to keep and opendata to serve: each closed day and month once, by
 * a timer; the running one when the operator asks.  Also what a connector's
 * charging/status row says about it besides its state (plug, power, price).
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

int chg_figures_describe(const struct chg_station *st, int n, cJSON *o)
{
    const struct chg_connector *k = &st->connectors[n];
    const struct chg_tariff *t = &st->tariff;
    char text[256], kwh[24], minute[24], session[24], when[32];
    chg_tariff_text(t, text, sizeof text);
    chg_money_format(t->per_kwh, kwh, sizeof kwh);
    chg_money_format(t->per_minute, minute, sizeof minute);
    chg_money_format(t->per_session, session, sizeof session);
    mst_time_format(st->last_contact_wall, when);
    /* connector 0 is the charge point as a whole: no plug of its own */
    int ok = (n == 0 || (cJSON_AddStringToObject(o, "connector_type", k->type) &&
                         cJSON_AddNumberToObject(o, "max_kw", k->max_w / 1000) &&
                         cJSON_AddNumberToObject(o, "phases", k->phases))) &&
             cJSON_AddStringToObject(o, "price", text) && cJSON_AddStringToObject(o, "currency", t->currency) &&
             cJSON_AddStringToObject(o, "price_per_kwh", kwh) &&
             cJSON_AddStringToObject(o, "price_per_minute", minute) &&
             cJSON_AddStringToObject(o, "price_per_session", session) &&
             cJSON_AddNumberToObject(o, "vat_percent", t->vat_bp / 100.0) &&
             (st->last_contact_wall ? cJSON_AddStringToObject(o, "last_contact", when) != NULL
                                    : cJSON_AddNullToObject(o, "last_contact") != NULL);
    if (ok && st->has_location)
        ok = cJSON_AddNumberToObject(o, "lat", st->lat) && cJSON_AddNumberToObject(o, "lon", st->lon);
    return ok ? 0 : MST_ENOMEM;
}

void chg_figures_offline(struct charging *c, const struct chg_station *st)
{
    int64_t now = chg_wall_ms();
    char when[32];
    mst_time_format(now, when);
    for (int i = 1; i <= st->n_connectors; i++) {
        chg_figures_log(c, st->id, i, "Offline", now);
        /* live availability: a station gone is not its connectors' last state */
        cJSON *e = cJSON_CreateObject();
        if (e && (!cJSON_AddStringToObject(e, "station", st->id) || !cJSON_AddNumberToObject(e, "connector", i) ||
                  !cJSON_AddStringToObject(e, "status", "Offline") ||
                  !cJSON_AddStringToObject(e, "error_code", "NoError") || !cJSON_AddStringToObject(e, "time", when) ||
                  chg_figures_describe(st, i, e) != 0)) {
            cJSON_Delete(e);
            e = NULL;
        }
        chg_publish(c, "charging/status", e);
    }
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

/* "YYYY-MM-DD" into the first ms of that UTC day. */
static int parse_day(const char *day, int64_t *from)
{
    return day && strlen(day) == 10 && mst_time_parse(day, from) == 0 ? 0 : MST_EINVAL;
}

/* "YYYY-MM" into [from, to) of that UTC month. */
static int parse_month(const char *month, int64_t *from, int64_t *to)
{
    char first[32];
    int y, m;
    if (!month || strlen(month) != 7 || sscanf(month, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12)
        return MST_EINVAL;
    snprintf(first, sizeof first, "%s-01", month);
    if (mst_time_parse(first, from) != 0)
        return MST_EINVAL;
    snprintf(first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    return mst_time_parse(first, to) == 0 ? 0 : MST_EINVAL;
}

/* Uptime % per connector on day (from: its first ms); a day not over yet
 * counts up to now.  NULL: out of memory. */
static cJSON *uptime_rows(struct charging *c, const char *day, int64_t from)
{
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
                return NULL;
            }
        }
    }
    return list;
}

/* Energy per station of the sessions stopped in [from, to).  NULL: out of
 * memory or the file failed. */
static cJSON *energy_rows(struct charging *c, const char *month, int64_t from, int64_t to)
{
    sqlite3_stmt *q;
    cJSON *list = cJSON_CreateArray();
    if (!list || sqlite3_prepare_v2(c->db,
                                    "SELECT station, SUM(meter_stop - meter_start), COUNT(*) FROM txn WHERE"
                                    " stop_ms >= ?1 AND stop_ms < ?2 AND meter_stop >= meter_start AND authorized"
                                    " GROUP BY station ORDER BY station",
                                    -1, &q, NULL) != SQLITE_OK) {
        cJSON_Delete(list);
        return NULL;
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
        return NULL;
    }
    return list;
}

static void availability(struct charging *c, mst_http_request *req)
{
    const char *day = c->host->http_query_param(req, "day");
    int64_t from;
    if (parse_day(day, &from) != 0) {
        chg_respond_error(c, req, 400, "day: YYYY-MM-DD (UTC)");
        return;
    }
    chg_respond_json(c, req, 200, uptime_rows(c, day, from));
}

static void energy(struct charging *c, mst_http_request *req)
{
    const char *month = c->host->http_query_param(req, "month");
    int64_t from, to;
    if (parse_month(month, &from, &to) != 0) {
        chg_respond_error(c, req, 400, "month: YYYY-MM (UTC)");
        return;
    }
    chg_respond_json(c, req, 200, energy_rows(c, month, from, to));
}

/* --- on the bus ------------------------------------------------------------ */

/* Each row of rows (freed) on topic, with "final": whether its period is
 * over (a running one's figures still change).  Returns how many. */
static int publish_rows(struct charging *c, const char *topic, cJSON *rows, int final)
{
    int n = 0;
    cJSON *row;
    while (rows && (row = cJSON_DetachItemFromArray(rows, 0)) != NULL) {
        if (!cJSON_AddBoolToObject(row, "final", final)) {
            cJSON_Delete(row);
            row = NULL;
        }
        chg_publish(c, topic, row);
        n++;
    }
    cJSON_Delete(rows);
    return n;
}

/* 1 if (kind, period) was published closed before; else marks it (0). */
static int mark_published(struct charging *c, const char *kind, const char *period)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO figures_published (kind, period) VALUES (?1, ?2)", -1, &q,
                           NULL) != SQLITE_OK)
        return 1; /* the file failed: try again at the next tick rather than twice */
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, period, -1, SQLITE_STATIC);
    int rc = chg_db_finish(q);
    return rc != 0 || sqlite3_changes(c->db) == 0;
}

/* The last closed day and month, each once (kept in the file). */
static void publish_closed(void *arg)
{
    struct charging *c = arg;
    int64_t today = chg_wall_ms() / DAY_MS * DAY_MS, from, to;
    char day[32], month[32];
    mst_time_format(today - DAY_MS, day);
    day[10] = '\0';
    if (parse_day(day, &from) == 0 && !mark_published(c, "uptime", day))
        publish_rows(c, "charging/uptime", uptime_rows(c, day, from), 1);
    /* the month the day before this month's first day is in */
    char first[32];
    mst_time_format(today, first);
    snprintf(first + 8, sizeof first - 8, "01");
    if (mst_time_parse(first, &from) != 0)
        return;
    mst_time_format(from - DAY_MS, month);
    month[7] = '\0';
    if (parse_month(month, &from, &to) == 0 && !mark_published(c, "energy", month))
        publish_rows(c, "charging/energy", energy_rows(c, month, from, to), 1);
}

int chg_figures_start(struct charging *c)
{
    /* at start (the daemon may have been down when a day closed), then every 10 minutes */
    return c->host->timer_start(c->inst, 1, 600000, publish_closed, c, &c->figures_timer);
}

/* POST figures/publish {"day": "YYYY-MM-DD"} or {"month": "YYYY-MM"} */
void chg_api_publish(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    size_t len;
    const char *text = c->host->http_body(req, &len);
    cJSON *body = text ? cJSON_ParseWithLength(text, len) : NULL;
    const cJSON *day = cJSON_GetObjectItemCaseSensitive(body, "day");
    const cJSON *month = cJSON_GetObjectItemCaseSensitive(body, "month");
    int64_t from, to, now = chg_wall_ms();
    int n = -1;
    char bad[200];
    if (chg_unknown_key(body, (const char *const[]){"day", "month", NULL}, bad, sizeof bad)) {
        chg_respond_error(c, req, 400, bad);
        cJSON_Delete(body);
        return;
    }
    if (cJSON_IsString(day) && !month && parse_day(day->valuestring, &from) == 0 && from < now)
        n = publish_rows(c, "charging/uptime", uptime_rows(c, day->valuestring, from), from + DAY_MS <= now);
    else if (cJSON_IsString(month) && !day && parse_month(month->valuestring, &from, &to) == 0 && from < now)
        n = publish_rows(c, "charging/energy", energy_rows(c, month->valuestring, from, to), to <= now);
    cJSON_Delete(body);
    if (n < 0) {
        chg_respond_error(c, req, 400, "{\"day\": \"YYYY-MM-DD\"} or {\"month\": \"YYYY-MM\"}, not in the future (UTC)");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddNumberToObject(o, "published", n)) {
        cJSON_Delete(o);
        o = NULL;
    }
    chg_respond_json(c, req, 200, o);
}

void chg_api_figures(void *arg, mst_http_request *req)
{
    struct charging *c = arg;
    if (strstr(c->host->http_path(req), "/availability"))
        availability(c, req);
    else
        energy(c, req);
}
