/* schema.c - the region's tables (numbered migrations in mestys_schema),
 * readings' day partitions, retention.  Worker thread, writer's conn.
 * Partitions are made outside the COPY transaction, with CREATE + ATTACH
 * (SHARE UPDATE EXCLUSIVE on readings, not the ACCESS EXCLUSIVE of
 * CREATE ... PARTITION OF), and there is no default partition: it would
 * collect rows silently and block DETACH ... CONCURRENTLY. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/time.h>

#include "pgstore.h"

/* migrations[i] takes the schema from version i to i+1; append only. */
static const char *const migrations[] = {
    "CREATE TABLE sensors (id serial PRIMARY KEY, town text NOT NULL, name text NOT NULL, lat float8, "
    "  lon float8, tags jsonb NOT NULL DEFAULT '{}', UNIQUE (town, name));"
    "CREATE TABLE metrics (id serial PRIMARY KEY, name text NOT NULL, unit text, "
    "  UNIQUE NULLS NOT DISTINCT (name, unit));"
    "CREATE TABLE readings (sensor_id int NOT NULL, metric_id int NOT NULL, t timestamptz NOT NULL, "
    "  value float8 NOT NULL, PRIMARY KEY (sensor_id, metric_id, t)) PARTITION BY RANGE (t);"
    "CREATE TABLE latest (sensor_id int NOT NULL, metric_id int NOT NULL, t timestamptz NOT NULL, "
    "  value float8 NOT NULL, PRIMARY KEY (sensor_id, metric_id));"
    "CREATE TABLE hourly (sensor_id int NOT NULL, metric_id int NOT NULL, hour timestamptz NOT NULL, "
    "  min float8 NOT NULL, max float8 NOT NULL, sum float8 NOT NULL, count bigint NOT NULL, "
    "  PRIMARY KEY (sensor_id, metric_id, hour));"
    "CREATE TABLE events (id bigserial PRIMARY KEY, town text NOT NULL, topic text NOT NULL, "
    "  at timestamptz NOT NULL, body json NOT NULL);"
    "CREATE INDEX events_at ON events (at);"
    "CREATE TABLE deliveries (town text NOT NULL, epoch bigint NOT NULL, last_id bigint NOT NULL, "
    "  at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (town, epoch));",
    NULL,
};

int pgs_schema_migrate(PGconn *c, char *why, size_t why_len)
{
    /* the lock makes two regions' daemons starting at once take turns */
    if (pgs_exec(c, "CREATE TABLE IF NOT EXISTS mestys_schema (version int NOT NULL)", why, why_len) != PGS_OK ||
        pgs_exec(c, "BEGIN; LOCK TABLE mestys_schema IN EXCLUSIVE MODE", why, why_len) != PGS_OK)
        return MST_EDB;
    PGresult *r = PQexec(c, "SELECT version FROM mestys_schema");
    int rc = MST_EDB, version = 0, has_row = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgs_classify(c, r, why, why_len);
        goto out;
    }
    has_row = PQntuples(r) > 0;
    version = has_row ? atoi(PQgetvalue(r, 0, 0)) : 0;
    int latest = (int)(sizeof migrations / sizeof migrations[0]) - 1;
    if (version > latest) {
        snprintf(why, why_len, "the database's schema is version %d, newer than this pgstore's %d", version, latest);
        goto out;
    }
    for (; version < latest; version++)
        if (pgs_exec(c, migrations[version], why, why_len) != PGS_OK)
            goto out;
    char sql[96];
    snprintf(sql, sizeof sql, has_row ? "UPDATE mestys_schema SET version = %d" : "INSERT INTO mestys_schema VALUES (%d)",
             version);
    if (pgs_exec(c, sql, why, why_len) == PGS_OK && pgs_exec(c, "COMMIT", why, why_len) == PGS_OK)
        rc = 0;
out:
    PQclear(r);
    if (rc != 0)
        PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

static int known(const struct pgstore *p, int64_t day)
{
    for (size_t i = 0; i < p->n_days; i++)
        if (p->days[i] == day)
            return 1;
    return 0;
}

