/*
 * outbox.c - the outbox file.
 *
 * AUTOINCREMENT is required: without it SQLite reuses max(rowid)+1, so once
 * every acknowledged row is deleted the ids would start again at 1 and the
 * region, whose high-water mark is the last id it committed, would take the
 * new messages for old ones.  The epoch (made once, with the file) tells the
 * region that a recreated file counts from scratch.
 *
 * Triggers keep the count and the bytes in `meta`, inside every
 * transaction: the bound is checked against exact figures even while the
 * sender deletes at the same time on its own connection.  `seq` counts
 * every change, so the loop can tell which of two jobs' totals is newer
 * (their after-work callbacks may come back in either order).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cjson/cJSON.h>

#include "uplink.h"

const char *const up_migrations[] = {
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('messages', 0), ('bytes', 0), ('seq', 0);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, body BLOB NOT NULL,"
    " at INTEGER NOT NULL, replay INTEGER NOT NULL DEFAULT 0);"
    "CREATE TRIGGER outbox_in AFTER INSERT ON outbox BEGIN"
    " UPDATE meta SET v = v + 1 WHERE k IN ('messages', 'seq');"
    " UPDATE meta SET v = v + length(NEW.body) WHERE k = 'bytes'; END;"
    "CREATE TRIGGER outbox_out AFTER DELETE ON outbox BEGIN"
    " UPDATE meta SET v = v - 1 WHERE k = 'messages';"
    " UPDATE meta SET v = v + 1 WHERE k = 'seq';"
    " UPDATE meta SET v = v - length(OLD.body) WHERE k = 'bytes'; END;",
    NULL,
};

int up_buf_append(struct up_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return MST_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int up_buf_printf(struct up_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof small)
        return MST_EINVAL; /* only short pieces go through here */
    return up_buf_append(b, small, (size_t)n);
}

static int64_t one_int(sqlite3 *db, const char *sql, int64_t fallback)
{
    sqlite3_stmt *st = NULL;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The totals as this connection sees them, in one statement: one
 * snapshot, so the count, the bytes and seq always belong together. */
void up_outbox_totals(sqlite3 *db, struct up_delta *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT v FROM meta WHERE k = 'messages'), (SELECT v FROM meta WHERE k = 'bytes'),"
                           " (SELECT at FROM outbox ORDER BY id LIMIT 1), (SELECT v FROM meta WHERE k = 'seq')",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        d->messages = sqlite3_column_int64(st, 0);
        d->bytes = sqlite3_column_int64(st, 1);
        d->oldest_at_ms = sqlite3_column_int64(st, 2);
        d->seq = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
}

static void failed(sqlite3 *db, struct up_delta *d, const char *what)
{
    d->failed = 1;
    snprintf(d->why, sizeof d->why, "%s: %s", what, sqlite3_errmsg(db));
}

int up_outbox_open(struct uplink *u, char *why, size_t why_len)
{
    int64_t epoch = one_int(u->db_append, "SELECT v FROM meta WHERE k = 'epoch'", 0);
    if (epoch <= 0) {
        /* below 2^53: the epoch travels as a JSON number, and a double
         * holds every integer up to there exactly */
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
            snprintf(why, why_len, "no random bytes for the epoch");
            return MST_EIO;
        }
        epoch = (int64_t)(r & ((UINT64_C(1) << 53) - 1));
        if (epoch == 0)
            epoch = 1;
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO meta VALUES ('epoch', %lld)", (long long)epoch);
        if (sqlite3_exec(u->db_append, sql, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(why, why_len, "cannot keep the epoch: %s", sqlite3_errmsg(u->db_append));
            return MST_EIO;
        }
    }
    u->epoch = epoch;
    struct up_delta d = {0};
    up_outbox_totals(u->db_append, &d);
    u->messages = d.messages;
    u->bytes = d.bytes;
    u->oldest_at_ms = d.oldest_at_ms;
    u->seq = d.seq;
    return 0;
}

