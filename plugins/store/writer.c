/* writer.c - one commit of a batch of readings, on a worker thread, with
 * the writer connection that nothing else uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS sensor (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, lat REAL, lon REAL,"
    " tags TEXT);"
    "CREATE TABLE IF NOT EXISTS metric (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, unit TEXT);"
    "CREATE TABLE IF NOT EXISTS partition (day INTEGER PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS latest (sensor_id INTEGER, metric_id INTEGER, time INTEGER, value REAL,"
    " PRIMARY KEY (sensor_id, metric_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hourly (sensor_id INTEGER, metric_id INTEGER, hour INTEGER, min REAL, max REAL,"
    " sum REAL, count INTEGER, PRIMARY KEY (sensor_id, metric_id, hour)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, time INTEGER NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS event_topic_time ON event (topic, time);";

int store_writer_open(struct store *s, char **err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->writer, schema, NULL, NULL, &msg) != SQLITE_OK) {
        *err = strdup(msg ? msg : "schema");
        sqlite3_free(msg);
        return MST_EDB;
    }
    /* a store from before sensors had tags */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->writer, "SELECT tags FROM sensor", -1, &st, NULL) != SQLITE_OK &&
        sqlite3_exec(s->writer, "ALTER TABLE sensor ADD COLUMN tags TEXT", NULL, NULL, &msg) != SQLITE_OK) {
        *err = strdup(msg ? msg : "ALTER TABLE sensor");
        sqlite3_free(msg);
        return MST_EDB;
    }
    sqlite3_finalize(st);
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const struct reading *x = a, *y = b;
    int c = strcmp(x->sensor, y->sensor);
    if (!c)
        c = strcmp(x->metric, y->metric);
    if (!c)
        c = (x->time_ms > y->time_ms) - (x->time_ms < y->time_ms);
    return c;
}

enum { SENSOR, METRIC };

/* The id of a sensor or metric name, added if new; statements kept across
 * commits, since a batch meets thousands of names. */
static int64_t id_of(struct store *s, int which, const char *name, const char *unit)
{
    static const char *const find[2] = {"SELECT id FROM sensor WHERE name = ?1", "SELECT id FROM metric WHERE name = ?1"};
    static const char *const add[2] = {"INSERT INTO sensor (name) VALUES (?1)",
                                       "INSERT INTO metric (name, unit) VALUES (?1, ?2)"};
    if (!s->find_id[which] && (sqlite3_prepare_v2(s->writer, find[which], -1, &s->find_id[which], NULL) != SQLITE_OK ||
                               sqlite3_prepare_v2(s->writer, add[which], -1, &s->add_id[which], NULL) != SQLITE_OK))
        return -1;
    sqlite3_stmt *st = s->find_id[which];
    int64_t id = -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (id >= 0)
        return id;
    st = s->add_id[which];
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (which == METRIC)
        sqlite3_bind_text(st, 2, unit, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        id = sqlite3_last_insert_rowid(s->writer);
    sqlite3_reset(st);
    return id;
}

void store_writer_close(struct store *s)
{
    for (int i = 0; i < 2; i++) {
        sqlite3_finalize(s->find_id[i]);
        sqlite3_finalize(s->add_id[i]);
        s->find_id[i] = s->add_id[i] = NULL;
    }
}

/* The insert statement of a day's partition, creating the table if new. */
struct day_stmt {
    int64_t day;
    sqlite3_stmt *insert;
};

static sqlite3_stmt *partition(sqlite3 *db, struct day_stmt *cache, size_t n, int64_t day)
{
    for (size_t i = 0; i < n; i++)
        if (cache[i].insert && cache[i].day == day)
            return cache[i].insert;
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS \"r_%lld\" (sensor_id INTEGER, metric_id INTEGER, time INTEGER, value REAL,"
             " PRIMARY KEY (sensor_id, metric_id, time)) WITHOUT ROWID;"
             "INSERT OR IGNORE INTO partition (day) VALUES (%lld);",
             (long long)day, (long long)day);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return NULL;
    /* evict the oldest of the few days a batch touches */
    size_t slot = 0;
    for (size_t i = 1; i < n; i++)
        if (!cache[i].insert || (cache[slot].insert && cache[i].day < cache[slot].day))
            slot = i;
    sqlite3_finalize(cache[slot].insert);
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO \"r_%lld\" VALUES (?1, ?2, ?3, ?4)", (long long)day);
    cache[slot].day = day;
    if (sqlite3_prepare_v2(db, sql, -1, &cache[slot].insert, NULL) != SQLITE_OK)
        cache[slot].insert = NULL;
    return cache[slot].insert;
}

struct hour_acc {
    int64_t sensor_id, metric_id, hour;
    double min, max, sum;
    int64_t count;
};

