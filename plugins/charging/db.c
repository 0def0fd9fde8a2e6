/* db.c - the charging plugin's SQLite file (state_dir/charging.sqlite):
 * migrations, and the rows of stations and their connectors.
 *
 * Transaction ids are the `txn` table's AUTOINCREMENT rowids: SQLite never
 * hands out one it gave before, even after the newest rows were deleted,
 * so an id is unique for the life of the file.  The UNIQUE key on what a
 * StartTransaction says makes a resent start (a lost reply) find its
 * first id instead of opening a second session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charging.h"

const char *const chg_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE station (id TEXT PRIMARY KEY, name TEXT, security_profile INTEGER NOT NULL DEFAULT 1,"
    " password TEXT, accepted INTEGER NOT NULL DEFAULT 0, site TEXT, lat REAL, lon REAL,"
    " vendor TEXT, model TEXT, serial TEXT, firmware TEXT, last_contact_ms INTEGER,"
    " local_list_version INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE connector (station TEXT NOT NULL, connector INTEGER NOT NULL, status TEXT NOT NULL,"
    " error_code TEXT, updated_ms INTEGER NOT NULL, PRIMARY KEY (station, connector));"
    "CREATE TABLE id_tag (id_tag TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'Accepted', expiry TEXT,"
    " parent TEXT, name TEXT);"
    "CREATE TABLE txn (id INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL, connector INTEGER NOT NULL,"
    " id_tag TEXT NOT NULL, start_time TEXT NOT NULL, start_ms INTEGER NOT NULL, meter_start INTEGER NOT NULL,"
    " reservation_id INTEGER, stop_time TEXT, stop_ms INTEGER, meter_stop INTEGER, stop_reason TEXT,"
    " stop_id_tag TEXT, cost REAL,"
    " UNIQUE (station, connector, id_tag, start_time, meter_start));"
    "CREATE INDEX txn_open ON txn (station, stop_ms);"
    "CREATE TABLE meter_value (txn INTEGER, station TEXT NOT NULL, connector INTEGER NOT NULL,"
    " time_ms INTEGER NOT NULL, measurand TEXT NOT NULL, phase TEXT, unit TEXT, context TEXT,"
    " value REAL NOT NULL);"
    "CREATE INDEX meter_value_txn ON meter_value (txn, time_ms);"
    "CREATE TABLE reservation (id INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL,"
    " connector INTEGER NOT NULL, id_tag TEXT NOT NULL, expiry_ms INTEGER NOT NULL, status TEXT NOT NULL);"
    "CREATE TABLE configuration (station TEXT NOT NULL, key TEXT NOT NULL, value TEXT, readonly INTEGER,"
    " PRIMARY KEY (station, key));"
    "CREATE TABLE local_list (station TEXT NOT NULL, id_tag TEXT NOT NULL, status TEXT NOT NULL, expiry TEXT,"
    " parent TEXT, PRIMARY KEY (station, id_tag));",
    /* 1 -> 2: a station's connectors and tariff as registered (JSON) */
    "ALTER TABLE station ADD COLUMN connectors TEXT; ALTER TABLE station ADD COLUMN tariff TEXT;"
    "ALTER TABLE txn ADD COLUMN currency TEXT;",
    /* 2 -> 3: the fleet's and carsharing's bookings */
    "CREATE TABLE booking (id INTEGER PRIMARY KEY AUTOINCREMENT, id_tag TEXT NOT NULL, station TEXT, site TEXT,"
    " connector INTEGER NOT NULL DEFAULT 0, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,"
    " reservation_id INTEGER);",
    /* 3 -> 4: every connector state, for uptime */
    "CREATE TABLE connector_log (station TEXT NOT NULL, connector INTEGER NOT NULL, status TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL);"
    "CREATE INDEX connector_log_at ON connector_log (station, connector, at_ms);",
    /* 4 -> 5: the closed days and months whose figures went on the bus */
    "CREATE TABLE figures_published (kind TEXT NOT NULL, period TEXT NOT NULL, PRIMARY KEY (kind, period));",
    /* 5 -> 6: a session started with a tag that was not Accepted: kept (it has
     * a transactionId), never billed, shared power or counted in figures */
    "ALTER TABLE txn ADD COLUMN authorized INTEGER NOT NULL DEFAULT 1;",
    NULL,
};

