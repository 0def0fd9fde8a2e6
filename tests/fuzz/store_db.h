/* store_db.h - a store in an in-memory SQLite database with a few readings
 * (two days, one before 1970, tags, positions) and kept events, written by
 * the store's own parser and writer: what fuzz_store_query and test_store
 * run queries against.  Link plugins/store/{parse,writer,query}.c. */
#ifndef MESTYS_TESTS_STORE_DB_H
#define MESTYS_TESTS_STORE_DB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/store/store.h"

#define STORE_DB_MAX_PAGE 100

static inline struct message store_db_msg(const char *topic, const char *body, int64_t received_ms)
{
    return (struct message){(char *)body, strlen(body), (char *)topic, received_ms};
}

/* NULL if SQLite or the writer could not set it up. */
static inline struct store *store_db_open(void)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s || sqlite3_open(":memory:", &s->writer) != SQLITE_OK)
        goto fail;
    char *err = NULL;
    if (store_writer_open(s, &err) != 0) {
        free(err);
        goto fail;
    }
    s->readers[0] = s->writer; /* one connection: an in-memory database is its own */
    s->n_readers = 1;
    s->max_page = STORE_DB_MAX_PAGE;
    s->retention_days = 100000;
    s->hourly_days = 100000;
    s->last_retention_ms = INT64_MAX / 2; /* no retention run: the readings are old */
    struct message m[] = {
        store_db_msg(NULL,
                     "[{\"sensor\":\"s1\",\"metric\":\"temperature\",\"value\":21.5,\"unit\":\"Cel\","
                     "\"time\":\"2026-11-21T10:00:00Z\",\"lat\":49.59,\"lon\":17.25,\"tags\":{\"street\":\"Husova\"}},"
                     "{\"sensor\":\"s1\",\"metric\":\"temperature\",\"value\":22,\"time\":\"2026-11-21T10:05:00Z\"},"
                     "{\"sensor\":\"s1\",\"metric\":\"humidity\",\"value\":40,\"unit\":\"%RH\","
                     "\"time\":\"2026-11-22T08:00:00Z\"},"
                     "{\"sensor\":\"s2\",\"metric\":\"temperature\",\"value\":-3.25,\"time\":\"2026-11-22T09:00:00Z\","
                     "\"lat\":50.08,\"lon\":14.42,\"tags\":{\"street\":\"Dlouhá\",\"kind\":\"parking\"}},"
                     "{\"sensor\":\"s3\",\"metric\":\"level\",\"value\":1e300,\"time\":-1000}]",
                     0),
        store_db_msg("notice", "{\"text\":\"Voda\"}", 1795341600000),
        store_db_msg("charging/session", "{\"kwh\":12.5}", 1795345200000),
        store_db_msg("charging/status", "not JSON", 1795348800000),
    };
    s->committing.msgs = m;
    s->committing.n_msgs = sizeof m / sizeof m[0];
    store_commit_work(s);
    store_readings_free(&s->committing);
    free(s->committing.v);
    s->committing = (struct batch){0};
    if (s->commit_error[0])
        goto fail;
    return s;
fail:
    if (s)
        sqlite3_close(s->writer);
    free(s);
    return NULL;
}

static inline void store_db_close(struct store *s)
{
    store_query_close(s);
    store_writer_close(s);
    sqlite3_close(s->writer);
    free(s);
}

#endif