static void remember(struct pgstore *p, int64_t day)
{
    if (p->n_days == p->cap_days) {
        size_t cap = p->cap_days ? p->cap_days * 2 : 32;
        int64_t *d = realloc(p->days, cap * sizeof *d);
        if (!d)
            return; /* asked again next time: harmless */
        p->days = d;
        p->cap_days = cap;
    }
    p->days[p->n_days++] = day;
}

static void forget(struct pgstore *p, int64_t day)
{
    for (size_t i = 0; i < p->n_days; i++)
        if (p->days[i] == day)
            p->days[i] = p->days[--p->n_days];
}

enum pgs_class pgs_partition_ensure(struct pgstore *p, int64_t day, char *why, size_t why_len)
{
    if (known(p, day))
        return PGS_OK;
    char from[32], to[32], sql[512];
    mst_time_format(day * 86400000, from);
    mst_time_format((day + 1) * 86400000, to);
    /* a partition left behind detached (a crash between CREATE and ATTACH) is attached now */
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS \"r_%" PRId64 "\" (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS); "
             "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = '\"r_%" PRId64 "\"'::regclass) "
             "THEN ALTER TABLE readings ATTACH PARTITION \"r_%" PRId64 "\" FOR VALUES FROM ('%s') TO ('%s'); "
             "END IF; END$$",
             day, day, day, from, to);
    enum pgs_class k = pgs_exec(p->conn, sql, why, why_len);
    if (k == PGS_OK)
        remember(p, day);
    return k;
}

static int64_t partition_day(const char *name, int *ok)
{
    char *end;
    *ok = strncmp(name, "r_", 2) == 0;
    int64_t day = *ok ? strtoll(name + 2, &end, 10) : 0;
    *ok = *ok && *end == '\0';
    return day;
}

/* Drops the readings' partitions older than retention_days (a day at a
 * time, as store does), hourly rows older than hourly_days, events older
 * than retention_days. */
static enum pgs_class retention(struct pgstore *p, int64_t today, char *why, size_t why_len)
{
    PGresult *r = PQexec(p->conn, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                  "WHERE i.inhparent = 'readings'::regclass");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        enum pgs_class k = pgs_classify(p->conn, r, why, why_len);
        PQclear(r);
        return k;
    }
    enum pgs_class k = PGS_OK;
    for (int i = 0; i < PQntuples(r) && k == PGS_OK; i++) {
        int ok;
        int64_t day = partition_day(PQgetvalue(r, i, 0), &ok);
        if (!ok || day >= today - p->retention_days)
            continue;
        char sql[160];
        /* CONCURRENTLY: queries on other days go on; not in a transaction */
        snprintf(sql, sizeof sql, "ALTER TABLE readings DETACH PARTITION \"r_%" PRId64 "\" CONCURRENTLY", day);
        k = pgs_exec(p->conn, sql, why, why_len);
        if (k == PGS_OK) {
            snprintf(sql, sizeof sql, "DROP TABLE \"r_%" PRId64 "\"", day);
            k = pgs_exec(p->conn, sql, why, why_len);
        }
        if (k == PGS_OK) {
            forget(p, day);
            p->dropped_days++;
        }
    }
    PQclear(r);
    char sql[256];
    if (k == PGS_OK) {
        snprintf(sql, sizeof sql, "DELETE FROM hourly WHERE hour < now() - interval '%" PRId64 " days'", p->hourly_days);
        k = pgs_exec(p->conn, sql, why, why_len);
    }
    if (k == PGS_OK) {
        snprintf(sql, sizeof sql, "DELETE FROM events WHERE at < now() - interval '%" PRId64 " days'", p->retention_days);
        k = pgs_exec(p->conn, sql, why, why_len);
    }
    return k;
}

enum pgs_class pgs_maintain(struct pgstore *p, int64_t now_ms, char *why, size_t why_len)
{
    int64_t today = pgs_day(now_ms);
    enum pgs_class k = PGS_OK;
    for (int64_t d = today - 1; d <= today + p->days_ahead && k == PGS_OK; d++)
        k = pgs_partition_ensure(p, d, why, why_len);
    return k == PGS_OK ? retention(p, today, why, why_len) : k;
}