/* Batches of 1,000 rows, each its own transaction: the loop's writes on
 * the other connection wait for one batch at most (busy_timeout), never for
 * the whole prune. */
int64_t chg_db_prune_meter(sqlite3 *db, int64_t before_ms)
{
    sqlite3_stmt *q;
    int64_t total = 0;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM meter_value WHERE rowid IN (SELECT rowid FROM meter_value WHERE time_ms < ?1"
                           " AND (txn IS NULL OR txn NOT IN (SELECT id FROM txn WHERE stop_ms IS NULL)) LIMIT 1000)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, before_ms);
    int n;
    do {
        if (sqlite3_step(q) != SQLITE_DONE) {
            total = -1;
            break;
        }
        n = sqlite3_changes(db);
        total += n;
        sqlite3_reset(q);
    } while (n > 0);
    sqlite3_finalize(q);
    return total;
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void load_connectors(struct charging *c)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "SELECT station, connector, status, error_code, updated_ms FROM connector", -1, &q,
                           NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(q) == SQLITE_ROW) {
        struct chg_station *st = chg_station_find(c, (const char *)sqlite3_column_text(q, 0));
        int n = sqlite3_column_int(q, 1);
        if (!st || n < 0 || n > CHG_MAX_CONNECTORS)
            continue;
        struct chg_connector *k = &st->connectors[n];
        const char *status = (const char *)sqlite3_column_text(q, 2);
        const char *err = (const char *)sqlite3_column_text(q, 3);
        snprintf(k->status, sizeof k->status, "%s", status ? status : "");
        snprintf(k->error_code, sizeof k->error_code, "%s", err ? err : "");
        k->updated_ms = sqlite3_column_int64(q, 4);
        if (n > st->n_connectors)
            st->n_connectors = n;
    }
    sqlite3_finalize(q);
}

int chg_db_load_stations(struct charging *c)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, name, security_profile, password, accepted, site, lat, lon, vendor, model,"
                           " serial, firmware, last_contact_ms, connectors, tariff FROM station",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    int rc = 0;
    while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        if (!id || !chg_station_id_valid(id))
            continue; /* not written by us */
        struct chg_station *st = chg_station_new(c, id);
        if (!st) {
            rc = MST_ENOMEM;
            break;
        }
        const char *why = NULL;
        st->connectors_json = column_dup(q, 13);
        st->tariff_json = column_dup(q, 14);
        if (chg_station_apply(c, st, st->connectors_json, st->tariff_json, &why) != 0)
            c->host->log(c->inst, MST_LOG_WARN, "station %s: its stored connectors or tariff: %s (defaults used)", id,
                         why ? why : "out of memory");
        st->name = column_dup(q, 1);
        st->profile = sqlite3_column_int(q, 2);
        st->password = column_dup(q, 3);
        st->accepted = sqlite3_column_int(q, 4);
        st->site = column_dup(q, 5);
        st->has_location = sqlite3_column_type(q, 6) != SQLITE_NULL;
        st->lat = sqlite3_column_double(q, 6);
        st->lon = sqlite3_column_double(q, 7);
        st->vendor = column_dup(q, 8);
        st->model = column_dup(q, 9);
        st->serial = column_dup(q, 10);
        st->firmware = column_dup(q, 11);
        st->last_contact_wall = sqlite3_column_int64(q, 12);
        st->next = c->stations;
        c->stations = st;
    }
    sqlite3_finalize(q);
    if (rc == 0)
        load_connectors(c);
    return rc;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

