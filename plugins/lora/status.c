/* status.c - what the town's clerk sees of a device besides its keys: when
 * it was last heard and its battery.  The battery is the decoded reading
 * named "battery" (the decoders of lua/decoders/ report volts): this
 * network server does not send DevStatusReq, so it never gets a
 * DevStatusAns battery byte.
 *
 * Written by the finishing worker in the transaction that makes a batch's
 * frame counters durable (no write of its own, no lock taken on the loop),
 * to a table of its own, so registering a device again (an upsert of the
 * device row) leaves it alone; kept in memory on the device for the API. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mestys/error.h>
#include <mestys/time.h>

#include "cayenne.h"
#include "lora.h"

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS device_status (dev_eui TEXT PRIMARY KEY, last_seen INTEGER,"
    " battery REAL, battery_unit TEXT);";

int status_open(struct registry *r)
{
    if (sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "DELETE FROM device_status WHERE dev_eui = ?1", -1, &r->status_remove, NULL) !=
            SQLITE_OK)
        return MST_EDB;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT dev_eui, last_seen, battery, battery_unit FROM device_status", -1, &st,
                           NULL) != SQLITE_OK)
        return MST_EDB;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t eui;
        const char *text = (const char *)sqlite3_column_text(st, 0);
        struct device *d = text && hex_to_u64(text, &eui) == 0 ? registry_by_eui(r, eui) : NULL;
        if (!d)
            continue; /* removed while the row stayed: nothing to show it on */
        d->last_seen_ms = sqlite3_column_int64(st, 1);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            d->battery = sqlite3_column_double(st, 2);
            d->has_battery = 1;
            text = (const char *)sqlite3_column_text(st, 3);
            snprintf(d->battery_unit, sizeof d->battery_unit, "%s", text ? text : "");
        }
    }
    sqlite3_finalize(st);
    return 0;
}

void status_close(struct registry *r)
{
    sqlite3_finalize(r->status_remove);
    r->status_remove = NULL;
}

int status_writer_open(struct fcnt_writer *w)
{
    /* a frame without a battery reading keeps the last one; an older frame
     * (a gateway's late one) does not move last_seen back */
    return sqlite3_prepare_v2(w->db,
                              "INSERT INTO device_status VALUES (?1, ?2, ?3, ?4) ON CONFLICT (dev_eui) DO UPDATE"
                              " SET last_seen = max(last_seen, excluded.last_seen),"
                              " battery = coalesce(excluded.battery, battery),"
                              " battery_unit = coalesce(excluded.battery_unit, battery_unit)",
                              -1, &w->status, NULL) == SQLITE_OK
               ? 0
               : MST_EDB;
}

int status_write(struct fcnt_writer *w, const char *eui, int64_t seen_ms, const double *battery, const char *unit)
{
    sqlite3_stmt *st = w->status;
    sqlite3_bind_text(st, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, seen_ms);
    if (battery) {
        sqlite3_bind_double(st, 3, *battery);
        sqlite3_bind_text(st, 4, unit, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 3);
        sqlite3_bind_null(st, 4);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

void status_remove(struct registry *r, const char *eui)
{
    sqlite3_bind_text(r->status_remove, 1, eui, -1, SQLITE_TRANSIENT);
    sqlite3_step(r->status_remove);
    sqlite3_reset(r->status_remove);
}

void status_keep(struct device *to, const struct device *from)
{
    if (from->last_seen_ms < to->last_seen_ms)
        return;
    to->last_seen_ms = from->last_seen_ms;
    to->battery = from->battery;
    to->has_battery = from->has_battery;
    memcpy(to->battery_unit, from->battery_unit, sizeof to->battery_unit);
}

void status_heard(struct device *d, const struct pending *p)
{
    if (p->received_at_ms < d->last_seen_ms)
        return; /* an older frame (gateway time): the newer status stays */
    d->last_seen_ms = p->received_at_ms;
    if (p->has_battery) {
        d->battery = p->battery;
        d->has_battery = 1;
        memcpy(d->battery_unit, p->battery_unit, sizeof d->battery_unit);
    }
}

void status_find_battery(struct pending *p, const struct lpp_value *v, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].metric, "battery") == 0) {
            p->battery = v[i].value;
            p->has_battery = 1;
            snprintf(p->battery_unit, sizeof p->battery_unit, "%s", v[i].unit ? v[i].unit : "");
        }
}

void status_json(const struct device *d, cJSON *o)
{
    if (d->last_seen_ms > 0) {
        char t[32];
        mst_time_format(d->last_seen_ms, t);
        cJSON_AddStringToObject(o, "last_seen", t);
    } else {
        cJSON_AddNullToObject(o, "last_seen");
    }
    if (d->has_battery) {
        cJSON *b = cJSON_AddObjectToObject(o, "battery");
        cJSON_AddNumberToObject(b, "value", d->battery);
        cJSON_AddStringToObject(b, "unit", d->battery_unit);
    } else {
        cJSON_AddNullToObject(o, "battery");
    }
}