/* Over the bound: deletes the oldest rows until the outbox fits again. */
static int enforce_bound(sqlite3 *db, int64_t max_bytes, struct up_delta *d)
{
    int64_t bytes = one_int(db, "SELECT v FROM meta WHERE k = 'bytes'", 0);
    if (bytes <= max_bytes)
        return 0;
    int64_t excess = bytes - max_bytes, freed = 0, upto = 0, n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, length(body) FROM outbox ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return MST_EIO;
    while (freed < excess && sqlite3_step(st) == SQLITE_ROW) {
        upto = sqlite3_column_int64(st, 0);
        freed += sqlite3_column_int64(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    if (!n)
        return 0;
    int rc = up_outbox_delete(db, 0, upto, d);
    d->dropped += n;
    return rc;
}

static int insert(sqlite3_stmt *st, const struct up_msg *m)
{
    sqlite3_bind_text(st, 1, m->topic, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, m->body, (int)m->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->at_ms);
    sqlite3_bind_int(st, 4, m->replay);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : MST_EIO;
}

/* Every message is checked to be JSON and minified here (a body with a
 * newline would break the NDJSON line, one that is not JSON would make the
 * region refuse the whole batch): the loop only copied bytes. */
void up_outbox_append(struct uplink *u, struct up_pending *p, struct up_delta *d)
{
    sqlite3 *db = u->db_append;
    sqlite3_stmt *st = NULL;
    memset(d, 0, sizeof *d);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        failed(db, d, "begin");
        return;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO outbox (topic, body, at, replay) VALUES (?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        failed(db, d, "insert");
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct up_msg *m = &p->v[i];
        cJSON *check = cJSON_ParseWithLength(m->body, m->len);
        if (!check) {
            d->bad++;
            continue;
        }
        cJSON_Delete(check);
        cJSON_Minify(m->body); /* NUL-terminated by up_keep */
        m->len = strlen(m->body);
        if (insert(st, m) != 0) {
            failed(db, d, "insert");
            goto out;
        }
    }
    if (enforce_bound(db, u->max_outbox_bytes, d) != 0)
        failed(db, d, "bound");
out:
    sqlite3_finalize(st);
    if (!d->failed && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        failed(db, d, "commit");
    if (d->failed)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    up_outbox_totals(db, d);
}

int up_outbox_delete(sqlite3 *db, int64_t first, int64_t last, struct up_delta *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MST_EIO;
    if (sqlite3_prepare_v2(db, "DELETE FROM outbox WHERE id BETWEEN ? AND ?", -1, &st, NULL) != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, last);
    if (sqlite3_step(st) == SQLITE_DONE) {
        d->deleted += sqlite3_changes(db);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int put_line(struct up_buf *out, sqlite3_stmt *st)
{
    int64_t id = sqlite3_column_int64(st, 0);
    const char *topic = (const char *)sqlite3_column_text(st, 1);
    const void *body = sqlite3_column_blob(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    cJSON *t = cJSON_CreateString(topic ? topic : "");
    char *tj = t ? cJSON_PrintUnformatted(t) : NULL;
    cJSON_Delete(t);
    if (!tj)
        return MST_ENOMEM;
    int rc = up_buf_printf(out, "{\"o\":%lld,\"t\":", (long long)id);
    if (rc == 0)
        rc = up_buf_append(out, tj, strlen(tj));
    free(tj);
    /* events keep their arrival time; a reading carries its own */
    if (rc == 0 && topic && strcmp(topic, "reading") != 0)
        rc = up_buf_printf(out, ",\"at\":%lld", (long long)sqlite3_column_int64(st, 3));
    if (rc == 0)
        rc = up_buf_append(out, ",\"b\":", 5);
    if (rc == 0)
        rc = up_buf_append(out, body ? body : "null", body ? len : 4);
    if (rc == 0)
        rc = up_buf_append(out, "}\n", 2);
    return rc;
}

/* The oldest rows, all of one kind (replayed or not), within both limits
 * (at least one row, whatever its size). */
int up_outbox_read(struct uplink *u, int64_t max_messages, int64_t max_bytes, struct up_batch *b)
{
    sqlite3_stmt *st = NULL;
    struct up_buf lines = {0}, all = {0};
    int rc = MST_EIO;
    memset(b, 0, sizeof *b);
    if (sqlite3_prepare_v2(u->db_send, "SELECT id, topic, body, at, replay FROM outbox ORDER BY id LIMIT ?", -1,
                           &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, max_messages);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int replay = sqlite3_column_int(st, 4);
        if (b->n && (replay != b->replay ||
                     (int64_t)(lines.len + (size_t)sqlite3_column_bytes(st, 2)) > max_bytes))
            break;
        if ((rc = put_line(&lines, st)) != 0)
            goto out;
        if (!b->n++) {
            b->first = sqlite3_column_int64(st, 0);
            b->replay = replay;
        }
        b->last = sqlite3_column_int64(st, 0);
    }
    rc = MST_EIO;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto out;
    rc = 0;
    if (!b->n)
        goto out;
    if ((rc = up_buf_printf(&all, "{\"epoch\":%lld,\"first\":%lld,\"last\":%lld,\"replay\":%s}\n",
                            (long long)u->epoch, (long long)b->first, (long long)b->last,
                            b->replay ? "true" : "false")) == 0 &&
        (rc = up_buf_append(&all, lines.data, lines.len)) == 0) {
        b->ndjson = all.data;
        b->len = all.len;
        all.data = NULL;
    }
out:
    sqlite3_finalize(st);
    free(lines.data);
    free(all.data);
    return rc;
}

void up_batch_free(struct up_batch *b)
{
    free(b->ndjson);
    memset(b, 0, sizeof *b);
}

void up_pending_clear(struct up_pending *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].topic);
        free(p->v[i].body);
    }
    p->n = p->bytes = 0;
}