int chg_db_save_station(struct charging *c, const struct chg_station *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO station (id, name, security_profile, password, accepted, site, lat, lon,"
                           " vendor, model, serial, firmware, last_contact_ms, connectors, tariff)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                           " ON CONFLICT (id) DO UPDATE"
                           " SET name = ?2, security_profile = ?3, password = ?4, accepted = ?5, site = ?6, lat = ?7,"
                           " lon = ?8, vendor = ?9, model = ?10, serial = ?11, firmware = ?12, last_contact_ms = ?13,"
                           " connectors = ?14, tariff = ?15",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    bind_text(q, 1, st->id);
    bind_text(q, 2, st->name);
    sqlite3_bind_int(q, 3, st->profile);
    bind_text(q, 4, st->password);
    sqlite3_bind_int(q, 5, st->accepted);
    bind_text(q, 6, st->site);
    if (st->has_location) {
        sqlite3_bind_double(q, 7, st->lat);
        sqlite3_bind_double(q, 8, st->lon);
    }
    bind_text(q, 9, st->vendor);
    bind_text(q, 10, st->model);
    bind_text(q, 11, st->serial);
    bind_text(q, 12, st->firmware);
    if (st->last_contact_wall)
        sqlite3_bind_int64(q, 13, st->last_contact_wall);
    bind_text(q, 14, st->connectors_json);
    bind_text(q, 15, st->tariff_json);
    return chg_db_finish(q);
}

int chg_db_finish(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_finalize(q);
    return rc;
}

static const char *const cached_sql[CHG_STMT_COUNT] = {
    [CHG_STMT_METER] = "INSERT INTO meter_value (txn, station, connector, time_ms, measurand, phase, unit, context,"
                       " value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [CHG_STMT_FIND_SESSION] = "SELECT connector, start_ms, meter_start, stop_ms, meter_stop FROM txn"
                              " WHERE id = ?1 AND station = ?2",
};

sqlite3_stmt *chg_db_cached(struct charging *c, enum chg_stmt which)
{
    if (!c->stmts[which] && sqlite3_prepare_v3(c->db, cached_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                               &c->stmts[which], NULL) != SQLITE_OK)
        return NULL;
    return c->stmts[which];
}

int chg_db_reuse(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : MST_EDB;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

void chg_db_close(struct charging *c)
{
    for (int i = 0; i < CHG_STMT_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    if (c->db)
        sqlite3_close(c->db);
}

int chg_db_exec1(struct charging *c, const char *sql, const char *text)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    return chg_db_finish(q);
}

int chg_db_delete_station(struct charging *c, const char *id)
{
    sqlite3_exec(c->db, "SAVEPOINT del", NULL, NULL, NULL);
    int rc = chg_db_exec1(c, "DELETE FROM station WHERE id = ?1", id);
    /* its sessions stay: they are the town's accounts */
    if (rc == 0)
        rc = chg_db_exec1(c, "DELETE FROM connector WHERE station = ?1", id);
    sqlite3_exec(c->db, rc == 0 ? "RELEASE del" : "ROLLBACK TO del; RELEASE del", NULL, NULL, NULL);
    return rc;
}

int chg_db_save_connector(struct charging *c, const struct chg_station *st, int connector)
{
    const struct chg_connector *k = &st->connectors[connector];
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO connector (station, connector, status, error_code, updated_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (station, connector) DO UPDATE"
                           " SET status = ?3, error_code = ?4, updated_ms = ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(q, 1, st->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, connector);
    sqlite3_bind_text(q, 3, k->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, k->error_code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, k->updated_ms);
    return chg_db_finish(q);
}

int64_t chg_db_list_version(struct charging *c, const char *station)
{
    sqlite3_stmt *q;
    int64_t v = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT local_list_version FROM station WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

int chg_db_set_list_version(struct charging *c, const char *station, int64_t version)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(c->db, "UPDATE station SET local_list_version = ?2 WHERE id = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return MST_EDB;
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, version);
    return chg_db_finish(q);
}