static void flush_hour(sqlite3_stmt *st, const struct hour_acc *h)
{
    if (!h->count)
        return;
    sqlite3_bind_int64(st, 1, h->sensor_id);
    sqlite3_bind_int64(st, 2, h->metric_id);
    sqlite3_bind_int64(st, 3, h->hour);
    sqlite3_bind_double(st, 4, h->min);
    sqlite3_bind_double(st, 5, h->max);
    sqlite3_bind_double(st, 6, h->sum);
    sqlite3_bind_int64(st, 7, h->count);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static int write_events(sqlite3 *db, const struct batch *b)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n_msgs; i++) {
        const struct message *m = &b->msgs[i];
        if (!m->topic)
            continue;
        if (!st && sqlite3_prepare_v2(db, "INSERT INTO event (topic, time, body) VALUES (?1, ?2, ?3)", -1, &st,
                                      NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(st, 1, m->topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, m->received_ms);
        sqlite3_bind_text(st, 3, m->body, (int)m->len, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int write_batch(struct store *s, struct batch *b)
{
    sqlite3 *db = s->writer;
    /* sorted by key, the B-tree inserts land next to each other */
    if (b->len) /* a batch of events only has no readings array */
        qsort(b->v, b->len, sizeof *b->v, by_key);
    struct day_stmt days[4] = {{0}};
    sqlite3_stmt *latest, *hourly, *where;
    sqlite3_prepare_v2(db,
                       "INSERT INTO latest VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sensor_id, metric_id) DO UPDATE"
                       " SET time = excluded.time, value = excluded.value WHERE excluded.time >= latest.time",
                       -1, &latest, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO hourly VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO UPDATE SET"
                       " min = min(min, excluded.min), max = max(max, excluded.max), sum = sum + excluded.sum,"
                       " count = count + excluded.count",
                       -1, &hourly, NULL);
    sqlite3_prepare_v2(db, "UPDATE sensor SET lat = ?2, lon = ?3 WHERE id = ?1", -1, &where, NULL);
    sqlite3_stmt *labels;
    sqlite3_prepare_v2(db, "UPDATE sensor SET tags = ?2 WHERE id = ?1 AND tags IS NOT ?2", -1, &labels, NULL);
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    int64_t sensor_id = -1, metric_id = -1;
    struct hour_acc h = {0};
    for (size_t i = 0; rc == 0 && i < b->len; i++) {
        struct reading *r = &b->v[i];
        int new_sensor = i == 0 || strcmp(r->sensor, b->v[i - 1].sensor) != 0;
        int new_metric = new_sensor || strcmp(r->metric, b->v[i - 1].metric) != 0;
        if (new_sensor) {
            sensor_id = id_of(s, SENSOR, r->sensor, NULL);
            if (r->has_location) {
                sqlite3_bind_int64(where, 1, sensor_id);
                sqlite3_bind_double(where, 2, r->lat);
                sqlite3_bind_double(where, 3, r->lon);
                sqlite3_step(where);
                sqlite3_reset(where);
            }
            if (r->tags) {
                sqlite3_bind_int64(labels, 1, sensor_id);
                sqlite3_bind_text(labels, 2, r->tags, -1, SQLITE_STATIC);
                sqlite3_step(labels);
                sqlite3_reset(labels);
            }
        }
        if (new_metric)
            metric_id = id_of(s, METRIC, r->metric, r->unit);
        if (sensor_id < 0 || metric_id < 0) {
            rc = -1;
            break;
        }
        sqlite3_stmt *ins = partition(db, days, 4, store_day(r->time_ms));
        if (!ins) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(ins, 1, sensor_id);
        sqlite3_bind_int64(ins, 2, metric_id);
        sqlite3_bind_int64(ins, 3, r->time_ms);
        sqlite3_bind_double(ins, 4, r->value);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(ins);
        int64_t hour = r->time_ms / 3600000;
        if (new_metric || hour != h.hour) {
            flush_hour(hourly, &h);
            h = (struct hour_acc){sensor_id, metric_id, hour, r->value, r->value, 0, 0};
        }
        h.min = r->value < h.min ? r->value : h.min;
        h.max = r->value > h.max ? r->value : h.max;
        h.sum += r->value;
        h.count++;
        /* the last of a sensor's metric in this (sorted) batch is its newest */
        if (i + 1 == b->len || strcmp(b->v[i + 1].sensor, r->sensor) || strcmp(b->v[i + 1].metric, r->metric)) {
            sqlite3_bind_int64(latest, 1, sensor_id);
            sqlite3_bind_int64(latest, 2, metric_id);
            sqlite3_bind_int64(latest, 3, r->time_ms);
            sqlite3_bind_double(latest, 4, r->value);
            sqlite3_step(latest);
            sqlite3_reset(latest);
        }
    }
    if (rc == 0)
        flush_hour(hourly, &h);
    if (rc == 0)
        rc = write_events(db, b);
    rc = rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (rc != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(days[i].insert);
    sqlite3_finalize(latest);
    sqlite3_finalize(hourly);
    sqlite3_finalize(labels);
    sqlite3_finalize(where);
    return rc;
}

void store_apply_retention(struct store *s, int64_t now_ms)
{
    int64_t keep_from = store_day(now_ms) - s->retention_days;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->writer, "SELECT day FROM partition WHERE day < ?1", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, keep_from);
    int64_t days[256];
    int n = 0;
    while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
        days[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        /* dropping a day's table costs the same whatever it holds */
        char sql[128];
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"r_%lld\"; DELETE FROM partition WHERE day = %lld;",
                 (long long)days[i], (long long)days[i]);
        sqlite3_exec(s->writer, sql, NULL, NULL, NULL);
    }
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM hourly WHERE hour < %lld; DELETE FROM event WHERE time < %lld;",
             (long long)((store_day(now_ms) - s->hourly_days) * 24), (long long)(keep_from * 86400000));
    sqlite3_exec(s->writer, sql, NULL, NULL, NULL);
}

void store_commit_work(void *arg)
{
    struct store *s = arg;
    store_parse_batch(&s->committing);
    if (write_batch(s, &s->committing) != 0)
        snprintf(s->commit_error, sizeof s->commit_error, "%s", sqlite3_errmsg(s->writer));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000;
    if (now - s->last_retention_ms >= 3600000) {
        store_apply_retention(s, now);
        s->last_retention_ms = now;
    }
}
